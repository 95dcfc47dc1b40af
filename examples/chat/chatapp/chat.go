package chatapp

import (
	"context"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
)

// ChatRequest is one message a client sends. The validate tags are checked
// before Receive runs; a message that fails them is answered with a 400
// errorList, such as
//
//	{"loc": ["message"], "type": "string_too_long", "msg": "String should have at most 500 characters"}
type ChatRequest struct {
	Message string `json:"message" validate:"required,min=1,max=500"`
	User    string `json:"user" validate:"required,min=1,max=32"`
}

// ChatMessage is a message as everyone in the room sees it: the body of the
// sender's 200 reply and of the push to the others.
type ChatMessage struct {
	Message string    `json:"message"`
	User    string    `json:"user"`
	At      time.Time `json:"at"` // RFC 3339, UTC
}

// room is the one room of this chat.
const room = "lobby"

// Chat is the controller of GET /chat: its methods are the connection's
// callbacks. The hub holds the room's members, each with a bounded queue of
// its own: a client too slow to keep up is disconnected with 1008.
type Chat struct {
	hub *hub.Hub
}

// Connect puts a new connection in the room.
func (c *Chat) Connect(ctx context.Context, conn *ws.Conn) error {
	return c.hub.Join(conn, room)
}

// Receive gets every valid message. It pushes the message to the others in
// the room, in the same envelope as a reply, and returns it: the sender gets
// it as its 200 reply.
func (c *Chat) Receive(ctx context.Context, in ChatRequest) (ChatMessage, error) {
	msg := ChatMessage{Message: in.Message, User: in.User, At: time.Now().UTC().Truncate(time.Second)}
	if err := c.hub.BroadcastExcept(ctx, room, ws.ConnFromContext(ctx), ws.Ok(msg)); err != nil {
		return ChatMessage{}, err // the client gets a 500; the error is logged
	}
	return msg, nil
}

// Disconnect takes a connection out of the room, whatever ended it.
func (c *Chat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {
	c.hub.LeaveAll(conn)
}
