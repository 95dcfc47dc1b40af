package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, writes: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// countingServer serves h and counts the writes to its connections after
// the handshake, once reset is called.
func countingServer(t *testing.T, h http.Handler) (url string, writes *atomic.Int64) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l := &countingListener{Listener: srv.Listener}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, &l.writes
}

// TestPipelinedRepliesShareWrites: requests that arrive together are
// answered in order, each reply its own frame, with fewer writes to the
// network than replies; the last reply goes out without the client sending
// anything more.
func TestPipelinedRepliesShareWrites(t *testing.T) {
	t.Parallel()
	url, writes := countingServer(t, ws.Callback(nil, relEcho, nil))
	rc := rawDial(t, url)
	const n = 16
	var batch bytes.Buffer
	for i := range n {
		batch.Write(rawFrame{fin: true, op: opText, payload: fmt.Appendf(nil, `{"id":%d,"text":"t%d"}`, i, i), masked: true}.bytes())
	}
	before := writes.Load()
	rc.write(t, batch.Bytes()) // one TCP write: the server finds them buffered together
	for i := range n {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if want := fmt.Sprintf(`{"statusCode":200,"body":{"id":%d,"echo":"t%d"}}`, i, i); f.op != opText || string(f.payload) != want {
			t.Fatalf("reply %d: %x %s, want %s", i, f.op, f.payload, want)
		}
	}
	if got := writes.Load() - before; got >= n {
		t.Fatalf("%d replies took %d writes, want fewer", n, got)
	}
}

// TestLoneReplyIsNotHeld: one request, one reply, nothing after it: the
// reply arrives while the client sends nothing more and the server's
// handler for nothing else runs.
func TestLoneReplyIsNotHeld(t *testing.T) {
	t.Parallel()
	c := dial(t, ws.Callback(nil, relEcho, nil, ws.WithPingInterval(0)))
	for i := range 3 {
		relRoundTrip(t, c, i)
	}
}

// TestSendTextsOneWrite: a batch goes out in one write, each message its
// own frame, and a lone SendText right after it is not held.
func TestSendTextsOneWrite(t *testing.T) {
	t.Parallel()
	sent := make(chan error, 1)
	url, writes := countingServer(t, ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		var data map[string]any
		if err := conn.ReceiveJSON(ctx, &data); err != nil {
			return err
		}
		var msgs [][]byte
		for i := range 10 {
			msgs = append(msgs, fmt.Appendf(nil, `{"n":%d}`, i))
		}
		sent <- conn.SendTexts(ctx, msgs...)
		if err := conn.ReceiveJSON(ctx, &data); err != nil {
			return err
		}
		if err := conn.SendText(ctx, []byte(`"last"`)); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}, ws.WithPingInterval(0)))
	c := dialURL(t, url)
	before := writes.Load()
	send(t, c, `{}`)
	for i := range 10 {
		if got, want := recv(t, c), fmt.Sprintf(`{"n":%d}`, i); got != want {
			t.Fatalf("message %d: %s, want %s", i, got, want)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := writes.Load() - before; got != 1 {
		t.Fatalf("the batch took %d writes, want 1", got)
	}
	send(t, c, `{}`)
	if got := recv(t, c); got != `"last"` {
		t.Fatalf("got %s", got)
	}
}

// TestConcurrentPushesShareWrites: many goroutines pushing at once get
// every frame through, whole and in each goroutine's order.
func TestConcurrentPushesShareWrites(t *testing.T) {
	t.Parallel()
	const writers, each = 8, 200
	done := make(chan struct{})
	c := dial(t, ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := conn.SendJSON(ctx, [2]int{w, i}); err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
		<-done
		return nil
	}))
	defer close(done)
	next := make([]int, writers)
	for range writers * each {
		_, data, err := c.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var wi [2]int
		if _, err := fmt.Sscanf(string(data), "[%d,%d]", &wi[0], &wi[1]); err != nil {
			t.Fatalf("frame %q: %v", data, err)
		}
		if wi[1] != next[wi[0]] {
			t.Fatalf("writer %d: got %d, want %d", wi[0], wi[1], next[wi[0]])
		}
		next[wi[0]]++
	}
	_ = websocket.MessageText
}

// TestReplyNotHeldForPartialRequest: a reply whose next request has only
// partly arrived goes out before the server waits for the rest.
func TestReplyNotHeldForPartialRequest(t *testing.T) {
	t.Parallel()
	url, _ := countingServer(t, ws.Callback(nil, relEcho, nil))
	rc := rawDial(t, url)
	first := rawFrame{fin: true, op: opText, payload: []byte(`{"id":1,"text":"a"}`), masked: true}.bytes()
	second := rawFrame{fin: true, op: opText, payload: []byte(`{"id":2,"text":"b"}`), masked: true}.bytes()
	rc.write(t, append(first, second[:5]...))
	for i, rest := range [][]byte{second[5:], nil} {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("reply %d: %v", i+1, err)
		}
		if want := fmt.Sprintf(`{"statusCode":200,"body":{"id":%d,"echo":"%c"}}`, i+1, 'a'+i); string(f.payload) != want {
			t.Fatalf("reply %d: %s, want %s", i+1, f.payload, want)
		}
		if rest != nil {
			rc.write(t, rest)
		}
	}
}

// TestCompressionAndSubprotocol: permessage-deflate and the subprotocol
// are negotiated, and messages round-trip through them.
func TestCompressionAndSubprotocol(t *testing.T) {
	t.Parallel()
	protocols := make(chan string, 1)
	h := ws.Callback(func(ctx context.Context, conn *ws.Conn) error {
		protocols <- conn.Subprotocol()
		return nil
	}, relEcho, nil, ws.WithCompression(websocket.CompressionContextTakeover), ws.WithSubprotocols("chat.v2", "chat.v1"))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	c, resp, err := websocket.Dial(ctx, srv.URL, &websocket.DialOptions{
		Subprotocols:    []string{"chat.v1"},
		CompressionMode: websocket.CompressionContextTakeover,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if got := resp.Header.Get("Sec-WebSocket-Extensions"); !bytes.Contains([]byte(got), []byte("permessage-deflate")) {
		t.Fatalf("extensions %q, want permessage-deflate", got)
	}
	if c.Subprotocol() != "chat.v1" || <-protocols != "chat.v1" {
		t.Fatalf("subprotocol %q, want chat.v1 on both sides", c.Subprotocol())
	}
	text := string(bytes.Repeat([]byte("compress me "), 100))
	for i := range 3 {
		msg := fmt.Sprintf(`{"id":%d,"text":%q}`, i, text)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf(`{"statusCode":200,"body":{"id":%d,"echo":%q}}`, i, text); string(got) != want {
			t.Fatalf("reply %d: %.80s…", i, got)
		}
	}
}

// TestPeerCloseReason: a peer's close frame whose reason is not valid
// UTF-8 is answered with 1007 "invalid UTF-8" (RFC 6455 section 8.1: fail
// the connection), not echoed; a valid reason is echoed as it came. The
// error onDisconnect gets, which is the cause of the connection's context,
// says what happened.
func TestPeerCloseReason(t *testing.T) {
	t.Parallel()
	type ended struct{ err, cause error }
	done := make(chan ended, 1)
	url := relServerFor(t, ws.Callback(nil, relEcho, func(ctx context.Context, c *ws.Conn, err error) {
		done <- ended{err, context.Cause(c.Context())}
	}))
	invalid := append([]byte{0x03, 0xef}, "invalid UTF-8"...)
	for _, tc := range []struct {
		name    string
		payload []byte // the peer's close frame
		want    []byte // the server's
		status  websocket.StatusCode
		text    string
	}{
		{"not UTF-8", []byte{0x0f, 0xa0, 0xff, 0xfe, 'x'}, invalid, websocket.StatusInvalidFramePayloadData,
			"ws: peer closed with 4000 and a reason that is not valid UTF-8 (close 1007 invalid UTF-8)"},
		{"cut rune", append([]byte{0x03, 0xe8}, "₈"[:2]...), invalid, websocket.StatusInvalidFramePayloadData,
			"ws: peer closed with 1000 and a reason that is not valid UTF-8 (close 1007 invalid UTF-8)"},
		{"continuation bytes", append([]byte{0x0b, 0xb8}, "😀"[2:]...), invalid, websocket.StatusInvalidFramePayloadData,
			"ws: peer closed with 3000 and a reason that is not valid UTF-8 (close 1007 invalid UTF-8)"},
		{"UTF-8", append([]byte{0x0f, 0xa0}, "bye ₈∈中😀é"...), append([]byte{0x0f, 0xa0}, "bye ₈∈中😀é"...), 4000,
			`failed to get reader: received close frame: status = StatusCode(4000) and reason = "bye ₈∈中😀é"`},
		{"code only", []byte{0x0f, 0xa0}, []byte{0x0f, 0xa0}, 4000,
			`failed to get reader: received close frame: status = StatusCode(4000) and reason = ""`},
	} {
		rc := rawDial(t, url)
		rc.write(t, rawFrame{fin: true, op: opText, payload: []byte(`{"id":1,"text":"₈"}`), masked: true}.bytes())
		if f, err := rc.readFrame(); err != nil || string(f.payload) != `{"statusCode":200,"body":{"id":1,"echo":"₈"}}` {
			t.Fatalf("%s: reply %q, %v", tc.name, f.payload, err)
		}
		rc.write(t, rawFrame{fin: true, op: opClose, payload: tc.payload, masked: true}.bytes())
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("%s: no close frame: %v", tc.name, err)
		}
		if !f.fin || f.op != opClose || !bytes.Equal(f.payload, tc.want) {
			t.Fatalf("%s: the server sent opcode %x, payload %q; want close %q", tc.name, f.op, f.payload, tc.want)
		}
		if _, err := rc.readFrame(); err == nil {
			t.Fatalf("%s: a frame after the close frame", tc.name)
		}
		e := receive(t, "onDisconnect", done)
		if e.err != e.cause {
			t.Fatalf("%s: onDisconnect got %v, the context's cause is %v", tc.name, e.err, e.cause)
		}
		if got := websocket.CloseStatus(e.err); got != tc.status {
			t.Fatalf("%s: close status %d, want %d (%v)", tc.name, got, tc.status, e.err)
		}
		if e.err.Error() != tc.text {
			t.Fatalf("%s: onDisconnect got %q, want %q", tc.name, e.err, tc.text)
		}
	}
}
