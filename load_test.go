//go:build unix && load

package ws_test

// Promise 8 (docs/reliability.md): load without loss. It is built only with
// the load tag, in a step of its own and without -race, which slows it
// tenfold and caps a process at 8,128 goroutines:
//
//	go test -tags load -run '^TestLoad$' -count=1 -v .
//
// (.ci/steps/load.sh). Its traffic stays on the loopback interface, its
// work is bounded (1,000 connections × 100 messages) and so is its time.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

func TestLoad(t *testing.T) {
	const (
		conns    = 1000
		messages = 100
	)
	// Both ends of every connection are in this process.
	raiseOpenFiles(t, 2*conns+256)

	var connects, disconnects, received atomic.Int64
	var g ws.Group
	h := ws.Callback(func(ctx context.Context, c *ws.Conn) error {
		connects.Add(1)
		return nil
	}, func(ctx context.Context, in relReq) (relResp, error) {
		received.Add(1)
		return relResp{ID: in.ID, Echo: in.Text}, nil
	}, func(ctx context.Context, c *ws.Conn, err error) {
		disconnects.Add(1)
	}, ws.WithGroup(&g))
	srv := httptest.NewServer(h) // 127.0.0.1
	t.Cleanup(srv.Close)

	// The whole test is bounded: past this, every read and write fails.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// Open every connection first, a few at a time.
	clients := make([]*websocket.Conn, conns)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, _, err := websocket.Dial(ctx, srv.URL, nil)
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				c.CloseNow()
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	// Then every client sends its messages at once, pipelined, while it
	// reads the replies: each must come exactly once, in order.
	start := time.Now()
	errs := make(chan error, conns)
	for i, c := range clients {
		wg.Go(func() {
			errs <- loadClient(ctx, c, i, messages)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			if failed++; failed <= 10 {
				t.Error(err)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d connections lost, duplicated or reordered replies", failed, conns)
	}
	// Every request reached onReceive once: messages plus one sentinel.
	if got, want := received.Load(), int64(conns*(messages+1)); got != want {
		t.Fatalf("onReceive ran %d times, want %d", got, want)
	}

	shutdownCtx, cancelShutdown := context.WithTimeout(ctx, time.Minute)
	defer cancelShutdown()
	if err := g.Shutdown(shutdownCtx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if c, d := connects.Load(), disconnects.Load(); c != conns || d != conns {
		t.Fatalf("onConnect ran %d times and onDisconnect %d times, want %d and %d", c, d, conns, conns)
	}
	t.Logf("%d connections × %d messages: %d replies in %v (%.0f replies/s)",
		conns, messages, conns*(messages+1), elapsed.Round(time.Millisecond), float64(conns*(messages+1))/elapsed.Seconds())
}

// loadClient pipelines n requests on c while it reads the replies, checks
// they come back once each and in order, then sends a sentinel whose reply
// must be the next one: nothing more was in flight.
func loadClient(ctx context.Context, c *websocket.Conn, client, n int) error {
	sent := make(chan error, 1)
	go func() {
		for id := range n + 1 {
			msg := fmt.Appendf(nil, `{"id":%d,"text":"c%d-m%d"}`, id, client, id)
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	for id := range n + 1 {
		_, data, err := c.Read(ctx)
		if err != nil {
			return fmt.Errorf("client %d, reply %d: %w", client, id, err)
		}
		var env ws.StatusEnvelope[relResp]
		if err := json.Unmarshal(data, &env); err != nil {
			return fmt.Errorf("client %d, reply %d: %q: %w", client, id, data, err)
		}
		if want := fmt.Sprintf("c%d-m%d", client, id); env.StatusCode != 200 || env.Body.ID != id || env.Body.Echo != want {
			return fmt.Errorf("client %d: reply %d is %s, want id %d echo %q", client, id, data, id, want)
		}
	}
	if err := <-sent; err != nil {
		return fmt.Errorf("client %d: write: %w", client, err)
	}
	return c.Close(websocket.StatusNormalClosure, "")
}

// raiseOpenFiles raises the soft limit on open files to at least n, as far
// as the hard limit allows.
func raiseOpenFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(n, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	if lim.Cur < n {
		t.Fatalf("open files are limited to %d; the test needs %d", lim.Cur, n)
	}
}
