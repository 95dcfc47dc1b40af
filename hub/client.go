package hub

import (
	"sync"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// client is a connection held by a hub: its bounded outbound queue, the
// writer goroutine that drains it, and the groups it belongs to.
type client struct {
	h      *Hub
	conn   *ws.Conn
	serial uint64 // tells the connection apart in a broadcast's except

	mu     sync.Mutex
	queue  []*message // not yet written, at most h.queueSize
	replay []*message // written before the queue: what a recovery replays
	gone   bool       // dropped, or too slow: queue nothing more

	wake     chan struct{} // a message was queued into an empty queue
	done     chan struct{} // closed by stop: the writer returns
	stopOnce sync.Once

	// Guarded by h.mu.
	rooms     map[string]*group
	id        *group
	recovered map[string]bool // rooms whose last Join recovered

	// Guarded by h.smu.
	resume       map[string]Position // of the resume parameter, not used yet
	resumeParsed bool
}

func newClient(h *Hub, conn *ws.Conn) *client {
	return &client{
		h:      h,
		conn:   conn,
		serial: h.serials.Add(1),
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
}

// message is one frame for many recipients: a pointer to it is 8 bytes of
// a queue, a third of a slice.
type message struct {
	data   []byte
	offset uint64 // in its room's history; 0 without
}

// enqueue queues msg for the writer without blocking. A client whose queue
// is full is too slow: it queues nothing more and is disconnected.
func (c *client) enqueue(msg *message) {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	if len(c.queue) >= c.h.queueSize {
		c.overflowLocked()
		return
	}
	c.queue = append(c.queue, msg)
	first := len(c.queue) == 1
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

// overflowLocked gives c up as too slow; it is called with c.mu held and
// releases it.
func (c *client) overflowLocked() {
	c.gone = true
	c.queue = nil
	c.replay = nil
	c.mu.Unlock()
	go c.h.tooSlow(c)
}

// overflow is overflowLocked for a caller that does not hold c.mu.
func (c *client) overflow() {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.overflowLocked()
}

// enqueueReplay queues msgs to be written before anything in the queue,
// whatever their number: a recovery's $recover, replayed messages and
// the live ones that arrived meanwhile.
func (c *client) enqueueReplay(msgs []*message) {
	c.mu.Lock()
	if c.gone {
		c.mu.Unlock()
		return
	}
	c.replay = append(c.replay, msgs...)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stop makes the writer return and drops what is queued.
func (c *client) stop() {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.gone = true
		c.queue = nil
		c.replay = nil
		c.mu.Unlock()
		close(c.done)
	})
}

// keepIdle is the capacity of the queue's backing array that a writer
// keeps while its connection is idle; larger ones are given back.
const keepIdle = 16

// maxChunk is the most queued messages written with one SendTexts.
const maxChunk = 64

// run writes the queued messages in order, until the client is stopped or
// the connection ends. It swaps the queue with a second array of its own,
// so that it writes a whole batch without holding the lock.
func (c *client) run() {
	ctx := c.conn.Context()
	var batch []*message
	var texts [][]byte
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		case <-ctx.Done():
			c.h.drop(c)
			return
		}
		for {
			c.mu.Lock()
			if len(c.replay) > 0 {
				// A recovery's messages go first; the queue holds none of
				// its room's.
				batch = append(append(batch[:0], c.replay...), c.queue...)
				clear(c.queue)
				c.replay, c.queue = nil, c.queue[:0]
			} else {
				batch, c.queue = c.queue, batch[:0]
			}
			if len(batch) == 0 && cap(c.queue) > keepIdle {
				c.queue = nil // idle: give a large array back
			}
			c.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			// A batch goes out in chunks: each chunk's frames share one
			// write to the network.
			for start := 0; start < len(batch); {
				select {
				case <-c.done:
					return
				default:
				}
				chunk := batch[start:min(len(batch), start+maxChunk)]
				texts = texts[:0]
				for _, msg := range chunk {
					texts = append(texts, msg.data)
				}
				// The connection's own context: ws hands coder/websocket one
				// that cannot be cancelled, at no cost per write.
				if err := c.conn.SendTexts(ctx, texts...); err != nil {
					c.h.drop(c)
					return
				}
				clear(chunk)
				clear(texts)
				start += len(chunk)
			}
		}
		if cap(batch) > keepIdle {
			batch, texts = nil, nil
		}
	}
}

// tooSlow disconnects c, whose queue overflowed, with 1008 "too slow".
// Close may wait for a write under way, so it runs on its own goroutine.
func (h *Hub) tooSlow(c *client) {
	h.logger.Warn("hub: connection too slow, disconnecting",
		"remote", c.conn.Request().RemoteAddr, "queue", h.queueSize)
	h.drop(c)
	if h.onTooSlow != nil {
		h.callTooSlow(c.conn)
	}
	c.conn.Close(websocket.StatusPolicyViolation, "too slow")
}

// group is a room, or the connections sharing an id: the members on this
// hub and the subscription to the group's subject at the broker.
type group struct {
	kind, name string
	subject    string // with a broker only

	// A room with history: its limits, and its name in JSON.
	history  bool
	limits   History
	roomJSON []byte

	// A room with presence: its state, guarded by mu.
	pres *presenceState

	mu      sync.Mutex
	members []member
	index   map[*client]int // position in members

	unsub func() error // guarded by Hub.smu
}

// member is a client in a group. In a room with history, a member that
// recovers keeps the room's messages in pending until its replay is
// queued, and is never given a message of an offset up to floor, which it
// had or was replayed.
//
// In a room with presence, a member gets $presence pushes once pready:
// from the whole presence on, queued when it joined or, for a member
// that tracks itself, once its own entry (of id pwait) is in.
type member struct {
	c       *client
	floor   uint64
	pending *recovery
	pready  bool
	pwait   string
}

// newGroup returns the group kind/name; with a broker, it has its subject.
func newGroup(kind, name string, broker bool) *group {
	g := &group{kind: kind, name: name, index: make(map[*client]int)}
	if broker {
		g.subject = subject(kind, name)
	}
	return g
}

// add adds c, recovering with rec if it is not nil.
func (g *group) add(c *client, rec *recovery) {
	g.mu.Lock()
	g.index[c] = len(g.members)
	g.members = append(g.members, member{c: c, pending: rec})
	g.mu.Unlock()
}

// remove removes c and returns the number of members left, and the id
// of c's presence entry, which the caller untracks.
func (g *group) remove(c *client) (left int, id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pres != nil {
		id = g.pres.tracked[c]
		delete(g.pres.tracked, c)
		delete(g.pres.inflight, id)
	}
	i, ok := g.index[c]
	if !ok {
		return len(g.members), id
	}
	last := len(g.members) - 1
	if i != last {
		g.members[i] = g.members[last]
		g.index[g.members[i].c] = i
	}
	g.members[last] = member{}
	g.members = g.members[:last]
	delete(g.index, c)
	return len(g.members), id
}

func (g *group) len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

func (g *group) clear() {
	g.mu.Lock()
	g.members = nil
	clear(g.index)
	g.mu.Unlock()
}

// deliver queues msg for every member but the client of serial except (0:
// none). Holding g.mu through the loop gives every member of the group the
// same order of messages.
func (g *group) deliver(msg *message, except uint64) {
	g.mu.Lock()
	for i := range g.members {
		m := &g.members[i]
		switch {
		case m.c.serial == except:
		case m.floor != 0 && msg.offset <= m.floor:
			// Replayed already.
		case m.pending != nil:
			m.pending.hold(m.c, msg)
		default:
			m.c.enqueue(msg)
		}
	}
	g.mu.Unlock()
}
