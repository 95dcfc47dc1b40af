package hub

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"sync"
	"time"
)

var _ HistoryBroker = (*MemoryBroker)(nil)

// memoryHistory is the history of one subject in a MemoryBroker. Its
// entries have the offsets first…last, one after the other.
type memoryHistory struct {
	mu      sync.Mutex
	epoch   string
	last    uint64
	entries []Entry // entries[start:] are kept, oldest first
	start   int
	limits  History // of the last Append
	subs    []*memoryHistorySub
	dead    bool // swept: look the subject up again
}

type memoryHistorySub struct{ fn func(string, Entry) }

// sweepEvery is how often a MemoryBroker forgets the histories that have
// no subscriber and no entry younger than their TTL.
const sweepEvery = time.Minute

// history returns the history of subject, locked, creating it if needed.
func (b *MemoryBroker) history(subject string) *memoryHistory {
	for {
		b.hmu.Lock()
		if b.hist == nil {
			b.hist = make(map[string]*memoryHistory)
		}
		r := b.hist[subject]
		if r == nil {
			r = &memoryHistory{epoch: newEpoch()}
			b.hist[subject] = r
		}
		b.hmu.Unlock()
		r.mu.Lock()
		if !r.dead {
			return r
		}
		r.mu.Unlock()
	}
}

// newEpoch returns a random epoch of 8 characters.
func newEpoch() string {
	var b [6]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// trim drops the entries beyond the limits; r.mu is held.
func (r *memoryHistory) trim(now time.Time) {
	if r.limits.Size == 0 {
		return
	}
	if n := len(r.entries) - r.start - r.limits.Size; n > 0 {
		clear(r.entries[r.start : r.start+n])
		r.start += n
	}
	for r.start < len(r.entries) && now.Sub(r.entries[r.start].Time) > r.limits.TTL {
		r.entries[r.start] = Entry{}
		r.start++
	}
	if r.start == len(r.entries) {
		r.entries, r.start = r.entries[:0], 0
	} else if r.start > 32 && r.start > len(r.entries)/2 {
		n := copy(r.entries, r.entries[r.start:])
		clear(r.entries[n:])
		r.entries, r.start = r.entries[:n], 0
	}
}

// Append keeps msg in the history of subject, bounded by limits, and gives
// it to the history's subscribers before it returns.
func (b *MemoryBroker) Append(ctx context.Context, subject string, msg []byte, limits History) (Position, error) {
	if err := ctx.Err(); err != nil {
		return Position{}, err
	}
	now := time.Now()
	r := b.history(subject)
	r.last++
	e := Entry{Offset: r.last, Time: now, Msg: msg}
	r.limits = limits
	r.entries = append(r.entries, e)
	r.trim(now)
	for _, s := range r.subs {
		s.fn(r.epoch, e)
	}
	p := Position{Epoch: r.epoch, Offset: e.Offset}
	r.mu.Unlock()
	b.sweep(now)
	return p, nil
}

// SubscribeHistory calls fn with every message appended to subject from
// now on, until unsubscribe is called.
func (b *MemoryBroker) SubscribeHistory(subject string, fn func(epoch string, e Entry)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("hub: SubscribeHistory needs a function")
	}
	s := &memoryHistorySub{fn: fn}
	r := b.history(subject)
	r.subs = append(r.subs, s)
	r.mu.Unlock()
	var once sync.Once
	return func() error {
		once.Do(func() {
			r.mu.Lock()
			r.subs = slices.DeleteFunc(r.subs, func(x *memoryHistorySub) bool { return x == s })
			r.mu.Unlock()
		})
		return nil
	}, nil
}

// Since reads the history of subject after the position.
func (b *MemoryBroker) Since(ctx context.Context, subject string, after Position, max int) (Replay, error) {
	if err := ctx.Err(); err != nil {
		return Replay{}, err
	}
	now := time.Now()
	r := b.history(subject)
	defer r.mu.Unlock()
	r.trim(now)
	kept := r.entries[r.start:]
	first := r.last + 1 - uint64(len(kept))
	rep := Replay{Now: Position{Epoch: r.epoch, Offset: r.last}}
	same := after.Epoch == r.epoch && after.Offset <= r.last
	rep.Reaches = same && after.Offset+1 >= first
	from := 0
	if same && after.Offset >= first {
		from = int(after.Offset + 1 - first)
	}
	if max > 0 {
		rep.Entries = slices.Clone(kept[from:min(len(kept), from+max)])
	}
	return rep, nil
}

// sweep forgets, once every sweepEvery, the histories that have no
// subscriber and no entry left.
func (b *MemoryBroker) sweep(now time.Time) {
	b.hmu.Lock()
	defer b.hmu.Unlock()
	if now.Sub(b.lastSweep) < sweepEvery {
		return
	}
	b.lastSweep = now
	for subject, r := range b.hist {
		r.mu.Lock()
		r.trim(now)
		if len(r.subs) == 0 && len(r.entries) == r.start {
			r.dead = true
			delete(b.hist, subject)
		}
		r.mu.Unlock()
	}
}
