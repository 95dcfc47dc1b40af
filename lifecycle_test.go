package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
	"github.com/go-playground/validator/v10"
)

// A bound for things that must happen, never a timing assertion: the
// promises themselves ("within a second") are measured, not timed here.
const lifeTimeout = 20 * time.Second

// waitDone waits for ctx to be done and returns its cause.
func waitDone(t *testing.T, what string, ctx context.Context) error {
	t.Helper()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(lifeTimeout):
		t.Fatalf("%s: the context was never cancelled", what)
		return nil
	}
}

// receive returns the next value of ch, or fails the test.
func receive[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(lifeTimeout):
		t.Fatalf("%s: nothing came", what)
		var zero T
		return zero
	}
}

// TestBusyHandlerKeepsLivePeer: pings go on while onReceive works for
// several ping intervals; a client that reads all the time answers them,
// gets its reply, and is not dropped.
func TestBusyHandlerKeepsLivePeer(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	slow := func(ctx context.Context, in relReq) (relResp, error) {
		time.Sleep(3 * time.Second) // three ping intervals
		return relResp{ID: in.ID, Echo: in.Text}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, slow, p.onDisconnect,
		ws.WithGroup(&p.group), ws.WithPingInterval(time.Second)))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)
	for i := range 2 {
		relRoundTrip(t, c, i)
	}
	select {
	case err := <-p.ended:
		t.Fatalf("the connection ended while its handler was busy: %v", err)
	default:
	}
}

// TestContextEndsWithConnection: whatever ends the connection, the context
// of a running onReceive is cancelled, with the cause onDisconnect gets.
func TestContextEndsWithConnection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		end    func(c *websocket.Conn)
		status websocket.StatusCode // the close status of the cause
	}{
		{"tcp drop", func(c *websocket.Conn) { c.CloseNow() }, -1},
		{"close frame", func(c *websocket.Conn) { go c.Close(4001, "bye") }, 4001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			started := make(chan context.Context, 1)
			wait := func(ctx context.Context, in relReq) (relResp, error) {
				started <- ctx
				<-ctx.Done()
				return relResp{}, context.Cause(ctx)
			}
			srv := httptest.NewServer(ws.Callback(p.onConnect, wait, p.onDisconnect, ws.WithGroup(&p.group)))
			t.Cleanup(srv.Close)
			c := relDial(t, srv.URL)
			relWrite(t, c, websocket.MessageText, []byte(`{"id":1,"text":"x"}`))
			ctx := receive(t, "onReceive", started)
			tc.end(c)
			cause := waitDone(t, "onReceive's ctx", ctx)
			if got := websocket.CloseStatus(cause); got != tc.status {
				t.Fatalf("cause %v has close status %d, want %d", cause, got, tc.status)
			}
			if err := p.next(t); err != cause {
				t.Fatalf("onDisconnect got %v, the context's cause is %v", err, cause)
			}
			if conn := ws.ConnFromContext(ctx); conn == nil || conn.Context().Err() == nil {
				t.Fatal("Conn.Context is not cancelled with the connection")
			}
		})
	}
}

// TestPushOnlyHandlerEnds: a Handler that never reads and waits for its
// context returns when the peer goes away.
func TestPushOnlyHandlerEnds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		end  func(c *websocket.Conn)
	}{
		{"tcp drop", func(c *websocket.Conn) { c.CloseNow() }},
		{"close frame", func(c *websocket.Conn) { go c.Close(websocket.StatusNormalClosure, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			returned := make(chan error, 1)
			h := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
				if err := conn.SendJSON(ctx, "hello"); err != nil {
					return err
				}
				<-ctx.Done()
				returned <- context.Cause(ctx)
				return nil
			})
			c := dial(t, h)
			if got := recv(t, c); got != `"hello"` {
				t.Fatalf("got %s", got)
			}
			tc.end(c)
			if err := receive(t, "the handler's return", returned); err == nil {
				t.Fatal("the context's cause is nil")
			}
		})
	}
}

// TestDeadPeerDroppedWhileBusy: a peer that vanishes without a FIN while
// onReceive runs is dropped by the pings, and the handler's ctx ends.
func TestDeadPeerDroppedWhileBusy(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	started := make(chan context.Context, 1)
	wait := func(ctx context.Context, in relReq) (relResp, error) {
		started <- ctx
		<-ctx.Done()
		return relResp{}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, wait, p.onDisconnect,
		ws.WithGroup(&p.group), ws.WithPingInterval(100*time.Millisecond)))
	t.Cleanup(srv.Close)
	// A raw client sends one message, then neither reads nor answers.
	rc := rawDial(t, srv.URL)
	rc.write(t, rawFrame{fin: true, op: opText, payload: []byte(`{"id":1,"text":"x"}`), masked: true}.bytes())
	ctx := receive(t, "onReceive", started)
	if cause := waitDone(t, "onReceive's ctx", ctx); !errors.Is(cause, os.ErrDeadlineExceeded) {
		t.Fatalf("cause %v, want a pong timeout (os.ErrDeadlineExceeded)", cause)
	}
	if err := p.next(t); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("onDisconnect got %v, want a pong timeout (os.ErrDeadlineExceeded)", err)
	}
}

// TestSendingPeerIsAlive: a peer that keeps sending is alive, even if it
// never answers a ping.
func TestSendingPeerIsAlive(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p, ws.WithPingInterval(500*time.Millisecond))
	rc := rawDial(t, url)
	pings := 0
	for i := 0; pings < 3; i++ {
		msg, _ := json.Marshal(map[string]any{"id": i, "text": "x"})
		rc.write(t, rawFrame{fin: true, op: opText, payload: msg, masked: true}.bytes())
		for {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatalf("after %d pings: %v; onDisconnect got %v", pings, err, p.next(t))
			}
			if f.op == opPing {
				pings++ // never answered
				continue
			}
			if f.op != opText {
				t.Fatalf("frame %x %q", f.op, f.payload)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShutdownDeadlineDoesNotWaitForUserCode: once Shutdown's ctx is done,
// it cancels the connections and returns ctx.Err() while a handler that
// ignores its context still runs; onDisconnect runs once that handler
// returns, and the group empties then.
func TestShutdownDeadlineDoesNotWaitForUserCode(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	started := make(chan context.Context, 1)
	release := make(chan struct{})
	stuck := func(ctx context.Context, in relReq) (relResp, error) {
		started <- ctx
		<-release // ignores ctx
		return relResp{}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, stuck, p.onDisconnect, ws.WithGroup(&p.group)))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)
	relWrite(t, c, websocket.MessageText, []byte(`{"id":1,"text":"x"}`))
	hctx := receive(t, "onReceive", started)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	returned := make(chan error, 1)
	go func() { returned <- p.group.Shutdown(ctx) }()
	if err := receive(t, "Shutdown's return", returned); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want DeadlineExceeded", err)
	}
	if cause := waitDone(t, "the handler's ctx", hctx); !errors.Is(cause, ws.ErrClosed) {
		t.Fatalf("cause %v, want ErrClosed", cause)
	}
	select {
	case err := <-p.ended:
		t.Fatalf("onDisconnect ran (%v) before the handler returned", err)
	default:
	}
	if p.group.Len() != 1 {
		t.Fatalf("group holds %d connections while a handler runs, want 1", p.group.Len())
	}
	close(release)
	if err := p.next(t); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("onDisconnect got %v, want ErrClosed", err)
	}
}

// Panicky types run user code at every step of the message pipeline.
type panicky struct {
	Where string `json:"where" validate:"required,panicky"`
}

func (p *panicky) UnmarshalJSON(b []byte) error {
	type plain panicky
	if err := json.Unmarshal(b, (*plain)(p)); err != nil {
		return err
	}
	if p.Where == "unmarshal" {
		panic(relSecret + " in UnmarshalJSON")
	}
	return nil
}

func (p *panicky) Validate(ctx context.Context) error {
	if p.Where == "validate" {
		panic(relSecret + " in Validate")
	}
	return nil
}

type panickyReply struct{ where string }

func (r panickyReply) MarshalJSON() ([]byte, error) {
	if r.where == "marshal" {
		panic(relSecret + " in MarshalJSON")
	}
	return []byte(`"ok"`), nil
}

// TestPanicsInMessagePipeline: a panic in UnmarshalJSON, a custom validator,
// Validate or MarshalJSON is a logged 500, and the connection goes on.
func TestPanicsInMessagePipeline(t *testing.T) {
	t.Parallel()
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterValidation("panicky", func(fl validator.FieldLevel) bool {
		if fl.Field().String() == "tag" {
			panic(relSecret + " in a validator function")
		}
		return true
	})
	var log syncBuffer
	p := newRelProbe(t)
	receiveFn := func(ctx context.Context, in panicky) (panickyReply, error) {
		return panickyReply{where: in.Where}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, receiveFn, p.onDisconnect,
		ws.WithGroup(&p.group), ws.WithValidator(v), ws.WithLogger(newLogger(&log))))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)
	for _, where := range []string{"unmarshal", "tag", "validate", "marshal"} {
		relWrite(t, c, websocket.MessageText, []byte(`{"where":"`+where+`"}`))
		env := relRead(t, c)
		if env.StatusCode != http.StatusInternalServerError {
			t.Fatalf("%s: reply %d %s, want 500", where, env.StatusCode, env.Body)
		}
		relNoLeakReply(t, env)
		relWrite(t, c, websocket.MessageText, []byte(`{"where":"nowhere"}`))
		if env := relRead(t, c); env.StatusCode != http.StatusOK || string(env.Body) != `"ok"` {
			t.Fatalf("after a panic in %s: reply %d %s, want 200 \"ok\"", where, env.StatusCode, env.Body)
		}
	}
	for _, where := range []string{"UnmarshalJSON", "a validator function", "Validate", "MarshalJSON"} {
		if !strings.Contains(log.String(), relSecret+" in "+where) {
			t.Errorf("the panic in %s is not logged:\n%s", where, log.String())
		}
	}
	if !strings.Contains(log.String(), "goroutine ") {
		t.Error("no stack logged")
	}
}

// TestCloseIsIdempotent: the second Close does nothing and returns nil; the
// cause stays the first one's.
func TestCloseIsIdempotent(t *testing.T) {
	t.Parallel()
	results := make(chan [2]error, 1)
	causes := make(chan error, 1)
	h := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		first := conn.Close(4000, "first")
		second := conn.Close(4001, "second")
		results <- [2]error{first, second}
		causes <- context.Cause(ctx)
		return nil
	})
	c := dial(t, h)
	err := readErr(t, c)
	if got := websocket.CloseStatus(err); got != 4000 {
		t.Fatalf("client got close %d (%v), want 4000", got, err)
	}
	r := receive(t, "Close's results", results)
	if r[1] != nil {
		t.Fatalf("second Close returned %v, want nil", r[1])
	}
	if cause := receive(t, "cause", causes); websocket.CloseStatus(cause) != 4000 || !errors.Is(cause, ws.ErrClosed) {
		t.Fatalf("cause %v, want ErrClosed with 4000", cause)
	}
}

// TestCloseReason: a reason too long for a close frame is cut on a
// character boundary, and invalid UTF-8 never reaches the peer.
func TestCloseReason(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ reason, want string }{
		{strings.Repeat("é", 100), strings.Repeat("é", 61)}, // 2 bytes each: 122 of 123
		{"bad \xff byte", "bad \uFFFD byte"},
	} {
		h := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
			return conn.Close(4000, tc.reason)
		})
		c := dial(t, h)
		var ce websocket.CloseError
		if err := readErr(t, c); !errors.As(err, &ce) || ce.Reason != tc.want {
			t.Fatalf("close reason %q (%v), want %q", ce.Reason, err, tc.want)
		}
	}
}

// TestConcurrentEndsRunOnDisconnectOnce: a peer that vanishes while the
// server pushes and a handler runs gets exactly one onDisconnect, with the
// cause of its context.
func TestConcurrentEndsRunOnDisconnectOnce(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	var wg sync.WaitGroup
	started := make(chan *ws.Conn, 1)
	wait := func(ctx context.Context, in relReq) (relResp, error) {
		started <- ws.ConnFromContext(ctx)
		<-ctx.Done()
		return relResp{ID: in.ID}, nil
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, wait, p.onDisconnect, ws.WithGroup(&p.group)))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)
	relWrite(t, c, websocket.MessageText, []byte(`{"id":1,"text":"x"}`))
	conn := receive(t, "onReceive", started)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for conn.SendJSON(context.Background(), "push") == nil {
			}
		}()
	}
	c.CloseNow()
	wg.Wait()
	err := p.next(t)
	if cause := context.Cause(conn.Context()); cause != err {
		t.Fatalf("onDisconnect got %v, the context's cause is %v", err, cause)
	}
}
