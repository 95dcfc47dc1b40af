package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
)

// testDelivery: two publishers on two hubs, three members on each; every
// member gets every message once, in each publisher's order, and nothing
// else.
func testDelivery(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	roomsToTest := []string{"delivery"}
	if isHistory(a.n.Broker) {
		roomsToTest = append(roomsToTest, historyPrefix+"delivery")
	}
	for _, room := range roomsToTest {
		n := 300
		if strings.HasPrefix(room, historyPrefix) {
			// Within the history's size: a broker may lose what its
			// history dropped before the hub read it.
			n = b.HistorySize / 2
		}
		var clients []*client
		for _, nd := range []*node{a, bn} {
			for range 3 {
				clients = append(clients, nd.dial(t, rooms(room)))
			}
		}
		var wg sync.WaitGroup
		for i, nd := range []*node{a, bn} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for seq := 1; seq <= n+1; seq++ {
					from := fmt.Sprint(i)
					if seq > n {
						from = "end"
					}
					if err := nd.h.Broadcast(context.Background(), room, ws.Ok(body{From: from, Seq: seq})); err != nil {
						t.Errorf("broadcast %d/%d: %v", i, seq, err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		for ci, cl := range clients {
			next := map[string]int{"0": 1, "1": 1}
			for ends := 0; ends < 2; {
				p := cl.must(fmt.Sprintf("message %v of room %s", next, room))
				got := p.body(t)
				if got.From == "end" {
					ends++
					continue
				}
				if got.Seq != next[got.From] {
					t.Fatalf("room %s, client %d: message %d of publisher %s, want %d (lost, twice or out of order): %s", room, ci, got.Seq, got.From, next[got.From], p.raw)
				}
				next[got.From]++
			}
			if next["0"] != n+1 || next["1"] != n+1 {
				t.Fatalf("room %s, client %d: got %v before the end, want %d of each", room, ci, next, n)
			}
		}
	}
}

// testJoinThenBroadcast: a member joins a room on one node, and a
// broadcast from another node right after Join returns reaches it.
func testJoinThenBroadcast(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	cl := bn.dial(t, nil)
	run := func(prefix string, n int) {
		prev := ""
		for i := range n {
			room := fmt.Sprintf("%sjoin-%d", prefix, i)
			cl.command(command{Join: room, Leave: prev})
			a.broadcast(room, "a", i)
			p, ok := cl.next(20 * time.Second)
			if !ok {
				t.Fatalf("iteration %d: the broadcast right after the join was lost", i)
			}
			if got := p.body(t); got.Seq != i {
				t.Fatalf("iteration %d: got %s", i, p.raw)
			}
			prev = room
		}
		cl.command(command{Leave: prev})
	}
	run("", 1000)
	if isHistory(a.n.Broker) {
		run(historyPrefix, 200)
	}
}

// testHistory: offsets increase and the epoch stays, whoever publishes;
// History on either hub reads the same.
func testHistory(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	need(t, b, isHistory(a.n.Broker), "history (hub.HistoryBroker)")
	const room = historyPrefix + "history"
	cl := bn.dial(t, rooms(room))
	for seq := 1; seq <= 10; seq++ {
		[]*node{a, bn}[seq%2].broadcast(room, "x", seq)
	}
	var last hub.Position
	for seq := 1; seq <= 10; seq++ {
		p := cl.must("a message")
		if got := p.body(t).Seq; got != seq {
			t.Fatalf("seq %d, want %d", got, seq)
		}
		if last.Epoch != "" && (p.Epoch != last.Epoch || p.Offset <= last.Offset) {
			t.Fatalf("message %d at %s/%d after %+v: the offset must increase within the epoch", seq, p.Epoch, p.Offset, last)
		}
		if p.Epoch == "" || p.Offset == 0 || p.Room != room {
			t.Fatalf("push %s: want a room, an epoch and an offset", p.raw)
		}
		last = hub.Position{Epoch: p.Epoch, Offset: p.Offset}
	}
	for _, nd := range []*node{a, bn} {
		msgs, pos, err := nd.h.History(context.Background(), room)
		if err != nil {
			t.Fatal(err)
		}
		if pos != last || len(msgs) != 10 {
			t.Fatalf("History: %d messages at %+v, want 10 at %+v", len(msgs), pos, last)
		}
	}
}

// recoverPush is the body of a $recover push.
type recoverPush struct {
	Epoch    string `json:"epoch"`
	Offset   uint64 `json:"offset"`
	Replayed int    `json:"replayed"`
}

// expectRecover reads the $recover push of cl and checks its status.
func expectRecover(t *testing.T, cl *client, status int) recoverPush {
	t.Helper()
	p := cl.must("$recover")
	if p.Event != "$recover" {
		t.Fatalf("first push %s, want $recover", p.raw)
	}
	if p.StatusCode != status {
		t.Fatalf("$recover %s, want status %d", p.raw, status)
	}
	var r recoverPush
	json.Unmarshal(p.Body, &r)
	return r
}

// expectSeqs reads the messages from, …, to of cl.
func expectSeqs(t *testing.T, cl *client, from, to int) hub.Position {
	t.Helper()
	var pos hub.Position
	for seq := from; seq <= to; seq++ {
		p := cl.must(fmt.Sprintf("message %d", seq))
		if got := p.body(t).Seq; got != seq {
			t.Fatalf("got %s, want message %d", p.raw, seq)
		}
		pos = hub.Position{Epoch: p.Epoch, Offset: p.Offset}
	}
	return pos
}

// testRecovery: a client resumes on its node and on another and gets what
// it missed, then the live messages; past the reach, or with a stale
// epoch, it gets 410.
func testRecovery(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	need(t, b, isHistory(a.n.Broker), "history (hub.HistoryBroker)")
	const room = historyPrefix + "recovery"
	c1 := a.dial(t, rooms(room))
	for seq := 1; seq <= 5; seq++ {
		a.broadcast(room, "x", seq)
	}
	pos := expectSeqs(t, c1, 1, 5)
	c1.close()
	for seq := 6; seq <= 10; seq++ {
		[]*node{a, bn}[seq%2].broadcast(room, "x", seq)
	}
	for i, nd := range []*node{a, bn} {
		q := rooms(room)
		q.Set("resume", resume(room, pos))
		c := nd.dial(t, q)
		if r := expectRecover(t, c, 200); r.Replayed != 5+i || r.Epoch != pos.Epoch {
			t.Fatalf("node %d: $recover %+v, want %d replayed in epoch %s", i, r, 5+i, pos.Epoch)
		}
		expectSeqs(t, c, 6, 10+i)
		bn.broadcast(room, "x", 11+i)
		expectSeqs(t, c, 11+i, 11+i)
		c.close()
	}
	// Past the reach: more than the history keeps after pos.
	for seq := 13; seq <= 12+b.HistorySize+5; seq++ {
		a.broadcast(room, "x", seq)
	}
	for i, nd := range []*node{a, bn} {
		q := rooms(room)
		q.Set("resume", resume(room, pos))
		expectRecover(t, nd.dial(t, q), 410)
		q.Set("resume", resume(room, hub.Position{Epoch: "stale-epoch", Offset: pos.Offset}))
		if r := expectRecover(t, nd.dial(t, q), 410); r.Epoch == "stale-epoch" || r.Epoch != pos.Epoch {
			t.Fatalf("node %d: $recover %+v for a stale epoch, want 410 in epoch %s", i, r, pos.Epoch)
		}
	}
}

// presenceState is what a client knows of a room's presence: key → refs.
type presenceState map[string]map[string]bool

type presenceBody struct {
	Joins  map[string][]map[string]any `json:"joins"`
	Leaves map[string][]map[string]any `json:"leaves"`
}

// apply applies a $presence push of room to s, and reports whether it was
// one.
func (s presenceState) apply(t testing.TB, p push, room string) bool {
	if p.Event != "$presence" || p.Room != room {
		return false
	}
	var b presenceBody
	if err := json.Unmarshal(p.Body, &b); err != nil {
		t.Fatalf("$presence %s: %v", p.raw, err)
	}
	for key, metas := range b.Joins {
		for _, m := range metas {
			if s[key] == nil {
				s[key] = map[string]bool{}
			}
			s[key][fmt.Sprint(m["$ref"])] = true
		}
	}
	for key, metas := range b.Leaves {
		for _, m := range metas {
			delete(s[key], fmt.Sprint(m["$ref"]))
		}
		if len(s[key]) == 0 {
			delete(s, key)
		}
	}
	return true
}

func (s presenceState) keys() []string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// waitPresence reads cl's pushes until its presence of room holds keys
// exactly, or fails after d.
func waitPresence(t *testing.T, cl *client, s presenceState, room string, d time.Duration, keys ...string) {
	t.Helper()
	sort.Strings(keys)
	deadline := time.Now().Add(d)
	for !slices.Equal(s.keys(), keys) {
		p, ok := cl.next(time.Until(deadline))
		if !ok {
			t.Fatalf("presence of %s: %v after %v, want %v", room, s.keys(), d, keys)
		}
		s.apply(t, p, room)
	}
}

// presenceKeys reads the presence of room on nd.
func presenceKeys(t *testing.T, nd *node, room string) []string {
	t.Helper()
	m, err := nd.h.Presence(context.Background(), room)
	if err != nil {
		t.Fatalf("Presence: %v", err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func tracked(room, key string) url.Values {
	return url.Values{"room": {room}, "key": {key}, "tab": {"1"}}
}

// testPresence: members tracked on two nodes see each other join and
// leave.
func testPresence(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	need(t, b, isPresence(a.n.Broker), "presence (hub.PresenceBroker)")
	const room = presencePrefix + "presence"
	ca := a.dial(t, tracked(room, "ana"))
	sa := presenceState{}
	waitPresence(t, ca, sa, room, 20*time.Second, "ana")
	cb := bn.dial(t, tracked(room, "bob"))
	sb := presenceState{}
	waitPresence(t, cb, sb, room, 20*time.Second, "ana", "bob")
	waitPresence(t, ca, sa, room, 20*time.Second, "ana", "bob")
	if got := presenceKeys(t, a, room); !slices.Equal(got, []string{"ana", "bob"}) {
		t.Fatalf("Presence on a: %v", got)
	}
	ca.close()
	waitPresence(t, cb, sb, room, 20*time.Second, "bob")
	if got := presenceKeys(t, a, room); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("Presence on a after ana left: %v", got)
	}
}

// testPresenceNodeDeath: the members of a killed node leave the others'
// presence within the broker's timeout, and never come back.
func testPresenceNodeDeath(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	need(t, b, isPresence(a.n.Broker), "presence (hub.PresenceBroker)")
	need(t, b, a.n.Kill != nil, "a way to kill a node (Node.Kill)")
	const room = presencePrefix + "death"
	cb := bn.dial(t, tracked(room, "bob"))
	a.dial(t, tracked(room, "ana"))
	sb := presenceState{}
	waitPresence(t, cb, sb, room, 20*time.Second, "ana", "bob")
	a.kill()
	waitPresence(t, cb, sb, room, 2*b.PresenceTimeout+10*time.Second, "bob")

	// A new process: its first snapshot has no trace of the dead node.
	d := startNode(t, b)
	cd := d.dial(t, tracked(room, "dee"))
	sd := presenceState{}
	for {
		p := cd.must("the first $presence")
		if sd.apply(t, p, room) {
			break
		}
	}
	if sd["ana"] != nil {
		t.Fatalf("the first $presence on a new node holds the dead node's member: %v", sd.keys())
	}
	waitPresence(t, cd, sd, room, 20*time.Second, "bob", "dee")
	waitPresence(t, cb, sb, room, 20*time.Second, "bob", "dee")
	// And nothing brings it back.
	deadline := time.Now().Add(b.PresenceTimeout)
	for time.Now().Before(deadline) {
		if p, ok := cb.next(time.Until(deadline)); ok {
			sb.apply(t, p, room)
			if sb["ana"] != nil {
				t.Fatalf("the dead node's member came back: %s", p.raw)
			}
		}
	}
	if got := presenceKeys(t, d, room); !slices.Equal(got, []string{"bob", "dee"}) {
		t.Fatalf("Presence on a new node: %v, want [bob dee]", got)
	}
}

// hostileNames are names that a broker's own syntax could take for
// something else.
func hostileNames() []string {
	return []string{
		"\x00\xff\xfe\x01 binary",
		strings.Repeat("n", hub.HardMaxNameLen-len(historyPrefix)),
		"*", ">", "a.*", "a.>", "*.>", "a b", "a\r\nb", "\r\n", "%", "%%", "%41", "A", "a.b", "a%2Eb",
		"__keyspace@0__:x", "{slot}", "h.", "p.", "$SYS", "é", "\u2028",
	}
}

// testNames: hostile room names reach their own room and no other, with
// history and presence too.
func testNames(t *testing.T, b Backend) {
	a, bn := startNode(t, b), startNode(t, b)
	var names []string
	hist, pres := map[string]bool{}, map[string]bool{}
	for _, n := range hostileNames() {
		names = append(names, n)
		if isHistory(a.n.Broker) {
			names = append(names, historyPrefix+n)
			hist[historyPrefix+n] = true
		}
		if isPresence(a.n.Broker) {
			names = append(names, presencePrefix+n)
			pres[presencePrefix+n] = true
		}
	}
	q := url.Values{"room": append(slices.Clone(names), "end"), "key": {"k"}}
	cl := bn.dial(t, q)
	for i, n := range names {
		a.broadcast(n, "x", i)
	}
	got := make([]int, len(names))
	seen := map[string]bool{}
	for range names {
		p := cl.must("a message")
		for p.Event == "$presence" {
			seen[p.Room] = true
			p = cl.must("a message")
		}
		i := p.body(t).Seq
		got[i]++
		if p.Room != "" && p.Room != jsonString(names[i]) {
			t.Fatalf("message to %s came with room %s", short(names[i]), short(p.Room))
		}
	}
	a.broadcast("end", "end", 0)
	for {
		p := cl.must("the end")
		if p.Event == "$presence" {
			seen[p.Room] = true
			continue
		}
		if p.body(t).From != "end" {
			t.Fatalf("a message too many: %s", p.raw)
		}
		break
	}
	for i, n := range got {
		if n != 1 {
			t.Errorf("room %s: %d messages, want 1", short(names[i]), n)
		}
	}
	for _, n := range names {
		if pres[n] {
			if !seen[jsonString(n)] {
				t.Errorf("room %s: no $presence", short(n))
			}
			if got := presenceKeys(t, a, n); !slices.Equal(got, []string{"k"}) {
				t.Errorf("Presence of %s: %v", short(n), got)
			}
		}
		if hist[n] {
			msgs, _, err := a.h.History(context.Background(), n)
			if err != nil || len(msgs) != 1 {
				t.Errorf("History of %s: %d messages, %v", short(n), len(msgs), err)
			}
		}
	}
}

// jsonString returns s as it reads back from JSON: invalid UTF-8 is
// replaced by U+FFFD.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	json.Unmarshal(b, &out)
	return out
}

// testOutage: the backend's server stops and starts again. Members stay
// connected to their hubs; broadcasts flow again, in order and never
// twice, those of the outage may be lost; a history resumed across the
// outage is exact or a 410; presence converges to the live members.
func testOutage(t *testing.T, b Backend) {
	need(t, b, b.Restart != nil, "a way to restart its server (Backend.Restart)")
	a, bn := startNode(t, b), startNode(t, b)
	hist, pres := isHistory(a.n.Broker), isPresence(a.n.Broker)
	const plain, hroom, proom = "outage", historyPrefix + "outage", presencePrefix + "outage"
	q := url.Values{"room": {plain}, "key": {"bee"}}
	if hist {
		q.Add("room", hroom)
	}
	if pres {
		q.Add("room", proom)
		a.dial(t, tracked(proom, "ay"))
	}
	cl := bn.dial(t, q)

	lastPlain, lastHist := 0, 0
	var pos hub.Position
	ps := presenceState{}
	take := func(p push) {
		t.Helper()
		switch {
		case ps.apply(t, p, proom):
		case p.Room == hroom:
			seq := p.body(t).Seq
			if p.Epoch == pos.Epoch && p.Offset <= pos.Offset || seq <= lastHist {
				t.Fatalf("history message %d at %s/%d after %d at %+v: twice or out of order", seq, p.Epoch, p.Offset, lastHist, pos)
			}
			if pos.Epoch != "" && p.Epoch != pos.Epoch {
				t.Logf("live members see the epoch change from %s to %s", pos.Epoch, p.Epoch)
			}
			lastHist, pos = seq, hub.Position{Epoch: p.Epoch, Offset: p.Offset}
		default:
			seq := p.body(t).Seq
			if seq <= lastPlain {
				t.Fatalf("message %d after %d: twice or out of order", seq, lastPlain)
			}
			lastPlain = seq
		}
	}
	a.broadcast(plain, "a", 1)
	for lastPlain < 1 {
		take(cl.must("the first message"))
	}
	if hist {
		a.broadcast(hroom, "a", 1)
		for lastHist < 1 {
			take(cl.must("the first history message"))
		}
	}
	before := pos

	b.Restart(t)

	// Broadcast until everything flows again.
	var kept []int // history messages appended after the restart
	deadline := time.Now().Add(60 * time.Second)
	seq, plainLost, histFailed := 1, 0, 0
	for {
		seq++
		if err := a.h.Broadcast(context.Background(), plain, ws.Ok(body{From: "a", Seq: seq})); err != nil {
			plainLost++
		}
		if hist {
			if err := a.h.Broadcast(context.Background(), hroom, ws.Ok(body{From: "a", Seq: seq})); err != nil {
				histFailed++
			} else {
				kept = append(kept, seq)
			}
		}
		until := time.Now().Add(100 * time.Millisecond)
		for {
			p, ok := cl.next(time.Until(until))
			if !ok {
				break
			}
			take(p)
		}
		ok := lastPlain == seq-1 || lastPlain == seq
		ok = ok && (!hist || (len(kept) > 0 && lastHist == kept[len(kept)-1]))
		if ok && pres {
			ok = slices.Equal(presenceKeys(t, a, proom), []string{"ay", "bee"}) && slices.Equal(ps.keys(), []string{"ay", "bee"})
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("60 s after the restart: last message %d of %d, history %d of %v, presence %v", lastPlain, seq, lastHist, kept, ps.keys())
		}
	}
	t.Logf("after the restart: %d broadcasts failed, the last of %d arrived", plainLost, seq)
	if !hist {
		return
	}
	// A client that resumes from before the outage.
	rq := rooms(hroom)
	rq.Set("resume", resume(hroom, before))
	c := bn.dial(t, rq)
	p := c.must("$recover")
	if p.Event != "$recover" {
		t.Fatalf("first push %s, want $recover", p.raw)
	}
	switch p.StatusCode {
	case 410:
		t.Logf("resuming across the outage: 410 (%d appends failed during it)", histFailed)
	case 200:
		var r recoverPush
		json.Unmarshal(p.Body, &r)
		if r.Epoch != before.Epoch {
			t.Fatalf("$recover 200 %+v from %+v: a new epoch must be a 410", r, before)
		}
		for _, want := range kept {
			m := c.must(fmt.Sprintf("replayed message %d", want))
			if got := m.body(t).Seq; got != want {
				t.Fatalf("replayed %d, want %d (kept: %v)", got, want, kept)
			}
		}
		t.Logf("resuming across the outage: 200, %d replayed", len(kept))
	default:
		t.Fatalf("$recover %s", p.raw)
	}
}
