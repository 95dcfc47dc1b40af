package asyncapi_test

// The document of a router is also kept in testdata/asyncapi/router.json,
// where the AsyncAPI parser checks it (e2e/asyncapicheck).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
	"github.com/go-playground/validator/v10"
)

type apiChatRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

type apiChatResponse struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

type apiHistoryRequest struct {
	Limit int `json:"limit" validate:"omitempty,min=1,max=100"`
}

type apiWatchRequest struct {
	Room string `json:"room" validate:"required"`
}

func chatRouter() *ws.Router {
	r := ws.NewRouter()
	ws.On(r, "chat.send", func(ctx context.Context, in apiChatRequest) (apiChatResponse, error) { return apiChatResponse{}, nil })
	ws.On(r, "chat.history", func(ctx context.Context, in apiHistoryRequest) (ws.StatusEnvelope[[]apiChatResponse], error) {
		return ws.Ok([]apiChatResponse(nil)), nil
	})
	ws.Stream(r, "chat.watch", func(ctx context.Context, in apiWatchRequest, send func(apiChatResponse) error) error { return nil })
	ws.Emits[apiChatResponse](r, "chat.message")
	return r
}

// document marshals doc and decodes it into plain values.
func document(t *testing.T, doc *asyncapi.Document) map[string]any {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	checkRefs(t, v, v)
	return v
}

// at follows a JSON Pointer ("#/a/b") in v; it fails the test when the
// pointer leads nowhere.
func at(t *testing.T, v any, pointer string) any {
	t.Helper()
	cur := v
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "#/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			next, ok := c[tok]
			if !ok {
				t.Fatalf("%s: no %q", pointer, tok)
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				t.Fatalf("%s: no index %q", pointer, tok)
			}
			cur = c[i]
		default:
			t.Fatalf("%s: %q in a %T", pointer, tok, cur)
		}
	}
	return cur
}

// newTestValidator returns a validator that knows the tag tag.
func newTestValidator(t *testing.T, tag string, ok func(string) bool) *validator.Validate {
	t.Helper()
	v := validator.New(validator.WithRequiredStructEnabled())
	if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool { return ok(fl.Field().String()) }); err != nil {
		t.Fatal(err)
	}
	return v
}

// payload returns the schema of the message at pointer, its $ref followed:
// every payload is a named schema.
func payload(t *testing.T, doc any, pointer string) any {
	t.Helper()
	p, ok := at(t, doc, pointer+"/payload").(map[string]any)
	ref, _ := p["$ref"].(string)
	if !ok || len(p) != 1 || !strings.HasPrefix(ref, "#/components/schemas/") {
		t.Fatalf("%s: payload %v, want a $ref to a named schema", pointer, p)
	}
	return at(t, doc, ref)
}

// checkRefs fails the test for every $ref in v that leads nowhere in doc.
func checkRefs(t *testing.T, doc, v any) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if ref, ok := sub.(string); ok && k == "$ref" {
				at(t, doc, ref)
				continue
			}
			checkRefs(t, doc, sub)
		}
	case []any:
		for _, sub := range x {
			checkRefs(t, doc, sub)
		}
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func wantJSON(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want: %v", what, err)
	}
	if g, w := jsonOf(t, got), jsonOf(t, w); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func TestAsyncAPICallback(t *testing.T) {
	t.Parallel()
	receive := func(ctx context.Context, in apiChatRequest) (apiChatResponse, error) { return apiChatResponse{}, nil }
	status := func(ctx context.Context, in *apiChatRequest) (ws.StatusEnvelope[apiChatResponse], error) {
		return ws.Ok(apiChatResponse{}), nil
	}
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0", Description: "A chat."})
	doc.Add("/chat", ws.Callback(nil, receive, nil))
	doc.Add("GET /rooms/{room}/{rest...}", ws.Callback(nil, status, nil))
	doc.Add("/raw", ws.Handler(func(ctx context.Context, c *ws.Conn) error { return nil }))
	v := document(t, doc)

	wantJSON(t, "head", map[string]any{"asyncapi": v["asyncapi"], "info": v["info"], "defaultContentType": v["defaultContentType"]},
		`{"asyncapi":"3.0.0","info":{"title":"Chat","version":"1.0.0","description":"A chat."},"defaultContentType":"application/json"}`)
	wantJSON(t, "operation", at(t, v, "#/operations/chat.receive"), `{
		"action":"receive","channel":{"$ref":"#/channels/chat"},
		"summary":"Every message is answered with one reply, in order.",
		"messages":[{"$ref":"#/channels/chat/messages/request"}],
		"reply":{"channel":{"$ref":"#/channels/chat"},"messages":[
			{"$ref":"#/channels/chat/messages/reply"},
			{"$ref":"#/channels/chat/messages/badRequest"},
			{"$ref":"#/channels/chat/messages/internalError"}]}}`)
	wantJSON(t, "binding", at(t, v, "#/channels/chat/bindings"), `{"ws":{"method":"GET","bindingVersion":"0.1.0"}}`)
	// One schema for the request type, shared by both endpoints (the
	// second one takes a pointer to it).
	wantJSON(t, "request", at(t, v, "#/channels/chat/messages/request/payload"), `{"$ref":"#/components/schemas/apiChatRequest"}`)
	wantJSON(t, "request pointer", at(t, v, "#/channels/rooms.room.rest/messages/request/payload"), `{"$ref":"#/components/schemas/apiChatRequest"}`)
	wantJSON(t, "request schema", at(t, v, "#/components/schemas/apiChatRequest"), `{"title":"apiChatRequest","type":"object","properties":{
		"message":{"type":"string","minLength":1,"maxLength":500},
		"user":{"type":"string","minLength":1,"maxLength":32}},"required":["message","user"]}`)
	wantJSON(t, "reply", payload(t, v, "#/channels/chat/messages/reply"), `{"title":"ChatReply","type":"object","properties":{
		"statusCode":{"const":200},"body":{"$ref":"#/components/schemas/apiChatResponse"}},"required":["statusCode","body"]}`)
	wantJSON(t, "reply schema", at(t, v, "#/components/schemas/apiChatResponse"), `{"title":"apiChatResponse","type":"object","properties":{
		"message":{"type":"string"},"user":{"type":"string"}},"required":["message","user"]}`)
	// A ws.StatusEnvelope picks its status, and NoContent sends a null body.
	wantJSON(t, "envelope reply", payload(t, v, "#/channels/rooms.room.rest/messages/reply"), `{"title":"RoomsRoomRestReply","type":"object","properties":{
		"statusCode":{"description":"An HTTP status code, chosen by the handler.","type":"integer"},
		"body":{"anyOf":[{"$ref":"#/components/schemas/apiChatResponse"},{"type":"null"}]}},"required":["statusCode","body"]}`)
	wantJSON(t, "400", payload(t, v, "#/channels/chat/messages/badRequest"), `{"title":"ChatBadRequest","type":"object","properties":{
		"statusCode":{"const":400},"body":{"$ref":"#/components/schemas/ErrorList"}},"required":["statusCode","body"]}`)
	wantJSON(t, "500", at(t, payload(t, v, "#/channels/chat/messages/internalError"), "#/properties/statusCode"), `{"const":500}`)
	wantJSON(t, "errorList", at(t, v, "#/components/schemas/ErrorList"), `{"title":"ErrorList","type":"object","properties":{"errorList":{
		"type":["array","null"],"items":{"$ref":"#/components/schemas/ErrorDetail"}}},"required":["errorList"]}`)
	wantJSON(t, "errorDetail", at(t, v, "#/components/schemas/ErrorDetail"), `{"title":"ErrorDetail","type":"object","properties":{
		"loc":{"type":["array","null"],"items":{}},"type":{"type":"string"},"msg":{"type":"string"}},
		"required":["loc","type","msg"]}`)
	wantJSON(t, "parameters", at(t, v, "#/channels/rooms.room.rest"), jsonOf(t, map[string]any{
		"address":    "/rooms/{room}/{rest}",
		"messages":   at(t, v, "#/channels/rooms.room.rest/messages"),
		"parameters": map[string]any{"room": map[string]any{"description": "A path parameter."}, "rest": map[string]any{"description": "A path parameter."}},
		"bindings":   at(t, v, "#/channels/chat/bindings"),
	}))
	// A ws.Handler's messages are unknown: a channel, no operation.
	wantJSON(t, "handler", at(t, v, "#/channels/raw"), `{"address":"/raw","description":"Messages are not described: the handler reads and writes JSON itself.",
		"bindings":{"ws":{"method":"GET","bindingVersion":"0.1.0"}}}`)
	if ops := at(t, v, "#/operations").(map[string]any); len(ops) != 2 {
		t.Errorf("operations %v, want chat.receive and rooms.room.rest.receive", ops)
	}
}

// The validator of each endpoint decides what its requests need: a custom
// tag its validator knows counts.
func TestAsyncAPIUsesTheEndpointsValidator(t *testing.T) {
	t.Parallel()
	type nickRequest struct {
		Nick string `json:"nick" validate:"nickname"`
	}
	v := newTestValidator(t, "nickname", func(s string) bool { return len(s) >= 2 })
	doc := asyncapi.New(asyncapi.Info{Title: "Nick", Version: "1"})
	doc.Add("/nick", ws.Callback(nil, func(ctx context.Context, in nickRequest) (string, error) { return "", nil }, nil, ws.WithValidator(v)))
	got := document(t, doc)
	wantJSON(t, "request", at(t, got, "#/components/schemas/nickRequest"), `{"title":"nickRequest","type":"object","properties":{
		"nick":{"type":"string","x-validate":"nickname"}},"required":["nick"]}`)
}

const routerGolden = "../testdata/asyncapi/router.json"

// TestAsyncAPIRouter describes a Router and compares the document with
// testdata/asyncapi/router.json; WS_UPDATE_GOLDEN=1 rewrites the file.
func TestAsyncAPIRouter(t *testing.T) {
	t.Parallel()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat router", Version: "1.0.0"})
	doc.Add("/ws", chatRouter())
	got, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if os.Getenv("WS_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(routerGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(routerGolden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the document differs from %s (WS_UPDATE_GOLDEN=1 rewrites it):\n%s", routerGolden, got)
	}

	v := document(t, doc)
	const id = `"id":{"$ref":"#/components/schemas/EventID"}`
	const correlation = `"correlationId":{"description":"A reply, or a stream item, carries the id of its request.","location":"$message.payload#/id"}`
	wantJSON(t, "send", at(t, v, "#/operations/ws.chat.send"), `{"action":"receive","channel":{"$ref":"#/channels/ws"},
		"messages":[{"$ref":"#/channels/ws/messages/chat.send"}],
		"reply":{"channel":{"$ref":"#/channels/ws"},"messages":[
			{"$ref":"#/channels/ws/messages/chat.send.reply"},
			{"$ref":"#/channels/ws/messages/badRequest"},
			{"$ref":"#/channels/ws/messages/internalError"}]}}`)
	wantJSON(t, "send message", at(t, v, "#/channels/ws/messages/chat.send"), `{"name":"chat.send","summary":"The chat.send event.",
		"payload":{"$ref":"#/components/schemas/ChatSendRequest"},`+correlation+`}`)
	wantJSON(t, "id", at(t, v, "#/components/schemas/EventID"), `{"title":"EventID","description":"Chosen by the client; echoed in the reply.","type":["string","number"]}`)
	wantJSON(t, "send request", at(t, v, "#/components/schemas/ChatSendRequest"), `{"title":"ChatSendRequest","type":"object","properties":{
		"event":{"const":"chat.send"},`+id+`,"data":{"$ref":"#/components/schemas/apiChatRequest"}},"required":["event","data"]}`)
	wantJSON(t, "send reply", payload(t, v, "#/channels/ws/messages/chat.send.reply"), `{"title":"ChatSendReply","type":"object","properties":{`+id+`,
		"event":{"const":"chat.send"},"statusCode":{"const":200},
		"body":{"$ref":"#/components/schemas/apiChatResponse"}},"required":["event","statusCode","body"]}`)
	// An absent data counts as {}: optional when {} is a valid request.
	wantJSON(t, "history message", at(t, payload(t, v, "#/channels/ws/messages/chat.history"), "#/required"), `["event"]`)
	wantJSON(t, "history reply", at(t, payload(t, v, "#/channels/ws/messages/chat.history.reply"), "#/properties"), `{`+id+`,
		"event":{"const":"chat.history"},
		"statusCode":{"description":"An HTTP status code, chosen by the handler.","type":"integer"},
		"body":{"anyOf":[{"type":["array","null"],"items":{"$ref":"#/components/schemas/apiChatResponse"}},{"type":"null"}]}}`)
	// A stream needs an id; items, then one final reply with a null body.
	wantJSON(t, "watch message", at(t, payload(t, v, "#/channels/ws/messages/chat.watch"), "#/required"), `["event","id","data"]`)
	wantJSON(t, "watch", at(t, v, "#/operations/ws.chat.watch/reply/messages"), `[
		{"$ref":"#/channels/ws/messages/chat.watch.item"},
		{"$ref":"#/channels/ws/messages/chat.watch.end"},
		{"$ref":"#/channels/ws/messages/tooManyStreams"},
		{"$ref":"#/channels/ws/messages/badRequest"},
		{"$ref":"#/channels/ws/messages/internalError"}]`)
	wantJSON(t, "watch item", payload(t, v, "#/channels/ws/messages/chat.watch.item"), `{"title":"ChatWatchItem","type":"object","properties":{`+id+`,
		"event":{"const":"chat.watch"},"statusCode":{"const":200},
		"body":{"$ref":"#/components/schemas/apiChatResponse"},"more":{"const":true}},"required":["event","statusCode","body","more"]}`)
	wantJSON(t, "watch end", at(t, payload(t, v, "#/channels/ws/messages/chat.watch.end"), "#/properties/body"), `{"type":"null"}`)
	wantJSON(t, "429", at(t, payload(t, v, "#/channels/ws/messages/tooManyStreams"), "#/properties/statusCode"), `{"const":429}`)
	wantJSON(t, "cancel", at(t, v, "#/operations/ws.cancel"), `{"action":"receive","channel":{"$ref":"#/channels/ws"},
		"messages":[{"$ref":"#/channels/ws/messages/cancel"}]}`)
	wantJSON(t, "cancel message", payload(t, v, "#/channels/ws/messages/cancel"), `{"title":"CancelRequest","type":"object","properties":{
		"event":{"const":"$cancel"},`+id+`},"required":["event","id"]}`)
	wantJSON(t, "push", at(t, v, "#/operations/ws.chat.message"), `{"action":"send","channel":{"$ref":"#/channels/ws"},
		"messages":[{"$ref":"#/channels/ws/messages/chat.message"}]}`)
	wantJSON(t, "push message", at(t, v, "#/channels/ws/messages/chat.message"), `{"name":"chat.message","summary":"The chat.message event, sent by the server.",
		"payload":{"$ref":"#/components/schemas/ChatMessagePush"}}`)
	wantJSON(t, "push", at(t, v, "#/components/schemas/ChatMessagePush"), `{"title":"ChatMessagePush","type":"object","properties":{"event":{"const":"chat.message"},"statusCode":{"const":200},
		"body":{"$ref":"#/components/schemas/apiChatResponse"}},"required":["event","statusCode","body"]}`)
	// An error reply carries the event and id when they could be read.
	wantJSON(t, "router 400", payload(t, v, "#/channels/ws/messages/badRequest"), `{"title":"BadRequest","type":"object","properties":{`+id+`,
		"event":{"type":"string"},"statusCode":{"const":400},"body":{"$ref":"#/components/schemas/ErrorList"}},"required":["statusCode","body"]}`)
}

// Names that collide get a number; a router without streams has no
// $cancel.
func TestAsyncAPIRouterNames(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	ws.On(r, "badRequest", func(ctx context.Context, in apiChatRequest) (string, error) { return "", nil })
	ws.On(r, "cancel", func(ctx context.Context, in int) (int, error) { return in, nil })
	doc := asyncapi.New(asyncapi.Info{Title: "Names", Version: "1"})
	doc.Add("/a", r)
	doc.Add("/a/", ws.Callback(nil, func(ctx context.Context, in int) (int, error) { return in, nil }, nil))
	v := document(t, doc)
	names := slices.Sorted(maps.Keys(at(t, v, "#/channels/a/messages").(map[string]any)))
	wantJSON(t, "messages", names, `["badRequest","badRequest.reply","badRequest_2","cancel","cancel.reply","internalError"]`)
	wantJSON(t, "event named badRequest", at(t, v, "#/operations/a.badRequest/messages"), `[{"$ref":"#/channels/a/messages/badRequest_2"}]`)
	wantJSON(t, "channels", at(t, v, "#/channels/a_2/address"), `"/a/"`)
}

// A Router is described with the events registered when the document is
// first encoded.
func TestAsyncAPIRouterLaterEvents(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	doc := asyncapi.New(asyncapi.Info{Title: "Later", Version: "1"})
	doc.Add("/r", r)
	ws.On(r, "ping", func(ctx context.Context, in int) (int, error) { return in, nil })
	at(t, document(t, doc), "#/operations/r.ping")
}

func TestAsyncAPIServe(t *testing.T) {
	t.Parallel()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	doc.Add("/chat", ws.Callback(nil, func(ctx context.Context, in apiChatRequest) (apiChatResponse, error) { return apiChatResponse{}, nil }, nil))
	srv := httptest.NewServer(doc)
	t.Cleanup(srv.Close)
	want, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || !bytes.Equal(body, want) {
				t.Errorf("GET: %d %s %.80s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}()
	}
	wg.Wait()
	resp, err := http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// An Add after serving is in the next document.
	doc.Add("/more", ws.Handler(func(ctx context.Context, c *ws.Conn) error { return nil }))
	if !strings.Contains(jsonOf(t, doc), `"/more"`) {
		t.Error("the endpoint added after serving is missing")
	}
}

func TestAsyncAPIPanics(t *testing.T) {
	t.Parallel()
	h := ws.Handler(func(ctx context.Context, c *ws.Conn) error { return nil })
	for name, fn := range map[string]func(){
		"no title":   func() { asyncapi.New(asyncapi.Info{Version: "1"}) },
		"no version": func() { asyncapi.New(asyncapi.Info{Title: "x"}) },
		"AsyncAPI 2": func() { asyncapi.New(asyncapi.Info{Title: "x", Version: "1", AsyncAPI: "2.6.0"}) },
		"no handler": func() { asyncapi.New(asyncapi.Info{Title: "x", Version: "1"}).Add("/x", nil) },
		"no path":    func() { asyncapi.New(asyncapi.Info{Title: "x", Version: "1"}).Add("chat", h) },
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "asyncapi: ") {
					t.Errorf("%s: panic %v, want an asyncapi: message", name, r)
				}
			}()
			fn()
		}()
	}
}

// The document is AsyncAPI 3.0.0 unless the caller asks for 3.1.0; the
// two say the same but for the label.
func TestAsyncAPIVersion(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ asked, want string }{{"", "3.0.0"}, {"3.0.0", "3.0.0"}, {"3.1.0", "3.1.0"}} {
		doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0", AsyncAPI: tt.asked})
		doc.Add("/ws", chatRouter())
		if got := document(t, doc)["asyncapi"]; got != tt.want {
			t.Errorf("AsyncAPI %q: the document says %v, want %s", tt.asked, got, tt.want)
		}
		golden, err := os.ReadFile(routerGolden)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Replace(strings.Replace(string(golden), `"Chat router"`, `"Chat"`, 1), `"asyncapi": "3.0.0"`, `"asyncapi": "`+tt.want+`"`, 1)
		if string(got)+"\n" != want {
			t.Errorf("AsyncAPI %q: the document differs from %s by more than its label", tt.asked, routerGolden)
		}
	}
}

// Types whose names clash in the schemas; the names are in package scope
// so that the definitions take them.
type (
	ChatSendReply struct {
		Text string `json:"text"`
	}
	BadRequest struct {
		Why string `json:"why" validate:"required"`
	}
	Ws struct {
		N int `json:"n" validate:"oneof=1 2"`
	}
	TagInput struct{ N int }
) // and Tag, of validate_test.go

// TestAsyncAPISchemaNames: every message's payload is a named schema, and
// the names that clash (without case and punctuation) are numbered in a
// fixed order: channels, then Go types (their own names before the ones
// made from them), then the messages as endpoints and events were added;
// the schemas inside them last.
func TestAsyncAPISchemaNames(t *testing.T) {
	t.Parallel()
	build := func() *asyncapi.Document {
		r := ws.NewRouter()
		// chat.send's reply body is a Go type named like its envelope.
		ws.On(r, "chat.send", func(ctx context.Context, in Tag) (ChatSendReply, error) { return ChatSendReply{}, nil })
		// chat_send makes the same names as chat.send.
		ws.On(r, "chat_send", func(ctx context.Context, in BadRequest) (Tag, error) { return Tag{}, nil })
		// cancel's request is named like $cancel's, which comes later.
		ws.Stream(r, "cancel", func(ctx context.Context, in Ws, send func(TagInput) error) error { return nil })
		ws.Emits[struct{ Who struct{ Name string } }](r, "chat.send")
		doc := asyncapi.New(asyncapi.Info{Title: "Names", Version: "1"})
		doc.Add("/ws", r)
		doc.Add("/chat", ws.Callback(nil, func(ctx context.Context, in []Tag) (int, error) { return 0, nil }, nil))
		return doc
	}
	doc := build()
	v := document(t, doc)
	titles := map[string]any{}
	for k, s := range at(t, v, "#/components/schemas").(map[string]any) {
		titles[k] = s.(map[string]any)["title"]
	}
	wantJSON(t, "names", titles, `{
		"BadRequest":"BadRequest", "ChatSendReply":"ChatSendReply", "ErrorDetail":"ErrorDetail", "ErrorList":"ErrorList",
		"TagInput":"TagInput", "Tag-Input":"TagInput2", "Tag-Output":"TagOutput", "Tag-Unvalidated":"TagUnvalidated", "Ws":"Ws2",
		"ChatSendRequest":"ChatSendRequest", "ChatSendReply2":"ChatSendReply2",
		"ChatSendRequest2":"ChatSendRequest2", "ChatSendReply3":"ChatSendReply3",
		"CancelRequest":"CancelRequest", "CancelItem":"CancelItem", "CancelEnd":"CancelEnd",
		"EventID":"EventID", "BadRequest2":"BadRequest2", "InternalError":"InternalError", "TooManyStreams":"TooManyStreams", "CancelRequest2":"CancelRequest2",
		"ChatSendPush":"ChatSendPush",
		"ChatRequest":"ChatRequest", "ChatReply":"ChatReply", "ChatBadRequest":"ChatBadRequest", "ChatInternalError":"ChatInternalError"}`)
	for msg, want := range map[string]string{
		"ws/messages/chat.send":       "ChatSendRequest",
		"ws/messages/chat.send.reply": "ChatSendReply2",
		"ws/messages/chat_send":       "ChatSendRequest2",
		"ws/messages/chat_send.reply": "ChatSendReply3",
		"ws/messages/cancel_2":        "CancelRequest2",
		"ws/messages/cancel":          "CancelRequest",
		"ws/messages/badRequest":      "BadRequest2",
		"ws/messages/chat.send_2":     "ChatSendPush",
		"chat/messages/request":       "ChatRequest",
		"chat/messages/reply":         "ChatReply",
		"chat/messages/internalError": "ChatInternalError",
		"ws/messages/cancel.item":     "CancelItem",
		"ws/messages/cancel.end":      "CancelEnd",
		"ws/messages/tooManyStreams":  "TooManyStreams",
		"ws/messages/internalError":   "InternalError",
		"chat/messages/badRequest":    "ChatBadRequest",
	} {
		wantJSON(t, msg, at(t, v, "#/channels/"+msg+"/payload"), `{"$ref":"#/components/schemas/`+want+`"}`)
	}
	// Anonymous structs and enums are named after where they are.
	wantJSON(t, "push body", at(t, v, "#/components/schemas/ChatSendPush/properties/body"),
		`{"title":"ChatSendPushBody","type":"object","properties":{"Who":{"title":"ChatSendPushBodyWho","type":"object",
		"properties":{"Name":{"type":"string"}},"required":["Name"]}},"required":["Who"]}`)
	wantJSON(t, "enum", at(t, v, "#/components/schemas/Ws/properties/n"), `{"title":"Ws2N","type":"integer","enum":[1,2]}`)
	// The same endpoints give the same names, and the same bytes.
	if a, b := jsonOf(t, doc), jsonOf(t, build()); a != b {
		t.Errorf("two documents of the same endpoints differ:\n%s\n%s", a, b)
	}
}
