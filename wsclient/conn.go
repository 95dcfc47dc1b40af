package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// conn is one connection of a Client: its writer, its calls and streams
// waiting for replies, and its reader.
type conn struct {
	c  *Client
	ws *websocket.Conn

	wmu      sync.Mutex // serializes writes; held while a Send joins the queue
	wbuf     bytes.Buffer
	enc      *json.Encoder
	wtimer   *time.Timer
	deadline atomic.Int64 // of the write under way, in Unix ns; 0: none

	mu      sync.Mutex
	calls   map[uint64]*pending // calls and streams by id
	queue   []*pending          // Sends waiting for their replies, oldest first
	refusal *ws.Error           // an error envelope no Send waited for
	ended   error               // why the connection ended; set once

	why      atomic.Pointer[error] // why the client dropped the connection itself
	messages atomic.Int64          // frames read, for the pings
	ptimer   *time.Timer
	pmu      sync.Mutex
	stopped  bool // no more pings

	// Of the reader only:
	asked   map[string]bool // rooms resumed that have not had their first push
	behind  bool            // a push of a room with history did not fit in the buffer
	present map[string]bool // rooms that had a $presence push on this connection
}

func newConn(c *Client, wc *websocket.Conn, asked map[string]bool) *conn {
	cn := &conn{c: c, ws: wc, calls: make(map[uint64]*pending), asked: asked}
	cn.enc = json.NewEncoder(&cn.wbuf)
	if d := c.o.writeTimeout; d > 0 {
		cn.wtimer = time.AfterFunc(time.Hour, cn.writeTimedOut)
		cn.wtimer.Stop()
	}
	cn.startPings(c.o.pingInterval)
	return cn
}

// drop closes the connection at once, recording why.
func (cn *conn) drop(why error) {
	cn.why.CompareAndSwap(nil, &why)
	cn.ws.CloseNow()
}

// close closes the connection with a close handshake.
func (cn *conn) close(code websocket.StatusCode, reason string) {
	cn.ws.Close(code, reason)
}

// writeTimedOut runs when the write timer fires: a write still under way
// past its deadline means the server does not read.
func (cn *conn) writeTimedOut() {
	if d := cn.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
		cn.drop(errWriteTimeout)
	}
}

// writeLocked writes the frame in wbuf, under wmu.
func (cn *conn) writeLocked() error {
	if cn.wtimer != nil {
		cn.deadline.Store(time.Now().Add(cn.c.o.writeTimeout).UnixNano())
		cn.wtimer.Reset(cn.c.o.writeTimeout)
	}
	err := cn.ws.Write(context.Background(), websocket.MessageText, cn.wbuf.Bytes())
	if cn.wtimer != nil {
		cn.deadline.Store(0)
		cn.wtimer.Stop()
	}
	if err != nil {
		// The connection is broken: make sure the reader sees it, and
		// report what it reports.
		cn.drop(err)
		return cn.lost(err)
	}
	return nil
}

// encodeRequest writes {"event":…,"id":…,"data":…} into wbuf, under wmu.
func (cn *conn) encodeRequest(event string, id uint64, data any) error {
	b := &cn.wbuf
	b.Reset()
	b.WriteString(`{"event":`)
	if plain(event) {
		b.WriteByte('"')
		b.WriteString(event)
		b.WriteByte('"')
	} else {
		if err := cn.enc.Encode(event); err != nil {
			return err
		}
		b.Truncate(b.Len() - 1) // Encode's newline
	}
	b.WriteString(`,"id":`)
	b.Write(strconv.AppendUint(b.AvailableBuffer(), id, 10))
	if data != nil {
		b.WriteString(`,"data":`)
		if err := cn.enc.Encode(data); err != nil {
			return fmt.Errorf("wsclient: request does not encode as JSON: %w", err)
		}
		b.Truncate(b.Len() - 1)
	}
	b.WriteByte('}')
	return nil
}

// plain reports whether s needs no escaping in a JSON string, as
// encoding/json writes it.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// request registers p under id and writes the request.
func (cn *conn) request(event string, id uint64, data any, p *pending) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	if err := cn.encodeRequest(event, id, data); err != nil {
		return err
	}
	cn.mu.Lock()
	if cn.ended != nil {
		err := cn.ended
		cn.mu.Unlock()
		return err
	}
	cn.calls[id] = p
	cn.mu.Unlock()
	if err := cn.writeLocked(); err != nil {
		cn.forget(id)
		return err
	}
	return nil
}

// cancelStream writes {"event":"$cancel","id":…}; errors do not matter:
// a broken connection ends the stream anyway.
func (cn *conn) cancelStream(id uint64) {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	if cn.encodeRequest("$cancel", id, nil) == nil {
		cn.writeLocked()
	}
}

// send joins p to the queue of Sends and writes msg as it is.
func (cn *conn) send(msg any, p *pending) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.wbuf.Reset()
	if err := cn.enc.Encode(msg); err != nil {
		return fmt.Errorf("wsclient: request does not encode as JSON: %w", err)
	}
	cn.wbuf.Truncate(cn.wbuf.Len() - 1)
	cn.mu.Lock()
	if cn.ended != nil {
		err := cn.ended
		cn.mu.Unlock()
		return err
	}
	cn.queue = append(cn.queue, p)
	cn.mu.Unlock()
	// On failure p stays queued: the reader fails it when it sees the
	// connection end.
	return cn.writeLocked()
}

// forget removes the call or stream id; it reports whether it was there.
func (cn *conn) forget(id uint64) bool {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	_, ok := cn.calls[id]
	delete(cn.calls, id)
	return ok
}

// lost returns the error of the calls the connection's end cut short.
func (cn *conn) lost(cause error) error {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.ended != nil {
		return cn.ended
	}
	return cn.lostLocked(cause)
}

func (cn *conn) lostLocked(cause error) error {
	if p := cn.why.Load(); p != nil {
		cause = *p
	}
	kind := ErrConnectionLost
	if cn.c.closing.Load() {
		kind = ErrClosed
	}
	var refusal *ws.Error
	if websocket.CloseStatus(cause) == websocket.StatusPolicyViolation {
		refusal = cn.refusal
	}
	return newLostError(kind, cause, refusal)
}

// frame is a frame as the client reads it: the raw values of the
// envelope's members, empty when absent. The reader reuses one.
type frame struct {
	ID     json.RawMessage `json:"id"`
	Event  json.RawMessage `json:"event"`
	Status json.RawMessage `json:"statusCode"`
	Body   json.RawMessage `json:"body"`
	More   bool            `json:"more"`
	Room   json.RawMessage `json:"room"`
	Epoch  json.RawMessage `json:"epoch"`
	Offset json.RawMessage `json:"offset"`
}

// read reads frames until the connection ends, then fails what waits on
// it; it returns why the connection ended.
func (cn *conn) read() error {
	var (
		f   frame
		buf bytes.Buffer
		err error
	)
	for {
		var r interface{ Read([]byte) (int, error) }
		if _, r, err = cn.ws.Reader(context.Background()); err != nil {
			break
		}
		buf.Reset()
		if _, err = buf.ReadFrom(r); err != nil {
			break
		}
		cn.messages.Add(1)
		cn.handle(&f, buf.Bytes())
	}
	cn.ws.CloseNow()
	cn.stopPings()
	if cn.wtimer != nil {
		cn.wtimer.Stop()
	}
	return cn.end(err)
}

// end fails every call, stream and Send of the connection.
func (cn *conn) end(cause error) error {
	cn.mu.Lock()
	err := cn.lostLocked(cause)
	cn.ended = err
	calls, queue := cn.calls, cn.queue
	cn.calls, cn.queue = nil, nil
	cn.mu.Unlock()
	for _, p := range calls {
		p.fail(err)
	}
	for _, p := range queue {
		p.fail(err)
	}
	return err
}

// handle routes one frame: a reply or stream item by its id, a push by its
// event, a Callback reply to the oldest Send, anything else to the
// unhandled function.
func (cn *conn) handle(f *frame, data []byte) {
	f.ID, f.Event, f.Status, f.Body, f.More = f.ID[:0], f.Event[:0], f.Status[:0], f.Body[:0], false
	f.Room, f.Epoch, f.Offset = f.Room[:0], f.Epoch[:0], f.Offset[:0]
	if data = bytes.TrimSpace(data); len(data) == 0 || data[0] != '{' || json.Unmarshal(data, f) != nil {
		cn.c.unhandled(Message{Body: bytes.Clone(data)}, nil)
		return
	}
	status, hasStatus := parseStatus(f.Status)
	if len(f.ID) == 0 && len(f.Room) > 0 {
		switch hist := historyOf(f); {
		case hasStatus && isPresence(f.Event):
			if status == 200 {
				cn.presencePush(f)
			}
			return
		case hasStatus && isRecover(f.Event):
			if !cn.behind && !cn.recoverPush(f, status) {
				cn.fallBehind("")
			}
			return
		case hist != nil:
			event := ""
			if len(f.Event) > 0 {
				var ok bool
				if event, ok = eventName(f.Event); !ok {
					break
				}
			}
			body := f.Body
			if !hasStatus {
				body = data
			}
			cn.historyPush(event, status, body, hist)
			return
		}
	}
	switch {
	case len(f.ID) > 0:
		id, ok := parseID(f.ID)
		if !ok {
			cn.c.o.logger.DebugContext(cn.c.ctx, "wsclient: reply with an id this client never sent", "id", string(f.ID))
			return
		}
		cn.reply(id, status, f.Body, data, f.More)
	case len(f.Event) > 0:
		event, ok := eventName(f.Event)
		if !ok {
			cn.c.unhandled(Message{Body: bytes.Clone(data)}, nil)
			return
		}
		if !hasStatus {
			// Not an envelope: the whole frame is the message.
			cn.c.push(event, 0, data, nil)
			return
		}
		cn.c.push(event, status, f.Body, nil)
	case hasStatus:
		cn.mu.Lock()
		var p *pending
		if len(cn.queue) > 0 {
			p = cn.queue[0]
			cn.queue[0] = nil
			cn.queue = cn.queue[1:]
		} else if status >= 400 {
			cn.refusal = replyError(status, f.Body)
		}
		cn.mu.Unlock()
		if p == nil {
			cn.c.unhandled(Message{Status: status, Body: bytes.Clone(f.Body)}, nil)
			return
		}
		p.finish(status, f.Body, data)
	default:
		cn.c.unhandled(Message{Body: bytes.Clone(data)}, nil)
	}
}

// reply hands a reply or a stream item to the call or stream waiting for
// it. A reply nobody waits for any more (the call was abandoned, the
// stream was left) is dropped.
func (cn *conn) reply(id uint64, status int, body, data []byte, more bool) {
	cn.mu.Lock()
	p := cn.calls[id]
	if p != nil && !(more && p.stream != nil) {
		delete(cn.calls, id)
	}
	cn.mu.Unlock()
	switch {
	case p == nil:
	case p.stream != nil:
		// A loop that fell behind sees ErrStreamOverflow, and cancels.
		p.stream.put(status, body, more)
	default:
		p.finish(status, body, data)
	}
}

// parseStatus reads a statusCode; ok is false when there is none.
func parseStatus(raw []byte) (int, bool) {
	n, ok := parseUint(raw, 4)
	return int(n), ok
}

// parseID reads an id this client sent: a positive integer.
func parseID(raw []byte) (uint64, bool) { return parseUint(raw, 19) }

// parseUint reads an unsigned integer of at most digits digits.
func parseUint(raw []byte, digits int) (uint64, bool) {
	if len(raw) == 0 || len(raw) > digits {
		return 0, false
	}
	var n uint64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}

// eventName returns the name a raw "event" value holds; ok is false when
// it is not a string.
func eventName(raw []byte) (string, bool) {
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// startPings pings the server every interval from a timer. A server that
// sent a frame since the last ping is alive and need not answer.
func (cn *conn) startPings(interval time.Duration) {
	if interval <= 0 {
		return
	}
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	cn.ptimer = time.AfterFunc(interval, func() {
		seen := cn.messages.Load()
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := cn.ws.Ping(ctx)
		cancel()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if cn.messages.Load() == seen {
				cn.drop(errPongTimeout)
				return
			}
		}
		cn.pmu.Lock()
		if !cn.stopped {
			cn.ptimer.Reset(interval)
		}
		cn.pmu.Unlock()
	})
}

func (cn *conn) stopPings() {
	cn.pmu.Lock()
	defer cn.pmu.Unlock()
	cn.stopped = true
	if cn.ptimer != nil {
		cn.ptimer.Stop()
	}
}
