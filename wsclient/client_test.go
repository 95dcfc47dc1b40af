package wsclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
)

type SendRequest struct {
	Message string `json:"message" validate:"required,max=500"`
}

type ChatMessage struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

type JoinRequest struct {
	User string `json:"user" validate:"required"`
}

type WatchRequest struct {
	Count int    `json:"count" validate:"gte=0"`
	Fail  string `json:"fail"` // "", "status", "wait"
}

// chat is the Router the tests talk to: a room where everyone who joined
// gets the messages of the others.
type chat struct {
	h        *hub.Hub
	joins    atomic.Int32
	watching chan struct{} // a "wait" stream has started
	canceled chan error    // context.Cause of a "wait" stream once done
	release  chan struct{} // lets "block" calls return: closed by unblock
	unblock  func()
	blocked  chan *ws.Conn // a "block" call has started
}

func newChat(t *testing.T) *chat {
	h := hub.New()
	t.Cleanup(func() { h.Close() })
	ch := &chat{h: h, watching: make(chan struct{}, 16), canceled: make(chan error, 16),
		release: make(chan struct{}), blocked: make(chan *ws.Conn, 16)}
	ch.unblock = sync.OnceFunc(func() { close(ch.release) })
	t.Cleanup(ch.unblock)
	return ch
}

func (ch *chat) router(opts ...ws.RouterOption) *ws.Router {
	r := ws.NewRouter(opts...)
	message := ws.Emits[ChatMessage](r, "chat.message")
	ws.Emits[ChatMessage](r, "chat.welcome")
	ws.On(r, "chat.join", func(ctx context.Context, in JoinRequest) (string, error) {
		conn := ws.ConnFromContext(ctx)
		conn.Set("user", in.User)
		ch.joins.Add(1)
		return "joined", ch.h.Join(conn, "lobby")
	})
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
		conn := ws.ConnFromContext(ctx)
		user, _ := conn.Get("user").(string)
		msg := ChatMessage{Message: in.Message, User: user}
		switch in.Message {
		case "forbidden":
			return ChatMessage{}, ws.Forbidden(map[string]string{"reason": "muted"})
		case "fail":
			return ChatMessage{}, errors.New("database is down")
		}
		return msg, ch.h.BroadcastExcept(ctx, "lobby", conn, message.Push(msg))
	})
	ws.On(r, "chat.create", func(ctx context.Context, in SendRequest) (ws.StatusEnvelope[ChatMessage], error) {
		user, _ := ws.ConnFromContext(ctx).Get("user").(string)
		return ws.Created(ChatMessage{Message: in.Message, User: user}), nil
	})
	ws.On(r, "block", func(ctx context.Context, in struct{}) (string, error) {
		ch.blocked <- ws.ConnFromContext(ctx)
		select {
		case <-ch.release:
			return "released", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	ws.On(r, "double", func(ctx context.Context, in int) (int, error) { return 2 * in, nil })
	ws.Stream(r, "chat.watch", func(ctx context.Context, in WatchRequest, send func(ChatMessage) error) error {
		for i := range in.Count {
			if err := send(ChatMessage{Message: fmt.Sprint(i), User: "watch"}); err != nil {
				return err
			}
		}
		switch in.Fail {
		case "status":
			return ws.NotFound("no such room")
		case "wait":
			ch.watching <- struct{}{}
			<-ctx.Done()
			ch.canceled <- context.Cause(ctx)
		}
		return nil
	})
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error {
		if conn.Request().URL.Query().Has("welcome") {
			return conn.SendJSON(ctx, ws.Push("chat.welcome", ChatMessage{Message: "welcome", User: "System"}))
		}
		return nil
	})
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { ch.h.LeaveAll(conn) })
	return r
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestCall(t *testing.T) {
	t.Parallel()
	c := wstest.Dial(t, newChat(t).router())
	ctx := t.Context()
	joined, err := wsclient.Call[string](ctx, c, "chat.join", JoinRequest{User: "ana"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "join", joined, "joined")
	msg, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "reply", msg, ChatMessage{Message: "hi", User: "ana"})

	// A 400: the errorList, typed.
	_, err = wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{})
	d := wstest.ErrorAt(t, err, "message")
	equal(t, "type", d.Type, "missing")
	equal(t, "msg", d.Msg, "Field required")
	_, err = wsclient.Call[ChatMessage](ctx, c, "chat.send", map[string]any{"message": []int{1}})
	equal(t, "type", wstest.ErrorAt(t, err, "message").Type, "string_type")
	_, err = wsclient.Call[string](ctx, c, "chat.nope", struct{}{})
	equal(t, "unknown event", wstest.ErrorAt(t, err, "event").Type, "union_tag_invalid")

	// Other error statuses: the body as it came.
	_, err = wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: "forbidden"})
	var e *ws.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden {
		t.Fatalf("err = %v, want a 403 *ws.Error", err)
	}
	equal(t, "403 body", string(e.Body.(json.RawMessage)), `{"reason":"muted"}`)
	equal(t, "error text", err.Error(), "ws: 403 Forbidden")
	_, err = wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: "fail"})
	if !errors.As(err, &e) || e.Status != http.StatusInternalServerError {
		t.Fatalf("err = %v, want a 500 *ws.Error", err)
	}
	equal(t, "500 type", e.Body.(ws.ErrorList).Errors[0].Type, "internal_error")

	// A reply that does not decode into the reply type.
	_, err = wsclient.Call[int](ctx, c, "chat.send", SendRequest{Message: "x"})
	if err == nil || !strings.HasPrefix(err.Error(), "wsclient: reply does not decode") {
		t.Fatalf("err = %v, want a decode error", err)
	}
	// A request that does not encode is not sent.
	_, err = wsclient.Call[int](ctx, c, "double", func() {})
	if err == nil || !strings.HasPrefix(err.Error(), "wsclient: request does not encode") {
		t.Fatalf("err = %v, want an encode error", err)
	}
	n, err := wsclient.Call[int](ctx, c, "double", 21)
	if err != nil || n != 42 {
		t.Fatalf("double = %d, %v; want 42", n, err)
	}
	// A ws.StatusEnvelope gets the status too.
	created, err := wsclient.Call[ws.StatusEnvelope[ChatMessage]](ctx, c, "chat.create", SendRequest{Message: "new"})
	equal(t, "envelope", created, ws.Created(ChatMessage{Message: "new", User: "ana"}))
	equal(t, "envelope error", err, nil)
	_, err = wsclient.Call[ws.StatusEnvelope[ChatMessage]](ctx, c, "chat.create", SendRequest{})
	equal(t, "envelope's 400", wstest.ErrorAt(t, err, "message").Type, "missing")
}

func TestPushes(t *testing.T) {
	t.Parallel()
	srv := wstest.NewServer(t, newChat(t).router())
	ctx := t.Context()

	// Handlers registered before Connect see the push sent on connect.
	var mu sync.Mutex
	var got []ChatMessage
	gotOne := make(chan struct{}, 10)
	a := wsclient.New(srv.URL+"?welcome", wsclient.WithUnhandled(func(ctx context.Context, m wsclient.Message) {
		t.Errorf("unhandled frame %+v", m)
	}))
	for _, event := range []string{"chat.welcome", "chat.message"} {
		wsclient.On(a, event, func(ctx context.Context, m ChatMessage) {
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
			gotOne <- struct{}{}
		})
	}
	if err := a.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	<-gotOne

	b := srv.Dial(t, "")
	for _, c := range []*wsclient.Client{a, b} {
		if _, err := wsclient.Call[string](ctx, c, "chat.join", JoinRequest{User: fmt.Sprintf("%p", c)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := wsclient.Call[ChatMessage](ctx, b, "chat.send", SendRequest{Message: "from b"}); err != nil {
		t.Fatal(err)
	}
	<-gotOne
	mu.Lock()
	equal(t, "pushes", fmt.Sprint(got), fmt.Sprintf("[{welcome System} {from b %p}]", b))
	mu.Unlock()

	// b has no handler: wstest keeps its pushes.
	if _, err := wsclient.Call[ChatMessage](ctx, a, "chat.send", SendRequest{Message: "from a"}); err != nil {
		t.Fatal(err)
	}
	equal(t, "b's push", wstest.NextPush[ChatMessage](t, b, "chat.message"), ChatMessage{Message: "from a", User: fmt.Sprintf("%p", a)})
}

func TestStream(t *testing.T) {
	t.Parallel()
	ch := newChat(t)
	c := wstest.Dial(t, ch.router())
	ctx := t.Context()

	var items []string
	for m, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{Count: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, m.Message)
	}
	equal(t, "items", strings.Join(items, ","), "0,1,2")

	// An error ends the stream with one last error.
	items = nil
	var last error
	for m, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{Count: 2, Fail: "status"}) {
		if err != nil {
			last = err
			continue
		}
		items = append(items, m.Message)
	}
	var e *ws.Error
	if !errors.As(last, &e) || e.Status != http.StatusNotFound || string(e.Body.(json.RawMessage)) != `"no such room"` {
		t.Fatalf("last error = %v, want the 404", last)
	}
	equal(t, "items before the error", strings.Join(items, ","), "0,1")
	for _, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{Count: -1}) {
		equal(t, "400", wstest.ErrorAt(t, err, "count").Type, "greater_than_equal")
	}

	// break cancels the stream on the server.
	for m, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{Count: 1, Fail: "wait"}) {
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "item", m.Message, "0")
		<-ch.watching
		break
	}
	if err := <-ch.canceled; !errors.Is(err, ws.ErrStreamCanceled) {
		t.Fatalf("stream's cause = %v, want ErrStreamCanceled", err)
	}
	// So does ctx.
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		<-ch.watching
		cancel()
	}()
	for _, err := range wsclient.Stream[ChatMessage](sctx, c, "chat.watch", WatchRequest{Fail: "wait"}) {
		if err == nil {
			t.Fatal("an item came")
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	}
	if err := <-ch.canceled; !errors.Is(err, ws.ErrStreamCanceled) {
		t.Fatalf("stream's cause = %v, want ErrStreamCanceled", err)
	}
	// The connection goes on.
	if n, err := wsclient.Call[int](ctx, c, "double", 2); err != nil || n != 4 {
		t.Fatalf("double = %d, %v", n, err)
	}
}
