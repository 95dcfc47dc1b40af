package natsbroker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
)

// The fan-out harness is the one of the hub's BenchmarkFanout, so that
// the figures compare.

// benchMembers is the size of the room in the fan-out benchmarks.
const benchMembers = 1000

// benchMsg is a chat message of about 100 bytes.
type benchMsg struct {
	Seq  int    `json:"seq"`
	User string `json:"user"`
	Text string `json:"text"`
}

func newBenchMsg(seq int) benchMsg {
	return benchMsg{Seq: seq, User: "alice", Text: "Hello everybody, the meeting starts in five minutes."}
}

const (
	ring   = 4096 // slots of delivery counts; more than window
	window = 128  // messages in flight at most: half the default queue
)

// fanout is a room of WebSocket clients whose readers count each message.
// The sender keeps at most window messages in flight: message i goes out
// once every member has message i-window.
type fanout struct {
	members int
	counts  [ring]atomic.Int32
	done    chan int // a message every member has: in order, mostly
	next    int      // the next sequence number; it never restarts
	clients []*websocket.Conn
}

func newFanout(members int) *fanout {
	return &fanout{members: members, done: make(chan int, ring)}
}

// dial connects a client to url and starts its reader.
func (f *fanout) dial(b *testing.B, url string) {
	c, _, err := websocket.Dial(context.Background(), url, nil)
	if err != nil {
		b.Fatal(err)
	}
	f.clients = append(f.clients, c)
	go f.read(c)
}

func (f *fanout) read(c *websocket.Conn) {
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
		seq := seqOf(buf.Bytes())
		if seq < 0 {
			continue // the welcome frame
		}
		if f.counts[seq%ring].Add(1) == int32(f.members) {
			f.counts[seq%ring].Store(0)
			f.done <- seq
		}
	}
}

// seqOf returns the seq field of a benchMsg frame, or -1.
func seqOf(data []byte) int {
	const key = `{"seq":`
	if !bytes.HasPrefix(data, []byte(key)) {
		return -1
	}
	data = data[len(key):]
	end := bytes.IndexByte(data, ',')
	n, err := strconv.Atoi(string(data[:end]))
	if err != nil {
		return -1
	}
	return n
}

// run sends b.N messages with send and waits until every member has them
// all, then reports deliveries per second.
func (f *fanout) run(b *testing.B, send func(seq int) error) {
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
		waitFor(seq - window)
		if err := send(seq); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(f.next - 1)
	b.StopTimer()
	b.ReportMetric(float64(b.N*f.members)/b.Elapsed().Seconds(), "deliveries/s")
}

func (f *fanout) close() {
	for _, c := range f.clients {
		c.CloseNow()
	}
}

// benchNode is a server whose connections join room "r" of its hub.
type benchNode struct {
	h     *hub.Hub
	b     *natsbroker.Broker
	nc    *nats.Conn
	srv   *httptest.Server
	group ws.Group
}

// newBenchNode starts a node; with a NATS URL, its hub publishes there.
func newBenchNode(b *testing.B, natsURL string) *benchNode {
	n := &benchNode{}
	var opts []hub.Option
	if natsURL != "" {
		nc, err := nats.Connect(natsURL)
		if err != nil {
			b.Fatal(err)
		}
		n.nc = nc
		n.b = natsbroker.New(nc)
		opts = append(opts, hub.WithBroker(n.b))
	}
	n.h = hub.New(opts...)
	onConnect := func(ctx context.Context, conn *ws.Conn) error { return n.h.Join(conn, "r") }
	onReceive := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, nil, ws.WithGroup(&n.group)))
	return n
}

func (n *benchNode) url() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") }

// waitMembers waits until count connections have joined, and their
// subscription has reached NATS.
func (n *benchNode) waitMembers(b *testing.B, count int) {
	for i := 0; n.h.Count("r") < count; i++ {
		if i == 10000 {
			b.Fatalf("%d of %d members joined", n.h.Count("r"), count)
		}
		time.Sleep(time.Millisecond)
	}
	if n.nc != nil {
		if err := n.nc.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

func (n *benchNode) close() {
	n.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.group.Shutdown(ctx)
	n.h.Close()
	if n.b != nil {
		n.b.Close()
		n.nc.Close()
	}
}

// BenchmarkFanoutNATS sends one message at a time to a room of 1,000
// members over real WebSocket connections on loopback, the clients and an
// embedded NATS server in the same process. ns/op is the time per message;
// deliveries/s counts messages received by members.
//
//   - local: one hub without a broker, the single-node path;
//   - 2nodes: two hubs on NATS, 500 members each, broadcast from the first;
//   - remote: two hubs on NATS, all 1,000 members on the second, broadcast
//     from the first, which has none: every delivery crosses NATS.
func BenchmarkFanoutNATS(b *testing.B) {
	s := startNATS(b, 0)
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		nats  bool
		split func(i int) int // the node of member i
	}{
		{"local", false, func(int) int { return 0 }},
		{"2nodes", true, func(i int) int { return i % 2 }},
		{"remote", true, func(int) int { return 1 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := ""
			if bc.nats {
				url = s.ClientURL()
			}
			nodes := []*benchNode{newBenchNode(b, url), newBenchNode(b, url)}
			for _, n := range nodes {
				defer n.close()
			}
			f := newFanout(benchMembers)
			defer f.close()
			per := make([]int, 2)
			for i := range benchMembers {
				f.dial(b, nodes[bc.split(i)].url())
				per[bc.split(i)]++
			}
			for i, n := range nodes {
				n.waitMembers(b, per[i])
			}
			f.run(b, func(seq int) error { return nodes[0].h.Broadcast(ctx, "r", newBenchMsg(seq)) })
		})
	}
}
