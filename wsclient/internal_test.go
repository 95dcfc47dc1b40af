package wsclient

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/cafeto-go/ws"
)

// pendingCount returns how many calls and streams c's connection keeps.
func pendingCount(c *Client) int {
	cn, _ := c.current()
	cn.mu.Lock()
	defer cn.mu.Unlock()
	return len(cn.calls)
}

// A call abandoned by its ctx, and a stream left by break, leave nothing
// behind in the client.
func TestAbandonedLeavesNothing(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	r := ws.NewRouter(ws.WithConcurrency(2))
	ws.On(r, "block", func(ctx context.Context, in struct{}) (int, error) {
		started <- struct{}{}
		<-release
		return 1, nil
	})
	ws.Stream(r, "count", func(ctx context.Context, in struct{}, send func(int) error) error {
		for i := range 10 {
			if err := send(i); err != nil {
				return err
			}
		}
		<-ctx.Done()
		return nil
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	defer close(release)
	c, err := Dial(t.Context(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-started
		cancel()
	}()
	if _, err := Call[int](ctx, c, "block", struct{}{}); err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
	if n := pendingCount(c); n != 0 {
		t.Fatalf("%d calls kept after ctx was done", n)
	}
	for i, err := range Stream[int](t.Context(), c, "count", struct{}{}) {
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			break
		}
	}
	if n := pendingCount(c); n != 0 {
		t.Fatalf("%d calls kept after break", n)
	}
}
