package chatapp

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
)

// ChatMessage is a message as everyone in the room sees it: the body of
// the sender's 200 reply, of the chat.message push to the others and of
// the items of chat.history. The server sets User and Time: no message can
// claim another person's name.
type ChatMessage struct {
	Message string    `json:"message"`
	User    string    `json:"user"`
	Time    time.Time `json:"time"` // RFC 3339, UTC, to the millisecond
}

// Typing is the body of the chat.typing push: User is typing.
type Typing struct {
	User string `json:"user"`
}

// RoomStats is an item of the chat.watch stream: who is in the room, on
// this server. Its size does not grow with the room: Online lists 20
// names at most, and Joined counts them all.
type RoomStats struct {
	Online      []string `json:"online"`      // the first 20 names joined on /ws, sorted
	Joined      int      `json:"joined"`      // how many names are joined on /ws
	Connections int      `json:"connections"` // connections in the room, /chat and /ws
	Messages    int      `json:"messages"`    // messages posted since the server started
}

// maxOnline is how many names a RoomStats lists at most.
const maxOnline = 20

const (
	// room is the one room of this chat: every connection, on /chat and
	// on /ws, is in it and gets its chat.message pushes.
	room = "lobby"
	// liveRoom holds the /ws connections only: the pushes that /chat
	// clients, which know one kind of message, never get (chat.typing).
	liveRoom = "lobby/live"
	// historyLen is how many messages chat.history keeps.
	historyLen = 50
)

// KeepHistory keeps the history of the room in the hub: its last 1000
// messages of the last 24 hours. A page that reconnects names the last
// message it got (resume) and is sent those it missed, once, in order; when
// the history no longer reaches back (a server that kept it in memory has
// restarted, or more than 1000 were sent meanwhile), the page is told and
// reloads chat.history, which reads it too. Without a broker the hub keeps
// it in memory; with one, the broker must keep it (natsbroker.JetStream).
var KeepHistory = hub.WithHistory(room, hub.History{Size: 1000, TTL: 24 * time.Hour})

// Chat is the room: the names taken in it, its last messages, and its
// members in a hub, each with a bounded queue of its own (a client too slow
// to keep up is disconnected with 1008). Its methods are the callbacks of
// GET /chat and the events of GET /ws; they are safe for concurrent use.
//
// A name joined on /ws is the connection's while it lasts, and reserved
// against /chat for [ReserveFor] after it left, and while a message it
// sent on /ws is in the history: /chat cannot post under it. A name under
// which /chat posted a message still in the history cannot be joined on
// /ws. So a message never shows as someone else's.
//
// Names and reservations live in this process: with a hub shared over a
// broker (natsbroker/chatnats), messages reach every server, but each
// server checks names among its own connections. The history is the hub's
// when it keeps the room's ([KeepHistory]), else each server keeps the
// messages posted on it.
type Chat struct {
	hub    *hub.Hub
	router *ws.Router
	clock  func() time.Time

	mu       sync.Mutex
	names    map[string]member    // by nameKey: the names joined on /ws
	reserved map[string]time.Time // by nameKey: names left on /ws, until when they are reserved
	expiry   []reservation        // the reservations, oldest first
	history  [historyLen]entry
	next     int           // where the next message goes in history
	posted   int           // messages posted since start
	changed  chan struct{} // closed and replaced when RoomStats change
	stats    *RoomStats    // the current RoomStats, once asked for; nil after a change
	messages ws.Emitter[ChatMessage]
	typing   ws.Emitter[Typing]
}

// ReserveFor is how long a name left on /ws stays reserved against /chat:
// the time to reload the page or reconnect.
const ReserveFor = 10 * time.Minute

// maxReserved bounds the names reserved at once; past it, the oldest
// reservation ends early.
const maxReserved = 10000

type reservation struct {
	key   string
	until time.Time
}

// entry is a message of the history, with the key of its name and where
// it was posted.
type entry struct {
	msg  ChatMessage
	key  string
	live bool // posted on /ws
}

// NewChat returns an empty room whose members are kept in h, with its
// [Chat.Router] built with opts.
func NewChat(h *hub.Hub, opts ...ws.RouterOption) *Chat {
	c := &Chat{hub: h, clock: time.Now, names: make(map[string]member), reserved: make(map[string]time.Time), changed: make(chan struct{})}
	c.router = c.newRouter(opts)
	return c
}

// member is a /ws connection that has joined with a name.
type member struct {
	conn *ws.Conn
	name string
}

// userKey stores the name a /ws connection joined with ([ws.Conn.Set]),
// as a joined value.
type userKey struct{}

// joined is a name taken on /ws: as shown, and its key.
type joined struct{ name, key string }

// now is the time stamped on a message.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// notifyLocked wakes the chat.watch streams.
func (c *Chat) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
	c.stats = nil
}

func (c *Chat) notify() {
	c.mu.Lock()
	c.notifyLocked()
	c.mu.Unlock()
}

// roomStats returns the room's stats and a channel closed when they
// change. The stats are made once per change, whatever the number of
// streams watching.
func (c *Chat) roomStats() (RoomStats, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats == nil {
		online := make([]string, 0, len(c.names))
		for _, m := range c.names {
			online = append(online, m.name)
		}
		slices.Sort(online)
		c.stats = &RoomStats{Online: online[:min(len(online), maxOnline)], Joined: len(online),
			Connections: c.hub.Count(room), Messages: c.posted}
	}
	return *c.stats, c.changed
}

// post keeps msg, under the name of key, in the history and pushes it to
// everyone in the room but the sender. Both happen under c.mu, so the
// history keeps the order in which the room's members get the pushes.
// live tells a message of /ws from one of /chat.
func (c *Chat) post(ctx context.Context, msg ChatMessage, key string, live bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.hub.BroadcastExcept(ctx, room, ws.ConnFromContext(ctx), c.messages.Push(msg)); err != nil {
		return err // the client gets a 500; the error is logged
	}
	c.history[c.next] = entry{msg: msg, key: key, live: live}
	c.next = (c.next + 1) % historyLen
	c.posted++
	c.notifyLocked()
	return nil
}

// last returns the last n messages, n ≤ historyLen, oldest first.
func (c *Chat) last(n int) []ChatMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(n, c.posted)
	out := make([]ChatMessage, 0, n)
	for i := c.next - n; i < c.next; i++ {
		out = append(out, c.history[(i+historyLen)%historyLen].msg)
	}
	return out
}

// inHistoryLocked reports whether a message of the history was posted
// under key, on /ws (live) or on /chat.
func (c *Chat) inHistoryLocked(key string, live bool) bool {
	for _, e := range c.history[:min(c.posted, historyLen)] {
		if e.key == key && e.live == live {
			return true
		}
	}
	return false
}

// reserveLocked reserves key against /chat for ReserveFor from now.
func (c *Chat) reserveLocked(key string) {
	now := c.clock()
	c.expireLocked(now)
	until := now.Add(ReserveFor)
	c.reserved[key] = until
	c.expiry = append(c.expiry, reservation{key: key, until: until})
	for len(c.reserved) > maxReserved {
		c.dropOldestLocked()
	}
}

// reservedLocked reports whether key is reserved against /chat.
func (c *Chat) reservedLocked(key string) bool {
	c.expireLocked(c.clock())
	_, ok := c.reserved[key]
	return ok
}

// expireLocked ends the reservations that are over.
func (c *Chat) expireLocked(now time.Time) {
	for len(c.expiry) > 0 && !now.Before(c.expiry[0].until) {
		c.dropOldestLocked()
	}
}

// dropOldestLocked ends the oldest reservation, unless the name was
// reserved again since.
func (c *Chat) dropOldestLocked() {
	r := c.expiry[0]
	c.expiry[0] = reservation{}
	c.expiry = c.expiry[1:]
	if c.reserved[r.key].Equal(r.until) {
		delete(c.reserved, r.key)
	}
	if len(c.expiry) == 0 {
		c.expiry = nil
	}
}

// ChatRequest is one message a client of GET /chat sends. The validate tags
// are checked before Receive runs, then the name's rule (see
// [JoinRequest]); a message that fails them is answered with a 400
// errorList, such as
//
//	{"loc": ["message"], "type": "string_too_long", "msg": "String should have at most 500 characters"}
type ChatRequest struct {
	Message string `json:"message" validate:"required,notblank,max=500"`
	User    string `json:"user" validate:"required,max=24"`
}

// Validate checks the name by the rule of names.
func (r *ChatRequest) Validate(context.Context) error {
	if _, _, refused := normalName(r.User, "user"); refused != nil {
		return *refused
	}
	return nil
}

// Connect puts a new /chat connection in the room.
func (c *Chat) Connect(ctx context.Context, conn *ws.Conn) error {
	if err := c.hub.Join(conn, room); err != nil {
		return err
	}
	c.notify()
	return nil
}

// Receive gets every valid message of a /chat client, which names its user
// in each. A name joined on GET /ws, or reserved for a user of /ws, is
// refused with a 409; otherwise the message is pushed to the others in the
// room as chat.message under the name in its normal form, and the sender
// gets it as its 200 reply.
func (c *Chat) Receive(ctx context.Context, in ChatRequest) (ChatMessage, error) {
	name, key, refused := normalName(in.User, "user")
	if refused != nil {
		return ChatMessage{}, ws.BadRequest(ws.ErrorList{Errors: []ws.ErrorDetail{*refused}})
	}
	c.mu.Lock()
	_, taken := c.names[key]
	reserved := !taken && (c.reservedLocked(key) || c.inHistoryLocked(key, true))
	c.mu.Unlock()
	switch {
	case taken:
		return ChatMessage{}, nameTaken(name)
	case reserved:
		return ChatMessage{}, ws.NewError(http.StatusConflict, refusal("user", "name_reserved",
			fmt.Sprintf("The name %q belongs to a user of the page: pick another one", name)))
	}
	msg := ChatMessage{Message: in.Message, User: name, Time: now()}
	if err := c.post(ctx, msg, key, false); err != nil {
		return ChatMessage{}, err
	}
	return msg, nil
}

// Disconnect takes a connection out of the room, and frees its name,
// whatever ended it; the name stays reserved against /chat for
// ReserveFor.
func (c *Chat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {
	c.hub.LeaveAll(conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if j, ok := conn.Get(userKey{}).(joined); ok && c.names[j.key].conn == conn {
		delete(c.names, j.key)
		c.reserveLocked(j.key)
	}
	c.notifyLocked()
}

// refusal is the body of a refused request: the errorList of a 400, so
// that a client shows every refusal the same way.
func refusal(loc, typ, msg string) ws.ErrorList {
	l := []any{}
	if loc != "" {
		l = append(l, loc)
	}
	return ws.ErrorList{Errors: []ws.ErrorDetail{{Loc: l, Type: typ, Msg: msg}}}
}

// nameTaken is the 409 of a name someone else has taken.
func nameTaken(name string) *ws.Error {
	return ws.NewError(http.StatusConflict, refusal("user", "name_taken",
		fmt.Sprintf("The name %q is taken in this room: pick another one", name)))
}
