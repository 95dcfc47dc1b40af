package tsgen

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// A TypeScript type.
type (
	tsType interface{ isType() }

	// tsName is a primitive (string, number, boolean, null, undefined,
	// unknown, never) or a named type.
	tsName string
	// tsLit is a literal: a string in JSON quotes, a number, true or false.
	tsLit   string
	tsArray struct{ elem tsType }
	tsUnion []tsType
	tsInter []tsType

	tsObject struct {
		props []tsProp
		index tsType // the type of other properties; nil: none
	}
	tsProp struct {
		name     string
		optional bool
		t        tsType
		doc      string
	}
)

func (tsName) isType()    {}
func (tsLit) isType()     {}
func (tsArray) isType()   {}
func (tsUnion) isType()   {}
func (tsInter) isType()   {}
func (*tsObject) isType() {}

const (
	tsUnknown   tsName = "unknown"
	tsNever     tsName = "never"
	tsNull      tsName = "null"
	tsUndefined tsName = "undefined"
)

// converter turns JSON Schemas into TypeScript types.
type converter struct {
	root  *object
	names map[string]string // a schema's $ref → its type's name
	depth int               // of references followed inline

	// A document's schemas are converted in steps (a schema, a
	// reference followed) proportional to its size; references followed
	// inline could multiply them, or nest types deeper than any Go type.
	steps, maxSteps int
	nest            int   // of the schema being converted
	err             error // the first limit passed; then every type is unknown
}

// maxTypeNesting bounds how deep a type nests: rendering one costs the
// square of its depth.
const maxTypeNesting = 64

// convert returns the type of the values schema s matches (draft 07, as
// internal/jsonschema writes it). Keywords that only constrain values
// (lengths, bounds, patterns, not) leave the type as it is.
func (c *converter) convert(s any) tsType {
	if c.err != nil {
		return tsUnknown
	}
	if c.steps++; c.steps > c.maxSteps {
		c.err = fmt.Errorf("the schemas expand to more than %d types: references followed inline multiply them", c.maxSteps)
		return tsUnknown
	}
	if c.nest >= maxTypeNesting {
		c.err = fmt.Errorf("a type is nested deeper than %d", maxTypeNesting)
		return tsUnknown
	}
	c.nest++
	defer func() { c.nest-- }()
	switch s := s.(type) {
	case bool:
		if s {
			return tsUnknown
		}
		return tsNever
	case *object:
		if ref, ok := s.get("$ref").(string); ok {
			return c.ref(ref)
		}
		if not, ok := s.get("not").(*object); ok && len(not.keys) == 0 {
			return tsNever // {"not":{}}: no value
		}
		t := c.alternatives(s)
		for _, sub := range s.list("allOf") {
			t = intersect(t, c.convert(sub))
		}
		return t
	}
	return tsUnknown
}

func (c *converter) ref(ref string) tsType {
	if name, ok := c.names[ref]; ok {
		return tsName(name)
	}
	if c.depth > 8 {
		return tsUnknown
	}
	v, err := resolve(c.root, ref)
	if err != nil {
		return tsUnknown
	}
	c.depth++
	defer func() { c.depth-- }()
	return c.convert(v)
}

// alternatives is the type of s without its allOf: the union of its anyOf
// (or oneOf) branches, each read together with the rest of s.
func (c *converter) alternatives(s *object) tsType {
	for _, key := range []string{"anyOf", "oneOf"} {
		alts := s.list(key)
		if alts == nil {
			continue
		}
		rest := without(s, key, "allOf")
		var list []tsType
		for _, alt := range alts {
			list = append(list, c.convert(merge(rest, alt)))
		}
		return union(list...)
	}
	return c.base(s)
}

// without returns a copy of o without keys.
func without(o *object, keys ...string) *object {
	out := &object{m: map[string]any{}}
	for _, k := range o.keys {
		if !slices.Contains(keys, k) {
			out.keys = append(out.keys, k)
			out.m[k] = o.m[k]
		}
	}
	return out
}

// merge returns the schema of what both outer and alt match, as far as
// their types go: alt's keywords added to outer's, the types intersected.
func merge(outer *object, alt any) any {
	a, ok := alt.(*object)
	if !ok || a.has("$ref") {
		return alt
	}
	m := without(outer)
	set := func(k string, v any) {
		if !m.has(k) {
			m.keys = append(m.keys, k)
		}
		m.m[k] = v
	}
	for _, k := range a.keys {
		v := a.m[k]
		switch k {
		case "type":
			if m.has("type") {
				v = intersectTypes(types(m), types(a))
			}
		case "properties":
			if p := m.obj("properties"); p != nil {
				if ap, ok := v.(*object); ok {
					merged := without(p)
					for _, pk := range ap.keys {
						if !merged.has(pk) {
							merged.keys = append(merged.keys, pk)
						}
						merged.m[pk] = ap.m[pk]
					}
					v = merged
				}
			}
		case "required":
			v = append(slices.Clone(m.list("required")), a.list("required")...)
		}
		set(k, v)
	}
	return m
}

// types returns a schema's type keyword as a list.
func types(o *object) []string {
	switch t := o.get("type").(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, v := range t {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// intersectTypes returns the types both lists allow; integer is a number.
func intersectTypes(a, b []string) []any {
	out := []any{}
	for _, t := range b {
		switch {
		case slices.Contains(a, t):
			out = append(out, t)
		case t == "integer" && slices.Contains(a, "number"):
			out = append(out, t)
		case t == "number" && slices.Contains(a, "integer"):
			out = append(out, "integer")
		}
	}
	return out
}

// base is the type of a schema's own keywords: const, enum, type,
// properties, items.
func (c *converter) base(s *object) tsType {
	if s.has("const") {
		return literal(s.get("const"))
	}
	if enum, ok := s.get("enum").([]any); ok {
		var list []tsType
		for _, v := range enum {
			list = append(list, literal(v))
		}
		return union(list...)
	}
	ts := types(s)
	if ts == nil {
		switch {
		case s.has("properties") || s.has("additionalProperties"):
			ts = []string{"object"}
		case s.has("items"):
			ts = []string{"array"}
		default:
			if s.has("type") {
				return tsNever // an empty list of types
			}
			return tsUnknown
		}
	}
	var list []tsType
	for _, t := range ts {
		switch t {
		case "string":
			list = append(list, tsName("string"))
		case "number", "integer":
			list = append(list, tsName("number"))
		case "boolean":
			list = append(list, tsName("boolean"))
		case "null":
			list = append(list, tsNull)
		case "array":
			elem := tsType(tsUnknown)
			if s.has("items") {
				elem = c.convert(s.get("items"))
			}
			list = append(list, tsArray{elem})
		case "object":
			list = append(list, c.object(s))
		}
	}
	return union(list...)
}

// object is the type of an object schema's properties.
func (c *converter) object(s *object) tsType {
	o := &tsObject{}
	props := s.obj("properties")
	if props != nil {
		for _, name := range props.keys {
			p := props.get(name)
			o.props = append(o.props, tsProp{name: name, optional: !required(s, name), t: c.convert(p), doc: schemaDoc(p)})
		}
	}
	switch ap := s.get("additionalProperties").(type) {
	case nil:
		if props == nil {
			o.index = tsUnknown
		}
	case bool:
		if ap {
			o.index = tsUnknown
		}
	default:
		o.index = c.convert(ap)
	}
	if o.index != nil && o.index != tsType(tsUnknown) && len(o.props) > 0 {
		// An index signature covers the named properties too.
		list := []tsType{o.index}
		for _, p := range o.props {
			list = append(list, p.t)
			if p.optional {
				list = append(list, tsUndefined)
			}
		}
		o.index = union(list...)
	}
	return o
}

// literal is the type of one JSON value; objects and lists are unknown.
func literal(v any) tsType {
	switch v := v.(type) {
	case nil:
		return tsNull
	case bool:
		if v {
			return tsLit("true")
		}
		return tsLit("false")
	case json.Number:
		return tsLit(v.String())
	case string:
		return tsLit(quote(v))
	}
	return tsUnknown
}

// union returns the union of list, simplified: nested unions flattened,
// never dropped, unknown absorbing the rest, literals dropped when their
// primitive is there, true and false as boolean, duplicates once.
func union(list ...tsType) tsType {
	var flat []tsType
	for _, t := range list {
		if u, ok := t.(tsUnion); ok {
			flat = append(flat, u...)
		} else {
			flat = append(flat, t)
		}
	}
	has := map[string]bool{}
	for _, t := range flat {
		if t == tsType(tsUnknown) {
			return tsUnknown
		}
		has[render(t, "")] = true
	}
	if has["true"] && has["false"] && !has["boolean"] {
		flat = append(flat, tsName("boolean"))
		has["boolean"] = true
	}
	var out []tsType
	seen := map[string]bool{}
	for _, t := range flat {
		if t == tsType(tsNever) {
			continue
		}
		if l, ok := t.(tsLit); ok {
			switch {
			case l[0] == '"' && has["string"],
				(l == "true" || l == "false") && has["boolean"],
				l[0] != '"' && l != "true" && l != "false" && has["number"]:
				continue
			}
		}
		p := render(t, "")
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, t)
	}
	// null and undefined last, as people write them.
	slices.SortStableFunc(out, func(a, b tsType) int {
		return nullish(a) - nullish(b)
	})
	switch len(out) {
	case 0:
		return tsNever
	case 1:
		return out[0]
	}
	return tsUnion(out)
}

func nullish(t tsType) int {
	if t == tsType(tsNull) || t == tsType(tsUndefined) {
		return 1
	}
	return 0
}

// intersect returns the type of what is both a and b.
func intersect(a, b tsType) tsType {
	switch {
	case a == tsType(tsUnknown):
		return b
	case b == tsType(tsUnknown):
		return a
	case a == tsType(tsNever) || b == tsType(tsNever):
		return tsNever
	case render(a, "") == render(b, ""):
		return a
	}
	var list tsInter
	for _, t := range []tsType{a, b} {
		if i, ok := t.(tsInter); ok {
			list = append(list, i...)
		} else {
			list = append(list, t)
		}
	}
	return list
}

// render writes t; indent is the indentation of the line t starts on.
func render(t tsType, indent string) string {
	switch t := t.(type) {
	case tsName:
		return string(t)
	case tsLit:
		return string(t)
	case tsArray:
		e := render(t.elem, indent)
		switch t.elem.(type) {
		case tsUnion, tsInter:
			e = "(" + e + ")"
		}
		return e + "[]"
	case tsUnion, tsInter:
		var list []tsType
		sep := " | "
		if u, ok := t.(tsUnion); ok {
			list = u
		} else {
			list, sep = t.(tsInter), " & "
		}
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = render(e, indent)
			if _, ok := e.(tsUnion); ok && sep == " & " {
				parts[i] = "(" + parts[i] + ")"
			}
		}
		return strings.Join(parts, sep)
	case *tsObject:
		if len(t.props) == 0 && t.index == nil {
			return "{}"
		}
		var b strings.Builder
		in := indent + "  "
		b.WriteString("{\n")
		for _, p := range t.props {
			writeDoc(&b, in, p.doc)
			b.WriteString(in + propertyName(p.name))
			if p.optional {
				b.WriteString("?")
			}
			b.WriteString(": " + render(p.t, in) + ";\n")
		}
		if t.index != nil {
			b.WriteString(in + "[key: string]: " + render(t.index, in) + ";\n")
		}
		b.WriteString(indent + "}")
		return b.String()
	}
	return string(tsUnknown)
}

// schemaDoc is what a comment says of a schema: its description and its
// constraints.
func schemaDoc(s any) string {
	o, ok := s.(*object)
	if !ok || o.has("$ref") {
		return ""
	}
	var lines []string
	if d := o.str("description"); d != "" {
		lines = append(lines, d)
	}
	if c := constraints(o); c != "" {
		lines = append(lines, c)
	}
	return strings.Join(lines, "\n")
}

// constraints says in a line what a schema asks of a value beyond its
// type: `minLength 1, maxLength 500`, `"" or minLength 3, maxLength 10`.
func constraints(o *object) string {
	var parts []string
	for _, k := range []string{"format", "pattern", "minLength", "maxLength", "minimum", "exclusiveMinimum",
		"maximum", "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties"} {
		switch v := o.get(k).(type) {
		case nil:
		case string:
			parts = append(parts, k+" "+quoteIf(k == "pattern", v))
		case bool:
			if v {
				parts = append(parts, k)
			}
		default:
			parts = append(parts, k+" "+jsonText(v))
		}
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		alts := o.list(key)
		if alts == nil {
			continue
		}
		var said []string
		for _, alt := range alts {
			a, ok := alt.(*object)
			switch {
			case !ok || a.has("$ref"):
				said = nil
			case a.has("const"):
				said = append(said, jsonText(a.get("const")))
			case slices.Equal(types(a), []string{"null"}):
				said = append(said, "null")
			default:
				if c := constraints(a); c != "" {
					said = append(said, c)
				} else {
					said = nil
				}
			}
			if said == nil {
				break
			}
		}
		if len(said) > 1 {
			for i, a := range said {
				if strings.Contains(a, ", ") {
					said[i] = "(" + a + ")"
				}
			}
			parts = append(parts, strings.Join(said, " or "))
		}
	}
	if v := o.str("x-validate"); v != "" {
		parts = append(parts, "validate "+quote(v))
	}
	return strings.Join(parts, ", ")
}

func quoteIf(q bool, s string) string {
	if q {
		return quote(s)
	}
	return s
}

// jsonText writes a parsed JSON value back as JSON.
func jsonText(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case json.Number:
		return v.String()
	case string:
		return quote(v)
	case bool:
		if v {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = jsonText(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *object:
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			parts[i] = quote(k) + ":" + jsonText(v.m[k])
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return "null"
}
