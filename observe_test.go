package ws_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// connWatch is an Observer that records what it saw.
type connWatch struct {
	live          atomic.Int32
	starts        atomic.Int32
	read, written atomic.Int64
	mu            sync.Mutex
	ends          []error
	ended         chan struct{}
}

func newConnWatch() *connWatch { return &connWatch{ended: make(chan struct{}, 16)} }

func (w *connWatch) observer() ws.Observer {
	return ws.Observer{
		Start: func(c *ws.Conn) { w.live.Add(1); w.starts.Add(1) },
		End: func(c *ws.Conn, err error) {
			w.live.Add(-1)
			w.mu.Lock()
			w.ends = append(w.ends, err)
			w.mu.Unlock()
			w.ended <- struct{}{}
		},
		Read:  func(c *ws.Conn, n int) { w.read.Add(int64(n)) },
		Write: func(c *ws.Conn, n int) { w.written.Add(int64(n)) },
	}
}

func (w *connWatch) lastEnd() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ends[len(w.ends)-1]
}

func TestObserver(t *testing.T) {
	t.Parallel()
	w := newConnWatch()
	ch := newChat()
	c := dial(t, ws.Callback(ch.Connect, ch.Receive, ch.Disconnect, ws.WithObserver(w.observer())))
	msg := `{"message":"Hi","user":"ana"}`
	reply := roundTrip(t, c, msg)
	bad := `{"message":1}`
	badReply := roundTrip(t, c, bad)
	equal(t, "live", w.live.Load(), int32(1))
	equal(t, "bytes read", w.read.Load(), int64(len(msg)+len(bad)))
	c.Close(websocket.StatusNormalClosure, "bye")
	derr := receive(t, "onDisconnect", ch.lastErr)
	receive(t, "End", w.ended)
	// A reply may reach the client before its write is counted: the
	// count is read once the connection has ended.
	equal(t, "bytes written", w.written.Load(), int64(len(reply)+len(badReply)))
	equal(t, "live", w.live.Load(), int32(0))
	equal(t, "End's error is onDisconnect's", w.lastEnd(), derr)
	equal(t, "close status", websocket.CloseStatus(w.lastEnd()), websocket.StatusNormalClosure)
}

// A connection onConnect refuses is seen to start and end; one the
// observer panics on goes on.
func TestObserverRefusedAndPanics(t *testing.T) {
	t.Parallel()
	w := newConnWatch()
	var logs syncBuffer
	panicky := ws.Observer{
		Start: func(c *ws.Conn) { panic("start exploded") },
		Write: func(c *ws.Conn, n int) { panic("write exploded") },
		End:   func(c *ws.Conn, err error) { panic("end exploded") },
	}
	connect := func(ctx context.Context, c *ws.Conn) error {
		if c.Request().URL.Query().Get("deny") != "" {
			return ws.Forbidden("no")
		}
		return nil
	}
	r := ws.NewRouter(ws.WithObserver(panicky), ws.WithObserver(w.observer()), ws.WithLogger(newLogger(&logs)))
	ws.On(r, "echo", func(ctx context.Context, in ChatRequest) (ChatRequest, error) { return in, nil })
	r.OnConnect(connect)
	srv := serve(t, r)

	denied := dialURL(t, srv.URL+"?deny=1")
	equal(t, "refusal", recv(t, denied), `{"statusCode":403,"body":"no"}`)
	equal(t, "close", websocket.CloseStatus(readErr(t, denied)), websocket.StatusPolicyViolation)
	receive(t, "End", w.ended)
	if err := w.lastEnd(); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("End of a refused connection: %v", err)
	}

	c := dialURL(t, srv.URL)
	equal(t, "served", roundTrip(t, c, `{"event":"echo","data":{"message":"Hi","user":"ana"}}`), `{"event":"echo","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
	c.Close(websocket.StatusNormalClosure, "")
	receive(t, "End", w.ended)
	equal(t, "starts", w.starts.Load(), int32(2))
	equal(t, "live", w.live.Load(), int32(0))
	for _, want := range []string{"start exploded", "write exploded", "end exploded"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("%q is not logged", want)
		}
	}
}

// Handler and Accept connections are observed too.
func TestObserverHandler(t *testing.T) {
	t.Parallel()
	w := newConnWatch()
	c := dial(t, ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		var v map[string]any
		if err := conn.ReceiveJSON(ctx, &v); err != nil {
			return err
		}
		return conn.SendJSON(ctx, v)
	}, ws.WithObserver(w.observer())))
	equal(t, "echo", roundTrip(t, c, `{"a":1}`), `{"a":1}`)
	readErr(t, c)
	receive(t, "End", w.ended)
	equal(t, "close", websocket.CloseStatus(w.lastEnd()), websocket.StatusNormalClosure)
	equal(t, "read", w.read.Load(), int64(7))
	equal(t, "written", w.written.Load(), int64(7))
}
