package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/leaktest"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }

// demo serves the chat demo on ln until stop is called.
func demo(t *testing.T, ln net.Listener) (stop func()) {
	var conns ws.Group
	h := hub.New()
	srv := &http.Server{Handler: chatapp.NewMux(&conns, h)}
	go srv.Serve(ln)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		conns.Shutdown(ctx)
		h.Close()
	}
	t.Cleanup(stop)
	return stop
}

// waitOnline reads the demo's chat.watch stream with c until name is
// online.
func waitOnline(t *testing.T, c *wsclient.Client, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wstest.Timeout(c))
	defer cancel()
	for stats, err := range wsclient.Stream[chatapp.RoomStats](ctx, c, "chat.watch", chatapp.WatchRequest{}) {
		if err != nil {
			t.Fatalf("waiting for %s in chat.watch: %v", name, err)
		}
		if slices.Contains(stats.Online, name) {
			return
		}
	}
	t.Fatalf("chat.watch ended before %s was online", name)
}

// The bot in the demo's room: it answers mentions, and joins again after
// the demo restarts.
func TestBotInTheDemo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	url := "ws://" + addr + "/ws"
	stop := demo(t, ln)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, url, "bot", slog.New(slog.NewTextHandler(io.Discard, nil))) }()

	ana := wstest.DialURL(t, url)
	waitOnline(t, ana, "bot")
	if _, err := wsclient.Call[chatapp.Joined](ctx, ana, "chat.join", chatapp.JoinRequest{User: "ana"}); err != nil {
		t.Fatal(err)
	}
	say := func(c *wsclient.Client, text string) {
		t.Helper()
		if _, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: text}); err != nil {
			t.Fatal(err)
		}
	}
	say(ana, "@bot are you there?")
	m := wstest.NextPush[ChatMessage](t, ana, "chat.message")
	if m.User != "bot" || m.Message != "@ana you said: are you there?" {
		t.Fatalf("answer = %+v", m)
	}
	say(ana, "no mention here")
	say(ana, "@BOT time")
	// Answers come in order: the one to "time" is next, so the message
	// without a mention got none.
	m = wstest.NextPush[ChatMessage](t, ana, "chat.message")
	if m.User != "bot" || !strings.HasPrefix(m.Message, "@ana it is ") || !strings.HasSuffix(m.Message, " UTC") {
		t.Fatalf("answer to time = %+v", m)
	}

	// The demo restarts: the bot is back in the room, and answers.
	stop()
	wstest.Closed(t, ana, websocket.StatusGoingAway)
	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Fatal(err)
	}
	demo(t, ln)
	ben := wstest.DialURL(t, url)
	waitOnline(t, ben, "bot")
	if _, err := wsclient.Call[chatapp.Joined](ctx, ben, "chat.join", chatapp.JoinRequest{User: "ben"}); err != nil {
		t.Fatal(err)
	}
	say(ben, "hello @bot")
	m = wstest.NextPush[ChatMessage](t, ben, "chat.message")
	if m.User != "bot" || m.Message != "@ben you said: hello" {
		t.Fatalf("answer after the restart = %+v", m)
	}

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("run = %v", err)
	}
}

func TestAnswer(t *testing.T) {
	for _, tt := range []struct {
		in   ChatMessage
		want string
	}{
		{ChatMessage{Message: "hello all", User: "ana"}, ""},
		{ChatMessage{Message: "@bot", User: "ana"}, `@ana say "@bot time", or anything and I repeat it`},
		{ChatMessage{Message: "hi @Bot, how are you", User: "ben"}, "@ben you said: hi how are you"},
		{ChatMessage{Message: "write to @botany", User: "ben"}, ""},
		{ChatMessage{Message: "@bot hi", User: "bot"}, ""},
	} {
		got, _ := answer("bot", tt.in)
		if got != tt.want {
			t.Errorf("answer(%q) = %q, want %q", tt.in.Message, got, tt.want)
		}
	}
}
