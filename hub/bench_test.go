package hub_test

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

// benchNode is a server whose connections join room "r" of its hub and
// are listed for the direct path.
type benchNode struct {
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group

	mu    sync.Mutex
	conns []*ws.Conn
}

func newBenchNode(opts ...hub.Option) *benchNode {
	n := &benchNode{h: hub.New(opts...)}
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		n.mu.Lock()
		n.conns = append(n.conns, conn)
		n.mu.Unlock()
		return n.h.Join(conn, "r")
	}
	onReceive := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, nil, ws.WithGroup(&n.group)))
	return n
}

func (n *benchNode) url() string { return "ws" + strings.TrimPrefix(n.srv.URL, "http") }

// waitMembers waits until count connections have joined.
func (n *benchNode) waitMembers(b *testing.B, count int) {
	for i := 0; n.h.Count("r") < count; i++ {
		if i == 10000 {
			b.Fatalf("%d of %d members joined", n.h.Count("r"), count)
		}
		time.Sleep(time.Millisecond)
	}
}

func (n *benchNode) close() {
	n.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.group.Shutdown(ctx)
	n.h.Close()
}

// BenchmarkFanout sends one message at a time to a room of 1,000 members
// over real WebSocket connections on loopback, the clients in the same
// process. ns/op is the time per message; deliveries/s counts messages
// received by members.
//
//   - direct: encode once, then Conn.SendText to each connection in turn,
//     the loop an application writes without the hub;
//   - hub: Hub.Broadcast on one node;
//   - memorybroker-2nodes: two hubs on a MemoryBroker, 500 members each,
//     broadcast from the first: the broker path without a network.
func BenchmarkFanout(b *testing.B) {
	n := newBenchNode()
	defer n.close()
	f := newFanout(benchMembers)
	defer f.close()
	for range benchMembers {
		f.dial(b, n.url())
	}
	n.waitMembers(b, benchMembers)
	n.mu.Lock()
	conns := n.conns
	n.mu.Unlock()
	ctx := context.Background()

	b.Run("direct", func(b *testing.B) {
		f.run(b, func(seq int) error {
			data, err := json.Marshal(newBenchMsg(seq))
			if err != nil {
				return err
			}
			for _, c := range conns {
				if err := c.SendText(ctx, data); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("hub", func(b *testing.B) {
		f.run(b, func(seq int) error { return n.h.Broadcast(ctx, "r", newBenchMsg(seq)) })
	})
	b.Run("memorybroker-2nodes", func(b *testing.B) {
		var broker hub.MemoryBroker
		n1, n2 := newBenchNode(hub.WithBroker(&broker)), newBenchNode(hub.WithBroker(&broker))
		defer n1.close()
		defer n2.close()
		f := newFanout(benchMembers)
		defer f.close()
		for i := range benchMembers {
			f.dial(b, []*benchNode{n1, n2}[i%2].url())
		}
		n1.waitMembers(b, benchMembers/2)
		n2.waitMembers(b, benchMembers/2)
		f.run(b, func(seq int) error { return n1.h.Broadcast(ctx, "r", newBenchMsg(seq)) })
	})
}
