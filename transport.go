package ws

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// transport is the net.Conn coder/websocket runs on: the hijacked one,
// wrapped so that frames known to be followed by more are written together,
// in one write, without changing a byte on the wire.
//
// coder/websocket flushes its buffered writer after every final frame; the
// flush lands in Write. While more frames are known to follow (writers wait
// for the connection, a batch is under way, or more requests of the peer are
// buffered already), Write keeps the bytes; the next write that nothing
// follows sends them with its own. Nothing waits on a timer: before the
// server waits for the peer (Read) or stops reading for a while (the
// takeover reader starts), what is held goes out.
type transport struct {
	net.Conn
	br *bufio.Reader // coder/websocket's reader: what the peer sent and nobody read yet

	waiting atomic.Int32 // writers waiting for the connection's write lock
	batch   atomic.Bool  // a batch of frames is being written: more follow
	more    atomic.Bool  // more requests are buffered: their replies follow
	closing atomic.Bool  // a close frame goes out: hold nothing any more

	mu           sync.Mutex
	held         *buffer // bytes written but not sent yet
	writeTimeout time.Duration
}

// maxHeld bounds what a transport holds: past it, frames go out at once.
const maxHeld = 64 << 10

// holding reports whether more frames are known to follow.
func (t *transport) holding() bool {
	return !t.closing.Load() && (t.waiting.Load() > 0 || t.batch.Load() || t.more.Load())
}

// Write sends p, with what is held before it, or holds p too when more
// frames follow. It is called by coder/websocket under its frame lock.
func (t *transport) Write(p []byte) (int, error) {
	n := len(p)
	p = validCloseReason(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.holding() && (t.held == nil || t.held.Len()+len(p) <= maxHeld) {
		if t.held == nil {
			t.held = getBuffer()
		}
		t.held.Write(p)
		return n, nil
	}
	if t.held == nil {
		if _, err := t.Conn.Write(p); err != nil {
			return 0, err
		}
		return n, nil
	}
	t.held.Write(p)
	if err := t.sendLocked(); err != nil {
		return 0, err
	}
	return n, nil
}

// validCloseReason returns p, or when p is a close frame whose reason is not
// valid UTF-8 (coder/websocket echoes the peer's reason as it came), the
// same close frame without a reason: RFC 6455 allows only UTF-8 there.
func validCloseReason(p []byte) []byte {
	// A server frame is not masked: 0x88 is a final close frame, and a
	// control frame's length fits in the second byte.
	if len(p) < 4 || p[0] != 0x88 || int(p[1]) != len(p)-2 || utf8.Valid(p[4:]) {
		return p
	}
	return []byte{0x88, 2, p[2], p[3]}
}

// sendLocked sends what is held, under t.mu.
func (t *transport) sendLocked() error {
	b := t.held
	t.held = nil
	_, err := t.Conn.Write(b.Bytes())
	putBuffer(b)
	return err
}

// flush sends what is held, unless more frames follow. It is called
// outside the connection's writes, where the write timeout is not armed:
// it bounds the write with a deadline of its own.
func (t *transport) flush() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held == nil {
		return nil
	}
	if t.writeTimeout > 0 {
		t.Conn.SetWriteDeadline(time.Now().Add(t.writeTimeout))
		defer t.Conn.SetWriteDeadline(time.Time{})
	}
	return t.sendLocked()
}

// settle sends what is held when nothing follows any more: a writer that
// expected more gave up. It runs within the connection's write timeout.
func (t *transport) settle() error {
	if t.holding() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held == nil {
		return nil
	}
	return t.sendLocked()
}

// Read sends what is held before it waits for the peer: a reply never waits
// for the next request.
func (t *transport) Read(p []byte) (int, error) {
	t.more.Store(false)
	if err := t.flush(); err != nil {
		return 0, err
	}
	return t.Conn.Read(p)
}

// release gives back what is held, once the connection has ended.
func (t *transport) release() {
	t.mu.Lock()
	putBuffer(t.held)
	t.held = nil
	t.mu.Unlock()
}

// hijackRecorder hands coder/websocket a transport around the net.Conn it
// hijacks, and keeps the raw one: closing it is the only way to drop a
// connection whose close handshake is under way, which coder/websocket's
// CloseNow waits for.
type hijackRecorder struct {
	http.ResponseWriter
	hj http.Hijacker
	nc net.Conn
	t  *transport
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := h.hj.Hijack()
	if err != nil {
		return nc, brw, err
	}
	h.nc = nc
	h.t = &transport{Conn: nc, br: brw.Reader}
	brw.Writer.Reset(h.t)
	return h.t, brw, nil
}

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// recordHijack wraps w in a hijackRecorder, or returns w itself when it
// cannot be hijacked (Accept then answers 501).
func recordHijack(w http.ResponseWriter) http.ResponseWriter {
	for rw := w; ; {
		switch t := rw.(type) {
		case http.Hijacker:
			return &hijackRecorder{ResponseWriter: w, hj: t}
		case interface{ Unwrap() http.ResponseWriter }:
			rw = t.Unwrap()
		default:
			return w
		}
	}
}
