package schemacheck

import (
	"encoding/json"
	"time"
)

// The request types: together they use every rule the generator writes
// as JSON Schema, on every kind it applies to.

type Base struct {
	ID int `json:"id" validate:"gt=0"`
}

type Room struct {
	Name string `json:"name" validate:"required"`
}

type Tag struct {
	Name string `json:"name" validate:"required,max=5"`
}

type Point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

type Inner struct {
	Code string `json:"code" validate:"required,len=2"`
	Note string `json:"note" validate:"max=3"`
}

type Strings struct {
	Req        string  `json:"req" validate:"required"`
	Min        string  `json:"min" validate:"omitempty,min=3"`
	Max        string  `json:"max" validate:"max=4"`
	Len        string  `json:"len" validate:"omitempty,len=2"`
	Gt         string  `json:"gt" validate:"omitempty,gt=2"`
	Gte        string  `json:"gte" validate:"gte=1"`
	Lt         string  `json:"lt" validate:"lt=3"`
	Lte        string  `json:"lte" validate:"lte=2"`
	Eq         string  `json:"eq" validate:"omitempty,eq=hi"`
	Ne         string  `json:"ne" validate:"ne=hi"`
	Oneof      string  `json:"oneof" validate:"omitempty,oneof=red green 'dark blue'"`
	Email      string  `json:"email" validate:"omitempty,email"`
	URL        string  `json:"url" validate:"omitempty,url"`
	URI        string  `json:"uri" validate:"omitempty,uri"`
	HTTP       string  `json:"http" validate:"omitempty,http_url"`
	HTTPS      string  `json:"https" validate:"omitempty,https_url"`
	UUID       string  `json:"uuid" validate:"omitempty,uuid"`
	UUID3      string  `json:"uuid3" validate:"omitempty,uuid3"`
	UUID4      string  `json:"uuid4" validate:"omitempty,uuid4"`
	UUID5      string  `json:"uuid5" validate:"omitempty,uuid5"`
	UUIDR      string  `json:"uuidr" validate:"omitempty,uuid_rfc4122"`
	UUID4R     string  `json:"uuid4r" validate:"omitempty,uuid4_rfc4122"`
	Alpha      string  `json:"alpha" validate:"omitempty,alpha"`
	Alnum      string  `json:"alnum" validate:"omitempty,alphanum"`
	AlphaSp    string  `json:"alphaSp" validate:"omitempty,alphaspace"`
	AlnumSp    string  `json:"alnumSp" validate:"omitempty,alphanumspace"`
	Numeric    string  `json:"numeric" validate:"omitempty,numeric"`
	Number     string  `json:"number" validate:"omitempty,number"`
	Hex        string  `json:"hex" validate:"omitempty,hexadecimal"`
	Color      string  `json:"color" validate:"omitempty,hexcolor"`
	Phone      string  `json:"phone" validate:"omitempty,e164"`
	Starts     string  `json:"starts" validate:"omitempty,startswith=a.b"`
	Ends       string  `json:"ends" validate:"omitempty,endswith=yz"`
	Contains   string  `json:"contains" validate:"omitempty,contains=b"`
	Excludes   string  `json:"excludes" validate:"excludes=x"`
	Or         string  `json:"or" validate:"omitempty,email|uuid"`
	Def        string  `json:"def" validate:"isdefault"`
	Late       string  `json:"late" validate:"max=5,omitempty,min=2"`
	Ptr        *string `json:"ptr" validate:"omitempty,min=2"`
	PtrReq     *string `json:"ptrReq" validate:"required,max=3"`
	PtrMax     *string `json:"ptrMax" validate:"max=3"`
	PtrOmitNil *string `json:"ptrNil" validate:"omitnil,min=1"`
	Skip       string  `json:"skip" validate:"-"`
	Free       string  `json:"free"`
}

type Numbers struct {
	Req     int           `json:"req" validate:"required"`
	ReqF    float64       `json:"reqF" validate:"required"`
	Gt      int           `json:"gt" validate:"gt=5"`
	Gte     int           `json:"gte" validate:"gte=-1"`
	Lt      float64       `json:"lt" validate:"omitempty,lt=2.5"`
	Lte     uint8         `json:"lte" validate:"lte=10"`
	Min     int8          `json:"min" validate:"omitempty,min=-5"`
	Max     uint16        `json:"max" validate:"max=300"`
	Len     int           `json:"len" validate:"omitempty,len=3"`
	Eq      int           `json:"eq" validate:"omitempty,eq=7"`
	Ne      int           `json:"ne" validate:"ne=4"`
	Oneof   int           `json:"oneof" validate:"omitempty,oneof=1 2 3 01"`
	OneofU  uint          `json:"oneofU" validate:"oneof=0 5"`
	Wait    time.Duration `json:"wait" validate:"omitempty,min=1s,max=1m"`
	F32     float32       `json:"f32" validate:"omitempty,max=0.5"`
	Hex     int           `json:"hex" validate:"omitempty,max=0x10"`
	Ptr     *int          `json:"ptr" validate:"omitempty,gte=18"`
	PtrZero *int          `json:"ptrZero" validate:"omitzero,gt=5"`
	Def     int           `json:"def" validate:"isdefault"`
	Or      int           `json:"or" validate:"lt=0|gt=10|eq=5"`
	I8      int8          `json:"i8"`
	U       uint          `json:"u"`
	I       int           `json:"i"`
	F       float64       `json:"f"`
}

type Others struct {
	Req    bool            `json:"req" validate:"required"`
	Eq     bool            `json:"eq" validate:"eq=false"`
	Ne     bool            `json:"ne" validate:"ne=true"`
	Flag   bool            `json:"flag"`
	When   time.Time       `json:"when" validate:"required"`
	Opt    time.Time       `json:"opt" validate:"omitempty"`
	Bytes  []byte          `json:"bytes" validate:"required"`
	Any    any             `json:"any" validate:"required"`
	Maybe  any             `json:"maybe"`
	Raw    json.RawMessage `json:"raw"`
	Num    json.Number     `json:"num"`
	Quoted int             `json:"quoted,string"`
}

type Collections struct {
	Req     []int             `json:"req" validate:"required"`
	Min     []int             `json:"min" validate:"omitempty,min=2"`
	Max     []string          `json:"max" validate:"max=3,dive,max=2"`
	Len     []int             `json:"len" validate:"omitempty,len=2"`
	Uniq    []string          `json:"uniq" validate:"unique"`
	UniqI   []int             `json:"uniqI" validate:"omitempty,unique"`
	Tags    []Tag             `json:"tags" validate:"omitempty,min=2,max=3,dive"`
	Raw     []Tag             `json:"raw"`
	Grid    [][]int           `json:"grid" validate:"min=1,dive,max=2,dive,gt=0"`
	Ptrs    []*Tag            `json:"ptrs" validate:"dive"`
	NoNil   []*Tag            `json:"noNil" validate:"dive,required"`
	Labels  map[string]string `json:"labels" validate:"omitempty,max=2,dive,keys,min=2,endkeys,max=3"`
	ReqMap  map[string]int    `json:"reqMap" validate:"required"`
	MinMap  map[string]int    `json:"minMap" validate:"min=1"`
	Counts  map[int]Tag       `json:"counts" validate:"dive"`
	Sizes   map[uint8]int     `json:"sizes"`
	Zero    []int             `json:"zero" validate:"omitzero,min=2"`
	Nil     []int             `json:"nil" validate:"omitnil,min=2"`
	Arr     [2]int            `json:"arr" validate:"len=2"`
	ArrReq  [2]int            `json:"arrReq" validate:"required"`
	ArrDive [2]int            `json:"arrDive" validate:"dive,max=3"`
	PtrList *[]int            `json:"ptrList" validate:"omitempty,min=1"`
	Eq      []int             `json:"eq" validate:"omitempty,eq=1"`
	Ne      map[string]int    `json:"ne" validate:"ne=1"`
}

type Structs struct {
	Base
	*Inner
	Room    Room   `json:"room"`
	Point   Point  `json:"point" validate:"required"`
	Opt     Room   `json:"opt" validate:"omitempty"`
	Nested  *Tag   `json:"nested" validate:"omitempty"`
	NeedTag *Tag   `json:"needTag" validate:"required"`
	Free    *Tag   `json:"free"`
	Skipped Room   `json:"skipped" validate:"-"`
	Only    Room   `json:"only" validate:"structonly"`
	Next    *Point `json:"next"`
}

// Everything is the request type of the root package's validation
// mapping table (validate_test.go), with its custom nickname tag.
type Everything struct {
	Base
	Name     string            `json:"name" validate:"omitempty,min=3,max=10"`
	Code     string            `json:"code" validate:"omitempty,len=4"`
	Tags     []Tag             `json:"tags" validate:"omitempty,min=2,max=3,dive"`
	Labels   map[string]string `json:"labels" validate:"omitempty,max=1,dive,max=3"`
	Room     Room              `json:"room"`
	Count    int               `json:"count" validate:"omitempty,gt=5,lt=10"`
	Score    float64           `json:"score" validate:"omitempty,gte=1.5,lte=2.5"`
	Level    int               `json:"level" validate:"omitempty,min=1,max=3"`
	Color    string            `json:"color" validate:"omitempty,oneof=red green blue"`
	Mode     string            `json:"mode" validate:"omitempty,oneof=a b"`
	Digit    int               `json:"digit" validate:"omitempty,oneof=1 2 3"`
	Email    string            `json:"email" validate:"omitempty,email"`
	Site     string            `json:"site" validate:"omitempty,url"`
	Token    string            `json:"token" validate:"omitempty,uuid"`
	Handle   string            `json:"handle" validate:"omitempty,alphanum"`
	Prefix   string            `json:"prefix" validate:"omitempty,startswith=ab"`
	Nick     string            `json:"nick" validate:"omitempty,nickname"`
	Age      *int              `json:"age" validate:"omitempty,gte=18"`
	Word     string            `json:"word" validate:"omitempty,min=1,max=1"`
	Hidden   string            `json:"-" validate:"omitempty,max=1"`
	NoTag    string            `validate:"omitempty,max=1"`
	Nested   *Tag              `json:"nested" validate:"omitempty"`
	Grid     [][]Tag           `json:"grid" validate:"omitempty,dive,dive"`
	Counts   map[int]Tag       `json:"counts" validate:"omitempty,dive"`
	Required *int              `json:"required" validate:"omitempty"`
}
