package chatapp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/tsgen"
)

// TestGeneratedFilesAreFresh: asyncapi.json and the page's client,
// static/client.js and static/client.d.ts, are what go generate writes now
// from the chat's document. Run go generate in this package after changing
// an event or its types.
func TestGeneratedFilesAreFresh(t *testing.T) {
	t.Parallel()
	doc, err := json.MarshalIndent(chatapp.Document(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files, err := tsgen.Generate(doc)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]byte{
		"asyncapi.json":      append(doc, '\n'),
		"static/client.js":   files.JS,
		"static/client.d.ts": files.DTS,
	} {
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./examples/chat/chatapp", name)
		}
	}
}

// TestDocumentServed: the mux serves the document, the docs page and the
// page's client.
func TestDocumentServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(chatapp.NewMux(new(ws.Group), hub.New()))
	defer srv.Close()
	want, err := json.Marshal(chatapp.Document())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, contentType, has string }{
		{"/asyncapi.json", "application/json", string(want)},
		{"/docs", "text/html; charset=utf-8", "<title>Chat · API</title>"},
		{"/client.js", "text/javascript; charset=utf-8", "export function connectWs("},
	} {
		resp, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.contentType || !strings.Contains(string(body), tt.has) {
			t.Errorf("GET %s: %d %s, want 200 %s with %.60q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), tt.contentType, tt.has)
		}
	}
}
