package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cafeto-go/ws"
)

// calls records what interceptors saw, in order.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, fmt.Sprintf(format, args...))
}

func (c *calls) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.log, " ")
}

// named is an interceptor that records its name on the way in and the
// reply's status on the way out.
func named(log *calls, name string) ws.Interceptor {
	return func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			log.add("%s>", name)
			r := next(ctx, call)
			log.add("<%s:%d", name, r.Status)
			return r
		}
	}
}

type traceKey struct{}

func TestInterceptorsCallback(t *testing.T) {
	t.Parallel()
	var log calls
	var seen atomic.Pointer[ws.Call]
	inspect := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			seen.Store(call)
			return next(context.WithValue(ctx, traceKey{}, "from-interceptor"), call)
		}
	}
	var handlerConn atomic.Pointer[ws.Conn]
	h := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		log.add("handler")
		handlerConn.Store(ws.ConnFromContext(ctx))
		return ChatResponse{Message: in.Message, User: fmt.Sprint(ctx.Value(traceKey{}))}, nil
	}, nil, ws.WithInterceptors(named(&log, "a"), named(&log, "b")), ws.WithInterceptors(inspect))
	c := dial(t, h)

	msg := `{"message":"Hi","user":"ana"}`
	equal(t, "reply", roundTrip(t, c, msg), `{"statusCode":200,"body":{"message":"Hi","user":"from-interceptor"}}`)
	equal(t, "order", log.String(), "a> b> handler <b:200 <a:200")
	call := seen.Load()
	equal(t, "Call.Request", fmt.Sprint(call.Request), fmt.Sprint(ChatRequest{Message: "Hi", User: "ana"}))
	equal(t, "Call.Conn is the handler's", call.Conn, handlerConn.Load())
	equal(t, "Call.Event", call.Event, "")
	equal(t, "Call.ID", string(call.ID), "")
	equal(t, "Call.Size", call.Size, len(msg))
	equal(t, "Call.Stream", call.Stream, false)

	// A message that does not validate passes through them with a nil
	// Request, and the handler does not run.
	log = calls{}
	equal(t, "invalid", roundTrip(t, c, `{"message":"Hi"}`), `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`)
	equal(t, "order for a 400", log.String(), "a> b> <b:400 <a:400")
	if r := seen.Load().Request; r != nil {
		t.Fatalf("Request of an invalid message: %v, want nil", r)
	}
}

func TestInterceptorRefuses(t *testing.T) {
	t.Parallel()
	var handled atomic.Int32
	var log calls
	auth := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			if call.Conn.Request().URL.Query().Get("token") != "secret" {
				return ws.Unauthorized(map[string]string{"reason": "no token"}).Reply()
			}
			return next(ctx, call)
		}
	}
	receive := func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		handled.Add(1)
		return ChatResponse(in), nil
	}
	srv := serve(t, ws.Callback(nil, receive, nil, ws.WithInterceptors(named(&log, "outer"), auth)))
	c := dialURL(t, srv.URL)
	equal(t, "refused", roundTrip(t, c, `{"message":"Hi","user":"ana"}`), `{"statusCode":401,"body":{"reason":"no token"}}`)
	equal(t, "handler runs", handled.Load(), int32(0))
	equal(t, "the outer one sees the refusal", log.String(), "outer> <outer:401")
	// The connection goes on, and a client with the token is served.
	equal(t, "refused again", roundTrip(t, c, `{"message":"Hi","user":"ana"}`), `{"statusCode":401,"body":{"reason":"no token"}}`)
	c2 := dialURL(t, srv.URL+"?token=secret")
	equal(t, "served", roundTrip(t, c2, `{"message":"Hi","user":"ana"}`), `{"statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
	equal(t, "handler runs", handled.Load(), int32(1))

	// Router: the refusal carries the event and id.
	r := ws.NewRouter(ws.WithInterceptors(auth))
	ws.On(r, "chat.send", receive)
	rc := dial(t, r)
	equal(t, "router refused", roundTrip(t, rc, `{"event":"chat.send","id":4,"data":{"message":"Hi","user":"ana"}}`),
		`{"id":4,"event":"chat.send","statusCode":401,"body":{"reason":"no token"}}`)
	equal(t, "handler runs", handled.Load(), int32(1))
}

func TestInterceptorPanics(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	var log calls
	boom := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			if call.Request.(ChatRequest).Message == "boom" {
				panic("interceptor exploded")
			}
			return next(ctx, call)
		}
	}
	var errs []error
	var mu sync.Mutex
	keepErr := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			r := next(ctx, call)
			mu.Lock()
			errs = append(errs, r.Err)
			mu.Unlock()
			return r
		}
	}
	zero := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			if call.Request.(ChatRequest).Message == "zero" {
				return ws.Reply{}
			}
			return next(ctx, call)
		}
	}
	var handled atomic.Int32
	receive := func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		handled.Add(1)
		if in.Message == "handler-panic" {
			panic("handler exploded")
		}
		return ChatResponse(in), nil
	}
	c := dial(t, ws.Callback(nil, receive, nil, ws.WithLogger(newLogger(&logs)),
		ws.WithInterceptors(named(&log, "outer"), keepErr, boom, zero)))
	const internal = `{"statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`

	equal(t, "panic in an interceptor", roundTrip(t, c, `{"message":"boom","user":"ana"}`), internal)
	equal(t, "handler runs", handled.Load(), int32(0))
	if !strings.Contains(logs.String(), "interceptor exploded") {
		t.Fatalf("the panic is not logged:\n%s", logs.String())
	}
	// The outer interceptor saw no reply: the panic went through it.
	equal(t, "outer", log.String(), "outer>")

	// A panic in the handler reaches the interceptors as a 500 with Err.
	equal(t, "panic in the handler", roundTrip(t, c, `{"message":"handler-panic","user":"ana"}`), internal)
	mu.Lock()
	last := errs[len(errs)-1]
	mu.Unlock()
	if last == nil || !strings.Contains(last.Error(), "handler exploded") {
		t.Fatalf("Reply.Err of a panicking handler: %v", last)
	}
	equal(t, "outer", log.String(), "outer> outer> <outer:500")

	equal(t, "a reply without status", roundTrip(t, c, `{"message":"zero","user":"ana"}`), internal)
	if !strings.Contains(logs.String(), "without a status") {
		t.Fatalf("the missing status is not logged:\n%s", logs.String())
	}
	// The connection goes on.
	equal(t, "after", roundTrip(t, c, `{"message":"Hi","user":"ana"}`), `{"statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
}

func TestInterceptorsRouter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	record := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			r := next(ctx, call)
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, fmt.Sprintf("%s id=%s stream=%v req=%v tp=%q ts=%q status=%d",
				call.Event, call.ID, call.Stream, call.Request != nil, call.TraceParent, call.TraceState, r.Status))
			return r
		}
	}
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return ""
		}
		return seen[len(seen)-1]
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	ch := newRtChat()
	c := dial(t, newRtRouter(ch, ws.WithInterceptors(record), ws.WithMaxStreams(1)))

	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	equal(t, "request", roundTrip(t, c, `{"event":"chat.send","id":"a1","traceparent":"`+tp+`","tracestate":"k=v","data":{"message":"Hi","user":"ana"}}`),
		`{"id":"a1","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
	equal(t, "seen", last(), `chat.send id="a1" stream=false req=true tp="`+tp+`" ts="k=v" status=200`)

	roundTrip(t, c, `{"event":"chat.send","id":2,"data":{"message":"Hi"}}`)
	equal(t, "invalid", last(), `chat.send id=2 stream=false req=false tp="" ts="" status=400`)

	// A stream is intercepted once and reports its final reply.
	send(t, c, `{"event":"chat.watch","id":"w","data":{"count":2,"fail":"status"}}`)
	recvAll(t, c,
		`{"id":"w","event":"chat.watch","statusCode":200,"body":{"message":"0","user":"watch"},"more":true}`,
		`{"id":"w","event":"chat.watch","statusCode":200,"body":{"message":"1","user":"watch"},"more":true}`,
		`{"id":"w","event":"chat.watch","statusCode":404,"body":"no such room"}`)
	equal(t, "stream", last(), `chat.watch id="w" stream=true req=true tp="" ts="" status=404`)

	// A stream over the limit is refused through them.
	send(t, c, `{"event":"chat.watch","id":"w1","data":{"fail":"wait"}}`)
	receive(t, "stream started", ch.watching)
	n := count()
	equal(t, "too many", roundTrip(t, c, `{"event":"chat.watch","id":"w2","data":{}}`),
		`{"id":"w2","event":"chat.watch","statusCode":429,"body":{"errorList":[{"loc":["id"],"type":"too_many_streams","msg":"Too many streams: at most 1 may be open at once on a connection"}]}}`)
	equal(t, "too many", last(), `chat.watch id="w2" stream=true req=false tp="" ts="" status=429`)
	equal(t, "one more call", count(), n+1)
	send(t, c, `{"event":"$cancel","id":"w1"}`)
	equal(t, "canceled", recv(t, c), `{"id":"w1","event":"chat.watch","statusCode":200,"body":null}`)
	equal(t, "canceled", last(), `chat.watch id="w1" stream=true req=true tp="" ts="" status=200`)

	// Messages that name no event do not pass through them.
	n = count()
	roundTrip(t, c, `{"event":"chat.nope","id":3}`)
	roundTrip(t, c, `not json`)
	equal(t, "unknown events pass by", count(), n)
}

// An interceptor that refuses a stream: the stream does not run and its id
// is free again.
func TestInterceptorRefusesStream(t *testing.T) {
	t.Parallel()
	deny := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			switch n := call.Request.(WatchRequest).Count; {
			case n == 7:
				panic("stream interceptor exploded")
			case n > 5:
				return ws.Forbidden("too long").Reply()
			}
			return next(ctx, call)
		}
	}
	ch := newRtChat()
	c := dial(t, newRtRouter(ch, ws.WithInterceptors(deny)))
	equal(t, "refused", roundTrip(t, c, `{"event":"chat.watch","id":"w","data":{"count":9}}`),
		`{"id":"w","event":"chat.watch","statusCode":403,"body":"too long"}`)
	equal(t, "panic", roundTrip(t, c, `{"event":"chat.watch","id":"w","data":{"count":7}}`),
		`{"id":"w","event":"chat.watch","statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`)
	equal(t, "streams run", ch.streamsDone.Load(), int32(0))
	send(t, c, `{"event":"chat.watch","id":"w","data":{"count":1}}`)
	recvAll(t, c,
		`{"id":"w","event":"chat.watch","statusCode":200,"body":{"message":"0","user":"watch"},"more":true}`,
		`{"id":"w","event":"chat.watch","statusCode":200,"body":null}`)
}

// serve starts a server for h.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// The snippets of docs/observability.md are Example functions that the
// tests run: each block must be found, as it is, in one of them.
func TestObservabilitySnippets(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	var sources string
	for _, f := range []string{"example_intercept_test.go", "wsotel/example_test.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources += string(b)
	}
	blocks := 0
	for rest := string(doc); ; {
		_, after, ok := strings.Cut(rest, "```go\n")
		if !ok {
			break
		}
		block, tail, _ := strings.Cut(after, "```")
		rest = tail
		blocks++
		if !strings.Contains(sources, block) {
			first, _, _ := strings.Cut(block, "\n")
			t.Errorf("docs/observability.md: the block starting %q is no Example's code", first)
		}
	}
	if blocks != 5 {
		t.Fatalf("%d Go blocks in docs/observability.md, want 5", blocks)
	}
}

// With WithConcurrency, each request's Call keeps its own id while
// requests run at once.
func TestInterceptorsConcurrent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	ids := map[string]bool{}
	record := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			r := next(ctx, call)
			mu.Lock()
			ids[string(call.ID)+"/"+call.Request.(SendRequest).Message] = true
			mu.Unlock()
			return r
		}
	}
	c := dial(t, newRtRouter(newRtChat(), ws.WithConcurrency(4), ws.WithInterceptors(record)))
	const n = 16
	for i := range n {
		send(t, c, fmt.Sprintf(`{"event":"chat.send","id":"r%d","data":{"message":"m%d","user":"ana"}}`, i, i))
	}
	for range n {
		recv(t, c)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		if k := fmt.Sprintf(`"r%d"/m%d`, i, i); !ids[k] {
			t.Fatalf("the interceptor did not see %s; saw %v", k, ids)
		}
	}
}
