package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// chatServer is one chat server with its own hub and NATS connection.
func chatServer(t *testing.T, natsURL string) *httptest.Server {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	b, err := natsbroker.NewJetStream(t.Context(), nc, natsbroker.Stream{MaxPerRoom: 1000, MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h := hub.New(hub.WithBroker(b), chatapp.KeepHistory)
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(chatapp.NewMux(new(ws.Group), h))
	t.Cleanup(srv.Close)
	return srv
}

type message struct {
	Event      string `json:"event"`
	Room       string `json:"room"`
	Epoch      string `json:"epoch"`
	Offset     uint64 `json:"offset"`
	StatusCode int    `json:"statusCode"`
	Body       struct {
		Message string `json:"message"`
		User    string `json:"user"`
	} `json:"body"`
}

func dial(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	return dialResume(t, srv, "")
}

// dialResume dials /chat with resume as the resume parameter.
func dialResume(t *testing.T, srv *httptest.Server, resume string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat"
	if resume != "" {
		u += "?resume=" + url.QueryEscape(resume)
	}
	c, _, err := websocket.Dial(t.Context(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, user, text string) {
	t.Helper()
	if err := wsjson.Write(t.Context(), c, map[string]string{"message": text, "user": user}); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, c *websocket.Conn) message {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var m message
	if err := wsjson.Read(ctx, c, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Two chat servers on one NATS server with JetStream share the room: a
// message sent to one reaches the clients of the other, exactly once and
// in order.
func TestRoomsSharedOverNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	a, b := chatServer(t, ns.ClientURL()), chatServer(t, ns.ClientURL())

	ana, bo := dial(t, a), dial(t, b)
	following(t, ns, 2)

	texts := []string{"one", "two", "three"}
	for _, text := range texts {
		send(t, ana, "Ana", text)
		if got := read(t, ana); got.StatusCode != 200 || got.Body.Message != text {
			t.Fatalf("Ana's reply: %+v", got)
		}
	}
	for _, text := range texts {
		if got := read(t, bo); got.StatusCode != 200 || got.Body.User != "Ana" || got.Body.Message != text {
			t.Fatalf("Bo got %+v, want Ana's %q", got, text)
		}
	}
	send(t, bo, "Bo", "back")
	if got := read(t, bo); got.Body.Message != "back" {
		t.Fatalf("Bo's reply: %+v", got)
	}
	if got := read(t, ana); got.Body.User != "Bo" || got.Body.Message != "back" {
		t.Fatalf("Ana got %+v, want Bo's message", got)
	}
	// Nothing more for Bo: one copy of each message.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	var extra json.RawMessage
	if err := wsjson.Read(ctx, bo, &extra); err == nil {
		t.Fatalf("Bo got an extra message: %s", extra)
	}
}

// A client that loses its server resumes on the other one: it names the
// last message it got, and gets the $recover, then every message sent
// meanwhile, once and in order, from the room's history in JetStream.
func TestResumeOnAnotherServer(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	a, b := chatServer(t, ns.ClientURL()), chatServer(t, ns.ClientURL())
	ana, bo := dial(t, a), dial(t, b)
	following(t, ns, 2)
	send(t, bo, "Bo", "first")
	if r := read(t, bo); r.StatusCode != 200 {
		t.Fatalf("Bo's post: %+v", r)
	}
	last := read(t, ana)
	if last.Room != "lobby" || last.Epoch == "" || last.Offset == 0 || last.Body.Message != "first" {
		t.Fatalf("Ana got %+v, want the first message with its position", last)
	}
	ana.CloseNow()   // her server is gone
	const missed = 8 // within the burst of the demo's limit on /chat, with "first"
	for i := range missed {
		send(t, bo, "Bo", fmt.Sprint(i))
		read(t, bo)
	}
	ana = dialResume(t, b, fmt.Sprintf(`{"lobby":{"epoch":%q,"offset":%d}}`, last.Epoch, last.Offset))
	var rec struct {
		Event      string `json:"event"`
		StatusCode int    `json:"statusCode"`
		Body       struct {
			Replayed int `json:"replayed"`
		} `json:"body"`
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := wsjson.Read(ctx, ana, &rec); err != nil || rec.Event != "$recover" || rec.StatusCode != 200 || rec.Body.Replayed != missed {
		t.Fatalf("first frame %+v, %v; want $recover 200 with %d replayed", rec, err, missed)
	}
	for i := range missed {
		m := read(t, ana)
		if m.Body.Message != fmt.Sprint(i) || m.Epoch != last.Epoch || m.Offset <= last.Offset {
			t.Fatalf("replayed %+v after %d, want message %d", m, last.Offset, i)
		}
		last = m
	}
}

// A client flooding /chat on one server posts 10 messages (the limit's
// burst, and 2 more a second), and the other server's clients get those;
// the flooder is closed with 1008. The rate limits of examples/chat hold on
// every server.
func TestFloodLimitedAcrossNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	a, b := chatServer(t, ns.ClientURL()), chatServer(t, ns.ClientURL())
	flooder, bo := dial(t, a), dial(t, b)
	following(t, ns, 2)

	const flood = 100
	start := time.Now()
	for i := range flood {
		send(t, flooder, "Flood", fmt.Sprint(i))
	}
	posted, limited := 0, 0
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		var m ws.StatusEnvelope[chatapp.ChatMessage]
		err := wsjson.Read(ctx, flooder, &m)
		cancel()
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("the flooder's connection ended with %v, want 1008", err)
			}
			break
		}
		switch m.StatusCode {
		case 200:
			posted++
		case 429:
			limited++
		}
	}
	// 10 at once, and 2 more a second.
	if most := 10 + int(2*time.Since(start).Seconds()); posted < 10 || posted > most || limited+posted >= flood {
		t.Fatalf("%d of %d messages posted, %d refused with 429: want 10 to %d posted, then the connection closed", posted, flood, limited, most)
	}
	for i := range posted {
		if got := read(t, bo); got.Body.User != "Flood" || got.Body.Message != fmt.Sprint(i) {
			t.Fatalf("Bo got %+v, want the flood's message %d", got, i)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	var extra json.RawMessage
	if err := wsjson.Read(ctx, bo, &extra); err == nil {
		t.Fatalf("Bo got more than the posted messages: %s", extra)
	}
}

// following waits until n consumers of the room's JetStream stream exist:
// each chat server follows the room from the first member it has, and a
// message published before that is history its clients do not get live.
func following(t *testing.T, ns *server.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := ns.Jsz(nil)
		if err != nil {
			t.Fatal(err)
		}
		if info.Consumers >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d consumers of the stream, want %d", info.Consumers, n)
		}
		time.Sleep(time.Millisecond)
	}
}
