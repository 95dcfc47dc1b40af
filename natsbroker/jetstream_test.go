package natsbroker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startJS starts an embedded NATS server with JetStream, storing in dir
// (a new temporary directory if empty), and stops it when the test ends.
func startJS(t testing.TB, dir string) *server.Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, JetStream: true, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

// cutter dials NATS for a connection and can cut its TCP connections
// abruptly, as the death of its process would, and refuse new ones.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	dead  bool
}

func (c *cutter) Dial(network, address string) (net.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return nil, errors.New("dead")
	}
	conn, err := net.Dial(network, address)
	if err == nil {
		c.conns = append(c.conns, conn)
	}
	return conn, err
}

// revive accepts new connections again.
func (c *cutter) revive() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = false
	c.conns = nil
}

func (c *cutter) kill() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dead = true
	for _, conn := range c.conns {
		conn.Close()
	}
}

// jnode is an application server on JetStream: its own NATS connection,
// broker and hub, whose connections join the rooms of their query.
type jnode struct {
	t     testing.TB
	nc    *nats.Conn
	cut   cutter
	b     *natsbroker.JetStream
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group
	once  sync.Once
}

var jsHistory = hub.History{Size: 10000, TTL: time.Hour}

func newJNode(t testing.TB, natsURL string, s natsbroker.Stream) *jnode {
	t.Helper()
	n := &jnode{t: t}
	nc, err := nats.Connect(natsURL, nats.SetCustomDialer(&n.cut), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	n.nc = nc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.b, err = natsbroker.NewJetStream(ctx, nc, s); err != nil {
		t.Fatal(err)
	}
	n.h = hub.New(hub.WithBroker(n.b), hub.WithHistory("*", jsHistory), hub.WithQueueSize(8192))
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		for _, room := range conn.Request().URL.Query()["room"] {
			if err := n.h.Join(conn, room); err != nil {
				t.Logf("Join: %v", err)
				return err
			}
		}
		return nil
	}
	onReceive := func(ctx context.Context, in hbody) (ws.StatusEnvelope[any], error) {
		return ws.NoContent[any](), nil
	}
	onDisconnect := func(ctx context.Context, conn *ws.Conn, err error) { n.h.LeaveAll(conn) }
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, onDisconnect, ws.WithGroup(&n.group)))
	t.Cleanup(n.stop)
	return n
}

// stop shuts the node down in order.
func (n *jnode) stop() {
	n.once.Do(func() {
		n.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.group.Shutdown(ctx)
		n.h.Close()
		n.b.Close()
		n.nc.Close()
	})
}

// kill ends the node as a crash would: its clients' TCP connections and
// its NATS connection are cut, nothing says goodbye; then what is left of
// it is cleaned up.
func (n *jnode) kill() {
	n.srv.CloseClientConnections()
	n.cut.kill()
	n.stop()
}

func (n *jnode) dial(t testing.TB, resume string, rooms ...string) (*websocket.Conn, error) {
	q := url.Values{"room": rooms}
	if resume != "" {
		q.Set("resume", resume)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, n.srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c, nil
}

type hbody struct {
	Seq int `json:"seq"`
}

// hpush is a push of a room with history, or a $recover.
type hpush struct {
	Event      string          `json:"event"`
	Room       string          `json:"room"`
	Epoch      string          `json:"epoch"`
	Offset     uint64          `json:"offset"`
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body"`
}

type recoverBody struct {
	Epoch    string `json:"epoch"`
	Offset   uint64 `json:"offset"`
	Replayed int    `json:"replayed"`
}

func readPush(c *websocket.Conn) (hpush, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		return hpush{}, err
	}
	var p hpush
	err = json.Unmarshal(data, &p)
	return p, err
}

// member is a client that keeps its position in room and checks that it
// gets every message once, in order.
type member struct {
	room string
	pos  hub.Position
	next int // seq expected next
}

// take checks p: nil, or what is wrong.
func (m *member) take(p hpush) error {
	if p.Event == "$recover" {
		var b recoverBody
		if err := json.Unmarshal(p.Body, &b); err != nil {
			return err
		}
		if p.StatusCode != 200 || b.Epoch != m.pos.Epoch || b.Offset < m.pos.Offset {
			return fmt.Errorf("$recover %d %+v after %+v", p.StatusCode, b, m.pos)
		}
		return nil
	}
	var b hbody
	if err := json.Unmarshal(p.Body, &b); err != nil {
		return err
	}
	if p.Room != m.room || (m.pos.Epoch != "" && (p.Epoch != m.pos.Epoch || p.Offset <= m.pos.Offset)) {
		return fmt.Errorf("push %s/%s/%d after %+v", p.Room, p.Epoch, p.Offset, m.pos)
	}
	if b.Seq != m.next {
		return fmt.Errorf("seq %d at offset %d, want %d", b.Seq, p.Offset, m.next)
	}
	m.next++
	m.pos = hub.Position{Epoch: p.Epoch, Offset: p.Offset}
	return nil
}

func (m *member) resume() string {
	b, _ := json.Marshal(map[string]hub.Position{m.room: m.pos})
	return string(b)
}

// A client that drops in the middle of a stream and resumes, on the same
// node or the other, gets every message once, in order, while a publisher
// on one node keeps publishing.
func TestJetStreamResume(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	a, b := newJNode(t, s.ClientURL(), natsbroker.Stream{}), newJNode(t, s.ClientURL(), natsbroker.Stream{})
	const total = 2000
	m := &member{room: "lobby", next: 1}
	c, err := a.dial(t, "", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	// Count is 1 before Join has subscribed: wait for the room's consumer.
	waitFor(t, "joined", func() bool { return a.h.Count("lobby") == 1 })
	waitFor(t, "subscribed", func() bool { return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 1 })
	done := make(chan error, 1)
	go func() {
		for seq := 1; seq <= total; seq++ {
			if err := a.h.Broadcast(context.Background(), "lobby", ws.Ok(hbody{Seq: seq})); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	nodes := []*jnode{a, b}
	for drop := 0; m.next <= total; drop++ {
		for range 150 {
			p, err := readPush(c)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.take(p); err != nil {
				t.Fatal(err)
			}
			if m.next > total {
				break
			}
		}
		if m.next > total {
			break
		}
		c.CloseNow()
		if c, err = nodes[drop%2].dial(t, m.resume(), "lobby"); err != nil {
			t.Fatal(err)
		}
		if p, err := readPush(c); err != nil || p.Event != "$recover" || p.StatusCode != 200 {
			t.Fatalf("after resuming at %+v: %+v, %v; want $recover 200", m.pos, p, err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A node killed while the other publishes 5,000 messages: every member
// of the dead node resumes on the surviving one and ends with all 5,000,
// no gap, no duplicate; so do the survivor's own members.
func TestJetStreamNodeKilled(t *testing.T) {
	t.Parallel()
	const total, onA, onB = 5000, 10, 3
	s := startJS(t, "")
	a, b := newJNode(t, s.ClientURL(), natsbroker.Stream{MaxPerRoom: 10000}), newJNode(t, s.ClientURL(), natsbroker.Stream{MaxPerRoom: 10000})
	killAt := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, onA+onB)
	for i := range onA + onB {
		first := a
		if i >= onA {
			first = b
		}
		c, err := first.dial(t, "", "lobby")
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &member{room: "lobby", next: 1}
			resumed := false
			for m.next <= total {
				p, err := readPush(c)
				if err != nil {
					if resumed || first != a {
						errs <- fmt.Errorf("member %d at %+v: %v", i, m.pos, err)
						return
					}
					<-killAt // a's death, not something else
					resumed = true
					if c, err = b.dial(t, m.resume(), "lobby"); err != nil {
						errs <- err
						return
					}
					continue
				}
				if err := m.take(p); err != nil {
					errs <- fmt.Errorf("member %d: %v", i, err)
					return
				}
			}
			if first == a && !resumed {
				errs <- fmt.Errorf("member %d of the killed node was never cut off", i)
			}
		}()
	}
	waitFor(t, "joined", func() bool { return a.h.Count("lobby") == onA && b.h.Count("lobby") == onB })
	// Count is right before Join has subscribed: wait for both hubs'
	// consumers of the room.
	waitFor(t, "subscribed", func() bool { return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 2 })
	for seq := 1; seq <= total; seq++ {
		if seq == total/4 {
			a.kill()
			close(killAt)
		}
		if err := b.h.Broadcast(context.Background(), "lobby", ws.Ok(hbody{Seq: seq})); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// Every message whose Broadcast returned is in the history, even when its
// node dies the next instant: the other node reads all of them.
func TestJetStreamAckedIsKept(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	a, b := newJNode(t, s.ClientURL(), natsbroker.Stream{}), newJNode(t, s.ClientURL(), natsbroker.Stream{})
	const total = 300
	for seq := 1; seq <= total; seq++ {
		if err := a.h.Broadcast(context.Background(), "news", ws.Ok(hbody{Seq: seq})); err != nil {
			t.Fatal(err)
		}
	}
	a.kill()
	msgs, now, err := b.h.History(context.Background(), "news")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != total || now.Epoch != b.b.Epoch() || now.Epoch == "" {
		t.Fatalf("History: %d messages at %+v, want %d in epoch %s", len(msgs), now, total, b.b.Epoch())
	}
	var last hpush
	if err := json.Unmarshal(msgs[total-1], &last); err != nil || last.Offset != now.Offset || last.Room != "news" {
		t.Fatalf("last message %s (%v), want offset %d", msgs[total-1], err, now.Offset)
	}
}

// A resume of another epoch, or past what the stream keeps of the room,
// gets a 410 with the room's position now, and nothing replayed.
func TestJetStreamGone(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	n := newJNode(t, s.ClientURL(), natsbroker.Stream{MaxPerRoom: 5})
	ctx := context.Background()
	for seq := 1; seq <= 3; seq++ {
		n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: seq}))
		n.h.Broadcast(ctx, "other", ws.Ok(hbody{Seq: seq})) // offsets skip
	}
	_, now, err := n.h.History(ctx, "lobby")
	if err != nil || now.Offset != 5 {
		t.Fatalf("History: %+v, %v; want offset 5", now, err)
	}
	resume := func(p hub.Position) (hpush, recoverBody) {
		t.Helper()
		m := &member{room: "lobby", pos: p}
		c, err := n.dial(t, m.resume(), "lobby")
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		got, err := readPush(c)
		var b recoverBody
		if err == nil {
			err = json.Unmarshal(got.Body, &b)
		}
		if err != nil || got.Event != "$recover" {
			t.Fatalf("resume at %+v: %+v, %v", p, got, err)
		}
		return got, b
	}
	// Within reach: offset 1 is kept; 3 and 5 follow.
	if p, b := resume(hub.Position{Epoch: now.Epoch, Offset: 1}); p.StatusCode != 200 || b.Replayed != 2 || b.Offset != 5 {
		t.Fatalf("resume at 1: %d %+v, want 200 with 2 replayed up to 5", p.StatusCode, b)
	}
	if p, b := resume(hub.Position{Epoch: "stale", Offset: 1}); p.StatusCode != 410 || b != (recoverBody{Epoch: now.Epoch, Offset: 5}) {
		t.Fatalf("stale epoch: %d %+v, want 410 at %+v", p.StatusCode, b, now)
	}
	for seq := 4; seq <= 10; seq++ {
		n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: seq}))
	}
	_, now, _ = n.h.History(ctx, "lobby")
	if p, b := resume(hub.Position{Epoch: now.Epoch, Offset: 1}); p.StatusCode != 410 || b != (recoverBody{Epoch: now.Epoch, Offset: now.Offset}) {
		t.Fatalf("past the reach: %d %+v, want 410 at %+v", p.StatusCode, b, now)
	}
	if p, b := resume(hub.Position{Epoch: now.Epoch, Offset: now.Offset + 100}); p.StatusCode != 410 {
		t.Fatalf("offset from the future: %d %+v, want 410", p.StatusCode, b)
	}
}

// The epoch stays when the NATS server restarts with its store, and
// changes when the stream is deleted and created again.
func TestJetStreamEpoch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	epoch := func(s *server.Server) string {
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		b, err := natsbroker.NewJetStream(ctx, nc, natsbroker.Stream{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, err := b.Append(ctx, "room.x", []byte("x"), jsHistory); err != nil {
			t.Fatal(err)
		}
		return b.Epoch()
	}
	s := startJS(t, dir)
	e1 := epoch(s)
	s.Shutdown()
	s.WaitForShutdown()
	s = startJS(t, dir)
	if e2 := epoch(s); e2 != e1 {
		t.Fatalf("epoch %s after a restart, was %s", e2, e1)
	}
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := natsJetStream(nc)
	if err := js.DeleteStream(ctx, natsbroker.DefaultStreamName); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a creation time of another nanosecond
	if e3 := epoch(s); e3 == e1 {
		t.Fatalf("epoch %s after the stream was created again", e3)
	}
}

// NewJetStream on a server without JetStream fails with a clear error.
func TestJetStreamNotEnabled(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := natsbroker.NewJetStream(ctx, nc, natsbroker.Stream{}); err == nil {
		t.Fatal("NewJetStream without JetStream: no error")
	}
}

func natsJetStream(nc *nats.Conn) (jetstream.JetStream, error) { return jetstream.New(nc) }

// waitFor waits until cond holds, failing the test after a long while.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}
