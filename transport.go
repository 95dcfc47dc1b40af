package ws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// transport is the net.Conn coder/websocket runs on: the hijacked one,
// wrapped so that frames known to be followed by more are written together,
// in one write. It may hold bytes and send them later; it changes none,
// but for the echo of a peer's invalid close reason (see Write).
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

	received atomic.Int64 // bytes read from the peer: one sending a long message is alive

	mu           sync.Mutex
	held         *buffer // bytes written but not sent yet
	frames       frames  // where the bytes written are in their frames
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
//
// Write changes no byte of p but one kind of frame: a close frame whose
// reason is not valid UTF-8, which is coder/websocket's echo of a peer's
// close frame (the server's own reasons are made valid by [closeReason]).
// RFC 6455 section 8.1 asks an endpoint that finds invalid UTF-8 to fail
// the connection; section 7.1.7 asks it to send a close frame with a
// status code first. So instead of the echo, the peer gets 1007 with the
// reason "invalid UTF-8", as it gets for a text message that is not UTF-8.
// [frames] finds close frames exactly, wherever the writes cut them.
//
// This is done on the write side, where coder/websocket's own frames pass,
// unmasked and in order. On the read side the peer's close frame would
// have to be parsed from bytes that partly never pass through Read (what
// the HTTP server read ahead before the hijack), and coder/websocket would
// still write its echo before anything there could act.
func (t *transport) Write(p []byte) (int, error) {
	n := len(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		pass, took, out := t.frames.next(p)
		if pass > 0 {
			if err := t.emitLocked(p[:pass]); err != nil {
				return 0, err
			}
		}
		if out != nil {
			if isClose(out) {
				// coder/websocket closes the connection right after
				// its close frame, its echo of a peer's included,
				// without asking: what is held goes out with it.
				t.closing.Store(true)
			}
			if err := t.emitLocked(out); err != nil {
				return 0, err
			}
		}
		p = p[pass+took:]
	}
	return n, nil
}

// emitLocked sends p, with what is held before it, or holds p too when
// more frames follow, under t.mu.
func (t *transport) emitLocked(p []byte) error {
	if t.holding() && (t.held == nil || t.held.Len()+len(p) <= maxHeld) {
		if t.held == nil {
			t.held = getBuffer()
		}
		t.held.Write(p)
		return nil
	}
	if t.held == nil {
		_, err := t.Conn.Write(p)
		return err
	}
	t.held.Write(p)
	return t.sendLocked()
}

// frames follows the frames coder/websocket writes, with its state carried
// from one Write to the next. coder/websocket writes whole frames into a
// buffered writer that flushes whenever it is full (every 4 KiB), so a
// Write may start and end anywhere in a frame, header included: nothing
// may be inferred from where a Write starts. frames reads each header,
// skips the payload by its length, and keeps the bytes of a close frame (at
// most 127: a server's frames are not masked) until it is whole. Every
// other byte passes at once, as it is. A frame's opcode is the low four
// bits of its first byte, whatever the RSV bits (permessage-deflate sets
// RSV1 on data frames; control frames are never compressed).
type frames struct {
	skip  int64    // payload bytes of the current frame still to pass
	head  [14]byte // the current frame's header while it is split across writes
	nhead int      // bytes of it in head; they have passed already
	ctl   []byte   // the close frame under way, kept until it is whole
	inCtl bool     // a close frame is under way
}

// opClose is the opcode of a close frame.
const opClose = 0x8

// invalidReasonClose is the close frame the server sends instead of an
// echoed close reason that is not valid UTF-8: 1007, "invalid UTF-8".
var invalidReasonClose = append([]byte{0x80 | opClose, 2 + 13, 0x03, 0xef}, "invalid UTF-8"...)

// next follows p, the next bytes written. Its first pass bytes go out as
// they are; the took bytes after them belong to a close frame, which frames
// keeps. Once that close frame is whole, out is what goes out for it:
// itself, or invalidReasonClose. out is valid until the next call.
func (f *frames) next(p []byte) (pass, took int, out []byte) {
	for pass < len(p) {
		q := p[pass:]
		switch {
		case f.skip > 0:
			n := int(min(f.skip, int64(len(q))))
			f.skip -= int64(n)
			pass += n
		case f.inCtl || f.nhead == 0 && q[0]&0x0f == opClose:
			if pass > 0 {
				return pass, 0, nil
			}
			took, out = f.closeFrame(q)
			return 0, took, out
		case f.nhead == 0 && len(q) >= 2 && len(q) >= headerLen(q[1]):
			// The whole header is here: the common case.
			hl := headerLen(q[1])
			f.skip = payloadLen(q[:hl])
			pass += hl
		default:
			// A header cut by the end of a write: keep a copy to read
			// it once whole.
			need := 2
			if f.nhead >= 2 {
				need = headerLen(f.head[1])
			}
			n := copy(f.head[f.nhead:need], q)
			f.nhead += n
			pass += n
			if f.nhead >= 2 && f.nhead == headerLen(f.head[1]) {
				f.skip = payloadLen(f.head[:f.nhead])
				f.nhead = 0
			}
		}
	}
	return pass, 0, nil
}

// closeFrame takes the bytes of the close frame under way from the start
// of q. It returns how many it took, and once the frame is whole, what goes
// out for it.
func (f *frames) closeFrame(q []byte) (took int, out []byte) {
	if !f.inCtl {
		f.inCtl = true
		if f.ctl == nil {
			f.ctl = make([]byte, 0, 2+125)
		}
		f.ctl = f.ctl[:0]
	}
	for took < len(q) {
		need := 2
		if len(f.ctl) >= 2 {
			need += int(f.ctl[1])
		}
		n := min(need-len(f.ctl), len(q)-took)
		f.ctl = append(f.ctl, q[took:took+n]...)
		took += n
		switch {
		case len(f.ctl) < 2:
		case f.ctl[1] > 125:
			// Masked, or longer than a control frame may be: not a
			// frame coder/websocket writes. It passes as it is, read
			// as any other frame.
			f.inCtl = false
			f.head[0], f.head[1], f.nhead = f.ctl[0], f.ctl[1], 2
			return took, f.ctl
		case len(f.ctl) == 2+int(f.ctl[1]):
			f.inCtl = false
			if f.ctl[0] == 0x80|opClose && len(f.ctl) > 4 && !utf8.Valid(f.ctl[4:]) {
				return took, invalidReasonClose
			}
			return took, f.ctl
		}
	}
	return took, nil
}

// isClose reports whether frame, a whole frame from [frames.next], is a
// close frame.
func isClose(frame []byte) bool {
	return len(frame) >= 2 && frame[0]&0x0f == opClose && int(frame[1]) == len(frame)-2
}

// headerLen returns the length of a frame header from its second byte.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 {
		n += 4 // the masking key
	}
	return n
}

// payloadLen returns the payload length that h, a whole header, announces.
func payloadLen(h []byte) int64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return int64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		return int64(binary.BigEndian.Uint64(h[2:]) &^ (1 << 63))
	default:
		return int64(n)
	}
}

// invalidReasonEnd returns why the connection ended when err, a failed
// read, is a peer's close frame whose reason is not valid UTF-8, which the
// transport has answered with 1007 (see [transport.Write]); nil otherwise.
func invalidReasonEnd(err error) error {
	var ce websocket.CloseError
	if !errors.As(err, &ce) || utf8.ValidString(ce.Reason) {
		return nil
	}
	why := fmt.Errorf("ws: peer closed with %d and a reason that is not valid UTF-8", int(ce.Code))
	return &closeError{code: websocket.StatusInvalidFramePayloadData, reason: "invalid UTF-8", cause: why}
}

// sendLocked sends what is held, under t.mu.
func (t *transport) sendLocked() error {
	b := t.held
	t.held = nil
	_, err := t.Conn.Write(b.Bytes())
	putBuffer(b)
	return err
}

// flush sends what is held, whether or not more frames follow. It is called
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
	n, err := t.Conn.Read(p)
	t.received.Add(int64(n))
	return n, err
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
