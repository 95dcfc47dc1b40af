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
//   - Nothing is stored or replayed: a connection that joins after a
//     broadcast does not get it, a connection dropped as too slow loses what
//     was queued for it, and messages the broker loses (a NATS outage) are
//     gone. Delivery is at-most-once; an application that needs every
//     message sends sequence numbers and lets clients ask for what they
//     missed.
//   - The members on the publishing hub do not depend on the broker: when
//     it refuses or fails a message, they still receive it, and the call
//     returns the broker's error.
//
// # Defaults
//
//   - broker: none, this process only ([WithBroker]);
//   - queue: 256 messages per connection ([WithQueueSize]);
//   - names: room names and ids of 1 to 256 bytes ([WithMaxNameLen]);
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
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"

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
func (h *Hub) Join(conn *ws.Conn, room string) error {
	if err := h.checkName(kindRoom, room); err != nil {
		return err
	}
	return h.add(conn, kindRoom, room)
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
	return h.addLocked(conn, kindID, id)
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
	for _, c := range h.clients {
		c.rooms = nil
		c.id = nil
		c.stop()
	}
	clear(h.rooms)
	clear(h.ids)
	clear(h.clients)
	h.mu.Unlock()

	var errs []error
	for _, g := range groups {
		g.clear()
		if g.unsub != nil {
			if err := h.callUnsubscribe(g); err != nil {
				errs = append(errs, fmt.Errorf("hub: unsubscribe %s: %w", g.subject, err))
			}
		}
	}
	return errors.Join(errs...)
}

// add adds conn to the group kind/name, subscribing to it at the broker if
// it is new on this hub.
func (h *Hub) add(conn *ws.Conn, kind, name string) error {
	h.smu.Lock()
	defer h.smu.Unlock()
	return h.addLocked(conn, kind, name)
}

// addLocked is add with h.smu held.
func (h *Hub) addLocked(conn *ws.Conn, kind, name string) error {
	if conn.Context().Err() != nil {
		return ws.ErrClosed
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return ErrClosed
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
		table[name] = g
	}
	switch kind {
	case kindRoom:
		if c.rooms[name] == g {
			h.mu.Unlock()
			return nil
		}
		if c.rooms == nil {
			c.rooms = make(map[string]*group)
		}
		c.rooms[name] = g
	case kindID:
		c.id = g
	}
	g.add(c)
	h.mu.Unlock()

	if !created || h.broker == nil {
		return nil
	}
	unsub, err := h.subscribe(g)
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
		return fmt.Errorf("hub: subscribe %s: %w", g.subject, err)
	}
	g.unsub = unsub
	return nil
}

// removeLocked removes c from g, with h.mu held; the caller has unlinked g
// from c. When g is left empty it is deleted and returned, for the caller
// to unsubscribe once h.mu is released.
func (h *Hub) removeLocked(c *client, g *group) *group {
	if g.remove(c) > 0 {
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
	if g == nil || g.unsub == nil {
		return
	}
	if err := h.callUnsubscribe(g); err != nil {
		h.logger.Error("hub: unsubscribe failed", "subject", g.subject, "error", err)
	}
	g.unsub = nil
}

func (h *Hub) table(kind string) map[string]*group {
	if kind == kindRoom {
		return h.rooms
	}
	return h.ids
}
