package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
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

const defaultMaxStreams = 16

// NewRouter returns a Router with no events. opts are the usual options;
// [WithConcurrency] and [WithMaxStreams] apply to routers only. Pings are
// on by default (every 30 s), as for [Callback].
func NewRouter(opts ...RouterOption) *Router {
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
func (e Emitter[T]) Push(body T) json.Marshaler { return Push(e.name, body) }

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
// (websocket.CloseStatus reads its close code). It panics once r has served a
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
