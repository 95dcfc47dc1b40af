package ws_test

// The read-ahead (docs/connections.md, "Something always reads"): while a
// handler is busy, the connection reads ahead into a bounded queue and keeps
// watching the peer; past the budget, reading pauses.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// promptly is the promise: a peer that leaves is seen within a second.
const promptly = time.Second

// doneWithin waits up to d for ctx to be done and returns its cause.
func doneWithin(t *testing.T, what string, ctx context.Context, d time.Duration) error {
	t.Helper()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-time.After(d):
		t.Fatalf("%s: not done within %v", what, d)
		return nil
	}
}

// peerDial dials url with a real client and returns it with its TCP
// connection, so that a test can drop it (a FIN) or reset it (an RST). The
// client reads all the time, so it answers pings; what it reads is
// dropped.
func peerDial(t *testing.T, url string) (*websocket.Conn, *net.TCPConn) {
	t.Helper()
	var tcp *net.TCPConn
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil {
			tcp = nc.(*net.TCPConn)
		}
		return nc, err
	}}
	t.Cleanup(tr.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	go func() {
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return c, tcp
}

// peerEnds are the ways a peer leaves: the cause's close status for each.
var peerEnds = []struct {
	name   string
	end    func(c *websocket.Conn, tcp *net.TCPConn)
	status websocket.StatusCode
}{
	{"close frame", func(c *websocket.Conn, _ *net.TCPConn) { go c.Close(4001, "bye") }, 4001},
	{"FIN", func(_ *websocket.Conn, tcp *net.TCPConn) { tcp.Close() }, -1},
	{"RST", func(_ *websocket.Conn, tcp *net.TCPConn) { tcp.SetLinger(0); tcp.Close() }, -1},
}

// TestPeerSeenBehindBusyHandler: with 1 or 8 messages pipelined behind a
// busy onReceive, the peer's close frame, FIN or RST cancels onReceive's
// ctx within a second, with pings or without, and onDisconnect runs once.
func TestPeerSeenBehindBusyHandler(t *testing.T) {
	t.Parallel()
	for _, pipelined := range []int{1, 8} {
		for _, end := range peerEnds {
			for _, ping := range []time.Duration{0, 200 * time.Millisecond} {
				t.Run(fmt.Sprintf("%d pipelined/%s/pings %v", pipelined, end.name, ping), func(t *testing.T) {
					t.Parallel()
					p := newRelProbe(t)
					started := make(chan context.Context, 16)
					busy := func(ctx context.Context, in relReq) (relResp, error) {
						started <- ctx
						<-ctx.Done()
						return relResp{}, nil
					}
					srv := httptest.NewServer(ws.Callback(p.onConnect, busy, p.onDisconnect,
						ws.WithGroup(&p.group), ws.WithPingInterval(ping)))
					t.Cleanup(srv.Close)
					c, tcp := peerDial(t, srv.URL)
					relWrite(t, c, websocket.MessageText, []byte(`{"id":0,"text":"busy"}`))
					ctx := receive(t, "onReceive", started)
					for i := 1; i <= pipelined; i++ {
						relWrite(t, c, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"text":"next"}`, i))
					}
					end.end(c, tcp)
					cause := doneWithin(t, "onReceive's ctx", ctx, promptly)
					if got := websocket.CloseStatus(cause); got != end.status {
						t.Fatalf("cause %v has close status %d, want %d", cause, got, end.status)
					}
					if err := p.next(t); err != cause {
						t.Fatalf("onDisconnect got %v, the context's cause is %v", err, cause)
					}
				})
			}
		}
	}
}

// raRouter serves "slow" (waits for its ctx or release), "echo" and the
// stream "watch" (one item, then waits for its ctx).
func raRouter(p *relProbe, started chan<- context.Context, release <-chan struct{}, opts ...ws.RouterOption) *ws.Router {
	r := ws.NewRouter(append([]ws.RouterOption{ws.WithGroup(&p.group)}, opts...)...)
	ws.On(r, "slow", func(ctx context.Context, in relReq) (relResp, error) {
		started <- ctx
		select {
		case <-ctx.Done():
		case <-release:
		}
		return relResp{ID: in.ID, Echo: in.Text}, nil
	})
	ws.On(r, "echo", relEcho)
	ws.Stream(r, "watch", func(ctx context.Context, in relReq, send func(relResp) error) error {
		if err := send(relResp{ID: in.ID, Echo: "item"}); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	r.OnConnect(p.onConnect)
	r.OnDisconnect(p.onDisconnect)
	return r
}

// TestPeerSeenBehindFullRouter: a Router whose concurrency slots are all
// taken by requests that wait for their ctx, with 1 or 8 more requests
// pipelined, sees the peer's close frame, FIN or RST within a second: every
// request's ctx is done, and onDisconnect runs once.
func TestPeerSeenBehindFullRouter(t *testing.T) {
	t.Parallel()
	for _, slots := range []int{1, 2} {
		for _, pipelined := range []int{1, 8} {
			for _, end := range peerEnds {
				t.Run(fmt.Sprintf("concurrency %d/%d pipelined/%s", slots, pipelined, end.name), func(t *testing.T) {
					t.Parallel()
					p := newRelProbe(t)
					started := make(chan context.Context, 16)
					srv := httptest.NewServer(raRouter(p, started, nil,
						ws.WithConcurrency(slots), ws.WithPingInterval(200*time.Millisecond)))
					t.Cleanup(srv.Close)
					c, tcp := peerDial(t, srv.URL)
					var ctxs []context.Context
					for i := range slots {
						relWrite(t, c, websocket.MessageText, fmt.Appendf(nil, `{"event":"slow","id":%d,"data":{"text":"x"}}`, i))
						ctxs = append(ctxs, receive(t, "a slow request", started))
					}
					for i := range pipelined {
						relWrite(t, c, websocket.MessageText, fmt.Appendf(nil, `{"event":"slow","id":%d,"data":{"text":"x"}}`, slots+i))
					}
					end.end(c, tcp)
					for _, ctx := range ctxs {
						cause := doneWithin(t, "a request's ctx", ctx, promptly)
						if got := websocket.CloseStatus(cause); got != end.status {
							t.Fatalf("cause %v has close status %d, want %d", cause, got, end.status)
						}
					}
					if err := p.next(t); websocket.CloseStatus(err) != end.status {
						t.Fatalf("onDisconnect got %v, want close status %d", err, end.status)
					}
				})
			}
		}
	}
}

// TestCancelWhileRouterFull: with every concurrency slot taken and more
// requests waiting, a $cancel stops its stream at once (its final reply
// comes while the slots are still taken) and a new stream starts at once;
// once the slow requests finish, every request gets its reply, in order
// when they are handled one at a time.
func TestCancelWhileRouterFull(t *testing.T) {
	t.Parallel()
	for _, slots := range []int{1, 2} {
		t.Run(fmt.Sprintf("concurrency %d", slots), func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			started := make(chan context.Context, 16)
			release := make(chan struct{})
			srv := httptest.NewServer(raRouter(p, started, release, ws.WithConcurrency(slots)))
			t.Cleanup(srv.Close)
			c := relDial(t, srv.URL)
			next := func() map[string]any {
				t.Helper()
				var m map[string]any
				if err := json.Unmarshal([]byte(recv(t, c)), &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
			send(t, c, `{"event":"watch","id":"w","data":{"text":"x"}}`)
			if m := next(); m["id"] != "w" || m["more"] != true {
				t.Fatalf("got %v, want the stream's item", m)
			}
			const requests = 5 // slots of them start, the others wait
			for i := range requests {
				send(t, c, fmt.Sprintf(`{"event":"slow","id":%d,"data":{"text":"x"}}`, i))
			}
			for range slots {
				receive(t, "a slow request", started)
			}
			send(t, c, `{"event":"$cancel","id":"w"}`)
			send(t, c, `{"event":"watch","id":"w2","data":{"text":"x"}}`)
			ctx, cancel := context.WithTimeout(context.Background(), promptly)
			defer cancel()
			var frames []string
			for len(frames) < 2 {
				_, data, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("after %q: %v: the stream messages waited behind the requests", frames, err)
				}
				frames = append(frames, string(data))
			}
			if frames[0] > frames[1] { // the streams run beside each other: either may write first
				frames[0], frames[1] = frames[1], frames[0]
			}
			if want := `{"id":"w","event":"watch","statusCode":200,"body":null}`; frames[0] != want {
				t.Fatalf("frames %q, want the canceled stream's final reply %s", frames, want)
			}
			if !strings.HasPrefix(frames[1], `{"id":"w2",`) || !strings.Contains(frames[1], `"more":true`) {
				t.Fatalf("frames %q, want the new stream's item", frames)
			}
			close(release)
			var ids []float64
			for len(ids) < requests {
				m := next()
				if m["event"] == "slow" {
					ids = append(ids, m["id"].(float64))
				}
			}
			for i, id := range ids {
				if slots == 1 && id != float64(i) {
					t.Fatalf("replies in the order %v, want the requests' order", ids)
				}
			}
		})
	}
}

// TestReadAheadBudget: past the budget (16 messages, or max(64 KiB, the
// read limit) bytes), reading pauses: nothing more is read, the peer's
// close frame waits behind the queue, and the peer is not pinged and not
// dropped, although it answers no ping. Once the handler catches up, every
// message is answered, in order, and the close frame is read.
func TestReadAheadBudget(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limit  int64 // the read limit; 0 for the default
		size   int   // the text's size in each message
		n      int   // messages sent behind the busy one
		queued int   // messages read ahead before reading pauses
	}{
		{"16 messages", 0, 10, 20, 16},
		{"64 KiB", 0, 20 << 10, 8, 4},                  // 3 × 20 KiB < 64 KiB ≤ 4 × 20 KiB
		{"the read limit", 256 << 10, 100 << 10, 6, 3}, // 2 × 100 KiB < 256 KiB ≤ 3 × 100 KiB
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			var reads atomic.Int32
			started := make(chan context.Context, 1)
			release := make(chan struct{})
			handler := func(ctx context.Context, in relReq) (relResp, error) {
				if in.ID == 0 {
					started <- ctx
					<-release
				}
				return relResp{ID: in.ID}, nil
			}
			opts := []ws.CallbackOption{ws.WithGroup(&p.group), ws.WithPingInterval(100 * time.Millisecond),
				ws.WithObserver(ws.Observer{Read: func(*ws.Conn, int) { reads.Add(1) }})}
			if tc.limit != 0 {
				opts = append(opts, ws.WithReadLimit(tc.limit))
			}
			srv := httptest.NewServer(ws.Callback(p.onConnect, handler, p.onDisconnect, opts...))
			t.Cleanup(srv.Close)
			rc := rawDial(t, srv.URL)

			var pings atomic.Int32
			var answer atomic.Bool
			replies := make(chan int, tc.n+1)
			closed := make(chan int, 1)
			go func() {
				for {
					f, err := rc.readFrame()
					if err != nil {
						return
					}
					switch f.op {
					case opPing:
						pings.Add(1)
						if answer.Load() {
							rc.nc.Write(rawFrame{fin: true, op: opPong, payload: f.payload, masked: true}.bytes())
						}
					case opText:
						var env ws.StatusEnvelope[relResp]
						json.Unmarshal(f.payload, &env)
						replies <- env.Body.ID
					case opClose:
						closed <- int(f.payload[0])<<8 | int(f.payload[1])
						return
					}
				}
			}()
			msg := func(id int) []byte {
				return rawFrame{fin: true, op: opText, masked: true,
					payload: fmt.Appendf(nil, `{"id":%d,"text":%q}`, id, strings.Repeat("x", tc.size))}.bytes()
			}
			rc.write(t, msg(0))
			ctx := receive(t, "onReceive", started)
			go func() { // the writes may block: TCP holds the peer back
				for i := 1; i <= tc.n; i++ {
					if _, err := rc.nc.Write(msg(i)); err != nil {
						return
					}
				}
				rc.nc.Write(rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xe8}, masked: true}.bytes())
			}()

			want := int32(1 + tc.queued)
			for deadline := time.Now().Add(relTimeout); reads.Load() < want; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d messages read, want %d", reads.Load(), want)
				}
			}
			time.Sleep(300 * time.Millisecond) // a ping already under way ends
			before := pings.Load()
			time.Sleep(time.Second) // ten ping intervals
			if got := reads.Load(); got != want {
				t.Fatalf("%d messages read while the handler was busy, want %d: reading did not pause", got, want)
			}
			if got := pings.Load() - before; got != 0 {
				t.Fatalf("the peer was pinged %d times while reading paused", got)
			}
			if ctx.Err() != nil {
				t.Fatalf("the connection ended while reading paused: %v", context.Cause(ctx))
			}

			answer.Store(true)
			close(release)
			for i := 0; i <= tc.n; i++ {
				if id := receive(t, fmt.Sprintf("reply %d (pings %d)", i, pings.Load()), replies); id != i {
					t.Fatalf("reply %d is to message %d", i, id)
				}
			}
			if code := receive(t, "the close frame", closed); code != 1000 {
				t.Fatalf("close %d, want the peer's 1000 echoed", code)
			}
			if err := p.next(t); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
				t.Fatalf("onDisconnect got %v, want the peer's close 1000", err)
			}
		})
	}
}

// TestDeadPeerDroppedWithinTwoIntervals: a peer the server hears nothing
// from any more (no pong, no message) is dropped between one and two ping
// intervals after the last thing the server read from it: its last pong, or
// a message it sent while a ping waited for its pong. A peer that sends
// keeps the connection open meanwhile.
func TestDeadPeerDroppedWithinTwoIntervals(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	for _, tc := range []struct {
		name    string
		message bool // the last thing it sends is a message, while a ping waits
	}{{"after its last pong", false}, {"after a message sent while a ping waited", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			url := relServe(t, p, ws.WithPingInterval(interval))
			rc := rawDial(t, url)
			var last time.Time
			for pings := 0; ; {
				f, err := rc.readFrame()
				if err != nil {
					if last.IsZero() {
						t.Fatalf("dropped before it went silent: %v", err)
					}
					break // dropped
				}
				if f.op != opPing || pings == 2 {
					continue
				}
				pings++
				if pings < 2 {
					rc.write(t, rawFrame{fin: true, op: opPong, payload: f.payload, masked: true}.bytes())
					continue
				}
				// The second ping: answer it, or send a message instead;
				// then fall silent.
				if tc.message {
					rc.write(t, rawFrame{fin: true, op: opText, payload: []byte(`{"id":1,"text":"x"}`), masked: true}.bytes())
				} else {
					rc.write(t, rawFrame{fin: true, op: opPong, payload: f.payload, masked: true}.bytes())
				}
				last = time.Now()
			}
			silent := time.Since(last)
			// The bound, with half an interval for the machine: a margin that
			// a third interval (the bound before) does not fit in.
			if silent < interval || silent > 2*interval+interval/2 {
				t.Fatalf("dropped %v after its last sign of life, want between %v and %v", silent, interval, 2*interval)
			}
			if err := p.next(t); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("onDisconnect got %v, want a pong timeout (os.ErrDeadlineExceeded)", err)
			}
		})
	}
}

// TestRepliesBeforePeerClose: a peer that sends its last messages and its
// close frame in one write gets every reply, in order, before the echo of
// its close frame: replies held back for the messages behind them are sent
// before a close frame is read.
func TestRepliesBeforePeerClose(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	rc := rawDial(t, relServe(t, p))
	var burst []byte
	const n = 4
	for i := range n {
		burst = append(burst, rawFrame{fin: true, op: opText, masked: true,
			payload: fmt.Appendf(nil, `{"id":%d,"text":"x"}`, i)}.bytes()...)
	}
	burst = append(burst, rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xe8}, masked: true}.bytes()...)
	rc.write(t, burst)
	for i := 0; ; i++ {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("after %d replies: %v", i, err)
		}
		if f.op == opClose {
			if i != n {
				t.Fatalf("the close frame came after %d replies, want %d", i, n)
			}
			break
		}
		var env ws.StatusEnvelope[relResp]
		json.Unmarshal(f.payload, &env)
		if f.op != opText || env.Body.ID != i {
			t.Fatalf("frame %d: %x %s, want the reply to message %d", i, f.op, f.payload, i)
		}
	}
	if err := p.next(t); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("onDisconnect got %v, want the peer's 1000", err)
	}
}

// TestStreamIDFreeAfterFinalReply: a stream's id is free again only from
// its final reply on: a client that reuses the id right after $cancel,
// before the final reply came, is told the id is still open, and the final
// reply it then gets belongs to the old stream. Here an interceptor holds
// the final reply back, once the stream's function has returned, until the
// client has seen what became of its second request.
func TestStreamIDFreeAfterFinalReply(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	hold := make(chan struct{})
	returned := make(chan struct{})
	var streams atomic.Int32
	holdFirst := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			r := next(ctx, call)
			if call.Event == "watch" && r.Status == http.StatusOK && streams.Add(1) == 1 {
				close(returned) // the stream's function has returned
				<-hold
			}
			return r
		}
	}
	srv := httptest.NewServer(raRouter(p, make(chan context.Context, 1), nil, ws.WithInterceptors(holdFirst)))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)
	send(t, c, `{"event":"watch","id":"w","data":{"text":"x"}}`)
	if got := recv(t, c); !strings.Contains(got, `"more":true`) {
		t.Fatalf("got %s, want the stream's item", got)
	}
	send(t, c, `{"event":"$cancel","id":"w"}`)
	receive(t, "the stream's end", returned)
	send(t, c, `{"event":"watch","id":"w","data":{"text":"x"}}`)
	got := recv(t, c)
	close(hold)
	if !strings.Contains(got, `"statusCode":400`) || !strings.Contains(got, "a stream with this id is open") {
		t.Fatalf("reusing the id before the final reply: got %s, want a 400: the id is still open", got)
	}
	if got, want := recv(t, c), `{"id":"w","event":"watch","statusCode":200,"body":null}`; got != want {
		t.Fatalf("got %s, want the old stream's final reply %s", got, want)
	}
	send(t, c, `{"event":"watch","id":"w","data":{"text":"x"}}`)
	if got := recv(t, c); !strings.Contains(got, `"more":true`) {
		t.Fatalf("after the final reply: got %s, want the new stream's item", got)
	}
}
