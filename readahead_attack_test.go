package ws_test

// Attacks on the read-ahead and the transport from a hostile client: each
// test names the promise it checks.

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
)

// TestPeerCloseEchoedWhileWritersWait: a peer that closes while the server
// pushes from several goroutines gets the server's close frame before the
// TCP connection ends (RFC 6455 §5.5.1: the endpoint answers a close frame
// with one). The transport holds a frame while another writer waits for the
// connection (conn.go lockWrite); coder/websocket's echo of the close frame
// may be held with it, and coder/websocket then closes the net.Conn, which
// drops what is held.
func TestPeerCloseEchoedWhileWritersWait(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(ws.Handler(func(ctx context.Context, c *ws.Conn) error {
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for c.SendText(ctx, []byte(`{"push":"x"}`)) == nil {
				}
			})
		}
		var v any
		for c.ReceiveJSON(ctx, &v) == nil {
		}
		wg.Wait()
		return nil
	}))
	t.Cleanup(srv.Close)
	lost := 0
	const tries = 40
	for range tries {
		c := rawDial(t, srv.URL)
		// Let pushes flow, then close.
		for range 20 {
			if _, err := c.readFrame(); err != nil {
				t.Fatalf("reading pushes: %v", err)
			}
		}
		c.write(t, rawFrame{fin: true, op: opClose, masked: true, payload: []byte{0x03, 0xe8}}.bytes())
		sawClose := false
		for {
			f, err := c.readFrame()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !isReset(err) {
					t.Fatalf("after close: %v", err)
				}
				break
			}
			if f.op == opClose {
				sawClose = true
			}
		}
		if !sawClose {
			lost++
		}
		c.nc.Close()
	}
	if lost > 0 {
		t.Fatalf("%d of %d peers that closed got no close frame back: the TCP connection ended first", lost, tries)
	}
}

// TestPeerUploadingLargeMessageIsAlive: a peer that uploads one large
// message slowly sends something all the time, so it is alive
// (docs/connections.md: "A peer that sends anything is alive"); it cannot
// answer a ping in the middle of a frame, since control frames go between
// frames. Here the upload spans many ping intervals, and the peer must get
// its reply, not be dropped with ErrPongTimeout.
func TestPeerUploadingLargeMessageIsAlive(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p, ws.WithPingInterval(100*time.Millisecond), ws.WithReadLimit(1<<20))
	rc := rawDial(t, url)
	text := strings.Repeat("a", 300<<10)
	frame := rawFrame{fin: true, op: opText, masked: true, payload: []byte(`{"id":1,"text":"` + text + `"}`)}.bytes()
	frames := make(chan rawRead, 64)
	go func() {
		defer close(frames)
		for {
			f, err := rc.readFrame()
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	// 30 pieces, one every 50 ms: the upload lasts 1.5 s, 15 ping intervals;
	// bytes arrive every half interval.
	const pieces = 30
	step := (len(frame) + pieces - 1) / pieces
	for i := 0; i < len(frame); i += step {
		if _, err := rc.nc.Write(frame[i:min(i+step, len(frame))]); err != nil {
			t.Fatalf("the server dropped a peer that was uploading, after %d of %d bytes: %v (onDisconnect: %v)",
				i, len(frame), err, p.next(t))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for f := range frames {
		switch f.op {
		case opText:
			if !strings.Contains(string(f.payload), `"id":1`) {
				t.Fatalf("reply %s, want the echo of id 1", f.payload)
			}
			return
		case opPing:
			rc.write(t, rawFrame{fin: true, op: opPong, masked: true, payload: f.payload}.bytes())
		}
	}
	t.Fatalf("the server dropped a peer that was uploading a message: onDisconnect got %v", p.next(t))
}
