// A Router's connection: the read loop, routing each message to its event,
// admission (400s, $cancel, a stream's start), and the requests answered
// one at a time or, with WithConcurrency, on goroutines of their own.

package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"
)

// unknown is the errorList entry of an event name no event has.
func (r *Router) unknown(name []byte) ErrorDetail {
	return ErrorDetail{Loc: []any{"event"}, Type: "union_tag_invalid",
		Msg: "Input tag '" + string(name) + "' found using 'event' does not match any of the expected tags: " + r.expected}
}

// ServeHTTP upgrades the request and serves the connection: onConnect, then
// the messages until the connection ends, then onDisconnect.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.seal.Do(r.sealUp)
	r.checkLimits()
	c, err := accept(w, req, r.cfg)
	if err != nil {
		return
	}
	defer c.release()
	if !c.connect(r.onConnect) {
		return
	}
	c.startPings(r.cfg.pingInterval)
	c.startLimits()

	err = r.serve(c)
	if r.onDisconnect != nil {
		c.guard("onDisconnect", func() error { r.onDisconnect(c.ctx, c, err); return nil })
	}
}

// session is the Router's state for one connection.
type session struct {
	r   *Router
	c   *Conn
	sem chan struct{} // nil: one request at a time, on the read loop

	mu      sync.Mutex
	streams map[string]*stream // open streams by id (idKey), until their final reply is sent

	// The dispatch lock: messages are admitted (routed, counted against
	// the rate limits, refused, answered with a 400, or started when they
	// are a stream's request or a $cancel) one at a time, by the read loop
	// or, for a stream message read ahead while the loop is busy, by the
	// reader (early).
	dmu      sync.Mutex
	admitted int          // messages of the read loop admitted
	stopped  bool         // the session is over: start nothing
	deferred atomic.Int32 // stream messages read ahead that wait in the queue

	fmu    sync.Mutex // guards flight
	flight int        // work under way, with sem: the loop's and the requests'

	wg sync.WaitGroup // stream and request goroutines
}

// serve reads and answers messages until the connection ends, waits for
// the connection's requests and streams to finish, and returns why it
// ended.
func (r *Router) serve(c *Conn) error {
	s := &session{r: r, c: c}
	if n := r.cfg.concurrency; n > 1 {
		s.sem = make(chan struct{}, n)
	}
	c.setEarly(s.early)
	var err error
	if s.sem == nil {
		err = s.loop()
	} else {
		err = s.loopConcurrent()
	}
	s.stop(err)
	if errors.Is(err, errDraining) {
		// The group is shutting down: once the last reply is out, the
		// connection closes with 1001, if it has not already.
		err = c.close(websocket.StatusGoingAway, "going away", errShutdown)
	}
	return err
}

// errDraining ends a read loop that stopped reading because its group is
// shutting down.
var errDraining = errors.New("ws: draining")

// loop handles the messages one at a time, as [Callback]'s loop does.
func (s *session) loop() error {
	c := s.c
	for {
		data, err := c.read(c.ctx)
		if err != nil {
			return err
		}
		c.busy()
		_, err = s.dispatch(data)
		if !c.idle() {
			return c.ended(errShutdown)
		}
		if err != nil {
			return err
		}
	}
}

// loopConcurrent reads the messages and hands each request to a goroutine,
// with at most cap(s.sem) under way. It takes a slot before it reads: while
// all are busy, the messages wait in the read-ahead queue, and the reader
// that takes over handles the stream messages as they arrive.
func (s *session) loopConcurrent() error {
	c := s.c
	for {
		select {
		case s.sem <- struct{}{}:
		case <-c.ctx.Done():
			return c.endErr()
		}
		data, err := c.read(c.ctx)
		if err != nil {
			<-s.sem
			return err
		}
		if !s.begin() {
			<-s.sem
			return errDraining
		}
		spawned, err := s.dispatch(data)
		if !spawned {
			<-s.sem
		}
		s.end()
		if err != nil {
			return err
		}
	}
}

// begin counts one more piece of work under way; it reports false when the
// group is shutting down, and no new work may start.
func (s *session) begin() bool {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.c.state.Load()&stateDraining != 0 {
		return false
	}
	s.enterLocked()
	return true
}

// enter counts one more piece of work under way, whether or not the group
// is shutting down: for a request the loop's own work is part of.
func (s *session) enter() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.enterLocked()
}

func (s *session) enterLocked() {
	if s.flight == 0 {
		s.c.busy()
	}
	s.flight++
}

// end counts one piece of work done. The last one closes the connection
// with 1001 when the group is shutting down.
func (s *session) end() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.flight--
	if s.flight == 0 {
		s.c.idle()
	}
}

// stop ends the open streams, their ctx's cause being why the connection
// ended, and waits for every stream and request to finish.
func (s *session) stop(why error) {
	s.dmu.Lock()
	s.stopped = true
	s.dmu.Unlock()
	s.mu.Lock()
	for _, st := range s.streams {
		st.cancel(why)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

var (
	emptyObject  = []byte("{}")
	quotedCancel = []byte(`"$cancel"`)
)

// dispatch handles one message on the read loop: it admits it, then
// answers it when it is a request, or, with [WithConcurrency], starts the
// goroutine that will; spawned reports that one was started, with the
// loop's slot. It returns an error only when the connection has ended.
func (s *session) dispatch(msg []byte) (spawned bool, err error) {
	s.dmu.Lock()
	s.admitted++
	if s.c.held.deferred {
		s.deferred.Add(-1)
	}
	q := s.r.route(msg)
	call, run, err := s.admit(q, len(msg))
	s.dmu.Unlock()
	switch {
	case !run:
		return false, err
	case s.sem != nil:
		s.spawn(q.ev, q.id, q.data, call)
		return true, nil
	}
	if call != nil {
		call.ID = q.id
	}
	return false, s.answer(q.ev, q.id, q.data, call)
}

// admit does, under s.dmu, what a message asks for short of handling a
// request: a refusal over a rate limit, a 400, a $cancel, a stream's start.
// For a request it reports run, with the request's Call. It returns an
// error only when the connection has ended.
func (s *session) admit(q routed, size int) (call *Call, run bool, err error) {
	if c := s.c; c.rate != nil {
		var event string
		if q.ev != nil {
			event = q.ev.name
		}
		refusal, err := c.rate.take(c, event)
		if err != nil {
			return nil, false, err
		}
		if refusal != nil {
			return nil, false, s.refuse(q, size, refusal)
		}
	}
	switch {
	case q.errs != nil:
		return nil, false, s.c.sendEvent(q.id, q.event, http.StatusBadRequest, *q.errs)
	case q.cancel:
		s.cancel(q.id)
		return nil, false, nil
	}
	call = s.newCall(q.ev, q.traceparent, q.tracestate, size)
	if q.ev.open != nil {
		return nil, false, s.openStream(q.ev, q.id, q.data, call)
	}
	return call, true, nil
}

// early takes b, a message read ahead while the read loop is busy, when it
// must not wait behind requests: a $cancel stops its stream, and a stream's
// request starts it, as they arrive. Everything else waits in the queue,
// in order. So does a stream message while an earlier one waits there, or
// while the loop holds a message it has not admitted yet: stream messages
// are always handled in the order they came. It reports whether it took b.
func (s *session) early(b *buffer) bool {
	q := s.r.route(b.Bytes())
	if !q.cancel && (q.ev == nil || q.ev.open == nil) {
		return false
	}
	if s.deferred.Load() == 0 && s.dmu.TryLock() {
		took := false
		if !s.stopped && s.c.state.Load()&stateDraining == 0 && s.admitted == s.c.handedCount() {
			s.admit(q, b.Len())
			took = true
		}
		s.dmu.Unlock()
		if took {
			return true
		}
	}
	b.deferred = true
	s.deferred.Add(1)
	return false
}

// routed is a client message, read and checked against the events.
type routed struct {
	ev     *event     // the event; nil for $cancel and on errors
	id     []byte     // the raw id; nil when absent or invalid
	event  []byte     // the replies' "event"; nil when it could not be read
	data   []byte     // the raw data; {} when absent
	errs   *ErrorList // the 400 that answers the message, if it is invalid
	cancel bool       // $cancel

	traceparent, tracestate []byte // the raw trace context; nil when absent
}

// route reads a client message and finds its event; it writes nothing.
func (r *Router) route(msg []byte) (q routed) {
	m, list := readMessage(msg)
	if list != nil {
		q.errs = list
		return q
	}
	var errs []ErrorDetail
	switch name, ok := eventName(m.event); {
	case !ok:
		errs = append(errs, errEventMissing)
	case string(name) == "$cancel":
		q.cancel, q.event = true, quotedCancel
	default:
		q.ev = r.events[string(name)]
		if q.ev != nil {
			q.event = q.ev.quoted
		} else {
			errs = append(errs, r.unknown(name))
			q.event, _ = json.Marshal(string(name))
		}
	}
	q.id = m.id
	switch {
	case q.id != nil:
		if d := checkID(q.id); d != nil {
			errs = append(errs, *d)
			q.id = nil
		}
	case q.cancel || q.ev != nil && q.ev.open != nil:
		errs = append(errs, errIDMissing)
	}
	if errs != nil {
		q.ev, q.cancel = nil, false
		q.errs = &ErrorList{Errors: errs}
		return q
	}
	q.data = m.data
	if q.data == nil {
		q.data = emptyObject
	}
	q.traceparent, q.tracestate = m.traceparent, m.tracestate
	return q
}

// refuse answers q, a message of size bytes over a rate limit, with
// refusal, echoing its event and id when they could be read; a message for
// a registered event passes through the interceptors as refused. It
// returns an error only when the connection has ended.
func (s *session) refuse(q routed, size int, refusal *Reply) error {
	if q.ev == nil {
		return s.c.sendEvent(q.id, q.event, refusal.Status, refusal.Body)
	}
	return s.refuseEvent(q.ev, q.id, s.newCall(q.ev, q.traceparent, q.tracestate, size), refusal)
}

// refuseEvent sends refusal as the reply to a message for ev, through the
// interceptors when there are some. It returns an error only when the
// connection has ended.
func (s *session) refuseEvent(ev *event, id []byte, call *Call, refusal *Reply) error {
	c := s.c
	if call == nil {
		return c.sendEvent(id, ev.quoted, refusal.Status, refusal.Body)
	}
	call.ID = id
	call.refusal = refusal
	r := c.intercept(c.ctx, ev.where, ev.chain, call)
	if r.Err != nil && !errors.Is(r.Err, errPanic) {
		c.logEvent("ws: event failed", ev.name, r.Err)
	}
	return c.sendEvent(id, ev.quoted, r.Status, r.Body)
}

// answer handles one request and sends its reply, all under one guard, as
// [Conn.answer] does for [Callback]. It returns an error only when the
// connection has ended.
func (s *session) answer(ev *event, id, data []byte, call *Call) error {
	c := s.c
	err := c.guard(ev.where, func() error {
		status, body, failure := ev.handle(c.ctx, data, call)
		if failure != nil && !errors.Is(failure, errPanic) {
			c.logEvent("ws: event failed", ev.name, failure)
		}
		return c.sendEvent(id, ev.quoted, status, body)
	})
	if errors.Is(err, errPanic) {
		return c.sendEvent(id, ev.quoted, http.StatusInternalServerError, internalError)
	}
	return err
}

// spawn answers a request on its own goroutine, which takes the loop's
// slot and gives it back when done. id and data are copied: the message is
// only valid until the next read.
func (s *session) spawn(ev *event, id, data []byte, call *Call) {
	id, data = bytes.Clone(id), bytes.Clone(data)
	if call != nil {
		call.ID = id
	}
	s.enter()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.answer(ev, id, data, call)
		<-s.sem
		s.end()
	}()
}
