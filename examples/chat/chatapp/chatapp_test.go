package chatapp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
)

// wantRefusal fails the test unless f is a reply with status and one
// errorList entry of type typ at loc.
func wantRefusal(t *testing.T, f frame, status int, loc []any, typ string) ws.ErrorDetail {
	t.Helper()
	if f.StatusCode != status {
		t.Fatalf("%s: want status %d", f.raw, status)
	}
	errs := f.errors(t)
	if len(errs) != 1 || errs[0].Type != typ || !reflect.DeepEqual(errs[0].Loc, loc) || errs[0].Msg == "" {
		t.Fatalf("%s: want one error of type %q at %v", f.raw, typ, loc)
	}
	return errs[0]
}

// TestSendStampsTheJoinedName: chat.send replies 200 with the message under
// the name the connection joined with, whatever "user" the data names, and
// the others get it as chat.message; the sender does not.
func TestSendStampsTheJoinedName(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	ben := joined(t, srv, "Ben")

	r := ana.call("chat.send", map[string]string{"message": "Hola, Ben", "user": "Ben"})
	got := message(t, r)
	if r.StatusCode != 200 || r.Event != "chat.send" || got.Message != "Hola, Ben" || got.User != "Ana" {
		t.Fatalf("reply %s: want 200 with Ana's message", r.raw)
	}
	if got.Time.IsZero() || got.Time.Location() != time.UTC {
		t.Errorf("reply %s: want the time in UTC", r.raw)
	}
	var raw map[string]any
	json.Unmarshal(r.Body, &raw)
	if _, ok := raw["time"].(string); !ok || len(raw) != 3 {
		t.Errorf("body %s: want message, user and time", r.Body)
	}

	p := ben.push()
	if p.Event != "chat.message" || p.StatusCode != 200 || string(p.Body) != string(r.Body) {
		t.Fatalf("Ben got %s, want chat.message with the body of Ana's reply %s", p.raw, r.Body)
	}
	// The hub queues each member's pushes in order: had Ana been sent her
	// own message, it would come before Ben's.
	ben.call("chat.send", map[string]string{"message": "Hi Ana"})
	if p := ana.push(); message(t, p).Message != "Hi Ana" {
		t.Errorf("Ana's first push is %s, want Ben's message only", p.raw)
	}
}

// TestJoin: a name is chosen once per connection, is unique in the room
// (spaces and case aside), and is free again once its connection ends.
func TestJoin(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := dial(t, srv, "/ws")
	r := ana.call("chat.join", map[string]string{"user": "  Ana "})
	if r.StatusCode != 200 || string(r.Body) != `{"user":"Ana"}` {
		t.Fatalf("join: %s, want 200 with the trimmed name", r.raw)
	}
	if r := ana.call("chat.join", map[string]string{"user": "Ana"}); r.StatusCode != 200 {
		t.Errorf("joining again with the same name: %s, want 200", r.raw)
	}
	wantRefusal(t, ana.call("chat.join", map[string]string{"user": "Anabel"}), 409, []any{"user"}, "already_joined")

	other := dial(t, srv, "/ws")
	for _, name := range []string{"Ana", "ana", " ANA"} {
		d := wantRefusal(t, other.call("chat.join", map[string]string{"user": name}), 409, []any{"user"}, "name_taken")
		if !strings.Contains(d.Msg, `"`+strings.TrimSpace(name)+`"`) {
			t.Errorf("409 for %q says %q: want the name in it", name, d.Msg)
		}
	}

	// Once Ana's connection has ended, the room's stats no longer list her
	// and her name is free.
	watch := other.request("chat.watch", map[string]any{})
	ana.conn.Close(websocket.StatusNormalClosure, "")
	for {
		f := other.reply(watch)
		var stats chatapp.RoomStats
		json.Unmarshal(f.Body, &stats)
		if !f.More {
			t.Fatalf("the stream ended: %s", f.raw)
		}
		if !slices.Contains(stats.Online, "Ana") {
			break
		}
	}
	if r := other.call("chat.join", map[string]string{"user": "ana"}); r.StatusCode != 200 {
		t.Errorf("join with a freed name: %s", r.raw)
	}
}

// TestNotJoined: a connection that has not joined may read the history but
// not send or type.
func TestNotJoined(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	lurker := dial(t, srv, "/ws")
	ben := joined(t, srv, "Ben")
	d := wantRefusal(t, lurker.call("chat.send", map[string]string{"message": "Hi", "user": "Ben"}), 403, []any{}, "not_joined")
	if !strings.Contains(d.Msg, "chat.join") {
		t.Errorf("403 says %q: want it to name chat.join", d.Msg)
	}
	wantRefusal(t, lurker.call("chat.typing", map[string]any{}), 403, []any{}, "not_joined")
	if r := lurker.call("chat.history", map[string]any{}); r.StatusCode != 200 || string(r.Body) != "[]" {
		t.Errorf("history: %s, want 200 and []", r.raw)
	}

	// Nothing reached Ben: his first push is the lurker's own, once joined.
	lurker.call("chat.join", map[string]string{"user": "Lu"})
	lurker.call("chat.send", map[string]string{"message": "joined now"})
	if p := ben.push(); p.Event != "chat.message" || message(t, p).Message != "joined now" {
		t.Errorf("Ben's first push is %s, want the message sent after joining", p.raw)
	}
}

// TestHistory: chat.history returns the last 50 messages of the room, from
// /ws and /chat alike, oldest first; limit takes fewer.
func TestHistory(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	old := dial(t, srv, "/chat")
	const sent = 55
	for i := range sent {
		if i%5 == 4 {
			if f := old.callback(chatapp.ChatRequest{Message: fmt.Sprint(i), User: "Cleo"}); f.StatusCode != 200 {
				t.Fatalf("/chat: %s", f.raw)
			}
			continue
		}
		if r := ana.call("chat.send", map[string]string{"message": fmt.Sprint(i)}); r.StatusCode != 200 {
			t.Fatalf("send: %s", r.raw)
		}
	}

	for _, tt := range []struct{ limit, want int }{{0, 50}, {50, 50}, {3, 3}} {
		r := ana.call("chat.history", map[string]int{"limit": tt.limit})
		var got []chatapp.ChatMessage
		if err := json.Unmarshal(r.Body, &got); err != nil || r.StatusCode != 200 || len(got) != tt.want {
			t.Fatalf("history, limit %d: %d messages, want %d (%s)", tt.limit, len(got), tt.want, r.raw)
		}
		for i, m := range got {
			n := sent - tt.want + i
			user := "Ana"
			if n%5 == 4 {
				user = "Cleo"
			}
			if m.Message != fmt.Sprint(n) || m.User != user || m.Time.IsZero() {
				t.Fatalf("history, limit %d: message %d is %+v, want %q from %s", tt.limit, i, m, fmt.Sprint(n), user)
			}
		}
	}
	wantRefusal(t, ana.call("chat.history", map[string]int{"limit": 51}), 400, []any{"limit"}, "less_than_equal")
}

// TestTyping: chat.typing reaches the others on /ws as chat.typing with the
// typist's name, and not /chat clients, which know chat.message only.
func TestTyping(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	ben := joined(t, srv, "Ben")
	old := dial(t, srv, "/chat")
	old.callback(chatapp.ChatRequest{Message: "here", User: "Cleo"})
	ana.push()
	ben.push()

	if r := ana.call("chat.typing", map[string]any{}); r.StatusCode != 204 || string(r.Body) != "null" {
		t.Fatalf("typing: %s, want 204", r.raw)
	}
	if p := ben.push(); p.Event != "chat.typing" || p.StatusCode != 200 || string(p.Body) != `{"user":"Ana"}` {
		t.Errorf("Ben got %s, want chat.typing from Ana", p.raw)
	}
	// Each member's pushes are queued in order: a typing push to Ana or to
	// the /chat client would come before Ben's message.
	ben.call("chat.send", map[string]string{"message": "typed"})
	if f := old.read(); f.Event != "chat.message" || message(t, f).Message != "typed" {
		t.Errorf("/chat client got %s, want the message and no typing", f.raw)
	}
	if p := ana.push(); p.Event != "chat.message" {
		t.Errorf("Ana got %s, want Ben's message and not her own typing", p.raw)
	}
}

// TestWatch: chat.watch streams the room's stats, with each change, until
// $cancel ends it with a final 200.
func TestWatch(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	w := dial(t, srv, "/ws")
	id := w.request("chat.watch", map[string]any{})
	until := func(ok func(chatapp.RoomStats) bool) chatapp.RoomStats {
		t.Helper()
		for {
			f := w.reply(id)
			var s chatapp.RoomStats
			if err := json.Unmarshal(f.Body, &s); err != nil || !f.More || f.StatusCode != 200 || f.Event != "chat.watch" {
				t.Fatalf("stream item %s: %v", f.raw, err)
			}
			if ok(s) {
				return s
			}
		}
	}
	first := until(func(chatapp.RoomStats) bool { return true })
	if first.Online == nil || len(first.Online) != 0 || first.Connections != 1 || first.Messages != 0 {
		t.Errorf("first item %+v: want nobody online, one connection, no messages", first)
	}
	ben := joined(t, srv, "Ben")
	joined(t, srv, "Ana")
	until(func(s chatapp.RoomStats) bool {
		return slices.Equal(s.Online, []string{"Ana", "Ben"}) && s.Connections == 3
	})
	ben.call("chat.send", map[string]string{"message": "counted"})
	until(func(s chatapp.RoomStats) bool { return s.Messages == 1 })

	w.send(map[string]string{"event": "$cancel", "id": id})
	for {
		f := w.reply(id)
		if !f.More {
			if f.StatusCode != 200 || string(f.Body) != "null" {
				t.Errorf("final reply %s: want 200 and null", f.raw)
			}
			break
		}
	}
}

// TestValidation: what the request types refuse, with a 400 errorList, on
// /ws and on /chat; a whitespace-only text is refused by the notblank tag.
func TestValidation(t *testing.T) {
	t.Parallel()
	blank := ws.ErrorDetail{Loc: []any{"message"}, Type: "string_blank", Msg: "String should not be blank"}
	tests := []struct {
		name  string
		event string // "" sends to /chat
		data  any
		want  ws.ErrorDetail
	}{
		{"blank message", "chat.send", map[string]string{"message": " \t\n "}, blank},
		{"empty message", "chat.send", map[string]string{"message": ""},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "missing", Msg: "Field required"}},
		{"long message", "chat.send", map[string]string{"message": strings.Repeat("a", 501)},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "string_too_long", Msg: "String should have at most 500 characters"}},
		{"blank name", "chat.join", map[string]string{"user": "\u00a0 "},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_blank", Msg: "String should not be blank"}},
		{"long name", "chat.join", map[string]string{"user": strings.Repeat("a", 33)},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_too_long", Msg: "String should have at most 32 characters"}},
		{"/chat: blank message", "", chatapp.ChatRequest{Message: "   ", User: "Cleo"}, blank},
		{"/chat: empty message", "", chatapp.ChatRequest{Message: "", User: "Cleo"},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "missing", Msg: "Field required"}},
		{"/chat: blank user", "", chatapp.ChatRequest{Message: "hi", User: " "},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_blank", Msg: "String should not be blank"}},
		{"/chat: long user", "", chatapp.ChatRequest{Message: "hi", User: strings.Repeat("a", 33)},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_too_long", Msg: "String should have at most 32 characters"}},
	}
	srv, _ := newServer(t)
	ben := joined(t, srv, "Ben")
	ana := joined(t, srv, "Ana")
	old := dial(t, srv, "/chat")
	for _, tt := range tests {
		var f frame
		if tt.event == "" {
			f = old.callback(tt.data)
		} else {
			f = ana.call(tt.event, tt.data)
		}
		if errs := f.errors(t); f.StatusCode != 400 || len(errs) != 1 || !reflect.DeepEqual(errs[0], tt.want) {
			t.Errorf("%s: got %s, want a 400 with %+v", tt.name, f.raw, tt.want)
		}
	}

	// Refused messages reach nobody, and the connections stay open.
	ana.call("chat.send", map[string]string{"message": "valid"})
	if p := ben.push(); message(t, p).Message != "valid" {
		t.Errorf("Ben got %s, want only the valid message", p.raw)
	}
}

// TestChatAndWsShareTheRoom: a /chat client and a /ws client see each
// other's messages, the /chat client getting chat.message as it is; a /chat
// message naming a user joined on /ws is refused with 409.
func TestChatAndWsShareTheRoom(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	ben := joined(t, srv, "Ben")
	old := dial(t, srv, "/chat")

	r := old.callback(chatapp.ChatRequest{Message: "from /chat", User: "Cleo"})
	if got := message(t, r); r.StatusCode != 200 || r.Event != "" || got.User != "Cleo" || got.Message != "from /chat" {
		t.Fatalf("/chat reply %s: want the 200 envelope of Cleo's message", r.raw)
	}
	if p := ana.push(); p.Event != "chat.message" || string(p.Body) != string(r.Body) {
		t.Fatalf("Ana got %s, want chat.message with %s", p.raw, r.Body)
	}

	sent := ana.call("chat.send", map[string]string{"message": "from /ws"})
	push := old.read()
	if push.Event != "chat.message" || push.StatusCode != 200 || push.ID != nil || string(push.Body) != string(sent.Body) {
		t.Fatalf("/chat client got %s, want the chat.message push of %s", push.raw, sent.Body)
	}
	if b := ben.next(func(f frame) bool { return message(t, f).Message == "from /ws" }); string(b.raw) != string(push.raw) {
		t.Errorf("/chat client got %s, /ws client %s: want the same push", push.raw, b.raw)
	}

	for _, name := range []string{"Ana", " ana"} {
		wantRefusal(t, old.callback(chatapp.ChatRequest{Message: "I am Ana", User: name}), 409, []any{"user"}, "name_taken")
	}
	// Nothing reached Ben: his next message from the room is Ana's.
	ana.call("chat.send", map[string]string{"message": "the real Ana"})
	if p := ben.next(func(f frame) bool {
		return message(t, f).Message != "from /ws" && message(t, f).Message != "from /chat"
	}); message(t, p).Message != "the real Ana" {
		t.Errorf("Ben got %s, want the real Ana's message", p.raw)
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	c := dial(t, srv, "/echo")
	for _, msg := range []any{map[string]string{"message": "Hi"}, []int{1, 2}} {
		c.send(msg)
		if f := c.read(); string(f.raw) != `{"Hola":"Mundo"}` {
			t.Errorf("echo answered %s", f.raw)
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

// TestShutdownSendsGoingAway: the group's shutdown closes /ws, /chat and
// /echo connections with 1001, streams included.
func TestShutdownSendsGoingAway(t *testing.T) {
	t.Parallel()
	srv, conns := newServer(t)
	live := joined(t, srv, "Ana")
	watch := live.request("chat.watch", map[string]any{})
	live.reply(watch)
	old := dial(t, srv, "/chat")
	old.callback(chatapp.ChatRequest{Message: "hello", User: "Cleo"})
	echo := dial(t, srv, "/echo")
	echo.send(map[string]string{"x": "y"})
	echo.read()

	done := make(chan error, 1)
	go func() { done <- conns.Shutdown(context.Background()) }()
	for _, c := range []*client{live, old, echo} {
		for {
			_, _, err := c.conn.Read(t.Context())
			if err != nil {
				if websocket.CloseStatus(err) != websocket.StatusGoingAway {
					t.Errorf("read after shutdown: %v, want close 1001", err)
				}
				break
			}
		}
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
	srv := chatapp.NewServer(new(ws.Group), hub.New())
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
