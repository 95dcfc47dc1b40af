package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
	"github.com/go-playground/validator/v10"
)

type Room struct {
	Name string `json:"name" validate:"required"`
}

type Tag struct {
	Name string `json:"name" validate:"required,max=5"`
}

type Base struct {
	ID int `json:"id" validate:"gt=0"`
}

// Everything is the request type of the mapping table: one field per rule.
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

// defaultMaxErrors is the cap of an errorList when WithMaxErrors is not given.
const defaultMaxErrors = 100

func TestValidationMapping(t *testing.T) {
	t.Parallel()
	v := validator.New(validator.WithRequiredStructEnabled())
	err := v.RegisterValidation("nickname", func(fl validator.FieldLevel) bool { return fl.Field().String() != "root" })
	if err != nil {
		t.Fatal(err)
	}
	h := ws.Callback(nil, func(ctx context.Context, in Everything) (string, error) { return "ok", nil }, nil,
		ws.WithValidator(v),
		ws.WithTagError("nickname", "nickname_reserved", "Nickname is reserved"),
	)
	c := dial(t, h)
	// Every message carries what the required fields need.
	const ok = `"id":1,"room":{"name":"r"}`
	tests := []struct{ name, in, want string }{
		{"valid", `{` + ok + `}`, ``},
		{"required", `{"id":1}`, `[{"loc":["room","name"],"type":"missing","msg":"Field required"}]`},
		{"embedded struct flattens", `{"id":0,"room":{"name":"r"}}`, `[{"loc":["id"],"type":"greater_than","msg":"Input should be greater than 0"}]`},
		{"string min", `{"name":"ab",` + ok + `}`, `[{"loc":["name"],"type":"string_too_short","msg":"String should have at least 3 characters"}]`},
		{"string max", `{"name":"abcdefghijk",` + ok + `}`, `[{"loc":["name"],"type":"string_too_long","msg":"String should have at most 10 characters"}]`},
		{"string max counts runes", `{"name":"ñññññññññ",` + ok + `}`, ``},
		{"string len short", `{"code":"abc",` + ok + `}`, `[{"loc":["code"],"type":"string_too_short","msg":"String should have at least 4 characters"}]`},
		{"string len long", `{"code":"abcde",` + ok + `}`, `[{"loc":["code"],"type":"string_too_long","msg":"String should have at most 4 characters"}]`},
		{"singular", `{"word":"ab",` + ok + `}`, `[{"loc":["word"],"type":"string_too_long","msg":"String should have at most 1 character"}]`},
		{"list min", `{"tags":[{"name":"a"}],` + ok + `}`, `[{"loc":["tags"],"type":"too_short","msg":"List should have at least 2 items after validation, not 1"}]`},
		{"list max", `{"tags":[{"name":"a"},{"name":"a"},{"name":"a"},{"name":"a"}],` + ok + `}`, `[{"loc":["tags"],"type":"too_long","msg":"List should have at most 3 items after validation, not 4"}]`},
		{"slice item", `{"tags":[{"name":"a"},{"name":""}],` + ok + `}`, `[{"loc":["tags",1,"name"],"type":"missing","msg":"Field required"}]`},
		{"slice items in field order", `{"tags":[{"name":"toolong"},{"name":""}],` + ok + `}`, `[{"loc":["tags",0,"name"],"type":"string_too_long","msg":"String should have at most 5 characters"},{"loc":["tags",1,"name"],"type":"missing","msg":"Field required"}]`},
		{"nested slices", `{"grid":[[],[{"name":"a"},{"name":""}]],` + ok + `}`, `[{"loc":["grid",1,1,"name"],"type":"missing","msg":"Field required"}]`},
		{"map max", `{"labels":{"a":"x","b":"y"},` + ok + `}`, `[{"loc":["labels"],"type":"too_long","msg":"Dictionary should have at most 1 item after validation, not 2"}]`},
		{"map value", `{"labels":{"key 1":"long"},` + ok + `}`, `[{"loc":["labels","key 1"],"type":"string_too_long","msg":"String should have at most 3 characters"}]`},
		{"int map key", `{"counts":{"7":{"name":""}},` + ok + `}`, `[{"loc":["counts",7,"name"],"type":"missing","msg":"Field required"}]`},
		{"pointer struct", `{"nested":{"name":"toolong"},` + ok + `}`, `[{"loc":["nested","name"],"type":"string_too_long","msg":"String should have at most 5 characters"}]`},
		{"gt", `{"count":3,` + ok + `}`, `[{"loc":["count"],"type":"greater_than","msg":"Input should be greater than 5"}]`},
		{"lt", `{"count":12,` + ok + `}`, `[{"loc":["count"],"type":"less_than","msg":"Input should be less than 10"}]`},
		{"gte", `{"score":1.2,` + ok + `}`, `[{"loc":["score"],"type":"greater_than_equal","msg":"Input should be greater than or equal to 1.5"}]`},
		{"lte", `{"score":3,` + ok + `}`, `[{"loc":["score"],"type":"less_than_equal","msg":"Input should be less than or equal to 2.5"}]`},
		{"number min", `{"level":-1,` + ok + `}`, `[{"loc":["level"],"type":"greater_than_equal","msg":"Input should be greater than or equal to 1"}]`},
		{"number max", `{"level":4,` + ok + `}`, `[{"loc":["level"],"type":"less_than_equal","msg":"Input should be less than or equal to 3"}]`},
		{"oneof three", `{"color":"pink",` + ok + `}`, `[{"loc":["color"],"type":"literal_error","msg":"Input should be 'red', 'green' or 'blue'"}]`},
		{"oneof two", `{"mode":"c",` + ok + `}`, `[{"loc":["mode"],"type":"literal_error","msg":"Input should be 'a' or 'b'"}]`},
		{"oneof numbers", `{"digit":7,` + ok + `}`, `[{"loc":["digit"],"type":"literal_error","msg":"Input should be 1, 2 or 3"}]`},
		{"email", `{"email":"nope",` + ok + `}`, `[{"loc":["email"],"type":"value_error","msg":"value is not a valid email address"}]`},
		{"url", `{"site":"nope",` + ok + `}`, `[{"loc":["site"],"type":"url_parsing","msg":"Input should be a valid URL"}]`},
		{"uuid", `{"token":"nope",` + ok + `}`, `[{"loc":["token"],"type":"uuid_parsing","msg":"Input should be a valid UUID"}]`},
		{"other tag", `{"handle":"a-b",` + ok + `}`, `[{"loc":["handle"],"type":"alphanum","msg":"Input should satisfy 'alphanum'"}]`},
		{"other tag with param", `{"prefix":"zz",` + ok + `}`, `[{"loc":["prefix"],"type":"startswith","msg":"Input should satisfy 'startswith=ab'"}]`},
		{"custom tag", `{"nick":"root",` + ok + `}`, `[{"loc":["nick"],"type":"nickname_reserved","msg":"Nickname is reserved"}]`},
		{"pointer tells absent from zero", `{"age":0,` + ok + `}`, `[{"loc":["age"],"type":"greater_than_equal","msg":"Input should be greater than or equal to 18"}]`},
		{"pointer absent", `{` + ok + `}`, ``},
		{"field without json name", `{"NoTag":"ab",` + ok + `}`, `[{"loc":["NoTag"],"type":"string_too_long","msg":"String should have at most 1 character"}]`},
		{"every failing field", `{"name":"ab","count":3,"color":"x"}`, `[{"loc":["id"],"type":"greater_than","msg":"Input should be greater than 0"},{"loc":["name"],"type":"string_too_short","msg":"String should have at least 3 characters"},{"loc":["room","name"],"type":"missing","msg":"Field required"},{"loc":["count"],"type":"greater_than","msg":"Input should be greater than 5"},{"loc":["color"],"type":"literal_error","msg":"Input should be 'red', 'green' or 'blue'"}]`},
	}
	for _, tt := range tests {
		want := `{"statusCode":200,"body":"ok"}`
		if tt.want != "" {
			want = `{"statusCode":400,"body":{"errorList":` + tt.want + `}}`
		}
		equal(t, tt.name, roundTrip(t, c, tt.in), want)
	}
}

// A request that is not a struct is decoded, not validated.
func TestNonStructRequest(t *testing.T) {
	t.Parallel()
	c := dial(t, ws.Callback(nil, func(ctx context.Context, in []int) (int, error) {
		sum := 0
		for _, n := range in {
			sum += n
		}
		return sum, nil
	}, nil))
	equal(t, "sum", roundTrip(t, c, `[1,2,3]`), `{"statusCode":200,"body":6}`)
	equal(t, "item type", roundTrip(t, c, `[1,"x"]`), `{"statusCode":400,"body":{"errorList":[{"loc":[1],"type":"int_type","msg":"Input should be a valid integer"}]}}`)
	equal(t, "null is an empty list", roundTrip(t, c, `null`), `{"statusCode":200,"body":0}`)
}

func TestErrorTypesText(t *testing.T) {
	t.Parallel()
	d := ws.ErrorDetail{Loc: []any{"tags", 1, "name"}, Type: "missing", Msg: "Field required"}
	equal(t, "detail", d.Error(), "ws: tags.1.name: Field required")
	l := ws.ErrorList{Errors: []ws.ErrorDetail{d, {Loc: []any{}, Type: "x", Msg: "Bad"}}}
	equal(t, "list", l.Error(), "ws: tags.1.name: Field required; Bad")
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "json", string(b), `{"errorList":[{"loc":["tags",1,"name"],"type":"missing","msg":"Field required"},{"loc":[],"type":"x","msg":"Bad"}]}`)
}

// capReq has a collection of each kind the cap bounds, between fields the
// validator checks on its own.
type capReq struct {
	Text  string            `json:"text" validate:"required"`
	Items []Room            `json:"items" validate:"dive"`
	Count int               `json:"count" validate:"omitempty,gt=0"`
	Nums  []int             `json:"nums" validate:"omitempty,max=20000,dive,gt=0"`
	Tags  map[string]Room   `json:"tags" validate:"dive"`
	Notes map[string]string `json:"notes" validate:"dive,max=3"`
}

// capReply sends msg and returns the reply's status and the JSON of each
// errorList entry.
func capReply(t *testing.T, c *websocket.Conn, msg string) (status int, entries []string) {
	t.Helper()
	reply := roundTrip(t, c, msg)
	var env struct {
		StatusCode int
		Body       struct {
			ErrorList []json.RawMessage `json:"errorList"`
		}
	}
	if err := json.Unmarshal([]byte(reply), &env); err != nil {
		t.Fatalf("reply %.300s: %v", reply, err)
	}
	for _, e := range env.Body.ErrorList {
		entries = append(entries, string(e))
	}
	return env.StatusCode, entries
}

// dialLarge is dial for a client that reads replies of any size.
func dialLarge(t *testing.T, h http.Handler) *websocket.Conn {
	t.Helper()
	c := dial(t, h)
	c.SetReadLimit(-1)
	return c
}

func repeatJoin(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
}

func TestErrorListCap(t *testing.T) {
	t.Parallel()
	receive := func(ctx context.Context, in capReq) (string, error) { return "ok", nil }
	capped := dialLarge(t, ws.Callback(nil, receive, nil))
	full := dialLarge(t, ws.Callback(nil, receive, nil, ws.WithMaxErrors(-1)))
	const n = 3 * defaultMaxErrors
	tests := []struct {
		name, msg   string
		first, last string // the first and last entries under the cap
	}{
		{"items", `{"text":"x","items":[` + repeatJoin(`{}`, n) + `]}`,
			`{"loc":["items",0,"name"],"type":"missing","msg":"Field required"}`,
			`{"loc":["items",99,"name"],"type":"missing","msg":"Field required"}`},
		{"numbers", `{"text":"x","nums":[` + repeatJoin(`0`, n) + `]}`,
			`{"loc":["nums",0],"type":"greater_than","msg":"Input should be greater than 0"}`,
			`{"loc":["nums",99],"type":"greater_than","msg":"Input should be greater than 0"}`},
		{"fields before and after", `{"count":-1,"items":[` + repeatJoin(`{}`, n) + `],"nums":[0]}`,
			`{"loc":["text"],"type":"missing","msg":"Field required"}`,
			`{"loc":["items",98,"name"],"type":"missing","msg":"Field required"}`},
	}
	for _, tt := range tests {
		status, got := capReply(t, capped, tt.msg)
		_, want := capReply(t, full, tt.msg)
		if status != 400 || len(got) != defaultMaxErrors+1 {
			t.Fatalf("%s: status %d with %d entries, want 400 with %d", tt.name, status, len(got), defaultMaxErrors+1)
		}
		if len(want) < n {
			t.Fatalf("%s: %d entries without the cap, want at least %d", tt.name, len(want), n)
		}
		for i := range defaultMaxErrors {
			equal(t, fmt.Sprintf("%s: entry %d", tt.name, i), got[i], want[i])
		}
		equal(t, tt.name+": first entry", got[0], tt.first)
		equal(t, tt.name+": last entry", got[defaultMaxErrors-1], tt.last)
		equal(t, tt.name+": overflow entry", got[defaultMaxErrors], `{"loc":[],"type":"too_many_errors","msg":"At least 1 more error"}`)
	}
	// Under the cap, nothing changes.
	msg := `{"text":"x","items":[` + repeatJoin(`{}`, defaultMaxErrors) + `]}`
	equal(t, "at the cap", roundTrip(t, capped, msg), roundTrip(t, full, msg))
}

// tooMany is a request whose Validate method finds 150 errors.
type tooMany struct {
	N int `json:"n"`
}

func (r tooMany) Validate(ctx context.Context) error {
	var l ws.ErrorList
	for i := range r.N {
		l.Errors = append(l.Errors, ws.ErrorDetail{Loc: []any{"n", i}, Type: "value_error", Msg: "Value error, bad"})
	}
	return l
}

// structChecked is a request with a struct-level validation, which the
// validator runs after all its fields: validation cannot stop early.
type structChecked struct {
	Items []Room `json:"items" validate:"dive"`
}

func TestErrorListCapCounts(t *testing.T) {
	t.Parallel()
	items := `{"items":[` + repeatJoin(`{}`, 150) + `]}`
	t.Run("validation stops: at least", func(t *testing.T) {
		t.Parallel()
		c := dial(t, ws.Callback(nil, func(ctx context.Context, in capReq) (string, error) { return "ok", nil }, nil, ws.WithMaxErrors(2)))
		_, got := capReply(t, c, `{"text":"x","items":[{},{},{},{}]}`)
		equal(t, "entries", len(got), 3)
		equal(t, "overflow", got[2], `{"loc":[],"type":"too_many_errors","msg":"At least 1 more error"}`)
		_, got = capReply(t, c, `{"items":[{},{},{},{}]}`)
		equal(t, "entries", strings.Join(got, ","), `{"loc":["text"],"type":"missing","msg":"Field required"},{"loc":["items",0,"name"],"type":"missing","msg":"Field required"},{"loc":[],"type":"too_many_errors","msg":"At least 1 more error"}`)
	})
	t.Run("none listed", func(t *testing.T) {
		t.Parallel()
		c := dial(t, ws.Callback(nil, func(ctx context.Context, in capReq) (string, error) { return "ok", nil }, nil, ws.WithMaxErrors(0)))
		equal(t, "reply", roundTrip(t, c, items), `{"statusCode":400,"body":{"errorList":[{"loc":[],"type":"too_many_errors","msg":"At least 1 more error"}]}}`)
	})
	t.Run("Validate method: exact", func(t *testing.T) {
		t.Parallel()
		c := dial(t, ws.Callback(nil, func(ctx context.Context, in tooMany) (string, error) { return "ok", nil }, nil))
		_, got := capReply(t, c, `{"n":150}`)
		equal(t, "entries", len(got), defaultMaxErrors+1)
		equal(t, "last listed", got[defaultMaxErrors-1], `{"loc":["n",99],"type":"value_error","msg":"Value error, bad"}`)
		equal(t, "overflow", got[defaultMaxErrors], `{"loc":[],"type":"too_many_errors","msg":"50 more errors"}`)
		_, got = capReply(t, c, `{"n":101}`)
		equal(t, "overflow of one", got[defaultMaxErrors], `{"loc":[],"type":"too_many_errors","msg":"1 more error"}`)
	})
	t.Run("struct-level validation: exact", func(t *testing.T) {
		t.Parallel()
		v := validator.New(validator.WithRequiredStructEnabled())
		v.RegisterStructValidation(func(sl validator.StructLevel) {}, structChecked{})
		receive := func(ctx context.Context, in structChecked) (string, error) { return "ok", nil }
		c := dialLarge(t, ws.Callback(nil, receive, nil, ws.WithValidator(v)))
		full := dialLarge(t, ws.Callback(nil, receive, nil, ws.WithValidator(v), ws.WithMaxErrors(-1)))
		_, got := capReply(t, c, items)
		_, want := capReply(t, full, items)
		equal(t, "entries", len(got), defaultMaxErrors+1)
		equal(t, "entries without the cap", len(want), 150)
		equal(t, "listed", strings.Join(got[:defaultMaxErrors], ","), strings.Join(want[:defaultMaxErrors], ","))
		equal(t, "overflow", got[defaultMaxErrors], `{"loc":[],"type":"too_many_errors","msg":"50 more errors"}`)
	})
}

// TestHostileReplySize sends messages of the default maximum size, each
// made of as many errors as fit, and checks the reply is smaller than the
// message could be.
func TestHostileReplySize(t *testing.T) {
	t.Parallel()
	receive := func(ctx context.Context, in capReq) (string, error) { return "ok", nil }
	capped := dialLarge(t, ws.Callback(nil, receive, nil))
	full := dialLarge(t, ws.Callback(nil, receive, nil, ws.WithMaxErrors(-1)))
	const limit = 32 << 10
	fill := func(head, item, tail string) string {
		n := (limit - len(head) - len(tail) + 1) / (len(item) + 1)
		return head + repeatJoin(item, n) + tail
	}
	// Keys that encoding/json escapes to six bytes each, in entries that
	// are each longer than the cap allows a hundred of.
	key := strings.Repeat("<", 1000)
	var tags []string
	for i := range 30 {
		tags = append(tags, `"`+key+strconv.Itoa(i)+`":{}`)
	}
	var notes strings.Builder
	notes.WriteString(`{"text":"x","notes":{"<0>":"long"`)
	for i := 1; notes.Len() < limit-100; i++ {
		fmt.Fprintf(&notes, `,"<%d>":"long"`, i)
	}
	notes.WriteString(`}}`)
	tests := []struct{ name, msg string }{
		{"items", fill(`{"text":"x","items":[`, `{}`, `]}`)},
		{"numbers", fill(`{"text":"x","nums":[`, `0`, `]}`)},
		{"escaped keys", `{"text":"x","tags":{` + strings.Join(tags, ",") + `}}`},
		{"map values", notes.String()},
	}
	for _, tt := range tests {
		if len(tt.msg) > limit {
			t.Fatalf("%s: message of %d bytes", tt.name, len(tt.msg))
		}
		reply := roundTrip(t, capped, tt.msg)
		if !strings.HasPrefix(reply, `{"statusCode":400,`) || len(reply) >= limit {
			t.Fatalf("%s: reply of %d bytes to a message of %d: %.200s", tt.name, len(reply), len(tt.msg), reply)
		}
		if n := len(roundTrip(t, full, tt.msg)); n <= limit {
			t.Fatalf("%s: %d bytes without the cap: the message does not test the cap", tt.name, n)
		}
	}
}

// TestValidationStopsAtCap counts how often a failing validation runs on a
// message of thousands of invalid items: the cap bounds it.
func TestValidationStopsAtCap(t *testing.T) {
	t.Parallel()
	type item struct {
		Name string `json:"name" validate:"counted"`
	}
	type nested struct {
		Items []item `json:"items" validate:"dive"`
	}
	type req struct {
		Items   []item          `json:"items" validate:"dive"`
		Ptrs    []*item         `json:"ptrs" validate:"dive,required"`
		Nums    []int           `json:"nums" validate:"dive,counted"`
		Grid    [][]item        `json:"grid" validate:"dive,dive"`
		Map     map[string]item `json:"map" validate:"dive"`
		Nested  nested          `json:"nested"`
		Groups  []nested        `json:"groups" validate:"dive"`
		Pointer *nested         `json:"pointer" validate:"omitempty"`
	}
	var calls atomic.Int64
	v := validator.New(validator.WithRequiredStructEnabled())
	if err := v.RegisterValidation("counted", func(fl validator.FieldLevel) bool { calls.Add(1); return false }); err != nil {
		t.Fatal(err)
	}
	c := dialLarge(t, ws.Callback(nil, func(ctx context.Context, in req) (string, error) { return "ok", nil }, nil, ws.WithValidator(v), ws.WithReadLimit(1<<20)))
	const n = 5000
	items := `[` + repeatJoin(`{}`, n) + `]`
	var keyed []string
	for i := range n {
		keyed = append(keyed, `"k`+strconv.Itoa(i)+`":{}`)
	}
	tests := []struct{ name, msg string }{
		{"items", `{"items":` + items + `}`},
		{"pointer items", `{"ptrs":[` + repeatJoin(`{}`, n) + `]}`},
		{"numbers", `{"nums":[` + repeatJoin(`1`, n) + `]}`},
		{"nested slices", `{"grid":[` + repeatJoin(`[{},{}]`, n/2) + `]}`},
		{"map", `{"map":{` + strings.Join(keyed, ",") + `}}`},
		{"nested struct", `{"nested":{"items":` + items + `}}`},
		{"items of items", `{"groups":[` + repeatJoin(`{"items":[{},{}]}`, n/2) + `]}`},
		{"pointer to struct", `{"pointer":{"items":` + items + `}}`},
	}
	for _, tt := range tests {
		before := calls.Load()
		status, entries := capReply(t, c, tt.msg)
		ran := calls.Load() - before
		if status != 400 || len(entries) != defaultMaxErrors+1 {
			t.Fatalf("%s: status %d with %d entries", tt.name, status, len(entries))
		}
		if ran > defaultMaxErrors+1 {
			t.Fatalf("%s: the failing validation ran %d times for %d listed errors", tt.name, ran, defaultMaxErrors)
		}
	}
}

// orderReq has one of each shape the cap's walk knows, and the fields the
// validator checks on its own around them, to compare the capped errorList
// with the validator's own, entry by entry.
type orderReq struct {
	orderBase
	Text  string      `json:"text" validate:"required"`
	Max   int         `json:"max"`
	Vals  []int       `json:"vals" validate:"required_with=Text,dive,ltefield=Max"`
	Items []orderItem `json:"items" validate:"omitempty,min=1,dive"`
	Ptrs  []*Room     `json:"ptrs" validate:"dive,required"`
	Spans []orderSpan `json:"spans" validate:"dive"`
	Room  orderRoom   `json:"room"`
	Opt   *orderRoom  `json:"opt" validate:"omitempty"`
	Need  *orderRoom  `json:"need" validate:"required"`
	Grid  [][]Room    `json:"grid" validate:"dive,max=2,dive"`
	Anon  []struct {
		X int `json:"x" validate:"gt=0"`
	} `json:"anon" validate:"dive"`
	Times  []time.Time     `json:"times" validate:"dive,required"`
	Tree   orderNode       `json:"tree"`
	ByName map[string]Room `json:"by_name" validate:"max=3,dive"`
	Codes  map[int][]int   `json:"codes" validate:"dive,dive,oneof=1 2 3"`
	Colors []string        `json:"colors" validate:"dive,iscolor"`
	Last   string          `json:"last" validate:"required"`
}

type orderBase struct {
	Labels []string `json:"labels" validate:"dive,min=2"`
}

type orderItem struct {
	A int `json:"a" validate:"gte=0"`
	B int `json:"b" validate:"gte=0"`
}

// orderSpan has a struct-level rule: from <= to.
type orderSpan struct {
	From int `json:"from"`
	To   int `json:"to"`
}

type orderRoom struct {
	Members []Room `json:"members" validate:"min=1,dive"`
}

type orderNode struct {
	Name string      `json:"name" validate:"required"`
	Kids []orderNode `json:"kids" validate:"max=3,dive"`
}

func orderValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterStructValidation(func(sl validator.StructLevel) {
		if s := sl.Current().Interface().(orderSpan); s.From > s.To {
			sl.ReportError(s.To, "to", "To", "gtefield", "From")
		}
	}, orderSpan{})
	return v
}

// orderMessages break orderReq's rules in many places at once. Their maps
// have one key at most: the validator visits a map's keys in random order.
var orderMessages = []string{
	`{}`,
	`{"text":"x","last":"y","need":{"members":[{"name":"a"}]}}`,
	`{"labels":["a","bb",""],"vals":[1,5,2],"max":2,"items":[{"a":-1,"b":-1},{"a":1}],"ptrs":[null,{},{"name":"r"}],"spans":[{"from":2,"to":1},{"from":1,"to":2}],"last":"z"}`,
	`{"text":"x","items":[],"room":{"members":[]},"opt":{"members":[{},{"name":"a"},{}]},"need":{"members":null}}`,
	`{"grid":[[{},{}],[{},{},{}],[],[{"name":"n"},{}]],"anon":[{"x":0},{"x":1},{}],"times":["0001-01-01T00:00:00Z","2024-01-01T00:00:00Z"]}`,
	`{"tree":{"kids":[{"name":"a","kids":[{},{"kids":[{},{},{},{}]}]},{}]},"by_name":{"k]. [x":{}},"codes":{"7":[1,4,2,5]},"colors":["#fff","nope",""]}`,
	`{"by_name":{"a":{}},"codes":{"1":[]},"opt":null,"need":{"members":[{}]},"vals":[]}`,
	`{"text":"x","max":-1,"vals":[0,-1,-2,-3,-4,-5,-6],"labels":["","","",""],"ptrs":[null,null,null],"last":"y","need":{"members":[{}]}}`,
	`{"spans":[{"from":3,"to":2},{"from":5,"to":1},{"from":1,"to":1}],"anon":[{},{},{}],"grid":[[{}],[{}],[{}]],"tree":{"name":"t","kids":[{},{},{},{}]}}`,
}

// TestCapKeepsValidatorOrder compares, message by message, the errorList
// under caps of 0 to 100 entries with the errorList without a cap: the
// listed entries are the first ones of the full list, in its order.
func TestCapKeepsValidatorOrder(t *testing.T) {
	t.Parallel()
	v := orderValidator()
	receive := func(ctx context.Context, in orderReq) (string, error) { return "ok", nil }
	full := dialLarge(t, ws.Callback(nil, receive, nil, ws.WithValidator(v), ws.WithMaxErrors(-1)))
	caps := []int{0, 1, 2, 3, 5, 8, defaultMaxErrors}
	capped := make([]*websocket.Conn, len(caps))
	for i, n := range caps {
		capped[i] = dialLarge(t, ws.Callback(nil, receive, nil, ws.WithValidator(v), ws.WithMaxErrors(n)))
	}
	for _, msg := range orderMessages {
		wantStatus, want := capReply(t, full, msg)
		for i, n := range caps {
			status, got := capReply(t, capped[i], msg)
			checkCapped(t, fmt.Sprintf("cap %d, %s", n, msg), n, wantStatus, want, status, got)
		}
	}
}

// checkCapped checks the reply (status, got) under a cap of n entries
// against the reply (wantStatus, want) without a cap.
func checkCapped(t *testing.T, what string, n, wantStatus int, want []string, status int, got []string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d", what, status, wantStatus)
	}
	if len(want) <= n {
		equal(t, what, strings.Join(got, ","), strings.Join(want, ","))
		return
	}
	if len(got) != n+1 {
		t.Fatalf("%s: %d entries, want %d and the overflow entry:\n%s", what, len(got), n, strings.Join(got, "\n"))
	}
	for i := range n {
		equal(t, fmt.Sprintf("%s: entry %d", what, i), got[i], want[i])
	}
	var overflow ws.ErrorDetail
	if err := json.Unmarshal([]byte(got[n]), &overflow); err != nil || len(overflow.Loc) != 0 || overflow.Type != "too_many_errors" {
		t.Fatalf("%s: last entry %s, want too_many_errors", what, got[n])
	}
	more, atLeast := strings.CutPrefix(overflow.Msg, "At least ")
	more, _, _ = strings.Cut(more, " ")
	k, err := strconv.Atoi(more)
	if err != nil || k < 1 || !atLeast && n+k != len(want) || atLeast && n+k > len(want) {
		t.Fatalf("%s: overflow entry %s for %d errors, %d listed", what, got[n], len(want), n)
	}
}

// FuzzErrorListCap compares, for any message, the errorList under a cap of
// three entries with the errorList without a cap, as
// TestCapKeepsValidatorOrder does for chosen ones.
func FuzzErrorListCap(f *testing.F) {
	for _, msg := range orderMessages {
		f.Add([]byte(msg))
	}
	v := orderValidator()
	receive := func(ctx context.Context, in orderReq) (string, error) { return "ok", nil }
	p := newRelProbe(f)
	full := &fuzzConn{url: relServer(f, p, receive, ws.WithValidator(v), ws.WithMaxErrors(-1))}
	capped := &fuzzConn{url: relServer(f, p, receive, ws.WithValidator(v), ws.WithMaxErrors(3))}
	f.Cleanup(full.drop)
	f.Cleanup(capped.drop)
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > 32<<10 || !utf8.Valid(msg) {
			t.Skip("closes the connection")
		}
		reply := func(fc *fuzzConn) (int, []string) {
			data, err := fc.send(t, websocket.MessageText, msg)
			if err != nil {
				t.Fatalf("no reply: %v", err)
			}
			var env struct {
				StatusCode int
				Body       struct {
					ErrorList []json.RawMessage `json:"errorList"`
				}
			}
			if err := json.Unmarshal(data, &env); err != nil {
				t.Fatalf("reply %q: %v", data, err)
			}
			var entries []string
			for _, e := range env.Body.ErrorList {
				entries = append(entries, string(e))
			}
			return env.StatusCode, entries
		}
		wantStatus, want := reply(full)
		status, got := reply(capped)
		var in orderReq
		if json.Unmarshal(msg, &in) == nil && (len(in.ByName) > 1 || len(in.Codes) > 1) {
			// The validator visits a map's keys in random order: only
			// the status and the count can be compared.
			if status != wantStatus || len(want) <= 3 && len(got) != len(want) || len(want) > 3 && len(got) != 4 {
				t.Fatalf("status %d with %d entries, want %d with %d", status, len(got), wantStatus, len(want))
			}
			return
		}
		checkCapped(t, string(msg), 3, wantStatus, want, status, got)
	})
}
