package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cafeto-go/ws"
)

// Presence bounds the presence of the rooms given to [WithPresence].
type Presence struct {
	// MaxEntries is how many connections a room's presence holds at most,
	// across every hub (default [DefaultMaxPresence]). [Hub.Track] refuses
	// one more with [ErrPresenceFull]. A hub counts the entries it knows
	// of and its own tracks under way, so only two hubs tracking at the
	// same instant may pass it, by a few.
	MaxEntries int
	// MaxMeta is the longest meta, in bytes of JSON (default
	// [DefaultMaxMeta]). [Hub.Track] refuses a longer one with
	// [ErrMetaTooBig].
	MaxMeta int
}

// The defaults and bounds of [Presence].
const (
	DefaultMaxPresence = 10000
	DefaultMaxMeta     = 1024
	// MaxMetaLimit is the largest [Presence].MaxMeta.
	MaxMetaLimit = 64 << 10
)

// WithPresence keeps the presence of the rooms pattern names: who is in
// them, across every hub, as [Hub.Track] declares it (see the package
// documentation, "Presence"). pattern is a room name, or a prefix and '*'
// ("game.*"; "*" for every room); a room takes the limits of its exact
// name, else of its longest matching prefix. Zero limits take the
// defaults. Without a broker, the hub keeps presence in memory; with one,
// the broker keeps it and must be a [PresenceBroker] (New panics
// otherwise). By default no room has presence.
//
// WithPresence panics if pattern is empty, or a limit is negative or
// MaxMeta is over [MaxMetaLimit].
func WithPresence(pattern string, limits Presence) Option {
	if pattern == "" {
		panic("hub: WithPresence needs a room name or a pattern")
	}
	if limits.MaxEntries == 0 {
		limits.MaxEntries = DefaultMaxPresence
	}
	if limits.MaxMeta == 0 {
		limits.MaxMeta = DefaultMaxMeta
	}
	if limits.MaxEntries < 0 || limits.MaxMeta < 0 || limits.MaxMeta > MaxMetaLimit {
		panic(fmt.Sprintf("hub: Presence %+v, want MaxEntries ≥ 0 and MaxMeta within 0 to %d", limits, MaxMetaLimit))
	}
	return func(c *config) {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
			c.presencePrefixes = append(c.presencePrefixes, presenceRule{prefix, limits})
		} else {
			if c.presenceRooms == nil {
				c.presenceRooms = make(map[string]Presence)
			}
			c.presenceRooms[pattern] = limits
		}
	}
}

type presenceRule struct {
	prefix string
	limits Presence
}

// Errors of presence.
var (
	// ErrNoPresence is wrapped by the error of [Hub.Track] and
	// [Hub.Presence] for a room that [WithPresence] does not name.
	ErrNoPresence = errors.New("hub: room has no presence")
	// ErrPresenceFull is wrapped by the error of [Hub.Track] when the
	// room's presence holds [Presence].MaxEntries connections.
	ErrPresenceFull = errors.New("hub: room's presence is full")
	// ErrMetaTooBig is wrapped by the error of [Hub.Track] for a meta
	// whose JSON is longer than [Presence].MaxMeta.
	ErrMetaTooBig = errors.New("hub: presence meta too big")
	// ErrInvalidKey is wrapped by the error of [Hub.Track] for a key that
	// is empty, longer than the hub's name limit ([WithMaxNameLen]) or not
	// valid UTF-8.
	ErrInvalidKey = errors.New("hub: invalid presence key")
)

// PresenceEntry is one connection's presence in a room, as a
// [PresenceBroker] keeps it.
type PresenceEntry struct {
	// ID tells the entry apart from every other entry of every hub: the
	// hub's random node id and a serial, of ASCII letters, digits, '-'
	// and '_', at most 64 bytes.
	ID string
	// Key is the member's key, as given to [Hub.Track].
	Key string
	// Meta is the connection's meta, a JSON object.
	Meta json.RawMessage
}

// PresenceChange is what a [PresenceBroker] gives a presence
// subscription: entries that joined and ids of entries that left, or,
// when Snapshot is true, every entry present (Joins), which replaces
// what the subscription had.
type PresenceChange struct {
	Snapshot bool
	Joins    []PresenceEntry
	Leaves   []string
}

// PresenceBroker is a [Broker] that also keeps the presence of rooms
// across the nodes of an application, and forgets the entries of a node
// that dies. [WithPresence] needs one when the hub has a broker;
// github.com/cafeto-go/ws/natsbroker keeps presence in a JetStream
// key-value bucket, and [MemoryBroker] in memory.
//
// The hub calls these methods for the rooms [WithPresence] names, with
// their subjects (see [Broker]). A broker keeps presence apart from the
// Publish/Subscribe traffic and the history of a subject.
//
// An entry lives on the node (the broker's process and its connection to
// the shared store) that tracked it: when that node stops without
// untracking (its process is killed, its connection cut) the broker
// removes its entries, on every other node, within its own timeout, and
// gives their ids as leaves to every subscription; a node that comes
// back under a new process never brings its old entries back. A node
// that was cut off and reconnects tracks its entries again, and every
// subscription converges to the entries of the live nodes.
type PresenceBroker interface {
	Broker

	// Track adds e to the presence of subject on every node, until
	// Untrack or the node's death. When it returns nil, e is in the
	// presence that SubscribePresence and Presence read anywhere.
	Track(ctx context.Context, subject string, e PresenceEntry) error

	// Untrack removes the entry of id from the presence of subject on
	// every node. Untracking an id that is not there is not an error.
	Untrack(ctx context.Context, subject, id string) error

	// SubscribePresence calls fn, before it returns, with a Snapshot of
	// the presence of subject, and then with every change made on any
	// node, this one included, one at a time and in order, until
	// unsubscribe is called. It may call fn with a Snapshot again, after
	// a loss of its connection. fn returns quickly and never calls back
	// into the broker; it may keep the change.
	SubscribePresence(subject string, fn func(PresenceChange)) (unsubscribe func() error, err error)

	// Presence returns the entries present in subject on every live node.
	Presence(ctx context.Context, subject string) ([]PresenceEntry, error)
}

// presenceOf returns the limits of room, and whether it has presence.
func (h *Hub) presenceOf(room string) (Presence, bool) {
	if h.pres == nil {
		return Presence{}, false
	}
	if l, ok := h.presenceRooms[room]; ok {
		return l, true
	}
	best, found := -1, Presence{}
	for _, r := range h.presencePrefixes {
		if len(r.prefix) > best && strings.HasPrefix(room, r.prefix) {
			best, found = len(r.prefix), r.limits
		}
	}
	return found, best >= 0
}

// Track joins conn to room, as [Hub.Join] does, and adds it to the room's
// presence on every hub: as key, the application's identity for the
// member (the user), with meta, anything that encodes as a JSON object
// (nil: {}), about this connection. Several connections may share a key:
// the key is present while one of them is. A connection is present once
// per room; tracking it again replaces its meta.
//
// Once conn is present, it gets one $presence push of the whole presence
// of room, its own entry included, then one push per change (see the
// package documentation, "Presence"). conn leaves the presence when it
// leaves the room: [Hub.Leave], [Hub.LeaveAll], its end, or the death of
// this hub's process.
//
// Track returns the errors of [Hub.Join], and an error wrapping
// [ErrNoPresence] for a room without presence, [ErrInvalidKey],
// [ErrMetaTooBig], [ErrPresenceFull], or [ErrPanic] and the encoding's
// error for a meta that does not encode as a JSON object; conn then is not
// in the presence, and not in the room unless it was before.
func (h *Hub) Track(conn *ws.Conn, room, key string, meta any) error {
	if err := h.checkName(kindRoom, room); err != nil {
		return err
	}
	limits, ok := h.presenceOf(room)
	if !ok {
		return fmt.Errorf("%w: room of %d bytes", ErrNoPresence, len(room))
	}
	if key == "" || len(key) > h.maxNameLen || !utf8.ValidString(key) {
		return fmt.Errorf("%w: %d bytes, want 1 to %d of UTF-8", ErrInvalidKey, len(key), h.maxNameLen)
	}
	metaJSON, err := h.encodeMeta(conn.Context(), meta, limits.MaxMeta)
	if err != nil {
		return err
	}

	h.smu.Lock()
	h.mu.RLock()
	var was *group
	if c := h.clients[conn]; c != nil {
		was = c.rooms[room]
	}
	h.mu.RUnlock()
	c, g, rec, err := h.addLocked(conn, kindRoom, room)
	if err != nil {
		h.smu.Unlock()
		return err
	}
	e := PresenceEntry{ID: h.newRef(), Key: key, Meta: metaJSON}
	g.mu.Lock()
	old := g.pres.tracked[c]
	if len(g.pres.entries)+len(g.pres.inflight) >= limits.MaxEntries && old == "" {
		g.mu.Unlock()
		h.smu.Unlock()
		if was == nil {
			h.Leave(conn, room)
		}
		return fmt.Errorf("%w: %d entries", ErrPresenceFull, limits.MaxEntries)
	}
	g.pres.tracked[c] = e.ID
	g.pres.inflight[e.ID] = struct{}{}
	delete(g.pres.inflight, old)
	if i, ok := g.index[c]; ok && !g.members[i].pready {
		g.members[i].pwait = e.ID
	}
	g.mu.Unlock()
	h.smu.Unlock()

	ctx, cancel := context.WithTimeout(conn.Context(), brokerTimeout)
	defer cancel()
	if err := h.track(ctx, g.subject, e); err != nil {
		g.mu.Lock()
		if g.pres.tracked[c] == e.ID {
			delete(g.pres.tracked, c)
		}
		delete(g.pres.inflight, e.ID)
		g.mu.Unlock()
		if was == nil {
			h.Leave(conn, room)
		}
		return fmt.Errorf("hub: track %s: %w", g.subject, err)
	}
	g.mu.Lock()
	gone := g.pres.tracked[c] != e.ID
	if gone {
		delete(g.pres.inflight, e.ID)
	}
	g.mu.Unlock()
	if gone {
		// conn left (or ended, or was tracked again) while its entry was
		// on its way: the untrack of the leave may have come first.
		h.untrack(context.Background(), g.subject, e.ID)
	}
	if old != "" {
		h.untrack(context.Background(), g.subject, old)
	}
	if rec != nil {
		return h.resume(c, g, rec)
	}
	return nil
}

// brokerTimeout bounds the broker calls a hub makes on its own: Track,
// and the Untrack of a connection that left.
const brokerTimeout = 10 * time.Second

// Presence returns the presence of room on every hub: each key present,
// with the metas of its connections (each with its "$ref"), as a
// $presence push's joins hold them. It returns an error wrapping
// [ErrNoPresence] for a room without presence, and the broker's error.
func (h *Hub) Presence(ctx context.Context, room string) (map[string][]json.RawMessage, error) {
	if err := h.checkName(kindRoom, room); err != nil {
		return nil, err
	}
	if _, ok := h.presenceOf(room); !ok {
		return nil, fmt.Errorf("%w: room of %d bytes", ErrNoPresence, len(room))
	}
	h.mu.RLock()
	g := h.rooms[room]
	h.mu.RUnlock()
	out := map[string][]json.RawMessage{}
	if g != nil && g.pres != nil {
		g.mu.Lock()
		for _, e := range g.pres.entries {
			out[e.Key] = append(out[e.Key], withRef(e))
		}
		g.mu.Unlock()
		return out, nil
	}
	entries, err := h.presenceRead(ctx, subject(kindRoom, room))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		out[e.Key] = append(out[e.Key], withRef(e))
	}
	return out, nil
}

// encodeMeta returns meta's JSON, an object of at most max bytes.
func (h *Hub) encodeMeta(ctx context.Context, meta any, max int) (b []byte, err error) {
	if meta == nil {
		return []byte("{}"), nil
	}
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, h.recovered(ctx, "the meta's encoding", r)
		}
	}()
	b, err = json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("hub: presence meta: %w", err)
	}
	if len(b) > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrMetaTooBig, len(b), max)
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("hub: presence meta must be a JSON object, not %.20s", b)
	}
	return b, nil
}

// newRef returns a new entry id: the hub's node id and a serial.
func (h *Hub) newRef() string {
	b := make([]byte, 0, 32)
	b = base64.RawURLEncoding.AppendEncode(b, h.node[:9])
	b = append(b, '_')
	return string(strconv.AppendUint(b, h.refs.Add(1), 36))
}

// presenceState is the presence of a room as this hub knows it: every
// hub's entries, and the entries of this hub's members.
type presenceState struct {
	entries map[string]PresenceEntry // by id
	tracked map[*client]string       // the id of each member present
	// inflight holds the ids of the entries of this hub's members that
	// are tracked but not yet in entries: Track counts them, so that one
	// hub alone never passes [Presence].MaxEntries.
	inflight map[string]struct{}
	unsub    func() error // guarded by Hub.smu
}

func newPresenceState() *presenceState {
	return &presenceState{entries: map[string]PresenceEntry{}, tracked: map[*client]string{}, inflight: map[string]struct{}{}}
}

// withRef returns e's meta with "$ref": its id, at its end.
func withRef(e PresenceEntry) json.RawMessage {
	m := e.Meta
	if len(m) < 2 || m[0] != '{' || m[len(m)-1] != '}' {
		m = []byte("{}")
	}
	b := make([]byte, 0, len(m)+len(e.ID)+12)
	b = append(b, m[:len(m)-1]...)
	if len(bytes.TrimSpace(m[1:len(m)-1])) > 0 {
		b = append(b, ',')
	}
	b = append(b, `"$ref":`...)
	b = strconv.AppendQuote(b, e.ID)
	return append(b, '}')
}

// presenceReceiver returns the presence callback of g: it applies each
// change to g's state and queues one $presence push of what changed for
// its members here; a member waiting for its own entry gets the whole
// presence instead, once its entry is in.
func (h *Hub) presenceReceiver(g *group) func(PresenceChange) {
	return func(ch PresenceChange) {
		g.mu.Lock()
		defer g.mu.Unlock()
		ps := g.pres
		var joins, leaves []PresenceEntry
		if ch.Snapshot {
			now := make(map[string]bool, len(ch.Joins))
			for _, e := range ch.Joins {
				now[e.ID] = true
			}
			for id, e := range ps.entries {
				if !now[id] {
					leaves = append(leaves, e)
					delete(ps.entries, id)
				}
			}
		}
		for _, id := range ch.Leaves {
			delete(ps.inflight, id)
			if e, ok := ps.entries[id]; ok {
				leaves = append(leaves, e)
				delete(ps.entries, id)
			}
		}
		for _, e := range ch.Joins {
			delete(ps.inflight, e.ID)
			if !validRef(e.ID) {
				h.logger.Error("hub: malformed presence entry from the broker", "subject", g.subject, "len", len(e.ID))
				continue
			}
			if old, ok := ps.entries[e.ID]; ok {
				if old.Key == e.Key && bytes.Equal(old.Meta, e.Meta) {
					continue
				}
				leaves = append(leaves, old)
			}
			ps.entries[e.ID] = e
			joins = append(joins, e)
		}
		var diff *message
		if len(joins) > 0 || len(leaves) > 0 {
			diff = &message{data: presencePush(g.roomJSON, joins, leaves)}
		}
		var snapshot *message
		for i := range g.members {
			m := &g.members[i]
			if m.pready {
				if diff != nil {
					m.deliver(diff)
				}
				continue
			}
			if m.pwait == "" {
				continue
			}
			if _, in := ps.entries[m.pwait]; !in {
				continue
			}
			if snapshot == nil {
				snapshot = &message{data: presencePush(g.roomJSON, ps.sorted(), nil)}
			}
			m.pready, m.pwait = true, ""
			m.deliver(snapshot)
		}
	}
}

// ready makes c, a member of g that does not wait for an entry of its
// own, get the presence of g now and the changes from now on.
func (g *group) presenceReady(c *client) {
	g.mu.Lock()
	defer g.mu.Unlock()
	i, ok := g.index[c]
	if !ok || g.members[i].pready || g.members[i].pwait != "" {
		return
	}
	m := &g.members[i]
	m.pready = true
	m.deliver(&message{data: presencePush(g.roomJSON, g.pres.sorted(), nil)})
}

// deliver queues a $presence push for m; a member that recovers holds it
// until its replay is queued.
func (m *member) deliver(msg *message) {
	if m.pending != nil {
		m.pending.hold(m.c, msg)
		return
	}
	m.c.enqueue(msg)
}

// sorted returns the entries by key and id.
func (ps *presenceState) sorted() []PresenceEntry {
	out := make([]PresenceEntry, 0, len(ps.entries))
	for _, e := range ps.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b PresenceEntry) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// presencePush returns the $presence push of joins and leaves:
// {"event":"$presence","room":…,"statusCode":200,"body":{"joins":{key:[meta,…]},"leaves":{…}}}.
func presencePush(roomJSON []byte, joins, leaves []PresenceEntry) []byte {
	b := make([]byte, 0, 64+len(roomJSON)+64*(len(joins)+len(leaves)))
	b = append(b, `{"event":"$presence","room":`...)
	b = append(b, roomJSON...)
	b = append(b, `,"statusCode":200,"body":{"joins":`...)
	b = appendMetas(b, joins)
	b = append(b, `,"leaves":`...)
	b = appendMetas(b, leaves)
	return append(b, "}}"...)
}

// appendMetas appends {key:[meta,…],…} of entries, grouped by key in the
// order of their first entry.
func appendMetas(b []byte, entries []PresenceEntry) []byte {
	b = append(b, '{')
	done := make(map[int]bool, len(entries))
	for i, e := range entries {
		if done[i] {
			continue
		}
		if i > 0 && b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		k, _ := json.Marshal(e.Key)
		b = append(append(b, k...), ":["...)
		for j := i; j < len(entries); j++ {
			if entries[j].Key != e.Key || done[j] {
				continue
			}
			if j > i {
				b = append(b, ',')
			}
			done[j] = true
			b = append(b, withRef(entries[j])...)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// validRef reports whether id is an entry id as [PresenceEntry] says.
func validRef(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !unreserved(id[i]) {
			return false
		}
	}
	return true
}

// track, untrack, presenceRead and subscribePresence call the broker,
// under guard.
func (h *Hub) track(ctx context.Context, subject string, e PresenceEntry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = h.recovered(ctx, "PresenceBroker.Track", r)
		}
	}()
	return h.pres.Track(ctx, subject, e)
}

// untrack removes the entry id, logging an error, within brokerTimeout
// at most and ctx's deadline.
func (h *Hub) untrack(ctx context.Context, subject, id string) {
	ctx, cancel := context.WithTimeout(ctx, brokerTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			h.recovered(ctx, "PresenceBroker.Untrack", r)
		}
	}()
	if err := h.pres.Untrack(ctx, subject, id); err != nil {
		h.logger.Error("hub: untrack failed", "subject", subject, "error", err)
	}
}

func (h *Hub) presenceRead(ctx context.Context, subject string) (e []PresenceEntry, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, h.recovered(ctx, "PresenceBroker.Presence", r)
		}
	}()
	return h.pres.Presence(ctx, subject)
}

func (h *Hub) subscribePresence(g *group) (unsub func() error, err error) {
	defer func() {
		if r := recover(); r != nil {
			unsub, err = nil, h.recovered(context.Background(), "PresenceBroker.SubscribePresence", r)
		}
	}()
	return h.pres.SubscribePresence(g.subject, h.presenceReceiver(g))
}
