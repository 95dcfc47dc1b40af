// The wording of validation errors: validator's tags and encoding/json's
// type errors as Pydantic v2's "type" and "msg".

package ws

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// describe words a validator failure as Pydantic v2 would.
func (m *model) describe(fe validator.FieldError) (typ, msg string) {
	tag, param := fe.Tag(), fe.Param()
	if te, ok := m.tagErrors[tag]; ok {
		return te.typ, strings.ReplaceAll(te.msg, "{param}", param)
	}
	if tag == "required" || strings.HasPrefix(tag, "required_") {
		return "missing", "Field required"
	}
	kind := fe.Kind()
	switch tag {
	case "min", "max", "len", "gt", "gte", "lt", "lte":
		if lengthKind(kind) {
			return describeLength(tag, param, kind, fe.Value())
		}
		if numberKind(kind) {
			return describeNumber(tag, param)
		}
	case "oneof":
		return "literal_error", "Input should be " + literal(param, kind == reflect.String)
	case "email":
		return "value_error", "value is not a valid email address"
	case "url", "http_url", "https_url", "uri", "url_encoded":
		return "url_parsing", "Input should be a valid URL"
	case "uuid", "uuid3", "uuid4", "uuid5", "uuid_rfc4122", "uuid3_rfc4122", "uuid4_rfc4122", "uuid5_rfc4122":
		return "uuid_parsing", "Input should be a valid UUID"
	case "eq":
		return "literal_error", "Input should be " + literal(param, kind == reflect.String)
	}
	if param != "" {
		return tag, fmt.Sprintf("Input should satisfy '%s=%s'", tag, param)
	}
	return tag, fmt.Sprintf("Input should satisfy '%s'", tag)
}

func lengthKind(k reflect.Kind) bool {
	return k == reflect.String || k == reflect.Slice || k == reflect.Array || k == reflect.Map
}

func numberKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Float64
}

// describeLength words a length bound on a string, list or dictionary.
func describeLength(tag, param string, kind reflect.Kind, value any) (typ, msg string) {
	n, err := strconv.Atoi(param)
	if err != nil {
		return tag, fmt.Sprintf("Input should satisfy '%s=%s'", tag, param)
	}
	actual := 0
	if s, ok := value.(string); ok {
		actual = utf8.RuneCountInString(s)
	} else if v := reflect.ValueOf(value); v.IsValid() && lengthKind(v.Kind()) {
		actual = v.Len()
	}
	atLeast := true
	switch tag {
	case "min", "gte":
	case "gt":
		n++
	case "max", "lte":
		atLeast = false
	case "lt":
		n--
		atLeast = false
	case "len":
		atLeast = actual < n
	}
	if kind == reflect.String {
		if atLeast {
			return "string_too_short", fmt.Sprintf("String should have at least %d character%s", n, plural(n))
		}
		return "string_too_long", fmt.Sprintf("String should have at most %d character%s", n, plural(n))
	}
	what := "List"
	if kind == reflect.Map {
		what = "Dictionary"
	}
	if atLeast {
		return "too_short", fmt.Sprintf("%s should have at least %d item%s after validation, not %d", what, n, plural(n), actual)
	}
	return "too_long", fmt.Sprintf("%s should have at most %d item%s after validation, not %d", what, n, plural(n), actual)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// describeNumber words a bound on a number.
func describeNumber(tag, param string) (typ, msg string) {
	switch tag {
	case "gt":
		return "greater_than", "Input should be greater than " + param
	case "gte", "min":
		return "greater_than_equal", "Input should be greater than or equal to " + param
	case "lt":
		return "less_than", "Input should be less than " + param
	case "lte", "max":
		return "less_than_equal", "Input should be less than or equal to " + param
	}
	return "equal", "Input should be equal to " + param // len
}

var oneofParam = regexp.MustCompile(`'[^']*'|\S+`)

// literal words the values of a oneof parameter as Pydantic does:
// 'a', 'b' or 'c'.
func literal(param string, quote bool) string {
	vals := oneofParam.FindAllString(param, -1)
	for i, v := range vals {
		v = strings.Trim(v, "'")
		if quote {
			v = "'" + v + "'"
		}
		vals[i] = v
	}
	switch len(vals) {
	case 0:
		return "one of the allowed values"
	case 1:
		return vals[0]
	}
	return strings.Join(vals[:len(vals)-1], ", ") + " or " + vals[len(vals)-1]
}

// typeMismatch words a JSON value of the wrong type as Pydantic does.
func typeMismatch(e *json.UnmarshalTypeError) (typ, msg string) {
	number := strings.HasPrefix(e.Value, "number ")
	switch deref(e.Type).Kind() {
	case reflect.String:
		return "string_type", "Input should be a valid string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if number && strings.ContainsAny(e.Value[len("number "):], ".eE") {
			return "int_from_float", "Input should be a valid integer, got a number with a fractional part"
		}
		if number {
			return "int_type", "Input should be a valid integer in range"
		}
		return "int_type", "Input should be a valid integer"
	case reflect.Float32, reflect.Float64:
		if number {
			return "finite_number", "Input should be a finite number"
		}
		return "float_type", "Input should be a valid number"
	case reflect.Bool:
		return "bool_type", "Input should be a valid boolean"
	case reflect.Slice, reflect.Array:
		return "list_type", "Input should be a valid list"
	case reflect.Map:
		return "dict_type", "Input should be a valid dictionary"
	case reflect.Struct:
		return "model_type", "Input should be an object"
	}
	return "type_error", "Input has the wrong type"
}
