package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
)

// ErrStreamCanceled is the [context.Cause] of a stream's ctx once the client
// has stopped the stream with {"event": "$cancel", "id": …}; the stream's
// send returns it from then on.
var ErrStreamCanceled = errors.New("ws: stream canceled by the client")

// errStreamEnded is what send returns once the stream's function has
// returned.
var errStreamEnded = errors.New("ws: stream has ended")

// stream is one open stream of a connection.
type stream struct {
	s      *session
	ev     *event
	id     []byte // raw, as the client sent it
	key    string // idKey(id)
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu   sync.Mutex // serializes the items and the final reply
	done bool       // the function has returned: no more items
}

// openStream decodes a stream's request on the read loop and starts the
// stream on its own goroutine. It returns an error only when the
// connection has ended.
func (s *session) openStream(ev *event, id, data []byte) error {
	c := s.c
	key := idKey(id)
	s.mu.Lock()
	_, taken := s.streams[key]
	full := len(s.streams) >= s.r.maxStreams()
	s.mu.Unlock()
	switch {
	case taken:
		return c.sendEvent(id, ev.quoted, http.StatusBadRequest, ErrorList{Errors: []ErrorDetail{errStreamOpen}})
	case full:
		return c.sendEvent(id, ev.quoted, http.StatusTooManyRequests, s.r.tooMany)
	}

	ctx, cancel := context.WithCancelCause(c.ctx)
	var (
		run  streamFunc
		list *ErrorList
	)
	err := c.guard(ev.where, func() error {
		run, list = ev.open(ctx, data)
		return nil
	})
	switch {
	case err != nil:
		cancel(err)
		return c.sendEvent(id, ev.quoted, http.StatusInternalServerError, internalError)
	case list != nil:
		cancel(nil)
		return c.sendEvent(id, ev.quoted, http.StatusBadRequest, *list)
	}

	st := &stream{s: s, ev: ev, id: bytes.Clone(id), key: key, ctx: ctx, cancel: cancel}
	// Only the read loop adds streams: what was checked above still holds.
	s.mu.Lock()
	if s.streams == nil {
		s.streams = make(map[string]*stream)
	}
	s.streams[key] = st
	s.mu.Unlock()
	s.wg.Add(1)
	go st.run(run)
	return nil
}

// cancel stops the stream with the given id, if it is open: $cancel.
func (s *session) cancel(id []byte) {
	key := idKey(id)
	s.mu.Lock()
	st := s.streams[key]
	s.mu.Unlock()
	if st != nil {
		st.cancel(ErrStreamCanceled)
	}
}

// run runs the stream's function and sends the final reply.
func (st *stream) run(fn streamFunc) {
	s, c, ev := st.s, st.s.c, st.ev
	defer s.wg.Done()
	err := c.guard(ev.where, func() error { return fn(st.ctx, st.send) })

	st.mu.Lock()
	st.done = true
	st.mu.Unlock()
	s.mu.Lock()
	delete(s.streams, st.key)
	s.mu.Unlock()
	ctxDone := st.ctx.Err() != nil
	canceled := errors.Is(context.Cause(st.ctx), ErrStreamCanceled)
	st.cancel(errStreamEnded)

	status, body := http.StatusOK, any(nil)
	var e *Error
	switch {
	case canceled, err == nil:
	case errors.As(err, &e):
		status, body = e.Status, e.Body
	default:
		status, body = http.StatusInternalServerError, internalError
		// A function that gives up because the connection ended is no
		// failure; a panic was logged by guard.
		if !ctxDone && !errors.Is(err, errPanic) {
			c.logEvent("ws: stream failed", ev.name, err)
		}
	}
	err = c.guard(ev.where, func() error { return c.sendEvent(st.id, ev.quoted, status, body) })
	if errors.Is(err, errPanic) {
		c.sendEvent(st.id, ev.quoted, http.StatusInternalServerError, internalError)
	}
}

// send writes one item of the stream.
func (st *stream) send(item any) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return errStreamEnded
	}
	if st.ctx.Err() != nil {
		return context.Cause(st.ctx)
	}
	return st.s.c.sendItem(st.id, st.ev.quoted, item)
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
