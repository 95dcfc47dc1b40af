package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/leaktest"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
)

func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }

// chatRouter is a small stand-in for the demo's /ws: chat.join names the
// connection and puts it in the room; chat.send stamps the name and pushes
// chat.message to the others.
// Each name that joins is sent on joins.
func chatRouter(t *testing.T, joins chan<- string) *ws.Router {
	h := hub.New()
	t.Cleanup(func() { h.Close() })
	r := ws.NewRouter()
	message := ws.Emits[ChatMessage](r, "chat.message")
	ws.On(r, "chat.join", func(ctx context.Context, in JoinRequest) (JoinRequest, error) {
		conn := ws.ConnFromContext(ctx)
		conn.Set("user", in.User)
		err := h.Join(conn, "lobby")
		joins <- in.User
		return in, err
	})
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
		conn := ws.ConnFromContext(ctx)
		user, ok := conn.Get("user").(string)
		if !ok {
			return ChatMessage{}, ws.Forbidden("join first")
		}
		m := ChatMessage{Message: in.Message, User: user, Time: time.Now().UTC()}
		return m, h.BroadcastExcept(ctx, "lobby", conn, message.Push(m))
	})
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { h.LeaveAll(conn) })
	return r
}

func TestBotAnswersMentions(t *testing.T) {
	joins := make(chan string, 2)
	srv := wstest.NewServer(t, chatRouter(t, joins))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, srv.URL, "bot", slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()

	if name := <-joins; name != "bot" {
		t.Fatalf("%q joined, want bot", name)
	}
	ana := srv.Dial(t, "")
	if _, err := wsclient.Call[JoinRequest](ctx, ana, "chat.join", JoinRequest{User: "ana"}); err != nil {
		t.Fatal(err)
	}
	<-joins
	if _, err := wsclient.Call[ChatMessage](ctx, ana, "chat.send", SendRequest{Message: "@bot are you there?"}); err != nil {
		t.Fatal(err)
	}
	m := wstest.NextPush[ChatMessage](t, ana, "chat.message")
	if m.User != "bot" || m.Message != "@ana you said: are you there?" {
		t.Fatalf("answer = %+v", m)
	}
	if _, err := wsclient.Call[ChatMessage](ctx, ana, "chat.send", SendRequest{Message: "no mention here"}); err != nil {
		t.Fatal(err)
	}
	if _, err := wsclient.Call[ChatMessage](ctx, ana, "chat.send", SendRequest{Message: "@BOT time"}); err != nil {
		t.Fatal(err)
	}
	// Answers come in order: the one to "time" is next, so the message
	// without a mention got none.
	m = wstest.NextPush[ChatMessage](t, ana, "chat.message")
	if m.User != "bot" || !strings.HasPrefix(m.Message, "@ana it is ") || !strings.HasSuffix(m.Message, " UTC") {
		t.Fatalf("answer to time = %+v", m)
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
		{ChatMessage{Message: "hi @bot how are you", User: "ben"}, "@ben you said: hi  how are you"},
		{ChatMessage{Message: "@bot hi", User: "bot"}, ""},
	} {
		got, _ := answer("bot", tt.in)
		if got != tt.want {
			t.Errorf("answer(%q) = %q, want %q", tt.in.Message, got, tt.want)
		}
	}
}
