package schemacheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/internal/jsonschema"
	"github.com/coder/websocket"
	"github.com/go-playground/validator/v10"
	sv "github.com/santhosh-tekuri/jsonschema/v6"
)

// agreement is one request type and a message the server accepts.
type agreement struct {
	typ  reflect.Type
	base string
}

var agreements = []agreement{
	{reflect.TypeFor[Strings](), `{"req":"x","gte":"a","ptrReq":"abc","ptrMax":"ab"}`},
	{reflect.TypeFor[Numbers](), `{"req":1,"reqF":1.5,"gt":6,"or":-1}`},
	{reflect.TypeFor[Others](), `{"req":true,"when":"2024-01-02T03:04:05Z","bytes":"aGk=","any":1}`},
	{reflect.TypeFor[Collections](), `{"req":[],"grid":[[1]],"reqMap":{},"minMap":{"a":1},"arrReq":[1,0]}`},
	{reflect.TypeFor[Structs](), `{"id":1,"room":{"name":"r"},"point":{"x":1},"needTag":{"name":"t"}}`},
	{reflect.TypeFor[Everything](), `{"id":1,"room":{"name":"r"}}`},
}

// TestServerAndSchemaAgree sends many messages, valid ones and ones that
// break each rule of each field, to a ws.Callback server and checks each
// against the generated schema: both must accept or both must refuse,
// except for the known differences listed in known.
func TestServerAndSchemaAgree(t *testing.T) {
	v := validator.New(validator.WithRequiredStructEnabled())
	err := v.RegisterValidation("nickname", func(fl validator.FieldLevel) bool { return fl.Field().String() != "root" })
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var disagreements []string
	seenKnown := map[string]int{}
	for _, a := range agreements {
		srv, conn := serve(t, a.typ, v)
		schema := compile(t, a.typ, v)
		msgs := messages(a.typ, a.base)
		for _, m := range msgs {
			server := verdict(t, conn, m.text)
			var inst any
			inst, err := sv.UnmarshalJSON(strings.NewReader(m.text))
			if err != nil {
				t.Fatalf("%s: %v", m.text, err)
			}
			verr := schema.Validate(inst)
			total++
			if (verr == nil) == server {
				continue
			}
			if reason, ok := known(check{a.typ, schema}, m, server); ok {
				seenKnown[reason]++
				continue
			}
			disagreements = append(disagreements, fmt.Sprintf("%s.%s: server %s, schema %s: %s",
				a.typ.Name(), m.field, accepts(server), accepts(verr == nil), m.text))
		}
		conn.Close(websocket.StatusNormalClosure, "")
		srv.Close()
	}
	t.Logf("%d messages, %d disagreements", total, len(disagreements))
	for _, d := range disagreements {
		t.Error(d)
	}
	for _, k := range knownDifferences {
		if seenKnown[k.reason] == 0 {
			t.Errorf("known difference not seen: %s", k.reason)
		}
		t.Logf("known difference, %d messages: %s", seenKnown[k.reason], k.reason)
	}
}

func accepts(ok bool) string {
	if ok {
		return "accepts"
	}
	return "refuses"
}

// serve starts a ws.Callback server for a request of type typ that answers
// "ok" to every valid message, and connects to it.
func serve(t *testing.T, typ reflect.Type, v *validator.Validate) (*httptest.Server, *websocket.Conn) {
	t.Helper()
	fn := reflect.MakeFunc(
		reflect.FuncOf([]reflect.Type{reflect.TypeFor[context.Context](), typ}, []reflect.Type{reflect.TypeFor[string](), reflect.TypeFor[error]()}, false),
		func([]reflect.Value) []reflect.Value {
			return []reflect.Value{reflect.ValueOf("ok"), reflect.Zero(reflect.TypeFor[error]())}
		})
	// ws.Callback is generic: instantiate it through the type switch below.
	h := handlers[typ](fn.Interface(), v)
	srv := httptest.NewServer(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	return srv, c
}

func handler[T any](fn any, v *validator.Validate) *callbackHandler {
	return &callbackHandler{ws.Callback(nil, fn.(func(context.Context, T) (string, error)), nil,
		ws.WithValidator(v), ws.WithReadLimit(1<<20))}
}

type callbackHandler struct{ http.Handler }

var handlers = map[reflect.Type]func(any, *validator.Validate) *callbackHandler{
	reflect.TypeFor[Strings]():     handler[Strings],
	reflect.TypeFor[Numbers]():     handler[Numbers],
	reflect.TypeFor[Others]():      handler[Others],
	reflect.TypeFor[Collections](): handler[Collections],
	reflect.TypeFor[Structs]():     handler[Structs],
	reflect.TypeFor[Everything]():  handler[Everything],
}

// verdict sends msg and reports whether the server answered 200.
func verdict(t *testing.T, c *websocket.Conn, msg string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write %s: %v", msg, err)
	}
	_, reply, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read reply to %s: %v", msg, err)
	}
	var env ws.StatusEnvelope[json.RawMessage]
	if err := json.Unmarshal(reply, &env); err != nil {
		t.Fatalf("reply %s: %v", reply, err)
	}
	switch env.StatusCode {
	case 200:
		return true
	case 400:
		return false
	}
	t.Fatalf("reply to %s: %s", msg, reply)
	return false
}

// compile generates the schema of typ and compiles it with format and
// content assertions on.
func compile(t *testing.T, typ reflect.Type, v *validator.Validate) *sv.Schema {
	t.Helper()
	res := jsonschema.Generate(jsonschema.Options{Validator: v},
		jsonschema.Root{Type: typ, Mode: jsonschema.Input})
	doc := map[string]any{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"definitions": res.Definitions,
		"allOf":       []any{res.Schemas[0]},
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := sv.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := sv.NewCompiler()
	c.DefaultDraft(sv.Draft7)
	c.AssertFormat()
	c.AssertContent()
	if err := c.AddResource("schema.json", parsed); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("%s: %v\n%s", typ, err, raw)
	}
	return s
}

// message is one generated message: the base with field set to value (or
// removed when value is "").
type message struct {
	field, value, text string
}

// messages returns the base message, the base with each field removed,
// and the base with each field set to each of its candidate values.
func messages(typ reflect.Type, base string) []message {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(base), &obj); err != nil {
		panic(err)
	}
	out := []message{{text: base}}
	for _, whole := range []string{`null`, `[]`, `"x"`, `1`, `{}`} {
		out = append(out, message{field: "(message)", value: whole, text: whole})
	}
	for _, f := range properties(typ) {
		with := func(v string) string {
			o := maps(obj)
			if v == "" {
				delete(o, f.name)
			} else {
				o[f.name] = json.RawMessage(v)
			}
			raw, _ := json.Marshal(o)
			return string(raw)
		}
		out = append(out, message{field: f.name, text: with("")})
		for _, v := range dedupe(candidates(f.typ, f.tag, 0)) {
			out = append(out, message{field: f.name, value: v, text: with(v)})
		}
	}
	return out
}

func maps(m map[string]json.RawMessage) map[string]json.RawMessage {
	o := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		o[k] = v
	}
	return o
}

func dedupe(vals []string) []string {
	seen := map[string]bool{}
	out := vals[:0]
	for _, v := range vals {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

type prop struct {
	name string
	typ  reflect.Type
	tag  string
}

// properties lists the JSON properties of a struct type, through embedded
// structs (the test types have no name conflicts).
func properties(t reflect.Type) []prop {
	var out []prop
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			out = append(out, properties(ft)...)
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, prop{name, sf.Type, sf.Tag.Get("validate")})
	}
	return out
}

var (
	stringPool = []string{
		"", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefghijk", "ñ", "ññ", "ñññ", "ññññ", "ñññññ",
		"😀", "😀😀", "😀😀😀", "a\u0301", "red", "green", "dark blue", "'dark blue'", "dark", "pink", "hi", "HI", "x",
		"true", "1", "7", "-3", "12.5", "+12.5", "1.", ".5", "0x1F", "1F", "0XAB", "g1", "#fff", "#ffff", "#ffffff", "#fffffff", "#12345g",
		"+14155552671", "14155552671", "+0123456789", "+1234567", "a b", "A B", "abc123", "abc 123", "a-b", "a_b", " ",
		"a@b.co", "user.name+tag@example.com", "a@b", "nope", "a@@b.co", `"quoted"@example.com`, "a@b.co.", "a..b@c.co",
		".a@b.co", "a@-b.co", "a@b_c.co", "Ab <a@b.co>", "a@[127.0.0.1]", "ñ@ñ.co",
		"http://example.com", "https://example.com/x?y=1#z", "HTTP://EXAMPLE.COM", "ftp://example.com", "mailto:a@b.co",
		"/path", "a/b", "http://", "https://", "http://[::1]:80", "file:///tmp", "file://", "file://host", "urn:isbn:0451450523", "//example.com",
		"#frag", "http://exa mple.com", "http://example.com/%zz", "https://a", "http:/x", "javascript:alert(1)", "x:", "http://a/b c",
		"550e8400-e29b-41d4-a716-446655440000", "550E8400-E29B-41D4-A716-446655440000", "6fa459ea-ee8a-3ca4-894e-db77e160355e",
		"886313e1-3b8a-5372-9b90-0c9aee199e5d", "00000000-0000-0000-0000-000000000000", "550e8400e29b41d4a716446655440000",
		"550e8400-e29b-41d4-c716-446655440000", "{550e8400-e29b-41d4-a716-446655440000}", "550e8400-e29b-41d4-a716-44665544000g",
		"root", "a.b", "a.bxyz", "xa.b", "aXb", "xyz", "xyzx", "b", "abx", "2024-01-02T03:04:05Z", "0001-01-01T00:00:00Z",
		"aGk=", "aGVsbG8=", "aGVsbG8", "!!", "a\nb", "ab\n",
	}
	numberPool = []string{
		"0", "-0", "0.0", "1", "-1", "1.0", "1e2", "2", "3", "4", "5", "6", "7", "9", "10", "11", "16", "17", "18", "19",
		"127", "128", "-128", "-129", "255", "256", "300", "301", "65535", "65536", "-5", "-6", "1.5", "2.5", "2.4999", "-2.5",
		"0.1", "0.5", "0.50000001", "0.6", "1e-7", "1000000000", "999999999", "60000000000", "60000000001", "1e400",
		"9007199254740993", "18446744073709551616", "-9223372036854775809",
	}
	generic = []string{`null`, `true`, `false`, `0`, `"x"`, `[]`, `{}`}
	params  = regexp.MustCompile(`=([-+0-9a-fA-Fx.]+)`)
)

// paramNumbers returns the numbers in a validate tag's parameters.
func paramNumbers(tag string) []float64 {
	var out []float64
	for _, m := range params.FindAllStringSubmatch(tag, -1) {
		for _, p := range strings.Fields(m[1]) {
			if n, err := strconv.ParseInt(p, 0, 64); err == nil {
				out = append(out, float64(n))
			} else if f, err := strconv.ParseFloat(p, 64); err == nil {
				out = append(out, f)
			}
		}
	}
	return out
}

// candidates returns JSON values to try for a value of type t with the
// validate tag tag: values of every JSON type, values around the tag's
// parameters, and for containers and structs, values built from the
// candidates of their parts.
func candidates(t reflect.Type, tag string, depth int) []string {
	out := slices.Clone(generic)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	nums := paramNumbers(tag)
	switch {
	case t == reflect.TypeFor[time.Time]():
		out = append(out, `"2024-01-02T03:04:05Z"`, `"0001-01-01T00:00:00Z"`, `"2024-01-02T03:04:05+01:00"`, `"nope"`, `"2024-01-02"`)
	case t == reflect.TypeFor[[]byte]():
		out = append(out, `"aGk="`, `"aGVsbG8="`, `"aGVsbG8"`, `"!!"`, `""`, `null`, `[1,2]`)
	case t.Kind() == reflect.Interface || t == reflect.TypeFor[json.RawMessage]() || t == reflect.TypeFor[json.Number]():
		out = append(out, `1`, `1.5`, `"1.5"`, `"x"`, `[1]`, `{"a":1}`)
	case t.Kind() == reflect.String:
		strs := slices.Clone(stringPool)
		for _, n := range nums {
			for _, k := range []int{int(n) - 1, int(n), int(n) + 1} {
				if k >= 0 && k < 70 {
					strs = append(strs, strings.Repeat("a", k), strings.Repeat("ñ", k), strings.Repeat("😀", k))
				}
			}
		}
		for _, m := range regexp.MustCompile(`oneof=([^,]*)`).FindAllStringSubmatch(tag, -1) {
			for _, w := range regexp.MustCompile(`'[^']*'|\S+`).FindAllString(m[1], -1) {
				strs = append(strs, strings.Trim(w, "'"))
			}
		}
		for _, s := range strs {
			raw, _ := json.Marshal(s)
			out = append(out, string(raw))
		}
		out = append(out, `1`, `"\ud800"`, `"\u00e9"`)
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64:
		out = append(out, numberPool...)
		for _, n := range nums {
			for _, d := range []float64{-1, 0, 1, -0.5, 0.5, -1e-9, 1e-9} {
				out = append(out, strconv.FormatFloat(n+d, 'g', -1, 64))
			}
			out = append(out, strconv.FormatFloat(n, 'f', 1, 64))
		}
		out = append(out, `"1"`)
	case t.Kind() == reflect.Bool:
		out = append(out, `"true"`, `1`)
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		if depth > 2 {
			break
		}
		v, w := samples(t.Elem())
		for k := 0; k <= 5; k++ {
			out = append(out, list(slices.Repeat([]string{v}, k)))
		}
		out = append(out, list([]string{v, w}), list([]string{w, v, w}))
		itemTag := afterDive(tag)
		for _, c := range dedupe(candidates(t.Elem(), itemTag, depth+1)) {
			out = append(out, list([]string{c}), list([]string{v, c}))
		}
	case t.Kind() == reflect.Map:
		if depth > 2 {
			break
		}
		v, w := samples(t.Elem())
		keys := []string{"a", "ab", "abc", "abcd", "7", "0", "-1", "+5", "x", "", "ñ", "256"}
		for _, k := range keys {
			out = append(out, object(map[string]string{k: v}))
		}
		out = append(out, object(map[string]string{"a": v, "b": w}), object(map[string]string{"a": v, "b": w, "c": v}),
			object(map[string]string{"ab": v, "abc": w}), object(map[string]string{"7": v, "8": w}))
		for _, c := range dedupe(candidates(t.Elem(), afterKeys(afterDive(tag)), depth+1)) {
			out = append(out, object(map[string]string{"ab": c}), object(map[string]string{"7": c}))
		}
	case t.Kind() == reflect.Struct:
		if depth > 2 {
			break
		}
		fields := properties(t)
		full := map[string]string{}
		for _, f := range fields {
			full[f.name], _ = samples(f.typ)
		}
		out = append(out, object(full))
		for _, f := range fields {
			for _, c := range dedupe(candidates(f.typ, f.tag, depth+1)) {
				out = append(out, object(map[string]string{f.name: c}))
				o := maps2(full)
				o[f.name] = c
				out = append(out, object(o))
			}
		}
	}
	return out
}

func maps2(m map[string]string) map[string]string {
	o := make(map[string]string, len(m))
	for k, v := range m {
		o[k] = v
	}
	return o
}

// afterDive returns the part of a tag that applies to the items.
func afterDive(tag string) string {
	if _, rest, ok := strings.Cut(tag, "dive"); ok {
		return strings.TrimPrefix(rest, ",")
	}
	return ""
}

// afterKeys drops a keys...endkeys part.
func afterKeys(tag string) string {
	if _, rest, ok := strings.Cut(tag, "endkeys"); ok {
		return strings.TrimPrefix(rest, ",")
	}
	return tag
}

// samples returns two different plain values of type t.
func samples(t reflect.Type) (string, string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Time]():
		return `"2024-01-02T03:04:05Z"`, `"2025-01-02T03:04:05Z"`
	case t.Kind() == reflect.String:
		return `"a"`, `"b"`
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return `1`, `2`
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return `1.5`, `2`
	case t.Kind() == reflect.Bool:
		return `true`, `false`
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		v, _ := samples(t.Elem())
		return `[]`, list([]string{v})
	case t.Kind() == reflect.Map:
		v, _ := samples(t.Elem())
		return `{}`, object(map[string]string{"a": v})
	case t.Kind() == reflect.Struct:
		a, b := map[string]string{}, map[string]string{}
		for _, f := range properties(t) {
			a[f.name], b[f.name] = samples(f.typ)
		}
		return object(a), object(b)
	}
	return `1`, `"x"`
}

func list(items []string) string { return "[" + strings.Join(items, ",") + "]" }

func object(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		raw, _ := json.Marshal(k)
		b.Write(raw)
		b.WriteByte(':')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// knownDifference is a case where the server and the schema cannot agree,
// documented in the generator's package documentation. match reports
// whether the disagreement on m is this one.
type knownDifference struct {
	reason string
	match  func(c check, m message, server bool) bool
}

// check is what a matcher may use: the request type and its schema.
type check struct {
	typ    reflect.Type
	schema *sv.Schema
}

func (c check) accepts(text string) bool {
	inst, err := sv.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		panic(err)
	}
	return c.schema.Validate(inst) == nil
}

// fieldValues matches a disagreement on one of the given values of a field.
func fieldValues(field string, values ...string) func(check, message, bool) bool {
	return func(_ check, m message, _ bool) bool {
		return m.field == field && slices.Contains(values, m.value)
	}
}

var knownDifferences = []knownDifference{
	{
		reason: "encoding/json reads null for a non-nullable value (a string, number, bool, struct or array, as a field, item or map value) as its zero value; the schema refuses null there",
		match: func(c check, m message, server bool) bool {
			norm, changed := rewrite(m.text, c.typ, func(v any, t reflect.Type) (any, bool) {
				if v != nil || nullable(t) {
					return v, false
				}
				return zero, true
			})
			return changed && c.accepts(norm) == server
		},
	},
	{
		reason: "encoding/json refuses for an integer 1.0, 1e2, a sign on an unsigned integer (-0) and values beyond 64 bits, and floats beyond float64; JSON Schema compares numbers by value",
		match: func(c check, m message, server bool) bool {
			refused := false
			rewrite(m.text, c.typ, func(v any, t reflect.Type) (any, bool) {
				t = deref(t)
				if n, ok := v.(json.Number); ok && t.Kind() >= reflect.Int && t.Kind() <= reflect.Float64 {
					if json.Unmarshal([]byte(n), reflect.New(t).Interface()) != nil {
						refused = true
					}
				}
				return v, false
			})
			return refused && !server
		},
	},
	{
		reason: "bounds on a float32 compare after rounding to float32",
		match: func(c check, m message, server bool) bool {
			norm, changed := rewrite(m.text, c.typ, func(v any, t reflect.Type) (any, bool) {
				n, ok := v.(json.Number)
				if !ok || deref(t).Kind() != reflect.Float32 {
					return v, false
				}
				f, err := strconv.ParseFloat(string(n), 32)
				if err != nil {
					return v, false
				}
				return json.Number(strconv.FormatFloat(float64(float32(f)), 'g', -1, 64)), true
			})
			return changed && c.accepts(norm) == server
		},
	},
	{
		reason: "the email format of the schema validator and validator's email disagree on unusual addresses",
		match: func(c check, m message, server bool) bool {
			return (m.field == "email" || m.field == "or") &&
				slices.Contains([]string{`"a@b"`, `"a@b.co."`, `"a@[127.0.0.1]"`, `"ñ@ñ.co"`}, m.value)
		},
	},
	{
		reason: "validator's url refuses file: URLs without a path, which the pattern lets through",
		match: func(c check, m message, server bool) bool {
			return (m.field == "url" || m.field == "site") && m.value == `"file://host"`
		},
	},
	{
		reason: "encoding/json reads a []byte from an array of numbers too; the schema expects a base64 string",
		match:  fieldValues("bytes", `[]`, `[1,2]`),
	},
	{
		reason: "encoding/json reads a json.Number from a string holding a number too; the schema expects a number",
		match:  fieldValues("num", `"1.5"`),
	},
	{
		reason: "rules kept in x-validate (here a custom tag) are not enforced by the schema",
		match:  fieldValues("nick", `"root"`),
	},
	{
		reason: "integer map keys are not bounded by their Go type (256 for a uint8)",
		match: func(c check, m message, server bool) bool {
			return m.field == "sizes" && strings.Contains(m.value, `"256"`) && !server
		},
	},
}

func known(c check, m message, server bool) (string, bool) {
	for _, k := range knownDifferences {
		if k.match(c, m, server) {
			return k.reason, true
		}
	}
	return "", false
}

// nullable reports whether JSON null is a value of t for encoding/json.
func nullable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return true
	}
	return false
}

func decode(text string) any {
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		panic(err)
	}
	return v
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// zero stands for the zero value of the type at hand: an absent member in
// an object, the type's zero value elsewhere.
var zero = &struct{}{}

// rewrite walks the JSON text along the Go type t and lets fix replace
// values; it returns the new text and whether fix changed something.
func rewrite(text string, t reflect.Type, fix func(v any, t reflect.Type) (any, bool)) (string, bool) {
	changed := false
	var walk func(v any, t reflect.Type) any
	walk = func(v any, t reflect.Type) any {
		if nv, ok := fix(v, t); ok {
			changed = true
			if nv == zero {
				raw, _ := json.Marshal(reflect.Zero(t).Interface())
				return decode(string(raw))
			}
			return nv
		}
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch x := v.(type) {
		case []any:
			if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
				for i := range x {
					x[i] = walk(x[i], t.Elem())
				}
			}
		case map[string]any:
			switch t.Kind() {
			case reflect.Map:
				for k := range x {
					x[k] = walk(x[k], t.Elem())
				}
			case reflect.Struct:
				for _, p := range properties(t) {
					fv, ok := x[p.name]
					if !ok {
						continue
					}
					if nv, ok := fix(fv, p.typ); ok && nv == zero {
						changed = true
						delete(x, p.name) // absent: the field keeps its zero value
						continue
					}
					x[p.name] = walk(fv, p.typ)
				}
			}
		}
		return v
	}
	v := walk(decode(text), t)
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(raw), changed
}
