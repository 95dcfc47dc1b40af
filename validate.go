package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// A request type may implement Validator to check rules that span fields.
// [Callback] calls Validate after the field tags have passed. An
// [ErrorDetail] or [ErrorList] it returns lands in the 400 errorList as it
// is, capped like every errorList (see [ErrorList]); any other error is reported at loc ["__model__"] with type
// "value_error" and the message "Value error, " + err.Error(), so word it for
// the client.
type Validator interface {
	Validate(ctx context.Context) error
}

// model is what the package knows of a request type, computed once at
// construction; the per-message path reads it and never reflects on the type.
type model struct {
	typ       reflect.Type // Req itself
	isStruct  bool         // Req is a struct
	isPointer bool         // Req is a pointer to a struct
	fields    map[reflect.Type]map[string]field
	validate  *validator.Validate
	tagErrors map[string]tagError
	maxErrors int         // entries a 400 errorList lists at most; < 0: no cap
	walk      *structWalk // nil: the validator validates a request whole
}

// field is one struct field as JSON sees it.
type field struct {
	name    string // JSON name
	flatten bool   // embedded struct without a JSON name: its fields sit in the parent
	typ     reflect.Type
}

type tagError struct{ typ, msg string }

// newModel inspects Req and warms the validator on it, so that a malformed
// validate tag panics now rather than on the first message.
func newModel(t reflect.Type, cfg *config) *model {
	m := &model{
		typ:       t,
		fields:    make(map[reflect.Type]map[string]field),
		validate:  cfg.validate,
		tagErrors: cfg.tagErrors,
		maxErrors: cfg.maxErrors,
	}
	switch {
	case t.Kind() == reflect.Struct:
		m.isStruct = true
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		m.isPointer = true
	}
	m.collect(t)
	if m.isStruct || m.isPointer {
		m.warm(t)
		if m.maxErrors >= 0 {
			m.walk = newWalk(m.validate, deref(t))
		}
	}
	return m
}

// collect records the JSON names of the fields of every struct reachable
// from t.
func (m *model) collect(t reflect.Type) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
		if t.Kind() == reflect.Map {
			m.collect(t.Key())
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	if _, seen := m.fields[t]; seen {
		return
	}
	fs := make(map[string]field, t.NumField())
	m.fields[t] = fs
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if tag == "-" {
			name = "" // not part of the JSON: report the Go name
		}
		if name == "" {
			if sf.Anonymous && tag == "" && deref(sf.Type).Kind() == reflect.Struct {
				fs[sf.Name] = field{flatten: true, typ: sf.Type}
				m.collect(sf.Type)
				continue
			}
			name = sf.Name
		}
		fs[sf.Name] = field{name: name, typ: sf.Type}
		m.collect(sf.Type)
	}
}

// warm validates a sample value with one item in every slice and map and
// every pointer set, so the validator parses the tags of every type Req
// reaches. A malformed tag panics here, at construction.
func (m *model) warm(t reflect.Type) {
	v := sample(t, map[reflect.Type]bool{})
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("ws: invalid validate tag on %v: %v", t, r))
		}
	}()
	_ = m.validate.Struct(v.Interface())
}

func sample(t reflect.Type, seen map[reflect.Type]bool) reflect.Value {
	v := reflect.New(t).Elem()
	if seen[t] {
		return v
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Pointer:
		v.Set(sample(t.Elem(), seen).Addr())
	case reflect.Slice:
		v.Set(reflect.Append(v, sample(t.Elem(), seen)))
	case reflect.Map:
		v.Set(reflect.MakeMap(t))
		v.SetMapIndex(sample(t.Key(), seen), sample(t.Elem(), seen))
	case reflect.Struct:
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				v.Field(i).Set(sample(t.Field(i).Type, seen))
			}
		}
	}
	return v
}

// check validates a decoded request: field tags first, then the model's
// own Validate method. req is a pointer to a struct. The errorList it
// returns is capped (see [ErrorList]): past the cap, a walked request is not
// validated further.
func (m *model) check(ctx context.Context, req any, self Validator) *ErrorList {
	var c collector
	if m.walk != nil {
		c = m.walkErrors(ctx, req)
	} else {
		c = m.collector()
		c.report(m.validate.StructCtx(ctx, req), "", 0)
	}
	if list := c.result(); list != nil {
		return list
	}
	if self == nil {
		return nil
	}
	list := modelErrors(self.Validate(ctx))
	if list == nil || m.maxErrors < 0 {
		return list
	}
	c = m.collector()
	for i, d := range list.Errors {
		if !c.put(d) {
			c.more += len(list.Errors) - i - 1
			break
		}
	}
	return c.result()
}

// walkErrors validates req, a pointer to a struct, with the model's walk.
func (m *model) walkErrors(ctx context.Context, req any) collector {
	x := &walker{ctx: ctx, v: m.validate, c: m.collector(), ns: make([]byte, 0, 64)}
	if name := m.typeName(); name != "" {
		x.ns = append(append(x.ns, name...), '.')
	}
	x.c.cut = !m.walk.run(x, reflect.ValueOf(req).Elem())
	return x.c
}

// typeName is the name of the request's struct type, which the validator
// puts at the start of its namespaces.
func (m *model) typeName() string { return deref(m.typ).Name() }

func invalidInput() ErrorDetail {
	return ErrorDetail{Loc: []any{}, Type: "value_error", Msg: "Value error, invalid input"}
}

// maxErrorBytes bounds the JSON of a 400 errorList's entries, the overflow
// entry aside: with the envelope around them, a reply stays below the
// default read limit whatever the entries hold.
const maxErrorBytes = 24 << 10

// A collector gathers the entries of one errorList up to the cap, and
// counts the errors past it.
type collector struct {
	m    *model
	max  int // entries listed at most; < 0: no cap
	left int // bytes left for entries
	list []ErrorDetail
	more int  // errors found and not listed
	cut  bool // validation stopped at the cap: more is a lower bound
}

func (m *model) collector() collector {
	return collector{m: m, max: m.maxErrors, left: maxErrorBytes}
}

// report adds the errors of one validator call. The struct namespace of
// each is prefix followed by its own, once its first strip bytes are cut.
// It reports false once the list is full.
func (c *collector) report(err error, prefix string, strip int) bool {
	if err == nil {
		return true
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return c.put(invalidInput())
	}
	for i, fe := range verrs {
		ns := fe.StructNamespace()
		if len(ns) >= strip {
			ns = ns[strip:]
		}
		if !c.add(fe, prefix+ns) {
			c.more += len(verrs) - i - 1
			return false
		}
	}
	return true
}

// add lists the validator's error fe, at the struct namespace ns. It
// reports false once the list is full.
func (c *collector) add(fe validator.FieldError, ns string) bool {
	if c.full() {
		c.more++
		return false
	}
	typ, msg := c.m.describe(fe)
	return c.put(ErrorDetail{Loc: c.m.loc(ns), Type: typ, Msg: msg})
}

// put lists d. It reports false once the list is full.
func (c *collector) put(d ErrorDetail) bool {
	if c.full() {
		c.more++
		return false
	}
	if c.max >= 0 {
		n := detailSize(d)
		if n > c.left {
			c.more++
			return false
		}
		c.left -= n
	}
	c.list = append(c.list, d)
	return true
}

func (c *collector) full() bool {
	return c.max >= 0 && (c.more > 0 || len(c.list) >= c.max)
}

// result returns the errorList, ended by the overflow entry when errors
// were left out; nil when there was no error.
func (c *collector) result() *ErrorList {
	if len(c.list) == 0 && c.more == 0 {
		return nil
	}
	if c.more > 0 {
		msg := strconv.Itoa(c.more) + " more error" + plural(c.more)
		if c.cut {
			msg = "At least " + msg
		}
		c.list = append(c.list, ErrorDetail{Loc: []any{}, Type: "too_many_errors", Msg: msg})
	}
	return &ErrorList{Errors: c.list}
}

// detailSize returns at least the length of d's JSON in a list: its
// strings escaped the way encoding/json escapes them at worst, and a comma.
func detailSize(d ErrorDetail) int {
	n := len(`{"loc":[],"type":,"msg":},`) + jsonSize(d.Type) + jsonSize(d.Msg)
	for i, p := range d.Loc {
		if i > 0 {
			n++
		}
		switch p := p.(type) {
		case string:
			n += jsonSize(p)
		case int:
			n += len(strconv.Itoa(p))
		default:
			b, err := json.Marshal(p)
			if err != nil {
				return math.MaxInt
			}
			n += len(b)
		}
	}
	return n
}

// jsonSize returns at least the length of s as a JSON string.
func jsonSize(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6 // \u00XX
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			n += 6
		} else {
			n += size
		}
		i += size
	}
	return n
}

// modelErrors turns what a Validate method returned into an errorList.
func modelErrors(err error) *ErrorList {
	if err == nil {
		return nil
	}
	var list ErrorList
	if errors.As(err, &list) {
		return &list
	}
	var d ErrorDetail
	if errors.As(err, &d) {
		if d.Loc == nil {
			d.Loc = []any{"__model__"}
		}
		return &ErrorList{Errors: []ErrorDetail{d}}
	}
	return &ErrorList{Errors: []ErrorDetail{{Loc: []any{"__model__"}, Type: "value_error", Msg: "Value error, " + err.Error()}}}
}

// loc turns a validator struct namespace such as "Req.Tags[1].Name" into
// the JSON path ["tags", 1, "name"].
func (m *model) loc(ns string) []any {
	t := m.typ
	// Drop the leading type name.
	if i := strings.IndexByte(ns, '.'); i >= 0 {
		ns = ns[i+1:]
	} else {
		return []any{}
	}
	loc := []any{}
	for ns != "" {
		end := strings.IndexAny(ns, ".[")
		if end < 0 {
			end = len(ns)
		}
		name := ns[:end]
		ns = ns[end:]
		t = deref(t)
		f, ok := m.fields[t][name]
		switch {
		case !ok:
			loc = append(loc, name)
		case !f.flatten:
			loc = append(loc, f.name)
		}
		t = f.typ // nil when unknown
		for strings.HasPrefix(ns, "[") {
			key, rest := bracket(ns)
			ns = rest
			t = deref(t)
			switch {
			case t != nil && t.Kind() == reflect.Map:
				if k := t.Key().Kind(); k >= reflect.Int && k <= reflect.Uint64 {
					if n, err := strconv.Atoi(key); err == nil {
						loc = append(loc, n)
						t = t.Elem()
						continue
					}
				}
				loc = append(loc, key)
				t = t.Elem()
			default:
				if n, err := strconv.Atoi(key); err == nil {
					loc = append(loc, n)
				} else {
					loc = append(loc, key)
				}
				if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
					t = t.Elem()
				}
			}
		}
		ns = strings.TrimPrefix(ns, ".")
	}
	return loc
}

// bracket splits "[key]rest" into key and rest. A key may itself hold
// brackets or dots; the key ends at the "]" followed by ".", "[" or the end.
func bracket(s string) (key, rest string) {
	for i := 1; i < len(s); i++ {
		if s[i] == ']' && (i+1 == len(s) || s[i+1] == '.' || s[i+1] == '[') {
			return s[1:i], s[i+1:]
		}
	}
	return s[1:], ""
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
