package ws

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
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

// Close closes the connection with a close frame holding code and reason
// and waits up to 5 s each way for the close handshake. The reason reaches
// the client; it is cut to 123 bytes, on a character boundary, and invalid
// UTF-8 in it is replaced. The connection's context is cancelled at once,
// with a cause that carries code (websocket.CloseStatus reads it), and onDisconnect
// gets that error.
//
// Close returns nil once the close handshake is done, or the error that cut
// it short. When the connection has ended already, or Close was called
// before, it does nothing and returns nil.
func (c *Conn) Close(code websocket.StatusCode, reason string) error {
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
func (c *Conn) close(code websocket.StatusCode, reason string, why error) error {
	c.closeWith(code, reason, why)
	return c.endErr()
}

// closeWith records why the server closes, closes with a close frame and
// returns the close handshake's error.
func (c *Conn) closeWith(code websocket.StatusCode, reason string, why error) error {
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
		go c.close(websocket.StatusGoingAway, "going away", errShutdown)
	}
}

// busy marks the start of a message's handling.
func (c *Conn) busy() { c.state.Or(stateBusy) }

// idle marks the end of a message's handling. It reports false when the
// connection must close now because the group is shutting down.
func (c *Conn) idle() bool {
	if c.state.And(^stateBusy)&stateDraining != 0 {
		c.close(websocket.StatusGoingAway, "going away", errShutdown)
		return false
	}
	return true
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
		c.close(websocket.StatusPolicyViolation, "connection refused", errConnectRefused)
	case errors.Is(err, errPanic):
		c.close(websocket.StatusInternalError, "internal error", err)
	default:
		c.log("ws: onConnect refused the connection", err)
		c.close(websocket.StatusPolicyViolation, "connection refused", errConnectRefused)
	}
	return false
}
