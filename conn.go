package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// Conn is one WebSocket connection. [Callback] hands it to onConnect and
// onDisconnect, [ConnFromContext] gives it to onReceive, and [Handler] and
// [Accept] give it to your own loop.
//
// Its life is its context ([Conn.Context]): the context is cancelled as soon
// as the connection ends, whatever ended it (the peer's close frame, a
// dropped TCP connection, a write or pong timeout, [Conn.Close],
// [Group.Shutdown]), and [context.Cause] says why.
//
// Something always reads the connection, so control frames (ping, pong,
// close) do not wait for your code: when neither the library's loop nor your
// [Conn.ReceiveJSON] has read for 50 ms, a reader takes over and reads ahead
// into a queue, until your code reads again. The queue takes messages while
// it holds fewer than 16 and fewer bytes than the read-ahead budget,
// max(64 KiB, the read limit) (64 KiB without a read limit); a message is
// read whole, so the queue never holds more than the budget plus one
// message. Within that budget the peer is watched all the time: its close
// frame or a dropped TCP connection ends the connection, pongs are read, and
// messages are handled in the order they came. Past it, reading pauses
// until your code takes a message: TCP holds the peer back, and the peer is
// not pinged, since the server is the one behind. When your code waits on an
// empty queue, the reader hands reading back at once: an idle connection
// has no goroutine beyond its own loop.
//
// SendJSON, SendText, Close, Set and Get are safe for concurrent use, so
// other goroutines can push messages while replies flow. ReceiveJSON must be
// called from one goroutine at a time, and never on a connection served by
// [Callback], whose loop does the reading.
type Conn struct {
	ws  *websocket.Conn
	nc  net.Conn   // the hijacked connection; nil if the ResponseWriter hid it
	tr  *transport // what ws runs on, around nc; nil with nc
	req *http.Request
	cfg *config
	ctx context.Context // the connection's context; carries the Conn

	cancel context.CancelCauseFunc

	// Reading (read.go). One consumer (the serve loop or ReceiveJSON)
	// reads at a time; while it is busy, the reader that takes over reads
	// ahead into queue, within the read-ahead budget.
	rmu      sync.Mutex
	held     *buffer            // the message last returned by read, until the next read
	waiting  bool               // the consumer is inside read
	taken    bool               // the reader that took over is reading
	paused   bool               // the queue reached the budget and nobody has read since
	peeking  bool               // the reader that took over waits for the peer, consuming nothing
	handback bool               // the reader that took over is asked to stop waiting for the peer
	peeked   sync.Cond          // signalled, with rmu, when peeking ends
	closing  bool               // a close handshake may be reading: leave the reader alone
	queue    aheadQueue         // the messages read ahead, oldest first
	handed   int                // messages read has returned
	early    func(*buffer) bool // takes a message read ahead that must not wait (the Router's); nil for none
	ready    chan struct{}      // wakes a consumer waiting for the reader that took over
	budget   int                // the queue's budget in bytes
	stalls   atomic.Uint32      // times reading paused or resumed: odd while paused
	messages atomic.Int64       // messages read: a peer that sends is alive
	rtimer   *time.Timer        // starts the reader that takes over when nobody reads

	wmu      sync.Mutex   // serializes writes: one frame at a time
	wtimer   *time.Timer  // write timeout, armed while a write is under way
	deadline atomic.Int64 // when the current write times out, unix ns; 0 when idle

	pmu     sync.Mutex // guards ptime and stopped
	ptime   *time.Timer
	stopped bool

	state  atomic.Uint32 // busy and draining bits, for graceful shutdown
	manual bool          // made by Accept: Close releases it

	rate *rateState  // the rate limits' state; nil without WithRateLimit
	gone atomic.Bool // released: the observers' End has run

	cmu    sync.Mutex
	err    error       // why the connection ended; the first reason wins
	closed bool        // Close was called
	values map[any]any // per-connection state: Set and Get
}

const (
	stateBusy     uint32 = 1 << iota // a message is being handled
	stateDraining                    // the group is shutting down: close once idle
)

type connKey struct{}

// ConnFromContext returns the connection whose callback received ctx, or
// nil when ctx does not belong to a connection.
func ConnFromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(connKey{}).(*Conn)
	return c
}

func newConn(wc *websocket.Conn, nc net.Conn, tr *transport, r *http.Request, cfg *config) *Conn {
	c := &Conn{ws: wc, nc: nc, tr: tr, req: r, cfg: cfg, ready: make(chan struct{}, 1), budget: aheadBytes}
	if cfg.readLimit > aheadBytes {
		c.budget = int(cfg.readLimit)
	}
	c.peeked.L = &c.rmu
	// The request context is done once the handler returns, and the
	// hijacked request's own context must not be used after Accept: keep its
	// values, drop its cancellation.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	c.ctx = context.WithValue(ctx, connKey{}, c)
	c.cancel = cancel
	if cfg.writeTimeout > 0 {
		c.wtimer = time.AfterFunc(time.Hour, c.writeTimedOut)
		c.wtimer.Stop()
	}
	// Until the consumer first reads, nobody does: the timer runs from now.
	c.rtimer = time.AfterFunc(takeoverDelay, c.takeOver)
	return c
}

// Request returns the HTTP request that opened the connection: its URL,
// headers and remote address. Its body and context are not for use: the
// connection has taken over; use [Conn.Context] instead.
func (c *Conn) Request() *http.Request { return c.req }

// Context returns the connection's context. It holds the values HTTP
// middleware put on the request and the Conn itself ([ConnFromContext]). It
// is cancelled as soon as the connection ends, whatever ended it;
// [context.Cause] then returns the error onDisconnect gets.
func (c *Conn) Context() context.Context { return c.ctx }

// Subprotocol returns the subprotocol the handshake chose among those of
// [WithSubprotocols], or "" when none was.
func (c *Conn) Subprotocol() string { return c.ws.Subprotocol() }

// Set stores a per-connection value under key, such as a nickname chosen in
// a later message. Keys compare like map keys; use an unexported type to
// avoid collisions, as with context values.
func (c *Conn) Set(key, value any) {
	c.cmu.Lock()
	if c.values == nil {
		c.values = make(map[any]any)
	}
	c.values[key] = value
	c.cmu.Unlock()
}

// Get returns the value stored under key by [Conn.Set], or nil.
func (c *Conn) Get(key any) any {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.values[key]
}

// buffer holds one message read or written, with an encoder writing to it.
// Buffers come from a pool and go back after use, so an idle connection
// holds none, whatever size its last message had.
type buffer struct {
	bytes.Buffer
	enc *json.Encoder

	next     *buffer // the next message in the read-ahead queue
	deferred bool    // a Router's stream message that waits in the queue, in order
}

// maxPooled is the largest buffer kept for reuse; larger ones are dropped.
const maxPooled = 64 << 10

var buffers = sync.Pool{New: func() any {
	b := new(buffer)
	b.enc = json.NewEncoder(&b.Buffer)
	return b
}}

func getBuffer() *buffer {
	b := buffers.Get().(*buffer)
	b.Reset()
	b.next, b.deferred = nil, false
	return b
}

func putBuffer(b *buffer) {
	if b != nil && b.Cap() <= maxPooled {
		buffers.Put(b)
	}
}

// SendJSON writes v as one JSON text frame. It is safe for concurrent use;
// frames never interleave. A write the peer does not take within the write
// timeout ([WithWriteTimeout]) closes the connection. If ctx is done before
// the write completes, the connection is closed too: a frame cannot be
// taken back halfway.
func (c *Conn) SendJSON(ctx context.Context, v any) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := b.enc.Encode(v); err != nil {
		return err
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	return c.writeLocked(ctx, trimNewline(b.Bytes()))
}

// SendText writes msg as one text frame, as it is: for a message encoded
// once and sent to many connections. msg must be valid UTF-8. It is safe for
// concurrent use, like [Conn.SendJSON].
func (c *Conn) SendText(ctx context.Context, msg []byte) error {
	c.lockWrite()
	defer c.wmu.Unlock()
	return c.writeLocked(ctx, msg)
}

// SendTexts writes each message of msgs as a text frame of its own, in
// order, and sends them together: one write to the network where they fit
// (64 KiB). Frames of other writers do not come between them. Each message
// must be valid UTF-8. It is safe for concurrent use, like [Conn.SendJSON];
// the write timeout bounds each write to the network.
func (c *Conn) SendTexts(ctx context.Context, msgs ...[]byte) error {
	c.lockWrite()
	defer c.wmu.Unlock()
	for i, msg := range msgs {
		if c.tr != nil {
			c.tr.batch.Store(i < len(msgs)-1)
		}
		if err := c.writeLocked(ctx, msg); err != nil {
			if c.tr != nil {
				c.tr.batch.Store(false)
			}
			return err
		}
	}
	return nil
}

// lockWrite takes the write lock, counting the writers that wait for it:
// while one waits, the frame before it is held back and both go out in one
// write.
func (c *Conn) lockWrite() {
	if c.tr == nil {
		c.wmu.Lock()
		return
	}
	c.tr.waiting.Add(1)
	c.wmu.Lock()
	c.tr.waiting.Add(-1)
}

// sendEnvelope writes {"statusCode":status,"body":body}. A body that does
// not encode is logged and answered with a generic 500.
func (c *Conn) sendEnvelope(status int, body any) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := writeEnvelope(&b.Buffer, b.enc, status, body); err != nil {
		c.log("ws: reply does not encode as JSON", err)
		writeEnvelope(&b.Buffer, b.enc, http.StatusInternalServerError, internalError)
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	return c.writeLocked(c.ctx, b.Bytes())
}

// writeEnvelope resets buf and writes {"statusCode":status,"body":body} to
// it with enc, which writes to buf.
func writeEnvelope(buf *bytes.Buffer, enc *json.Encoder, status int, body any) error {
	buf.Reset()
	buf.WriteString(`{"statusCode":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(status), 10))
	buf.WriteString(`,"body":`)
	if err := enc.Encode(body); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	buf.WriteByte('}')
	return nil
}

func trimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// writeLocked writes one text frame under c.wmu, bounded by the write
// timeout.
func (c *Conn) writeLocked(ctx context.Context, p []byte) error {
	if err := ctx.Err(); err != nil {
		if c.tr != nil {
			c.tr.flush()
		}
		if ctx == c.ctx {
			return c.endErr()
		}
		return err
	}
	if c.wtimer != nil {
		c.deadline.Store(time.Now().Add(c.cfg.writeTimeout).UnixNano())
		c.wtimer.Reset(c.cfg.writeTimeout)
	}
	err := c.ws.Write(c.opCtx(ctx), websocket.MessageText, p)
	if err == nil && c.tr != nil {
		err = c.tr.settle()
	}
	if c.wtimer != nil {
		c.deadline.Store(0)
		c.wtimer.Stop()
	}
	if err != nil {
		return c.ended(err)
	}
	if c.cfg.observeIO {
		c.observeWrite(len(p))
	}
	return nil
}

// writeTimedOut runs when the write timer fires: if a write is still under
// way past its deadline, the peer is not reading; drop it.
func (c *Conn) writeTimedOut() {
	if d := c.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
		c.closeNow(ErrWriteTimeout)
	}
}

// opCtx returns the context to hand to coder/websocket for one read or
// write. A context that can be cancelled costs a cancellation hook on every
// call, and the connection's own context is only cancelled once the
// connection is closing: it is replaced with one that cannot be.
func (c *Conn) opCtx(ctx context.Context) context.Context {
	if ctx.Done() == nil || ctx.Done() == c.ctx.Done() {
		return context.Background()
	}
	return ctx
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

// Close closes the connection with a close frame holding code and reason
// and waits up to 5 s each way for the close handshake. The reason reaches
// the client; it is cut to 123 bytes, on a character boundary, and invalid
// UTF-8 in it is replaced. The connection's context is cancelled at once,
// with a cause that carries code ([CloseStatus] reads it), and onDisconnect
// gets that error.
//
// Close returns nil once the close handshake is done, or the error that cut
// it short. When the connection has ended already, or Close was called
// before, it does nothing and returns nil.
func (c *Conn) Close(code StatusCode, reason string) error {
	c.cmu.Lock()
	first := !c.closed && c.err == nil
	c.closed = true
	c.cmu.Unlock()
	var err error
	if first {
		err = c.closeWith(code, reason, ErrClosed)
	}
	if c.manual {
		c.release()
	}
	return err
}

// close records why the server closes and closes with a close frame. It
// returns the error that explains the connection's end.
func (c *Conn) close(code StatusCode, reason string, why error) error {
	c.closeWith(code, reason, why)
	return c.endErr()
}

// closeWith records why the server closes, closes with a close frame and
// returns the close handshake's error.
func (c *Conn) closeWith(code StatusCode, reason string, why error) error {
	reason = closeReason(reason)
	c.setErr(&closeError{code: code, reason: reason, cause: why})
	if c.tr != nil {
		c.tr.closing.Store(true)
		c.tr.flush()
	}
	// The close handshake reads the connection from this goroutine: from
	// now on read leaves coder/websocket's buffered reader alone, and a
	// reader waiting for the peer stops first.
	c.rmu.Lock()
	c.closing = true
	for c.peeking {
		c.interruptLocked()
		c.peeked.Wait()
	}
	c.rmu.Unlock()
	return c.ws.Close(code, reason)
}

// closeReason makes reason fit a close frame: valid UTF-8, at most 123
// bytes, cut on a character boundary.
func closeReason(reason string) string {
	if !utf8.ValidString(reason) {
		reason = string(bytes.ToValidUTF8([]byte(reason), []byte("\uFFFD")))
	}
	if len(reason) <= 123 {
		return reason
	}
	n := 123
	for n > 0 && !utf8.RuneStart(reason[n]) {
		n--
	}
	return reason[:n]
}

// closeNow records why and drops the connection without a close handshake:
// for a peer that is not there any more.
func (c *Conn) closeNow(why error) {
	c.setErr(&closeError{code: -1, cause: why})
	if c.nc != nil {
		// Ends a close handshake under way too, which CloseNow would
		// wait for.
		c.nc.Close()
	}
	c.ws.CloseNow()
}

// setErr records why the connection ended, unless a reason is known
// already, and cancels the connection's context with it. It returns the
// reason that stands.
func (c *Conn) setErr(err error) error {
	c.cmu.Lock()
	if c.err == nil {
		c.err = err
		c.cmu.Unlock()
		c.cancel(err)
		return err
	}
	err = c.err
	c.cmu.Unlock()
	return err
}

// ended records err, the error of a failed read or write, as why the
// connection ended, unless a reason is known already (the server closed
// it), and returns the reason that stands.
func (c *Conn) ended(err error) error { return c.setErr(err) }

// endErr returns why the connection ended, or nil while it is open.
func (c *Conn) endErr() error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.err
}

// hasEnded reports whether the connection has ended: a read or write
// failed, or the server closed it.
func (c *Conn) hasEnded() bool { return c.endErr() != nil }

// release frees what the connection holds once it has ended.
func (c *Conn) release() {
	c.setErr(ErrClosed)
	c.ws.CloseNow()
	c.rtimer.Stop()
	c.pmu.Lock()
	c.stopped = true
	if c.ptime != nil {
		c.ptime.Stop()
	}
	c.pmu.Unlock()
	if c.wtimer != nil {
		c.wtimer.Stop()
	}
	c.rmu.Lock()
	putBuffer(c.held)
	c.held = nil
	c.queue.drain()
	c.rmu.Unlock()
	if c.tr != nil {
		c.tr.release()
	}
	if g := c.cfg.group; g != nil {
		g.remove(c)
	}
	c.finish()
}

// goAway closes c with 1001 now if it is idle, or after the reply to the
// message it is handling.
func (c *Conn) goAway() {
	if c.state.Or(stateDraining)&stateBusy == 0 {
		go c.close(StatusGoingAway, "going away", ErrShutdown)
	}
}

// busy marks the start of a message's handling.
func (c *Conn) busy() { c.state.Or(stateBusy) }

// idle marks the end of a message's handling. It reports false when the
// connection must close now because the group is shutting down.
func (c *Conn) idle() bool {
	if c.state.And(^stateBusy)&stateDraining != 0 {
		c.close(StatusGoingAway, "going away", ErrShutdown)
		return false
	}
	return true
}

// errPanic marks the error guard returns for a recovered panic.
var errPanic = errors.New("ws: panic")

// guard runs fn, turning a panic into an error wrapping errPanic. The
// panic is logged with its stack; nothing of it reaches the client.
func (c *Conn) guard(where string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.cfg.logger.ErrorContext(c.ctx, "ws: panic in "+where,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()),
				"remote", c.req.RemoteAddr, "path", c.req.URL.Path)
			err = fmt.Errorf("%w in %s: %v", errPanic, where, r)
		}
	}()
	return fn()
}

// log logs an error with the connection's attributes.
func (c *Conn) log(msg string, err error) {
	c.cfg.logger.ErrorContext(c.ctx, msg, "error", err, "remote", c.req.RemoteAddr, "path", c.req.URL.Path)
}

// answer handles one message and sends its reply, all under one guard: a
// panic anywhere (decoding, validation, the receive function, encoding the
// reply) is answered with a generic 500 and the connection goes on. A
// message over a rate limit is answered with a 429 and not handled. call
// is the message's [Call] when there are interceptors, nil otherwise. It
// returns an error only when the connection has ended.
func (c *Conn) answer(ctx context.Context, data []byte, call *Call, handle handleFunc) error {
	if c.rate != nil {
		refusal, err := c.rate.take(c, "")
		if err != nil {
			return err
		}
		if refusal != nil {
			if call == nil {
				return c.sendEnvelope(refusal.Status, refusal.Body)
			}
			call.refusal = refusal
		}
	}
	err := c.guard("onReceive", func() error {
		status, body, failure := handle(ctx, data, call)
		if failure != nil && !errors.Is(failure, errPanic) {
			c.log("ws: onReceive failed", failure)
		}
		return c.sendEnvelope(status, body)
	})
	if errors.Is(err, errPanic) {
		return c.sendEnvelope(http.StatusInternalServerError, internalError)
	}
	return err
}

// connect runs onConnect, if any: an error refuses the connection, which
// closes with 1008 (an [*Error] is sent as its envelope first), or 1011 for
// a panic. It reports false when the connection was refused and closed.
func (c *Conn) connect(onConnect func(context.Context, *Conn) error) bool {
	if onConnect == nil {
		return true
	}
	err := c.guard("onConnect", func() error { return onConnect(c.ctx, c) })
	if err == nil {
		return true
	}
	var e *Error
	switch {
	case errors.As(err, &e):
		c.sendEnvelope(e.Status, e.Body)
		c.close(StatusPolicyViolation, "connection refused", ErrConnectRefused)
	case errors.Is(err, errPanic):
		c.close(StatusInternalError, "internal error", err)
	default:
		c.log("ws: onConnect refused the connection", err)
		c.close(StatusPolicyViolation, "connection refused", ErrConnectRefused)
	}
	return false
}

// sendEvent writes a reply: {"id":…,"event":…,"statusCode":…,"body":…}. A
// body that does not encode is logged and replaced by a 500.
func (c *Conn) sendEvent(id, event []byte, status int, body any) error {
	return c.sendEventLocked(id, event, status, body, nil)
}

// sendEventLocked is sendEvent, calling locked, when it is not nil, once
// the write lock is taken, before the reply is written: what others write
// after locked has run comes after the reply.
func (c *Conn) sendEventLocked(id, event []byte, status int, body any, locked func()) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := writeEventEnvelope(&b.Buffer, b.enc, id, event, status, body, false); err != nil {
		c.log("ws: reply does not encode as JSON", err)
		writeEventEnvelope(&b.Buffer, b.enc, id, event, http.StatusInternalServerError, internalError, false)
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	if locked != nil {
		locked()
	}
	return c.writeLocked(c.ctx, b.Bytes())
}

// logEvent logs an error of an event's function.
func (c *Conn) logEvent(msg, event string, err error) {
	c.cfg.logger.ErrorContext(c.ctx, msg, "event", event, "error", err, "remote", c.req.RemoteAddr, "path", c.req.URL.Path)
}

// sendItem writes a stream's item: {…,"more":true}. An item that does not
// encode is not sent; the error says why.
func (c *Conn) sendItem(id, event []byte, item any) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := writeEventEnvelope(&b.Buffer, b.enc, id, event, http.StatusOK, item, true); err != nil {
		return fmt.Errorf("ws: stream item does not encode as JSON: %w", err)
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	// The connection's context, not the stream's: a write cut short by a
	// cancelled context would close the whole connection.
	return c.writeLocked(c.ctx, b.Bytes())
}
