package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/cafeto-go/ws"
)

// Broadcast sends v, encoded as JSON once, as one text frame to every
// member of room, on this hub and on the others the broker reaches. It
// does not wait for the frames to be written: it queues them, and a member
// whose queue is full is disconnected as too slow.
//
// When v does not encode, Broadcast returns the error (wrapping [ErrPanic]
// if its encoding panicked) and nobody receives the message. When the
// broker refuses the message, the members on this hub still receive it,
// and Broadcast returns the broker's error. It returns ctx's error when
// ctx is done before it starts, and an error wrapping [ErrNameTooLong] or
// [ErrEmptyName] for a room name the hub does not take.
func (h *Hub) Broadcast(ctx context.Context, room string, v any) error {
	return h.send(ctx, kindRoom, room, nil, v)
}

// BroadcastExcept is [Hub.Broadcast] to every member of room but except,
// typically the sender: ws.ConnFromContext(ctx) in onReceive. Across hubs
// too, only except is left out, and every other member receives the
// message once.
func (h *Hub) BroadcastExcept(ctx context.Context, room string, except *ws.Conn, v any) error {
	return h.send(ctx, kindRoom, room, except, v)
}

// SendTo sends v to every connection identified as id with
// [Hub.Identify], on every hub, like [Hub.Broadcast], with the same
// errors. Sending to an id that nobody has is not an error.
func (h *Hub) SendTo(ctx context.Context, id string, v any) error {
	return h.send(ctx, kindID, id, nil, v)
}

func (h *Hub) send(ctx context.Context, kind, name string, except *ws.Conn, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := h.checkName(kind, name); err != nil {
		return err
	}
	frame, err := h.encode(ctx, v)
	if err != nil {
		return err
	}
	h.mu.RLock()
	closed := h.closed
	g := h.table(kind)[name]
	h.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	// A broker that fails does not keep the message from the members
	// here: their delivery does not depend on it.
	var perr error
	if h.broker != nil {
		subj := ""
		if g != nil {
			subj = g.subject
		} else {
			subj = subject(kind, name)
		}
		if err := h.publish(ctx, subj, frame); err != nil {
			perr = fmt.Errorf("hub: publish %s: %w", subj, err)
		}
	}
	if g != nil {
		g.deliver(&message{data: frame[headerLen:]}, except)
	}
	return perr
}

// A frame is what a hub publishes: a header naming the hub, then the
// message as its members receive it.
const (
	frameVersion = 1
	nodeIDLen    = 16
	headerLen    = 1 + nodeIDLen
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode returns the frame of v: the header and v's JSON, in one
// allocation that all recipients share and nobody modifies. A panic of v's
// encoding methods is recovered, logged and returned as an error.
func (h *Hub) encode(ctx context.Context, v any) (frame []byte, err error) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if r := recover(); r != nil {
			frame, err = nil, h.recovered(ctx, "encode", r)
		}
		if buf.Cap() <= 64<<10 {
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	buf.WriteByte(frameVersion)
	buf.Write(h.node[:])
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return nil, fmt.Errorf("hub: encode: %w", err)
	}
	b := buf.Bytes()
	return bytes.Clone(b[:len(b)-1]), nil // without Encode's newline
}

// receiver returns the broker callback of g: it delivers the messages of
// other hubs to g's members here, and drops this hub's own, which it has
// delivered already.
func (h *Hub) receiver(g *group) func([]byte) {
	return func(frame []byte) {
		if len(frame) < headerLen || frame[0] != frameVersion {
			h.logger.Error("hub: malformed message from the broker", "subject", g.subject, "len", len(frame))
			return
		}
		if [nodeIDLen]byte(frame[1:headerLen]) == h.node {
			return
		}
		g.deliver(&message{data: frame[headerLen:]}, nil)
	}
}
