package wsclient_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

// A ws.Callback endpoint: Send matches replies by order; frames with an
// event are pushes; others go to the unhandled function.
func TestSendCallback(t *testing.T) {
	t.Parallel()
	type Req struct {
		N int `json:"n" validate:"gte=0"`
	}
	h := ws.Callback(func(ctx context.Context, conn *ws.Conn) error {
		if err := conn.SendJSON(ctx, ws.Push("hello", "welcome")); err != nil {
			return err
		}
		return conn.SendJSON(ctx, map[string]string{"motd": "be nice"})
	}, func(ctx context.Context, in Req) (int, error) {
		return in.N * 10, nil
	}, nil)
	unhandled := make(chan wsclient.Message, 1)
	srv := wstest.NewServer(t, h)
	c := wsclient.New(srv.URL, wsclient.WithUnhandled(func(ctx context.Context, m wsclient.Message) { unhandled <- m }))
	hello := make(chan string, 1)
	wsclient.On(c, "hello", func(ctx context.Context, s string) { hello <- s })
	ctx := t.Context()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	equal(t, "push", <-hello, "welcome")
	m := <-unhandled
	equal(t, "unhandled", fmt.Sprintf("%q %d %s", m.Event, m.Status, m.Body), `"" 0 {"motd":"be nice"}`)

	// Many goroutines at once: each gets its own reply.
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			n, err := wsclient.Send[int](ctx, c, Req{N: i})
			if err != nil || n != 10*i {
				t.Errorf("Send(%d) = %d, %v; want %d", i, n, err, 10*i)
			}
		})
	}
	wg.Wait()
	env, err := wsclient.Send[ws.StatusEnvelope[int]](ctx, c, Req{N: 2})
	if err != nil || env != ws.Ok(20) {
		t.Fatalf("Send = %+v, %v; want ws.Ok(20)", env, err)
	}
	_, err = wsclient.Send[int](ctx, c, Req{N: -1})
	equal(t, "400", wstest.ErrorAt(t, err, "n").Type, "greater_than_equal")
	_, err = wsclient.Send[int](ctx, c, "not an object")
	wstest.ErrorAt(t, err)
}

// echoInt doubles its request after a random pause, so that replies
// overtake each other; it counts the replies that left before the reply
// to a request that came earlier.
type reorder struct {
	mu       sync.Mutex
	arrived  int
	finished int
	overtook int
}

func (o *reorder) double(ctx context.Context, in int) (int, error) {
	o.mu.Lock()
	o.arrived++
	seq := o.arrived
	o.mu.Unlock()
	time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
	o.mu.Lock()
	o.finished++
	if o.finished < seq {
		o.overtook++
	}
	o.mu.Unlock()
	return 2 * in, nil
}

// 1,000 calls at once on one client, answered 8 at a time by the server:
// each gets its own reply.
func TestConcurrentCalls(t *testing.T) {
	t.Parallel()
	var o reorder
	r := ws.NewRouter(ws.WithConcurrency(8))
	ws.On(r, "double", o.double)
	c := wstest.Dial(t, r)
	ctx := t.Context()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 1000 {
		wg.Go(func() {
			n, err := wsclient.Call[int](ctx, c, "double", i)
			if err != nil || n != 2*i {
				failed.Add(1)
				t.Errorf("double(%d) = %d, %v", i, n, err)
			}
		})
	}
	wg.Wait()
	equal(t, "failed calls", failed.Load(), 0)
	t.Logf("%d of 1000 replies overtook an earlier request's", o.overtook)
}

// A server that answers in the reverse order: every reply still reaches
// its own call.
func TestRepliesOutOfOrder(t *testing.T) {
	t.Parallel()
	const n = 16
	h := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		type msg struct {
			Event string `json:"event"`
			ID    int    `json:"id"`
			Data  int    `json:"data"`
		}
		var got []msg
		for range n {
			var m msg
			if err := conn.ReceiveJSON(ctx, &m); err != nil {
				return err
			}
			got = append(got, m)
		}
		for i := n - 1; i >= 0; i-- {
			m := got[i]
			reply := fmt.Sprintf(`{"id":%d,"event":%q,"statusCode":200,"body":%d}`, m.ID, m.Event, -m.Data)
			if err := conn.SendText(ctx, []byte(reply)); err != nil {
				return err
			}
		}
		for {
			var m msg
			if err := conn.ReceiveJSON(ctx, &m); err != nil {
				return err
			}
		}
	})
	c := wstest.Dial(t, h)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			got, err := wsclient.Call[int](t.Context(), c, "neg", i)
			if err != nil || got != -i {
				t.Errorf("neg(%d) = %d, %v", i, got, err)
			}
		})
	}
	wg.Wait()
}

// A call whose ctx is done returns at once; its late reply is dropped, and
// the client goes on.
func TestCallCanceled(t *testing.T) {
	t.Parallel()
	ch := newChat(t)
	unhandled := make(chan wsclient.Message, 4)
	c := wstest.Dial(t, ch.router(), wsclient.WithUnhandled(func(ctx context.Context, m wsclient.Message) { unhandled <- m }))
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-ch.blocked
		cancel()
	}()
	_, err := wsclient.Call[string](ctx, c, "block", struct{}{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	ch.unblock() // the reply comes now, to nobody
	// Replies come in order: once this one is back, the late one was read.
	if n, err := wsclient.Call[int](t.Context(), c, "double", 4); err != nil || n != 8 {
		t.Fatalf("double = %d, %v", n, err)
	}
	// And a frame for the unhandled function comes after it: a late reply
	// that had reached it would come first.
	go func() {
		conn := <-ch.blocked
		conn.SendJSON(context.Background(), ws.Push("marker", 1))
	}()
	if _, err := wsclient.Call[string](t.Context(), c, "block", struct{}{}); err != nil {
		t.Fatal(err)
	}
	equal(t, "first unhandled frame", (<-unhandled).Event, "marker")
}

// A lost connection fails every call and stream under way at once, with
// the close code.
func TestConnectionLost(t *testing.T) {
	t.Parallel()
	ch := newChat(t)
	c := wstest.Dial(t, ch.router(ws.WithConcurrency(4)))
	ctx := t.Context()
	errs := make(chan error, 3)
	for range 2 {
		go func() {
			_, err := wsclient.Call[string](ctx, c, "block", struct{}{})
			errs <- err
		}()
	}
	go func() {
		for _, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{Fail: "wait"}) {
			errs <- err
		}
	}()
	<-ch.watching
	conn := <-ch.blocked
	<-ch.blocked
	conn.Close(4001, "kicked")
	for range 3 {
		err := <-errs
		if !errors.Is(err, wsclient.ErrConnectionLost) || websocket.CloseStatus(err) != 4001 {
			t.Fatalf("err = %v, want ErrConnectionLost with close 4001", err)
		}
	}
	wstest.Closed(t, c, 4001)
	if _, err := wsclient.Call[int](ctx, c, "double", 1); !errors.Is(err, wsclient.ErrConnectionLost) {
		t.Fatalf("call after the loss: %v, want ErrConnectionLost", err)
	}
	equal(t, "error text", c.Err().Error(), "wsclient: connection lost (close 4001 kicked)")
}

// onConnect's refusal reaches the client's error.
func TestRefused(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	ws.On(r, "x", func(ctx context.Context, in struct{}) (int, error) { return 1, nil })
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error { return ws.Unauthorized("log in first") })
	c := wstest.Dial(t, r)
	wstest.Closed(t, c, websocket.StatusPolicyViolation)
	var e *ws.Error
	if !errors.As(c.Err(), &e) || e.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want the 401 envelope", c.Err())
	}
}

// Close fails what is under way with ErrClosed and waits for the reader.
func TestClose(t *testing.T) {
	t.Parallel()
	ch := newChat(t)
	c := wstest.Dial(t, ch.router())
	errc := make(chan error, 1)
	go func() {
		_, err := wsclient.Call[string](t.Context(), c, "block", struct{}{})
		errc <- err
	}()
	<-ch.blocked
	c.Close()
	if err := <-errc; !errors.Is(err, wsclient.ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
	if _, err := wsclient.Call[int](t.Context(), c, "double", 1); !errors.Is(err, wsclient.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), wsclient.ErrClosed) {
		t.Fatalf("Err = %v", c.Err())
	}
	c.Close()
}

// A push handler that does not return holds up no reply; pushes past the
// buffer are dropped.
func TestSlowPushHandler(t *testing.T) {
	t.Parallel()
	var conn atomic.Pointer[ws.Conn]
	r := ws.NewRouter()
	ws.Emits[int](r, "tick")
	ws.On(r, "ticks", func(ctx context.Context, n int) (int, error) {
		c := ws.ConnFromContext(ctx)
		for i := range n {
			if err := c.SendJSON(ctx, ws.Push("tick", i)); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
	r.OnConnect(func(ctx context.Context, c *ws.Conn) error { conn.Store(c); return nil })
	srv := wstest.NewServer(t, r)
	c := wsclient.New(srv.URL, wsclient.WithBuffer(4))
	stuck, release, handled := make(chan int, 1), make(chan struct{}), make(chan struct{}, 16)
	var seen []int
	wsclient.On(c, "tick", func(ctx context.Context, i int) {
		seen = append(seen, i)
		if i == 0 {
			stuck <- i
			<-release
		}
		handled <- struct{}{}
	})
	ctx := t.Context()
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n, err := wsclient.Call[int](ctx, c, "ticks", 1); err != nil || n != 1 {
		t.Fatalf("ticks = %d, %v", n, err)
	}
	<-stuck // the handler is stuck on push 0
	// 10 more pushes, and replies after them.
	if n, err := wsclient.Call[int](ctx, c, "ticks", 10); err != nil || n != 10 {
		t.Fatalf("ticks = %d, %v", n, err)
	}
	close(release)
	// The stuck push and the 4 the buffer held are handled; the others
	// were dropped.
	for range 5 {
		<-handled
	}
	// A last push goes through.
	done := make(chan struct{})
	wsclient.On(c, "tick", func(ctx context.Context, i int) {
		seen = append(seen, i)
		if i == 99 {
			close(done)
		}
	})
	conn.Load().SendJSON(ctx, ws.Push("tick", 99))
	<-done
	equal(t, "pushes seen", fmt.Sprint(seen), "[0 0 1 2 3 99]")
}

// A restarted server: the client reconnects, runs its hook again, and
// calls work again; during the outage they fail fast.
func TestReconnect(t *testing.T) {
	t.Parallel()
	ch := newChat(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	start := func(ln net.Listener) (*httptest.Server, *ws.Group) {
		g := new(ws.Group)
		srv := httptest.NewUnstartedServer(ch.router(ws.WithGroup(g)))
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		return srv, g
	}
	srv, g := start(ln)
	hooked := make(chan struct{}, 4)
	c := wstest.DialURL(t, "ws://"+addr, wsclient.WithReconnect(time.Millisecond, 20*time.Millisecond),
		wsclient.WithOnConnect(func(ctx context.Context, c *wsclient.Client) error {
			_, err := wsclient.Call[string](ctx, c, "chat.join", JoinRequest{User: "bot"})
			hooked <- struct{}{}
			return err
		}))
	<-hooked
	ctx := t.Context()
	streamErr := make(chan error, 1)
	go func() {
		for _, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{Fail: "wait"}) {
			streamErr <- err
		}
	}()
	<-ch.watching

	// The server goes away.
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := g.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	if err := <-streamErr; !errors.Is(err, wsclient.ErrConnectionLost) || websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("stream: %v, want ErrConnectionLost with 1001", err)
	}
	// Calls fail fast until it is back.
	for {
		_, err := wsclient.Call[int](ctx, c, "double", 1)
		if errors.Is(err, wsclient.ErrNotConnected) {
			t.Logf("during the outage: %v", err)
			break
		}
		if !errors.Is(err, wsclient.ErrConnectionLost) {
			t.Fatalf("call during the outage: %v", err)
		}
		time.Sleep(time.Millisecond)
	}

	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, g = start(ln)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	<-hooked
	equal(t, "joins", ch.joins.Load(), 2)
	if n, err := wsclient.Call[int](ctx, c, "double", 5); err != nil || n != 10 {
		t.Fatalf("double after reconnecting = %d, %v", n, err)
	}
	select {
	case <-c.Done():
		t.Fatalf("client ended: %v", c.Err())
	default:
	}
}

// A server that refuses the handshake with 401 is not tried again.
func TestReconnectUnauthorized(t *testing.T) {
	t.Parallel()
	ch := newChat(t)
	r := ch.router()
	var handshakes atomic.Int32
	srv := wstest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if handshakes.Add(1) > 1 {
			http.Error(w, "token expired", http.StatusUnauthorized)
			return
		}
		r.ServeHTTP(w, req)
	}))
	c := srv.Dial(t, "", wsclient.WithReconnect(time.Millisecond, 5*time.Millisecond))
	ctx := t.Context()
	go wsclient.Call[string](ctx, c, "block", struct{}{})
	conn := <-ch.blocked
	conn.Close(websocket.StatusGoingAway, "restart")
	<-c.Done()
	var he *wsclient.HandshakeError
	if !errors.As(c.Err(), &he) || he.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Err = %v, want a 401 HandshakeError", c.Err())
	}
	equal(t, "handshakes", handshakes.Load(), 2)
	if _, err := wsclient.Call[int](ctx, c, "double", 1); !errors.As(err, &he) {
		t.Fatalf("call after the refusal: %v, want the HandshakeError", err)
	}
	// Dial itself reports the refusal.
	_, err := wsclient.Dial(ctx, srv.URL)
	if !errors.As(err, &he) || he.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Dial: %v, want a 401 HandshakeError", err)
	}
}
