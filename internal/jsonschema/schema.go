package jsonschema

import (
	"bytes"
	"encoding/json"
	"math/big"
	"reflect"
	"strconv"
)

// Schema is one JSON Schema (draft 07, the default schema format of
// AsyncAPI). The zero Schema is `{}`, which any value matches. Fields are
// written in a fixed order, so the same Schema always encodes to the same
// bytes.
//
// A Schema made by [Generate] may share sub-schemas with others: treat it as
// read-only.
type Schema struct {
	Ref         string // $ref
	Comment     string // $comment
	Title       string
	Description string

	Type            []string // one entry is written as a string
	Format          string
	ContentEncoding string
	Const           json.RawMessage
	Enum            []json.RawMessage

	Pattern   string
	MinLength *int
	MaxLength *int

	Minimum          json.Number
	ExclusiveMinimum json.Number
	Maximum          json.Number
	ExclusiveMaximum json.Number

	Items       *Schema
	MinItems    *int
	MaxItems    *int
	UniqueItems bool

	Properties           []Property
	Required             []string
	PropertyNames        *Schema
	AdditionalProperties *Schema
	MinProperties        *int
	MaxProperties        *int

	Not   *Schema
	AllOf []*Schema
	AnyOf []*Schema
	OneOf []*Schema
	If    *Schema
	Then  *Schema

	// Validate is the x-validate extension: the raw validate tag of a
	// property when some of its rules have no JSON Schema equivalent.
	Validate string

	// Extra holds more x- extensions, written last in key order.
	Extra map[string]json.RawMessage

	def *def // a struct type not yet resolved to a $ref or inlined
}

// Property is one entry of a Schema's properties, which keep Go's field
// order.
type Property struct {
	Name   string
	Schema *Schema
}

// False is the schema no value matches: `{"not":{}}`.
func False() *Schema { return &Schema{Not: &Schema{}} }

// Property returns the schema of the property called name, or nil.
func (s *Schema) Property(name string) *Schema {
	for _, p := range s.Properties {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// MarshalJSON encodes the schema with its keywords in a fixed order.
func (s *Schema) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := s.encode(&b, nil); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encode writes s. ref names the unresolved definitions; nil means every
// definition must have been resolved.
func (s *Schema) encode(b *bytes.Buffer, ref func(*def) string) error {
	if s.def != nil {
		if ref == nil {
			return &unresolvedError{s.def.key.t}
		}
		b.WriteString(`{"$ref":`)
		writeString(b, ref(s.def))
		b.WriteByte('}')
		return nil
	}
	w := objectWriter{b: b}
	b.WriteByte('{')
	w.str("$ref", s.Ref)
	w.str("$comment", s.Comment)
	w.str("title", s.Title)
	w.str("description", s.Description)
	switch len(s.Type) {
	case 0:
	case 1:
		w.str("type", s.Type[0])
	default:
		w.key("type")
		raw, _ := json.Marshal(s.Type)
		b.Write(raw)
	}
	w.str("format", s.Format)
	w.str("contentEncoding", s.ContentEncoding)
	if s.Const != nil {
		w.key("const")
		b.Write(s.Const)
	}
	if s.Enum != nil {
		w.key("enum")
		b.WriteByte('[')
		for i, v := range s.Enum {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(v)
		}
		b.WriteByte(']')
	}
	w.str("pattern", s.Pattern)
	w.int("minLength", s.MinLength)
	w.int("maxLength", s.MaxLength)
	w.num("minimum", s.Minimum)
	w.num("exclusiveMinimum", s.ExclusiveMinimum)
	w.num("maximum", s.Maximum)
	w.num("exclusiveMaximum", s.ExclusiveMaximum)
	if err := w.schema("items", s.Items, ref); err != nil {
		return err
	}
	w.int("minItems", s.MinItems)
	w.int("maxItems", s.MaxItems)
	if s.UniqueItems {
		w.key("uniqueItems")
		b.WriteString("true")
	}
	if s.Properties != nil {
		w.key("properties")
		b.WriteByte('{')
		for i, p := range s.Properties {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, p.Name)
			b.WriteByte(':')
			if err := p.Schema.encode(b, ref); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	}
	if s.Required != nil {
		w.key("required")
		raw, _ := json.Marshal(s.Required)
		b.Write(raw)
	}
	if err := w.schema("propertyNames", s.PropertyNames, ref); err != nil {
		return err
	}
	if err := w.schema("additionalProperties", s.AdditionalProperties, ref); err != nil {
		return err
	}
	w.int("minProperties", s.MinProperties)
	w.int("maxProperties", s.MaxProperties)
	if err := w.schema("not", s.Not, ref); err != nil {
		return err
	}
	for _, l := range []struct {
		key string
		all []*Schema
	}{{"allOf", s.AllOf}, {"anyOf", s.AnyOf}, {"oneOf", s.OneOf}} {
		if l.all == nil {
			continue
		}
		w.key(l.key)
		b.WriteByte('[')
		for i, sub := range l.all {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := sub.encode(b, ref); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	}
	if err := w.schema("if", s.If, ref); err != nil {
		return err
	}
	if err := w.schema("then", s.Then, ref); err != nil {
		return err
	}
	w.str("x-validate", s.Validate)
	for _, k := range sortedKeys(s.Extra) {
		w.key(k)
		b.Write(s.Extra[k])
	}
	b.WriteByte('}')
	return nil
}

type objectWriter struct {
	b    *bytes.Buffer
	used bool
}

func (w *objectWriter) key(k string) {
	if w.used {
		w.b.WriteByte(',')
	}
	w.used = true
	writeString(w.b, k)
	w.b.WriteByte(':')
}

func (w *objectWriter) str(k, v string) {
	if v != "" {
		w.key(k)
		writeString(w.b, v)
	}
}

func (w *objectWriter) int(k string, v *int) {
	if v != nil {
		w.key(k)
		w.b.WriteString(strconv.Itoa(*v))
	}
}

func (w *objectWriter) num(k string, v json.Number) {
	if v != "" {
		w.key(k)
		w.b.WriteString(string(v))
	}
}

func (w *objectWriter) schema(k string, s *Schema, ref func(*def) string) error {
	if s == nil {
		return nil
	}
	w.key(k)
	return s.encode(w.b, ref)
}

func writeString(b *bytes.Buffer, s string) {
	raw, _ := json.Marshal(s)
	b.Write(raw)
}

type unresolvedError struct{ t reflect.Type }

func (e *unresolvedError) Error() string {
	return "jsonschema: schema of " + e.t.String() + " used outside its Generate result"
}

// isEmpty reports whether s is `{}`.
func (s *Schema) isEmpty() bool {
	return s == nil || reflect.ValueOf(*s).IsZero()
}

// isFalse reports whether s is the schema [False] returns.
func (s *Schema) isFalse() bool {
	if s == nil || s.Not == nil || !s.Not.isEmpty() {
		return false
	}
	c := *s
	c.Not = nil
	return c.isEmpty()
}

func ptr[T any](v T) *T { return &v }

// and returns a schema that matches what both a and b match. It merges the
// keywords into one object when they do not overlap, and nests b in allOf
// when they do. a and b are not changed.
func and(a, b *Schema) *Schema {
	switch {
	case a == nil || a.isEmpty():
		return b
	case b == nil || b.isEmpty():
		return a
	case a.isFalse():
		return a
	case b.isFalse():
		return b
	}
	if a.def != nil {
		return and(&Schema{AllOf: []*Schema{a}}, b)
	}
	if b.def != nil {
		c := *a
		c.AllOf = append(append([]*Schema(nil), a.AllOf...), b)
		return &c
	}
	c := *a
	b = tighten(&c, b)
	cv := reflect.ValueOf(&c).Elem()
	bv := reflect.ValueOf(b).Elem()
	var conflict bool
	for i := range bv.NumField() {
		if !cv.Type().Field(i).IsExported() {
			continue
		}
		bf, cf := bv.Field(i), cv.Field(i)
		if bf.IsZero() || reflect.DeepEqual(bf.Interface(), cf.Interface()) {
			continue
		}
		if !cf.IsZero() {
			conflict = true
			break
		}
	}
	if conflict {
		c.AllOf = append(append([]*Schema(nil), a.AllOf...), b)
		return &c
	}
	for i := range bv.NumField() {
		if cv.Type().Field(i).IsExported() && !bv.Field(i).IsZero() {
			cv.Field(i).Set(bv.Field(i))
		}
	}
	return &c
}

// tighten moves into c the bounds that both c and b set, keeping the
// tighter one, and returns b without them.
func tighten(c, b *Schema) *Schema {
	b2 := *b
	lower := func(x, y json.Number) bool { return cmpNumber(x, y) < 0 }
	for _, n := range []struct {
		c, b   *json.Number
		keepLo bool // keep the larger of the two
	}{
		{&c.Minimum, &b2.Minimum, true},
		{&c.ExclusiveMinimum, &b2.ExclusiveMinimum, true},
		{&c.Maximum, &b2.Maximum, false},
		{&c.ExclusiveMaximum, &b2.ExclusiveMaximum, false},
	} {
		if *n.c == "" || *n.b == "" {
			continue
		}
		if lower(*n.c, *n.b) == n.keepLo {
			*n.c = *n.b
		}
		*n.b = ""
	}
	for _, n := range []struct {
		c, b   **int
		keepHi bool
	}{
		{&c.MinLength, &b2.MinLength, true},
		{&c.MinItems, &b2.MinItems, true},
		{&c.MinProperties, &b2.MinProperties, true},
		{&c.MaxLength, &b2.MaxLength, false},
		{&c.MaxItems, &b2.MaxItems, false},
		{&c.MaxProperties, &b2.MaxProperties, false},
	} {
		if *n.c == nil || *n.b == nil {
			continue
		}
		if (**n.c < **n.b) == n.keepHi {
			*n.c = *n.b
		}
		*n.b = nil
	}
	return &b2
}

// cmpNumber compares two JSON numbers.
func cmpNumber(x, y json.Number) int {
	var a, b big.Rat
	a.SetString(string(x))
	b.SetString(string(y))
	return a.Cmp(&b)
}

// anyOf returns a schema matching what a or b matches.
func anyOf(a, b *Schema) *Schema {
	switch {
	case a.isFalse():
		return b
	case b.isFalse():
		return a
	case a.isEmpty() || b.isEmpty():
		return &Schema{}
	}
	var alts []*Schema
	for _, s := range []*Schema{a, b} {
		if only := (Schema{AnyOf: s.AnyOf}); s.def == nil && s.AnyOf != nil && reflect.DeepEqual(*s, only) {
			alts = append(alts, s.AnyOf...)
		} else {
			alts = append(alts, s)
		}
	}
	if len(alts) > 2 {
		return &Schema{AnyOf: alts}
	}
	// {"const":x} or {"enum":[...]}: one enum.
	if ea, ok := enumOf(a); ok {
		if eb, ok := enumOf(b); ok {
			return &Schema{Enum: unionEnum(ea, eb)}
		}
	}
	return &Schema{AnyOf: []*Schema{a, b}}
}

// enumOf returns the values of a schema that only lists values.
func enumOf(s *Schema) ([]json.RawMessage, bool) {
	c := *s
	c.Const, c.Enum = nil, nil
	if !c.isEmpty() {
		return nil, false
	}
	switch {
	case s.Const != nil && s.Enum == nil:
		return []json.RawMessage{s.Const}, true
	case s.Const == nil && s.Enum != nil:
		return s.Enum, true
	}
	return nil, false
}

func unionEnum(a, b []json.RawMessage) []json.RawMessage {
	out := append([]json.RawMessage(nil), a...)
	for _, v := range b {
		dup := false
		for _, w := range out {
			if bytes.Equal(v, w) {
				dup = true
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// nullable returns a schema matching what s matches and null.
func nullable(s *Schema) *Schema {
	if s.isEmpty() {
		return s
	}
	if s.isFalse() {
		return &Schema{Type: []string{"null"}}
	}
	if s.def == nil && len(s.Type) > 0 && s.Const == nil && s.Not == nil &&
		s.AllOf == nil && s.AnyOf == nil && s.OneOf == nil && s.If == nil && s.Ref == "" {
		c := *s
		if !contains(c.Type, "null") {
			c.Type = append(append([]string(nil), s.Type...), "null")
		}
		if c.Enum != nil {
			c.Enum = unionEnum(c.Enum, []json.RawMessage{json.RawMessage("null")})
		}
		return &c
	}
	return &Schema{AnyOf: []*Schema{s, {Type: []string{"null"}}}}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
