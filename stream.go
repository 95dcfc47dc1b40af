package ws

import (
	"bytes"
	"context"
	"errors"
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
func (s *session) openStream(ev *event, id, data []byte, call *Call) error {
	c := s.c
	key := idKey(id)
	s.mu.Lock()
	_, taken := s.streams[key]
	full := len(s.streams) >= s.r.maxStreams()
	s.mu.Unlock()
	switch {
	case taken:
		return s.refuseEvent(ev, id, call, &Reply{Status: http.StatusBadRequest, Body: ErrorList{Errors: []ErrorDetail{errStreamOpen}}})
	case full:
		return s.refuseEvent(ev, id, call, &Reply{Status: http.StatusTooManyRequests, Body: s.r.tooMany})
	}

	ctx, cancel := context.WithCancelCause(c.ctx)
	var (
		run  streamFunc
		list *ErrorList
	)
	err := c.guard(ev.where, func() error {
		run, list = ev.open(ctx, data, call)
		return nil
	})
	switch {
	case err != nil:
		cancel(err)
		return s.refuseEvent(ev, id, call, &Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err})
	case list != nil:
		cancel(nil)
		return s.refuseEvent(ev, id, call, &Reply{Status: http.StatusBadRequest, Body: *list})
	}

	st := &stream{s: s, ev: ev, id: bytes.Clone(id), key: key, ctx: ctx, cancel: cancel}
	if call != nil {
		call.ID, call.run, call.st = st.id, run, st
	}
	// Streams are added only under the dispatch lock, which the caller
	// holds: what was checked above still holds.
	s.mu.Lock()
	if s.streams == nil {
		s.streams = make(map[string]*stream)
	}
	s.streams[key] = st
	s.mu.Unlock()
	s.wg.Add(1)
	go st.run(run, call)
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

// run runs the stream's function, through the interceptors when call is
// not nil, and sends the final reply. The stream's id is free again from
// that reply on: a final reply never ends a newer stream of the same id.
func (st *stream) run(fn streamFunc, call *Call) {
	c, ev := st.s.c, st.ev
	defer st.s.wg.Done()
	defer st.forget() // when no final reply could be written
	var r Reply
	if call == nil {
		r = st.execute(st.ctx, fn)
	} else {
		r = c.intercept(st.ctx, ev.where, ev.chain, call)
		st.finish() // when an interceptor did not call next
	}
	if r.Err != nil && !errors.Is(r.Err, errPanic) {
		c.logEvent("ws: stream failed", ev.name, r.Err)
	}
	// The id is freed under the write lock, before the final reply is
	// written: what a new stream of the same id sends comes after it.
	err := c.guard(ev.where, func() error { return c.sendEventLocked(st.id, ev.quoted, r.Status, r.Body, st.forget) })
	if errors.Is(err, errPanic) {
		c.sendEventLocked(st.id, ev.quoted, http.StatusInternalServerError, internalError, st.forget)
	}
}

// runStream is the innermost function of a stream's interceptors: it runs
// the stream and returns its final reply.
func runStream(ctx context.Context, call *Call) Reply {
	if r, ok := call.refused(); ok {
		return r
	}
	return call.st.execute(ctx, call.run)
}

// execute runs the stream's function and returns the final reply, with
// the error to log behind a 500.
func (st *stream) execute(ctx context.Context, fn streamFunc) Reply {
	c, ev := st.s.c, st.ev
	err := c.guard(ev.where, func() error { return fn(ctx, st.send) })
	ctxDone := st.ctx.Err() != nil
	canceled := errors.Is(context.Cause(st.ctx), ErrStreamCanceled)
	st.finish()

	var e *Error
	switch {
	case canceled, err == nil:
		return Reply{Status: http.StatusOK}
	case errors.As(err, &e):
		return Reply{Status: e.Status, Body: e.Body}
	case ctxDone:
		// A function that gives up because the connection ended is no
		// failure.
		return Reply{Status: http.StatusInternalServerError, Body: internalError}
	}
	return Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err}
}

// finish ends the stream: no more items. It may be called more than once.
func (st *stream) finish() {
	st.mu.Lock()
	st.done = true
	st.mu.Unlock()
	st.cancel(errStreamEnded)
}

// forget frees the stream's id, as its final reply is written.
func (st *stream) forget() {
	s := st.s
	s.mu.Lock()
	if s.streams[st.key] == st {
		delete(s.streams, st.key)
	}
	s.mu.Unlock()
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
