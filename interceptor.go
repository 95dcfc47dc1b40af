package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// Call is one client message on its way to a handler, as an [Interceptor]
// sees it.
//
// A Call lives for the handling of one message: for a stream, until its
// final reply. Its fields are for reading; the handler gets the request as
// it was decoded whatever an interceptor does to them. ID points into the
// message: copy it to keep it past the call.
type Call struct {
	Conn *Conn // the connection the message came on

	// Event is the [Router] event the message names, "" for [Callback].
	Event string
	// ID is the message's id as the client wrote it (a JSON string or
	// number), nil when it has none and for Callback.
	ID json.RawMessage
	// Request is the decoded and validated request, of the handler's
	// request type. It is nil when the library refused the message before
	// the handler could run: next then returns that refusal (see
	// [Interceptor]).
	Request any
	// Stream is true for a [Stream]: next returns when the stream ends,
	// with its final reply.
	Stream bool
	// Size is the length of the message in bytes.
	Size int
	// TraceParent and TraceState are the message's "traceparent" and
	// "tracestate" members (W3C Trace Context), "" when absent: a Router
	// client may send them beside "event" and "id" to continue its trace.
	TraceParent, TraceState string

	refusal *Reply     // what next returns without running the handler
	req     any        // the request handed to the handler
	run     streamFunc // a stream's function, bound to its request
	st      *stream    // the stream, for a stream's call
}

// Reply is the answer to a [Call]: the status and body of the envelope
// that reaches the client, {"statusCode": Status, "body": Body}, and Err,
// the error behind a 500 that the library logs (its text never reaches the
// client). Err is nil for every other reply.
type Reply struct {
	Status int
	Body   any
	Err    error
}

// CallFunc handles a [Call]: the rest of the interceptors, then the
// handler.
type CallFunc func(ctx context.Context, call *Call) Reply

// Interceptor wraps the handling of each message of a [Callback] or a
// [Router], as HTTP middleware wraps a handler: it gets next, the rest of
// the chain, and returns the function that handles a call in its place,
// once, when the handler is built. That function sees the connection, the
// event and id, the decoded request and the reply (with the handler's
// error); it measures time itself:
//
//	func logCalls(next ws.CallFunc) ws.CallFunc {
//		return func(ctx context.Context, call *ws.Call) ws.Reply {
//			start := time.Now()
//			reply := next(ctx, call)
//			slog.InfoContext(ctx, "message", "event", call.Event,
//				"status", reply.Status, "took", time.Since(start))
//			return reply
//		}
//	}
//
// To refuse a message, return a reply without calling next: the handler
// does not run and the reply is sent as it is. [Error.Reply] makes the
// reply of an [*Error], such as ws.Unauthorized(body).Reply(). The
// ctx given to next is the one the handler gets.
//
// What passes through the interceptors: every message addressed to the
// Callback, or to an event registered on the Router, once; the reply comes
// back through them. A stream is intercepted once: next runs the whole
// stream on the stream's goroutine and returns its final reply. When the
// library refuses such a message before its handler could run (a request
// that does not decode or validate: 400; over a rate limit: 429; a stream
// id in use: 400; too many streams: 429), Call.Request is nil and next
// returns that refusal without running anything, so that metrics count
// every reply. Messages that name no registered event (not JSON, no event,
// an unknown one, a bad id) and "$cancel" do not pass through them.
//
// A panic in an interceptor or in the handler is recovered and logged with
// its stack; the client gets a generic 500 and the connection goes on. A
// panic in the handler reaches the interceptors as a 500 reply whose Err
// says so. A reply whose Status is 0 is sent as a logged 500.
type Interceptor func(next CallFunc) CallFunc

// Reply returns the reply of e: its status and body. An interceptor
// returns it to refuse a message:
//
//	return ws.Unauthorized("a token is needed").Reply()
func (e *Error) Reply() Reply { return Reply{Status: e.Status, Body: e.Body} }

// chain returns final wrapped in the interceptors, the first outermost,
// or nil when there are none.
func (cfg *config) chain(final CallFunc) CallFunc {
	if len(cfg.interceptors) == 0 {
		return nil
	}
	h := final
	for i := len(cfg.interceptors) - 1; i >= 0; i-- {
		h = cfg.interceptors[i](h)
		if h == nil {
			panic("ws: an Interceptor returned a nil CallFunc")
		}
	}
	return h
}

// errNoStatus is logged for a reply an interceptor left without a status.
var errNoStatus = errors.New("ws: an interceptor returned a reply without a status")

// intercept runs call through chain under guard and returns the reply to
// send: a panic is a 500 (logged by guard), a reply without a status
// too.
func (c *Conn) intercept(ctx context.Context, where string, chain CallFunc, call *Call) Reply {
	var r Reply
	if err := c.guard(where, func() error { r = chain(ctx, call); return nil }); err != nil {
		return Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err}
	}
	if r.Status == 0 {
		return Reply{Status: http.StatusInternalServerError, Body: internalError, Err: errNoStatus}
	}
	return r
}

// refused returns what the innermost function of a chain returns for a
// call the library refused, and whether it did.
func (call *Call) refused() (Reply, bool) {
	if call.refusal != nil {
		return *call.refusal, true
	}
	return Reply{}, false
}

// newCall returns the Call of a Router message for ev, or nil when the
// Router has no interceptors. traceparent and tracestate are the message's
// raw members. The caller sets ID once it is copied where needed.
func (s *session) newCall(ev *event, traceparent, tracestate []byte, size int) *Call {
	if ev.chain == nil {
		return nil
	}
	return &Call{Conn: s.c, Event: ev.name, Stream: ev.open != nil, Size: size,
		TraceParent: jsonString(traceparent), TraceState: jsonString(tracestate)}
}

// jsonString returns the string a raw JSON value holds, or "" when it is
// not a string.
func jsonString(raw []byte) string {
	name, ok := eventName(raw)
	if !ok {
		return ""
	}
	return string(name)
}
