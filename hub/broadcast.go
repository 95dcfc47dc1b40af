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
// When v does not encode, or the broker refuses the message, Broadcast
// returns the error and nobody receives the message. It returns ctx's error
// when ctx is done before it starts.
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
// [Hub.Identify], on every hub, like [Hub.Broadcast]. Sending to an id that
// nobody has is not an error.
func (h *Hub) SendTo(ctx context.Context, id string, v any) error {
	return h.send(ctx, kindID, id, nil, v)
}

func (h *Hub) send(ctx context.Context, kind, name string, except *ws.Conn, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	frame, err := h.encode(v)
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
	if h.broker != nil {
		subj := ""
		if g != nil {
			subj = g.subject
		} else {
			subj = subject(kind, name)
		}
		if err := h.broker.Publish(ctx, subj, frame); err != nil {
			return fmt.Errorf("hub: publish %s: %w", subj, err)
		}
	}
	if g != nil {
		g.deliver(&message{data: frame[headerLen:]}, except)
	}
	return nil
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
// allocation that all recipients share and nobody modifies.
func (h *Hub) encode(v any) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
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
