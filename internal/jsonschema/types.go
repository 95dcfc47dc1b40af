package jsonschema

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

var (
	timeType            = reflect.TypeFor[time.Time]()
	durationType        = reflect.TypeFor[time.Duration]()
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	numberType          = reflect.TypeFor[json.Number]()
	jsonMarshalerType   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// kind is how a Go type is written in JSON.
type kind uint8

const (
	kindPlain  kind = iota // bool, number, string, struct, slice, map, array, pointer, interface
	kindTime               // time.Time: an RFC 3339 string
	kindAny                // json.RawMessage: any JSON value
	kindNumber             // json.Number: a number
	kindText               // encoding.TextMarshaler or TextUnmarshaler: a string
	kindCustom             // json.Marshaler or Unmarshaler: unknown
	kindBytes              // []byte: a base64 string
)

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(iface))
}

// special returns how t is written when encoding/json does not write it by
// its kind.
func special(t reflect.Type) kind {
	switch t {
	case timeType:
		return kindTime
	case rawMessageType:
		return kindAny
	case numberType:
		return kindNumber
	}
	if t.Kind() == reflect.Interface || t.Kind() == reflect.Pointer {
		return kindPlain
	}
	if implements(t, textMarshalerType) || implements(t, textUnmarshalerType) {
		return kindText
	}
	if implements(t, jsonMarshalerType) || implements(t, jsonUnmarshalerType) {
		return kindCustom
	}
	if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && special(t.Elem()) == kindPlain {
		return kindBytes
	}
	return kindPlain
}

func (g *gen) isSpecial(t reflect.Type) bool { return special(t) != kindPlain }

// plainStruct reports whether t is a struct written field by field, which
// validator walks into.
func plainStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && special(t) == kindPlain
}

// container reports whether JSON null stands for t's nil value.
func container(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Map:
		return special(t) == kindPlain || special(t) == kindBytes
	}
	return false
}

// typeSchema is the schema of t without validate tags: in modeCheck, what
// validator checks of an untagged field (the fields of structs, not the
// items of slices or maps).
func (g *gen) typeSchema(t reflect.Type, m mode) *Schema {
	switch special(t) {
	case kindTime:
		return &Schema{Type: []string{"string"}, Format: "date-time"}
	case kindAny:
		return &Schema{}
	case kindNumber:
		return &Schema{Type: []string{"number"}}
	case kindText:
		return &Schema{Type: []string{"string"}}
	case kindCustom:
		return &Schema{Comment: t.String() + " encodes itself (json.Marshaler): any JSON value"}
	case kindBytes:
		return &Schema{Type: []string{"string", "null"}, ContentEncoding: "base64"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(stripNull(g.typeSchema(t.Elem(), m)))
	case reflect.Interface:
		return &Schema{}
	case reflect.Bool:
		return &Schema{Type: []string{"boolean"}}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return intSchema(t)
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: []string{"number"}}
	case reflect.String:
		return &Schema{Type: []string{"string"}}
	case reflect.Struct:
		if t.Name() == "" {
			return g.structBody(t, m)
		}
		return g.placeholder(t, m)
	case reflect.Slice, reflect.Map, reflect.Array:
		if t.Name() != "" {
			return g.named(t, m)
		}
		return g.containerSchema(t, m)
	}
	return &Schema{Not: &Schema{}, Comment: t.String() + " has no JSON encoding"}
}

// intSchema is an integer with the bounds of its Go type when they are
// narrower than 64 bits; unsigned integers are at least 0.
func intSchema(t reflect.Type) *Schema {
	s := &Schema{Type: []string{"integer"}}
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32:
		bits := t.Bits()
		s.Minimum = json.Number(strconv.FormatInt(-1<<(bits-1), 10))
		s.Maximum = json.Number(strconv.FormatInt(1<<(bits-1)-1, 10))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		s.Minimum = "0"
		s.Maximum = json.Number(strconv.FormatUint(1<<t.Bits()-1, 10))
	case reflect.Uint, reflect.Uint64, reflect.Uintptr:
		s.Minimum = "0"
	}
	return s
}

// itemMode is the mode of the items of a slice, map or array: validator
// does not walk into them without dive.
func itemMode(m mode) mode {
	if m == modeCheck {
		return modeShape
	}
	return m
}

// containerSchema is the schema of a slice, map or array type.
func (g *gen) containerSchema(t reflect.Type, m mode) *Schema {
	items := g.typeSchema(t.Elem(), itemMode(m))
	switch t.Kind() {
	case reflect.Array:
		return &Schema{Type: []string{"array"}, Items: items}
	case reflect.Slice:
		return &Schema{Type: []string{"array", "null"}, Items: items}
	}
	s := &Schema{Type: []string{"object", "null"}, AdditionalProperties: items}
	s.PropertyNames = keySchema(t.Key(), m)
	return s
}

// keySchema is the schema of the keys of a map with keys of type k, or
// nil when any string will do.
func keySchema(k reflect.Type, m mode) *Schema {
	if k.Kind() == reflect.String || implements(k, textUnmarshalerType) || implements(k, textMarshalerType) {
		return nil
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if m == modeOut {
			return &Schema{Pattern: `^-?[0-9]+$`}
		}
		return &Schema{Pattern: `^[-+]?[0-9]+$`}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return &Schema{Pattern: `^[0-9]+$`}
	}
	return &Schema{Not: &Schema{}, Comment: "encoding/json does not support " + k.String() + " map keys"}
}

// quotedSchema is the schema of a field with the ",string" option: its
// JSON value inside a string.
func quotedSchema(t reflect.Type) *Schema {
	isPointer := false
	for t.Kind() == reflect.Pointer {
		t, isPointer = t.Elem(), true
	}
	s := &Schema{Type: []string{"string"}}
	switch t.Kind() {
	case reflect.Bool:
		s.Enum = []json.RawMessage{json.RawMessage(`"true"`), json.RawMessage(`"false"`)}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s.Pattern = `^-?(0|[1-9][0-9]*)$`
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s.Pattern = `^(0|[1-9][0-9]*)$`
	case reflect.Float32, reflect.Float64:
		s.Pattern = `^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
	case reflect.String:
		s.Comment = "a JSON string inside a string"
		s.Pattern = `^".*"$`
	}
	if isPointer {
		return nullable(s)
	}
	return s
}

// stripNull removes null from the types of s: for a value behind a
// pointer, where JSON null is the nil pointer.
func stripNull(s *Schema) *Schema {
	if s.def != nil && s.def.key.t.Kind() != reflect.Struct {
		return and(s, &Schema{Not: &Schema{Type: []string{"null"}}})
	}
	if len(s.Type) < 2 || !contains(s.Type, "null") {
		return s
	}
	c := *s
	c.Type = nil
	for _, t := range s.Type {
		if t != "null" {
			c.Type = append(c.Type, t)
		}
	}
	return &c
}

// structBody is the schema of the fields of a struct type.
func (g *gen) structBody(t reflect.Type, m mode) *Schema {
	s := &Schema{Type: []string{"object"}, Properties: []Property{}}
	// A group holds the properties reached through one embedded pointer:
	// encoding/json allocates it when one of them is present, and then
	// validator checks all of them; when none is, the pointer stays nil and
	// nothing of it is checked (or, when encoding, written).
	type group struct {
		keys     []string
		required []string
	}
	groups := map[string]*group{}
	var groupOrder []string
	var rootZero zeroFailures
	if m == modeCheck {
		rootZero = g.zeroFails(t)
	}
	var notes []string
	covered := map[string]bool{}
	for _, f := range jsonFields(t) {
		sfs := f.path(t)
		leaf := sfs[len(sfs)-1]
		checked := m == modeCheck
		ptrAt := -1
		var groupKeys []string
		for i, a := range sfs[:len(sfs)-1] {
			if a.Type.Kind() == reflect.Pointer {
				ptrAt = i
				groupKeys = append(groupKeys, pathKey(f.index[:i+1]))
			}
			if checked {
				switch tag := a.Tag.Get("validate"); {
				case tag == "":
				case tag == "-" || strings.Contains(tag, "structonly") || strings.Contains(tag, "nostructlevel"):
					checked = false
				default:
					note := a.Name + ": " + tag
					if !contains(notes, note) {
						notes = append(notes, note)
					}
				}
			}
		}
		var ps *Schema
		required := false
		switch {
		case checked:
			zero := rootZero
			goPath := goNames(sfs[ptrAt+1:])
			if ptrAt >= 0 {
				zero = g.zeroFails(deref(sfs[ptrAt].Type))
			} else {
				covered[goPath] = true
			}
			fails, known := zero.fails(goPath)
			ps = g.field(leaf.Type, leaf.Tag.Get("validate"), f.quoted, known, fails)
			required = fails
		case m == modeOut:
			ps = g.fieldType(leaf.Type, modeOut, f.quoted)
			required = !f.omitZero && !(f.omitEmpty && omittable(leaf.Type))
		default:
			ps = g.fieldType(leaf.Type, modeShape, f.quoted)
		}
		s.Properties = append(s.Properties, Property{Name: f.name, Schema: ps})
		if ptrAt < 0 {
			if required {
				s.Required = append(s.Required, f.name)
			}
			continue
		}
		for i, gk := range groupKeys {
			gr := groups[gk]
			if gr == nil {
				gr = &group{}
				groups[gk] = gr
				groupOrder = append(groupOrder, gk)
			}
			gr.keys = append(gr.keys, f.name)
			if required && i == len(groupKeys)-1 {
				gr.required = append(gr.required, f.name)
			}
		}
	}
	for _, gk := range groupOrder {
		gr := groups[gk]
		if len(gr.required) == 0 {
			continue
		}
		cond := &Schema{}
		for _, k := range gr.keys {
			cond.AnyOf = append(cond.AnyOf, &Schema{Required: []string{k}})
		}
		if len(cond.AnyOf) == 1 {
			cond = cond.AnyOf[0]
		}
		s.AllOf = append(s.AllOf, &Schema{If: cond, Then: &Schema{Required: gr.required}})
	}
	if len(notes) > 0 {
		s.Validate = strings.Join(notes, "; ")
	}
	if m == modeCheck {
		// A field JSON cannot set is always zero: when that fails, so
		// does every message.
		for _, p := range rootZero.paths {
			if !coveredPath(covered, p) {
				return &Schema{Not: &Schema{}, Comment: "validation of " + t.String() + " always fails at " + p + ", which JSON cannot set"}
			}
		}
	}
	if len(s.Properties) == 0 {
		s.Properties = nil
	}
	return s
}

func pathKey(index []int) string {
	var b strings.Builder
	for _, i := range index {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte('.')
	}
	return b.String()
}

func goNames(sfs []reflect.StructField) string {
	names := make([]string, len(sfs))
	for i, sf := range sfs {
		names[i] = sf.Name
	}
	return strings.Join(names, ".")
}

func coveredPath(covered map[string]bool, p string) bool {
	for c := range covered {
		if under(p, c) {
			return true
		}
	}
	return false
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// omittable reports whether omitempty can leave out a field of type t.
func omittable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Array:
		return t.Len() == 0
	}
	return true
}

// fieldType is the schema of an untagged field.
func (g *gen) fieldType(t reflect.Type, m mode, quoted bool) *Schema {
	if quoted {
		return quotedSchema(t)
	}
	return g.typeSchema(t, m)
}

// zeroValue is the schema of the JSON values that decode to the zero value
// of t (not a pointer, interface, slice or map). ok is false when it
// cannot be known.
func (g *gen) zeroValue(t reflect.Type) (s *Schema, ok bool) {
	switch special(t) {
	case kindTime, kindText, kindCustom:
		raw, ok := marshalZero(t)
		if !ok {
			return nil, false
		}
		return &Schema{Const: raw}, true
	case kindAny, kindNumber:
		return nil, false
	case kindBytes:
		return &Schema{Type: []string{"null"}}, true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return &Schema{Type: []string{"null"}}, true
	case reflect.Bool:
		return &Schema{Const: json.RawMessage("false")}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return &Schema{Const: json.RawMessage("0")}, true
	case reflect.String:
		return &Schema{Const: json.RawMessage(`""`)}, true
	case reflect.Array:
		items, ok := g.zeroValue(t.Elem())
		if !ok {
			return nil, false
		}
		return &Schema{Type: []string{"array"}, Items: items}, true
	case reflect.Struct:
		s := &Schema{Type: []string{"object"}, Properties: []Property{}}
		for _, f := range jsonFields(t) {
			sfs := f.path(t)
			var ps *Schema
			for _, a := range sfs[:len(sfs)-1] {
				if a.Type.Kind() == reflect.Pointer {
					ps = False() // present, it allocates the embedded struct
				}
			}
			if ps == nil {
				leaf := sfs[len(sfs)-1].Type
				if f.quoted {
					raw, _ := json.Marshal(reflect.Zero(deref(leaf)).Interface())
					q, _ := json.Marshal(string(raw))
					ps = &Schema{Const: q}
					if leaf.Kind() == reflect.Pointer {
						ps = &Schema{Type: []string{"null"}}
					}
				} else if ps, ok = g.zeroValue(leaf); !ok {
					return nil, false
				}
			}
			s.Properties = append(s.Properties, Property{Name: f.name, Schema: ps})
		}
		if len(s.Properties) == 0 {
			s.Properties = nil
		}
		return s, true
	}
	return nil, false
}

// marshalZero encodes the zero value of t, for the types that encode
// themselves.
func marshalZero(t reflect.Type) (raw json.RawMessage, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	raw, err := json.Marshal(reflect.New(t).Interface())
	return raw, err == nil
}

// numberParam parses a validate parameter for a number of type t as
// validator does, and writes it as JSON.
func numberParam(t reflect.Type, p string) (json.Number, bool) {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if t == durationType {
			if d, err := time.ParseDuration(p); err == nil {
				return json.Number(strconv.FormatInt(int64(d), 10)), true
			}
		}
		n, err := strconv.ParseInt(p, 0, 64)
		return json.Number(strconv.FormatInt(n, 10)), err == nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(p, 0, 64)
		return json.Number(strconv.FormatUint(n, 10)), err == nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(p, t.Bits())
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", false
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, t.Bits())), true
	}
	return "", false
}
