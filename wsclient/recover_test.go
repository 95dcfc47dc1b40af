package wsclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsclient"
)

// Tick is a message of the room "lobby", which keeps history.
type Tick struct {
	Seq int `json:"seq"`
}

// historyServer is a Router on a hub with the history of "lobby" in
// memory: "join" joins the room and says whether the join recovered; its
// listener can drop every connection at once, as a network would.
type historyServer struct {
	h   *hub.Hub
	url string

	mu    sync.Mutex
	conns []net.Conn
	joins int
}

func newHistoryServer(t *testing.T, limits hub.History) *historyServer {
	t.Helper()
	s := &historyServer{h: hub.New(hub.WithHistory("lobby", limits), hub.WithQueueSize(8192))}
	g := new(ws.Group)
	r := ws.NewRouter(ws.WithGroup(g))
	ws.Emits[Tick](r, "tick")
	ws.On(r, "join", func(ctx context.Context, in struct{}) (bool, error) {
		conn := ws.ConnFromContext(ctx)
		if err := s.h.Join(conn, "lobby"); err != nil {
			return false, err
		}
		s.mu.Lock()
		s.joins++
		s.mu.Unlock()
		return s.h.Recovered(conn, "lobby"), nil
	})
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { s.h.LeaveAll(conn) })
	s.serve(t, r, g)
	return s
}

// serve serves r, whose connections are in g, on a listener drop can cut.
func (s *historyServer) serve(t *testing.T, r *ws.Router, g *ws.Group) {
	t.Helper()
	srv := httptest.NewUnstartedServer(r)
	srv.Listener = &trackingListener{Listener: srv.Listener, s: s}
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Shutdown(ctx)
		s.h.Close()
	})
	s.url = "ws" + strings.TrimPrefix(srv.URL, "http")
}

// drop closes every connection's socket, without a close frame.
func (s *historyServer) drop() {
	s.mu.Lock()
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (s *historyServer) joined() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.joins
}

type trackingListener struct {
	net.Listener
	s *historyServer
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns = append(l.s.conns, c)
		l.s.mu.Unlock()
	}
	return c, err
}

// publish broadcasts ticks from..to to lobby from a goroutine of its own.
func (s *historyServer) publish(from, to int) <-chan error {
	done := make(chan error, 1)
	go func() {
		for seq := from; seq <= to; seq++ {
			if err := s.h.Broadcast(context.Background(), "lobby", ws.Push("tick", Tick{Seq: seq})); err != nil {
				done <- fmt.Errorf("broadcast %d: %w", seq, err)
				return
			}
			if seq%20 == 0 {
				time.Sleep(time.Millisecond) // let the connections drop in the middle
			}
		}
		done <- nil
	}()
	return done
}

// ticks collects the ticks a client's handler is given, and fails the test
// on one out of order or twice.
type ticks struct {
	t    *testing.T
	mu   sync.Mutex
	next int
	got  chan int // each seq, as it is handed over
}

func newTicks(t *testing.T) *ticks { return &ticks{t: t, next: 1, got: make(chan int, 1<<16)} }

func (k *ticks) take(ctx context.Context, m Tick) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if m.Seq != k.next {
		k.t.Errorf("tick %d, want %d", m.Seq, k.next)
	}
	k.next = m.Seq + 1
	k.got <- m.Seq
}

// waitTick waits for the handler to be given seq.
func (k *ticks) wait(seq int) {
	k.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case s := <-k.got:
			if s >= seq {
				return
			}
		case <-timeout:
			k.t.Fatalf("tick %d never came", seq)
		}
	}
}

// joinOnConnect is the hook that joins lobby on every connection.
func joinOnConnect(ctx context.Context, c *wsclient.Client) error {
	_, err := wsclient.Call[bool](ctx, c, "join", struct{}{})
	return err
}

// A client whose connection drops in the middle of a stream of messages,
// again and again while the publisher goes on, reconnects by itself,
// resumes, and its handler is given every message once, in order; each
// reconnect is announced as recovered.
func TestResumeAfterDrops(t *testing.T) {
	t.Parallel()
	const total = 2000
	s := newHistoryServer(t, hub.History{Size: total, TTL: time.Hour})
	k := newTicks(t)
	recoveries := make(chan wsclient.Recovery, 64)
	c := wsclient.New(s.url, wsclient.WithReconnect(time.Millisecond, 10*time.Millisecond),
		wsclient.WithOnConnect(joinOnConnect),
		wsclient.WithOnRecover(func(ctx context.Context, r wsclient.Recovery) { recoveries <- r }))
	wsclient.On(c, "tick", k.take)
	if err := c.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	done := s.publish(1, total)
	for i := 1; i <= 5; i++ {
		k.wait(i * total / 7)
		s.drop()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	k.wait(total)
	close(recoveries)
	n := 0
	for r := range recoveries {
		if !r.Recovered || r.Room != "lobby" || r.Epoch == "" {
			t.Errorf("recovery %+v, want lobby recovered", r)
		}
		n++
	}
	if n == 0 || n > 5 {
		t.Fatalf("%d recoveries for 5 drops", n)
	}
	waitUntil(t, "one recovery per reconnect", func() bool { return s.joined() == n+1 })
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.next != total+1 {
		t.Fatalf("next tick %d, want %d", k.next, total+1)
	}
}

// A client that was away while the history moved past it is told so by a
// Recovery that is not recovered, with the room's position now; the live
// messages follow it.
func TestResumeGone(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := newHistoryServer(t, hub.History{Size: 5, TTL: time.Hour})
	gate := make(chan struct{})
	open := sync.OnceFunc(func() { close(gate) })
	k := newTicks(t)
	recoveries := make(chan wsclient.Recovery, 4)
	first := true
	c := wsclient.New(s.url, wsclient.WithReconnect(time.Millisecond, 10*time.Millisecond),
		wsclient.WithOnConnect(func(ctx context.Context, c *wsclient.Client) error {
			if !first {
				<-gate // rejoin once ticks 2…11 are out
			}
			first = false
			return joinOnConnect(ctx, c)
		}),
		wsclient.WithOnRecover(func(ctx context.Context, r wsclient.Recovery) { recoveries <- r }))
	wsclient.On(c, "tick", func(ctx context.Context, m Tick) {
		if m.Seq == 1 || m.Seq == 12 {
			k.got <- m.Seq
			return
		}
		t.Errorf("tick %d handed over: the client was away", m.Seq)
	})
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer open()
	if err := <-s.publish(1, 1); err != nil {
		t.Fatal(err)
	}
	k.wait(1)
	s.drop()
	waitUntil(t, "left the room", func() bool { return s.h.Count("lobby") == 0 })
	if err := <-s.publish(2, 11); err != nil {
		t.Fatal(err)
	}
	open()
	r := recv(t, recoveries)
	if r.Recovered || r.Room != "lobby" || r.Offset != 11 || r.Replayed != 0 || r.Epoch == "" {
		t.Fatalf("recovery %+v, want lobby not recovered, at offset 11", r)
	}
	if err := <-s.publish(12, 12); err != nil {
		t.Fatal(err)
	}
	k.wait(12)
}

// Handlers that fall behind a room with history lose nothing: the push
// that does not fit in the buffer drops the connection, the client
// resumes after the last push its handler was given, and the pushes it
// had read already and gets again are handed over once.
func TestResumeHandlersBehind(t *testing.T) {
	t.Parallel()
	const total = 60
	s := newHistoryServer(t, hub.History{Size: 1000, TTL: time.Hour})
	k := newTicks(t)
	stuck, release := make(chan struct{}), make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	c := wsclient.New(s.url, wsclient.WithBuffer(4), wsclient.WithReconnect(time.Millisecond, 10*time.Millisecond),
		wsclient.WithOnConnect(joinOnConnect))
	wsclient.On(c, "tick", func(ctx context.Context, m Tick) {
		if m.Seq == 1 {
			close(stuck)
			<-release
		}
		k.take(ctx, m)
	})
	if err := c.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer unblock()
	if err := <-s.publish(1, total); err != nil {
		t.Fatal(err)
	}
	recv(t, stuck)
	// The buffer overflowed: the client dropped the connection and joined
	// again, resuming after tick 1, while ticks 2…5 wait in its buffer.
	waitUntil(t, "rejoined", func() bool { return s.joined() >= 2 })
	unblock()
	k.wait(total)

	// Without WithReconnect, the client ends, and says why.
	c2 := wsclient.New(s.url, wsclient.WithBuffer(2), wsclient.WithOnConnect(joinOnConnect))
	block := make(chan struct{})
	wsclient.On(c2, "tick", func(ctx context.Context, m Tick) { <-block })
	if err := c2.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	defer close(block)
	if err := <-s.publish(total+1, total+10); err != nil {
		t.Fatal(err)
	}
	recv(t, c2.Done())
	if err := c2.Err(); !errors.Is(err, wsclient.ErrConnectionLost) || !errors.Is(err, wsclient.ErrPushOverflow) {
		t.Fatalf("Err = %v, want ErrConnectionLost and ErrPushOverflow", err)
	}
}

// On a Callback endpoint, the broadcasts of a room with history have no
// event: they go to the handler of "", never to a Send waiting for its
// reply.
func TestHistoryPushesAreNotReplies(t *testing.T) {
	t.Parallel()
	h := hub.New(hub.WithHistory("lobby", hub.History{Size: 100, TTL: time.Hour}))
	defer h.Close()
	srv := httptest.NewServer(ws.Callback(
		func(ctx context.Context, conn *ws.Conn) error { return h.Join(conn, "lobby") },
		func(ctx context.Context, in Tick) (ws.StatusEnvelope[Tick], error) {
			err := h.Broadcast(ctx, "lobby", ws.Ok(Tick{Seq: -in.Seq}))
			return ws.Created(in), err
		},
		func(ctx context.Context, conn *ws.Conn, err error) { h.LeaveAll(conn) }))
	defer srv.Close()
	ctx := t.Context()
	c := wsclient.New(srv.URL)
	pushes := make(chan Tick, 100)
	wsclient.On(c, "", func(ctx context.Context, m Tick) { pushes <- m })
	if err := c.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := 1; i <= 20; i++ {
		env, err := wsclient.Send[ws.StatusEnvelope[Tick]](ctx, c, Tick{Seq: i})
		if err != nil || env.StatusCode != 201 || env.Body.Seq != i {
			t.Fatalf("Send(%d) = %+v, %v; want 201 %d", i, env, err, i)
		}
		if m := recv(t, pushes); m.Seq != -i {
			t.Fatalf("push %d, want %d", m.Seq, -i)
		}
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
	}
}

// A client that reconnects while its handler is behind resumes after the
// last push the handler was given: the pushes it had read but not handed
// over come again in the replay, and are handed over once.
func TestResumeWhileBehind(t *testing.T) {
	t.Parallel()
	s := newHistoryServer(t, hub.History{Size: 1000, TTL: time.Hour})
	k := newTicks(t)
	stuck, release := make(chan struct{}), make(chan struct{})
	unblock := sync.OnceFunc(func() { close(release) })
	recoveries := make(chan wsclient.Recovery, 4)
	c := wsclient.New(s.url, wsclient.WithReconnect(time.Millisecond, 10*time.Millisecond),
		wsclient.WithOnConnect(joinOnConnect),
		wsclient.WithOnRecover(func(ctx context.Context, r wsclient.Recovery) { recoveries <- r }))
	wsclient.On(c, "tick", func(ctx context.Context, m Tick) {
		if m.Seq == 1 {
			close(stuck)
			<-release
		}
		k.take(ctx, m)
	})
	if err := c.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer unblock()
	if err := <-s.publish(1, 10); err != nil {
		t.Fatal(err)
	}
	recv(t, stuck)
	waitUntil(t, "ticks 2…10 read", func() bool { return wsclient.QueuedPushes(c) == 9 })
	s.drop()
	// The $recover and the replay of 2…10 join them.
	waitUntil(t, "replay read", func() bool { return wsclient.QueuedPushes(c) == 19 })
	unblock()
	if r := recv(t, recoveries); !r.Recovered || r.Replayed != 9 {
		t.Fatalf("recovery %+v, want 9 replayed", r)
	}
	if err := <-s.publish(11, 11); err != nil {
		t.Fatal(err)
	}
	k.wait(11)
}

// The client drops a push of a room at or before the last it handed over
// in the same epoch, whoever sent it twice; a push of another epoch starts
// the room afresh.
func TestDuplicatePushesDropped(t *testing.T) {
	t.Parallel()
	frames := []string{
		`{"event":"tick","statusCode":200,"body":{"seq":1},"room":"lobby","epoch":"e1","offset":1}`,
		`{"event":"tick","statusCode":200,"body":{"seq":2},"room":"lobby","epoch":"e1","offset":5}`,
		`{"event":"tick","statusCode":200,"body":{"seq":-1},"room":"lobby","epoch":"e1","offset":1}`,
		`{"event":"tick","statusCode":200,"body":{"seq":-2},"room":"lobby","epoch":"e1","offset":5}`,
		`{"event":"tick","statusCode":200,"body":{"seq":3},"room":"other","epoch":"e1","offset":2}`,
		`{"event":"tick","statusCode":200,"body":{"seq":4},"room":"lobby","epoch":"e1","offset":6}`,
		`{"event":"tick","statusCode":200,"body":{"seq":5},"room":"lobby","epoch":"e2","offset":1}`,
		`{"event":"tick","statusCode":200,"body":{"seq":-5},"room":"lobby","epoch":"e2","offset":1}`,
		`{"event":"tick","statusCode":200,"body":{"seq":6}}`,
	}
	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error {
		for _, f := range frames {
			if err := conn.SendText(ctx, []byte(f)); err != nil {
				return err
			}
		}
		return nil
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	c := wsclient.New(srv.URL)
	k := newTicks(t)
	wsclient.On(c, "tick", k.take)
	if err := c.Connect(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k.wait(6)
}

// recv receives from ch, failing the test after a long while.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("timed out waiting")
		panic("unreachable")
	}
}
