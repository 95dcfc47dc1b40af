// Package peer compares the hub with a peer doing the same job:
// centrifuge (github.com/centrifugal/centrifuge) with its in-memory broker,
// on the same harness as the hub's BenchmarkFanout. It is a module of its
// own so that neither the hub nor its users depend on centrifuge.
package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/centrifugal/centrifuge"
	"github.com/coder/websocket"
)

// benchMembers is the size of the room.
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
	ring = 4096 // slots of delivery counts; more than any window
)

// fanout is a room of WebSocket clients whose readers count each message.
// The sender keeps at most window messages in flight: message i goes out
// once every member has message i-window. A window of 1 sends each message
// once the previous one has reached everybody: nothing can be batched.
type fanout struct {
	members int
	window  int
	counts  [ring]atomic.Int32
	done    chan int // a message every member has: in order, mostly
	next    int      // the next sequence number; it never restarts
	clients []*websocket.Conn
}

func newFanout(members, window int) *fanout {
	return &fanout{members: members, window: window, done: make(chan int, ring)}
}

// dial connects a client to url, sends hello (if any) and waits for the
// server's first frame, which says it has joined; then starts its reader.
func (f *fanout) dial(b *testing.B, url string, hello []byte) {
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	if hello != nil {
		if err := c.Write(ctx, websocket.MessageText, hello); err != nil {
			b.Fatal(err)
		}
	}
	if _, _, err := c.Read(ctx); err != nil {
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
		for line := range bytes.Lines(buf.Bytes()) {
			if string(bytes.TrimSpace(line)) == "{}" {
				// A centrifuge ping: without the pong, the server
				// disconnects the client after 25 s or so.
				if err := c.Write(context.Background(), websocket.MessageText, []byte("{}")); err != nil {
					return
				}
				continue
			}
			seq := seqOf(line)
			if seq < 0 {
				continue // a reply or a ping
			}
			if f.counts[seq%ring].Add(1) == int32(f.members) {
				f.counts[seq%ring].Store(0)
				f.done <- seq
			}
		}
	}
}

// seqOf returns the seq field of a benchMsg frame, bare or inside a
// centrifuge push, or -1.
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
		waitFor(seq - f.window)
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

// BenchmarkFanoutPeer sends messages to a room of 1,000 members over real
// WebSocket connections on loopback, the clients in the same process, with
// each library's defaults. ns/op is the time per message; deliveries/s
// counts messages received by members.
//
//   - hub: Hub.Broadcast, one node, no broker;
//   - centrifuge: Node.Publish with the memory broker (no history), the
//     members subscribed on the server side at connect, JSON protocol.
//
// w128 keeps up to 128 messages in flight (throughput); w1 sends the next
// message once the previous one has reached every member (the time to
// reach 1,000 members).
func BenchmarkFanoutPeer(b *testing.B) {
	for _, window := range []int{128, 1} {
		b.Run(fmt.Sprintf("hub/w%d", window), func(b *testing.B) { benchHub(b, window) })
		b.Run(fmt.Sprintf("centrifuge/w%d", window), func(b *testing.B) { benchCentrifuge(b, window) })
	}
}

func benchHub(b *testing.B, window int) {
	ctx := context.Background()
	h := hub.New()
	defer h.Close()
	var group ws.Group
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		if err := h.Join(conn, "r"); err != nil {
			return err
		}
		return conn.SendJSON(ctx, "joined")
	}
	onReceive := func(ctx context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil }
	srv := httptest.NewServer(ws.Callback(onConnect, onReceive, nil, ws.WithGroup(&group)))
	defer srv.Close()
	defer group.Shutdown(ctx)
	f := newFanout(benchMembers, window)
	defer f.close()
	for range benchMembers {
		f.dial(b, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	}
	f.run(b, func(seq int) error { return h.Broadcast(ctx, "r", newBenchMsg(seq)) })
}

func benchCentrifuge(b *testing.B, window int) {
	ctx := context.Background()
	node, err := centrifuge.New(centrifuge.Config{})
	if err != nil {
		b.Fatal(err)
	}
	node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
		return centrifuge.ConnectReply{
			Credentials:   &centrifuge.Credentials{UserID: "u"},
			Subscriptions: map[string]centrifuge.SubscribeOptions{"r": {}},
		}, nil
	})
	node.OnConnect(func(*centrifuge.Client) {})
	if err := node.Run(); err != nil {
		b.Fatal(err)
	}
	defer node.Shutdown(ctx)
	srv := httptest.NewServer(centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{}))
	defer srv.Close()
	f := newFanout(benchMembers, window)
	defer f.close()
	for range benchMembers {
		// The connect command; its reply holds the server-side
		// subscription, so the client is a member once it arrives.
		f.dial(b, "ws"+strings.TrimPrefix(srv.URL, "http"), []byte(`{"id":1,"connect":{}}`))
	}
	f.run(b, func(seq int) error {
		data, err := json.Marshal(newBenchMsg(seq))
		if err != nil {
			return err
		}
		_, err = node.Publish("r", data)
		return err
	})
}
