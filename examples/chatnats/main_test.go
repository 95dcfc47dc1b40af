package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
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
	b := natsbroker.New(nc)
	t.Cleanup(func() { b.Close() })
	h := hub.New(hub.WithBroker(b))
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(chatapp.NewMux(new(ws.Group), h))
	t.Cleanup(srv.Close)
	return srv
}

type message struct {
	StatusCode int `json:"statusCode"`
	Body       struct {
		Message string `json:"message"`
		User    string `json:"user"`
	} `json:"body"`
}

func join(t *testing.T, srv *httptest.Server, user string) *websocket.Conn {
	t.Helper()
	ctx := t.Context()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	// The first reply tells that the connection is in the room.
	if err := wsjson.Write(ctx, c, map[string]string{"message": "hello", "user": user}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, c); got.StatusCode != 200 || got.Body.User != user {
		t.Fatalf("first reply: %+v", got)
	}
	return c
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

// Two chat servers on one NATS server share the room: a message sent to
// one reaches the clients of the other, exactly once and in order.
func TestRoomsSharedOverNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	a, b := chatServer(t, ns.ClientURL()), chatServer(t, ns.ClientURL())

	ana := join(t, a, "Ana")
	// Server a subscribes to the room at NATS as Ana joins; wait until NATS
	// has the subscription, so that Bo's hello reaches her.
	for ns.NumSubscriptions() == 0 {
		time.Sleep(time.Millisecond)
	}
	bo := join(t, b, "Bo")
	// Bo joined after Ana's hello, so Ana hears Bo's hello first.
	if got := read(t, ana); got.Body.User != "Bo" || got.Body.Message != "hello" {
		t.Fatalf("Ana got %+v, want Bo's hello", got)
	}
	for _, text := range []string{"one", "two", "three"} {
		if err := wsjson.Write(t.Context(), ana, map[string]string{"message": text, "user": "Ana"}); err != nil {
			t.Fatal(err)
		}
		if got := read(t, ana); got.StatusCode != 200 || got.Body.Message != text {
			t.Fatalf("Ana's reply: %+v", got)
		}
	}
	for _, text := range []string{"one", "two", "three"} {
		if got := read(t, bo); got.StatusCode != 200 || got.Body.User != "Ana" || got.Body.Message != text {
			t.Fatalf("Bo got %+v, want Ana's %q", got, text)
		}
	}
	// Nothing more for Bo: one copy of each message.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	var extra json.RawMessage
	if err := wsjson.Read(ctx, bo, &extra); err == nil {
		t.Fatalf("Bo got an extra message: %s", extra)
	}
}
