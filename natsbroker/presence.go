package natsbroker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/nats-io/nats.go/jetstream"
)

var _ hub.PresenceBroker = (*JetStream)(nil)

// DefaultPresenceTimeout is [Stream].PresenceTimeout when it is zero.
const DefaultPresenceTimeout = 15 * time.Second

// MinPresenceTimeout is the shortest [Stream].PresenceTimeout: the key of
// a node lives two thirds of it, and JetStream's per-message TTLs count
// in seconds.
const MinPresenceTimeout = 3 * time.Second

// Presence on NATS
//
// The presence of rooms lives in a JetStream key-value bucket,
// "<stream name>_PRESENCE", created on the first use of presence:
//
//   - each entry is a key "<room subject>.<node>.<id>" whose value is the
//     member's key and meta, put by Track and purged by Untrack (a purge
//     marker that expires: nothing accumulates);
//   - each node (a broker: a process and its connection) has a key
//     "n.<node>" with a per-key TTL of two thirds of the timeout, which
//     it writes again every fifth of the timeout. <node> is drawn at
//     random when the broker is made: a process that restarts is a new
//     node, and the old one's entries never come back;
//   - a broker watches "n.>" and the rooms it has members in. A node whose
//     key it has not seen written for the key's TTL is asked about at the
//     server; when its key is gone (expired: the node died or was cut
//     off), its entries leave every subscription, and the broker purges
//     them from the bucket, up to the sequence at which the key expired,
//     so that a node that comes back and tracks its entries again keeps
//     them;
//   - a node that finds its own key expired (its connection was cut for
//     longer than the TTL) writes it again and puts back every entry it
//     tracks: the others see them join again.
//
// Why a bucket with per-key TTL and not heartbeats on core subjects: the
// bucket is the presence, in one place. A hub that opens a room reads it
// whole and then every change, from one ordered watch, so the first
// $presence a member gets holds everyone, exactly, without waiting for
// the other nodes to answer (with heartbeats, nobody knows how many
// nodes must answer); a node that restarts, or a survivor after a
// partition, reads the truth instead of rebuilding it from gossip; and
// the expiry is decided by the server's clock, once, for every node.
// A change is one write of a key, whatever the room's size; liveness is
// one write per node every fifth of the timeout, whatever its number of
// rooms and members. Per-key TTLs need nats-server 2.11 or later (they
// are in 2.14.5, which the tests run) and nats.go 1.41 or later.

// presence is the presence side of a JetStream broker, started on first
// use.
type presence struct {
	j       *JetStream
	kv      jetstream.KeyValue
	bucket  string
	node    string
	ttl     time.Duration // of a node's key
	refresh time.Duration // how often a node writes its key
	check   time.Duration // how often a broker looks for dead nodes

	mu      sync.Mutex
	local   map[string]hub.PresenceEntry // this node's entries, by KV key
	nodeRev uint64                       // of this node's key
	seen    map[string]time.Time         // nodes: when their key was last written
	watches map[*pwatch]struct{}

	nodes jetstream.KeyWatcher
	quit  chan struct{}
	done  chan struct{}
}

// pwatch is a presence subscription: a watch of a room's keys.
type pwatch struct {
	p       *presence
	subject string
	w       jetstream.KeyWatcher
	fn      func(hub.PresenceChange)

	mu     sync.Mutex                 // serializes fn
	byNode map[string]map[string]bool // node → ids present
	done   chan struct{}
}

func newNodeID() string {
	var b [12]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// presence returns the presence side of j, starting it if needed.
func (j *JetStream) presence(ctx context.Context) (*presence, error) {
	j.pmu.Lock()
	defer j.pmu.Unlock()
	if j.pres != nil {
		return j.pres, nil
	}
	j.cmu.Lock()
	closed := j.closed
	j.cmu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	timeout := j.presenceTimeout
	p := &presence{
		j:       j,
		bucket:  j.name + "_PRESENCE",
		node:    newNodeID(),
		ttl:     (timeout * 2 / 3).Truncate(time.Second),
		refresh: timeout / 5,
		check:   max(timeout/15, 100*time.Millisecond),
		local:   map[string]hub.PresenceEntry{},
		seen:    map[string]time.Time{},
		watches: map[*pwatch]struct{}{},
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	storage := jetstream.FileStorage
	if j.memory {
		storage = jetstream.MemoryStorage
	}
	kv, err := j.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         p.bucket,
		History:        1,
		Storage:        storage,
		Replicas:       j.replicas,
		LimitMarkerTTL: p.ttl,
	})
	if err != nil {
		return nil, fmt.Errorf("natsbroker: presence bucket %s: %w", p.bucket, err)
	}
	p.kv = kv
	if p.nodeRev, err = kv.Create(ctx, "n."+p.node, nil, jetstream.KeyTTL(p.ttl)); err != nil {
		return nil, fmt.Errorf("natsbroker: presence node key: %w", err)
	}
	if p.nodes, err = kv.Watch(context.Background(), "n.>"); err != nil {
		return nil, err
	}
	go p.run()
	j.pres = p
	return p, nil
}

// kvKey returns the KV key of an entry of subject: the subject with '%'
// written '=' (KV keys take no '%'; subjects hold no '='), the node and
// the id.
func kvKey(subject, node, id string) string {
	return strings.ReplaceAll(subject, "%", "=") + "." + node + "." + id
}

// parseKey returns the node and the id of an entry's key under prefix.
func parseKey(key, prefix string) (node, id string, ok bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", "", false
	}
	node, id, ok = strings.Cut(rest, ".")
	return node, id, ok && node != "" && id != "" && !strings.Contains(id, ".")
}

// value is what an entry's key holds.
type value struct {
	Key  string          `json:"k"`
	Meta json.RawMessage `json:"m"`
}

// Track puts e in the presence bucket, under this node.
func (j *JetStream) Track(ctx context.Context, subject string, e hub.PresenceEntry) error {
	if err := checkSubject(j.prefix + subject); err != nil {
		return err
	}
	if e.ID == "" || strings.ContainsAny(e.ID, ".*> ") {
		return fmt.Errorf("natsbroker: invalid presence id of %d bytes", len(e.ID))
	}
	p, err := j.presence(ctx)
	if err != nil {
		return err
	}
	v, err := json.Marshal(value{Key: e.Key, Meta: e.Meta})
	if err != nil {
		return err
	}
	key := kvKey(subject, p.node, e.ID)
	p.mu.Lock()
	p.local[key] = e
	p.mu.Unlock()
	if _, err := p.kv.Put(ctx, key, v); err != nil {
		p.mu.Lock()
		delete(p.local, key)
		p.mu.Unlock()
		return err
	}
	return nil
}

// Untrack purges the entry of id, leaving a marker that expires.
func (j *JetStream) Untrack(ctx context.Context, subject, id string) error {
	p, err := j.presence(ctx)
	if err != nil {
		return err
	}
	key := kvKey(subject, p.node, id)
	p.mu.Lock()
	_, ok := p.local[key]
	delete(p.local, key)
	p.mu.Unlock()
	if !ok {
		return nil
	}
	return p.kv.Purge(ctx, key, jetstream.PurgeTTL(p.ttl))
}

// SubscribePresence watches the keys of subject: their values now, of
// live nodes, as a Snapshot, then every change.
func (j *JetStream) SubscribePresence(subject string, fn func(hub.PresenceChange)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("natsbroker: SubscribePresence needs a function")
	}
	if err := checkSubject(j.prefix + subject); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := j.presence(ctx)
	if err != nil {
		return nil, err
	}
	prefix := strings.ReplaceAll(subject, "%", "=") + "."
	w, err := p.kv.Watch(context.Background(), prefix+">")
	if err != nil {
		return nil, err
	}
	pw := &pwatch{p: p, subject: subject, w: w, fn: fn, byNode: map[string]map[string]bool{}, done: make(chan struct{})}
	state, err := p.initial(ctx, w, prefix)
	if err != nil {
		w.Stop()
		return nil, err
	}
	for _, e := range state {
		pw.add(e.node, e.ID)
	}
	fn(hub.PresenceChange{Snapshot: true, Joins: entriesOf(state)})
	p.mu.Lock()
	p.watches[pw] = struct{}{}
	p.mu.Unlock()
	go pw.run(prefix)
	var once sync.Once
	return func() error {
		once.Do(func() {
			p.mu.Lock()
			delete(p.watches, pw)
			p.mu.Unlock()
			w.Stop()
			<-pw.done
		})
		return nil
	}, nil
}

// Presence reads the entries of subject of the live nodes.
func (j *JetStream) Presence(ctx context.Context, subject string) ([]hub.PresenceEntry, error) {
	if err := checkSubject(j.prefix + subject); err != nil {
		return nil, err
	}
	p, err := j.presence(ctx)
	if err != nil {
		return nil, err
	}
	prefix := strings.ReplaceAll(subject, "%", "=") + "."
	w, err := p.kv.Watch(ctx, prefix+">", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	state, err := p.initial(ctx, w, prefix)
	return entriesOf(state), err
}

type nodeEntry struct {
	hub.PresenceEntry
	node string
}

func entriesOf(s []nodeEntry) []hub.PresenceEntry {
	out := make([]hub.PresenceEntry, len(s))
	for i, e := range s {
		out[i] = e.PresenceEntry
	}
	return out
}

// initial reads the values w starts with, and keeps those of live nodes.
func (p *presence) initial(ctx context.Context, w jetstream.KeyWatcher, prefix string) ([]nodeEntry, error) {
	var state []nodeEntry
	for {
		var kve jetstream.KeyValueEntry
		select {
		case kve = <-w.Updates():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if kve == nil {
			break
		}
		if kve.Operation() != jetstream.KeyValuePut {
			continue
		}
		if e, node, ok := decode(kve, prefix); ok {
			state = append(state, nodeEntry{e, node})
		}
	}
	alive := map[string]bool{}
	out := state[:0]
	for _, e := range state {
		live, known := alive[e.node]
		if !known {
			live = p.alive(ctx, e.node)
			alive[e.node] = live
		}
		if live {
			out = append(out, e)
		}
	}
	return out, nil
}

func decode(kve jetstream.KeyValueEntry, prefix string) (hub.PresenceEntry, string, bool) {
	node, id, ok := parseKey(kve.Key(), prefix)
	if !ok {
		return hub.PresenceEntry{}, "", false
	}
	var v value
	if json.Unmarshal(kve.Value(), &v) != nil {
		return hub.PresenceEntry{}, "", false
	}
	return hub.PresenceEntry{ID: id, Key: v.Key, Meta: v.Meta}, node, true
}

// alive reports whether node's key is in the bucket, and notes it as seen.
func (p *presence) alive(ctx context.Context, node string) bool {
	p.mu.Lock()
	_, known := p.seen[node]
	p.mu.Unlock()
	if known || node == p.node {
		return true
	}
	if _, err := p.kv.Get(ctx, "n."+node); err != nil {
		return false
	}
	p.mu.Lock()
	if _, ok := p.seen[node]; !ok {
		p.seen[node] = time.Now()
	}
	p.mu.Unlock()
	return true
}

func (pw *pwatch) add(node, id string) {
	ids := pw.byNode[node]
	if ids == nil {
		ids = map[string]bool{}
		pw.byNode[node] = ids
	}
	ids[id] = true
}

// run gives fn every change of the watch.
func (pw *pwatch) run(prefix string) {
	defer close(pw.done)
	for kve := range pw.w.Updates() {
		if kve == nil {
			continue
		}
		node, id, ok := parseKey(kve.Key(), prefix)
		if !ok {
			continue
		}
		pw.mu.Lock()
		switch kve.Operation() {
		case jetstream.KeyValuePut:
			if e, _, ok := decode(kve, prefix); ok {
				pw.add(node, id)
				pw.p.saw(node)
				pw.fn(hub.PresenceChange{Joins: []hub.PresenceEntry{e}})
			}
		default:
			if pw.byNode[node][id] {
				delete(pw.byNode[node], id)
				if len(pw.byNode[node]) == 0 {
					delete(pw.byNode, node)
				}
				pw.fn(hub.PresenceChange{Leaves: []string{id}})
			}
		}
		pw.mu.Unlock()
	}
}

// drop removes the entries of a dead node.
func (pw *pwatch) drop(node string) {
	pw.mu.Lock()
	defer pw.mu.Unlock()
	ids := pw.byNode[node]
	if len(ids) == 0 {
		return
	}
	delete(pw.byNode, node)
	leaves := make([]string, 0, len(ids))
	for id := range ids {
		leaves = append(leaves, id)
	}
	pw.fn(hub.PresenceChange{Leaves: leaves})
}

// saw notes that node is alive, unless it is known already: a node met
// first through an entry is given the key's TTL to show its key.
func (p *presence) saw(node string) {
	p.mu.Lock()
	if _, ok := p.seen[node]; !ok {
		p.seen[node] = time.Now()
	}
	p.mu.Unlock()
}

// run writes this node's key, follows the others' and ends the dead
// ones, until the broker is closed.
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
		case kve := <-p.nodes.Updates():
			if kve == nil {
				continue
			}
			node := strings.TrimPrefix(kve.Key(), "n.")
			p.mu.Lock()
			if kve.Operation() == jetstream.KeyValuePut {
				p.seen[node] = time.Now()
			} else if _, ok := p.seen[node]; ok {
				p.seen[node] = time.Time{} // expired: ask now
			}
			p.mu.Unlock()
		case <-refresh.C:
			p.writeKey()
		case <-check.C:
			p.reap()
		}
	}
}

// writeKey writes this node's key again, with its TTL; when it had
// expired, it puts back every entry of this node.
func (p *presence) writeKey() {
	ctx, cancel := context.WithTimeout(context.Background(), p.refresh)
	defer cancel()
	p.mu.Lock()
	rev := p.nodeRev
	p.mu.Unlock()
	subj := "$KV." + p.bucket + ".n." + p.node
	ack, err := p.j.js.Publish(ctx, subj, nil, jetstream.WithMsgTTL(p.ttl), jetstream.WithExpectLastSequencePerSubject(rev))
	if err == nil {
		p.mu.Lock()
		p.nodeRev = ack.Sequence
		p.mu.Unlock()
		return
	}
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || (apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence && apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return // not connected: try again at the next tick
	}
	// The key expired: this node was taken for dead.
	newRev, err := p.kv.Create(ctx, "n."+p.node, nil, jetstream.KeyTTL(p.ttl))
	if err != nil {
		return
	}
	p.mu.Lock()
	p.nodeRev = newRev
	local := make(map[string]hub.PresenceEntry, len(p.local))
	for k, e := range p.local {
		local[k] = e
	}
	p.mu.Unlock()
	for key, e := range local {
		v, _ := json.Marshal(value{Key: e.Key, Meta: e.Meta})
		p.kv.Put(ctx, key, v)
	}
}

// reap asks the server about the nodes whose key has not been written
// for its TTL, and ends those whose key is gone.
func (p *presence) reap() {
	now := time.Now()
	var suspects []string
	p.mu.Lock()
	for node, t := range p.seen {
		if node != p.node && now.Sub(t) > p.ttl {
			suspects = append(suspects, node)
		}
	}
	p.mu.Unlock()
	for _, node := range suspects {
		ctx, cancel := context.WithTimeout(context.Background(), p.check*3)
		p.reapNode(ctx, node)
		cancel()
	}
}

func (p *presence) reapNode(ctx context.Context, node string) {
	status, err := p.kv.Status(ctx)
	if err != nil {
		return // not connected: ask again later
	}
	upto := status.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq + 1
	kve, err := p.kv.Get(ctx, "n."+node)
	switch {
	case err == nil:
		p.mu.Lock()
		p.seen[node] = time.Now() // alive: its write was not seen yet
		p.mu.Unlock()
		return
	case errors.Is(err, jetstream.ErrKeyDeleted) && kve != nil:
		upto = kve.Revision() + 1
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
	default:
		return
	}
	p.mu.Lock()
	delete(p.seen, node)
	watches := make([]*pwatch, 0, len(p.watches))
	for pw := range p.watches {
		watches = append(watches, pw)
	}
	p.mu.Unlock()
	for _, pw := range watches {
		pw.drop(node)
	}
	// Its entries, up to its key's expiry: a node that came back since
	// keeps those it put again.
	if s, err := p.j.js.Stream(ctx, "KV_"+p.bucket); err == nil {
		s.Purge(ctx, jetstream.WithPurgeSubject("$KV."+p.bucket+".*.*."+node+".*"), jetstream.WithPurgeSequence(upto))
	}
}

// close ends the presence side: this node's entries and key are removed,
// so that the others see its members leave at once.
func (p *presence) close() {
	close(p.quit)
	<-p.done
	p.nodes.Stop()
	p.mu.Lock()
	keys := make([]string, 0, len(p.local))
	for k := range p.local {
		keys = append(keys, k)
	}
	clear(p.local)
	watches := make([]*pwatch, 0, len(p.watches))
	for pw := range p.watches {
		watches = append(watches, pw)
	}
	clear(p.watches)
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, k := range keys {
		p.kv.Purge(ctx, k, jetstream.PurgeTTL(p.ttl))
	}
	p.kv.Purge(ctx, "n."+p.node, jetstream.PurgeTTL(p.ttl))
	for _, pw := range watches {
		pw.w.Stop()
		<-pw.done
	}
}
