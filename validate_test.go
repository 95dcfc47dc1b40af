package ws_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cafeto-go/ws"
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
