package asyncapicheck

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
)

// TestAddRefusesHosts: Document.Add takes a path, or a ServeMux pattern
// whose host it drops; an address that a URL parser reads as naming a
// host of its own ("//evil.example/ws", "/\evil.example/ws") is refused
// with a panic, as "ws" is: the generated client and the docs page would
// otherwise be handed a document they refuse, or dial another origin.
func TestAddRefusesHosts(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	for _, address := range []string{"//evil.example/ws", "GET //evil.example/ws", "example.com//evil.example/ws", `/\evil.example/ws`, "/\t/evil.example/ws", "ws"} {
		t.Run(fmt.Sprintf("%q", address), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%q) was accepted", address)
				}
			}()
			asyncapi.New(asyncapi.Info{Title: "T", Version: "1"}).Add(address, r)
		})
	}
	// A host in a pattern is dropped; the path stays.
	doc := asyncapi.New(asyncapi.Info{Title: "T", Version: "1"})
	doc.Add("GET example.com/ws", r)
	raw, err := doc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"address":"/ws"`) {
		t.Errorf("GET example.com/ws: %s", raw)
	}
}
