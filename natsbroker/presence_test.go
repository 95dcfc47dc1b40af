package natsbroker_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
)

// testTimeout is the presence timeout of the tests' nodes.
const testTimeout = 3 * time.Second

// pnode is an application server whose connections track themselves in
// the room of their query (?room=lobby&key=ana&tab=a1), on a JetStream
// broker of its own NATS connection.
type pnode struct {
	nc    *nats.Conn
	cut   cutter
	b     *natsbroker.JetStream
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group
	once  sync.Once
	dead  atomic.Bool // killed: a Track still under way may fail
}

func newPNode(t testing.TB, natsURL string) *pnode {
	t.Helper()
	n := &pnode{}
	nc, err := nats.Connect(natsURL, nats.SetCustomDialer(&n.cut), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	n.nc = nc
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if n.b, err = natsbroker.NewJetStream(ctx, nc, natsbroker.Stream{Memory: true, PresenceTimeout: testTimeout}); err != nil {
		t.Fatal(err)
	}
	n.h = hub.New(hub.WithBroker(n.b), hub.WithPresence("*", hub.Presence{}))
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		q := conn.Request().URL.Query()
		if err := n.h.Track(conn, q.Get("room"), q.Get("key"), map[string]string{"tab": q.Get("tab")}); err != nil {
			// The other nodes may see an entry before the broker's
			// answer to its Track reaches this one: a node killed in
			// between fails a Track that took effect.
			if !n.dead.Load() {
				t.Errorf("Track: %v", err)
			}
			return err
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

func (n *pnode) stop() {
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

// kill ends the node as SIGKILL would, as the others see it: its NATS
// connection is cut and refused from then on, then its clients'; its hub
// and broker say nothing (what they try reaches nobody, and fails at once
// once the connection is closed, which keeps the test's cleanup short).
func (n *pnode) kill() {
	n.dead.Store(true)
	n.cut.kill()
	n.srv.CloseClientConnections()
	n.nc.Close()
}

// ppush is a $presence push; pstate is the map a client keeps from them.
type ppush struct {
	Event string `json:"event"`
	Room  string `json:"room"`
	Body  struct {
		Joins  map[string][]pmeta `json:"joins"`
		Leaves map[string][]pmeta `json:"leaves"`
	} `json:"body"`
}

type pmeta struct {
	Tab string `json:"tab"`
	Ref string `json:"$ref"`
}

type pclient struct {
	t     testing.TB
	c     *websocket.Conn
	tab   string
	state map[string][]pmeta
}

func (n *pnode) dial(t testing.TB, room, key, tab string) *pclient {
	t.Helper()
	q := url.Values{"room": {room}, "key": {key}, "tab": {tab}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, n.srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return &pclient{t: t, c: c, tab: tab, state: map[string][]pmeta{}}
}

// next reads and applies the next $presence push.
func (p *pclient) next(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_, data, err := p.c.Read(ctx)
	if err != nil {
		return err
	}
	var push ppush
	if err := json.Unmarshal(data, &push); err != nil || push.Event != "$presence" {
		p.t.Fatalf("%s: %s, want a $presence push (%v)", p.tab, data, err)
	}
	for key, metas := range push.Body.Joins {
		p.state[key] = append(p.state[key], metas...)
	}
	for key, metas := range push.Body.Leaves {
		p.state[key] = slices.DeleteFunc(p.state[key], func(m pmeta) bool {
			return slices.ContainsFunc(metas, func(l pmeta) bool { return l.Ref == m.Ref })
		})
		if len(p.state[key]) == 0 {
			delete(p.state, key)
		}
	}
	return nil
}

func (p *pclient) String() string {
	var keys []string
	for key, metas := range p.state {
		var tabs []string
		for _, m := range metas {
			tabs = append(tabs, m.Tab)
		}
		slices.Sort(tabs)
		keys = append(keys, key+":"+strings.Join(tabs, ","))
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}

// until reads pushes until p's map is want, and returns how long it took;
// it fails the test after d.
func (p *pclient) until(want string, d time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	for p.String() != want {
		left := d - time.Since(start)
		if err := p.next(max(left, time.Millisecond)); err != nil {
			p.t.Fatalf("%s: map %q after %v, want %q: %v", p.tab, p.String(), time.Since(start).Round(time.Millisecond), want, err)
		}
	}
	return time.Since(start)
}

func TestPresenceAcrossNodes(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	n1, n2 := newPNode(t, s.ClientURL()), newPNode(t, s.ClientURL())

	a1 := n1.dial(t, "lobby", "ana", "a1")
	a1.until("ana:a1", 20*time.Second)
	b2 := n2.dial(t, "lobby", "ben", "b2")
	// The first push of a member on the second node holds everyone.
	if err := b2.next(20 * time.Second); err != nil || b2.String() != "ana:a1 ben:b2" {
		t.Fatalf("b2's snapshot: %q, %v", b2.String(), err)
	}
	a1.until("ana:a1 ben:b2", 20*time.Second)

	// One key, a connection on each node.
	a2 := n2.dial(t, "lobby", "ana", "a2")
	for _, p := range []*pclient{a1, a2, b2} {
		p.until("ana:a1,a2 ben:b2", 20*time.Second)
	}
	a1.c.Close(websocket.StatusNormalClosure, "")
	for _, p := range []*pclient{a2, b2} {
		p.until("ana:a2 ben:b2", 20*time.Second)
	}
	got, err := n1.h.Presence(context.Background(), "lobby")
	if err != nil || len(got) != 2 || len(got["ana"]) != 1 || len(got["ben"]) != 1 {
		t.Fatalf("Presence on n1, which has no member left: %s, %v", got, err)
	}
	// A node that stops in order takes its members away at once.
	b1 := n1.dial(t, "lobby", "bob", "b1")
	b1.until("ana:a2 ben:b2 bob:b1", 20*time.Second)
	a2.until("ana:a2 ben:b2 bob:b1", 20*time.Second)
	n2.stop()
	b1.until("bob:b1", testTimeout/2)
}

// A node killed: its members leave the others' presence within the
// timeout; a node that starts afterwards never sees them.
func TestPresenceNodeDeath(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	n1, n2 := newPNode(t, s.ClientURL()), newPNode(t, s.ClientURL())
	a1 := n1.dial(t, "lobby", "ana", "a1")
	a2 := n2.dial(t, "lobby", "ana", "a2")
	b2 := n2.dial(t, "lobby", "ben", "b2")
	n2.dial(t, "other", "cy", "c2")
	c1 := n1.dial(t, "other", "cy", "c1")
	a1.until("ana:a1,a2 ben:b2", 20*time.Second)
	c1.until("cy:c1,c2", 20*time.Second)
	b2.until("ana:a1,a2 ben:b2", 20*time.Second)
	a2.until("ana:a1,a2 ben:b2", 20*time.Second)

	n2.kill()
	// The bound is the timeout from the last write of n2's key; the test
	// allows twice that on a loaded machine, and logs what it took.
	took := a1.until("ana:a1", 2*testTimeout)
	tookOther := c1.until("cy:c1", 2*testTimeout)
	t.Logf("n2's members left n1's presence %v and %v after its death (timeout %v)", took.Round(time.Millisecond), tookOther.Round(time.Millisecond), testTimeout)

	// A node that starts now (n2 restarted, say) reads no stale entry.
	n3 := newPNode(t, s.ClientURL())
	d3 := n3.dial(t, "lobby", "dan", "d3")
	if err := d3.next(20 * time.Second); err != nil || d3.String() != "ana:a1 dan:d3" {
		t.Fatalf("d3's snapshot: %q, %v", d3.String(), err)
	}
}

// Every node dies: the entries left in the bucket are not resurrected by
// the node that starts afterwards.
func TestPresenceNoResurrection(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	n1 := newPNode(t, s.ClientURL())
	a1 := n1.dial(t, "lobby", "ana", "a1")
	a1.until("ana:a1", 20*time.Second)
	n1.kill()
	time.Sleep(testTimeout) // n1's key expires; nobody is left to purge its entries
	n2 := newPNode(t, s.ClientURL())
	b2 := n2.dial(t, "lobby", "ben", "b2")
	if err := b2.next(20 * time.Second); err != nil || b2.String() != "ben:b2" {
		t.Fatalf("b2's snapshot: %q, %v", b2.String(), err)
	}
	if got, err := n2.h.Presence(context.Background(), "lobby"); err != nil || len(got) != 1 {
		t.Fatalf("Presence: %s, %v", got, err)
	}
}

// A node cut off from NATS for longer than the timeout is taken for dead;
// once it is back, its members join again: the views converge.
func TestPresencePartitionHeals(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	n1, n2 := newPNode(t, s.ClientURL()), newPNode(t, s.ClientURL())
	a1 := n1.dial(t, "lobby", "ana", "a1")
	b2 := n2.dial(t, "lobby", "ben", "b2")
	a1.until("ana:a1 ben:b2", 20*time.Second)
	b2.until("ana:a1 ben:b2", 20*time.Second)

	n2.cut.kill()
	a1.until("ana:a1", 2*testTimeout)
	n2.cut.revive()
	a1.until("ana:a1 ben:b2", 20*time.Second)
	// Both views follow the changes again (b2 kept its view meanwhile).
	a1.c.Close(websocket.StatusNormalClosure, "")
	b2.until("ben:b2", 20*time.Second)
}
