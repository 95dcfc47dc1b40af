package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Router serves several typed events on one WebSocket connection. Each
// client message names its event and carries its request in "data":
//
//	{"event": "chat.send", "id": "7", "data": {"message": "Hi", "user": "ana"}}
//
// and each reply echoes the event and the id around the envelope that
// [Callback] sends:
//
//	{"id": "7", "event": "chat.send", "statusCode": 200, "body": {…}}
//
// Register request events with [On], server streams with [Stream], and
// the events the server pushes with [Emits]; then mount the Router, which is
// an [http.Handler]:
//
//	r := ws.NewRouter()
//	ws.On(r, "chat.send", chat.Send)          // func(context.Context, SendRequest) (ChatMessage, error)
//	ws.On(r, "chat.history", chat.History)    // func(context.Context, HistoryRequest) ([]ChatMessage, error)
//	ws.Stream(r, "chat.watch", chat.Watch)    // func(context.Context, WatchRequest, func(ChatMessage) error) error
//	ws.Emits[ChatMessage](r, "chat.message")  // pushed with conn.SendJSON(ctx, ws.Push("chat.message", msg))
//	r.OnConnect(chat.Connect)
//	r.OnDisconnect(chat.Disconnect)
//	mux.Handle("GET /ws", r)
//
// The wire is described in docs/protocol.md. Requests are decoded,
// validated and answered exactly as [Callback] does it, with the same 400
// errorList for the same request type (loc relative to "data"); a message
// whose event is missing or unknown, or whose id is neither a string nor a
// number, is answered with a 400 and the connection goes on.
//
// A connection's requests are handled one at a time, and replied to in
// order, unless [WithConcurrency] allows more. Requests that cannot start
// yet wait in the connection's read-ahead queue (see [Conn]), in the order
// they came, while the connection goes on reading: a $cancel and a stream's
// request are handled as they arrive, and streams run beside the requests,
// at most [WithMaxStreams] at once per connection. onDisconnect runs once
// every request and stream of the connection has finished.
//
// Register everything before the Router serves its first connection: a
// registration after that, a duplicate or empty event name, a name starting
// with "$" (reserved), a nil function or a malformed validate tag panics.
// Once serving, a Router is safe for concurrent use.
type Router struct {
	cfg *config

	mu           sync.Mutex // guards registration
	sealed       bool       // a connection has been served: registration is over
	events       map[string]*event
	order        []*event
	pushes       []pushInfo
	onConnect    func(context.Context, *Conn) error
	onDisconnect func(context.Context, *Conn, error)

	seal     sync.Once
	expected string    // the events, quoted, for the unknown event's message
	tooMany  ErrorList // the reply to one stream too many
}

// event is one client event: a request ([On]) or a stream ([Stream]).
type event struct {
	name   string
	quoted []byte // the name as a JSON string: the replies' "event"
	where  string // names the event in the log
	// handle answers a request: decode, call, and the reply's status and
	// body, with the error to log for a generic 500.
	handle handleFunc
	// chain is the interceptors around the handler or the stream; nil
	// without.
	chain CallFunc
	// open decodes a stream's request and returns the function that runs
	// the stream; it sets call.Request when call is not nil.
	open func(ctx context.Context, data []byte, call *Call) (streamFunc, *ErrorList)

	req, resp, item reflect.Type // for the API's description
}

// streamFunc runs a stream, calling send for each item.
type streamFunc func(ctx context.Context, send func(item any) error) error

// pushInfo is an event the server pushes, declared with [Emits].
type pushInfo struct {
	name string
	body reflect.Type
}

// routeInfo describes a client event for the API's description: resp is
// nil for a stream, item is nil for a request.
type routeInfo struct {
	name            string
	req, resp, item reflect.Type
}

const defaultMaxStreams = 16

// NewRouter returns a Router with no events. opts are the usual options;
// [WithConcurrency] and [WithMaxStreams] apply to routers only. Pings are
// on by default (every 30 s), as for [Callback].
func NewRouter(opts ...Option) *Router {
	return &Router{cfg: newConfig(opts), events: make(map[string]*event)}
}

// On registers fn as the handler of the client event name. A message
// {"event": name, "data": …} is decoded into Req and validated as
// [Callback] does it, fn runs, and its result is the reply's body; the
// return conventions are Callback's: a [StatusEnvelope] result sets the
// status, an [*Error] is sent as its envelope, any other error or a panic
// is a logged, generic 500. ctx is the connection's; [ConnFromContext]
// gives the connection.
//
// On panics when name is empty, starts with "$" or is registered already,
// when fn is nil, when a validate tag of Req is malformed, and once r has
// served a connection.
func On[Req, Resp any](r *Router, name string, fn func(ctx context.Context, in Req) (Resp, error)) {
	if fn == nil {
		panic("ws: On needs a function for event " + strconv.Quote(name))
	}
	r.check("On", name)
	handle, chain := newHandle(fn, r.cfg, "event "+strconv.Quote(name))
	r.add("On", &event{
		name:   name,
		handle: handle,
		chain:  chain,
		req:    reflect.TypeFor[Req](),
		resp:   reflect.TypeFor[Resp](),
	})
}

// Stream registers fn as the server stream of the client event name. A
// message {"event": name, "id": …, "data": …} must carry an id; its data is
// decoded and validated as for [On], then fn runs on its own goroutine,
// beside the connection's requests, and each send(item) writes
//
//	{"id": …, "event": name, "statusCode": 200, "body": item, "more": true}
//
// send blocks until the frame is written (a slow client slows its own
// streams) and is safe for concurrent use. When fn returns, one final reply
// without "more" ends the stream: 200 with a null body for nil, otherwise
// what [On] would reply for the error. After that, send returns an error.
//
// ctx is done when the client sends {"event": "$cancel", "id": …} (then
// [context.Cause] is [ErrStreamCanceled], send returns it, and the final
// reply is 200 with a null body whatever fn returns), or when the
// connection ends. A client may have [WithMaxStreams] streams open at
// once.
//
// Stream panics in the cases [On] does.
func Stream[Req, Item any](r *Router, name string, fn func(ctx context.Context, in Req, send func(Item) error) error) {
	if fn == nil {
		panic("ws: Stream needs a function for event " + strconv.Quote(name))
	}
	r.check("Stream", name)
	dec := newDecoder[Req](r.cfg)
	r.add("Stream", &event{
		name: name,
		open: func(ctx context.Context, data []byte, call *Call) (streamFunc, *ErrorList) {
			var req Req
			if list := dec.decode(ctx, data, &req); list != nil {
				return nil, list
			}
			if call != nil {
				call.Request = req
			}
			return func(ctx context.Context, send func(any) error) error {
				return fn(ctx, req, func(item Item) error { return send(item) })
			}, nil
		},
		chain: r.cfg.chain(runStream),
		req:   reflect.TypeFor[Req](),
		item:  reflect.TypeFor[Item](),
	})
}

// Emitter makes the pushes of one event declared with [Emits]; its body
// type is checked by the compiler.
type Emitter[T any] struct{ name string }

// Emits declares that the server pushes the event name with a body of type
// T, so that the API's description lists it, and returns an [Emitter] for
// it. Pushes are sent with [Conn.SendJSON] (or a hub's broadcast) of
// [Push] or [Emitter.Push]. A push may share its name with a client event.
//
// Emits panics when name is empty, starts with "$" or is declared already,
// and once r has served a connection.
func Emits[T any](r *Router, name string) Emitter[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkLocked("Emits", name)
	for _, p := range r.pushes {
		if p.name == name {
			panic("ws: push " + strconv.Quote(name) + " is declared twice")
		}
	}
	r.pushes = append(r.pushes, pushInfo{name: name, body: reflect.TypeFor[T]()})
	return Emitter[T]{name: name}
}

// Push returns the push of the emitter's event with body.
func (e Emitter[T]) Push(body T) PushMessage { return Push(e.name, body) }

// Name returns the emitter's event name.
func (e Emitter[T]) Name() string { return e.name }

// OnConnect sets the function that runs once per connection before its
// first message is read, as [Callback]'s onConnect: it may send messages;
// if it returns an error the connection closes with 1008 (an [*Error] is
// first sent as its plain envelope) and onDisconnect does not run. It
// panics once r has served a connection.
func (r *Router) OnConnect(fn func(ctx context.Context, conn *Conn) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open("OnConnect")
	r.onConnect = fn
}

// OnDisconnect sets the function that runs exactly once for every
// connection whose onConnect succeeded, whatever ended it, after its
// requests and streams have finished; err says why it ended
// ([CloseStatus] reads its close code). It panics once r has served a
// connection.
func (r *Router) OnDisconnect(fn func(ctx context.Context, conn *Conn, err error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.open("OnDisconnect")
	r.onDisconnect = fn
}

// open panics once registration is over.
func (r *Router) open(what string) {
	if r.sealed {
		panic("ws: " + what + " after the Router has served a connection")
	}
}

// checkLocked panics on a name no event may have.
func (r *Router) checkLocked(what, name string) {
	r.open(what)
	switch {
	case name == "":
		panic("ws: " + what + " needs an event name")
	case strings.HasPrefix(name, "$"):
		panic("ws: event names starting with $ are reserved: " + strconv.Quote(name))
	}
}

// check panics on a name that cannot be a new client event, before the
// event is built.
func (r *Router) check(what, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkLocked(what, name)
	if r.events[name] != nil {
		panic("ws: event " + strconv.Quote(name) + " is registered twice")
	}
}

func (r *Router) add(what string, ev *event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkLocked(what, ev.name)
	if r.events[ev.name] != nil {
		panic("ws: event " + strconv.Quote(ev.name) + " is registered twice")
	}
	ev.quoted, _ = json.Marshal(ev.name)
	ev.where = "event " + strconv.Quote(ev.name)
	r.events[ev.name] = ev
	r.order = append(r.order, ev)
}

// sealUp ends registration; from then on the events are only read.
func (r *Router) sealUp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sealed = true
	names := make([]string, len(r.order))
	for i, ev := range r.order {
		names[i] = "'" + ev.name + "'"
	}
	r.expected = strings.Join(names, ", ")
	n := r.maxStreams()
	r.tooMany = ErrorList{Errors: []ErrorDetail{{Loc: []any{"id"}, Type: "too_many_streams",
		Msg: fmt.Sprintf("Too many streams: at most %d may be open at once on a connection", n)}}}
}

func (r *Router) maxStreams() int {
	if r.cfg.maxStreams > 0 {
		return r.cfg.maxStreams
	}
	return defaultMaxStreams
}

// unknown is the errorList entry of an event name no event has.
func (r *Router) unknown(name []byte) ErrorDetail {
	return ErrorDetail{Loc: []any{"event"}, Type: "union_tag_invalid",
		Msg: "Input tag '" + string(name) + "' found using 'event' does not match any of the expected tags: " + r.expected}
}

// routes returns the client events and the pushes, each in the order they
// were registered.
func (r *Router) routes() ([]routeInfo, []pushInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	events := make([]routeInfo, len(r.order))
	for i, ev := range r.order {
		events[i] = routeInfo{name: ev.name, req: ev.req, resp: ev.resp, item: ev.item}
	}
	return events, append([]pushInfo(nil), r.pushes...)
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
		err = c.close(StatusGoingAway, "going away", ErrShutdown)
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
			return c.ended(ErrShutdown)
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
