package ws

import (
	"testing"
	"time"
)

// The bucket refills at Rate and holds at most Burst; the clock is given.
func TestBucketRefill(t *testing.T) {
	l := WithRateLimit(RateLimit{Rate: 2, Burst: 3})
	var cfg config
	l.apply(&cfg)
	lim := cfg.limits[0]
	b := &bucket{tokens: lim.burst}
	sec := int64(time.Second)
	steps := []struct {
		at       int64
		ok, full bool
	}{
		{0, true, true}, {0, true, false}, {0, true, false}, {0, false, false},
		{sec / 4, false, false}, // half a token
		{sec / 2, true, false},  // one
		{sec / 2, false, false},
		{10 * sec, true, true}, // full again, and no more than Burst
		{10 * sec, true, false}, {10 * sec, true, false}, {10 * sec, false, false},
	}
	for i, s := range steps {
		ok, full := b.take(lim, s.at)
		if ok != s.ok || full != s.full {
			t.Fatalf("step %d at %v: ok=%v full=%v, want %v %v", i, time.Duration(s.at), ok, full, s.ok, s.full)
		}
	}
}

// Keyed buckets are kept while a connection holds them and for Burst/Rate
// after the last one let go; then they are dropped.
func TestKeyedBucketsBounded(t *testing.T) {
	var cfg config
	WithRateLimit(RateLimit{Rate: 5, Burst: 10}).apply(&cfg) // refills in 2 s
	l := cfg.limits[0]
	sec := int64(time.Second)
	a1 := l.acquire("ana", 0)
	a2 := l.acquire("ana", 0)
	if a1 != a2 {
		t.Fatal("one key, two buckets")
	}
	a1.take(l, 0)
	for i := range 1000 {
		k := string(rune('A' + i%26))
		l.release(k, l.acquire(k, 0), 0)
	}
	if got := l.size(); got != 27 {
		t.Fatalf("%d buckets, want 27", got)
	}
	l.release("ana", a1, sec)
	l.release("ana", a2, sec)
	// At 2 s the 26 short-lived keys have refilled; ana's bucket has not.
	l.acquire("bob", 2*sec)
	if got := l.size(); got != 2 {
		t.Fatalf("%d buckets at 2 s, want 2 (ana, bob)", got)
	}
	// Ana comes back within the window: her bucket is the one she left.
	if b := l.acquire("ana", 2*sec); b != a1 {
		t.Fatal("ana's bucket was forgotten while she had tokens to regain")
	}
	l.release("ana", a1, 2*sec)
	l.acquire("carl", 5*sec)
	if got := l.size(); got != 2 {
		t.Fatalf("%d buckets at 5 s, want 2 (bob, carl)", got)
	}
	if len(l.idle) != 0 {
		t.Fatalf("%d idle entries left", len(l.idle))
	}
}
