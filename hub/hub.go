// Package hub sends one message to many WebSocket connections: to the
// members of a room, to a room except its sender, or to the connections of
// one user, on this server and, through a [Broker], on every other server
// of the application.
//
//	h := hub.New()
//	mux.Handle("GET /chat", ws.Callback(
//		func(ctx context.Context, conn *ws.Conn) error { return h.Join(conn, "lobby") },
//		func(ctx context.Context, in Message) (ws.StatusEnvelope[Message], error) {
//			err := h.BroadcastExcept(ctx, "lobby", ws.ConnFromContext(ctx), ws.Ok(in))
//			return ws.NoContent[Message](), err
//		},
//		func(ctx context.Context, conn *ws.Conn, err error) { h.LeaveAll(conn) },
//	))
//
// A broadcast is encoded to JSON once and the same bytes are queued for
// every recipient; broadcast [ws.Ok](body) to send the envelope that
// Callback's replies have. Each connection has a bounded outbound queue and a writer
// of its own, so a slow client never slows the room: a connection whose
// queue is full is disconnected with 1008 (policy violation, reason
// "too slow") and leaves its rooms.
//
// # Scaling out
//
// Without [WithBroker] a hub serves the connections of its own process.
// With a broker, such as github.com/cafeto-go/ws/natsbroker, every
// broadcast is also published to the other hubs, and a hub subscribes only
// to the rooms and ids it has connections for. A broadcast reaches each
// member once, wherever it is connected; [Hub.BroadcastExcept] leaves out
// the sender only.
//
// # Delivery
//
//   - A message is delivered at most once to each connection, never twice.
//   - Messages of one publisher (one goroutine calling Broadcast in turn)
//     reach each member in the order they were sent. On one hub, every
//     member of a room sees the room's messages in the same order; across
//     hubs, messages of different publishers may interleave differently.
//   - In rooms without history, nothing is stored or replayed: a
//     connection that joins after a broadcast does not get it, a connection
//     dropped as too slow loses what was queued for it, and messages the
//     broker loses (a NATS outage) are gone. Delivery is at-most-once.
//   - In those rooms, the members on the publishing hub do not depend on
//     the broker: when it refuses or fails a message, they still receive
//     it, and the call returns the broker's error.
//   - Rooms with history are exact for a client that resumes: see below.
//
// # History and recovery
//
// [WithHistory] keeps the history of some rooms: the last [History].Size
// messages of each, none older than its TTL. Every broadcast to such a room
// gets an offset, increasing within the room, and the room has an epoch,
// which changes whenever its history is lost (docs/protocol.md, "Rooms with
// history"). Every push of the room carries them at its top level, beside
// what the application sent:
//
//	{"event":"chat.message","statusCode":200,"body":{…},"room":"lobby","epoch":"k3f9Qx2a","offset":42}
//
// A client that reconnects, to this hub or another, names in the query
// parameter resume of its URL the last position it saw of each room:
// resume={"lobby":{"epoch":"k3f9Qx2a","offset":42}}, URL-encoded. When the
// application joins it to such a room, [Hub.Join] queues for it, before
// anything else of the room, a $recover push (status 200 and how many
// messages follow, or 410 when the history no longer reaches back or the
// epoch is another), the messages it missed, then the live ones: every
// message once, in order, no gap and no duplicate between replay and live.
// [Hub.Recovered] tells the application whether it did, to skip sending a
// snapshot. A resume that does not parse is ignored for the rooms it cannot
// parse; one longer than [MaxResumeLen] is ignored whole.
//
// How it works: Join adds the member in a recovering state, in which the
// room's live messages are held for it (up to the queue's bound, else it
// is too slow); it then reads the history after the client's offset, and
// in one step queues the $recover, the replay and the held messages of
// offsets above the replay's last, and makes the member live with that
// offset as a floor: a message the history's subscription delivers later
// with an offset up to the floor was replayed, and is dropped.
//
// Without a broker the history is in memory, and lost with the process
// (clients then get 410: a new epoch). With a broker, the broker keeps it
// and must be a [HistoryBroker]: natsbroker on NATS JetStream, where a
// message acknowledged is in history even if its hub dies the next
// instant. A broadcast to a room with history is appended to the history
// first, and its members, on the publishing hub too, receive it from the
// history's subscription, in the order of offsets; when the history refuses
// it, nobody receives it and the call returns the error. A message
// broadcast to such a room must encode as a JSON object ([ErrNotObject]).
// A replay holds every message of the room after the client's offset, also
// those a [Hub.BroadcastExcept] had left out for it.
//
// # Presence
//
// [WithPresence] keeps who is in some rooms, across every hub: the
// application tracks a connection with a key, its identity for the member
// (the user), and a meta about the connection (a JSON object):
//
//	err := h.Track(conn, "lobby", user.Name, map[string]string{"device": "web"})
//
// Track joins the room as [Hub.Join] does. Several connections may share a
// key (one user, two tabs): a key is present while one of its connections
// is. Every member of the room, tracked or only joined, gets one $presence
// push of the whole presence first, its own entry included, then one push
// per change, of what changed only (docs/protocol.md, "Presence"):
//
//	{"event":"$presence","room":"lobby","statusCode":200,"body":{"joins":{"ana":[{"device":"web","$ref":"Xk2…_1"}]},"leaves":{}}}
//
// Each meta carries "$ref", the id of its connection's entry, so that a
// leave says which of a key's metas went. A change costs one push to each
// member, whose size does not depend on the room's size. [Hub.Presence]
// reads the presence for a request of the application's. A room's
// presence holds at most [Presence].MaxEntries connections and metas of at
// most MaxMeta bytes.
//
// Without a broker the presence is in memory. With one, the broker keeps
// it and must be a [PresenceBroker]: natsbroker keeps it in a JetStream
// key-value bucket, and the entries of a hub whose process dies (killed,
// cut off) leave every other hub's presence within the broker's timeout,
// 15 s by default, with the leaves pushed to the members.
//
// # Defaults
//
//   - broker: none, this process only ([WithBroker]);
//   - queue: 256 messages per connection ([WithQueueSize]);
//   - names: room names and ids of 1 to 256 bytes ([WithMaxNameLen]);
//   - history: none ([WithHistory]);
//   - presence: none ([WithPresence]);
//   - logger: discards everything ([WithLogger]).
//
// # Names
//
// A room name or id is any string of 1 to [DefaultMaxNameLen] (256) bytes,
// UTF-8 or not; [WithMaxNameLen] raises the limit up to [HardMaxNameLen]
// (1024). [Hub.Join], [Hub.Identify], [Hub.Broadcast],
// [Hub.BroadcastExcept] and [Hub.SendTo] refuse a longer name with an
// error wrapping [ErrNameTooLong], and an empty one with [ErrEmptyName]
// ([Hub.Identify] with an empty id removes the id), before anything is
// encoded, stored or published. Without a broker, the hub keeps the name
// as given and nothing derived from it; with one, each room and id with
// members here also has its subject (see [Broker]), at most
// [MaxSubjectLen] bytes, whatever the name holds.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/cafeto-go/ws"
)

// ErrClosed is returned by the methods of a hub that has been closed.
var ErrClosed = errors.New("hub: closed")

// DefaultQueueSize is the outbound queue bound of a connection when
// [WithQueueSize] is not given.
const DefaultQueueSize = 256

// Option configures [New].
type Option func(*config)

type config struct {
	broker     Broker
	queueSize  int
	maxNameLen int
	logger     *slog.Logger
	tooSlow    func(*ws.Conn)

	historyRooms    map[string]History
	historyPrefixes []historyRule

	presenceRooms    map[string]Presence
	presencePrefixes []presenceRule
}

// WithBroker carries broadcasts to the hubs of other processes through b,
// such as a natsbroker.Broker or, within one process, a [MemoryBroker]. By
// default a hub serves its own process only and publishes nothing.
func WithBroker(b Broker) Option {
	return func(c *config) { c.broker = b }
}

// WithQueueSize bounds the outbound queue of each connection to n messages
// (default [DefaultQueueSize], 256). A connection whose queue is full when
// a message arrives for it is disconnected with 1008 "too slow". The queue
// holds pointers to messages shared by all recipients, 8 bytes a queued
// message; its backing array grows with use up to n and is given back when
// the connection is idle. It panics if n < 1.
func WithQueueSize(n int) Option {
	if n < 1 {
		panic("hub: queue size must be at least 1")
	}
	return func(c *config) { c.queueSize = n }
}

// WithLogger logs through l: connections disconnected as too slow (Warn),
// broker errors, malformed broker messages and recovered panics with their
// stacks (Error). The default discards everything; a nil l keeps it.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithTooSlow calls fn with each connection the hub disconnects as too
// slow (its queue was full), before it is closed: for metrics, such as
// wsotel's slow-consumer count. fn runs on a goroutine of its own, one per
// such connection; a panic in it is recovered and logged. The default is
// none.
func WithTooSlow(fn func(conn *ws.Conn)) Option {
	return func(c *config) { c.tooSlow = fn }
}

// Hub is a set of rooms and identified connections. It is safe for
// concurrent use; its methods may be called from any callback of any
// connection.
//
// A hub holds a connection from its first [Hub.Join] or [Hub.Identify]
// until [Hub.LeaveAll], the end of the connection (its Context is done) or
// [Hub.Close], and runs one writer goroutine for it meanwhile.
type Hub struct {
	broker     Broker // nil: this process only
	queueSize  int
	maxNameLen int
	logger     *slog.Logger
	onTooSlow  func(*ws.Conn)  // nil: no hook
	node       [nodeIDLen]byte // tells this hub's messages apart on the broker
	serials    atomic.Uint64   // of clients, from 1

	// hist keeps the history of the rooms WithHistory names: the broker,
	// or a MemoryBroker of the hub's own. nil: no room has history.
	hist            HistoryBroker
	historyRooms    map[string]History
	historyPrefixes []historyRule

	// pres keeps the presence of the rooms WithPresence names: the
	// broker, or a MemoryBroker of the hub's own. nil: no room has
	// presence.
	pres             PresenceBroker
	presenceRooms    map[string]Presence
	presencePrefixes []presenceRule
	refs             atomic.Uint64 // of presence entries, from 1

	// smu serializes the changes of membership, so that subscribing and
	// unsubscribing at the broker happen in the order of the changes. It
	// is taken before mu and is not held by broadcasts.
	smu sync.Mutex

	mu      sync.RWMutex
	rooms   map[string]*group // room name → members
	ids     map[string]*group // id → identified connections
	clients map[*ws.Conn]*client
	closed  bool
}

// New returns a hub ready for use.
func New(opts ...Option) *Hub {
	cfg := config{queueSize: DefaultQueueSize, maxNameLen: DefaultMaxNameLen, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	h := &Hub{
		broker:     cfg.broker,
		queueSize:  cfg.queueSize,
		maxNameLen: cfg.maxNameLen,
		logger:     cfg.logger,
		onTooSlow:  cfg.tooSlow,
		rooms:      make(map[string]*group),
		ids:        make(map[string]*group),
		clients:    make(map[*ws.Conn]*client),

		historyRooms:    cfg.historyRooms,
		historyPrefixes: cfg.historyPrefixes,

		presenceRooms:    cfg.presenceRooms,
		presencePrefixes: cfg.presencePrefixes,
	}
	if len(cfg.historyRooms) > 0 || len(cfg.historyPrefixes) > 0 {
		switch b := cfg.broker.(type) {
		case nil:
			h.hist = new(MemoryBroker)
		case HistoryBroker:
			h.hist = b
		default:
			panic(fmt.Sprintf("hub: WithHistory needs a broker that keeps history (a HistoryBroker); %T is not one", b))
		}
	}
	if len(cfg.presenceRooms) > 0 || len(cfg.presencePrefixes) > 0 {
		switch b := cfg.broker.(type) {
		case nil:
			if m, ok := h.hist.(*MemoryBroker); ok {
				h.pres = m
			} else {
				h.pres = new(MemoryBroker)
			}
		case PresenceBroker:
			h.pres = b
		default:
			panic(fmt.Sprintf("hub: WithPresence needs a broker that keeps presence (a PresenceBroker); %T is not one", b))
		}
	}
	rand.Read(h.node[:])
	return h
}

// Join adds conn to room; joining a room twice does nothing. The first
// member of a room on this hub subscribes to it at the broker; an error of
// the broker is returned and conn is not added. Join returns
// [ws.ErrClosed] when conn has ended, [ErrClosed] when the hub has, and
// an error wrapping [ErrNameTooLong] or [ErrEmptyName] for a name the hub
// does not take.
//
// In a room with history ([WithHistory]), when conn's resume parameter
// names the room, Join recovers what conn missed before it returns: it
// queues the $recover push, the messages conn missed and those that
// arrived meanwhile, before anything else of the room (see the package
// documentation); [Hub.Recovered] then tells whether conn recovered. An
// error of the broker's history is returned, and conn is not added.
func (h *Hub) Join(conn *ws.Conn, room string) error {
	if err := h.checkName(kindRoom, room); err != nil {
		return err
	}
	h.smu.Lock()
	c, g, rec, err := h.addLocked(conn, kindRoom, room)
	h.smu.Unlock()
	if err != nil {
		return err
	}
	if g.pres != nil {
		g.presenceReady(c)
	}
	if rec == nil {
		return nil
	}
	return h.resume(c, g, rec)
}

// Leave removes conn from room. The last member of a room on this hub
// unsubscribes from it at the broker.
func (h *Hub) Leave(conn *ws.Conn, room string) {
	h.smu.Lock()
	defer h.smu.Unlock()
	h.mu.Lock()
	var empty *group
	if c := h.clients[conn]; c != nil {
		if g := c.rooms[room]; g != nil {
			delete(c.rooms, room)
			empty = h.removeLocked(c, g)
		}
	}
	h.mu.Unlock()
	h.unsubscribe(empty)
}

// LeaveAll removes conn from all its rooms and forgets its id, and stops
// its writer; messages still queued for it are dropped. Call it in
// onDisconnect; the hub also does it by itself once conn's Context is done.
func (h *Hub) LeaveAll(conn *ws.Conn) {
	h.mu.RLock()
	c := h.clients[conn]
	h.mu.RUnlock()
	if c != nil {
		h.drop(c)
	}
}

// Identify gives conn an id chosen by the application, such as the user
// id, for [Hub.SendTo]. Several connections may share an id (a user with
// two tabs); a connection has one id at a time, and an empty id removes
// it. Errors are those of [Hub.Join]; an id that is refused leaves the
// connection's id as it was.
func (h *Hub) Identify(conn *ws.Conn, id string) error {
	if id != "" {
		if err := h.checkName(kindID, id); err != nil {
			return err
		}
	}
	h.smu.Lock()
	defer h.smu.Unlock()
	h.mu.Lock()
	var empty *group
	if c := h.clients[conn]; c != nil && c.id != nil {
		if c.id.name == id {
			h.mu.Unlock()
			return nil
		}
		g := c.id
		c.id = nil
		empty = h.removeLocked(c, g)
	}
	h.mu.Unlock()
	h.unsubscribe(empty)
	if id == "" {
		return nil
	}
	_, _, _, err := h.addLocked(conn, kindID, id)
	return err
}

// Count returns the number of connections in room on this hub. Members
// connected to other hubs are not counted.
func (h *Hub) Count(room string) int {
	h.mu.RLock()
	g := h.rooms[room]
	h.mu.RUnlock()
	if g == nil {
		return 0
	}
	return g.len()
}

// Close unsubscribes the hub from the broker, stops the writers of all
// connections and forgets them; messages still queued are dropped. It
// neither closes the connections nor the broker. Calls after the first do
// nothing; Join, Identify and the broadcasts return [ErrClosed] from then
// on.
func (h *Hub) Close() error {
	h.smu.Lock()
	defer h.smu.Unlock()
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	groups := make([]*group, 0, len(h.rooms)+len(h.ids))
	for _, g := range h.rooms {
		groups = append(groups, g)
	}
	for _, g := range h.ids {
		groups = append(groups, g)
	}
	type ref struct{ subject, id string }
	var refs []ref
	for _, g := range h.rooms {
		if g.pres != nil {
			g.mu.Lock()
			for _, id := range g.pres.tracked {
				refs = append(refs, ref{g.subject, id})
			}
			clear(g.pres.tracked)
			clear(g.pres.inflight)
			g.mu.Unlock()
		}
	}
	for _, c := range h.clients {
		c.rooms = nil
		c.id = nil
		c.stop()
	}
	clear(h.rooms)
	clear(h.ids)
	clear(h.clients)
	h.mu.Unlock()

	// One deadline for all: a broker that is gone costs brokerTimeout once.
	ctx, cancel := context.WithTimeout(context.Background(), brokerTimeout)
	defer cancel()
	for _, r := range refs {
		h.untrack(ctx, r.subject, r.id)
	}
	var errs []error
	for _, g := range groups {
		g.clear()
		if g.unsub != nil {
			if err := h.callUnsubscribe(g, g.unsub); err != nil {
				errs = append(errs, fmt.Errorf("hub: unsubscribe %s: %w", g.subject, err))
			}
		}
		if g.pres != nil && g.pres.unsub != nil {
			if err := h.callUnsubscribe(g, g.pres.unsub); err != nil {
				errs = append(errs, fmt.Errorf("hub: unsubscribe presence %s: %w", g.subject, err))
			}
		}
	}
	return errors.Join(errs...)
}

// addLocked adds conn to the group kind/name, subscribing to it at the
// broker if it is new on this hub; h.smu is held. In a room with history
// that conn's resume parameter names, it returns the recovery to run.
func (h *Hub) addLocked(conn *ws.Conn, kind, name string) (*client, *group, *recovery, error) {
	if conn.Context().Err() != nil {
		return nil, nil, nil, ws.ErrClosed
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, nil, nil, ErrClosed
	}
	c := h.clients[conn]
	if c == nil {
		c = newClient(h, conn)
		h.clients[conn] = c
		go c.run()
	}
	table := h.table(kind)
	g := table[name]
	created := g == nil
	if created {
		g = newGroup(kind, name, h.broker != nil)
		if kind == kindRoom {
			g.limits, g.history = h.historyOf(name)
			if _, ok := h.presenceOf(name); ok {
				g.pres = newPresenceState()
			}
		}
		if g.history || g.pres != nil {
			g.subject = subject(kind, name)
			g.roomJSON, _ = json.Marshal(name)
		}
		table[name] = g
	}
	var rec *recovery
	switch kind {
	case kindRoom:
		if c.rooms[name] == g {
			h.mu.Unlock()
			return c, g, nil, nil
		}
		if c.rooms == nil {
			c.rooms = make(map[string]*group)
		}
		c.rooms[name] = g
		delete(c.recovered, name)
		if g.history {
			if !c.resumeParsed {
				c.resume, c.resumeParsed = parseResume(conn.Request(), h.maxNameLen), true
			}
			if p, ok := c.resume[name]; ok {
				delete(c.resume, name) // once: a later Join starts afresh
				rec = &recovery{after: p}
			}
		}
	case kindID:
		c.id = g
	}
	g.add(c, rec)
	h.mu.Unlock()

	if !created || (h.broker == nil && !g.history && g.pres == nil) {
		return c, g, rec, nil
	}
	var unsub, punsub func() error
	var err error
	switch {
	case g.history:
		unsub, err = h.subscribeHistory(g)
	case h.broker != nil:
		unsub, err = h.subscribe(g)
	}
	if err == nil && g.pres != nil {
		if punsub, err = h.subscribePresence(g); err != nil && unsub != nil {
			h.callUnsubscribe(g, unsub)
			unsub = nil
		}
	}
	if err != nil {
		h.mu.Lock()
		if c.id == g {
			c.id = nil
		}
		if c.rooms[name] == g {
			delete(c.rooms, name)
		}
		h.removeLocked(c, g)
		h.mu.Unlock()
		return nil, nil, nil, fmt.Errorf("hub: subscribe %s: %w", g.subject, err)
	}
	g.unsub = unsub
	if g.pres != nil {
		g.pres.unsub = punsub
	}
	return c, g, rec, nil
}

// removeLocked removes c from g, with h.mu held; the caller has unlinked g
// from c. When g is left empty it is deleted and returned, for the caller
// to unsubscribe once h.mu is released.
func (h *Hub) removeLocked(c *client, g *group) *group {
	n, id := g.remove(c)
	if id != "" {
		go h.untrack(context.Background(), g.subject, id)
	}
	if n > 0 {
		return nil
	}
	table := h.table(g.kind)
	if table[g.name] == g {
		delete(table, g.name)
	}
	return g
}

// drop forgets c: it leaves every group and its writer stops.
func (h *Hub) drop(c *client) {
	h.smu.Lock()
	defer h.smu.Unlock()
	h.mu.Lock()
	if h.clients[c.conn] != c {
		h.mu.Unlock()
		return
	}
	delete(h.clients, c.conn)
	var empty []*group
	for _, g := range c.rooms {
		if e := h.removeLocked(c, g); e != nil {
			empty = append(empty, e)
		}
	}
	if c.id != nil {
		if e := h.removeLocked(c, c.id); e != nil {
			empty = append(empty, e)
		}
	}
	c.rooms = nil
	c.id = nil
	h.mu.Unlock()
	c.stop()
	for _, g := range empty {
		h.unsubscribe(g)
	}
}

// unsubscribe ends g's subscription at the broker, if g is not nil and has
// one. h.smu is held.
func (h *Hub) unsubscribe(g *group) {
	if g == nil {
		return
	}
	if g.unsub != nil {
		if err := h.callUnsubscribe(g, g.unsub); err != nil {
			h.logger.Error("hub: unsubscribe failed", "subject", g.subject, "error", err)
		}
		g.unsub = nil
	}
	if g.pres != nil && g.pres.unsub != nil {
		if err := h.callUnsubscribe(g, g.pres.unsub); err != nil {
			h.logger.Error("hub: unsubscribe presence failed", "subject", g.subject, "error", err)
		}
		g.pres.unsub = nil
	}
}

func (h *Hub) table(kind string) map[string]*group {
	if kind == kindRoom {
		return h.rooms
	}
	return h.ids
}
