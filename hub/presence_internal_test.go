package hub

import (
	"fmt"
	"testing"

	"github.com/cafeto-go/ws"
)

// presenceRoom returns a room with presence of n members on this hub,
// each present with an entry of its own, whose writers are not running:
// what a change queues for them stays in their queues.
func presenceRoom(n int) (*Hub, *group, []*client) {
	h := New(WithPresence("lobby", Presence{}), WithQueueSize(1<<20))
	g := newGroup(kindRoom, "lobby", false)
	g.pres, g.roomJSON = newPresenceState(), []byte(`"lobby"`)
	fn := h.presenceReceiver(g)
	clients := make([]*client, n)
	entries := make([]PresenceEntry, n)
	for i := range clients {
		clients[i] = newClient(h, new(ws.Conn)) // never started: nothing writes
		g.add(clients[i], nil)
		g.members[i].pready = true
		entries[i] = PresenceEntry{ID: fmt.Sprintf("node0000000a_%05d", i), Key: fmt.Sprintf("user%05d", i), Meta: []byte(`{"device":"web"}`)}
	}
	fn(PresenceChange{Snapshot: true, Joins: entries})
	for _, c := range clients {
		c.queue = c.queue[:0]
	}
	return h, g, clients
}

// queued returns the bytes and messages queued for clients, and empties
// their queues.
func queued(clients []*client) (bytes, msgs int) {
	for _, c := range clients {
		for _, m := range c.queue {
			bytes += len(m.data)
			msgs++
		}
		c.queue = c.queue[:0]
	}
	return bytes, msgs
}

// A join or a leave queues one push to each member, of a size that does
// not depend on the room's size: the bytes out per change grow with the
// members, linearly, and per member they are the same at 10, 100 and
// 1,000 members.
func TestPresenceBytesPerChange(t *testing.T) {
	per := map[int][2]int{}
	for _, n := range []int{10, 100, 1000} {
		h, g, clients := presenceRoom(n)
		fn := h.presenceReceiver(g)
		fn(PresenceChange{Joins: []PresenceEntry{{ID: "node0000000b_00001", Key: "newcomer", Meta: []byte(`{"device":"web"}`)}}})
		jb, jm := queued(clients)
		fn(PresenceChange{Leaves: []string{"node0000000b_00001"}})
		lb, lm := queued(clients)
		if jm != n || lm != n {
			t.Fatalf("%d members: %d and %d pushes, want one each", n, jm, lm)
		}
		per[n] = [2]int{jb / n, lb / n}
		t.Logf("%5d members: a join writes %7d bytes (%d a member), a leave %7d bytes (%d a member)", n, jb, jb/n, lb, lb/n)
		h.Close()
	}
	if per[10] != per[1000] || per[100] != per[1000] {
		t.Fatalf("bytes a member per change grow with the room: %v", per)
	}
}

// BenchmarkPresenceChange is the hub's cost of one change (a join, then a
// leave) in a room of 1,000 members on this hub: building the push once
// and queueing it for each.
func BenchmarkPresenceChange(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			h, g, clients := presenceRoom(n)
			defer h.Close()
			fn := h.presenceReceiver(g)
			e := PresenceEntry{ID: "node0000000b_00001", Key: "newcomer", Meta: []byte(`{"device":"web"}`)}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if i%2 == 0 {
					fn(PresenceChange{Joins: []PresenceEntry{e}})
				} else {
					fn(PresenceChange{Leaves: []string{e.ID}})
				}
				if i%64 == 63 {
					for _, c := range clients {
						c.queue = c.queue[:0]
					}
				}
			}
		})
	}
}
