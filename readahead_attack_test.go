package ws_test

// Attacks on the read-ahead and the transport from a hostile client: each
// test names the promise it checks.

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"sync"
	"testing"

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
