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
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestSendStampsTheJoinedName: chat.send replies 200 with the message under
// the name the connection joined with, whatever "user" the data names, and
// the others get it as chat.message; the sender does not.
func TestSendStampsTheJoinedName(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	ben := joined(t, srv, "Ben")

	raw, err := wsclient.Call[json.RawMessage](t.Context(), ana.Client, "chat.send",
		map[string]string{"message": "Hola, Ben", "user": "Ben"})
	if err != nil {
		t.Fatal(err)
	}
	var got chatapp.ChatMessage
	var fields map[string]any
	json.Unmarshal(raw, &got)
	json.Unmarshal(raw, &fields)
	if got.Message != "Hola, Ben" || got.User != "Ana" || got.Time.IsZero() || got.Time.Location() != time.UTC {
		t.Fatalf("reply %s: want Ana's message, with its time in UTC", raw)
	}
	if _, ok := fields["time"].(string); !ok || len(fields) != 3 {
		t.Errorf("body %s: want message, user and time", raw)
	}
	if m := ben.message(); m != got {
		t.Fatalf("Ben got %+v, want Ana's message %+v", m, got)
	}
	// The hub queues each member's pushes in order: had Ana been sent her
	// own message, it would come before Ben's.
	ben.send("Hi Ana")
	if m := ana.message(); m.Message != "Hi Ana" || m.User != "Ben" {
		t.Errorf("Ana's first push is %+v, want Ben's message only", m)
	}
}

// TestJoin: a name is chosen once per connection, is unique in the room
// (spaces and case aside), and is free again once its connection ends.
func TestJoin(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ctx := t.Context()
	join := func(c *client, user string) (chatapp.Joined, error) {
		return wsclient.Call[chatapp.Joined](ctx, c.Client, "chat.join", chatapp.JoinRequest{User: user})
	}
	ana := dial(t, srv, "/ws")
	if j, err := join(ana, "  Ana "); err != nil || j.User != "Ana" {
		t.Fatalf("join: %+v, %v; want the trimmed name", j, err)
	}
	if j, err := join(ana, "Ana"); err != nil || j.User != "Ana" {
		t.Errorf("joining again with the same name: %+v, %v", j, err)
	}
	_, err := join(ana, "Anabel")
	refused(t, err, 409, []any{"user"}, "already_joined")

	other := dial(t, srv, "/ws")
	for _, name := range []string{"Ana", "ana", " ANA"} {
		_, err := join(other, name)
		d := refused(t, err, 409, []any{"user"}, "name_taken")
		if !strings.Contains(d.Msg, `"`+strings.TrimSpace(name)+`"`) {
			t.Errorf("409 for %q says %q: want the name in it", name, d.Msg)
		}
	}

	// Once Ana's connection has ended, the room's stats no longer list her
	// and her name is free.
	ana.Close()
	wait, cancel := context.WithTimeout(ctx, wstest.Timeout(other.Client)) // keeps a broken test from hanging
	defer cancel()
	for stats, err := range wsclient.Stream[chatapp.RoomStats](wait, other.Client, "chat.watch", chatapp.WatchRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(stats.Online, "Ana") {
			break
		}
	}
	if _, err := join(other, "ana"); err != nil {
		t.Errorf("join with a freed name: %v", err)
	}
}

// TestNotJoined: a connection that has not joined may read the history but
// not send or type.
func TestNotJoined(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ctx := t.Context()
	lurker := dial(t, srv, "/ws")
	ben := joined(t, srv, "Ben")
	_, err := wsclient.Call[chatapp.ChatMessage](ctx, lurker.Client, "chat.send", map[string]string{"message": "Hi", "user": "Ben"})
	if d := refused(t, err, 403, []any{}, "not_joined"); !strings.Contains(d.Msg, "chat.join") {
		t.Errorf("403 says %q: want it to name chat.join", d.Msg)
	}
	_, err = wsclient.Call[any](ctx, lurker.Client, "chat.typing", chatapp.TypingRequest{})
	refused(t, err, 403, []any{}, "not_joined")
	if h, err := wsclient.Call[json.RawMessage](ctx, lurker.Client, "chat.history", chatapp.HistoryRequest{}); err != nil || string(h) != "[]" {
		t.Errorf("history: %s, %v; want []", h, err)
	}

	// Nothing reached Ben: his first push is the lurker's own, once joined.
	wsclient.Call[chatapp.Joined](ctx, lurker.Client, "chat.join", chatapp.JoinRequest{User: "Lu"})
	lurker.send("joined now")
	if m := ben.message(); m.Message != "joined now" || m.User != "Lu" {
		t.Errorf("Ben's first push is %+v, want the message sent after joining", m)
	}
}

// TestHistory: chat.history returns the last 50 messages of the room, from
// /ws and /chat alike, oldest first; limit takes fewer. The messages come
// from six addresses, each within its rate limit (10 at once).
func TestHistory(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	var posters []*client
	for i := range 5 {
		posters = append(posters, joinedFrom(t, srv, fmt.Sprint("Ana", i), fmt.Sprint("127.0.0.", 10+i)))
	}
	old := dialFrom(t, srv, "/chat", "127.0.0.20")
	const sent = 55
	author := func(n int) string {
		if n%6 == 5 {
			return "Cleo"
		}
		return fmt.Sprint("Ana", n%6)
	}
	for i := range sent {
		if i%6 == 5 {
			old.post("Cleo", fmt.Sprint(i))
		} else {
			posters[i%6].send(fmt.Sprint(i))
		}
	}

	for _, tt := range []struct{ limit, want int }{{0, 50}, {50, 50}, {3, 3}} {
		got, err := wsclient.Call[[]chatapp.ChatMessage](t.Context(), posters[0].Client, "chat.history", chatapp.HistoryRequest{Limit: tt.limit})
		if err != nil || len(got) != tt.want {
			t.Fatalf("history, limit %d: %d messages, %v; want %d", tt.limit, len(got), err, tt.want)
		}
		for i, m := range got {
			n := sent - tt.want + i
			if m.Message != fmt.Sprint(n) || m.User != author(n) || m.Time.IsZero() {
				t.Fatalf("history, limit %d: message %d is %+v, want %q from %s", tt.limit, i, m, fmt.Sprint(n), author(n))
			}
		}
	}
	_, err := wsclient.Call[[]chatapp.ChatMessage](t.Context(), posters[0].Client, "chat.history", chatapp.HistoryRequest{Limit: 51})
	refused(t, err, 400, []any{"limit"}, "less_than_equal")
}

// TestTyping: chat.typing reaches the others on /ws as chat.typing with the
// typist's name, and not /chat clients, which know chat.message only.
func TestTyping(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	ben := joined(t, srv, "Ben")
	old := dial(t, srv, "/chat")
	old.post("Cleo", "here") // Connect has run: the /chat client is in the room
	ana.message()
	ben.message()

	env, err := wsclient.Call[ws.StatusEnvelope[json.RawMessage]](t.Context(), ana.Client, "chat.typing", chatapp.TypingRequest{})
	if err != nil || env.StatusCode != 204 {
		t.Fatalf("typing: %+v, %v; want 204", env, err)
	}
	if p := ben.push(); p.Event != "chat.typing" || p.Status != 200 || string(p.Body) != `{"user":"Ana"}` {
		t.Errorf("Ben got %q %d %s, want chat.typing from Ana", p.Event, p.Status, p.Body)
	}
	// Each member's pushes are queued in order: a typing push to Ana or to
	// the /chat client would come before Ben's message.
	ben.send("typed")
	if m := old.message(); m.Message != "typed" {
		t.Errorf("/chat client got %+v, want the message and no typing", m)
	}
	if m := ana.message(); m.Message != "typed" {
		t.Errorf("Ana got %+v, want Ben's message and not her own typing", m)
	}
}

// TestWatch: chat.watch streams the room's stats, with each change, until
// the client stops it.
func TestWatch(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	w := dial(t, srv, "/ws")
	var ben, ana *client
	step := 0
	wait, cancel := context.WithTimeout(t.Context(), wstest.Timeout(w.Client)) // keeps a broken test from hanging
	defer cancel()
	for s, err := range wsclient.Stream[chatapp.RoomStats](wait, w.Client, "chat.watch", chatapp.WatchRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case step == 0:
			if s.Online == nil || len(s.Online) != 0 || s.Connections != 1 || s.Messages != 0 {
				t.Errorf("first item %+v: want nobody online, one connection, no messages", s)
			}
			ben = dial(t, srv, "/ws")
			ana = dial(t, srv, "/ws")
			step++
		case step == 1 && s.Connections == 3:
			// Nothing but the joins changes the stats from here.
			for _, c := range []struct {
				*client
				name string
			}{{ben, "Ben"}, {ana, "Ana"}} {
				if _, err := wsclient.Call[chatapp.Joined](t.Context(), c.Client, "chat.join", chatapp.JoinRequest{User: c.name}); err != nil {
					t.Fatal(err)
				}
			}
			step++
		case step == 2 && slices.Equal(s.Online, []string{"Ana", "Ben"}):
			ben.send("counted")
			step++
		case step == 3 && s.Messages == 1:
			step++
		}
		if step == 4 {
			break // $cancel
		}
	}
	if step != 4 {
		t.Fatalf("the stream ended at step %d", step)
	}
}

// TestWatchCancel: $cancel ends the stream with a final 200 without "more",
// on the wire the page reads.
func TestWatchCancel(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	c, _, err := websocket.Dial(t.Context(), srv.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	read := func() wstest.Frame {
		var f wstest.Frame
		if err := wsjson.Read(t.Context(), c, &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	wsjson.Write(t.Context(), c, map[string]any{"event": "chat.watch", "id": "w", "data": struct{}{}})
	if f := read(); string(f.ID) != `"w"` || !f.More {
		t.Fatalf("first item %+v", f)
	}
	wsjson.Write(t.Context(), c, map[string]any{"event": "$cancel", "id": "w"})
	for {
		if f := read(); !f.More {
			if string(f.ID) != `"w"` || f.StatusCode != 200 || string(f.Body) != "null" {
				t.Errorf("final reply %+v: want 200 and null", f)
			}
			return
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
		{"blank message", "chat.send", chatapp.SendRequest{Message: " \t\n "}, blank},
		{"empty message", "chat.send", chatapp.SendRequest{Message: ""},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "missing", Msg: "Field required"}},
		{"long message", "chat.send", chatapp.SendRequest{Message: strings.Repeat("a", 501)},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "string_too_long", Msg: "String should have at most 500 characters"}},
		{"blank name", "chat.join", chatapp.JoinRequest{User: "\u00a0 "},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "name_blank", Msg: "Name should hold a letter or a digit"}},
		{"long name", "chat.join", chatapp.JoinRequest{User: strings.Repeat("a", 25)},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_too_long", Msg: "String should have at most 24 characters"}},
		{"/chat: blank message", "", chatapp.ChatRequest{Message: "   ", User: "Cleo"}, blank},
		{"/chat: empty message", "", chatapp.ChatRequest{Message: "", User: "Cleo"},
			ws.ErrorDetail{Loc: []any{"message"}, Type: "missing", Msg: "Field required"}},
		{"/chat: blank user", "", chatapp.ChatRequest{Message: "hi", User: " "},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "name_blank", Msg: "Name should hold a letter or a digit"}},
		{"/chat: long user", "", chatapp.ChatRequest{Message: "hi", User: strings.Repeat("a", 25)},
			ws.ErrorDetail{Loc: []any{"user"}, Type: "string_too_long", Msg: "String should have at most 24 characters"}},
	}
	srv, _ := newServer(t)
	ben := joined(t, srv, "Ben")
	ana := joined(t, srv, "Ana")
	old := dial(t, srv, "/chat")
	for _, tt := range tests {
		var err error
		if tt.event == "" {
			_, err = wsclient.Send[chatapp.ChatMessage](t.Context(), old.Client, tt.data)
		} else {
			_, err = wsclient.Call[json.RawMessage](t.Context(), ana.Client, tt.event, tt.data)
		}
		if got := refused(t, err, 400, tt.want.Loc, tt.want.Type); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}

	// Refused messages reach nobody, and the connections stay open.
	ana.send("valid")
	if m := ben.message(); m.Message != "valid" {
		t.Errorf("Ben got %+v, want only the valid message", m)
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

	if got := old.post("Cleo", "from /chat"); got.User != "Cleo" || got.Message != "from /chat" {
		t.Fatalf("/chat reply %+v: want Cleo's message", got)
	}
	if m := ana.message(); m.User != "Cleo" || m.Message != "from /chat" {
		t.Fatalf("Ana got %+v, want Cleo's message", m)
	}
	ben.message()

	sent := ana.send("from /ws")
	push := old.push()
	var m chatapp.ChatMessage
	json.Unmarshal(push.Body, &m)
	if push.Event != "chat.message" || push.Status != 200 || m != sent {
		t.Fatalf("/chat client got %q %d %s, want the chat.message push of %+v", push.Event, push.Status, push.Body, sent)
	}
	if b := ben.push(); b.Event != push.Event || string(b.Body) != string(push.Body) {
		t.Errorf("/chat client got %s, /ws client %s: want the same push", push.Body, b.Body)
	}

	for _, name := range []string{"Ana", " ana"} {
		_, err := wsclient.Send[chatapp.ChatMessage](t.Context(), old.Client, chatapp.ChatRequest{Message: "I am Ana", User: name})
		refused(t, err, 409, []any{"user"}, "name_taken")
	}
	// Nothing reached Ben: his next message is the real Ana's.
	ana.send("the real Ana")
	if m := ben.message(); m.Message != "the real Ana" {
		t.Errorf("Ben got %+v, want the real Ana's message", m)
	}
}

// TestEcho: GET /echo answers every JSON message with {"Hola":"Mundo"},
// read with a plain client: no envelope.
func TestEcho(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	c, _, err := websocket.Dial(t.Context(), srv.URL+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, msg := range []any{map[string]string{"message": "Hi"}, []int{1, 2}} {
		if err := wsjson.Write(t.Context(), c, msg); err != nil {
			t.Fatal(err)
		}
		if _, data, err := c.Read(t.Context()); err != nil || string(data) != `{"Hola":"Mundo"}` {
			t.Errorf("echo answered %s, %v", data, err)
		}
	}
}

func TestPage(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	for _, path := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(srv.Server.URL + path)
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

// TestShutdownSendsGoingAway: the group's shutdown closes /ws (with a
// stream open), /chat and /echo connections with 1001.
func TestShutdownSendsGoingAway(t *testing.T) {
	t.Parallel()
	srv, conns := newServer(t)
	live := joined(t, srv, "Ana")
	streaming := make(chan struct{}, 1)
	go func() {
		for range wsclient.Stream[chatapp.RoomStats](t.Context(), live.Client, "chat.watch", chatapp.WatchRequest{}) {
			select {
			case streaming <- struct{}{}:
			default:
			}
		}
	}()
	<-streaming
	old := dial(t, srv, "/chat")
	old.post("Cleo", "hello")
	echo, _, err := websocket.Dial(t.Context(), srv.URL+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer echo.CloseNow()
	wsjson.Write(t.Context(), echo, "hi")
	echo.Read(t.Context())

	done := make(chan error, 1)
	go func() { done <- conns.Shutdown(context.Background()) }()
	wstest.Closed(t, live.Client, websocket.StatusGoingAway)
	wstest.Closed(t, old.Client, websocket.StatusGoingAway)
	if _, _, err := echo.Read(t.Context()); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("/echo read after shutdown: %v, want close 1001", err)
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
	srv := chatapp.NewServer(new(ws.Group), hub.New(), nil)
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

// TestSendRateLimit: chat.send takes 10 messages at once (and more as
// tokens come back, 2 a second), then answers 429 and posts nothing;
// typing has a limit of its own, and history only the limit of every
// message.
func TestSendRateLimit(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	posted := 0
	for {
		_, err := wsclient.Call[chatapp.ChatMessage](t.Context(), ana.Client, "chat.send", chatapp.SendRequest{Message: fmt.Sprint(posted)})
		if err == nil {
			if posted++; posted == 40 {
				t.Fatal("40 messages posted, none refused")
			}
			continue
		}
		d := refused(t, err, 429, []any{}, "rate_limited")
		if d.Msg != "Rate limit exceeded: at most 2 messages per second, in bursts of 10" {
			t.Fatalf("429 message %q", d.Msg)
		}
		break
	}
	if posted < 10 {
		t.Fatalf("refused after %d messages, want a burst of 10", posted)
	}
	if _, err := wsclient.Call[any](t.Context(), ana.Client, "chat.typing", chatapp.TypingRequest{}); err != nil {
		t.Fatalf("typing after the limit: %v", err)
	}
	got, err := wsclient.Call[[]chatapp.ChatMessage](t.Context(), ana.Client, "chat.history", chatapp.HistoryRequest{})
	if err != nil || len(got) != posted || got[posted-1].Message != fmt.Sprint(posted-1) {
		t.Fatalf("history: %d messages, %v; want the %d posted", len(got), err, posted)
	}
}

// TestHistoryShared: with KeepHistory and a broker that keeps history,
// chat.history on one server reads the messages posted on another.
func TestHistoryShared(t *testing.T) {
	t.Parallel()
	b := new(hub.MemoryBroker)
	server := func() *wstest.Server {
		h := hub.New(hub.WithBroker(b), chatapp.KeepHistory)
		t.Cleanup(func() { h.Close() })
		return wstest.NewServer(t, chatapp.NewMux(new(ws.Group), h))
	}
	one, two := server(), server()
	ana := joined(t, one, "Ana")
	for i := range 3 {
		ana.send(fmt.Sprint(i))
	}
	ben := joined(t, two, "Ben")
	got, err := wsclient.Call[[]chatapp.ChatMessage](t.Context(), ben.Client, "chat.history", chatapp.HistoryRequest{})
	if err != nil || len(got) != 3 {
		t.Fatalf("history on the other server: %+v, %v; want Ana's 3 messages", got, err)
	}
	for i, m := range got {
		if m.Message != fmt.Sprint(i) || m.User != "Ana" {
			t.Fatalf("message %d is %+v", i, m)
		}
	}
}
