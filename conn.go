package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
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
// SendJSON, SendText, Close, Set and Get are safe for concurrent use, so
// other goroutines can push messages while replies flow. ReceiveJSON must be
// called from one goroutine at a time, and never on a connection served by
// [Callback], whose loop does the reading.
type Conn struct {
	ws  *websocket.Conn
	nc  net.Conn // what ws runs on; nil if the ResponseWriter hid it
	req *http.Request
	cfg *config
	ctx context.Context // the connection's context; carries the Conn

	cancel context.CancelFunc

	rbuf bytes.Buffer // the message being read (one reader at a time)

	wmu      sync.Mutex   // serializes writes: one frame at a time
	wbuf     bytes.Buffer // guarded by wmu
	enc      *json.Encoder
	wtimer   *time.Timer  // write timeout, armed while a write is under way
	deadline atomic.Int64 // when the current write times out, unix ns; 0 when idle

	pmu     sync.Mutex // guards ptime and stopped
	ptime   *time.Timer
	stopped bool

	state  atomic.Uint32 // busy and draining bits, for graceful shutdown
	manual bool          // made by Accept: Close releases it

	cmu    sync.Mutex
	cause  error       // why the connection ended, when the server ended it; first one wins
	gone   bool        // a read or write has failed: the connection has ended
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

func newConn(wc *websocket.Conn, r *http.Request, cfg *config) *Conn {
	c := &Conn{ws: wc, req: r, cfg: cfg}
	// The request context is done once the handler returns, and the
	// hijacked request's own context must not be used after Accept: keep its
	// values, drop its cancellation.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c.ctx = context.WithValue(ctx, connKey{}, c)
	c.cancel = cancel
	c.enc = json.NewEncoder(&c.wbuf)
	if cfg.writeTimeout > 0 {
		c.wtimer = time.AfterFunc(time.Hour, c.writeTimedOut)
		c.wtimer.Stop()
	}
	return c
}

// Request returns the HTTP request that opened the connection: its URL,
// headers and remote address. Its body and context are not for use: the
// connection has taken over; use [Conn.Context] instead.
func (c *Conn) Request() *http.Request { return c.req }

// Context returns the connection's context. It holds the values HTTP
// middleware put on the request and the Conn itself ([ConnFromContext]), and
// it is cancelled once the connection has ended (after onDisconnect).
func (c *Conn) Context() context.Context { return c.ctx }

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

// SendJSON writes v as one JSON text frame. It is safe for concurrent use;
// frames never interleave. A write the peer does not take within the write
// timeout ([WithWriteTimeout]) closes the connection. If ctx is done before
// the write completes, the connection is closed too: a frame cannot be
// taken back halfway.
func (c *Conn) SendJSON(ctx context.Context, v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wbuf.Reset()
	if err := c.enc.Encode(v); err != nil {
		return err
	}
	return c.writeLocked(ctx, trimNewline(c.wbuf.Bytes()))
}

// SendText writes msg as one text frame, as it is: for a message encoded
// once and sent to many connections. msg must be valid UTF-8. It is safe for
// concurrent use, like [Conn.SendJSON].
func (c *Conn) SendText(ctx context.Context, msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(ctx, msg)
}

// sendEnvelope writes {"statusCode":status,"body":body}.
func (c *Conn) sendEnvelope(status int, body any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := writeEnvelope(&c.wbuf, c.enc, status, body); err != nil {
		c.log("ws: reply does not encode as JSON", err)
		writeEnvelope(&c.wbuf, c.enc, http.StatusInternalServerError, internalError)
	}
	return c.writeLocked(c.ctx, c.wbuf.Bytes())
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
		return err
	}
	if c.wtimer != nil {
		c.deadline.Store(time.Now().Add(c.cfg.writeTimeout).UnixNano())
		c.wtimer.Reset(c.cfg.writeTimeout)
	}
	err := c.ws.Write(c.opCtx(ctx), websocket.MessageText, p)
	if c.wtimer != nil {
		c.deadline.Store(0)
		c.wtimer.Stop()
	}
	if err != nil {
		return c.ended(err)
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
// call; the connection's own context only ends after the connection has, so
// it is replaced with one that cannot.
func (c *Conn) opCtx(ctx context.Context) context.Context {
	if ctx.Done() == nil || ctx.Done() == c.ctx.Done() {
		return context.Background()
	}
	return ctx
}

// ReceiveJSON reads the next message (text or binary) and decodes it into
// v. When the message is not valid JSON, or a value has the wrong type,
// it returns an [ErrorList] worded like a 400's, and the connection stays
// open; send it back with SendJSON(ctx, ws.BadRequest(list)) if you wish. Any
// other error means the connection has ended.
//
// A text message that is not valid UTF-8 closes the connection with 1007.
// If ctx is done before a message arrives, the connection is closed.
func (c *Conn) ReceiveJSON(ctx context.Context, v any) error {
	data, err := c.read(ctx)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return *decodeErrors(data, err)
	}
	return nil
}

// read reads the next message into c.rbuf and returns it; it is valid until
// the next read.
func (c *Conn) read(ctx context.Context) ([]byte, error) {
	typ, r, err := c.ws.Reader(c.opCtx(ctx))
	if err != nil {
		return nil, c.readFailed(err)
	}
	c.rbuf.Reset()
	if _, err := c.rbuf.ReadFrom(r); err != nil {
		if errors.Is(err, websocket.ErrMessageTooBig) {
			// coder/websocket has sent close 1009 already.
			return nil, c.ended(&closeError{code: StatusMessageTooBig, reason: "message too big", cause: err})
		}
		return nil, c.readFailed(err)
	}
	data := c.rbuf.Bytes()
	if typ == websocket.MessageText && !utf8.Valid(data) {
		return nil, c.close(StatusInvalidPayload, "invalid UTF-8", ErrInvalidUTF8)
	}
	return data, nil
}

// readFailed explains a failed read. A peer that broke the protocol (an
// unmasked frame, a reserved opcode or RSV bit, an oversized or fragmented
// control frame, an invalid close code, a stray continuation) is closed with
// 1002: coder/websocket has sent that close frame already, except for an
// unmasked frame, where it sends none.
func (c *Conn) readFailed(err error) error {
	var ne net.Error
	switch {
	case CloseStatus(err) != -1, errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.As(err, &ne),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return c.ended(err)
	}
	return c.close(StatusProtocolError, "protocol error", err)
}

// Close closes the connection with a close frame holding code and reason
// (at most 123 bytes; it reaches the client) and waits up to 5 s each way for
// the close handshake. The error onDisconnect then gets carries code; see
// [CloseStatus]. Closing a closed connection does nothing.
func (c *Conn) Close(code StatusCode, reason string) error {
	err := c.close(code, reason, ErrClosed)
	if c.manual {
		c.release()
	}
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// close records why the server closes and closes with a close frame. It
// returns the recorded cause.
func (c *Conn) close(code StatusCode, reason string, why error) error {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	err := c.setCause(&closeError{code: code, reason: reason, cause: why})
	c.ws.Close(code, reason)
	return err
}

// closeNow records why and drops the connection without a close handshake:
// for a peer that is not there any more.
func (c *Conn) closeNow(why error) {
	c.setCause(&closeError{code: -1, cause: why})
	if c.nc != nil {
		// Ends a close handshake under way too, which CloseNow would
		// wait for.
		c.nc.Close()
	}
	c.ws.CloseNow()
}

// setCause records why the server ended the connection, unless a reason is
// known already, and returns the one that stands.
func (c *Conn) setCause(err error) error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	if c.cause == nil {
		c.cause = err
	}
	return c.cause
}

// ended returns the error that explains a failed read or write: the reason
// the server closed for, if it did; otherwise err, the peer's close frame
// or the network's error.
func (c *Conn) ended(err error) error {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.gone = true
	if c.cause != nil {
		return c.cause
	}
	return err
}

// hasEnded reports whether the connection has ended: a read or write
// failed, or the server closed it.
func (c *Conn) hasEnded() bool {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.gone || c.cause != nil
}

// startPings pings the peer every interval, from a timer: no goroutine sits
// idle between pings.
func (c *Conn) startPings(interval time.Duration) {
	if interval <= 0 {
		return
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.ptime = time.AfterFunc(interval, func() {
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				c.closeNow(ErrPongTimeout)
			}
			return
		}
		c.pmu.Lock()
		if !c.stopped {
			c.ptime.Reset(interval)
		}
		c.pmu.Unlock()
	})
}

// release frees what the connection holds once it has ended.
func (c *Conn) release() {
	c.ws.CloseNow()
	c.pmu.Lock()
	c.stopped = true
	if c.ptime != nil {
		c.ptime.Stop()
	}
	c.pmu.Unlock()
	if c.wtimer != nil {
		c.wtimer.Stop()
	}
	c.cancel()
	if g := c.cfg.group; g != nil {
		g.remove(c)
	}
}
