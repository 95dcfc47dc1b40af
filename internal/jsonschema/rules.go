package jsonschema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
)

// field is the schema of a validated struct field of type t with the
// validate tag tag. When known, fails is validator's verdict on the
// field's zero value, which is what an absent property decodes to.
func (g *gen) field(t reflect.Type, tag string, quoted, known, fails bool) *Schema {
	if tag == "-" {
		return g.fieldType(t, modeShape, quoted)
	}
	chain := parseRules(tag)
	var null *bool
	if known {
		ok := !fails
		null = &ok
	}
	if quoted {
		s := quotedSchema(t)
		if null != nil && !*null {
			s = stripNull(s)
		}
		for _, r := range chain {
			if !r.omits() && r.name != "required" {
				return and(s, &Schema{Validate: tag})
			}
		}
		return s
	}
	var inexact bool
	s := g.checked(t, chain, false, &inexact, null)
	if inexact {
		s = and(s, &Schema{Validate: tag})
	}
	return s
}

// checked is the schema of a value of type t that validator checks with
// chain. ptrCtx says the value sits behind a non-nil pointer (validator
// then treats it as present whatever it holds). null, when set, overrides
// whether JSON null passes. Rules with no JSON Schema equivalent set *x.
func (g *gen) checked(t reflect.Type, chain []rule, ptrCtx bool, x *bool, null *bool) *Schema {
	switch t.Kind() {
	case reflect.Pointer:
		inner := g.checked(t.Elem(), chain, true, x, nil)
		ok := nilPasses(chain)
		if null != nil {
			ok = *null
		}
		if ok {
			return nullable(inner)
		}
		return inner
	case reflect.Interface:
		ok := nilPasses(chain)
		if null != nil {
			ok = *null
		}
		for _, r := range chain {
			if !r.omits() && r.name != "required" {
				*x = true
			}
		}
		if ok {
			return &Schema{}
		}
		return &Schema{Not: &Schema{Type: []string{"null"}}}
	}
	if len(chain) == 0 && !ptrCtx && null == nil {
		return g.typeSchema(t, modeCheck)
	}
	var base *Schema
	switch {
	case plainStruct(t):
		// walk ends with the struct's own schema.
	case hasDive(chain) && special(t) == kindPlain:
		switch t.Kind() {
		case reflect.Slice:
			base = &Schema{Type: []string{"array", "null"}}
		case reflect.Array:
			base = &Schema{Type: []string{"array"}}
		case reflect.Map:
			base = &Schema{Type: []string{"object", "null"}}
		default:
			base = g.typeSchema(t, modeCheck)
		}
	default:
		base = g.typeSchema(t, modeCheck)
	}
	cons, nilOK := g.walk(t, chain, ptrCtx, x)
	if container(t) {
		if null != nil {
			nilOK = *null
		}
		if ptrCtx || !nilOK {
			base = stripNull(base)
		}
	}
	return and(base, cons)
}

func hasDive(chain []rule) bool {
	for _, r := range chain {
		if r.name == "dive" {
			return true
		}
	}
	return false
}

// walk follows chain as validator's traverseField does, and returns what
// it asks of a value of type t (not a pointer or interface), and whether a
// nil slice or map passes.
func (g *gen) walk(t reflect.Type, chain []rule, ptrCtx bool, x *bool) (*Schema, bool) {
	acc := &Schema{}
	nilOK := true
	for i := 0; i < len(chain); i++ {
		r := chain[i]
		switch {
		case r.omits():
			empty, ok := g.skipped(r.name, t, ptrCtx)
			if !ok {
				*x = true
				continue
			}
			if empty == nil {
				continue // never empty here
			}
			rest, _ := g.walk(t, chain[i+1:], ptrCtx, x)
			return and(acc, anyOf(empty, rest)), nilOK
		case r.name == "dive":
			s, ok := g.dive(t, chain[i+1:], x)
			if !ok {
				*x = true
				return acc, nilOK
			}
			return and(acc, s), nilOK
		case r.name == "structonly" || r.name == "nostructlevel":
			if plainStruct(t) {
				return and(acc, g.placeholder(t, modeShape)), nilOK
			}
		case r.name == "|":
			alts := False()
			altNil := false
			for _, a := range r.or {
				s, ok := g.rule(t, a, ptrCtx)
				if !ok {
					alts = nil
					break
				}
				alts = anyOf(alts, s)
				altNil = altNil || onNil(a)
			}
			if alts == nil {
				*x = true
				continue
			}
			acc = and(acc, alts)
			nilOK = nilOK && altNil
		default:
			s, ok := g.rule(t, r, ptrCtx)
			if !ok {
				*x = true
				continue
			}
			acc = and(acc, s)
			nilOK = nilOK && onNil(r)
		}
	}
	if plainStruct(t) {
		acc = and(acc, g.placeholder(t, modeCheck))
	}
	return acc, nilOK
}

// skipped is the schema of the values of type t that the omit rule name
// lets through without the rest of the chain, or nil when there are none.
func (g *gen) skipped(name string, t reflect.Type, ptrCtx bool) (*Schema, bool) {
	switch name {
	case "omitempty":
		if ptrCtx {
			return nil, true
		}
		return g.zeroValue(t)
	case "omitnil":
		if ptrCtx || !container(t) {
			return nil, true
		}
		return &Schema{Type: []string{"null"}}, true
	}
	// omitzero: nil or empty slices and maps, zero values otherwise.
	if container(t) {
		var empty *Schema
		switch {
		case special(t) == kindBytes:
			empty = &Schema{MaxLength: ptr(0)}
		case t.Kind() == reflect.Slice:
			empty = &Schema{MaxItems: ptr(0)}
		default:
			empty = &Schema{MaxProperties: ptr(0)}
		}
		if ptrCtx {
			return and(&Schema{Not: &Schema{Type: []string{"null"}}}, empty), true
		}
		return anyOf(&Schema{Type: []string{"null"}}, empty), true
	}
	return g.zeroValue(t)
}

// dive is the schema of a slice, array or map whose items pass rest.
func (g *gen) dive(t reflect.Type, rest []rule, x *bool) (*Schema, bool) {
	if special(t) != kindPlain {
		return nil, false
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if len(rest) > 0 && rest[0].name == "keys" {
			return nil, false
		}
		return &Schema{Items: g.checked(t.Elem(), rest, false, x, nil)}, true
	case reflect.Map:
		names := keySchema(t.Key(), modeCheck)
		if len(rest) > 0 && rest[0].name == "keys" {
			if t.Key().Kind() == reflect.String && special(t.Key()) == kindPlain {
				keys, _ := g.walk(t.Key(), rest[0].keys, false, x)
				names = and(names, keys)
			} else if len(rest[0].keys) > 0 {
				*x = true
			}
			rest = rest[1:]
		}
		s := &Schema{AdditionalProperties: g.checked(t.Elem(), rest, false, x, nil)}
		if !names.isEmpty() {
			s.PropertyNames = names
		}
		return s, true
	}
	return nil, false
}

// onNil reports whether a nil slice or map passes r.
func onNil(r rule) bool {
	switch r.name {
	case "required":
		return false
	case "min", "gte", "gt", "max", "lte", "lt", "len", "eq", "ne":
		n, err := strconv.ParseInt(r.param, 0, 64)
		if err != nil {
			return true
		}
		return lengthPasses(r.name, 0, n)
	}
	return true
}

func lengthPasses(name string, l, n int64) bool {
	switch name {
	case "min", "gte":
		return l >= n
	case "gt":
		return l > n
	case "max", "lte":
		return l <= n
	case "lt":
		return l < n
	case "len", "eq":
		return l == n
	case "ne":
		return l != n
	}
	return true
}

func isInt(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Int64
}

func isUint(k reflect.Kind) bool {
	return k >= reflect.Uint && k <= reflect.Uintptr
}

func isNumber(k reflect.Kind) bool {
	return isInt(k) || isUint(k) || k == reflect.Float32 || k == reflect.Float64
}

// rule is the schema of one validate rule on a value of type t, or false
// when it has no JSON Schema equivalent.
func (g *gen) rule(t reflect.Type, r rule, ptrCtx bool) (*Schema, bool) {
	sp := special(t)
	k := t.Kind()
	switch r.name {
	case "required":
		switch {
		case ptrCtx || container(t):
			return &Schema{}, true // a nil slice or map fails: see onNil
		case sp == kindPlain && k == reflect.String:
			return &Schema{MinLength: ptr(1)}, true
		case sp == kindPlain && k == reflect.Bool:
			return &Schema{Const: json.RawMessage("true")}, true
		case sp == kindPlain && isNumber(k):
			return &Schema{Not: &Schema{Const: json.RawMessage("0")}}, true
		}
		z, ok := g.zeroValue(t)
		if !ok {
			return nil, false
		}
		return &Schema{Not: z}, true
	case "isdefault":
		if ptrCtx {
			return False(), true
		}
		return g.zeroValue(t)
	}
	if sp != kindPlain {
		return nil, false
	}
	switch r.name {
	case "min", "max", "len", "eq", "ne", "gt", "gte", "lt", "lte":
		switch {
		case k == reflect.String && (r.name == "eq" || r.name == "ne"):
			s := &Schema{Const: mustJSON(r.param)}
			if r.name == "ne" {
				s = &Schema{Not: s}
			}
			return s, true
		case k == reflect.String:
			return lengthRule(r, "string")
		case k == reflect.Slice:
			return lengthRule(r, "array")
		case k == reflect.Map:
			return lengthRule(r, "object")
		case k == reflect.Array:
			n, err := strconv.ParseInt(r.param, 0, 64)
			if err != nil {
				return nil, false
			}
			if lengthPasses(r.name, int64(t.Len()), n) {
				return &Schema{}, true
			}
			return False(), true
		case isNumber(k):
			return numberRule(t, r)
		case k == reflect.Bool && (r.name == "eq" || r.name == "ne"):
			b, err := strconv.ParseBool(r.param)
			if err != nil {
				return nil, false
			}
			s := &Schema{Const: json.RawMessage(strconv.FormatBool(b))}
			if r.name == "ne" {
				s = &Schema{Not: s}
			}
			return s, true
		}
		return nil, false
	case "oneof":
		return oneOf(k, r.param)
	case "unique":
		if r.param == "" && (k == reflect.Slice || k == reflect.Array) && scalar(t.Elem()) {
			return &Schema{UniqueItems: true}, true
		}
		return nil, false
	}
	if k != reflect.String {
		return nil, false
	}
	return stringRule(t, r)
}

// scalar reports whether items of type t compare in Go as their JSON
// values compare, for unique.
func scalar(t reflect.Type) bool {
	if special(t) != kindPlain {
		return false
	}
	k := t.Kind()
	return k == reflect.String || k == reflect.Bool || isNumber(k)
}

func mustJSON(v any) json.RawMessage {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

// lengthRule bounds the length of a string (in characters: validator and
// JSON Schema both count code points), an array or an object.
func lengthRule(r rule, of string) (*Schema, bool) {
	n, err := strconv.ParseInt(r.param, 0, 64)
	if err != nil {
		return nil, false
	}
	if r.name == "ne" {
		s, _ := lengthRule(rule{name: "len", param: r.param}, of)
		if s.isFalse() {
			return &Schema{}, true
		}
		// The type keeps null (a nil slice or map) out of the not.
		return &Schema{Not: and(&Schema{Type: []string{of}}, s)}, true
	}
	var lo, hi *int
	switch r.name {
	case "min", "gte":
		lo = ptr(int(n))
	case "gt":
		lo = ptr(int(n) + 1)
	case "max", "lte":
		hi = ptr(int(n))
	case "lt":
		hi = ptr(int(n) - 1)
	case "len", "eq":
		lo, hi = ptr(int(n)), ptr(int(n))
	}
	if hi != nil && *hi < 0 {
		return False(), true
	}
	if lo != nil && *lo <= 0 {
		lo = nil
	}
	s := &Schema{}
	switch of {
	case "string":
		s.MinLength, s.MaxLength = lo, hi
	case "array":
		s.MinItems, s.MaxItems = lo, hi
	default:
		s.MinProperties, s.MaxProperties = lo, hi
	}
	return s, true
}

// numberRule bounds a number.
func numberRule(t reflect.Type, r rule) (*Schema, bool) {
	v, ok := numberParam(t, r.param)
	if !ok {
		return nil, false
	}
	switch r.name {
	case "min", "gte":
		return &Schema{Minimum: v}, true
	case "max", "lte":
		return &Schema{Maximum: v}, true
	case "gt":
		return &Schema{ExclusiveMinimum: v}, true
	case "lt":
		return &Schema{ExclusiveMaximum: v}, true
	case "ne":
		return &Schema{Not: &Schema{Const: json.RawMessage(v)}}, true
	}
	return &Schema{Const: json.RawMessage(v)}, true // len, eq
}

var oneofParam = regexp.MustCompile(`'[^']*'|\S+`)

// oneOf lists the values oneof allows. validator compares strings, and
// integers written in decimal: a value that no integer is written as
// ("01", "+1") can never match and is left out.
func oneOf(k reflect.Kind, param string) (*Schema, bool) {
	vals := oneofParam.FindAllString(param, -1)
	s := &Schema{Enum: []json.RawMessage{}}
	for _, v := range vals {
		v = removeQuotes(v)
		switch {
		case k == reflect.String:
			s.Enum = append(s.Enum, mustJSON(v))
		case isInt(k):
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(n, 10) == v {
				s.Enum = append(s.Enum, json.RawMessage(v))
			}
		case isUint(k):
			if n, err := strconv.ParseUint(v, 10, 64); err == nil && strconv.FormatUint(n, 10) == v {
				s.Enum = append(s.Enum, json.RawMessage(v))
			}
		default:
			return nil, false
		}
	}
	s.Enum = unionEnum(nil, s.Enum)
	if len(s.Enum) == 0 {
		return False(), true
	}
	if len(s.Enum) == 1 {
		return &Schema{Const: s.Enum[0]}, true
	}
	return s, true
}

func removeQuotes(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\'' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// Patterns of the validator rules that are one regular expression, taken
// from validator's own (they use only syntax that ECMA-262 shares).
var stringPatterns = map[string]string{
	"alpha":         `^[a-zA-Z]+$`,
	"alphanum":      `^[a-zA-Z0-9]+$`,
	"alphaspace":    `^[a-zA-Z ]+$`,
	"alphanumspace": `^[a-zA-Z0-9 ]+$`,
	"numeric":       `^[-+]?[0-9]+(?:\.[0-9]+)?$`,
	"number":        `^[0-9]+$`,
	"hexadecimal":   `^(0[xX])?[0-9a-fA-F]+$`,
	"hexcolor":      `^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$`,
	"e164":          `^\+?[1-9]\d{7,14}$`,
}

var uuidPatterns = map[string]string{
	"uuid":          `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`,
	"uuid3":         `^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$`,
	"uuid4":         `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
	"uuid5":         `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`,
	"uuid_rfc4122":  `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`,
	"uuid3_rfc4122": `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-3[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`,
	"uuid4_rfc4122": `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`,
	"uuid5_rfc4122": `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-5[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$`,
}

var stringerType = reflect.TypeFor[fmt.Stringer]()

// stringRule maps a rule on a string.
func stringRule(t reflect.Type, r rule) (*Schema, bool) {
	if p, ok := stringPatterns[r.name]; ok && r.param == "" {
		return &Schema{Pattern: p}, true
	}
	if p, ok := uuidPatterns[r.name]; ok && r.param == "" {
		if implements(t, stringerType) {
			return nil, false // validator checks String()
		}
		return &Schema{Format: "uuid", Pattern: p}, true
	}
	switch r.name {
	case "email":
		return &Schema{Format: "email"}, true
	case "url":
		// validator's url also needs a host, something after the scheme
		// other than a path (mailto:a@b.co), or a fragment.
		// A file: URL needs a path other than "/".
		return &Schema{Format: "uri", Pattern: `^([fF][iI][lL][eE]:(//[^/?#]*/[^?#]+|/[^/?#][^?#]*)|[a-zA-Z][a-zA-Z0-9+.-]*:(//([^/?#]*@)?[^/?#@]|[^/?#]|[^#]*#.))`}, true
	case "http_url":
		return &Schema{Format: "uri", Pattern: `^[hH][tT][tT][pP][sS]?://[^/?#]`}, true
	case "https_url":
		return &Schema{Format: "uri", Pattern: `^[hH][tT][tT][pP][sS]://[^/?#]`}, true
	case "uri":
		return &Schema{Format: "uri-reference", Pattern: `^(/|[a-zA-Z][a-zA-Z0-9+.-]*:)`}, true
	case "startswith":
		return &Schema{Pattern: "^" + regexp.QuoteMeta(r.param)}, true
	case "endswith":
		return &Schema{Pattern: regexp.QuoteMeta(r.param) + "$"}, true
	case "contains":
		return &Schema{Pattern: regexp.QuoteMeta(r.param)}, true
	case "excludes":
		return &Schema{Not: &Schema{Pattern: regexp.QuoteMeta(r.param)}}, true
	}
	return nil, false
}
