package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
)

// Message is a frame that no call, stream or [On] handler took, as given
// to the function of [WithUnhandled].
type Message struct {
	// Event is the frame's "event", or "" when it has none.
	Event string
	// Room is the frame's "room" when it is a push of a room with history
	// (or a $recover), else "".
	Room string
	// Status is the frame's "statusCode", or 0 when it has none.
	Status int
	// Body is the frame's "body"; for a frame that is not an envelope
	// (no "statusCode"), the whole frame.
	Body json.RawMessage
}

// push is a frame on its way to a push handler.
type push struct {
	run  func(ctx context.Context) error
	msg  Message   // for the log
	hist *histPush // a push of a room with history: handed over once
	rec  *Recovery // a $recover
}

// On makes fn the handler of the pushes of event:
//
//	wsclient.On(c, "chat.message", func(ctx context.Context, m ChatMessage) { … })
//
// A push is a frame {"event": event, "statusCode": …, "body": …} without
// an id ([ws.Push] on the server); its body is decoded into T. A frame
// that has an "event" but is no envelope is decoded whole.
//
// Pushes are handed over by the reader to one goroutine per client, which
// runs the handlers one at a time, in the order the pushes arrived, all
// events together. A handler may make calls and open streams: the reader
// never waits for handlers. While handlers are busy, up to [WithBuffer]
// pushes wait; when that buffer is full, further pushes are dropped and
// logged, until the handlers catch up. ctx is done once the client is
// closed. A panic in fn is recovered and logged; a body that does not
// decode into T is logged and dropped.
//
// On replaces the handler event had; a nil fn removes it. Register
// handlers before [Client.Connect] to see the pushes the server sends as
// soon as the connection opens. On is safe for concurrent use.
//
// Pushes of a room with history (they carry "room", "epoch" and "offset")
// are handed over once each, in the order of their offsets: the client
// keeps the position of the last one handed over, resumes from it when it
// reconnects, and drops a push it has handed over already. They are never
// dropped for a full buffer: the connection is dropped instead (see
// [ErrPushOverflow]) and a reconnecting client resumes where its handlers
// are. Those that have no event, a [ws.Callback] endpoint's broadcasts,
// go to the handler of the event "", else to [WithUnhandled]; they are not
// replies to [Send]. The $recover pushes go to [WithOnRecover], the
// $presence pushes to [WithOnPresence] and [Client.Presence].
func On[T any](c *Client, event string, fn func(ctx context.Context, v T)) {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	if fn == nil {
		delete(c.handlers, event)
		return
	}
	c.handlers[event] = func(ctx context.Context, body []byte) error {
		var v T
		if err := json.Unmarshal(body, &v); err != nil {
			return fmt.Errorf("wsclient: push does not decode: %w", err)
		}
		fn(ctx, v)
		return nil
	}
}

// push hands a push to its handler's goroutine, on the reader; body is
// copied. hist is the room and position of a push of a room with history,
// else nil. It reports false when the buffer was full.
func (c *Client) push(event string, status int, body []byte, hist *histPush) bool {
	c.hmu.RLock()
	h := c.handlers[event]
	c.hmu.RUnlock()
	if h == nil {
		m := Message{Event: event, Status: status, Body: bytes.Clone(body)}
		if hist != nil {
			m.Room = hist.room
		}
		return c.unhandled(m, hist)
	}
	body = bytes.Clone(body)
	return c.enqueue(push{run: func(ctx context.Context) error { return h(ctx, body) }, msg: Message{Event: event, Status: status}, hist: hist})
}

// unhandled hands m to the function of WithUnhandled, if any; hist is as
// for push. It reports false when the buffer was full.
func (c *Client) unhandled(m Message, hist *histPush) bool {
	fn := c.o.unhandled
	if fn == nil {
		if hist != nil {
			// Its position is the room's all the same.
			return c.enqueue(push{run: func(context.Context) error { return nil }, msg: m, hist: hist})
		}
		c.o.logger.DebugContext(c.ctx, "wsclient: frame dropped: no handler", "event", m.Event, "status", m.Status)
		return true
	}
	return c.enqueue(push{run: func(ctx context.Context) error { fn(ctx, m); return nil }, msg: m, hist: hist})
}

// enqueue queues p without waiting; a full queue drops it, and enqueue
// reports false.
func (c *Client) enqueue(p push) bool {
	select {
	case c.pushq <- p:
		return true
	default:
		c.o.logger.WarnContext(c.ctx, "wsclient: push dropped: handlers are behind", "event", p.msg.Event, "buffer", cap(c.pushq))
		return false
	}
}

// dispatch runs the push handlers, one at a time, until the client is
// closed.
func (c *Client) dispatch() {
	defer c.wg.Done()
	for {
		select {
		case p := <-c.pushq:
			c.runPush(p)
		case <-c.ctx.Done():
			return
		}
	}
}

// runPush runs one handler under a guard.
func (c *Client) runPush(p push) {
	defer func() {
		if r := recover(); r != nil {
			c.o.logger.ErrorContext(c.ctx, "wsclient: panic in push handler", "event", p.msg.Event, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	switch {
	case p.hist != nil && !c.handOver(p.hist):
		c.o.logger.DebugContext(c.ctx, "wsclient: push dropped: handed over already", "room", p.hist.room, "epoch", p.hist.epoch, "offset", p.hist.offset)
		return
	case p.rec != nil:
		c.recovered(p.rec)
	}
	if err := p.run(c.ctx); err != nil {
		c.o.logger.WarnContext(c.ctx, "wsclient: push dropped", "event", p.msg.Event, "error", err)
	}
}
