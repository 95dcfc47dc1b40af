package tsgen_test

import (
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/tsgen"
)

// TestDuplicateNames: a document that names a path parameter twice, or
// two operations after the same event or push, gives declarations that
// name each once (tsc fails on a duplicate identifier): the first wins.
func TestDuplicateNames(t *testing.T) {
	t.Parallel()
	op := func(action, msg, reply string) string {
		s := `{"action":"` + action + `","channel":{"$ref":"#/channels/c"},"messages":[{"$ref":"#/channels/c/messages/` + msg + `"}]`
		if reply != "" {
			s += `,"reply":{"channel":{"$ref":"#/channels/c"},"messages":[{"$ref":"#/channels/c/messages/` + reply + `"}]}`
		}
		return s + "}"
	}
	doc := `{"asyncapi":"3.0.0","info":{"title":"T","version":"1"},
	"channels":{"c":{"address":"/r/{x}/{x}/{y}","messages":{
		"a":{"payload":{"type":"object","properties":{"event":{"const":"dup"},"data":{"type":"string"}}}},
		"b":{"payload":{"type":"object","properties":{"event":{"const":"dup"},"data":{"type":"number"}}}},
		"r":{"payload":{"type":"object","properties":{"event":{"const":"dup"},"statusCode":{"type":"integer"},"body":{"type":"string"}}}},
		"p":{"payload":{"type":"object","properties":{"event":{"const":"pushed"},"body":{"type":"string"}}}},
		"q":{"payload":{"type":"object","properties":{"event":{"const":"pushed"},"body":{"type":"number"}}}}}}},
	"operations":{"a":` + op("receive", "a", "r") + `,"b":` + op("receive", "b", "r") + `,"p":` + op("send", "p", "") + `,"q":` + op("send", "q", "") + `}}`
	files, err := tsgen.Generate([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	dts := string(files.DTS)
	for _, want := range []string{
		"export interface CEvents {\n  dup: {\n    data: string | undefined;\n    reply: string;\n  };\n}\n",
		"export interface CPushes {\n  pushed: string;\n}\n",
		"params: { x: string | number; y: string | number }",
	} {
		if !strings.Contains(dts, want) {
			t.Errorf("the declarations lack:\n%s\nin:\n%s", want, dts[strings.Index(dts, "// The endpoint"):])
		}
	}
}
