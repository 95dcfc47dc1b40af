package redisbroker_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/redisbroker"
	"github.com/redis/go-redis/v9"
)

var limits = hub.History{Size: 100, TTL: time.Hour}

func newBroker(t *testing.T, srv *redisServer) (*redisbroker.Broker, *redis.Client) {
	t.Helper()
	rdb := srv.client(&cutter{})
	b := redisbroker.New(rdb)
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		rdb.Close()
	})
	return b, rdb
}

// TestInvalidSubject: what is not a hub's subject never reaches Redis.
func TestInvalidSubject(t *testing.T) {
	srv := startRedis(t)
	b, rdb := newBroker(t, srv)
	ctx := context.Background()
	for _, s := range []string{"", "room.", "lobby", "room.a b", "room.{a}", "room.a*", "id.\r\n", "room.é", "chan.x"} {
		if err := b.Publish(ctx, s, []byte("x")); !errors.Is(err, redisbroker.ErrInvalidSubject) {
			t.Errorf("Publish(%q) = %v", s, err)
		}
		if _, err := b.Subscribe(s, func([]byte) {}); !errors.Is(err, redisbroker.ErrInvalidSubject) {
			t.Errorf("Subscribe(%q) = %v", s, err)
		}
		if _, err := b.Append(ctx, s, []byte("{}"), limits); !errors.Is(err, redisbroker.ErrInvalidSubject) {
			t.Errorf("Append(%q) = %v", s, err)
		}
		if err := b.Track(ctx, s, hub.PresenceEntry{ID: "a", Key: "k", Meta: []byte("{}")}); !errors.Is(err, redisbroker.ErrInvalidSubject) {
			t.Errorf("Track(%q) = %v", s, err)
		}
	}
	if n := rdb.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("%d keys in Redis, want none", n)
	}
}

// TestEpochChangesWhenStreamLost: a stream deleted under the hubs gives a
// new epoch, offsets from 1, and no reach back.
func TestEpochChangesWhenStreamLost(t *testing.T) {
	srv := startRedis(t)
	b, rdb := newBroker(t, srv)
	ctx := context.Background()
	var last hub.Position
	for i := 1; i <= 3; i++ {
		p, err := b.Append(ctx, "room.x", []byte(`{}`), limits)
		if err != nil {
			t.Fatal(err)
		}
		if p.Offset != uint64(i) || (last.Epoch != "" && p.Epoch != last.Epoch) {
			t.Fatalf("append %d at %+v after %+v", i, p, last)
		}
		last = p
	}
	if err := rdb.Del(ctx, "cafeto.ws.h.{room.x}").Err(); err != nil {
		t.Fatal(err)
	}
	r, err := b.Since(ctx, "room.x", last, 10)
	if err != nil {
		t.Fatal(err)
	}
	if r.Now.Epoch == last.Epoch || r.Reaches || r.Now.Offset != 0 {
		t.Fatalf("Since after the loss: %+v, want a new epoch at 0 that does not reach back", r)
	}
	p, err := b.Append(ctx, "room.x", []byte(`{}`), limits)
	if err != nil {
		t.Fatal(err)
	}
	if p != (hub.Position{Epoch: r.Now.Epoch, Offset: 1}) {
		t.Fatalf("first append after the loss at %+v, want offset 1 of %s", p, r.Now.Epoch)
	}
}

// TestHistoryCatchUp: appends made while the subscription's connection
// is lost reach the subscriber once it is back, in order, once.
func TestHistoryCatchUp(t *testing.T) {
	srv := startRedis(t)
	b, rdb := newBroker(t, srv)
	ctx := context.Background()
	var mu sync.Mutex
	var got []uint64
	unsub, err := b.SubscribeHistory("room.c", func(epoch string, e hub.Entry) {
		mu.Lock()
		got = append(got, e.Offset)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}
	if _, err := b.Append(ctx, "room.c", []byte(`{}`), limits); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first append", func() bool { return count() == 1 })
	if err := rdb.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := b.Append(ctx, "room.c", []byte(`{}`), limits); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "21 appends", func() bool { return count() >= 21 })
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for i, o := range got {
		if o != uint64(i+1) {
			t.Fatalf("offsets %v: want 1 to 21, once, in order", got)
		}
	}
	if len(got) != 21 {
		t.Fatalf("offsets %v: want 1 to 21", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSubscribeWhileRedisIsDown: a subscription Redis cannot confirm
// fails, within the subscribe timeout, and leaves nothing behind; once
// Redis is back, subscribing works again.
func TestSubscribeWhileRedisIsDown(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.client(&cutter{})
	defer rdb.Close()
	b := redisbroker.New(rdb, redisbroker.WithSubscribeTimeout(500*time.Millisecond))
	defer b.Close()
	srv.stop()
	if _, err := b.Subscribe("room.down", func([]byte) {}); err == nil {
		t.Fatal("Subscribe succeeded with Redis down")
	}
	srv.start()
	got := make(chan string, 1)
	waitFor(t, "a subscription once Redis is back", func() bool {
		unsub, err := b.Subscribe("room.down", func(m []byte) { got <- string(m) })
		if err != nil {
			return false
		}
		t.Cleanup(func() { unsub() })
		return true
	})
	if err := b.Publish(context.Background(), "room.down", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != "hi" {
			t.Fatalf("got %q", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
	}
}

// TestOptionsPanic: options out of range panic at construction.
func TestOptionsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"empty prefix":     func() { redisbroker.WithPrefix("") },
		"prefix with {":    func() { redisbroker.WithPrefix("a{b}") },
		"prefix with *":    func() { redisbroker.WithPrefix("a*") },
		"long prefix":      func() { redisbroker.WithPrefix(strings.Repeat("a", redisbroker.MaxPrefixLen+1)) },
		"short timeout":    func() { redisbroker.WithPresenceTimeout(time.Millisecond) },
		"subscribe wait 0": func() { redisbroker.WithSubscribeTimeout(0) },
		"nil client":       func() { redisbroker.New(nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
	redisbroker.WithPrefix("my-app:ws.v1") // fine
}

// TestPrefix: two prefixes on one Redis keep their rooms apart.
func TestPrefix(t *testing.T) {
	srv := startRedis(t)
	rdb := srv.client(&cutter{})
	defer rdb.Close()
	a := redisbroker.New(rdb, redisbroker.WithPrefix("one"))
	defer a.Close()
	b := redisbroker.New(rdb, redisbroker.WithPrefix("two"))
	defer b.Close()
	got := make(chan string, 2)
	for _, br := range []*redisbroker.Broker{a, b} {
		unsub, err := br.Subscribe("room.x", func(m []byte) { got <- string(m) })
		if err != nil {
			t.Fatal(err)
		}
		defer unsub()
	}
	if err := a.Publish(context.Background(), "room.x", []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "room.x", []byte("two")); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for range 2 {
		select {
		case m := <-got:
			msgs = append(msgs, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %v", msgs)
		}
	}
	select {
	case m := <-got:
		t.Fatalf("a message crossed prefixes: %q (after %v)", m, msgs)
	case <-time.After(50 * time.Millisecond):
	}
	if p, err := a.Append(context.Background(), "room.x", []byte("{}"), limits); err != nil || p.Offset != 1 {
		t.Fatal(p, err)
	}
	if p, err := b.Append(context.Background(), "room.x", []byte("{}"), limits); err != nil || p.Offset != 1 {
		t.Fatalf("the second prefix's first append: %+v, %v", p, err)
	}
}
