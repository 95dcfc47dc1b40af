package hub

import (
	"context"
	"errors"
	"slices"
	"sync"
)

var _ PresenceBroker = (*MemoryBroker)(nil)

// memoryPresence is the presence of one subject in a MemoryBroker.
type memoryPresence struct {
	entries map[string]PresenceEntry
	order   []string // ids, in the order they were tracked
	subs    []*memoryPresenceSub
}

type memoryPresenceSub struct{ fn func(PresenceChange) }

// presence returns the presence of subject, creating it if needed; b.pmu
// is held.
func (b *MemoryBroker) presence(subject string) *memoryPresence {
	if b.pres == nil {
		b.pres = make(map[string]*memoryPresence)
	}
	p := b.pres[subject]
	if p == nil {
		p = &memoryPresence{entries: map[string]PresenceEntry{}}
		b.pres[subject] = p
	}
	return p
}

// forget drops the presence of subject once it has no entry and no
// subscriber; b.pmu is held.
func (b *MemoryBroker) forget(subject string, p *memoryPresence) {
	if len(p.entries) == 0 && len(p.subs) == 0 {
		delete(b.pres, subject)
	}
}

// Track adds e to the presence of subject and gives the change to its
// subscribers before it returns.
func (b *MemoryBroker) Track(ctx context.Context, subject string, e PresenceEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.pmu.Lock()
	defer b.pmu.Unlock()
	p := b.presence(subject)
	if _, ok := p.entries[e.ID]; !ok {
		p.order = append(p.order, e.ID)
	}
	p.entries[e.ID] = e
	for _, s := range p.subs {
		s.fn(PresenceChange{Joins: []PresenceEntry{e}})
	}
	return nil
}

// Untrack removes the entry of id from the presence of subject and gives
// the change to its subscribers before it returns.
func (b *MemoryBroker) Untrack(ctx context.Context, subject, id string) error {
	b.pmu.Lock()
	defer b.pmu.Unlock()
	p := b.pres[subject]
	if p == nil {
		return nil
	}
	if _, ok := p.entries[id]; ok {
		delete(p.entries, id)
		p.order = slices.DeleteFunc(p.order, func(x string) bool { return x == id })
		for _, s := range p.subs {
			s.fn(PresenceChange{Leaves: []string{id}})
		}
	}
	b.forget(subject, p)
	return nil
}

// SubscribePresence gives fn the presence of subject, then every change
// until unsubscribe is called.
func (b *MemoryBroker) SubscribePresence(subject string, fn func(PresenceChange)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("hub: SubscribePresence needs a function")
	}
	s := &memoryPresenceSub{fn: fn}
	b.pmu.Lock()
	p := b.presence(subject)
	p.subs = append(p.subs, s)
	fn(PresenceChange{Snapshot: true, Joins: p.list()})
	b.pmu.Unlock()
	var once sync.Once
	return func() error {
		once.Do(func() {
			b.pmu.Lock()
			defer b.pmu.Unlock()
			if p := b.pres[subject]; p != nil {
				p.subs = slices.DeleteFunc(p.subs, func(x *memoryPresenceSub) bool { return x == s })
				b.forget(subject, p)
			}
		})
		return nil
	}, nil
}

// Presence returns the entries of subject.
func (b *MemoryBroker) Presence(ctx context.Context, subject string) ([]PresenceEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.pmu.Lock()
	defer b.pmu.Unlock()
	if p := b.pres[subject]; p != nil {
		return p.list(), nil
	}
	return nil, nil
}

func (p *memoryPresence) list() []PresenceEntry {
	out := make([]PresenceEntry, 0, len(p.order))
	for _, id := range p.order {
		out = append(out, p.entries[id])
	}
	return out
}
