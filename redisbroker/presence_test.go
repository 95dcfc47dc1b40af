package redisbroker_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/redisbroker"
)

// watcher keeps the presence a subscription gives.
type watcher struct {
	mu  sync.Mutex
	ids map[string]bool
	log []string
}

func (w *watcher) fn(c hub.PresenceChange) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.Snapshot {
		w.ids = map[string]bool{}
		w.log = append(w.log, "snapshot")
	}
	for _, e := range c.Joins {
		w.ids[e.ID] = true
		w.log = append(w.log, "+"+e.ID)
	}
	for _, id := range c.Leaves {
		delete(w.ids, id)
		w.log = append(w.log, "-"+id)
	}
}

func (w *watcher) has(ids ...string) func() bool {
	return func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		var got []string
		for id := range w.ids {
			got = append(got, id)
		}
		slices.Sort(got)
		return slices.Equal(got, ids)
	}
}

// TestPresenceCutOff: the entries of a node cut off from Redis leave the
// others' presence within the timeout; when it reconnects, it tracks them
// again and they come back.
func TestPresenceCutOff(t *testing.T) {
	srv := startRedis(t)
	cut := &cutter{}
	rdbA := srv.client(cut)
	defer rdbA.Close()
	a := redisbroker.New(rdbA, redisbroker.WithPresenceTimeout(testTimeout))
	defer a.Close()
	b, _ := newBroker(t, srv)
	ctx := context.Background()
	if err := a.Track(ctx, "room.p", hub.PresenceEntry{ID: "ana", Key: "ana", Meta: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	w := &watcher{}
	unsub, err := b.SubscribePresence("room.p", w.fn)
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	if !w.has("ana")() {
		t.Fatalf("the first snapshot: %v", w.log)
	}
	cut.kill()
	waitFor(t, "ana's leave", w.has())
	cut.revive()
	waitFor(t, "ana back", w.has("ana"))
	got, err := b.Presence(ctx, "room.p")
	if err != nil || len(got) != 1 || got[0].ID != "ana" {
		t.Fatalf("Presence: %v, %v", got, err)
	}
}

// TestPresenceDeadUnwatched: the entries of a node that died while nobody
// watched its room are not read, and are removed from Redis when the room
// is next read.
func TestPresenceDeadUnwatched(t *testing.T) {
	srv := startRedis(t)
	cut := &cutter{}
	rdbA := srv.client(cut)
	defer rdbA.Close()
	a := redisbroker.New(rdbA, redisbroker.WithPresenceTimeout(testTimeout))
	defer a.Close()
	b, rdb := newBroker(t, srv)
	ctx := context.Background()
	if err := a.Track(ctx, "room.u", hub.PresenceEntry{ID: "ana", Key: "ana", Meta: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Presence(ctx, "room.u"); err != nil || len(got) != 1 {
		t.Fatalf("Presence: %v, %v", got, err)
	}
	cut.kill()
	waitFor(t, "the dead node's entry to go", func() bool {
		got, err := b.Presence(ctx, "room.u")
		return err == nil && len(got) == 0
	})
	if n := rdb.HLen(ctx, "cafeto.ws.p.{room.u}").Val(); n != 0 {
		t.Fatalf("%d entries left in the hash", n)
	}
}
