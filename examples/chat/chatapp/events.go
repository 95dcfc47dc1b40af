package chatapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
)

// The events of GET /ws. A client sends {"event", "id", "data"} and gets
// {"id", "event", "statusCode", "body"} back (docs/demo.md shows them all).

// JoinRequest is the data of chat.join: the name to chat under, chosen
// once per connection and unique in the room. A name is 1 to 24
// characters of one script: letters, the digits 0-9, spaces and - _ . '
// (names.go has the whole rule); it is refused with a 400 at ["user"]
// otherwise, such as
//
//	{"loc": ["user"], "type": "name_invisible", "msg": "Name should not hold invisible or control characters: U+200B"}
type JoinRequest struct {
	User string `json:"user" validate:"required,max=24"`
}

// Validate checks the name by the rule of names.
func (r *JoinRequest) Validate(context.Context) error {
	if _, _, refused := normalName(r.User, "user"); refused != nil {
		return *refused
	}
	return nil
}

// Joined is the body of chat.join's 200 reply: the name as the room shows
// it, in its normal form (spaces trimmed and collapsed, fullwidth letters
// made ASCII).
type Joined struct {
	User string `json:"user"`
}

// SendRequest is the data of chat.send. It has no "user": one that a client
// sends is ignored, and the server stamps the name the connection joined
// with.
type SendRequest struct {
	Message string `json:"message" validate:"required,notblank,max=500"`
}

// HistoryRequest is the data of chat.history: how many of the last messages
// to return, all of those kept (50) when Limit is 0.
type HistoryRequest struct {
	Limit int `json:"limit" validate:"gte=0,lte=50"`
}

// TypingRequest is the data of chat.typing: {}.
type TypingRequest struct{}

// WatchRequest is the data of chat.watch: {}.
type WatchRequest struct{}

// watchEvery is the shortest time between two items of a chat.watch
// stream: a busy room's changes are sent together.
const watchEvery = 250 * time.Millisecond

// maxWatches is how many chat.watch streams a connection may have open at
// once: one is what the page needs.
const maxWatches = 2

// newRouter returns the Router of GET /ws, with opts, on which c's events
// and pushes are registered:
//
//	chat.join     JoinRequest    → Joined
//	chat.send     SendRequest    → ChatMessage, and chat.message pushed to the others
//	chat.history  HistoryRequest → []ChatMessage
//	chat.typing   TypingRequest  → 204, and chat.typing pushed to the others
//	chat.watch    WatchRequest   ⇒ RoomStats, a stream, until $cancel
//
// Every message counts against the rate limits of the room (limits.go):
// one for all of them, one for chat.send and one for chat.typing.
func (c *Chat) newRouter(opts []ws.RouterOption) *ws.Router {
	l := newLimits()
	r := ws.NewRouter(append(slices.Clip(opts), ws.WithMaxStreams(maxWatches), l.live, l.send, l.typing)...)
	ws.On(r, "chat.join", c.Join)
	ws.On(r, "chat.send", c.Send)
	ws.On(r, "chat.history", c.History)
	ws.On(r, "chat.typing", c.Typing)
	ws.Stream(r, "chat.watch", c.Watch)
	c.messages = ws.Emits[ChatMessage](r, "chat.message")
	c.typing = ws.Emits[Typing](r, "chat.typing")
	r.OnConnect(c.ConnectLive)
	r.OnDisconnect(c.Disconnect)
	return r
}

// Router returns the Router of GET /ws: the events of the page.
func (c *Chat) Router() *ws.Router { return c.router }

// ConnectLive puts a new /ws connection in the room, where it gets the
// room's pushes before it has joined with a name.
func (c *Chat) ConnectLive(ctx context.Context, conn *ws.Conn) error {
	if err := c.hub.Join(conn, liveRoom); err != nil {
		return err
	}
	return c.Connect(ctx, conn)
}

// Join gives the connection its name in the room: once per connection, and
// only a name nobody else in the room has, nor has posted under on /chat
// in the history (409 otherwise). Joining again with the same name changes
// nothing.
func (c *Chat) Join(ctx context.Context, in JoinRequest) (Joined, error) {
	conn := ws.ConnFromContext(ctx)
	name, key, refused := normalName(in.User, "user")
	if refused != nil {
		return Joined{}, ws.BadRequest(ws.ErrorList{Errors: []ws.ErrorDetail{*refused}})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := conn.Get(userKey{}).(joined); ok {
		if had.key == key {
			return Joined{User: had.name}, nil
		}
		return Joined{}, ws.NewError(http.StatusConflict, refusal("user", "already_joined",
			fmt.Sprintf("You have joined as %q: a name is chosen once per connection", had.name)))
	}
	if _, taken := c.names[key]; taken || c.inHistoryLocked(key, false) {
		return Joined{}, nameTaken(name)
	}
	c.names[key] = member{conn: conn, name: name}
	conn.Set(userKey{}, joined{name: name, key: key})
	c.notifyLocked()
	return Joined{User: name}, nil
}

// user returns the name the connection of ctx joined with, or the 403 of a
// connection that has not joined.
func user(ctx context.Context) (joined, error) {
	if j, ok := ws.ConnFromContext(ctx).Get(userKey{}).(joined); ok {
		return j, nil
	}
	return joined{}, ws.Forbidden(refusal("", "not_joined", "Join the room with chat.join first"))
}

// Send posts a message under the connection's name: the 200 reply to the
// sender, chat.message to everyone else in the room, /chat clients too.
func (c *Chat) Send(ctx context.Context, in SendRequest) (ChatMessage, error) {
	j, err := user(ctx)
	if err != nil {
		return ChatMessage{}, err
	}
	msg := ChatMessage{Message: in.Message, User: j.name, Time: now()}
	if err := c.post(ctx, msg, j.key, true); err != nil {
		return ChatMessage{}, err
	}
	return msg, nil
}

// History returns the room's last messages, oldest first: from the hub's
// history of the room ([KeepHistory]), shared by every server of a hub
// with a broker, or else from this server's memory.
func (c *Chat) History(ctx context.Context, in HistoryRequest) ([]ChatMessage, error) {
	n := in.Limit
	if n == 0 {
		n = historyLen
	}
	pushes, _, err := c.hub.History(ctx, room)
	if errors.Is(err, hub.ErrNoHistory) {
		return c.last(n), nil
	}
	if err != nil {
		return nil, err // the client gets a 500; the error is logged
	}
	pushes = pushes[max(0, len(pushes)-n):]
	out := make([]ChatMessage, 0, len(pushes))
	for _, p := range pushes {
		var m struct {
			Body ChatMessage `json:"body"`
		}
		if err := json.Unmarshal(p, &m); err != nil {
			return nil, err
		}
		out = append(out, m.Body)
	}
	return out, nil
}

// Typing tells the others on /ws that the connection's user is typing.
func (c *Chat) Typing(ctx context.Context, _ TypingRequest) (ws.StatusEnvelope[struct{}], error) {
	j, err := user(ctx)
	if err != nil {
		return ws.StatusEnvelope[struct{}]{}, err
	}
	push := c.typing.Push(Typing{User: j.name})
	if err := c.hub.BroadcastExcept(ctx, liveRoom, ws.ConnFromContext(ctx), push); err != nil {
		return ws.StatusEnvelope[struct{}]{}, err
	}
	return ws.NoContent[struct{}](), nil
}

// Watch streams the room's stats: now, then whenever they change, at most
// one item every watchEvery, until the client sends $cancel or leaves. A
// connection may watch twice at once (maxWatches); an item lists 20 names
// at most, so its size does not grow with the room.
func (c *Chat) Watch(ctx context.Context, _ WatchRequest, send func(RoomStats) error) error {
	for {
		stats, changed := c.roomStats()
		if err := send(stats); err != nil {
			return err
		}
		pause := time.NewTimer(watchEvery)
		select {
		case <-ctx.Done():
			pause.Stop()
			return nil
		case <-pause.C:
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}
