package hub

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Broker carries messages between the hubs of an application's processes.
// github.com/cafeto-go/ws/natsbroker implements it on NATS; [MemoryBroker]
// connects the hubs of one process.
//
// A subject names a room ("room.lobby") or an id ("id.42"): "room." or
// "id." and one token of ASCII letters, digits, '-', '_' and '%', valid
// as it is in NATS subjects and Redis channels, at most [MaxSubjectLen]
// (1373) bytes long. The token is the name with every other byte written
// %XX (upper-case hexadecimal: room "a.b" is "room.a%2Eb") when that takes
// at most 256 bytes; otherwise it is "%%" and the name in unpadded
// base64url (RFC 4648, section 5), at most 1368 bytes for a name of
// [HardMaxNameLen] bytes. Distinct names give distinct subjects: both
// forms decode back to the name, and an escaped token never holds "%%".
//
// A hub subscribes to a subject while it has connections in that room or
// with that id, and publishes every broadcast, which the hubs subscribed to
// the subject receive, the publishing hub included (it ignores its own).
//
// The methods are called concurrently. Subscribe and unsubscribe are called
// with the hub's membership lock held, so they should not wait on the
// network for long, and must not call back into the hub.
type Broker interface {
	// Publish sends msg to the subscribers of subject on every node. The
	// hub never modifies msg afterwards; the broker may keep it but must not
	// modify it. An error means the message was not sent.
	Publish(ctx context.Context, subject string, msg []byte) error

	// Subscribe calls fn with every message published to subject, until
	// unsubscribe is called. Messages of one publisher are given to fn in
	// the order they were published; fn may be called concurrently, returns
	// quickly, and may keep msg but never modifies it. A message published
	// on any node after Subscribe has returned should reach fn: a broker
	// that subscribes over the network waits (briefly, with a bound) until
	// its server has the subscription, so that a broadcast right after
	// [Hub.Join] reaches the new member.
	Subscribe(subject string, fn func(msg []byte)) (unsubscribe func() error, err error)
}

// MemoryBroker is a [Broker] for the hubs of one process: a hub per
// listener, or tests that stand in for several servers. Publish calls the
// subscribers' functions before it returns. The zero value is ready to use;
// a MemoryBroker is safe for concurrent use.
//
// MemoryBroker is also a [HistoryBroker]: it keeps the history of each
// subject in memory, with an epoch drawn at random when the subject's
// history is created, and offsets 1, 2, 3… Append gives the message to
// the history's subscribers before it returns.
//
// MemoryBroker is also a [PresenceBroker] that keeps presence in memory:
// its entries live until they are untracked, since the hubs of one
// process die together.
type MemoryBroker struct {
	mu   sync.RWMutex
	subs map[string][]*memorySub // copied on write: Publish reads without holding mu

	hmu       sync.Mutex
	hist      map[string]*memoryHistory
	lastSweep time.Time

	pmu  sync.Mutex
	pres map[string]*memoryPresence
}

type memorySub struct{ fn func([]byte) }

// Publish gives msg to every subscriber of subject.
func (b *MemoryBroker) Publish(ctx context.Context, subject string, msg []byte) error {
	b.mu.RLock()
	subs := b.subs[subject]
	b.mu.RUnlock()
	for _, s := range subs {
		s.fn(msg)
	}
	return nil
}

// Subscribe calls fn with every message published to subject until
// unsubscribe is called.
func (b *MemoryBroker) Subscribe(subject string, fn func([]byte)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("hub: Subscribe needs a function")
	}
	s := &memorySub{fn: fn}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = make(map[string][]*memorySub)
	}
	b.subs[subject] = append(slices.Clip(b.subs[subject]), s)
	b.mu.Unlock()
	var once sync.Once
	return func() error {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			subs := slices.DeleteFunc(slices.Clone(b.subs[subject]), func(x *memorySub) bool { return x == s })
			if len(subs) == 0 {
				delete(b.subs, subject)
			} else {
				b.subs[subject] = subs
			}
		})
		return nil
	}, nil
}
