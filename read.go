package ws

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Reading a connection, and watching its peer while the server is busy.
//
// One consumer reads: the serve loop of a Callback or a Router, or the
// user's ReceiveJSON. It reads the connection itself (the fast path: no
// goroutine, no queue). When it has not read for takeoverDelay, the timer
// starts a reader that takes over: it reads ahead into a queue, so that a
// close frame, a dropped TCP connection or a pong is seen while the consumer
// is busy. It stops when the queue reaches its budget (reading pauses), or
// when the consumer comes back to an empty queue and waits: the reader hands
// reading back. Between messages it waits for the peer without consuming a
// byte (a peek at the buffered reader), so that the consumer can take
// reading back at once: an idle connection has no reader of its own.

// takeoverDelay is how long nobody may read before a reader takes over:
// long enough that a quick handler never needs one, short enough that a
// peer that leaves is seen within a second.
const takeoverDelay = 50 * time.Millisecond

// The read-ahead budget: the queue takes messages while it holds fewer than
// aheadMessages and fewer bytes than max(aheadBytes, the read limit).
const (
	aheadMessages = 16
	aheadBytes    = 64 << 10
)

// aheadQueue is the messages read ahead, oldest first, linked through their
// buffers: an empty queue holds nothing.
type aheadQueue struct {
	head, tail *buffer
	n, size    int // messages and bytes queued
}

func (q *aheadQueue) push(b *buffer) {
	if q.tail == nil {
		q.head = b
	} else {
		q.tail.next = b
	}
	q.tail = b
	q.n++
	q.size += b.Len()
}

func (q *aheadQueue) pop() *buffer {
	b := q.head
	q.head, b.next = b.next, nil
	if q.head == nil {
		q.tail = nil
	}
	q.n--
	q.size -= b.Len()
	return b
}

// full reports whether the queue has reached its budget of budget bytes.
func (q *aheadQueue) full(budget int) bool {
	return q.n >= aheadMessages || q.size >= budget
}

// drain gives the queued buffers back to the pool.
func (q *aheadQueue) drain() {
	for q.head != nil {
		putBuffer(q.pop())
	}
}

// read returns the next message; it is valid until the next read. It takes
// the oldest message read ahead, or reads the connection itself.
func (c *Conn) read(ctx context.Context) ([]byte, error) {
	// The takeover timer may fire while we read: it sees c.waiting and
	// does nothing, so it is not stopped here, which saves a timer
	// operation per message.
	c.rmu.Lock()
	putBuffer(c.held)
	c.held = nil
	c.waiting = true
	inline := false
	var b *buffer
	var err error
	for b == nil && err == nil && !inline {
		switch {
		case c.queue.head != nil && c.ctx.Err() == nil:
			b = c.queue.pop()
		case c.taken:
			// The reader that took over is reading: it hands over what it
			// reads next, and reading with it; if it is only waiting for
			// the peer, it stops now.
			if c.peeking {
				c.interruptLocked()
			}
			c.rmu.Unlock()
			err = c.waitAhead(ctx)
			c.rmu.Lock()
		default:
			inline = true
			c.resumeLocked()
		}
	}
	c.rmu.Unlock()
	if inline {
		b, err = c.readMessage(ctx)
	}

	c.rmu.Lock()
	c.waiting = false
	c.held = b
	if c.tr != nil {
		// Replies to what is buffered already will follow this one's: it
		// may wait for them. Nobody else reads here: c.waiting keeps the
		// reader that takes over away, c.closing a close handshake.
		c.tr.more.Store(err == nil && inline && !c.closing && c.dataBuffered())
	}
	if err == nil {
		c.handed++
		c.rtimer.Reset(takeoverDelay)
	}
	c.rmu.Unlock()
	if err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// dataBuffered reports whether the start of a data frame is buffered
// already, so that a reply will follow this one's. A control frame does not
// count: the close frame of a peer that leaves right after its last
// messages must find their replies sent, not held.
func (c *Conn) dataBuffered() bool {
	if c.tr.br.Buffered() == 0 {
		return false
	}
	p, _ := c.tr.br.Peek(1) // buffered: it does not block
	return len(p) == 1 && p[0]&0x08 == 0
}

// waitAhead waits until the reader that took over has read a message or
// stopped, or the connection or ctx ends.
func (c *Conn) waitAhead(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-c.ctx.Done():
		return c.endErr()
	case <-ctx.Done():
		c.closeNow(context.Cause(ctx))
		return c.endErr()
	}
}

// takeOver runs from c.rtimer when nobody has read for takeoverDelay: unless
// the consumer reads, a reader is at work already, or the queue is full, it
// reads ahead.
func (c *Conn) takeOver() {
	c.rmu.Lock()
	if c.waiting || c.taken || c.closing || c.queue.full(c.budget) || c.ctx.Err() != nil {
		c.rmu.Unlock()
		return
	}
	c.taken = true
	c.resumeLocked()
	c.rmu.Unlock()
	if c.tr != nil {
		// The consumer is busy: what waits for its next reply goes now.
		c.tr.more.Store(false)
		c.tr.flush()
	}
	c.readAhead()
}

// readAhead reads messages into the queue while the consumer is busy. It
// stops when the connection ends or a close handshake begins; when the
// queue reaches its budget (reading pauses until the consumer takes a
// message and the timer starts a reader again); and when the consumer waits
// for a message: then it hands over the message it read, and reading.
func (c *Conn) readAhead() {
	for c.awaitPeer() {
		b, err := c.readMessage(c.ctx)
		c.rmu.Lock()
		early := c.early
		c.rmu.Unlock()
		if err == nil && early != nil && early(b) {
			putBuffer(b)
			b = nil
		}
		c.rmu.Lock()
		if b != nil {
			c.queue.push(b)
		}
		stop := err != nil || c.waiting || c.closing
		if !stop && c.queue.full(c.budget) {
			stop = true
			c.paused = true
			c.stalls.Add(1)
		}
		if stop {
			c.stopLocked()
		}
		c.rmu.Unlock()
		if stop {
			return
		}
	}
}

// stopLocked ends, under c.rmu, the work of the reader that took over, and
// wakes the consumer if it waits.
func (c *Conn) stopLocked() {
	c.taken = false
	if c.waiting {
		select {
		case c.ready <- struct{}{}:
		default:
		}
	}
}

// awaitPeer waits until the peer has sent something, without consuming it,
// so that the wait can be cut short: it reports false, having stopped the
// reader, when the consumer waits for a message or a close handshake
// begins, before or during the wait. Without the hijacked connection it
// does not wait.
func (c *Conn) awaitPeer() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.waiting || c.closing {
		c.stopLocked()
		return false
	}
	if c.tr == nil || c.tr.br.Buffered() > 0 {
		return true
	}
	c.peeking = true
	c.rmu.Unlock()
	// An error is left to the next read, which explains it; the buffered
	// reader keeps none.
	c.tr.br.Peek(1)
	c.rmu.Lock()
	c.peeking = false
	if c.handback {
		c.handback = false
		c.nc.SetReadDeadline(time.Time{})
	}
	c.peeked.Broadcast()
	if c.waiting || c.closing {
		c.stopLocked()
		return false
	}
	return true
}

// interruptLocked cuts short, under c.rmu, the peek of a reader waiting for
// the peer: a read deadline in the past ends it, consuming nothing, and the
// reader clears the deadline before anyone reads again.
func (c *Conn) interruptLocked() {
	if !c.handback {
		c.handback = true
		c.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// resumeLocked notes, under c.rmu, that reading goes on after a pause.
func (c *Conn) resumeLocked() {
	if c.paused {
		c.paused = false
		c.stalls.Add(1)
	}
}

// setEarly sets the function that takes the messages read ahead that must
// not wait in the queue.
func (c *Conn) setEarly(fn func(*buffer) bool) {
	c.rmu.Lock()
	c.early = fn
	c.rmu.Unlock()
}

// handedCount returns how many messages read has returned.
func (c *Conn) handedCount() int {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.handed
}

// readMessage reads the next message into a buffer of its own.
func (c *Conn) readMessage(ctx context.Context) (*buffer, error) {
	typ, r, err := c.ws.Reader(c.opCtx(ctx))
	if err != nil {
		return nil, c.readFailed(err)
	}
	b := getBuffer()
	if _, err := b.ReadFrom(r); err != nil {
		putBuffer(b)
		if errors.Is(err, websocket.ErrMessageTooBig) {
			// coder/websocket has sent close 1009 already.
			return nil, c.ended(&closeError{code: websocket.StatusMessageTooBig, reason: "message too big", cause: err})
		}
		return nil, c.readFailed(err)
	}
	c.messages.Add(1)
	if c.cfg.observeIO {
		c.observeRead(b.Len())
	}
	if typ == websocket.MessageText && !utf8.Valid(b.Bytes()) {
		putBuffer(b)
		return nil, c.close(websocket.StatusInvalidFramePayloadData, "invalid UTF-8", errInvalidUTF8)
	}
	return b, nil
}

// readFailed explains a failed read. A peer that broke the protocol (an
// unmasked frame, a reserved opcode or RSV bit, an oversized or fragmented
// control frame, an invalid close code, a stray continuation) is closed with
// 1002: coder/websocket has sent that close frame already, except for an
// unmasked frame, where it sends none. A peer's close frame whose reason is
// not valid UTF-8 has been answered with 1007 (see [transport.Write]).
func (c *Conn) readFailed(err error) error {
	if why := invalidReasonEnd(err); why != nil && c.tr != nil {
		return c.ended(why)
	}
	var ne net.Error
	switch {
	case websocket.CloseStatus(err) != -1, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return c.ended(err)
	}
	return c.close(websocket.StatusProtocolError, "protocol error", err)
}

// heard returns a count that grows whenever the server hears from the
// peer: the messages read, and the bytes read from the network, so that a
// peer in the middle of a long message is alive too.
func (c *Conn) heard() int64 {
	n := c.messages.Load()
	if c.tr != nil {
		n += c.tr.received.Load()
	}
	return n
}

// startPings pings the peer every interval, from a timer: no goroutine sits
// idle between pings.
func (c *Conn) startPings(interval time.Duration) {
	if interval <= 0 {
		return
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.ptime = time.AfterFunc(interval, func() { c.ping(interval) })
}

// ping pings the peer once and waits up to interval for its pong. A peer
// the server heard nothing from while the ping waited (no pong, no message)
// is dropped: between one and two intervals after the last thing the
// server read from it. While reading is paused at the read-ahead budget the
// peer is not pinged: the server is the one behind; a ping during which
// reading paused or resumed drops nobody either. After a ping that did not
// drop an unanswering peer, the next one goes at once, which keeps the
// bound.
func (c *Conn) ping(interval time.Duration) {
	next := interval
	if stalls := c.stalls.Load(); stalls%2 == 0 {
		seen := c.heard()
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := c.ws.Ping(ctx)
		cancel()
		switch {
		case err == nil:
		case errors.Is(err, net.ErrClosed):
			return
		case c.heard() == seen && c.stalls.Load() == stalls:
			c.closeNow(errPongTimeout)
			return
		default:
			next = 0
		}
	}
	c.pmu.Lock()
	if !c.stopped {
		c.ptime.Reset(next)
	}
	c.pmu.Unlock()
}

// ReceiveJSON reads the next message (text or binary) and decodes it into
// v. When the message is not valid JSON, or a value has the wrong type, it
// returns an [ErrorList] worded like a 400's, and the connection stays open:
// answer with SendJSON(ctx, ws.BadRequest(list)) and read on. Apart from
// that and the 429 below, an error means the connection has ended.
//
// A message over a rate limit ([WithRateLimit]) is dropped, not decoded,
// and ReceiveJSON returns the 429 as an [*Error]: answer with
// SendJSON(ctx, err) if you like, and read on; a client that keeps sending
// is closed with 1008 and the error wraps [ErrRateLimited].
//
// A text message that is not valid UTF-8 closes the connection with 1007.
// If ctx is done before a message arrives, the connection is closed.
func (c *Conn) ReceiveJSON(ctx context.Context, v any) error {
	data, err := c.read(ctx)
	if err != nil {
		return err
	}
	if err := c.overLimit(); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return *decodeErrors(data, err)
	}
	return nil
}
