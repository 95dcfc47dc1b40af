package jsonschema_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/jsonschema"
	"github.com/cafeto-go/ws/internal/jsonschema/internal/clash"
	"github.com/go-playground/validator/v10"
)

// Types of the table below.
type (
	Scalars struct {
		B   bool    `json:"b"`
		I   int     `json:"i"`
		I8  int8    `json:"i8"`
		U16 uint16  `json:"u16"`
		U   uint    `json:"u"`
		F   float64 `json:"f"`
		S   string  `json:"s"`
	}
	Names struct {
		Renamed string `json:"renamed"`
		GoName  string
		Skipped string `json:"-"`
		//lint:ignore SA5008 the name "-" is what is tested
		Dash   string `json:"-,"`
		Empty  string `json:",omitempty"`
		Zero   Room   `json:"zero,omitzero"`
		Struct Room   `json:"struct,omitempty"`
		Ptr    *int   `json:"ptr,omitempty"`
		Quoted int    `json:"quoted,string"`
		//lint:ignore U1000 unexported fields are left out
		private string
		//lint:ignore SA5008 an invalid name falls back to the Go name
		Invalid_ string `json:"a\"b"`
	}
	Containers struct {
		Ints   []int            `json:"ints"`
		Bytes  []byte           `json:"bytes"`
		Pair   [2]string        `json:"pair"`
		ByName map[string]int   `json:"byName"`
		ByInt  map[int]string   `json:"byInt"`
		ByUint map[uint8]string `json:"byUint"`
		ByAddr map[netip.Addr]int
	}
	Specials struct {
		When   time.Time       `json:"when"`
		Raw    json.RawMessage `json:"raw"`
		Num    json.Number     `json:"num"`
		Any    any             `json:"any"`
		Addr   netip.Addr      `json:"addr"`
		Custom Custom          `json:"custom"`
		Ch     chan int        `json:"ch"`
	}
	Custom struct{ v int }

	Room struct {
		Name string `json:"name" validate:"required"`
	}
	// Shared uses Room twice: one definition.
	Shared struct {
		A Room `json:"a"`
		B Room `json:"b"`
	}
	// Once uses Room once: written in place.
	Once struct {
		R Room `json:"r"`
	}
	Node struct {
		Value    int     `json:"value"`
		Children []*Node `json:"children"`
	}
	Clash struct {
		Mine   Room       `json:"mine"`
		Theirs clash.Room `json:"theirs"`
		Mine2  Room       `json:"mine2"`
		Their2 clash.Room `json:"their2"`
	}
	Page[T any] struct {
		Items []T `json:"items"`
	}
	Item struct {
		ID int `json:"id"`
	}

	Inner struct {
		X int `json:"x" validate:"required"`
		Y int `json:"y"`
	}
	Embeds struct {
		Inner
		Y    string `json:"y"` // shallower: hides Inner.Y
		Note string `json:"note"`
	}
	Left struct {
		Dup string
		L   int `json:"l"`
	}
	Right struct {
		Dup string
		R   int `json:"r"`
	}
	Conflict struct {
		Left
		Right
	}
	TaggedLeft struct {
		X string `json:"Dup" validate:"required"`
	}
	UntaggedRight struct {
		Dup string
	}
	TagWins struct {
		TaggedLeft
		UntaggedRight
	}
	Named struct {
		Inner `json:"inner"`
	}
	PtrEmbed struct {
		*Inner
		Z int `json:"z"`
	}

	Required struct {
		S   string            `json:"s" validate:"required"`
		I   int               `json:"i" validate:"required"`
		F   float64           `json:"f" validate:"required"`
		B   bool              `json:"b" validate:"required"`
		P   *int              `json:"p" validate:"required"`
		L   []int             `json:"l" validate:"required"`
		M   map[string]int    `json:"m" validate:"required"`
		A   any               `json:"a" validate:"required"`
		R   Room              `json:"r" validate:"required"`
		T   time.Time         `json:"t" validate:"required"`
		Arr [2]int            `json:"arr" validate:"required"`
		Opt map[string]string `json:"opt"`
	}
	Lengths struct {
		Min   string         `json:"min" validate:"min=2"`
		Max   string         `json:"max" validate:"max=3"`
		Len   string         `json:"len" validate:"len=2"`
		Gt    string         `json:"gt" validate:"gt=1"`
		Lt    string         `json:"lt" validate:"lt=4"`
		Eq    string         `json:"eq" validate:"eq=hi"`
		Ne    string         `json:"ne" validate:"ne=hi"`
		List  []int          `json:"list" validate:"min=1,max=3"`
		Dict  map[string]int `json:"dict" validate:"max=2"`
		Never string         `json:"never" validate:"lt=0"`
		Fixed [3]int         `json:"fixed" validate:"len=3"`
		Wrong [3]int         `json:"wrong" validate:"len=2"`
		Hex   []int          `json:"hex" validate:"max=0x10"`
	}
	Numbers struct {
		Gt    int           `json:"gt" validate:"gt=5"`
		Gte   int           `json:"gte" validate:"gte=-1"`
		Lt    float64       `json:"lt" validate:"lt=2.5"`
		Lte   uint8         `json:"lte" validate:"lte=10"`
		Len   int           `json:"len" validate:"len=3"`
		Ne    int           `json:"ne" validate:"ne=0"`
		Wait  time.Duration `json:"wait" validate:"min=1s"`
		F32   float32       `json:"f32" validate:"max=0.1"`
		Oneof int           `json:"oneof" validate:"oneof=1 2 01 +3"`
		Flag  bool          `json:"flag" validate:"eq=true"`
	}
	Omits struct {
		Name  string   `json:"name" validate:"omitempty,min=3"`
		Color string   `json:"color" validate:"omitempty,oneof=red 'dark blue'"`
		Ptr   *int     `json:"ptr" validate:"omitempty,gte=18"`
		List  []int    `json:"list" validate:"omitempty,min=2"`
		Nil   []int    `json:"nil" validate:"omitnil,min=2"`
		Zero  []int    `json:"zero" validate:"omitzero,min=2"`
		PZero *int     `json:"pzero" validate:"omitzero,gt=5"`
		Room  Room     `json:"room" validate:"omitempty"`
		Def   int      `json:"def" validate:"isdefault"`
		Late  string   `json:"late" validate:"max=5,omitempty,min=2"`
		PMax  *string  `json:"pmax" validate:"max=2"`
		IDs   []string `json:"ids" validate:"dive,uuid4"`
	}
	Formats struct {
		Email string `json:"email" validate:"email"`
		URL   string `json:"url" validate:"url"`
		URI   string `json:"uri" validate:"uri"`
		HTTP  string `json:"http" validate:"http_url"`
		UUID  string `json:"uuid" validate:"uuid"`
		Alpha string `json:"alpha" validate:"alpha"`
		Pre   string `json:"pre" validate:"startswith=a.b"`
		Not   string `json:"not" validate:"excludes=x"`
		Or    string `json:"or" validate:"email|uuid"`
		IP    string `json:"ip" validate:"ip"`
		Cross string `json:"cross" validate:"eqfield=IP"`
	}
	Dives struct {
		Tags   []Room            `json:"tags" validate:"dive"`
		Raw    []Room            `json:"raw"`
		Grid   [][]int           `json:"grid" validate:"min=1,dive,max=2,dive,gt=0"`
		Labels map[string]string `json:"labels" validate:"dive,keys,min=2,endkeys,max=3"`
		Counts map[int]int       `json:"counts" validate:"dive,keys,gt=0,endkeys"`
		Ptrs   []*Room           `json:"ptrs" validate:"dive"`
		Req    []*Room           `json:"req" validate:"dive,required"`
		Uniq   []string          `json:"uniq" validate:"unique"`
	}
	Skips struct {
		Skipped Room `json:"skipped" validate:"-"`
		Only    Room `json:"only" validate:"structonly"`
	}
	Hidden struct {
		Name   string `json:"name"`
		Secret string `json:"-" validate:"required"`
	}
	Custom2 struct {
		Nick string `json:"nick" validate:"nickname"`
		Free string `json:"free" validate:"omitempty,nickname"`
	}
	Echo struct {
		Text string `json:"text" validate:"required"`
		Note string `json:"note,omitempty"`
	}
)

func (c Custom) MarshalJSON() ([]byte, error) { return json.Marshal(c.v) }

var updating = os.Getenv("JSONSCHEMA_PRINT") != ""

type root = jsonschema.Root

func in[T any]() root  { return root{Type: reflect.TypeFor[T](), Mode: jsonschema.Input} }
func out[T any]() root { return root{Type: reflect.TypeFor[T](), Mode: jsonschema.Output} }

func TestGenerate(t *testing.T) {
	t.Parallel()
	nick := validator.New(validator.WithRequiredStructEnabled())
	if err := nick.RegisterValidation("nickname", func(fl validator.FieldLevel) bool { return len(fl.Field().String()) >= 2 }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		opts  jsonschema.Options
		roots []root
		want  string
	}{
		{name: "scalars", roots: []root{out[Scalars]()}, want: `{"definitions":{"Scalars":{"type":"object","properties":{"b":{"type":"boolean"},"i":{"type":"integer"},"i8":{"type":"integer","minimum":-128,"maximum":127},"u16":{"type":"integer","minimum":0,"maximum":65535},"u":{"type":"integer","minimum":0},"f":{"type":"number"},"s":{"type":"string"}},"required":["b","i","i8","u16","u","f","s"]}},"schemas":[{"$ref":"#/definitions/Scalars"}]}`},
		{name: "names and omitempty, output", roots: []root{out[Names]()}, want: `{"definitions":{"Names":{"type":"object","properties":{"renamed":{"type":"string"},"GoName":{"type":"string"},"-":{"type":"string"},"Empty":{"type":"string"},"zero":{"$ref":"#/definitions/Room"},"struct":{"$ref":"#/definitions/Room"},"ptr":{"type":["integer","null"]},"quoted":{"type":"string","pattern":"^-?(0|[1-9][0-9]*)$"},"Invalid_":{"type":"string"}},"required":["renamed","GoName","-","struct","quoted","Invalid_"]},"Room":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}},"schemas":[{"$ref":"#/definitions/Names"}]}`},
		{name: "names, input", roots: []root{in[Names]()}, want: `{"definitions":{"Names":{"type":"object","properties":{"renamed":{"type":"string"},"GoName":{"type":"string"},"-":{"type":"string"},"Empty":{"type":"string"},"zero":{"$ref":"#/definitions/Room"},"struct":{"$ref":"#/definitions/Room"},"ptr":{"type":["integer","null"]},"quoted":{"type":"string","pattern":"^-?(0|[1-9][0-9]*)$"},"Invalid_":{"type":"string"}},"required":["zero","struct"]},"Room":{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"]}},"schemas":[{"$ref":"#/definitions/Names"}]}`},
		{name: "containers", roots: []root{out[Containers]()}, want: `{"definitions":{"Containers":{"type":"object","properties":{"ints":{"type":["array","null"],"items":{"type":"integer"}},"bytes":{"type":["string","null"],"contentEncoding":"base64"},"pair":{"type":"array","items":{"type":"string"}},"byName":{"type":["object","null"],"additionalProperties":{"type":"integer"}},"byInt":{"type":["object","null"],"propertyNames":{"pattern":"^-?[0-9]+$"},"additionalProperties":{"type":"string"}},"byUint":{"type":["object","null"],"propertyNames":{"pattern":"^[0-9]+$"},"additionalProperties":{"type":"string"}},"ByAddr":{"type":["object","null"],"additionalProperties":{"type":"integer"}}},"required":["ints","bytes","pair","byName","byInt","byUint","ByAddr"]}},"schemas":[{"$ref":"#/definitions/Containers"}]}`},
		{name: "containers, input", roots: []root{in[Containers]()}, want: `{"definitions":{"Containers":{"type":"object","properties":{"ints":{"type":["array","null"],"items":{"type":"integer"}},"bytes":{"type":["string","null"],"contentEncoding":"base64"},"pair":{"type":"array","items":{"type":"string"}},"byName":{"type":["object","null"],"additionalProperties":{"type":"integer"}},"byInt":{"type":["object","null"],"propertyNames":{"pattern":"^[-+]?[0-9]+$"},"additionalProperties":{"type":"string"}},"byUint":{"type":["object","null"],"propertyNames":{"pattern":"^[0-9]+$"},"additionalProperties":{"type":"string"}},"ByAddr":{"type":["object","null"],"additionalProperties":{"type":"integer"}}}}},"schemas":[{"$ref":"#/definitions/Containers"}]}`},
		{name: "special types", roots: []root{out[Specials]()}, want: `{"definitions":{"Specials":{"type":"object","properties":{"when":{"type":"string","format":"date-time"},"raw":{},"num":{"type":"number"},"any":{},"addr":{"type":"string"},"custom":{"$comment":"jsonschema_test.Custom encodes itself (json.Marshaler): any JSON value"},"ch":{"$comment":"chan int has no JSON encoding","not":{}}},"required":["when","raw","num","any","addr","custom","ch"]}},"schemas":[{"$ref":"#/definitions/Specials"}]}`},
		{name: "non-struct input root is only decoded", roots: []root{in[[]Room]()}, want: `{"schemas":[{"type":["array","null"],"items":{"type":"object","properties":{"name":{"type":"string"}}}}]}`},
		{name: "pointer input root is not null", roots: []root{in[*Room]()}, want: `{"definitions":{"Room":{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"]}},"schemas":[{"$ref":"#/definitions/Room"}]}`},
		{name: "shared struct is a definition", roots: []root{out[Shared]()}, want: `{"definitions":{"Room":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]},"Shared":{"type":"object","properties":{"a":{"$ref":"#/definitions/Room"},"b":{"$ref":"#/definitions/Room"}},"required":["a","b"]}},"schemas":[{"$ref":"#/definitions/Shared"}]}`},
		{name: "struct used once is inline", roots: []root{out[Once]()}, want: `{"definitions":{"Once":{"type":"object","properties":{"r":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}},"required":["r"]}},"schemas":[{"$ref":"#/definitions/Once"}]}`},
		{name: "NameStructs: every named struct is a definition", opts: jsonschema.Options{NameStructs: true}, roots: []root{out[Once](), out[Page[Item]](), in[[]Room]()}, want: `{"definitions":{"Item":{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]},"Once":{"type":"object","properties":{"r":{"$ref":"#/definitions/Room-Output"}},"required":["r"]},"Page_Item":{"type":"object","properties":{"items":{"type":["array","null"],"items":{"$ref":"#/definitions/Item"}}},"required":["items"]},"Room-Output":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]},"Room-Unvalidated":{"type":"object","properties":{"name":{"type":"string"}}}},"schemas":[{"$ref":"#/definitions/Once"},{"$ref":"#/definitions/Page_Item"},{"type":["array","null"],"items":{"$ref":"#/definitions/Room-Unvalidated"}}]}`},
		{name: "recursive", roots: []root{out[Node]()}, want: `{"definitions":{"Node":{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":["array","null"],"items":{"anyOf":[{"$ref":"#/definitions/Node"},{"type":"null"}]}}},"required":["value","children"]}},"schemas":[{"$ref":"#/definitions/Node"}]}`},
		{name: "name clash", roots: []root{out[Clash]()}, want: `{"definitions":{"Clash":{"type":"object","properties":{"mine":{"$ref":"#/definitions/jsonschema_test.Room"},"theirs":{"$ref":"#/definitions/clash.Room"},"mine2":{"$ref":"#/definitions/jsonschema_test.Room"},"their2":{"$ref":"#/definitions/clash.Room"}},"required":["mine","theirs","mine2","their2"]},"clash.Room":{"type":"object","properties":{"seats":{"type":"integer"}},"required":["seats"]},"jsonschema_test.Room":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}},"schemas":[{"$ref":"#/definitions/Clash"}]}`},
		{name: "generic", roots: []root{out[Page[Item]]()}, want: `{"definitions":{"Page_Item":{"type":"object","properties":{"items":{"type":["array","null"],"items":{"type":"object","properties":{"id":{"type":"integer"}},"required":["id"]}}},"required":["items"]}},"schemas":[{"$ref":"#/definitions/Page_Item"}]}`},
		{name: "prefix", opts: jsonschema.Options{RefPrefix: "#/components/schemas/"}, roots: []root{out[Room]()}, want: `{"definitions":{"Room":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}},"schemas":[{"$ref":"#/components/schemas/Room"}]}`},
		{name: "input and output differ", roots: []root{in[Echo](), out[Echo]()}, want: `{"definitions":{"Echo-Input":{"type":"object","properties":{"text":{"type":"string","minLength":1},"note":{"type":"string"}},"required":["text"]},"Echo-Output":{"type":"object","properties":{"text":{"type":"string"},"note":{"type":"string"}},"required":["text"]}},"schemas":[{"$ref":"#/definitions/Echo-Input"},{"$ref":"#/definitions/Echo-Output"}]}`},
		{name: "embedded", roots: []root{in[Embeds]()}, want: `{"definitions":{"Embeds":{"type":"object","properties":{"x":{"type":"integer","not":{"const":0}},"y":{"type":"string"},"note":{"type":"string"}},"required":["x"]}},"schemas":[{"$ref":"#/definitions/Embeds"}]}`},
		{name: "embedded conflict drops both", roots: []root{out[Conflict]()}, want: `{"definitions":{"Conflict":{"type":"object","properties":{"l":{"type":"integer"},"r":{"type":"integer"}},"required":["l","r"]}},"schemas":[{"$ref":"#/definitions/Conflict"}]}`},
		{name: "embedded tagged wins", roots: []root{in[TagWins]()}, want: `{"definitions":{"TagWins":{"type":"object","properties":{"Dup":{"type":"string","minLength":1}},"required":["Dup"]}},"schemas":[{"$ref":"#/definitions/TagWins"}]}`},
		{name: "embedded with a json name", roots: []root{out[Named]()}, want: `{"definitions":{"Named":{"type":"object","properties":{"inner":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"}},"required":["x","y"]}},"required":["inner"]}},"schemas":[{"$ref":"#/definitions/Named"}]}`},
		{name: "embedded pointer", roots: []root{in[PtrEmbed](), out[PtrEmbed]()}, want: `{"definitions":{"PtrEmbed-Input":{"type":"object","properties":{"x":{"type":"integer","not":{"const":0}},"y":{"type":"integer"},"z":{"type":"integer"}},"allOf":[{"if":{"anyOf":[{"required":["x"]},{"required":["y"]}]},"then":{"required":["x"]}}]},"PtrEmbed-Output":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":"integer"},"z":{"type":"integer"}},"required":["z"],"allOf":[{"if":{"anyOf":[{"required":["x"]},{"required":["y"]}]},"then":{"required":["x","y"]}}]}},"schemas":[{"$ref":"#/definitions/PtrEmbed-Input"},{"$ref":"#/definitions/PtrEmbed-Output"}]}`},
		{name: "required", roots: []root{in[Required]()}, want: `{"definitions":{"Required":{"type":"object","properties":{"s":{"type":"string","minLength":1},"i":{"type":"integer","not":{"const":0}},"f":{"type":"number","not":{"const":0}},"b":{"type":"boolean","const":true},"p":{"type":"integer"},"l":{"type":"array","items":{"type":"integer"}},"m":{"type":"object","additionalProperties":{"type":"integer"}},"a":{"not":{"type":"null"}},"r":{"not":{"type":"object","properties":{"name":{"const":""}}},"allOf":[{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"]}]},"t":{"type":"string","format":"date-time","not":{"const":"0001-01-01T00:00:00Z"}},"arr":{"type":"array","items":{"type":"integer"},"not":{"type":"array","items":{"const":0}}},"opt":{"type":["object","null"],"additionalProperties":{"type":"string"}}},"required":["s","i","f","b","p","l","m","a","r","t","arr"]}},"schemas":[{"$ref":"#/definitions/Required"}]}`},
		{name: "lengths", roots: []root{in[Lengths]()}, want: `{"definitions":{"Lengths":{"type":"object","properties":{"min":{"type":"string","minLength":2},"max":{"type":"string","maxLength":3},"len":{"type":"string","minLength":2,"maxLength":2},"gt":{"type":"string","minLength":2},"lt":{"type":"string","maxLength":3},"eq":{"type":"string","const":"hi"},"ne":{"type":"string","not":{"const":"hi"}},"list":{"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3},"dict":{"type":["object","null"],"additionalProperties":{"type":"integer"},"maxProperties":2},"never":{"not":{}},"fixed":{"type":"array","items":{"type":"integer"}},"wrong":{"not":{}},"hex":{"type":["array","null"],"items":{"type":"integer"},"maxItems":16}},"required":["min","len","gt","eq","list","never","wrong"]}},"schemas":[{"$ref":"#/definitions/Lengths"}]}`},
		{name: "numbers", roots: []root{in[Numbers]()}, want: `{"definitions":{"Numbers":{"type":"object","properties":{"gt":{"type":"integer","exclusiveMinimum":5},"gte":{"type":"integer","minimum":-1},"lt":{"type":"number","exclusiveMaximum":2.5},"lte":{"type":"integer","minimum":0,"maximum":10},"len":{"type":"integer","const":3},"ne":{"type":"integer","not":{"const":0}},"wait":{"type":"integer","minimum":1000000000},"f32":{"type":"number","maximum":0.1},"oneof":{"type":"integer","enum":[1,2]},"flag":{"type":"boolean","const":true}},"required":["gt","len","ne","wait","oneof","flag"]}},"schemas":[{"$ref":"#/definitions/Numbers"}]}`},
		{name: "omitempty and friends", roots: []root{in[Omits]()}, want: `{"definitions":{"Omits":{"type":"object","properties":{"name":{"type":"string","anyOf":[{"const":""},{"minLength":3}]},"color":{"type":"string","enum":["","red","dark blue"]},"ptr":{"type":["integer","null"],"minimum":18},"list":{"type":["array","null"],"items":{"type":"integer"},"anyOf":[{"type":"null"},{"minItems":2}]},"nil":{"type":["array","null"],"items":{"type":"integer"},"anyOf":[{"type":"null"},{"minItems":2}]},"zero":{"type":["array","null"],"items":{"type":"integer"},"anyOf":[{"type":"null"},{"maxItems":0},{"minItems":2}]},"pzero":{"anyOf":[{"type":"integer","anyOf":[{"const":0},{"exclusiveMinimum":5}]},{"type":"null"}]},"room":{"anyOf":[{"type":"object","properties":{"name":{"const":""}}},{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"]}]},"def":{"type":"integer","const":0},"late":{"type":"string","maxLength":5,"anyOf":[{"const":""},{"minLength":2}]},"pmax":{"type":"string","maxLength":2},"ids":{"type":["array","null"],"items":{"type":"string","format":"uuid","pattern":"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"}}},"required":["pmax"]}},"schemas":[{"$ref":"#/definitions/Omits"}]}`},
		{name: "formats", roots: []root{in[Formats]()}, want: `{"definitions":{"Formats":{"type":"object","properties":{"email":{"type":"string","format":"email"},"url":{"type":"string","format":"uri","pattern":"^([fF][iI][lL][eE]:(//[^/?#]*/[^?#]+|/[^/?#][^?#]*)|[a-zA-Z][a-zA-Z0-9+.-]*:(//([^/?#]*@)?[^/?#@]|[^/?#]|[^#]*#.))"},"uri":{"type":"string","format":"uri-reference","pattern":"^(/|[a-zA-Z][a-zA-Z0-9+.-]*:)"},"http":{"type":"string","format":"uri","pattern":"^[hH][tT][tT][pP][sS]?://[^/?#]"},"uuid":{"type":"string","format":"uuid","pattern":"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"},"alpha":{"type":"string","pattern":"^[a-zA-Z]+$"},"pre":{"type":"string","pattern":"^a\\.b"},"not":{"type":"string","not":{"pattern":"x"}},"or":{"type":"string","anyOf":[{"format":"email"},{"format":"uuid","pattern":"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"}]},"ip":{"type":"string","x-validate":"ip"},"cross":{"type":"string","x-validate":"eqfield=IP"}},"required":["email","url","uri","http","uuid","alpha","pre","or","ip"]}},"schemas":[{"$ref":"#/definitions/Formats"}]}`},
		{name: "dive", roots: []root{in[Dives]()}, want: `{"definitions":{"Dives":{"type":"object","properties":{"tags":{"type":["array","null"],"items":{"$ref":"#/definitions/Room"}},"raw":{"type":["array","null"],"items":{"type":"object","properties":{"name":{"type":"string"}}}},"grid":{"type":"array","items":{"type":["array","null"],"items":{"type":"integer","exclusiveMinimum":0},"maxItems":2},"minItems":1},"labels":{"type":["object","null"],"propertyNames":{"minLength":2},"additionalProperties":{"type":"string","maxLength":3}},"counts":{"type":["object","null"],"propertyNames":{"pattern":"^[-+]?[0-9]+$"},"additionalProperties":{"type":"integer"},"x-validate":"dive,keys,gt=0,endkeys"},"ptrs":{"type":["array","null"],"items":{"anyOf":[{"$ref":"#/definitions/Room"},{"type":"null"}]}},"req":{"type":["array","null"],"items":{"$ref":"#/definitions/Room"}},"uniq":{"type":["array","null"],"items":{"type":"string"},"uniqueItems":true}},"required":["grid"]},"Room":{"type":"object","properties":{"name":{"type":"string","minLength":1}},"required":["name"]}},"schemas":[{"$ref":"#/definitions/Dives"}]}`},
		{name: "skipped", roots: []root{in[Skips]()}, want: `{"definitions":{"Room":{"type":"object","properties":{"name":{"type":"string"}}},"Skips":{"type":"object","properties":{"skipped":{"$ref":"#/definitions/Room"},"only":{"$ref":"#/definitions/Room"}}}},"schemas":[{"$ref":"#/definitions/Skips"}]}`},
		{name: "hidden field fails", roots: []root{in[Hidden]()}, want: `{"definitions":{"Hidden":{"$comment":"validation of jsonschema_test.Hidden always fails at Secret, which JSON cannot set","not":{}}},"schemas":[{"$ref":"#/definitions/Hidden"}]}`},
		{name: "custom tag, unknown", roots: []root{in[Custom2]()}, want: `{"definitions":{"Custom2":{"type":"object","properties":{"nick":{"type":"string","x-validate":"nickname"},"free":{"type":"string","x-validate":"omitempty,nickname"}}}},"schemas":[{"$ref":"#/definitions/Custom2"}]}`},
		{name: "one validator per root", roots: []root{in[Custom2](), {Type: reflect.TypeFor[Custom2](), Mode: jsonschema.Input, Validator: nick}}, want: `{"definitions":{"Custom2-Input":{"type":"object","properties":{"nick":{"type":"string","x-validate":"nickname"},"free":{"type":"string","x-validate":"omitempty,nickname"}}},"Custom2-Input2":{"type":"object","properties":{"nick":{"type":"string","x-validate":"nickname"},"free":{"type":"string","x-validate":"omitempty,nickname"}},"required":["nick"]}},"schemas":[{"$ref":"#/definitions/Custom2-Input"},{"$ref":"#/definitions/Custom2-Input2"}]}`},
		{name: "custom tag, known", opts: jsonschema.Options{Validator: nick}, roots: []root{in[Custom2]()}, want: `{"definitions":{"Custom2":{"type":"object","properties":{"nick":{"type":"string","x-validate":"nickname"},"free":{"type":"string","x-validate":"omitempty,nickname"}},"required":["nick"]}},"schemas":[{"$ref":"#/definitions/Custom2"}]}`},
	}
	for _, tt := range tests {
		res := jsonschema.Generate(tt.opts, tt.roots...)
		doc := map[string]any{"schemas": res.Schemas}
		if len(res.Definitions) > 0 {
			doc["definitions"] = res.Definitions
		}
		got, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if updating {
			t.Logf("WANT %s\t%s", tt.name, got)
			continue
		}
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(tt.want)); err != nil {
			t.Fatalf("%s: want: %v", tt.name, err)
		}
		if string(got) != want.String() {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, want.String())
		}
	}
}
