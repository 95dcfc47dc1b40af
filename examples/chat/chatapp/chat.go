package chatapp

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
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
// this server.
type RoomStats struct {
	Online      []string `json:"online"`      // the names joined on /ws, sorted
	Connections int      `json:"connections"` // connections in the room, /chat and /ws
	Messages    int      `json:"messages"`    // messages posted since the server started
}

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

// Chat is the room: the names taken in it, its last messages, and its
// members in a hub, each with a bounded queue of its own (a client too slow
// to keep up is disconnected with 1008). Its methods are the callbacks of
// GET /chat and the events of GET /ws; they are safe for concurrent use.
//
// Names and history live in this process: with a hub shared over a broker
// (natsbroker/chatnats), messages reach every server, but each server checks
// names among its own connections and keeps the history of the messages
// posted on it.
type Chat struct {
	hub    *hub.Hub
	router *ws.Router

	mu       sync.Mutex
	names    map[string]member // by nameKey: the names joined on /ws
	history  [historyLen]ChatMessage
	next     int           // where the next message goes in history
	posted   int           // messages posted since start
	changed  chan struct{} // closed and replaced when RoomStats change
	messages ws.Emitter[ChatMessage]
	typing   ws.Emitter[Typing]
}

// NewChat returns an empty room whose members are kept in h, with its
// [Chat.Router] built with opts.
func NewChat(h *hub.Hub, opts ...ws.RouterOption) *Chat {
	c := &Chat{hub: h, names: make(map[string]member), changed: make(chan struct{})}
	c.router = c.newRouter(opts)
	return c
}

// member is a /ws connection that has joined with a name.
type member struct {
	conn *ws.Conn
	name string
}

// userKey stores the name a /ws connection joined with ([ws.Conn.Set]).
type userKey struct{}

// nameKey is what two names that cannot both be taken have in common:
// "Ana", "ana" and " Ana " are one name.
func nameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// now is the time stamped on a message.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// notifyLocked wakes the chat.watch streams.
func (c *Chat) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Chat) notify() {
	c.mu.Lock()
	c.notifyLocked()
	c.mu.Unlock()
}

// stats returns the room's stats and a channel closed when they change.
func (c *Chat) stats() (RoomStats, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	online := make([]string, 0, len(c.names))
	for _, m := range c.names {
		online = append(online, m.name)
	}
	slices.Sort(online)
	return RoomStats{Online: online, Connections: c.hub.Count(room), Messages: c.posted}, c.changed
}

// post keeps msg in the history and pushes it to everyone in the room but
// the sender. Both happen under c.mu, so the history keeps the order in
// which the room's members get the pushes.
func (c *Chat) post(ctx context.Context, msg ChatMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.hub.BroadcastExcept(ctx, room, ws.ConnFromContext(ctx), c.messages.Push(msg)); err != nil {
		return err // the client gets a 500; the error is logged
	}
	c.history[c.next] = msg
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
		out = append(out, c.history[(i+historyLen)%historyLen])
	}
	return out
}

// ChatRequest is one message a client of GET /chat sends. The validate tags
// are checked before Receive runs; a message that fails them is answered
// with a 400 errorList, such as
//
//	{"loc": ["message"], "type": "string_too_long", "msg": "String should have at most 500 characters"}
type ChatRequest struct {
	Message string `json:"message" validate:"required,notblank,max=500"`
	User    string `json:"user" validate:"required,notblank,max=32"`
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
// in each. A name joined on GET /ws is refused with a 409; otherwise the
// message is pushed to the others in the room as chat.message, and the
// sender gets it as its 200 reply.
func (c *Chat) Receive(ctx context.Context, in ChatRequest) (ChatMessage, error) {
	c.mu.Lock()
	_, taken := c.names[nameKey(in.User)]
	c.mu.Unlock()
	if taken {
		return ChatMessage{}, nameTaken(in.User)
	}
	msg := ChatMessage{Message: in.Message, User: in.User, Time: now()}
	if err := c.post(ctx, msg); err != nil {
		return ChatMessage{}, err
	}
	return msg, nil
}

// Disconnect takes a connection out of the room, and frees its name,
// whatever ended it.
func (c *Chat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {
	c.hub.LeaveAll(conn)
	c.mu.Lock()
	defer c.mu.Unlock()
	if name, ok := conn.Get(userKey{}).(string); ok && c.names[nameKey(name)].conn == conn {
		delete(c.names, nameKey(name))
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

// nameTaken is the 409 of a name someone else has joined with.
func nameTaken(name string) *ws.Error {
	return ws.NewError(http.StatusConflict, refusal("user", "name_taken",
		fmt.Sprintf("The name %q is taken in this room: pick another one", strings.TrimSpace(name))))
}
