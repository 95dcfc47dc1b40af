package chatapp

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cafeto-go/ws"
)

// The events of GET /ws. A client sends {"event", "id", "data"} and gets
// {"id", "event", "statusCode", "body"} back (docs/demo.md shows them all).

// JoinRequest is the data of chat.join: the name to chat under, chosen
// once per connection and unique in the room.
type JoinRequest struct {
	User string `json:"user" validate:"required,notblank,max=32"`
}

// Joined is the body of chat.join's 200 reply: the name as the room shows
// it, without leading or trailing spaces.
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

// newRouter returns the Router of GET /ws, with opts, on which c's events
// and pushes are registered:
//
//	chat.join     JoinRequest    → Joined
//	chat.send     SendRequest    → ChatMessage, and chat.message pushed to the others
//	chat.history  HistoryRequest → []ChatMessage
//	chat.typing   TypingRequest  → 204, and chat.typing pushed to the others
//	chat.watch    WatchRequest   ⇒ RoomStats, a stream, until $cancel
func (c *Chat) newRouter(opts []ws.RouterOption) *ws.Router {
	r := ws.NewRouter(opts...)
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
// only a name nobody else in the room has (409 otherwise). Joining again
// with the same name changes nothing.
func (c *Chat) Join(ctx context.Context, in JoinRequest) (Joined, error) {
	conn := ws.ConnFromContext(ctx)
	name := strings.TrimSpace(in.User)
	key := nameKey(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := conn.Get(userKey{}).(string); ok {
		if nameKey(had) == key {
			return Joined{User: had}, nil
		}
		return Joined{}, ws.NewError(http.StatusConflict, refusal("user", "already_joined",
			fmt.Sprintf("You have joined as %q: a name is chosen once per connection", had)))
	}
	if _, taken := c.names[key]; taken {
		return Joined{}, nameTaken(name)
	}
	c.names[key] = member{conn: conn, name: name}
	conn.Set(userKey{}, name)
	c.notifyLocked()
	return Joined{User: name}, nil
}

// user returns the name the connection of ctx joined with, or the 403 of a
// connection that has not joined.
func user(ctx context.Context) (string, error) {
	if name, ok := ws.ConnFromContext(ctx).Get(userKey{}).(string); ok {
		return name, nil
	}
	return "", ws.Forbidden(refusal("", "not_joined", "Join the room with chat.join first"))
}

// Send posts a message under the connection's name: the 200 reply to the
// sender, chat.message to everyone else in the room, /chat clients too.
func (c *Chat) Send(ctx context.Context, in SendRequest) (ChatMessage, error) {
	name, err := user(ctx)
	if err != nil {
		return ChatMessage{}, err
	}
	msg := ChatMessage{Message: in.Message, User: name, Time: now()}
	if err := c.post(ctx, msg); err != nil {
		return ChatMessage{}, err
	}
	return msg, nil
}

// History returns the room's last messages, oldest first.
func (c *Chat) History(ctx context.Context, in HistoryRequest) ([]ChatMessage, error) {
	n := in.Limit
	if n == 0 {
		n = historyLen
	}
	return c.last(n), nil
}

// Typing tells the others on /ws that the connection's user is typing.
func (c *Chat) Typing(ctx context.Context, _ TypingRequest) (ws.StatusEnvelope[struct{}], error) {
	name, err := user(ctx)
	if err != nil {
		return ws.StatusEnvelope[struct{}]{}, err
	}
	push := c.typing.Push(Typing{User: name})
	if err := c.hub.BroadcastExcept(ctx, liveRoom, ws.ConnFromContext(ctx), push); err != nil {
		return ws.StatusEnvelope[struct{}]{}, err
	}
	return ws.NoContent[struct{}](), nil
}

// Watch streams the room's stats: now, then whenever they change, at most
// one item every watchEvery, until the client sends $cancel or leaves.
func (c *Chat) Watch(ctx context.Context, _ WatchRequest, send func(RoomStats) error) error {
	for {
		stats, changed := c.stats()
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
