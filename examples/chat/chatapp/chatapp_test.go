package chatapp

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// envelope is a reply as the client reads it.
type envelope struct {
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body"`
}

func newServer(t *testing.T) (*httptest.Server, *ws.Group) {
	t.Helper()
	conns := new(ws.Group)
	srv := httptest.NewServer(NewMux(conns, hub.New()))
	t.Cleanup(srv.Close)
	return srv, conns
}

func dial(t *testing.T, srv *httptest.Server, path string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	if err := wsjson.Write(t.Context(), c, v); err != nil {
		t.Fatal(err)
	}
}

// read reads one message and returns it raw and decoded.
func read(t *testing.T, c *websocket.Conn) ([]byte, envelope) {
	t.Helper()
	_, data, err := c.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return data, env
}

// joined returns a chat client that is in the room: Connect has run once
// the first reply arrives.
func joined(t *testing.T, srv *httptest.Server, user string) *websocket.Conn {
	t.Helper()
	c := dial(t, srv, "/chat")
	send(t, c, ChatRequest{Message: "hello", User: user})
	if _, env := read(t, c); env.StatusCode != 200 {
		t.Fatalf("first message: status %d, want 200", env.StatusCode)
	}
	return c
}

func TestChatReplyAndPush(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ben := joined(t, srv, "Ben")
	ana := dial(t, srv, "/chat")

	send(t, ana, ChatRequest{Message: "Hola, Ben", User: "Ana"})
	reply, env := read(t, ana)
	if env.StatusCode != 200 {
		t.Fatalf("reply %s: want status 200", reply)
	}
	var got struct{ Message, User, At string }
	if err := json.Unmarshal(env.Body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Message != "Hola, Ben" || got.User != "Ana" {
		t.Errorf("reply body %s: want Ana's message", env.Body)
	}
	if _, err := time.Parse(time.RFC3339, got.At); err != nil {
		t.Errorf("at %q is not RFC 3339: %v", got.At, err)
	}

	if push, _ := read(t, ben); string(push) != string(reply) {
		t.Errorf("Ben got %s, want the sender's reply %s", push, reply)
	}
}

func TestChatValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want ws.ErrorDetail
	}{
		{"empty message", ChatRequest{Message: "", User: "Ana"},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "missing", Msg: "Field required"}},
		{"long message", ChatRequest{Message: strings.Repeat("a", 501), User: "Ana"},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "string_too_long", Msg: "String should have at most 500 characters"}},
		{"no user", map[string]string{"message": "hi"},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "missing", Msg: "Field required"}},
		{"long user", ChatRequest{Message: "hi", User: strings.Repeat("a", 33)},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_too_long", Msg: "String should have at most 32 characters"}},
	}
	srv, _ := newServer(t)
	ben := joined(t, srv, "Ben")
	ana := dial(t, srv, "/chat")
	for _, tt := range tests {
		send(t, ana, tt.in)
		data, env := read(t, ana)
		var body ws.ErrorList
		if err := json.Unmarshal(env.Body, &body); err != nil {
			t.Fatal(err)
		}
		if env.StatusCode != 400 || len(body.Errors) != 1 || !reflect.DeepEqual(body.Errors[0], tt.want) {
			t.Errorf("%s: got %s, want a 400 with %+v", tt.name, data, tt.want)
		}
	}

	// Refused messages reach nobody else, and the connection stays open.
	send(t, ana, ChatRequest{Message: "valid", User: "Ana"})
	read(t, ana)
	if _, env := read(t, ben); !strings.Contains(string(env.Body), `"valid"`) {
		t.Errorf("Ben got %s, want only the valid message", env.Body)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	c := dial(t, srv, "/echo")
	for _, msg := range []any{map[string]string{"message": "Hi"}, []int{1, 2}} {
		send(t, c, msg)
		_, data, err := c.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != `{"Hola":"Mundo"}` {
			t.Errorf("echo answered %s", data)
		}
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || len(body) == 0 {
			t.Errorf("GET %s: %s, %d bytes", path, resp.Status, len(body))
		}
	}
}

func TestShutdownSendsGoingAway(t *testing.T) {
	t.Parallel()
	srv, conns := newServer(t)
	c := joined(t, srv, "Ana")
	done := make(chan error, 1)
	go func() { done <- conns.Shutdown(context.Background()) }()
	if _, _, err := c.Read(t.Context()); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("read after shutdown: %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// TestServerTimeouts: a client that holds a connection open without
// sending its headers, or idle between requests, does not hold it for
// ever.
func TestServerTimeouts(t *testing.T) {
	t.Parallel()
	srv := NewServer(new(ws.Group), hub.New())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadHeaderTimeout > time.Minute {
		t.Errorf("ReadHeaderTimeout = %v, want a bound of at most a minute", srv.ReadHeaderTimeout)
	}
	if srv.IdleTimeout <= 0 || srv.IdleTimeout > 5*time.Minute {
		t.Errorf("IdleTimeout = %v, want a bound of at most 5 minutes", srv.IdleTimeout)
	}
	if srv.Handler == nil {
		t.Error("no handler")
	}
}
