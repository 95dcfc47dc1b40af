package hub

import (
	"bytes"
	"context"
	"encoding/binary"
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
	h.mu.RLock()
	closed := h.closed
	g := h.table(kind)[name]
	var ex uint64
	if c := h.clients[except]; c != nil && except != nil {
		ex = c.serial
	}
	h.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	frame, err := h.encode(ctx, v, ex)
	if err != nil {
		return err
	}
	if kind == kindRoom {
		if limits, ok := h.historyOf(name); ok {
			return h.sendHistory(ctx, g, name, frame, limits)
		}
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
		g.deliver(&message{data: frame[headerLen:]}, ex)
	}
	return perr
}

// sendHistory appends frame to the history of room, whose group here is g
// (nil: no member here). Every member, on this hub too, receives it from
// the history's subscription, with its offset; a message the history did
// not take reaches nobody.
func (h *Hub) sendHistory(ctx context.Context, g *group, room string, frame []byte, limits History) error {
	payload := frame[headerLen:]
	if len(payload) < 2 || payload[0] != '{' {
		return fmt.Errorf("%w, not %.20s", ErrNotObject, payload)
	}
	subj := ""
	if g != nil {
		subj = g.subject
	} else {
		subj = subject(kindRoom, room)
	}
	if _, err := h.appendHistory(ctx, subj, frame, limits); err != nil {
		return fmt.Errorf("hub: append %s: %w", subj, err)
	}
	return nil
}

// A frame is what a hub publishes: a header naming the hub and the
// connection a BroadcastExcept leaves out (its serial, big-endian; 0:
// none), then the message as its members receive it. A frame of version 1
// has no serial.
const (
	frameVersion = 2
	nodeIDLen    = 16
	headerLen    = 1 + nodeIDLen + 8
	headerLenV1  = 1 + nodeIDLen
)

// parseFrame returns the parts of frame, and false if it is not a frame.
func parseFrame(frame []byte) (node [nodeIDLen]byte, except uint64, payload []byte, ok bool) {
	switch {
	case len(frame) >= headerLen && frame[0] == frameVersion:
		return [nodeIDLen]byte(frame[1:]), binary.BigEndian.Uint64(frame[1+nodeIDLen:]), frame[headerLen:], true
	case len(frame) >= headerLenV1 && frame[0] == 1:
		return [nodeIDLen]byte(frame[1:]), 0, frame[headerLenV1:], true
	}
	return node, 0, nil, false
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode returns the frame of v: the header and v's JSON, in one
// allocation that all recipients share and nobody modifies. A panic of v's
// encoding methods is recovered, logged and returned as an error.
func (h *Hub) encode(ctx context.Context, v any, except uint64) (frame []byte, err error) {
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
	var ex [8]byte
	binary.BigEndian.PutUint64(ex[:], except)
	buf.Write(ex[:])
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
		node, _, payload, ok := parseFrame(frame)
		if !ok {
			h.logger.Error("hub: malformed message from the broker", "subject", g.subject, "len", len(frame))
			return
		}
		if node == h.node {
			return
		}
		g.deliver(&message{data: payload}, 0)
	}
}
