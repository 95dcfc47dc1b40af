package hub_test

import (
	"context"
	"errors"
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
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// say is what a test client sends: text for the other members of room.
type say struct {
	Room string `json:"room" validate:"required"`
	Text string `json:"text"`
}

// event is what members receive.
type event struct {
	Seq  int    `json:"seq"`
	Text string `json:"text"`
	From string `json:"from,omitempty"`
}

// node is one server with its hub. Connections name themselves and pick
// their rooms and id in the query string:
// ?name=alice&room=lobby&room=news&id=u1. The server answers a "ready"
// event once they have joined.
type node struct {
	t     *testing.T
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group

	mu    sync.Mutex
	conns map[string]*ws.Conn
	ended map[string]error // onDisconnect's error, by name
	gone  chan string      // names whose onDisconnect ran
}

type nodeOptions struct {
	noLeaveAll bool // onDisconnect does not call LeaveAll: the hub must notice
	wsOpts     []ws.Option
}

func newNode(t *testing.T, nopts nodeOptions, opts ...hub.Option) *node {
	t.Helper()
	n := &node{t: t, h: hub.New(opts...), conns: map[string]*ws.Conn{}, ended: map[string]error{}, gone: make(chan string, 1000)}
	name := func(conn *ws.Conn) string { return conn.Request().URL.Query().Get("name") }
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		q := conn.Request().URL.Query()
		n.mu.Lock()
		n.conns[q.Get("name")] = conn
		n.mu.Unlock()
		for _, room := range q["room"] {
			if err := n.h.Join(conn, room); err != nil {
				return err
			}
		}
		if id := q.Get("id"); id != "" {
			if err := n.h.Identify(conn, id); err != nil {
				return err
			}
		}
		return conn.SendJSON(ctx, event{Text: "ready"})
	}
	onReceive := func(ctx context.Context, in say) (ws.StatusEnvelope[any], error) {
		conn := ws.ConnFromContext(ctx)
		err := n.h.BroadcastExcept(ctx, in.Room, conn, event{Text: in.Text, From: name(conn)})
		return ws.NoContent[any](), err
	}
	onDisconnect := func(ctx context.Context, conn *ws.Conn, err error) {
		if !nopts.noLeaveAll {
			n.h.LeaveAll(conn)
		}
		n.mu.Lock()
		n.ended[name(conn)] = err
		n.mu.Unlock()
		n.gone <- name(conn)
	}
	wsOpts := []ws.CallbackOption{ws.WithGroup(&n.group)}
	for _, o := range nopts.wsOpts {
		wsOpts = append(wsOpts, o)
	}
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, onDisconnect, wsOpts...))
	t.Cleanup(n.stop)
	return n
}

// stop closes the server, its connections and its hub. Calling it twice
// does nothing more.
func (n *node) stop() {
	n.srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.group.Shutdown(ctx); err != nil {
		n.t.Errorf("group shutdown: %v", err)
	}
	if err := n.h.Close(); err != nil {
		n.t.Errorf("hub close: %v", err)
	}
}

func (n *node) conn(name string) *ws.Conn {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.conns[name]
}

// dial connects a client named name, in rooms, and waits until it has
// joined them.
func (n *node) dial(name string, rooms ...string) *wsclient.Client {
	return n.dialQuery(url.Values{"name": {name}, "room": rooms})
}

func (n *node) dialQuery(q url.Values) *wsclient.Client {
	t := n.t
	t.Helper()
	c := wstest.DialURL(t, n.srv.URL+"/?"+q.Encode())
	if f := read(t, c); f.Text != "ready" {
		t.Fatalf("first frame = %+v, want ready", f)
	}
	return c
}

// dialRaw connects a raw client, which reads nothing once it has joined.
func (n *node) dialRaw(q url.Values) *websocket.Conn {
	t := n.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, n.srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	var f event
	if err := wsjson.Read(ctx, c, &f); err != nil || f.Text != "ready" {
		t.Fatalf("first frame = %+v, %v; want ready", f, err)
	}
	return c
}

// read returns the next event c received. It gives up after a long while,
// so that a missing message fails the test instead of hanging it.
func read(t *testing.T, c *wsclient.Client) event {
	t.Helper()
	return wstest.NextPush[event](t, c, "")
}

// say sends text to the other members of room, and returns the status of
// the reply.
func (s say) send(t *testing.T, c *wsclient.Client) int {
	t.Helper()
	reply, err := wsclient.Send[ws.StatusEnvelope[any]](context.Background(), c, s)
	var e *ws.Error
	switch {
	case errors.As(err, &e):
		return e.Status
	case err != nil:
		t.Fatalf("send: %v", err)
	}
	return reply.StatusCode
}

// expect reads events from c until the sentinel event and checks that they
// are exactly want, in order.
func expect(t *testing.T, c *wsclient.Client, sentinel string, want ...string) {
	t.Helper()
	var got []string
	for {
		f := read(t, c)
		if f.Text == sentinel {
			break
		}
		got = append(got, f.Text)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// waitFor waits until cond holds; the hub does some of its work, such as
// leaving rooms of an ended connection, on its own goroutines.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 2000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

func texts(prefix string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = prefix + string(rune('a'+i%26)) + strings.Repeat("!", i/26)
	}
	return s
}

func broadcastAll(t *testing.T, h *hub.Hub, room string, msgs ...string) {
	t.Helper()
	for i, m := range msgs {
		if err := h.Broadcast(context.Background(), room, event{Seq: i, Text: m}); err != nil {
			t.Fatalf("Broadcast: %v", err)
		}
	}
}

func TestBroadcastReachesEveryMemberOnceInOrder(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	var members, others []*wsclient.Client
	for i := range 5 {
		members = append(members, n.dial("m"+string(rune('0'+i)), "lobby", "news"))
	}
	for i := range 2 {
		others = append(others, n.dial("o"+string(rune('0'+i)), "other"))
	}
	if got := n.h.Count("lobby"); got != 5 {
		t.Fatalf("Count(lobby) = %d, want 5", got)
	}
	if got := n.h.Count("nobody"); got != 0 {
		t.Fatalf("Count(nobody) = %d, want 0", got)
	}

	msgs := texts("m", 100)
	broadcastAll(t, n.h, "lobby", msgs...)
	broadcastAll(t, n.h, "lobby", "end")
	broadcastAll(t, n.h, "other", "end")
	for _, c := range members {
		expect(t, c, "end", msgs...)
	}
	for _, c := range others {
		expect(t, c, "end")
	}
}

func TestConcurrentBroadcastsKeepOneOrderPerRoom(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	var members []*wsclient.Client
	for i := range 4 {
		members = append(members, n.dial("m"+string(rune('0'+i)), "lobby"))
	}
	const publishers, each = 4, 25
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				if err := n.h.Broadcast(context.Background(), "lobby", event{Seq: i, Text: string(rune('A'+p)) + string(rune('a'+i))}); err != nil {
					t.Errorf("Broadcast: %v", err)
				}
			}
		})
	}
	wg.Wait()
	broadcastAll(t, n.h, "lobby", "end")

	var first []string
	for i, c := range members {
		var got []string
		next := make([]int, publishers)
		for f := read(t, c); f.Text != "end"; f = read(t, c) {
			p := int(f.Text[0] - 'A')
			if f.Seq != next[p] {
				t.Fatalf("publisher %d: got message %d, want %d", p, f.Seq, next[p])
			}
			next[p]++
			got = append(got, f.Text)
		}
		if len(got) != publishers*each {
			t.Fatalf("member %d got %d messages, want %d", i, len(got), publishers*each)
		}
		if i == 0 {
			first = got
		} else if !slices.Equal(got, first) {
			t.Fatalf("member %d saw another order than member 0", i)
		}
	}
}

func TestBroadcastExceptLeavesOutTheSender(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	alice := n.dial("alice", "lobby")
	bob := n.dial("bob", "lobby")
	carol := n.dial("carol", "lobby")

	if status := (say{Room: "lobby", Text: "hi from alice"}).send(t, alice); status != 204 {
		t.Fatalf("alice's reply = %d, want 204", status)
	}
	broadcastAll(t, n.h, "lobby", "end")
	expect(t, alice, "end")
	for _, c := range []*wsclient.Client{bob, carol} {
		f := read(t, c)
		if f.Text != "hi from alice" || f.From != "alice" {
			t.Fatalf("got %+v, want alice's message", f)
		}
		expect(t, c, "end")
	}

	if err := n.h.BroadcastExcept(context.Background(), "lobby", nil, event{Text: "to all"}); err != nil {
		t.Fatal(err)
	}
	broadcastAll(t, n.h, "lobby", "end")
	for _, c := range []*wsclient.Client{alice, bob, carol} {
		expect(t, c, "end", "to all")
	}
}

func TestSendToReachesEveryConnectionOfTheID(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	tab1 := n.dialQuery(url.Values{"name": {"tab1"}, "id": {"u1"}, "room": {"lobby"}})
	tab2 := n.dialQuery(url.Values{"name": {"tab2"}, "id": {"u1"}})
	other := n.dialQuery(url.Values{"name": {"other"}, "id": {"u2"}, "room": {"lobby"}})

	ctx := context.Background()
	if err := n.h.SendTo(ctx, "u1", event{Text: "for u1"}); err != nil {
		t.Fatal(err)
	}
	if err := n.h.SendTo(ctx, "nobody", event{Text: "lost"}); err != nil {
		t.Fatalf("SendTo an unknown id: %v", err)
	}
	// tab2 takes another id; tab1 keeps u1.
	if err := n.h.Identify(n.conn("tab2"), "u2"); err != nil {
		t.Fatal(err)
	}
	if err := n.h.SendTo(ctx, "u1", event{Text: "u1 again"}); err != nil {
		t.Fatal(err)
	}
	if err := n.h.SendTo(ctx, "u2", event{Text: "for u2"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"u1", "u2"} {
		if err := n.h.SendTo(ctx, id, event{Text: "end"}); err != nil {
			t.Fatal(err)
		}
	}
	expect(t, tab1, "end", "for u1", "u1 again")
	expect(t, tab2, "end", "for u1", "for u2")
	expect(t, other, "end", "for u2")
}

func TestLeave(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	a := n.dial("a", "lobby", "news")
	b := n.dial("b", "lobby", "news")

	n.h.Leave(n.conn("a"), "lobby")
	n.h.Leave(n.conn("a"), "lobby") // twice does nothing
	n.h.Leave(n.conn("a"), "never joined")
	if got := n.h.Count("lobby"); got != 1 {
		t.Fatalf("Count(lobby) = %d after a left, want 1", got)
	}
	broadcastAll(t, n.h, "lobby", "lobby only b")
	broadcastAll(t, n.h, "news", "news for both", "end")
	expect(t, a, "end", "news for both")
	expect(t, b, "end", "lobby only b", "news for both")

	// Joining again after leaving works; joining twice counts once.
	for range 2 {
		if err := n.h.Join(n.conn("a"), "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	if got := n.h.Count("lobby"); got != 2 {
		t.Fatalf("Count(lobby) = %d after a joined again, want 2", got)
	}
	n.h.LeaveAll(n.conn("a"))
	if got := n.h.Count("lobby") + n.h.Count("news"); got != 2 {
		t.Fatalf("members left after LeaveAll = %d, want 2 (b in both rooms)", got)
	}
	broadcastAll(t, n.h, "news", "after LeaveAll")
	if status := (say{Room: "news", Text: "a is still connected"}).send(t, a); status != 204 {
		t.Fatalf("a's reply = %d, want 204", status)
	}
	broadcastAll(t, n.h, "news", "end")
	expect(t, b, "end", "after LeaveAll", "a is still connected")
}

func TestEndedConnectionsLeaveByThemselves(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{noLeaveAll: true})
	a := n.dialQuery(url.Values{"name": {"a"}, "room": {"lobby", "news"}, "id": {"u1"}})
	n.dial("b", "lobby")
	if got := n.h.Count("lobby"); got != 2 {
		t.Fatalf("Count(lobby) = %d, want 2", got)
	}
	ended := n.conn("a")
	a.Close()
	waitFor(t, "a to leave", func() bool { return n.h.Count("lobby") == 1 && n.h.Count("news") == 0 })
	if err := n.h.Join(ended, "lobby"); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("Join of an ended connection = %v, want ws.ErrClosed", err)
	}
	if err := n.h.SendTo(context.Background(), "u1", event{Text: "nobody"}); err != nil {
		t.Fatal(err)
	}
}

func TestSlowConnectionIsDisconnected(t *testing.T) {
	t.Parallel()
	const queue = 4
	tooSlow := make(chan *ws.Conn, 2)
	n := newNode(t, nodeOptions{}, hub.WithQueueSize(queue), hub.WithTooSlow(func(c *ws.Conn) { tooSlow <- c }))
	slow := n.dialRaw(url.Values{"name": {"slow"}, "room": {"lobby"}}) // never reads
	fast := n.dial("fast", "lobby")

	// Lock-step with the fast client, so that only the slow one falls
	// behind: once its socket buffers are full, its queue fills and it is
	// dropped, while the fast one gets every message.
	pad := strings.Repeat("x", 16<<10)
	sent := 0
	for n.h.Count("lobby") == 2 {
		if sent == 100_000 {
			t.Fatalf("the slow connection was not dropped after %d messages", sent)
		}
		if err := n.h.Broadcast(context.Background(), "lobby", event{Seq: sent, Text: pad}); err != nil {
			t.Fatal(err)
		}
		if f := read(t, fast); f.Seq != sent {
			t.Fatalf("fast client got message %d, want %d", f.Seq, sent)
		}
		sent++
	}
	// The hub leaves the room before it closes the connection: wait for
	// the close to start, which records why, before the client goes.
	select {
	case <-n.conn("slow").Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the slow connection was not closed")
	}
	slow.CloseNow() // the server's close handshake need not wait for it
	waitFor(t, "onDisconnect of the slow connection", func() bool {
		n.mu.Lock()
		defer n.mu.Unlock()
		_, ok := n.ended["slow"]
		return ok
	})
	n.mu.Lock()
	err := n.ended["slow"]
	n.mu.Unlock()
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Fatalf("slow connection ended with %v (status %d), want 1008", err, got)
	}
	broadcastAll(t, n.h, "lobby", "end")
	expect(t, fast, "end")
	select {
	case c := <-tooSlow:
		if c != n.conn("slow") {
			t.Fatal("WithTooSlow was called with another connection")
		}
	default:
		t.Fatal("WithTooSlow was not called")
	}
	if len(tooSlow) != 0 {
		t.Fatal("WithTooSlow was called twice")
	}
	t.Logf("dropped after %d messages of %d KiB", sent, len(pad)>>10)
}

func TestHubsOnOneBrokerDeliverOnce(t *testing.T) {
	t.Parallel()
	var broker hub.MemoryBroker
	a := newNode(t, nodeOptions{}, hub.WithBroker(&broker))
	b := newNode(t, nodeOptions{}, hub.WithBroker(&broker))
	a1, a2 := a.dial("a1", "lobby"), a.dial("a2", "lobby")
	b1, b2 := b.dial("b1", "lobby"), b.dial("b2", "lobby", "news")
	if got := a.h.Count("lobby"); got != 2 {
		t.Fatalf("Count(lobby) on a = %d, want 2: only this hub's members", got)
	}

	// From a1, through onReceive: everybody but a1, once.
	if status := (say{Room: "lobby", Text: "from a1"}).send(t, a1); status != 204 {
		t.Fatalf("a1's reply = %d", status)
	}
	// From the hub of b, to all.
	broadcastAll(t, b.h, "lobby", "from b")
	broadcastAll(t, b.h, "news", "news from b")
	broadcastAll(t, a.h, "news", "news from a")
	broadcastAll(t, a.h, "lobby", "end")
	broadcastAll(t, a.h, "news", "end")

	expect(t, a1, "end", "from b")
	for _, c := range []*wsclient.Client{a2, b1} {
		expect(t, c, "end", "from a1", "from b")
	}
	expect(t, b2, "end", "from a1", "from b", "news from b", "news from a")
	expect(t, b2, "end")
}

// recordingBroker is a MemoryBroker that records the subscriptions.
type recordingBroker struct {
	hub.MemoryBroker
	fail atomic.Bool // Subscribe fails

	mu   sync.Mutex
	subs map[string]int // subject → subscriptions now
}

func (b *recordingBroker) Subscribe(subject string, fn func([]byte)) (func() error, error) {
	if b.fail.Load() {
		return nil, errors.New("broker down")
	}
	unsub, err := b.MemoryBroker.Subscribe(subject, fn)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[string]int{}
	}
	b.subs[subject]++
	b.mu.Unlock()
	return func() error {
		b.mu.Lock()
		b.subs[subject]--
		if b.subs[subject] == 0 {
			delete(b.subs, subject)
		}
		b.mu.Unlock()
		return unsub()
	}, nil
}

func (b *recordingBroker) subjects() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var s []string
	for subj, n := range b.subs {
		for range n {
			s = append(s, subj)
		}
	}
	slices.Sort(s)
	return s
}

func TestSubscribesOnlyToRoomsWithMembers(t *testing.T) {
	t.Parallel()
	broker := &recordingBroker{}
	n := newNode(t, nodeOptions{}, hub.WithBroker(broker))
	// 100 dots escape to 300 bytes: that room is written in base64url.
	n.dialQuery(url.Values{"name": {"a"}, "room": {"lobby", "a.b c/é", strings.Repeat(".", 100)}, "id": {"user 1"}})
	n.dial("b", "lobby")
	want := []string{"id.user%201", "room.%%" + strings.Repeat("Li4u", 33) + "Lg", "room.a%2Eb%20c%2F%C3%A9", "room.lobby"}
	if got := broker.subjects(); !slices.Equal(got, want) {
		t.Fatalf("subscriptions = %q, want %q", got, want)
	}
	n.h.Leave(n.conn("a"), "lobby") // b is still there
	if got := broker.subjects(); !slices.Equal(got, want) {
		t.Fatalf("subscriptions after a left lobby = %q, want %q", got, want)
	}
	n.h.LeaveAll(n.conn("a"))
	if got, want := broker.subjects(), []string{"room.lobby"}; !slices.Equal(got, want) {
		t.Fatalf("subscriptions after LeaveAll = %q, want %q", got, want)
	}

	broker.fail.Store(true)
	if err := n.h.Join(n.conn("b"), "new"); err == nil || !strings.Contains(err.Error(), "broker down") {
		t.Fatalf("Join with a failing broker = %v, want its error", err)
	}
	if got := n.h.Count("new"); got != 0 {
		t.Fatalf("Count(new) = %d after a failed Join, want 0", got)
	}
	broker.fail.Store(false)
	if err := n.h.Join(n.conn("b"), "new"); err != nil {
		t.Fatal(err)
	}
	if err := n.h.Close(); err != nil {
		t.Fatal(err)
	}
	if got := broker.subjects(); len(got) != 0 {
		t.Fatalf("subscriptions after Close = %q, want none", got)
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	c := n.dial("a", "lobby")
	if err := n.h.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.h.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	ctx := context.Background()
	if err := n.h.Broadcast(ctx, "lobby", event{}); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Broadcast after Close = %v, want ErrClosed", err)
	}
	if err := n.h.Join(n.conn("a"), "lobby"); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Join after Close = %v, want ErrClosed", err)
	}
	if got := n.h.Count("lobby"); got != 0 {
		t.Fatalf("Count after Close = %d", got)
	}
	// The connection itself stays open.
	if status := (say{Room: "lobby", Text: "still here"}).send(t, c); status != 500 {
		t.Fatalf("reply = %d, want 500 (BroadcastExcept failed with ErrClosed)", status)
	}
}

func TestBroadcastErrors(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{})
	c := n.dial("a", "lobby")
	if err := n.h.Broadcast(context.Background(), "lobby", func() {}); err == nil {
		t.Fatal("Broadcast of a func: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := n.h.Broadcast(ctx, "lobby", event{Text: "cancelled"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Broadcast with a cancelled ctx = %v", err)
	}
	broadcastAll(t, n.h, "lobby", "end")
	expect(t, c, "end")
}

func TestWithQueueSizePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "hub: ") {
			t.Fatalf("recovered %v, want a hub: panic", r)
		}
	}()
	hub.WithQueueSize(0)
}
