// Package fanouttest is the fan-out benchmark harness shared by the hub's
// BenchmarkFanout, natsbroker's BenchmarkFanoutNATS and bench/fanout's
// BenchmarkFanoutPeer, so that their figures compare: a room of WebSocket
// clients that count the messages they receive, a sender that keeps a
// window of messages in flight, and a hub server for them to join.
package fanouttest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
)

// Members is the size of the room in the fan-out benchmarks.
const Members = 1000

// Window is the default number of messages in flight: half the hub's
// default queue.
const Window = 128

// ring is the number of slots of delivery counts; more than any window.
const ring = 4096

// Msg is a chat message of about 100 bytes. Its encoding starts with
// {"seq":, which is how the clients find the sequence number.
type Msg struct {
	Seq  int    `json:"seq"`
	User string `json:"user"`
	Text string `json:"text"`
}

// NewMsg returns message seq.
func NewMsg(seq int) Msg {
	return Msg{Seq: seq, User: "alice", Text: "Hello everybody, the meeting starts in five minutes."}
}

// Fanout is a room of WebSocket clients whose readers count each message.
// The sender keeps at most window messages in flight: message i goes out
// once every member has message i-window. A window of 1 sends each message
// once the previous one has reached everybody: nothing can be batched.
type Fanout struct {
	members int
	window  int
	counts  [ring]atomic.Int32
	done    chan int // a message every member has: in order, mostly
	next    int      // the next sequence number; it never restarts
	clients []*websocket.Conn
}

// New returns a room that waits for members clients to have each message,
// with at most window messages in flight (1 to 4095).
func New(members, window int) *Fanout {
	if window < 1 || window >= ring {
		panic("fanouttest: window out of range")
	}
	return &Fanout{members: members, window: window, done: make(chan int, ring)}
}

// Dial connects a client to url and starts its reader, which skips the
// frames that carry no message.
func (f *Fanout) Dial(tb testing.TB, url string) {
	f.dial(tb, url, nil, false)
}

// DialJoined connects a client to url, sends hello (if any) and waits for
// the server's first frame, which says it has joined; then starts its
// reader.
func (f *Fanout) DialJoined(tb testing.TB, url string, hello []byte) {
	f.dial(tb, url, hello, true)
}

func (f *Fanout) dial(tb testing.TB, url string, hello []byte, wait bool) {
	tb.Helper()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if hello != nil {
		if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
			c.CloseNow()
			tb.Fatal(err)
		}
	}
	if wait {
		if _, _, err := c.Read(ctx); err != nil {
			c.CloseNow()
			tb.Fatal(err)
		}
	}
	f.clients = append(f.clients, c)
	go f.read(c)
}

// read counts the messages of each frame, one a line: a hub frame holds
// one, a centrifuge frame may hold several pushes. A line that is just {}
// is a centrifuge ping, answered with {}.
func (f *Fanout) read(c *websocket.Conn) {
	var buf bytes.Buffer
	for {
		_, r, err := c.Reader(context.Background())
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		for line := range bytes.Lines(buf.Bytes()) {
			if string(bytes.TrimSpace(line)) == "{}" {
				// Without the pong, centrifuge disconnects the client
				// after 25 s or so.
				if err := c.Write(context.Background(), websocket.MessageText, []byte("{}")); err != nil {
					return
				}
				continue
			}
			seq := seqOf(line)
			if seq < 0 {
				continue // a reply or another frame of the server's
			}
			if f.counts[seq%ring].Add(1) == int32(f.members) {
				f.counts[seq%ring].Store(0)
				f.done <- seq
			}
		}
	}
}

// seqOf returns the seq field of a Msg frame, bare or inside a centrifuge
// push, or -1.
func seqOf(data []byte) int {
	const key = `{"seq":`
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return -1
	}
	data = data[i+len(key):]
	end := bytes.IndexByte(data, ',')
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(data[:end]))
	if err != nil {
		return -1
	}
	return n
}

// Run sends b.N messages with send, which gets each message's sequence
// number, and waits until every member has them all, then reports
// deliveries per second. Sequence numbers go on from one call to the
// next, so a Fanout can serve several sub-benchmarks.
func (f *Fanout) Run(b *testing.B, send func(seq int) error) {
	completed := f.next - 1
	timeout := time.NewTimer(5 * time.Minute)
	defer timeout.Stop()
	waitFor := func(seq int) {
		for completed < seq {
			select {
			case s := <-f.done:
				completed = max(completed, s)
			case <-timeout.C:
				b.Fatalf("message %d has not reached every member", seq)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		seq := f.next
		f.next++
		waitFor(seq - f.window)
		if err := send(seq); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(f.next - 1)
	b.StopTimer()
	b.ReportMetric(float64(b.N*f.members)/b.Elapsed().Seconds(), "deliveries/s")
}

// Close closes the clients without a close handshake; their readers end.
func (f *Fanout) Close() {
	for _, c := range f.clients {
		c.CloseNow()
	}
}

// Node is a server whose connections join room "r" of its hub and are
// listed for the direct path.
type Node struct {
	// Hub is the node's hub.
	Hub *hub.Hub

	srv   *httptest.Server
	group ws.Group

	mu    sync.Mutex
	conns []*ws.Conn
}

// NewNode starts a node whose hub is made with opts.
func NewNode(opts ...hub.Option) *Node {
	n := &Node{Hub: hub.New(opts...)}
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		n.mu.Lock()
		n.conns = append(n.conns, conn)
		n.mu.Unlock()
		return n.Hub.Join(conn, "r")
	}
	onReceive := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, nil, ws.WithGroup(&n.group)))
	return n
}

// URL returns the node's WebSocket URL.
func (n *Node) URL() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") }

// Conns returns the connections made so far, in the order they came.
func (n *Node) Conns() []*ws.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns
}

// WaitMembers waits until count connections have joined room "r".
func (n *Node) WaitMembers(tb testing.TB, count int) {
	tb.Helper()
	for i := 0; n.Hub.Count("r") < count; i++ {
		if i == 10000 {
			tb.Fatalf("%d of %d members joined", n.Hub.Count("r"), count)
		}
		time.Sleep(time.Millisecond)
	}
}

// Close stops the server, shuts its connections down and closes the hub.
func (n *Node) Close() {
	n.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.group.Shutdown(ctx)
	n.Hub.Close()
}
