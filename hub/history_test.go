package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
)

// hpush is any push a member of a room with history receives: a message
// broadcast as ws.Ok(hbody), or a $recover.
type hpush struct {
	Event      string          `json:"event"`
	Room       string          `json:"room"`
	Epoch      string          `json:"epoch"`
	Offset     uint64          `json:"offset"`
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body"`
}

type hbody struct {
	Seq int `json:"seq"`
}

type recoverBody struct {
	Epoch    string `json:"epoch"`
	Offset   uint64 `json:"offset"`
	Replayed int    `json:"replayed"`
}

func (p hpush) seq(t testing.TB) int {
	t.Helper()
	var b hbody
	if err := json.Unmarshal(p.Body, &b); err != nil {
		t.Fatalf("body %s: %v", p.Body, err)
	}
	return b.Seq
}

func (p hpush) recover(t testing.TB) recoverBody {
	t.Helper()
	var b recoverBody
	if err := json.Unmarshal(p.Body, &b); err != nil {
		t.Fatalf("$recover body %s: %v", p.Body, err)
	}
	return b
}

// hnode is a server whose connections join the rooms of their query
// (?name=a&room=lobby), with a hub of its own.
type hnode struct {
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group

	mu        sync.Mutex
	recovered map[string]bool // Hub.Recovered at the end of onConnect, by name
}

func newHNode(t *testing.T, opts ...hub.Option) *hnode {
	t.Helper()
	n := &hnode{h: hub.New(append([]hub.Option{hub.WithQueueSize(8192)}, opts...)...), recovered: map[string]bool{}}
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		q := conn.Request().URL.Query()
		for _, room := range q["room"] {
			if err := n.h.Join(conn, room); err != nil {
				return err
			}
			n.mu.Lock()
			n.recovered[q.Get("name")+"/"+room] = n.h.Recovered(conn, room)
			n.mu.Unlock()
		}
		return nil
	}
	onReceive := func(ctx context.Context, in hbody) (ws.StatusEnvelope[any], error) {
		return ws.NoContent[any](), n.h.BroadcastExcept(ctx, "lobby", ws.ConnFromContext(ctx), ws.Ok(in))
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

func (n *hnode) wasRecovered(name, room string) (recovered, known bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	recovered, known = n.recovered[name+"/"+room]
	return
}

// dial connects name to rooms, with resume as the resume parameter if it
// is not empty.
func (n *hnode) dial(t testing.TB, name, resume string, rooms ...string) *websocket.Conn {
	t.Helper()
	q := url.Values{"name": {name}, "room": rooms}
	if resume != "" {
		q.Set("resume", resume)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, n.srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// resumeOf returns the resume parameter for one room.
func resumeOf(room string, p hub.Position) string {
	b, _ := json.Marshal(map[string]hub.Position{room: p})
	return string(b)
}

// readH returns the next push of c, failing the test after a long while.
func readH(t testing.TB, c *websocket.Conn) hpush {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var p hpush
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("push %s: %v", data, err)
	}
	return p
}

// tracker checks what a client receives of a room across its connections:
// every message once, in order, with increasing offsets of one epoch.
type tracker struct {
	t    testing.TB
	room string
	pos  hub.Position
	next int // the seq expected next
}

// take checks p and reports whether it was a message.
func (k *tracker) take(p hpush) bool {
	k.t.Helper()
	if p.Event == "$recover" {
		b := p.recover(k.t)
		if p.StatusCode != 200 {
			k.t.Fatalf("$recover %d %+v after %+v, want 200", p.StatusCode, b, k.pos)
		}
		if b.Epoch != k.pos.Epoch || b.Offset < k.pos.Offset {
			k.t.Fatalf("$recover %+v after %+v", b, k.pos)
		}
		return false
	}
	if p.Room != k.room || p.StatusCode != 200 {
		k.t.Fatalf("push %+v, want a message of %q", p, k.room)
	}
	if k.pos.Epoch != "" && (p.Epoch != k.pos.Epoch || p.Offset <= k.pos.Offset) {
		k.t.Fatalf("push at %s/%d after %+v", p.Epoch, p.Offset, k.pos)
	}
	if seq := p.seq(k.t); seq != k.next {
		k.t.Fatalf("seq %d, want %d (offset %d)", seq, k.next, p.Offset)
	}
	k.next++
	k.pos = hub.Position{Epoch: p.Epoch, Offset: p.Offset}
	return true
}

// publish broadcasts seqs 1…n to room from its own goroutine.
func publish(t *testing.T, h *hub.Hub, room string, n int) <-chan error {
	done := make(chan error, 1)
	go func() {
		for seq := 1; seq <= n; seq++ {
			if err := h.Broadcast(context.Background(), room, ws.Ok(hbody{Seq: seq})); err != nil {
				done <- fmt.Errorf("broadcast %d: %w", seq, err)
				return
			}
			if seq%50 == 0 {
				time.Sleep(time.Millisecond) // let the client drop in the middle
			}
		}
		done <- nil
	}()
	return done
}

var longHistory = hub.History{Size: 100000, TTL: time.Hour}

// A client that drops in the middle of a stream and resumes, several
// times, while a publisher keeps publishing, gets every message exactly
// once and in order: on the node it was on, or on another one.
func TestHistoryResumeExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		nodes func(t *testing.T) (publisher, first, second *hnode)
	}{
		{"one hub", func(t *testing.T) (*hnode, *hnode, *hnode) {
			n := newHNode(t, hub.WithHistory("lobby", longHistory))
			return n, n, n
		}},
		{"another hub", func(t *testing.T) (*hnode, *hnode, *hnode) {
			b := new(hub.MemoryBroker)
			n1 := newHNode(t, hub.WithBroker(b), hub.WithHistory("*", longHistory))
			n2 := newHNode(t, hub.WithBroker(b), hub.WithHistory("lob*", longHistory))
			n3 := newHNode(t, hub.WithBroker(b), hub.WithHistory("lobby", longHistory))
			return n1, n2, n3
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const total = 3000
			pub, first, second := tc.nodes(t)
			k := &tracker{t: t, room: "lobby", next: 1}
			c := first.dial(t, "ana", "", "lobby")
			waitFor(t, "ana joined", func() bool { return first.h.Count("lobby") == 1 })
			done := publish(t, pub.h, "lobby", total)
			nodes := []*hnode{second, first}
			for drop := 0; k.next <= total; drop++ {
				// Read a while, then drop the connection as a network would
				// and resume, alternately on the two nodes.
				for range 300 {
					if k.take(readH(t, c)) && k.next > total {
						break
					}
				}
				if k.next > total {
					break
				}
				c.CloseNow()
				n := nodes[drop%2]
				c = n.dial(t, "ana", resumeOf("lobby", k.pos), "lobby")
				p := readH(t, c)
				if p.Event != "$recover" || p.StatusCode != 200 {
					t.Fatalf("first push after resuming at %+v: %+v, want $recover 200", k.pos, p)
				}
				k.take(p)
				if rec, known := n.wasRecovered("ana", "lobby"); known && !rec {
					t.Fatal("Recovered = false after a $recover 200")
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A resume past what the history holds, by count or by age, or of another
// epoch, gets a $recover 410 with the room's position now and nothing
// replayed; what follows is live.
func TestHistoryResumeGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		limits hub.History
		// resume returns the position the client resumes from, given the
		// position of its last message, after the rest were published.
		resume func(last hub.Position) hub.Position
	}{
		{"past the size", hub.History{Size: 5, TTL: time.Hour}, func(p hub.Position) hub.Position { return p }},
		{"past the age", hub.History{Size: 100, TTL: time.Millisecond}, func(p hub.Position) hub.Position {
			time.Sleep(20 * time.Millisecond) // every message is older than the TTL
			return p
		}},
		{"stale epoch", hub.History{Size: 100, TTL: time.Hour}, func(p hub.Position) hub.Position {
			return hub.Position{Epoch: "stale", Offset: p.Offset}
		}},
		{"offset from the future", hub.History{Size: 100, TTL: time.Hour}, func(p hub.Position) hub.Position {
			return hub.Position{Epoch: p.Epoch, Offset: p.Offset + 1000}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := newHNode(t, hub.WithHistory("lobby", tc.limits))
			c := n.dial(t, "ana", "", "lobby")
			waitFor(t, "ana joined", func() bool { return n.h.Count("lobby") == 1 })
			if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 1})); err != nil {
				t.Fatal(err)
			}
			p := readH(t, c)
			last := hub.Position{Epoch: p.Epoch, Offset: p.Offset}
			if p.Offset == 0 || p.Epoch == "" || p.Room != "lobby" {
				t.Fatalf("push %+v: want room, epoch and offset", p)
			}
			c.CloseNow()
			waitFor(t, "ana left", func() bool { return n.h.Count("lobby") == 0 })
			for seq := 2; seq <= 11; seq++ {
				if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: seq})); err != nil {
					t.Fatal(err)
				}
			}
			c = n.dial(t, "ana", resumeOf("lobby", tc.resume(last)), "lobby")
			p = readH(t, c)
			b := p.recover(t)
			if p.Event != "$recover" || p.StatusCode != 410 || p.Room != "lobby" {
				t.Fatalf("first push %+v, want $recover 410", p)
			}
			if b.Epoch != last.Epoch || b.Offset != last.Offset+10 || b.Replayed != 0 {
				t.Fatalf("$recover body %+v, want epoch %s offset %d, nothing replayed", b, last.Epoch, last.Offset+10)
			}
			waitFor(t, "onConnect", func() bool { _, known := n.wasRecovered("ana", "lobby"); return known })
			if rec, _ := n.wasRecovered("ana", "lobby"); rec {
				t.Fatal("Recovered = true after a 410")
			}
			if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 12})); err != nil {
				t.Fatal(err)
			}
			if p := readH(t, c); p.seq(t) != 12 || p.Offset != b.Offset+1 {
				t.Fatalf("after the 410: %+v, want seq 12 at offset %d", p, b.Offset+1)
			}
		})
	}
}

// A resume parameter that does not parse, whole or for some rooms, is
// ignored for those rooms: the connection joins as if it had not asked,
// and the rooms it gave well still recover.
func TestHistoryHostileResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := newHNode(t, hub.WithHistory("*", hub.History{Size: 100, TTL: time.Hour}))
	c := n.dial(t, "probe", "", "lobby")
	waitFor(t, "probe joined", func() bool { return n.h.Count("lobby") == 1 })
	if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 1})); err != nil {
		t.Fatal(err)
	}
	p := readH(t, c)
	good := hub.Position{Epoch: p.Epoch, Offset: p.Offset}
	goodJSON, _ := json.Marshal(good)
	c.CloseNow()

	var many strings.Builder
	many.WriteString("{")
	for i := range 250 {
		fmt.Fprintf(&many, `"r%d":{"epoch":"x","offset":%d},`, i, i)
	}
	many.WriteString(`"lobby":` + string(goodJSON) + "}")

	for i, tc := range []struct {
		name    string
		resume  string
		recover bool // lobby still recovers
	}{
		{"not JSON", "{lobby", false},
		{"an array", `[{"lobby":{"epoch":"x","offset":1}}]`, false},
		{"too long", `{"lobby":` + string(goodJSON) + `,"pad":"` + strings.Repeat("x", hub.MaxResumeLen) + `"}`, false},
		{"deep", `{"lobby":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + "}", false},
		{"wrong types", `{"lobby":{"epoch":5,"offset":"x"}}`, false},
		{"negative offset", `{"lobby":{"epoch":"` + good.Epoch + `","offset":-1}}`, false},
		{"fraction", `{"lobby":{"epoch":"` + good.Epoch + `","offset":0.5}}`, false},
		{"epoch with a quote", `{"lobby":{"epoch":"a\"b","offset":0}}`, false},
		{"long epoch", `{"lobby":{"epoch":"` + strings.Repeat("e", 65) + `","offset":0}}`, false},
		{"bad rooms beside a good one", `{"":1,"x":null,"y":{"epoch":[]},"lobby":` + string(goodJSON) + `}`, true},
		{"250 rooms", many.String(), true},
		{"binary", "{\"\xff\xfe\":{\"epoch\":\"a\",\"offset\":1},\"lobby\":" + string(goodJSON) + "}", true},
	} {
		name := fmt.Sprintf("c%d", i)
		c := n.dial(t, name, tc.resume, "lobby", "r1")
		waitFor(t, tc.name+": onConnect", func() bool { _, known := n.wasRecovered(name, "lobby"); return known })
		if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 100 + i})); err != nil {
			t.Fatal(err)
		}
		// Pushes of r1 (a 410 of the rooms with epoch "x") are not looked at.
		lobby := func() hpush {
			for {
				if p := readH(t, c); p.Room == "lobby" {
					return p
				}
			}
		}
		p := lobby()
		if tc.recover {
			if p.Event != "$recover" || p.StatusCode != 200 {
				t.Fatalf("%s: first push %+v, want $recover 200", tc.name, p)
			}
			for range p.recover(t).Replayed {
				lobby()
			}
			p = lobby()
		}
		if p.Event != "" || p.seq(t) != 100+i {
			t.Fatalf("%s: push %+v, want the live message %d", tc.name, p, 100+i)
		}
		if rec, _ := n.wasRecovered(name, "lobby"); rec != tc.recover {
			t.Fatalf("%s: Recovered = %v, want %v", tc.name, rec, tc.recover)
		}
		c.CloseNow()
	}
}

// Every push of a room with history carries room, epoch and offset beside
// what the application sent (here a Callback's statusCode and body); a
// BroadcastExcept leaves out its sender on every hub; a value that is not
// a JSON object is refused; History reads the room's messages as members
// received them.
func TestHistoryPushes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := new(hub.MemoryBroker)
	n1 := newHNode(t, hub.WithBroker(b), hub.WithHistory("lobby", longHistory))
	n2 := newHNode(t, hub.WithBroker(b), hub.WithHistory("lobby", longHistory))
	ana, ben := n1.dial(t, "ana", "", "lobby"), n2.dial(t, "ben", "", "lobby")
	waitFor(t, "joined", func() bool { return n1.h.Count("lobby") == 1 && n2.h.Count("lobby") == 1 })

	// ana says 7: ben gets it, ana does not.
	if err := ana.Write(ctx, websocket.MessageText, []byte(`{"seq":7}`)); err != nil {
		t.Fatal(err)
	}
	if p := readH(t, ana); p.StatusCode != 204 {
		t.Fatalf("ana's reply %+v, want 204", p)
	}
	if err := n2.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 8})); err != nil {
		t.Fatal(err)
	}
	got := readH(t, ben)
	if got.Room != "lobby" || got.Offset != 1 || got.Epoch == "" || got.StatusCode != 200 || got.seq(t) != 7 {
		t.Fatalf("ben got %+v", got)
	}
	if p := readH(t, ana); p.seq(t) != 8 || p.Offset != 2 {
		t.Fatalf("ana got %+v, want seq 8 at offset 2: not her own message", p)
	}
	if p := readH(t, ben); p.seq(t) != 8 || p.Offset != 2 || p.Epoch != got.Epoch {
		t.Fatalf("ben got %+v, want seq 8 at offset 2", p)
	}

	for _, v := range []any{"text", []int{1}, 42, nil} {
		if err := n1.h.Broadcast(ctx, "lobby", v); !errors.Is(err, hub.ErrNotObject) {
			t.Fatalf("Broadcast(%v) = %v, want ErrNotObject", v, err)
		}
	}

	msgs, now, err := n2.h.History(ctx, "lobby")
	if err != nil || len(msgs) != 2 || now != (hub.Position{Epoch: got.Epoch, Offset: 2}) {
		t.Fatalf("History = %d messages, %+v, %v", len(msgs), now, err)
	}
	if want := `{"statusCode":200,"body":{"seq":7},"room":"lobby","epoch":"` + got.Epoch + `","offset":1}`; string(msgs[0]) != want {
		t.Fatalf("History[0] = %s, want %s", msgs[0], want)
	}
	if _, _, err := n1.h.History(ctx, "other"); !errors.Is(err, hub.ErrNoHistory) {
		t.Fatalf("History of a room without history: %v", err)
	}
}

// WithHistory refuses what cannot work, at construction.
func TestHistoryOptionsPanic(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"empty pattern", func() { hub.WithHistory("", longHistory) }},
		{"no size", func() { hub.WithHistory("a", hub.History{TTL: time.Hour}) }},
		{"huge size", func() { hub.WithHistory("a", hub.History{Size: hub.MaxHistorySize + 1, TTL: time.Hour}) }},
		{"no TTL", func() { hub.WithHistory("a", hub.History{Size: 1}) }},
		{"broker without history", func() { hub.New(hub.WithBroker(plainBroker{}), hub.WithHistory("a", longHistory)) }},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "hub: ") {
					t.Errorf("%s: panic %v, want one starting hub: ", tc.name, r)
				}
			}()
			tc.f()
		}()
	}
}

// plainBroker is a Broker that keeps no history.
type plainBroker struct{}

func (plainBroker) Publish(context.Context, string, []byte) error { return nil }
func (plainBroker) Subscribe(string, func([]byte)) (func() error, error) {
	return func() error { return nil }, nil
}

// overlapBroker is a MemoryBroker whose Since runs before and after
// around the read: messages appended there reach a recovering member both
// live and, for before, in the replay.
type overlapBroker struct {
	*hub.MemoryBroker
	before, after func()
}

func (b overlapBroker) Since(ctx context.Context, subject string, after hub.Position, max int) (hub.Replay, error) {
	if b.before != nil {
		b.before()
	}
	r, err := b.MemoryBroker.Since(ctx, subject, after, max)
	if b.after != nil {
		b.after()
	}
	return r, err
}

// Messages appended while a member recovers, before the history is read
// (so both replayed and held live) and after it (held live only), reach it
// once, in order, after the replay.
func TestHistoryResumeOverlap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var n *hnode
	seq := 1
	next := func() {
		for range 3 {
			seq++
			if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: seq})); err != nil {
				t.Error(err)
			}
		}
	}
	b := overlapBroker{MemoryBroker: new(hub.MemoryBroker)}
	n = newHNode(t, hub.WithBroker(&b), hub.WithHistory("lobby", longHistory))
	c := n.dial(t, "ana", "", "lobby")
	waitFor(t, "ana joined", func() bool { return n.h.Count("lobby") == 1 })
	if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 1})); err != nil {
		t.Fatal(err)
	}
	k := &tracker{t: t, room: "lobby", next: 1}
	k.take(readH(t, c))
	c.CloseNow()
	waitFor(t, "ana left", func() bool { return n.h.Count("lobby") == 0 })
	next() // 2, 3, 4: missed, replayed
	b.before, b.after = next, next
	c = n.dial(t, "ana", resumeOf("lobby", k.pos), "lobby")
	p := readH(t, c)
	if p.Event != "$recover" || p.StatusCode != 200 || p.recover(t).Replayed != 6 {
		t.Fatalf("first push %+v, want $recover 200 with 6 replayed", p)
	}
	for k.next <= 10 {
		k.take(readH(t, c))
	}
	b.before, b.after = nil, nil
	if err := n.h.Broadcast(ctx, "lobby", ws.Ok(hbody{Seq: 11})); err != nil {
		t.Fatal(err)
	}
	k.take(readH(t, c)) // 11, not a duplicate of 5…7
}
