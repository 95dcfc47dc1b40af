package ws_test

// Promise 7 (docs/reliability.md): graceful shutdown with ws.Group.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// TestGroupShutdown opens 1,000 connections, one of them mid-way through a
// reply, and shuts the group down: the reply goes out first, every
// connection closes with 1001, every onDisconnect runs once, Shutdown
// returns once all are gone, and new handshakes get 503.
func TestGroupShutdown(t *testing.T) {
	t.Parallel()
	const n = 1000
	var g ws.Group
	entered := make(chan struct{})
	release := make(chan struct{})
	var connects, disconnects atomic.Int32
	causes := make(chan error, n)
	h := ws.Callback(func(ctx context.Context, c *ws.Conn) error {
		connects.Add(1)
		return nil
	}, func(ctx context.Context, in relReq) (relResp, error) {
		if in.Text == "slow" {
			close(entered)
			<-release
		}
		return relResp{ID: in.ID, Echo: in.Text}, nil
	}, func(ctx context.Context, c *ws.Conn, err error) {
		disconnects.Add(1)
		causes <- err
	}, ws.WithGroup(&g))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	// Open the connections, a few at a time; a round trip on each makes
	// sure its onConnect has run and its loop is reading.
	clients := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i := range clients {
		clients[i] = relDial(t, srv.URL)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := relTryRoundTrip(clients[i], i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if got := g.Len(); got != n {
		t.Fatalf("group holds %d connections, want %d", got, n)
	}

	// One connection is mid-way through a reply when Shutdown begins.
	slow := clients[0]
	relWrite(t, slow, websocket.MessageText, []byte(`{"id":-1,"text":"slow"}`))
	<-entered

	// Every other client reads until its close.
	closes := make(chan websocket.CloseError, n)
	for _, c := range clients[1:] {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
			defer cancel()
			_, _, err := c.Read(ctx)
			var ce websocket.CloseError
			errors.As(err, &ce)
			closes <- ce
		})
	}

	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		shutdown <- g.Shutdown(ctx)
	}()

	// A first 1001 shows Shutdown has begun.
	if ce := <-closes; ce.Code != websocket.StatusGoingAway {
		t.Fatalf("close %d %q, want 1001", ce.Code, ce.Reason)
	}
	// New handshakes are refused from now on.
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, srv.URL, nil)
	if err == nil {
		c.CloseNow()
		t.Fatal("a handshake succeeded during shutdown")
	}
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("handshake during shutdown: %v, want 503", err)
	}
	// The in-flight reply holds Shutdown up.
	select {
	case err := <-shutdown:
		t.Fatalf("Shutdown returned (%v) while a reply was in flight", err)
	default:
	}

	close(release)
	env := relRead(t, slow)
	var body relResp
	json.Unmarshal(env.Body, &body)
	if env.StatusCode != 200 || body.ID != -1 || body.Echo != "slow" {
		t.Fatalf("in-flight reply: %d %s", env.StatusCode, env.Body)
	}
	if ce := relCloseOf(t, slow); ce.Code != websocket.StatusGoingAway {
		t.Fatalf("in-flight connection: close %d %q, want 1001 after the reply", ce.Code, ce.Reason)
	}

	if err := <-shutdown; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	// Shutdown returned: every connection is gone and its onDisconnect ran.
	if got := g.Len(); got != 0 {
		t.Fatalf("%d connections left after Shutdown", got)
	}
	if c, d := connects.Load(), disconnects.Load(); c != n || d != n {
		t.Fatalf("onConnect ran %d times and onDisconnect %d times, want %d and %d", c, d, n, n)
	}
	for range n {
		if err := <-causes; !errors.Is(err, ws.ErrClosed) || websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("onDisconnect got %v (close status %d), want ErrClosed and 1001", err, websocket.CloseStatus(err))
		}
	}
	wg.Wait()
	close(closes)
	for ce := range closes {
		if ce.Code != websocket.StatusGoingAway {
			t.Fatalf("close %d %q, want 1001", ce.Code, ce.Reason)
		}
	}
}

// TestGroupShutdownTraditional: connections of Handler and Accept in a
// group close with 1001 too; an Accept connection leaves the group when its
// owner closes it.
func TestGroupShutdownTraditional(t *testing.T) {
	t.Parallel()
	var g ws.Group
	handlerErr := make(chan error, 1)
	acceptErr := make(chan error, 1)
	mux := http.NewServeMux()
	mux.Handle("/handler", ws.Handler(func(ctx context.Context, c *ws.Conn) error {
		for {
			var v any
			if err := c.ReceiveJSON(ctx, &v); err != nil {
				handlerErr <- err
				return err
			}
			if err := c.SendJSON(ctx, v); err != nil {
				return err
			}
		}
	}, ws.WithGroup(&g)))
	mux.HandleFunc("/accept", func(w http.ResponseWriter, r *http.Request) {
		c, err := ws.Accept(w, r, ws.WithGroup(&g))
		if err != nil {
			return
		}
		defer c.Close(websocket.StatusNormalClosure, "")
		for {
			var v any
			if err := c.ReceiveJSON(c.Context(), &v); err != nil {
				acceptErr <- err
				return
			}
			c.SendJSON(c.Context(), v)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var clients []*websocket.Conn
	for _, path := range []string{"/handler", "/accept"} {
		c := relDial(t, srv.URL+path)
		relWrite(t, c, websocket.MessageText, []byte(`{"a":1}`))
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		if _, data, err := c.Read(ctx); err != nil || string(data) != `{"a":1}` {
			t.Fatalf("%s: %q %v", path, data, err)
		}
		cancel()
		clients = append(clients, c)
	}
	// The clients read, to answer the server's close.
	closes := make(chan websocket.CloseError, len(clients))
	for _, c := range clients {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
			defer cancel()
			_, _, err := c.Read(ctx)
			var ce websocket.CloseError
			errors.As(err, &ce)
			closes <- ce
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range clients {
		if ce := <-closes; ce.Code != websocket.StatusGoingAway {
			t.Fatalf("close %d %q, want 1001", ce.Code, ce.Reason)
		}
	}
	for _, ch := range []chan error{handlerErr, acceptErr} {
		if err := <-ch; !errors.Is(err, ws.ErrClosed) || websocket.CloseStatus(err) != websocket.StatusGoingAway {
			t.Fatalf("ReceiveJSON returned %v, want ErrClosed and 1001", err)
		}
	}
}

// TestGroupShutdownDeadline: when Shutdown's context is done first, the
// connections still open are dropped and Shutdown reports the context's
// error once they are gone.
func TestGroupShutdownDeadline(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p)
	for i := range 10 {
		relRoundTrip(t, relDial(t, url), i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.group.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want context.Canceled", err)
	}
	for range 10 {
		if err := p.next(t); !errors.Is(err, ws.ErrClosed) {
			t.Fatalf("onDisconnect got %v, want ErrClosed", err)
		}
	}
	// Each connection leaves the group once its onDisconnect has returned.
	for deadline := time.Now().Add(relTimeout); p.group.Len() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections left after every onDisconnect", p.group.Len())
		}
	}
}
