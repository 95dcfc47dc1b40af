package tsgen_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/tsgen"
)

// The generator reads documents from other servers (wsgen-ts -in
// http://…): one that nests or refers deeply is refused with an error,
// not followed until the generator runs out of stack, time or memory.

// TestDeepDocument: a document nested 100,000 deep is refused (3,000,000
// deep, 6 MB, would overflow the stack of a parser that recurses: a fatal
// error, not a panic).
func TestDeepDocument(t *testing.T) {
	t.Parallel()
	const n = 100_000
	doc := `{"asyncapi":"3.0.0","info":{"title":"T","version":"1"},"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	_, err := tsgen.Generate([]byte(doc))
	if err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("got %v, want an error that says the document nests too deep", err)
	}
}

// fanOut returns a document of k references to a schema that holds k
// references to the next, levels deep, none of them under
// components/schemas: followed inline, they make k^levels types.
func fanOut(k, levels int) []byte {
	x := map[string]any{}
	for l := range levels {
		props := map[string]any{}
		for i := range k {
			props[fmt.Sprint("p", i)] = map[string]any{"$ref": fmt.Sprintf("#/x/a%d", l+1)}
		}
		x[fmt.Sprint("a", l)] = map[string]any{"type": "object", "properties": props}
	}
	x[fmt.Sprint("a", levels)] = map[string]any{"type": "string"}
	doc := map[string]any{"asyncapi": "3.0.0", "info": map[string]any{"title": "T", "version": "1"}, "x": x,
		"components": map[string]any{"schemas": map[string]any{"T": map[string]any{"$ref": "#/x/a0"}}}}
	b, _ := json.Marshal(doc)
	return b
}

// TestExpandingReferences: references that multiply as they are followed
// (a 1.3 KB document made a 1 MB client.d.ts, and one of 1.9 KB ran for
// longer than anyone waits) are refused.
func TestExpandingReferences(t *testing.T) {
	t.Parallel()
	for _, k := range []int{3, 8} {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			doc := fanOut(k, 10)
			files, err := tsgen.Generate(doc)
			if err == nil {
				t.Fatalf("a document of %d bytes made a client.d.ts of %d bytes, want an error", len(doc), len(files.DTS))
			}
			if !strings.Contains(err.Error(), "expand") {
				t.Errorf("got %v, want an error that says the schemas expand too much", err)
			}
		})
	}
}

// TestDeepTypes: a type nested hundreds deep, through references followed
// inline, is refused (rendering it costs the square of its depth).
func TestDeepTypes(t *testing.T) {
	t.Parallel()
	x := map[string]any{}
	for l := range 9 {
		var s any = map[string]any{"$ref": fmt.Sprintf("#/x/a%d", l+1)}
		for range 100 {
			s = map[string]any{"type": "array", "items": s}
		}
		x[fmt.Sprint("a", l)] = s
	}
	x["a9"] = map[string]any{"type": "string"}
	doc, _ := json.Marshal(map[string]any{"asyncapi": "3.0.0", "info": map[string]any{"title": "T", "version": "1"}, "x": x,
		"components": map[string]any{"schemas": map[string]any{"T": map[string]any{"$ref": "#/x/a0"}}}})
	_, err := tsgen.Generate(doc)
	if err == nil || !strings.Contains(err.Error(), "nested deeper than") {
		t.Errorf("got %v, want an error that says the types nest too deep", err)
	}
}

// TestNormalDepth: what the limits refuse is far from what a document of
// Go types holds: a type nested 40 deep through references, and a few
// hundred schemas, generate.
func TestNormalDepth(t *testing.T) {
	t.Parallel()
	schemas := map[string]any{}
	for i := range 300 {
		schemas[fmt.Sprint("S", i)] = map[string]any{"type": "object", "properties": map[string]any{
			"next": map[string]any{"$ref": fmt.Sprintf("#/components/schemas/S%d", (i+1)%300)},
			"list": map[string]any{"type": "array", "items": map[string]any{"anyOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "null"}}}},
		}}
	}
	var s any = map[string]any{"type": "string"}
	for range 20 {
		s = map[string]any{"type": "object", "properties": map[string]any{"a": map[string]any{"type": "array", "items": s}}}
	}
	schemas["Deep"] = s
	doc, _ := json.Marshal(map[string]any{"asyncapi": "3.0.0", "info": map[string]any{"title": "T", "version": "1"},
		"components": map[string]any{"schemas": schemas}})
	if _, err := tsgen.Generate(doc); err != nil {
		t.Fatal(err)
	}
}
