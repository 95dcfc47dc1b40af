package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
)

// ppush is a $presence push.
type ppush struct {
	Event      string `json:"event"`
	Room       string `json:"room"`
	StatusCode int    `json:"statusCode"`
	Body       struct {
		Joins  map[string][]pmeta `json:"joins"`
		Leaves map[string][]pmeta `json:"leaves"`
	} `json:"body"`
}

type pmeta struct {
	Tab string `json:"tab"`
	Ref string `json:"$ref"`
}

// pstate is a client's presence map, kept from a snapshot and diffs the
// way Phoenix's syncState/syncDiff keep it.
type pstate map[string][]pmeta

func (s pstate) apply(p ppush) {
	for key, metas := range p.Body.Joins {
		s[key] = append(s[key], metas...)
	}
	for key, metas := range p.Body.Leaves {
		s[key] = slices.DeleteFunc(s[key], func(m pmeta) bool {
			return slices.ContainsFunc(metas, func(l pmeta) bool { return l.Ref == m.Ref })
		})
		if len(s[key]) == 0 {
			delete(s, key)
		}
	}
}

// String lists the keys and their tabs, sorted: "ana:a1,a2 ben:b1".
func (s pstate) String() string {
	var keys []string
	for key, metas := range s {
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

// pnode is a server whose connections track themselves in the room of
// their query (?room=lobby&key=ana&tab=a1), or only join it without a
// key. The error of Track is kept by tab.
type pnode struct {
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group

	mu   sync.Mutex
	errs map[string]error
}

func newPNode(t *testing.T, opts ...hub.Option) *pnode {
	t.Helper()
	n := &pnode{h: hub.New(opts...), errs: map[string]error{}}
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		q := conn.Request().URL.Query()
		var err error
		if q.Get("key") == "" {
			err = n.h.Join(conn, q.Get("room"))
		} else {
			err = n.h.Track(conn, q.Get("room"), q.Get("key"), map[string]string{"tab": q.Get("tab")})
		}
		n.mu.Lock()
		n.errs[q.Get("tab")] = err
		n.mu.Unlock()
		return conn.SendJSON(ctx, map[string]string{"ready": q.Get("tab")})
	}
	onReceive := func(ctx context.Context, in hbody) (ws.StatusEnvelope[any], error) {
		return ws.NoContent[any](), nil
	}
	onDisconnect := func(ctx context.Context, conn *ws.Conn, err error) { n.h.LeaveAll(conn) }
	n.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, onDisconnect, ws.WithGroup(&n.group)))
	t.Cleanup(func() {
		n.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		n.group.Shutdown(ctx)
		n.h.Close()
	})
	return n
}

func (n *pnode) err(tab string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.errs[tab]
}

// pclient is a connection and the presence map it keeps.
type pclient struct {
	t     testing.TB
	c     *websocket.Conn
	tab   string
	state pstate
	first bool // the first $presence has been read
}

// dial connects tab as key (none: a member that only joins) to room, and
// reads the server's ready.
func (n *pnode) dial(t testing.TB, room, key, tab string) *pclient {
	t.Helper()
	q := url.Values{"room": {room}, "key": {key}, "tab": {tab}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, n.srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 22)
	t.Cleanup(func() { c.CloseNow() })
	return &pclient{t: t, c: c, tab: tab, state: pstate{}}
}

// next reads the next frame of p: a $presence push, applied to its map,
// or the ready of onConnect (nil).
func (p *pclient) next() *ppush {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, data, err := p.c.Read(ctx)
	if err != nil {
		p.t.Fatalf("%s: read: %v", p.tab, err)
	}
	if strings.HasPrefix(string(data), `{"ready"`) {
		return nil
	}
	var push ppush
	if err := json.Unmarshal(data, &push); err != nil || push.Event != "$presence" || push.StatusCode != 200 {
		p.t.Fatalf("%s: %s, want a $presence push (%v)", p.tab, data, err)
	}
	if !p.first {
		if len(push.Body.Leaves) != 0 {
			p.t.Fatalf("%s: first $presence %s has leaves", p.tab, data)
		}
		p.first = true
	}
	p.state.apply(push)
	return &push
}

// until reads pushes until p's map is want, failing after 20 s.
func (p *pclient) until(want string) {
	p.t.Helper()
	for p.state.String() != want || !p.first {
		p.next()
	}
}

// pushes reads n $presence pushes (skipping the ready) and returns them.
func (p *pclient) pushes(n int) []ppush {
	p.t.Helper()
	var out []ppush
	for len(out) < n {
		if push := p.next(); push != nil {
			out = append(out, *push)
		}
	}
	return out
}

func TestPresenceSnapshotThenDiffs(t *testing.T) {
	t.Parallel()
	n := newPNode(t, hub.WithPresence("lobby", hub.Presence{}))

	a1 := n.dial(t, "lobby", "ana", "a1")
	snap := a1.pushes(1)[0]
	if a1.state.String() != "ana:a1" || snap.Room != "lobby" || snap.Body.Leaves == nil {
		t.Fatalf("a1's snapshot %+v, state %s; want its own entry and empty leaves", snap, a1.state)
	}

	// A second tab of ana: one key, two metas.
	a2 := n.dial(t, "lobby", "ana", "a2")
	if p := a2.pushes(1)[0]; a2.state.String() != "ana:a1,a2" || len(p.Body.Leaves) != 0 {
		t.Fatalf("a2's snapshot: %s", a2.state)
	}
	if p := a1.pushes(1)[0]; a1.state.String() != "ana:a1,a2" || len(p.Body.Joins["ana"]) != 1 || p.Body.Joins["ana"][0].Tab != "a2" {
		t.Fatalf("a1 after a2: %s, push %+v; want a diff of a2 only", a1.state, p.Body)
	}

	// An observer joins without tracking itself: it sees everyone, and
	// nobody sees it.
	obs := n.dial(t, "lobby", "", "obs")
	obs.pushes(1)
	if obs.state.String() != "ana:a1,a2" {
		t.Fatalf("observer's snapshot: %s", obs.state)
	}

	b1 := n.dial(t, "lobby", "ben", "b1")
	b1.pushes(1)
	for _, p := range []*pclient{a1, a2, obs, b1} {
		p.until("ana:a1,a2 ben:b1")
	}

	// a1 goes: ana stays with a2; the diff is a1's meta only.
	a1.c.Close(websocket.StatusNormalClosure, "")
	for _, p := range []*pclient{a2, obs, b1} {
		push := p.pushes(1)[0]
		if len(push.Body.Joins) != 0 || len(push.Body.Leaves["ana"]) != 1 || push.Body.Leaves["ana"][0].Tab != "a1" {
			t.Fatalf("%s: %+v, want the leave of a1", p.tab, push.Body)
		}
		if p.state.String() != "ana:a2 ben:b1" {
			t.Fatalf("%s: %s", p.tab, p.state)
		}
	}
	// a2 goes: ana leaves.
	a2.c.Close(websocket.StatusNormalClosure, "")
	for _, p := range []*pclient{obs, b1} {
		p.pushes(1)
		if p.state.String() != "ben:b1" {
			t.Fatalf("%s: %s", p.tab, p.state)
		}
	}
	got, err := n.h.Presence(context.Background(), "lobby")
	if err != nil || len(got) != 1 || len(got["ben"]) != 1 || !strings.Contains(string(got["ben"][0]), `"tab":"b1"`) {
		t.Fatalf("Presence: %s, %v", got, err)
	}
}

// A member of a room without a tracked connection on a hub of its own
// sees the members of every hub on the broker.
func TestPresenceAcrossHubsOnOneBroker(t *testing.T) {
	t.Parallel()
	var b hub.MemoryBroker
	n1 := newPNode(t, hub.WithBroker(&b), hub.WithPresence("*", hub.Presence{}))
	n2 := newPNode(t, hub.WithBroker(&b), hub.WithPresence("*", hub.Presence{}))
	a1 := n1.dial(t, "lobby", "ana", "a1")
	a1.until("ana:a1")
	a2 := n2.dial(t, "lobby", "ana", "a2")
	a2.until("ana:a1,a2")
	b2 := n2.dial(t, "lobby", "ben", "b2")
	for _, p := range []*pclient{a1, a2, b2} {
		p.until("ana:a1,a2 ben:b2")
	}
	b2.c.Close(websocket.StatusNormalClosure, "")
	a1.until("ana:a1,a2")
	a2.until("ana:a1,a2")
	got, err := n1.h.Presence(context.Background(), "lobby")
	if err != nil || len(got["ana"]) != 2 || len(got) != 1 {
		t.Fatalf("Presence: %s, %v", got, err)
	}
	// Close of a hub takes its entries away.
	n2.h.Close()
	a1.until("ana:a1")
}

// Each change is one push to each member, and its size does not grow
// with the number of members.
func TestPresenceDiffIsSmall(t *testing.T) {
	t.Parallel()
	n := newPNode(t, hub.WithPresence("lobby", hub.Presence{}))
	obs := n.dial(t, "lobby", "", "obs")
	obs.pushes(1)
	var sizes []int
	for i := range 50 {
		p := n.dial(t, "lobby", fmt.Sprintf("user%03d", i), fmt.Sprintf("t%03d", i))
		p.pushes(1)
		// The observer's ready may come after its snapshot: skip it.
		var data []byte
		for data == nil || strings.HasPrefix(string(data), `{"ready"`) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var err error
			_, data, err = obs.c.Read(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
		}
		sizes = append(sizes, len(data))
	}
	// Only the digits of the entry's serial may grow.
	if sizes[49] > sizes[0]+2 {
		t.Fatalf("diff sizes grow with the members: %d then %d", sizes[0], sizes[49])
	}
}

func TestPresenceLimitsAndHostileMeta(t *testing.T) {
	t.Parallel()
	n := newPNode(t, hub.WithPresence("small", hub.Presence{MaxEntries: 2, MaxMeta: 64}), hub.WithPresence("big", hub.Presence{}))
	a := n.dial(t, "small", "ana", "a")
	a.until("ana:a")
	b := n.dial(t, "small", "ben", "b")
	b.until("ana:a ben:b")
	c := n.dial(t, "small", "cy", "c")
	if c.next() != nil { // the ready: no snapshot for a member refused
		t.Fatal("a refused member got a $presence push")
	}
	if err := n.err("c"); !errors.Is(err, hub.ErrPresenceFull) {
		t.Fatalf("third Track: %v, want ErrPresenceFull", err)
	}
	if got := n.h.Count("small"); got != 2 {
		t.Fatalf("%d members, want 2: a refused Track joins nothing", got)
	}

	// Every hostile input is refused with its error, and joins nothing.
	var conn *ws.Conn
	ready := make(chan struct{})
	srv := httptest.NewServer(ws.Callback(
		func(ctx context.Context, c *ws.Conn) error { conn = c; close(ready); return nil },
		func(ctx context.Context, in hbody) (ws.StatusEnvelope[any], error) { return ws.NoContent[any](), nil },
		nil))
	defer srv.Close()
	cc, _, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.CloseNow()
	<-ready

	deep := map[string]any{}
	for d, m := 0, deep; d < 100000; d++ {
		next := map[string]any{}
		m["d"] = next
		m = next
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	for _, tc := range []struct {
		name      string
		room, key string
		meta      any
		want      error // nil: any error
	}{
		{"huge", "small", "k", map[string]string{"x": strings.Repeat("x", 1<<20)}, hub.ErrMetaTooBig},
		{"deep", "big", "k", deep, hub.ErrMetaTooBig},
		{"cyclic", "big", "k", cyclic, nil},
		{"a channel", "big", "k", make(chan int), nil},
		{"invalid raw JSON", "big", "k", json.RawMessage(`{"a":`), nil},
		{"an array", "big", "k", []int{1}, nil},
		{"a string", "big", "k", "hello", nil},
		{"a panicking MarshalJSON", "big", "k", panicky{}, hub.ErrPanic},
		{"an empty key", "big", "", nil, hub.ErrInvalidKey},
		{"a key not UTF-8", "big", "\xff\xfe", nil, hub.ErrInvalidKey},
		{"a long key", "big", strings.Repeat("k", 257), nil, hub.ErrInvalidKey},
		{"a room without presence", "other", "k", nil, hub.ErrNoPresence},
		{"an empty room", "", "k", nil, hub.ErrEmptyName},
	} {
		err := n.h.Track(conn, tc.room, tc.key, tc.meta)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if len(err.Error()) > 200 {
			t.Errorf("%s: an error of %d bytes", tc.name, len(err.Error()))
		}
	}
	if n.h.Count("big") != 0 {
		t.Fatal("a refused Track joined the room")
	}
	if got, _ := n.h.Presence(context.Background(), "big"); len(got) != 0 {
		t.Fatalf("presence of big: %s", got)
	}
	if _, err := n.h.Presence(context.Background(), "other"); !errors.Is(err, hub.ErrNoPresence) {
		t.Fatalf("Presence of a room without: %v", err)
	}
}

// Tracking a connection again replaces its meta: the others see the old
// one leave and the new one join in one push.
func TestPresenceTrackAgainAndLeave(t *testing.T) {
	t.Parallel()
	n := newPNode(t, hub.WithPresence("lobby", hub.Presence{}))
	var conn *ws.Conn
	got := make(chan *ws.Conn, 1)
	srv := httptest.NewServer(ws.Callback(
		func(ctx context.Context, c *ws.Conn) error { got <- c; return nil },
		func(ctx context.Context, in hbody) (ws.StatusEnvelope[any], error) { return ws.NoContent[any](), nil },
		nil))
	defer srv.Close()
	cc, _, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cc.CloseNow()
	conn = <-got

	obs := n.dial(t, "lobby", "", "obs")
	obs.pushes(1)
	if err := n.h.Track(conn, "lobby", "zoe", map[string]string{"tab": "z1"}); err != nil {
		t.Fatal(err)
	}
	obs.until("zoe:z1")
	if err := n.h.Track(conn, "lobby", "zoe", map[string]string{"tab": "z2"}); err != nil {
		t.Fatal(err)
	}
	obs.until("zoe:z2")
	if n.h.Count("lobby") != 2 {
		t.Fatalf("%d members", n.h.Count("lobby"))
	}
	n.h.Leave(conn, "lobby")
	obs.until("")
}

// downTrackBroker is a MemoryBroker whose Track fails for the key "down".
type downTrackBroker struct{ hub.MemoryBroker }

func (b *downTrackBroker) Track(ctx context.Context, subject string, e hub.PresenceEntry) error {
	if e.Key == "down" {
		return errors.New("broker down")
	}
	return b.MemoryBroker.Track(ctx, subject, e)
}

// Tracks that the broker refuses take no room in the presence's bound:
// after many of them, in a room that stays, the room still takes
// MaxEntries connections, and refuses one more.
func TestPresenceFailedTracksTakeNoRoom(t *testing.T) {
	t.Parallel()
	n := newPNode(t, hub.WithBroker(&downTrackBroker{}), hub.WithPresence("small", hub.Presence{MaxEntries: 2}))
	// A member that only joins keeps the room, and its presence, alive.
	w := n.dial(t, "small", "", "w")
	w.until("")
	for i := range 5 {
		tab := fmt.Sprint("d", i)
		d := n.dial(t, "small", "down", tab)
		if d.next() != nil {
			t.Fatal("a member whose Track failed got a $presence push")
		}
		if err := n.err(tab); err == nil || errors.Is(err, hub.ErrPresenceFull) || !strings.Contains(err.Error(), "broker down") {
			t.Fatalf("Track refused by the broker: %v, want its error", err)
		}
	}
	a := n.dial(t, "small", "ana", "a")
	a.until("ana:a")
	b := n.dial(t, "small", "ben", "b")
	b.until("ana:a ben:b")
	c := n.dial(t, "small", "cy", "c")
	if c.next() != nil {
		t.Fatal("a refused member got a $presence push")
	}
	if err := n.err("c"); !errors.Is(err, hub.ErrPresenceFull) {
		t.Fatalf("third Track: %v, want ErrPresenceFull", err)
	}
}
