package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cafeto-go/ws"
)

// History bounds the history of the rooms given to [WithHistory]: the last
// Size messages of a room, none older than TTL.
type History struct {
	// Size is how many of a room's latest messages are kept, from 1 to
	// [MaxHistorySize]. A client that missed more cannot recover.
	Size int
	// TTL is how long a message is kept; it must be positive. A room whose
	// every message is older than TTL and that has no members may be
	// forgotten, and its epoch with it.
	TTL time.Duration
}

// MaxHistorySize is the largest [History.Size].
const MaxHistorySize = 1 << 20

// Position is a place in a room's history: its epoch and an offset.
// Offsets increase within an epoch; an epoch is a short string of ASCII
// letters, digits, '-' and '_' that changes whenever the room's history
// is lost or reset. The offset of a room that has no message yet is 0.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// Entry is one message of a room's history, as a [HistoryBroker] keeps it.
type Entry struct {
	Offset uint64
	Time   time.Time // when it was appended
	Msg    []byte    // the hub's message, never modified
}

// Replay is what [HistoryBroker.Since] read.
type Replay struct {
	// Now is the room's epoch and the offset of its latest message, at the
	// time of the read.
	Now Position
	// Entries are the messages after the position asked for, oldest first,
	// at most as many as asked for.
	Entries []Entry
	// Reaches reports whether the history holds every message after the
	// position asked for: its epoch is Now's, its offset is at most Now's,
	// and no message after it has been dropped. A broker that cannot tell
	// says false: the client reloads, which loses nothing.
	Reaches bool
}

// HistoryBroker is a [Broker] that also keeps the history of rooms, so
// that a client of any hub can recover what it missed. [WithHistory]
// needs one when the hub has a broker; github.com/cafeto-go/ws/natsbroker
// keeps history in NATS JetStream, and [MemoryBroker] in memory.
//
// The hub calls the history methods for the rooms [WithHistory] names,
// with their subjects (see [Broker]), and Publish and Subscribe for the
// others. A broker keeps the history of a subject apart from its
// Publish/Subscribe traffic.
//
// Further kinds of brokers (presence, say) will be further interfaces
// beside this one, which a hub discovers the same way: a broker
// implements what it can.
type HistoryBroker interface {
	Broker

	// Append adds msg to the history of subject and gives it to the
	// subscribers of every node, with the position it returns: the
	// subject's epoch and the message's offset, greater than that of any
	// message appended to the subject before in that epoch. When it
	// returns nil, msg is in the history for good (it survives the hub's
	// process); an error means msg was neither kept nor sent. limits are
	// the room's: the broker keeps at least that much, and may keep more.
	// The hub never modifies msg afterwards.
	Append(ctx context.Context, subject string, msg []byte, limits History) (Position, error)

	// SubscribeHistory calls fn with every message appended to subject
	// from now on, the epoch and the entry, one at a time and in the order
	// of their offsets, until unsubscribe is called. When it returns, the
	// subscription is in place: a message appended afterwards is given to
	// fn. fn returns quickly and may keep the entry but never modifies it.
	SubscribeHistory(subject string, fn func(epoch string, e Entry)) (unsubscribe func() error, err error)

	// Since reads the history of subject after the position: at most max
	// entries of offsets greater than after.Offset, oldest first, the
	// subject's position now, and whether the history reaches back to
	// after (see [Replay]). An after whose epoch is not the subject's
	// reads the oldest entries.
	Since(ctx context.Context, subject string, after Position, max int) (Replay, error)
}

// WithHistory keeps the history of the rooms pattern names, bounded by
// limits, so that a client that reconnects recovers the messages it
// missed (see the package documentation, "History and recovery"). pattern
// is a room name, or a prefix and '*' ("game.*"; "*" for every room); a
// room takes the limits of its exact name, else of its longest matching
// prefix. Without a broker, the hub keeps history in memory; with one,
// the broker keeps it and must be a [HistoryBroker] (New panics
// otherwise). By default no room has history.
//
// A message broadcast to a room with history must encode as a JSON
// object, to which the hub adds "room", "epoch" and "offset". WithHistory
// panics if pattern is empty, limits.Size is not within 1 to
// [MaxHistorySize], or limits.TTL is not positive.
func WithHistory(pattern string, limits History) Option {
	if pattern == "" {
		panic("hub: WithHistory needs a room name or a pattern")
	}
	if limits.Size < 1 || limits.Size > MaxHistorySize {
		panic(fmt.Sprintf("hub: History.Size %d, want 1 to %d", limits.Size, MaxHistorySize))
	}
	if limits.TTL <= 0 {
		panic(fmt.Sprintf("hub: History.TTL %v, want a positive duration", limits.TTL))
	}
	return func(c *config) {
		if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
			c.historyPrefixes = append(c.historyPrefixes, historyRule{prefix, limits})
		} else {
			if c.historyRooms == nil {
				c.historyRooms = make(map[string]History)
			}
			c.historyRooms[pattern] = limits
		}
	}
}

type historyRule struct {
	prefix string
	limits History
}

// ErrNotObject is wrapped by the error of a broadcast to a room with
// history of a value that does not encode as a JSON object.
var ErrNotObject = errors.New("hub: a message to a room with history must be a JSON object")

// historyOf returns the limits of room, and whether it has history.
func (h *Hub) historyOf(room string) (History, bool) {
	if h.hist == nil {
		return History{}, false
	}
	if l, ok := h.historyRooms[room]; ok {
		return l, true
	}
	best, found := -1, History{}
	for _, r := range h.historyPrefixes {
		if len(r.prefix) > best && strings.HasPrefix(room, r.prefix) {
			best, found = len(r.prefix), r.limits
		}
	}
	return found, best >= 0
}

// Recovered reports whether the last [Hub.Join] of conn to room recovered
// what conn missed: conn asked for it in its resume parameter and got
// every message of room after its position ($recover with status 200).
// It is false when conn did not ask, could not recover (410), or is not
// in room.
func (h *Hub) Recovered(conn *ws.Conn, room string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	c := h.clients[conn]
	return c != nil && c.rooms[room] != nil && c.recovered[room]
}

// History returns the messages kept in the history of room, oldest first,
// as its members received them (with "room", "epoch" and "offset"), and
// the room's position now. It returns an error wrapping [ErrNoHistory]
// for a room without history, and the broker's error.
func (h *Hub) History(ctx context.Context, room string) ([]json.RawMessage, Position, error) {
	if err := h.checkName(kindRoom, room); err != nil {
		return nil, Position{}, err
	}
	limits, ok := h.historyOf(room)
	if !ok {
		return nil, Position{}, fmt.Errorf("%w: room of %d bytes", ErrNoHistory, len(room))
	}
	roomJSON, _ := json.Marshal(room)
	r, err := h.since(ctx, subject(kindRoom, room), Position{}, limits.Size)
	if err != nil {
		return nil, Position{}, err
	}
	msgs := make([]json.RawMessage, 0, len(r.Entries))
	for _, e := range r.Entries {
		if data := h.push(roomJSON, r.Now.Epoch, e); data != nil {
			msgs = append(msgs, data)
		}
	}
	return msgs, r.Now, nil
}

// ErrNoHistory is wrapped by the error of [Hub.History] for a room that
// [WithHistory] does not name.
var ErrNoHistory = errors.New("hub: room has no history")

// validEpoch reports whether e is an epoch as [Position] describes it.
func validEpoch(e string) bool {
	if e == "" || len(e) > maxEpochLen {
		return false
	}
	for i := 0; i < len(e); i++ {
		if !unreserved(e[i]) {
			return false
		}
	}
	return true
}

const maxEpochLen = 64

// appendPush appends the push of payload, a JSON object, to b: payload
// with "room", "epoch" and "offset" added at its end, where they take
// precedence over fields of the same names.
func appendPush(b, payload, roomJSON []byte, epoch string, offset uint64) []byte {
	b = append(b, payload[:len(payload)-1]...)
	if len(payload) > 2 {
		b = append(b, ',')
	}
	b = append(b, `"room":`...)
	b = append(b, roomJSON...)
	b = append(b, `,"epoch":"`...)
	b = append(b, epoch...)
	b = append(b, `","offset":`...)
	b = strconv.AppendUint(b, offset, 10)
	return append(b, '}')
}

// push returns what a member receives for e, an entry of the room whose
// name is roomJSON in JSON, or nil (logged) if e is not a message of a hub.
func (h *Hub) push(roomJSON []byte, epoch string, e Entry) []byte {
	_, _, payload, ok := parseFrame(e.Msg)
	if !ok || len(payload) < 2 || payload[0] != '{' || payload[len(payload)-1] != '}' || !validEpoch(epoch) {
		h.logger.Error("hub: malformed history entry from the broker", "len", len(e.Msg), "offset", e.Offset)
		return nil
	}
	return appendPush(make([]byte, 0, len(payload)+len(roomJSON)+len(epoch)+40), payload, roomJSON, epoch, e.Offset)
}
