package natsbroker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startNATS starts an embedded NATS server on 127.0.0.1:port (0: any free
// port) and stops it when the test ends.
func startNATS(t testing.TB, port int) *server.Server {
	t.Helper()
	if port == 0 {
		port = server.RANDOM_PORT
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, NoLog: true, NoSigs: true})
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

func natsPort(s *server.Server) int { return s.Addr().(*net.TCPAddr).Port }

// say is what a test client sends: text for the other members of room.
type say struct {
	Room string `json:"room" validate:"required"`
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

// event is what members receive.
type event struct {
	From string `json:"from"`
	Seq  int    `json:"seq"`
	Text string `json:"text"`
}

// frame is an event, or the reply to the client's own message.
type frame struct {
	ws.StatusEnvelope[json.RawMessage] // a reply; zero for an event
	event
}

// node is one application server: an HTTP server, a hub and its own NATS
// connection. Clients name themselves and pick their rooms in the query
// string, and get a "ready" event once they have joined.
type node struct {
	t     *testing.T
	name  string
	nc    *nats.Conn
	b     *natsbroker.Broker
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group

	disconnected chan struct{}
	reconnected  chan struct{}
	stopOnce     sync.Once

	mu    sync.Mutex
	conns map[string]*ws.Conn // by client name
}

// newNode starts a node whose hub has opts besides its broker and a queue
// of 4096 messages.
func newNode(t *testing.T, natsURL, name string, opts ...hub.Option) *node {
	t.Helper()
	n := &node{t: t, name: name, disconnected: make(chan struct{}, 10), reconnected: make(chan struct{}, 10), conns: map[string]*ws.Conn{}}
	nc, err := nats.Connect(natsURL,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(20*time.Millisecond),
		nats.ReconnectJitter(0, 0),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { n.disconnected <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { n.reconnected <- struct{}{} }),
	)
	if err != nil {
		t.Fatal(err)
	}
	n.nc = nc
	n.b = natsbroker.New(nc)
	// Tests send bursts of hundreds of messages to slow -race clients: a
	// queue that holds a whole burst keeps them from being dropped.
	n.h = hub.New(append([]hub.Option{hub.WithBroker(n.b), hub.WithQueueSize(4096)}, opts...)...)

	clientName := func(conn *ws.Conn) string { return conn.Request().URL.Query().Get("name") }
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		n.mu.Lock()
		n.conns[clientName(conn)] = conn
		n.mu.Unlock()
		for _, room := range conn.Request().URL.Query()["room"] {
			if err := n.h.Join(conn, room); err != nil {
				return err
			}
		}
		return conn.SendJSON(ctx, event{Text: "ready"})
	}
	onReceive := func(ctx context.Context, in say) (ws.StatusEnvelope[any], error) {
		conn := ws.ConnFromContext(ctx)
		err := n.h.BroadcastExcept(ctx, in.Room, conn, event{From: clientName(conn), Seq: in.Seq, Text: in.Text})
		return ws.NoContent[any](), err
	}
	onDisconnect := func(ctx context.Context, conn *ws.Conn, err error) { n.h.LeaveAll(conn) }
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, onDisconnect, ws.WithGroup(&n.group)))
	t.Cleanup(n.stop)
	return n
}

// stop shuts the node down: its clients, its hub, its broker and its NATS
// connection. Calls after the first do nothing.
func (n *node) stop() {
	n.stopOnce.Do(func() {
		n.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.group.Shutdown(ctx); err != nil {
			n.t.Errorf("%s: group shutdown: %v", n.name, err)
		}
		if err := n.h.Close(); err != nil {
			n.t.Errorf("%s: hub close: %v", n.name, err)
		}
		if err := n.b.Close(); err != nil {
			n.t.Errorf("%s: broker close: %v", n.name, err)
		}
		n.nc.Close()
	})
}

// conn returns the server side of the client named name.
func (n *node) conn(name string) *ws.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[name]
}

// dial connects a client named name, in rooms, and waits until it has
// joined them.
func (n *node) dial(name string, rooms ...string) *websocket.Conn {
	t := n.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	q := url.Values{"name": {name}, "room": rooms}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.srv.URL, "http")+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if f, err := readFrame(c); err != nil || f.Text != "ready" {
		t.Fatalf("first frame = %+v, %v; want ready", f, err)
	}
	return c
}

// broadcast sends count events from the node's hub, then "end".
func (n *node) broadcast(room string, count int) {
	n.t.Helper()
	n.send(n.name, room, count)
	n.send(n.name, room, -1)
}

// send sends count events from the node's hub as from; a count of -1
// sends "end".
func (n *node) send(from, room string, count int) {
	n.t.Helper()
	if count < 0 {
		if err := n.h.Broadcast(context.Background(), room, event{From: from, Text: "end"}); err != nil {
			n.t.Fatalf("%s: Broadcast: %v", n.name, err)
		}
		return
	}
	for i := range count {
		if err := n.h.Broadcast(context.Background(), room, event{From: from, Seq: i, Text: "hub"}); err != nil {
			n.t.Fatalf("%s: Broadcast: %v", n.name, err)
		}
	}
}

// readFrame returns the next frame of c. It gives up after a long while,
// so that a missing message fails the test instead of hanging it.
func readFrame(c *websocket.Conn) (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var f frame
	err := wsjson.Read(ctx, c, &f)
	return f, err
}

// received is what one client got: the sequence numbers of each sender's
// events, in the order they arrived, and the replies to its own messages.
type received struct {
	seqs    map[string][]int
	replies int
}

// collect reads c until it has seen an "end" event from each of ends
// senders. Once replies replies have arrived, it calls onReplies.
func collect(c *websocket.Conn, ends, replies int, onReplies func()) (received, error) {
	r := received{seqs: map[string][]int{}}
	if replies == 0 && onReplies != nil {
		onReplies()
	}
	for ended := 0; ended < ends; {
		f, err := readFrame(c)
		if err != nil {
			return r, err
		}
		switch {
		case f.StatusCode != 0:
			r.replies++
			if r.replies == replies && onReplies != nil {
				onReplies()
			}
		case f.Text == "end":
			ended++
		default:
			r.seqs[f.From] = append(r.seqs[f.From], f.Seq)
		}
	}
	return r, nil
}

// upTo returns 0, 1, ..., n-1.
func upTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// check reports whether r holds, from each sender of want, exactly want's
// count of events, numbered from 0 in order, and nothing from others.
func (r received) check(want map[string]int) error {
	for from, n := range want {
		if got := r.seqs[from]; !slices.Equal(got, upTo(n)) {
			return fmt.Errorf("from %s: got %v, want 0..%d once each, in order", from, got, n-1)
		}
	}
	for from, got := range r.seqs {
		if _, ok := want[from]; !ok {
			return fmt.Errorf("from %s: got %v, want nothing", from, got)
		}
	}
	return nil
}

func TestEveryMemberOnceInOrderAcrossNodes(t *testing.T) {
	t.Parallel()
	for _, nodes := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			t.Parallel()
			s := startNATS(t, 0)
			const perNode, perClient, perHub = 3, 20, 100
			var ns []*node
			type member struct {
				name string
				c    *websocket.Conn
			}
			var members []member
			for i := range nodes {
				n := newNode(t, s.ClientURL(), fmt.Sprintf("node%d", i))
				ns = append(ns, n)
				for j := range perNode {
					name := fmt.Sprintf("%s-c%d", n.name, j)
					members = append(members, member{name, n.dial(name, "lobby")})
				}
			}
			// A bystander in another room gets nothing.
			other := ns[0].dial("bystander", "other")
			for _, n := range ns {
				if err := n.nc.Flush(); err != nil { // the subscriptions are in place
					t.Fatal(err)
				}
			}

			// Every client reads until each node's hub has said "end";
			// the hubs say it once every client's messages were published.
			var published sync.WaitGroup
			published.Add(len(members))
			results := make([]received, len(members))
			errs := make([]error, len(members))
			var readers sync.WaitGroup
			for i, m := range members {
				readers.Go(func() {
					results[i], errs[i] = collect(m.c, nodes, perClient, published.Done)
				})
				readers.Go(func() {
					for seq := range perClient {
						if err := wsjson.Write(context.Background(), m.c, say{Room: "lobby", Seq: seq, Text: "client"}); err != nil {
							t.Errorf("%s: write: %v", m.name, err)
							return
						}
					}
				})
			}
			published.Wait()
			for _, n := range ns {
				n.broadcast("lobby", perHub)
			}
			readers.Wait()

			for i, m := range members {
				if errs[i] != nil {
					t.Fatalf("%s: %v", m.name, errs[i])
				}
				if results[i].replies != perClient {
					t.Errorf("%s: %d replies, want %d", m.name, results[i].replies, perClient)
				}
				want := map[string]int{}
				for _, n := range ns {
					want[n.name] = perHub
				}
				for _, o := range members {
					if o.name != m.name {
						want[o.name] = perClient
					}
				}
				if err := results[i].check(want); err != nil {
					t.Errorf("%s: %v", m.name, err)
				}
			}
			ns[0].broadcast("other", 0)
			if r, err := collect(other, 1, 0, nil); err != nil || len(r.seqs) != 0 {
				t.Fatalf("bystander got %v, %v; want only its end", r.seqs, err)
			}
		})
	}
}

func TestSubscribesOnlyToRoomsWithLocalMembers(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	a := newNode(t, s.ClientURL(), "a")
	b := newNode(t, s.ClientURL(), "b")
	a.dial("a1", "lobby", "a only")
	b.dial("b1", "lobby")
	b2 := b.dial("b2", "lobby", "b.only")
	for _, n := range []*node{a, b} {
		if err := n.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	subjects := func(name string) []string {
		t.Helper()
		cz, err := s.Connz(&server.ConnzOptions{Subscriptions: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cz.Conns {
			if c.Name == name {
				slices.Sort(c.Subs)
				return c.Subs
			}
		}
		t.Fatalf("no NATS connection named %s", name)
		return nil
	}
	if got, want := subjects("a"), []string{"cafeto.ws.room.a%20only", "cafeto.ws.room.lobby"}; !slices.Equal(got, want) {
		t.Fatalf("a subscribes to %q, want %q", got, want)
	}
	if got, want := subjects("b"), []string{"cafeto.ws.room.b%2Eonly", "cafeto.ws.room.lobby"}; !slices.Equal(got, want) {
		t.Fatalf("b subscribes to %q, want %q", got, want)
	}
	b2.Close(websocket.StatusNormalClosure, "")
	// b2's onDisconnect leaves b.only, the last member on b: b
	// unsubscribes. Wait for the unsubscription to reach the server.
	for i := 0; ; i++ {
		if err := b.nc.Flush(); err != nil {
			t.Fatal(err)
		}
		got, want := subjects("b"), []string{"cafeto.ws.room.lobby"}
		if slices.Equal(got, want) {
			break
		}
		if i == 1000 {
			t.Fatalf("b subscribes to %q after its last member of b.only left, want %q", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNodeThatDiesDoesNotDisturbTheOthers(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	var ns []*node
	clients := map[*node][]*websocket.Conn{}
	for i := range 3 {
		n := newNode(t, s.ClientURL(), fmt.Sprintf("node%d", i))
		ns = append(ns, n)
		for j := range 2 {
			clients[n] = append(clients[n], n.dial(fmt.Sprintf("%s-c%d", n.name, j), "lobby"))
		}
		if err := n.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	round := func(alive []*node, count int) {
		t.Helper()
		for _, n := range alive {
			n.broadcast("lobby", count)
		}
		want := map[string]int{}
		for _, n := range alive {
			want[n.name] = count
		}
		for _, n := range alive {
			for _, c := range clients[n] {
				r, err := collect(c, len(alive), 0, nil)
				if err == nil {
					err = r.check(want)
				}
				if err != nil {
					t.Fatalf("client of %s: %v", n.name, err)
				}
			}
		}
	}
	round(ns, 10)

	// node2 dies: its NATS connection drops without unsubscribing, its
	// clients lose their connections.
	dead := ns[2]
	dead.nc.Close()
	for _, c := range clients[dead] {
		c.CloseNow()
	}
	round(ns[:2], 50)
	// Its hub, cut off from NATS, fails to publish, and nobody else hears.
	if err := dead.h.Broadcast(context.Background(), "lobby", event{From: dead.name, Text: "ghost"}); err == nil {
		t.Fatal("Broadcast over a closed NATS connection: no error")
	}
	round(ns[:2], 10)
	dead.stop()
	round(ns[:2], 10)
}

func TestNATSRestartIsSurvived(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	port := natsPort(s)
	a := newNode(t, s.ClientURL(), "a")
	b := newNode(t, s.ClientURL(), "b")
	a1, a2 := a.dial("a1", "lobby"), a.dial("a2", "lobby")
	b1 := b.dial("b1", "lobby")
	for _, n := range []*node{a, b} {
		if err := n.nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	both := map[string]int{"a": 5, "b": 5}
	a.broadcast("lobby", 5)
	b.broadcast("lobby", 5)
	for _, c := range []*websocket.Conn{a1, a2, b1} {
		r, err := collect(c, 2, 0, nil)
		if err == nil {
			err = r.check(both)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	s.Shutdown()
	s.WaitForShutdown()
	<-a.disconnected
	<-b.disconnected

	// During the outage, a's members still get a's broadcasts; nats.go
	// buffers them for NATS, and b's members may or may not get them.
	a.send("outage", "lobby", 3)
	for _, c := range []*websocket.Conn{a1, a2} {
		for seq := range 3 {
			if f, err := readFrame(c); err != nil || f.From != "outage" || f.Seq != seq {
				t.Fatalf("during the outage: got %+v, %v; want outage message %d", f, err, seq)
			}
		}
	}

	startNATS(t, port)
	<-a.reconnected
	<-b.reconnected
	for _, n := range []*node{a, b} {
		if err := n.nc.Flush(); err != nil { // resubscribed: the server has the subscriptions
			t.Fatal(err)
		}
	}
	a.broadcast("lobby", 5)
	b.broadcast("lobby", 5)
	for _, c := range []*websocket.Conn{a1, a2} {
		r, err := collect(c, 2, 0, nil)
		if err == nil {
			err = r.check(both) // nothing twice: a's buffered broadcasts came back to a, which ignored them
		}
		if err != nil {
			t.Fatalf("after the restart: %v", err)
		}
	}
	// b1 may have received some of a's broadcasts of the outage, those
	// that reached NATS after b had subscribed again: each once at most,
	// in order.
	r, err := collect(b1, 2, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.seqs["outage"]; len(got) > 0 {
		for i, seq := range got {
			if seq < 0 || seq > 2 || i > 0 && seq <= got[i-1] {
				t.Fatalf("b1 got the outage broadcasts %v, want each of 0..2 once at most, in order", got)
			}
		}
		t.Logf("b1 got the outage broadcasts %v", got)
		delete(r.seqs, "outage")
	}
	if err := r.check(both); err != nil {
		t.Fatalf("b1 after the restart: %v", err)
	}
}

// A broadcast sent by another node right after Join has returned reaches
// the new member: Join returns once NATS has the room's subscription. Each
// of the 1,000 rounds joins a new room, so each subscribes anew.
func TestBroadcastRightAfterJoinOnAnotherNode(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	a := newNode(t, s.ClientURL(), "a")
	b := newNode(t, s.ClientURL(), "b")
	c := b.dial("member")
	member := b.conn("member")
	const rounds = 1000
	for i := range rounds {
		room := fmt.Sprint("room-", i)
		if err := b.h.Join(member, room); err != nil {
			t.Fatal(err)
		}
		if err := a.h.Broadcast(context.Background(), room, event{From: "a", Seq: i, Text: "hub"}); err != nil {
			t.Fatal(err)
		}
	}
	// Every subscription is at NATS now, the last one's too: its "end"
	// comes after anything a published before it.
	if err := b.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	a.send("a", fmt.Sprint("room-", rounds-1), -1)
	r, err := collect(c, 1, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.seqs["a"]; len(got) != rounds {
		t.Fatalf("the member got %d of %d broadcasts sent right after its Join", len(got), rounds)
	}
	if err := r.check(map[string]int{"a": rounds}); err != nil {
		t.Fatal(err)
	}
}
