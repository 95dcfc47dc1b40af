package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"
)

// Stream opens the server stream event of a [ws.Router] with the request
// req and returns its items as an iterator:
//
//	for msg, err := range wsclient.Stream[ChatMessage](ctx, c, "chat.watch", WatchRequest{}) {
//		if err != nil {
//			return err // the stream failed; the loop ends after it
//		}
//		fmt.Println(msg.Message)
//	}
//
// Each range over the iterator opens a new stream. The loop ends when the
// server ends the stream: after the last item when it ends with 200, or
// after one last pair (zero Item, err) when it ends with an error reply
// (an [*ws.Error], as [Call] makes it), when the connection is lost
// ([ErrConnectionLost]), when ctx is done (ctx.Err()), or when the loop
// fell behind ([ErrStreamOverflow]). Breaking out of the loop, or ctx
// being done, cancels the stream on the server with {"event": "$cancel",
// "id": …}.
//
// Items wait in a buffer of [WithBuffer] items while the loop's body runs;
// the reader never waits for the loop, so calls made from the loop's body
// are answered.
func Stream[Item, Req any](ctx context.Context, c *Client, event string, req Req) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		var zero Item
		st, err := c.openStream(event, req)
		if err != nil {
			yield(zero, err)
			return
		}
		defer st.leave()
		for {
			body, err, ok := st.next(ctx)
			if !ok {
				if err != nil {
					yield(zero, err)
				}
				return
			}
			var item Item
			if err := json.Unmarshal(body, &item); err != nil {
				yield(zero, fmt.Errorf("wsclient: stream item does not decode: %w", err))
				return
			}
			if !yield(item, nil) {
				return
			}
		}
	}
}

// stream is the client's side of one open stream.
type stream struct {
	cn    *conn
	id    uint64
	limit int

	mu     sync.Mutex
	items  [][]byte // bodies waiting for the loop
	ended  bool     // no more items will come
	err    error    // why it ended, nil for a 200
	final  bool     // the server sent its final reply: no $cancel needed
	signal chan struct{}
}

// openStream registers a stream and sends its request.
func (c *Client) openStream(event string, req any) (*stream, error) {
	cn, err := c.current()
	if err != nil {
		return nil, err
	}
	id := c.ids.Add(1)
	st := &stream{cn: cn, id: id, limit: c.o.buffer, signal: make(chan struct{}, 1)}
	if err := cn.request(event, id, req, &pending{stream: st}); err != nil {
		return nil, err
	}
	return st, nil
}

// put takes one frame of the stream, on the reader.
func (st *stream) put(status int, body []byte, more bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.ended {
		return
	}
	switch {
	case !more:
		st.ended, st.final = true, true
		if status >= 400 {
			st.err = replyError(status, body)
		}
	case len(st.items) >= st.limit:
		st.ended, st.err = true, ErrStreamOverflow
		st.items = nil
	default:
		st.items = append(st.items, bytes.Clone(body))
	}
	st.wake()
}

// fail ends the stream with err: the connection ended.
func (st *stream) fail(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.ended {
		st.ended, st.final, st.err = true, true, err
		st.wake()
	}
}

func (st *stream) wake() {
	select {
	case st.signal <- struct{}{}:
	default:
	}
}

// next returns the next item's body; ok is false once the stream has
// ended, and err says why.
func (st *stream) next(ctx context.Context) (body []byte, err error, ok bool) {
	for {
		st.mu.Lock()
		if len(st.items) > 0 {
			body = st.items[0]
			st.items[0] = nil
			st.items = st.items[1:]
			st.mu.Unlock()
			return body, nil, true
		}
		if st.ended {
			err = st.err
			st.mu.Unlock()
			return nil, err, false
		}
		st.mu.Unlock()
		select {
		case <-st.signal:
		case <-ctx.Done():
			return nil, ctx.Err(), false
		}
	}
}

// leave forgets the stream and, unless the server has ended it, cancels
// it there. Its final reply, when it comes, is dropped.
func (st *stream) leave() {
	st.mu.Lock()
	final := st.final
	st.ended = true
	st.items = nil
	st.mu.Unlock()
	st.cn.forget(st.id)
	if !final {
		st.cn.cancelStream(st.id)
	}
}
