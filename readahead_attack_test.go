package ws_test

// Attacks on the read-ahead and the transport from a hostile client: each
// test names the promise it checks.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
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

// TestHandlerClosesWhileReaderWaits: onReceive calls Conn.Close while the
// reader that took over waits for the peer (a peek on coder/websocket's
// buffered reader): the close handshake completes, Close returns nil, and
// the peer sees the code; with -race, nobody else reads the buffered reader
// meanwhile.
func TestHandlerClosesWhileReaderWaits(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	closed := make(chan error, 8)
	handler := func(ctx context.Context, in relReq) (relResp, error) {
		time.Sleep(150 * time.Millisecond) // the reader takes over and waits
		closed <- ws.ConnFromContext(ctx).Close(4000, "bye")
		return relResp{ID: in.ID}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, handler, p.onDisconnect, ws.WithGroup(&p.group)))
	t.Cleanup(srv.Close)
	for i := range 4 {
		c := relDial(t, srv.URL)
		relWrite(t, c, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"text":"x"}`, i))
		if got := relCloseOf(t, c); got.Code != 4000 {
			t.Fatalf("close %v, want 4000", got)
		}
		if err := receive(t, "Close's result", closed); err != nil {
			t.Fatalf("Close returned %v, want nil once the handshake is done", err)
		}
		if err := p.next(t); websocket.CloseStatus(err) != 4000 {
			t.Fatalf("onDisconnect got %v, want close status 4000", err)
		}
	}
}

// TestFragmentedMessageAcrossPause: a message in three frames, with a ping
// between them, arrives behind 16 messages that fill the read-ahead queue:
// reading pauses before it and resumes; every message is answered once, in
// order, and the ping is answered.
func TestFragmentedMessageAcrossPause(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	release := make(chan struct{})
	handler := func(ctx context.Context, in relReq) (relResp, error) {
		if in.ID == 0 {
			<-release
		}
		return relResp{ID: in.ID, Echo: in.Text}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, handler, p.onDisconnect, ws.WithGroup(&p.group)))
	t.Cleanup(srv.Close)
	rc := rawDial(t, srv.URL)
	for i := range 17 {
		rc.write(t, rawFrame{fin: true, op: opText, masked: true, payload: fmt.Appendf(nil, `{"id":%d,"text":"x"}`, i)}.bytes())
	}
	time.Sleep(200 * time.Millisecond) // the queue fills: reading pauses
	rc.write(t, rawFrame{op: opText, masked: true, payload: []byte(`{"id":17,`)}.bytes())
	rc.write(t, rawFrame{fin: true, op: opPing, masked: true, payload: []byte("p")}.bytes())
	rc.write(t, rawFrame{op: opContinuation, masked: true, payload: []byte(`"text":"frag`)}.bytes())
	rc.write(t, rawFrame{fin: true, op: opContinuation, masked: true, payload: []byte(`mented"}`)}.bytes())
	rc.write(t, rawFrame{fin: true, op: opText, masked: true, payload: []byte(`{"id":18,"text":"y"}`)}.bytes())
	close(release)
	next, pong := 0, false
	for next < 19 || !pong {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("after %d replies (pong %v): %v", next, pong, err)
		}
		switch f.op {
		case opPong:
			pong = true
		case opText:
			var r struct {
				Body relResp `json:"body"`
			}
			if err := json.Unmarshal(f.payload, &r); err != nil || r.Body.ID != next {
				t.Fatalf("reply %s, want id %d", f.payload, next)
			}
			if next == 17 && r.Body.Echo != "fragmented" {
				t.Fatalf("reply %s, want the fragmented text whole", f.payload)
			}
			next++
		}
	}
}

// TestShutdownWithFullQueue: Group.Shutdown while a handler is busy and
// the read-ahead queue is full: the message being handled gets its reply,
// then the connection closes with 1001, and Shutdown returns nil.
func TestShutdownWithFullQueue(t *testing.T) {
	t.Parallel()
	var g ws.Group
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	handler := func(ctx context.Context, in relReq) (relResp, error) {
		if in.ID == 0 {
			started <- struct{}{}
			<-release
		}
		return relResp{ID: in.ID}, nil
	}
	srv := httptest.NewServer(ws.Callback(nil, handler, nil, ws.WithGroup(&g)))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)
	for i := range 40 {
		relWrite(t, c, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"text":"x"}`, i))
	}
	receive(t, "the busy handler", started)
	time.Sleep(200 * time.Millisecond) // the queue fills: reading pauses
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		done <- g.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if env := relRead(t, c); !strings.Contains(string(env.Body), `"id":0`) {
		t.Fatalf("first reply %s, want id 0's", env.Body)
	}
	if got := relCloseOf(t, c); got.Code != websocket.StatusGoingAway {
		t.Fatalf("close %v, want 1001", got)
	}
	if err := receive(t, "Shutdown", done); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestShutdownRacingHandshakes: handshakes that pass the group's check
// just before Shutdown begins are refused with a close frame once
// upgraded (ws.go accept). That close handshake reads the connection, and
// nothing else may read it meanwhile: the reader that takes over after
// 50 ms must stay away (run with -race). The peers here do not answer the
// close frame, so the handshake waits its full 5 s.
func TestShutdownRacingHandshakes(t *testing.T) {
	t.Parallel()
	var g ws.Group
	srv := httptest.NewServer(ws.Handler(func(ctx context.Context, c *ws.Conn) error {
		<-ctx.Done()
		return nil
	}, ws.WithGroup(&g)))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			nc, err := net.Dial("tcp", host)
			if err != nil {
				return
			}
			defer nc.Close()
			fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
			time.Sleep(6 * time.Second) // read nothing: the close handshake waits
		})
	}
	time.Sleep(5 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	wg.Wait()
}
