package asyncapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
)

type NoteRequest struct {
	Text string `json:"text" validate:"required,max=500"`
	Room string `json:"room" validate:"omitempty,oneof=lobby games"`
}

type NoteReply struct {
	Text string `json:"text"`
}

// An AsyncAPI document describes the endpoints: serve it next to them.
// The request's schema follows its validate tags. Every schema has a name,
// which code generators give the type they make of it: the Go type's, or
// one made from the channel (or the event) and the message's role.
func ExampleNew() {
	chat := ws.Callback(nil, func(ctx context.Context, in NoteRequest) (NoteReply, error) {
		return NoteReply{Text: in.Text}, nil
	}, nil)
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	doc.Add("/chat", chat)

	mux := http.NewServeMux()
	mux.Handle("GET /chat", chat)
	mux.Handle("GET /asyncapi.json", doc)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/asyncapi.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v struct {
		AsyncAPI   string
		Components struct{ Schemas map[string]json.RawMessage }
	}
	json.Unmarshal(raw, &v)
	fmt.Println(v.AsyncAPI)
	fmt.Println(slices.Sorted(maps.Keys(v.Components.Schemas)))
	fmt.Println(string(v.Components.Schemas["NoteRequest"]))
	// Output:
	// 3.0.0
	// [ChatBadRequest ChatInternalError ChatReply ErrorDetail ErrorList NoteReply NoteRequest]
	// {"title":"NoteRequest","type":"object","properties":{"text":{"type":"string","minLength":1,"maxLength":500},"room":{"title":"NoteRequestRoom","type":"string","enum":["","lobby","games"]}},"required":["text"]}
}

// The document, the page that describes it with a console, and the
// endpoints, on one mux.
func ExampleDocsPage() {
	receive := func(ctx context.Context, in NoteRequest) (NoteReply, error) { return NoteReply{Text: in.Text}, nil }
	send := func(ctx context.Context, in NoteRequest) (NoteReply, error) { return NoteReply{Text: in.Text}, nil }
	mux := http.NewServeMux()

	chat := ws.Callback(nil, receive, nil)
	events := ws.NewRouter()
	ws.On(events, "chat.send", send)

	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	doc.Add("/chat", chat)
	doc.Add("GET /ws", events) // a ServeMux pattern works: {wildcards} become parameters

	mux.Handle("GET /chat", chat)
	mux.Handle("GET /ws", events)
	mux.Handle("GET /asyncapi.json", doc)           // the document
	mux.Handle("GET /docs", asyncapi.DocsPage(doc)) // the page
}

// The document is AsyncAPI 3.0.0, which the code generators in use read;
// Info.AsyncAPI asks for 3.1.0, which says the same.
func ExampleInfo() {
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0", AsyncAPI: "3.1.0"})
	raw, err := json.Marshal(doc)
	if err != nil {
		fmt.Println(err)
		return
	}
	var v struct{ AsyncAPI string }
	json.Unmarshal(raw, &v)
	fmt.Println(v.AsyncAPI)
	// Output: 3.1.0
}
