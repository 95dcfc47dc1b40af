package redisbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/redis/go-redis/v9"
)

// Presence on Redis
//
//   - The presence of a room is a hash, "<prefix>.p.{<subject>}": a field
//     per entry, its id, whose value is the node that tracks it, a
//     newline, and the member's key and meta in JSON. Track and Untrack
//     change it and publish the change on "<prefix>.p.<subject>" in one
//     script: "J<id>\n<value>" or "L<id>\n<id>…".
//   - Each broker is a node, with a random id drawn by New: a process
//     that restarts is a new node, and the old one's entries never come
//     back. Its key, "<prefix>.n.<node>", lives two thirds of the
//     presence timeout and is written again every fifth of it. When the
//     broker finds its key gone (it was cut off for longer, or Redis lost
//     its data), it writes it again and tracks its entries again.
//   - A broker that watches a room knows the nodes of its entries, and
//     asks Redis every fifteenth of the timeout whether their keys are
//     there. When one is gone, it removes that node's entries from the
//     room's hash (the removal is published: every watch sees them
//     leave), and gives their leaves to its own watches at once.
//   - A watch subscribes to the channel, then reads the hash, dropping the
//     entries of dead nodes (from the hash too: a room that nobody
//     watched when its node died is cleaned up when it is next read),
//     and gives that as a Snapshot; the changes
//     that came meanwhile follow, applied to what it gave (a join of an
//     entry it holds, a leave of one it does not, are skipped). After a
//     reconnection, it reads the hash again and gives a new Snapshot.
//
// Why node keys and not a TTL per entry: Redis 7.0 has none for hash
// fields (HEXPIRE is 7.4), and a key per entry with a TTL would need a
// write per member every few seconds; a node key is one write per node,
// whatever its number of members.

var trackScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], 'J' .. ARGV[1] .. '\n' .. ARGV[2])
return 1
`)

var untrackScript = redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then
	redis.call('PUBLISH', ARGV[2], 'L' .. ARGV[1])
end
return 1
`)

// reapScript removes the entries of a node: KEYS[1] the hash, ARGV[1]
// the node and a newline, ARGV[2] the channel.
var reapScript = redis.NewScript(`
local all = redis.call('HGETALL', KEYS[1])
local gone = {}
for i = 1, #all, 2 do
	if string.sub(all[i + 1], 1, #ARGV[1]) == ARGV[1] then
		redis.call('HDEL', KEYS[1], all[i])
		gone[#gone + 1] = all[i]
	end
end
if #gone > 0 then
	redis.call('PUBLISH', ARGV[2], 'L' .. table.concat(gone, '\n'))
end
return #gone
`)

// presence is the presence side of a broker.
type presence struct {
	b       *Broker
	node    string
	ttl     time.Duration // of the node's key
	refresh time.Duration // how often it is written
	check   time.Duration // how often dead nodes are looked for

	mu      sync.Mutex
	started bool
	local   map[string]localEntry // this node's entries, by subject and id
	watches map[*watch]struct{}
	quit    chan struct{}
	done    chan struct{}
}

type localEntry struct {
	subject string
	id      string
	value   string
}

// value is the JSON of an entry's key and meta.
type value struct {
	Key  string          `json:"k"`
	Meta json.RawMessage `json:"m"`
}

func (p *presence) init(b *Broker, timeout time.Duration) {
	p.b = b
	p.node = newEpoch() + newEpoch()
	p.ttl = timeout * 2 / 3
	p.refresh = timeout / 5
	p.check = max(timeout/15, 50*time.Millisecond)
	p.local = map[string]localEntry{}
	p.watches = map[*watch]struct{}{}
	p.quit = make(chan struct{})
	p.done = make(chan struct{})
}

func (p *presence) nodeKey(node string) string { return p.b.prefix + "n." + node }

func (b *Broker) presenceKeys(subject string) (hash, channel string) {
	return b.prefix + "p.{" + subject + "}", b.prefix + "p." + subject
}

// start writes the node's key and starts its loop, once.
func (p *presence) start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return nil
	}
	p.b.mu.Lock()
	closed := p.b.closed
	p.b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := p.b.rdb.Set(ctx, p.nodeKey(p.node), 1, p.ttl).Err(); err != nil {
		return fmt.Errorf("redisbroker: presence node key: %w", err)
	}
	p.started = true
	go p.run()
	return nil
}

// Track adds e to the presence of subject, under this node, and
// publishes the join.
func (b *Broker) Track(ctx context.Context, subject string, e hub.PresenceEntry) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	if e.ID == "" || strings.ContainsAny(e.ID, "\n") {
		return fmt.Errorf("redisbroker: invalid presence id of %d bytes", len(e.ID))
	}
	if err := b.pres.start(ctx); err != nil {
		return err
	}
	v, err := json.Marshal(value{Key: e.Key, Meta: e.Meta})
	if err != nil {
		return err
	}
	le := localEntry{subject: subject, id: e.ID, value: b.pres.node + "\n" + string(v)}
	k := subject + "\n" + e.ID
	b.pres.mu.Lock()
	b.pres.local[k] = le
	b.pres.mu.Unlock()
	if err := b.pres.put(ctx, le); err != nil {
		b.pres.mu.Lock()
		delete(b.pres.local, k)
		b.pres.mu.Unlock()
		return err
	}
	return nil
}

func (p *presence) put(ctx context.Context, le localEntry) error {
	hash, ch := p.b.presenceKeys(le.subject)
	return trackScript.Run(ctx, p.b.rdb, []string{hash}, le.id, le.value, ch).Err()
}

// Untrack removes the entry of id from the presence of subject, and
// publishes the leave.
func (b *Broker) Untrack(ctx context.Context, subject, id string) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	b.pres.mu.Lock()
	delete(b.pres.local, subject+"\n"+id)
	b.pres.mu.Unlock()
	hash, ch := b.presenceKeys(subject)
	return untrackScript.Run(ctx, b.rdb, []string{hash}, id, ch).Err()
}

// Presence reads the entries of subject of the live nodes.
func (b *Broker) Presence(ctx context.Context, subject string) ([]hub.PresenceEntry, error) {
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	entries, _, err := b.pres.read(ctx, subject)
	if err != nil {
		return nil, err
	}
	out := make([]hub.PresenceEntry, len(entries))
	for i, e := range entries {
		out[i] = e.PresenceEntry
	}
	return out, nil
}

type nodeEntry struct {
	hub.PresenceEntry
	node string
}

// read reads the hash of subject and keeps the entries of live nodes; it
// also returns the raw value of each, by id.
func (p *presence) read(ctx context.Context, subject string) ([]nodeEntry, map[string]string, error) {
	hash, _ := p.b.presenceKeys(subject)
	all, err := p.b.rdb.HGetAll(ctx, hash).Result()
	if err != nil {
		return nil, nil, err
	}
	var entries []nodeEntry
	nodes := map[string]*redis.IntCmd{}
	for id, v := range all {
		e, ok := decode(id, v)
		if !ok {
			continue
		}
		entries = append(entries, e)
		nodes[e.node] = nil
	}
	if len(nodes) > 0 {
		pipe := p.b.rdb.Pipeline()
		for n := range nodes {
			if n != p.node {
				nodes[n] = pipe.Exists(ctx, p.nodeKey(n))
			}
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, nil, err
		}
	}
	out := entries[:0]
	raw := map[string]string{}
	dead := map[string]bool{}
	for _, e := range entries {
		if c := nodes[e.node]; c == nil || c.Val() == 1 {
			out = append(out, e)
			raw[e.ID] = all[e.ID]
		} else {
			dead[e.node] = true
		}
	}
	// The entries of dead nodes in a room nobody watched: gone for good.
	_, ch := p.b.presenceKeys(subject)
	for node := range dead {
		reapScript.Run(ctx, p.b.rdb, []string{hash}, node+"\n", ch)
	}
	return out, raw, nil
}

// decode parses a hash field and its value.
func decode(id, v string) (nodeEntry, bool) {
	node, js, ok := strings.Cut(v, "\n")
	var val value
	if !ok || json.Unmarshal([]byte(js), &val) != nil {
		return nodeEntry{}, false
	}
	return nodeEntry{hub.PresenceEntry{ID: id, Key: val.Key, Meta: val.Meta}, node}, true
}

// watch is a presence subscription.
type watch struct {
	p       *presence
	subject string
	fn      func(hub.PresenceChange)

	mu      sync.Mutex        // serializes fn
	ready   bool              // a snapshot was given; else changes wait
	waiting []string          // changes that came before it
	have    map[string]string // id → value, of what fn was given
}

// SubscribePresence gives fn a Snapshot of the presence of subject, read
// after Redis confirmed the subscription to its changes, then every
// change, until unsubscribe is called.
func (b *Broker) SubscribePresence(subject string, fn func(hub.PresenceChange)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("redisbroker: SubscribePresence needs a function")
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.subscribeWait)
	defer cancel()
	if err := b.pres.start(ctx); err != nil {
		return nil, err
	}
	w := &watch{p: &b.pres, subject: subject, fn: fn, have: map[string]string{}}
	_, ch := b.presenceKeys(subject)
	remove := func(c *channel) { c.watches = without(c.watches, w) }
	if err := b.subscribe(ch, func(c *channel) { c.watches = append(c.watches, w) }, remove); err != nil {
		return nil, err
	}
	if err := w.snapshot(ctx); err != nil {
		b.unsubscribe(ch, remove)
		return nil, err
	}
	b.pres.mu.Lock()
	b.pres.watches[w] = struct{}{}
	b.pres.mu.Unlock()
	unsub := b.unsubscriber(ch, remove)
	return func() error {
		b.pres.mu.Lock()
		delete(b.pres.watches, w)
		b.pres.mu.Unlock()
		return unsub()
	}, nil
}

// snapshot reads the presence, gives it as a Snapshot, then the changes
// that came meanwhile.
func (w *watch) snapshot(ctx context.Context) error {
	entries, raw, err := w.p.read(ctx, w.subject)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.have = raw
	joins := make([]hub.PresenceEntry, len(entries))
	for i, e := range entries {
		joins[i] = e.PresenceEntry
	}
	w.fn(hub.PresenceChange{Snapshot: true, Joins: joins})
	w.ready = true
	for _, c := range w.waiting {
		w.apply(c)
	}
	w.waiting = nil
	return nil
}

// resync gives a new Snapshot after a reconnection.
func (w *watch) resync() {
	w.mu.Lock()
	w.ready = false
	w.mu.Unlock()
	w.p.b.jobs.Add(1)
	go func() {
		defer w.p.b.jobs.Done()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), w.p.b.subscribeWait)
			err := w.snapshot(ctx)
			cancel()
			if err == nil {
				return
			}
			select {
			case <-w.p.b.quit:
				return
			case <-time.After(w.p.check):
			}
		}
	}()
}

// receive takes a published change.
func (w *watch) receive(payload string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.ready {
		w.waiting = append(w.waiting, payload)
		return
	}
	w.apply(payload)
}

// apply gives fn a change, but for what fn holds already; w.mu is held.
func (w *watch) apply(payload string) {
	if payload == "" {
		return
	}
	switch payload[0] {
	case 'J':
		id, v, ok := strings.Cut(payload[1:], "\n")
		if !ok || w.have[id] == v {
			return
		}
		e, ok := decode(id, v)
		if !ok {
			return
		}
		w.have[id] = v
		w.fn(hub.PresenceChange{Joins: []hub.PresenceEntry{e.PresenceEntry}})
	case 'L':
		w.leave(strings.Split(payload[1:], "\n"))
	}
}

// leave gives fn the leaves of the ids it holds; w.mu is held.
func (w *watch) leave(ids []string) {
	var leaves []string
	for _, id := range ids {
		if _, ok := w.have[id]; ok {
			delete(w.have, id)
			leaves = append(leaves, id)
		}
	}
	if len(leaves) > 0 {
		w.fn(hub.PresenceChange{Leaves: leaves})
	}
}

// drop gives fn the leaves of the entries of node.
func (w *watch) drop(node string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for id, v := range w.have {
		if strings.HasPrefix(v, node+"\n") {
			ids = append(ids, id)
		}
	}
	w.leave(ids)
}

// nodes returns the nodes of the entries w holds.
func (w *watch) nodes(into map[string][]*watch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	seen := map[string]bool{}
	for _, v := range w.have {
		node, _, _ := strings.Cut(v, "\n")
		if !seen[node] {
			seen[node] = true
			into[node] = append(into[node], w)
		}
	}
}

// run writes this node's key and ends the dead nodes, until close.
func (p *presence) run() {
	defer close(p.done)
	refresh := time.NewTicker(p.refresh)
	defer refresh.Stop()
	check := time.NewTicker(p.check)
	defer check.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-refresh.C:
			p.writeKey()
		case <-check.C:
			p.reap()
		}
	}
}

// writeKey writes this node's key again; when it was gone, it tracks
// this node's entries again.
func (p *presence) writeKey() {
	ctx, cancel := context.WithTimeout(context.Background(), p.refresh)
	defer cancel()
	key := p.nodeKey(p.node)
	ok, err := p.b.rdb.SetXX(ctx, key, 1, p.ttl).Result()
	if err != nil || ok {
		return // not connected (try again at the next tick), or written
	}
	// Taken for dead, or Redis lost it.
	if err := p.b.rdb.Set(ctx, key, 1, p.ttl).Err(); err != nil {
		return
	}
	p.mu.Lock()
	local := make([]localEntry, 0, len(p.local))
	for _, le := range p.local {
		local = append(local, le)
	}
	p.mu.Unlock()
	for _, le := range local {
		p.put(ctx, le)
	}
}

// reap asks Redis about the nodes of the watched entries, and ends those
// whose key is gone.
func (p *presence) reap() {
	p.mu.Lock()
	watches := make([]*watch, 0, len(p.watches))
	for w := range p.watches {
		watches = append(watches, w)
	}
	p.mu.Unlock()
	byNode := map[string][]*watch{}
	for _, w := range watches {
		w.nodes(byNode)
	}
	delete(byNode, p.node)
	if len(byNode) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*p.check+time.Second)
	defer cancel()
	pipe := p.b.rdb.Pipeline()
	exists := map[string]*redis.IntCmd{}
	for node := range byNode {
		exists[node] = pipe.Exists(ctx, p.nodeKey(node))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return // not connected: ask again later
	}
	for node, ws := range byNode {
		if exists[node].Val() == 1 {
			continue
		}
		for _, w := range ws {
			hash, ch := p.b.presenceKeys(w.subject)
			reapScript.Run(ctx, p.b.rdb, []string{hash}, node+"\n", ch)
			w.drop(node)
		}
	}
}

// close removes this node's entries and key, so that the others see its
// members leave at once.
func (p *presence) close() {
	p.mu.Lock()
	started := p.started
	local := make([]localEntry, 0, len(p.local))
	for _, le := range p.local {
		local = append(local, le)
	}
	clear(p.local)
	p.mu.Unlock()
	if !started {
		return
	}
	close(p.quit)
	<-p.done
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pipe := p.b.rdb.Pipeline()
	for _, le := range local {
		hash, ch := p.b.presenceKeys(le.subject)
		untrackScript.Eval(ctx, pipe, []string{hash}, le.id, ch)
	}
	pipe.Del(ctx, p.nodeKey(p.node))
	pipe.Exec(ctx)
}
