package tsgen

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// object is a JSON object that keeps the order of its members: the order of
// properties is the order of the fields of the Go types.
type object struct {
	keys []string
	m    map[string]any
}

func (o *object) get(key string) any {
	if o == nil {
		return nil
	}
	return o.m[key]
}

func (o *object) has(key string) bool {
	if o == nil {
		return false
	}
	_, ok := o.m[key]
	return ok
}

func (o *object) obj(key string) *object {
	v, _ := o.get(key).(*object)
	return v
}

func (o *object) str(key string) string {
	v, _ := o.get(key).(string)
	return v
}

func (o *object) list(key string) []any {
	v, _ := o.get(key).([]any)
	return v
}

// parse decodes JSON into nil, bool, json.Number, string, []any and
// *object values.
func parse(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// maxNesting bounds how deep a document nests: a document of Go types
// nests a few levels per struct, and one from another server must not
// take the parser's stack.
const maxNesting = 256

func parseValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if (tok == json.Delim('{') || tok == json.Delim('[')) && depth >= maxNesting {
		return nil, fmt.Errorf("nested deeper than %d", maxNesting)
	}
	switch tok {
	case json.Delim('{'):
		o := &object{m: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key := k.(string)
			v, err := parseValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if _, dup := o.m[key]; !dup {
				o.keys = append(o.keys, key)
			}
			o.m[key] = v
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := parseValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	}
	return tok, nil
}

// resolve follows a local reference, "#/a/b", from root.
func resolve(root any, ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("reference %q is not local", ref)
	}
	v := root
	if p == "" {
		return v, nil
	}
	for _, tok := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case *object:
			if !x.has(tok) {
				return nil, fmt.Errorf("reference %q: no %q", ref, tok)
			}
			v = x.get(tok)
		default:
			return nil, fmt.Errorf("reference %q: %q is not in an object", ref, tok)
		}
	}
	return v, nil
}

// deref follows v's $ref, if it has one, and those it leads to.
func deref(root, v any) (*object, error) {
	for range 32 {
		o, ok := v.(*object)
		if !ok {
			return nil, fmt.Errorf("not an object")
		}
		ref, ok := o.get("$ref").(string)
		if !ok {
			return o, nil
		}
		var err error
		if v, err = resolve(root, ref); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("references go round in circles")
}
