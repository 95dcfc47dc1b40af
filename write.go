// Writing: the Conn's send methods, the write lock and timeout, and the
// pooled buffers messages are encoded into. What the frames go through on
// their way to the network is transport.go's.

package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/coder/websocket"
)

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
		c.closeNow(errWriteTimeout)
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
