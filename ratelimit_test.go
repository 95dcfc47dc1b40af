package ws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// slow is a rate no test waits for: one message every 1,000 s.
const slow = 0.001

const limited = `{"statusCode":429,"body":{"errorList":[{"loc":[],"type":"rate_limited","msg":"Rate limit exceeded: at most 0.001 messages per second, in bursts of 3"}]}}`

func TestRateLimitCallback(t *testing.T) {
	t.Parallel()
	ch := newChat()
	var handled atomic.Int32
	onReceive := func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		handled.Add(1)
		return ch.Receive(ctx, in)
	}
	c := dial(t, ws.Callback(ch.Connect, onReceive, ch.Disconnect,
		ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 3, CloseAfter: 3})))

	// Every message counts, invalid ones too.
	equal(t, "1", roundTrip(t, c, `{"message":"a","user":"ana"}`), `{"statusCode":200,"body":{"message":"Hi! a","user":"System"}}`)
	equal(t, "2", roundTrip(t, c, `not json`), `{"statusCode":400,"body":{"errorList":[{"loc":[],"type":"json_invalid","msg":"Invalid JSON: invalid character 'o' in literal null (expecting 'u')"}]}}`)
	equal(t, "3", roundTrip(t, c, `{"message":"c"}`), `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`)
	// Over the limit: answered, not handled, whatever the message.
	equal(t, "4", roundTrip(t, c, `{"message":"d","user":"ana"}`), limited)
	equal(t, "5", roundTrip(t, c, `not json`), limited)
	equal(t, "handled", handled.Load(), int32(1))
	// The third refusal closes the connection with 1008.
	send(t, c, `{"message":"f","user":"ana"}`)
	err := readErr(t, c)
	equal(t, "close status", websocket.CloseStatus(err), websocket.StatusPolicyViolation)
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		equal(t, "close reason", ce.Reason, "rate limit exceeded")
	}
	derr := receive(t, "onDisconnect", ch.lastErr)
	if !errors.Is(derr, ws.ErrRateLimited) || websocket.CloseStatus(derr) != websocket.StatusPolicyViolation {
		t.Fatalf("onDisconnect got %v, want ErrRateLimited with 1008", derr)
	}
	equal(t, "handled", handled.Load(), int32(1))
}

// The connections of one user share a bucket; another user has their own.
func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	user := func(c *ws.Conn) string { return c.Request().URL.Query().Get("user") }
	h := ws.Callback(nil, newChat().Receive, nil,
		ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 3, Key: user, CloseAfter: -1}))
	srv := serve(t, h)
	ana1 := dialURL(t, srv.URL+"?user=ana")
	ana2 := dialURL(t, srv.URL+"?user=ana")
	bob := dialURL(t, srv.URL+"?user=bob")
	anon1 := dialURL(t, srv.URL)
	anon2 := dialURL(t, srv.URL)
	const ok = `{"statusCode":200,"body":{"message":"Hi! x","user":"System"}}`
	const msg = `{"message":"x","user":"u"}`
	equal(t, "ana 1", roundTrip(t, ana1, msg), ok)
	equal(t, "ana 2", roundTrip(t, ana2, msg), ok)
	equal(t, "ana 1", roundTrip(t, ana1, msg), ok)
	equal(t, "ana 2 over ana's limit", roundTrip(t, ana2, msg), limited)
	equal(t, "ana 1 over ana's limit", roundTrip(t, ana1, msg), limited)
	for i := range 3 {
		equal(t, "bob", roundTrip(t, bob, msg), ok)
		// An empty key: a bucket per connection.
		equal(t, "anonymous 1", roundTrip(t, anon1, msg), ok)
		if i < 2 {
			equal(t, "anonymous 2", roundTrip(t, anon2, msg), ok)
		}
	}
	equal(t, "bob over", roundTrip(t, bob, msg), limited)
	equal(t, "anonymous 1 over", roundTrip(t, anon1, msg), limited)
	equal(t, "anonymous 2", roundTrip(t, anon2, msg), ok)
	// CloseAfter -1: never closed.
	for range 10 {
		equal(t, "ana 1 still open", roundTrip(t, ana1, msg), limited)
	}
}

// A Router's 429 echoes the event and id, counts unknown events and
// malformed messages, and passes through the interceptors as a refusal.
func TestRateLimitRouter(t *testing.T) {
	t.Parallel()
	var log calls
	seen := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			r := next(ctx, call)
			log.add("%s:%d:%v", call.Event, r.Status, call.Request != nil)
			return r
		}
	}
	ch := newRtChat()
	c := dial(t, newRtRouter(ch, ws.WithInterceptors(seen),
		ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 3, CloseAfter: 6}),
		ws.WithRateLimit(ws.RateLimit{Rate: 1000, Burst: 1000})))
	body := strings.TrimPrefix(limited, `{"statusCode":429,`)
	exchange(t, c,
		`{"event":"chat.send","id":1,"data":{"message":"Hi","user":"ana"}}`, `{"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		`{"event":"chat.nope","id":2}`, `{"id":2,"event":"chat.nope","statusCode":400,"body":{"errorList":[{"loc":["event"],"type":"union_tag_invalid","msg":"Input tag 'chat.nope' found using 'event' does not match any of the expected tags: `+rtExpected+`"}]}}`,
		`[]`, `{"statusCode":400,"body":{"errorList":[{"loc":[],"type":"model_type","msg":"Input should be an object"}]}}`,
		`{"event":"chat.send","id":"x","data":{"message":"Hi","user":"ana"}}`, `{"id":"x","event":"chat.send","statusCode":429,`+body,
		`{"event":"chat.watch","id":"w","data":{}}`, `{"id":"w","event":"chat.watch","statusCode":429,`+body,
		`{"event":"chat.nope","id":{}}`, `{"event":"chat.nope","statusCode":429,`+body,
		`{"id":7}`, `{"id":7,"statusCode":429,`+body,
		`[]`, `{"statusCode":429,`+body,
	)
	equal(t, "intercepted", log.String(), "chat.send:200:true chat.send:429:false chat.watch:429:false")
	equal(t, "streams run", ch.streamsDone.Load(), int32(0))
	send(t, c, `{"event":"chat.send","id":1,"data":{"message":"Hi","user":"ana"}}`)
	equal(t, "close status", websocket.CloseStatus(readErr(t, c)), websocket.StatusPolicyViolation)
	if err := receive(t, "onDisconnect", ch.ended); !errors.Is(err, ws.ErrRateLimited) {
		t.Fatalf("onDisconnect got %v, want ErrRateLimited", err)
	}
}

func TestRateLimitPanics(t *testing.T) {
	t.Parallel()
	for _, l := range []ws.RateLimit{{Rate: 0, Burst: 1}, {Rate: -1, Burst: 1}, {Rate: 1, Burst: 0}} {
		if msg := catch(func() { ws.WithRateLimit(l) }); !strings.HasPrefix(msg, "ws: RateLimit") {
			t.Errorf("WithRateLimit(%+v) panicked with %q", l, msg)
		}
	}
}

// A panic in Key is logged and the connection gets a bucket of its own.
func TestRateLimitKeyPanics(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	key := func(c *ws.Conn) string { panic("key exploded") }
	h := ws.Callback(nil, newChat().Receive, nil, ws.WithLogger(newLogger(&logs)),
		ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 1, Key: key}))
	srv := serve(t, h)
	for range 2 {
		c := dialURL(t, srv.URL)
		equal(t, "first", roundTrip(t, c, `{"message":"x","user":"u"}`), `{"statusCode":200,"body":{"message":"Hi! x","user":"System"}}`)
		if got := roundTrip(t, c, `{"message":"x","user":"u"}`); !strings.Contains(got, `"statusCode":429`) {
			t.Fatalf("second: %s", got)
		}
	}
	if !strings.Contains(logs.String(), "key exploded") {
		t.Fatalf("the panic is not logged:\n%s", logs.String())
	}
}

// A limit with Events counts only the messages of those events.
func TestRateLimitEvents(t *testing.T) {
	t.Parallel()
	sendOnly := ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 1, Events: []string{"chat.send"}})
	c := dial(t, newRtRouter(newRtChat(), sendOnly))
	const history = `{"event":"chat.history","id":"h","data":{"limit":0}}`
	const historyReply = `{"id":"h","event":"chat.history","statusCode":200,"body":[]}`
	exchange(t, c,
		history, historyReply,
		`{"event":"chat.send","id":1,"data":{"message":"Hi","user":"ana"}}`, `{"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		history, historyReply,
		`{"event":"chat.nope"}`, `{"event":"chat.nope","statusCode":400,"body":{"errorList":[{"loc":["event"],"type":"union_tag_invalid","msg":"Input tag 'chat.nope' found using 'event' does not match any of the expected tags: `+rtExpected+`"}]}}`,
		`{"event":"chat.send","id":2,"data":{"message":"Hi","user":"ana"}}`, `{"id":2,"event":"chat.send","statusCode":429,"body":{"errorList":[{"loc":[],"type":"rate_limited","msg":"Rate limit exceeded: at most 0.001 messages per second, in bursts of 1"}]}}`,
	)
	for range 5 {
		exchange(t, c, history, historyReply)
	}
}

// A limit that names events cannot leave a shape silently unlimited: a
// Callback, a Handler and Accept have no events and panic at
// construction; a Router panics, on every connection it is asked to serve,
// while the limit names an event it does not have.
func TestRateLimitEventsEverywhere(t *testing.T) {
	t.Parallel()
	sendOnly := ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 1, Events: []string{"chat.send"}})
	for name, fn := range map[string]func(){
		"Callback": func() { ws.Callback(nil, newChat().Receive, nil, sendOnly) },
		"Handler":  func() { ws.Handler(func(context.Context, *ws.Conn) error { return nil }, sendOnly) },
		"Accept": func() {
			ws.Accept(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), sendOnly)
		},
	} {
		if msg := catch(fn); !strings.HasPrefix(msg, "ws: RateLimit.Events") || !strings.Contains(msg, "without Events") {
			t.Errorf("%s with a limit of events: panic %q", name, msg)
		}
	}
	typo := newRtRouter(newRtChat(), ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 1, Events: []string{"chat.send", "chat.sned"}}))
	for range 2 {
		msg := catch(func() { typo.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) })
		if !strings.HasPrefix(msg, `ws: RateLimit.Events names "chat.sned"`) {
			t.Fatalf("a Router whose limit names an unknown event: panic %q", msg)
		}
	}
	for _, l := range []ws.RateLimit{{Rate: 1, Burst: 1, Events: []string{}}, {Rate: 1, Burst: 1, Events: []string{"chat.send", ""}}} {
		if msg := catch(func() { ws.WithRateLimit(l) }); !strings.HasPrefix(msg, "ws: RateLimit.Events") {
			t.Errorf("WithRateLimit(%+v) panicked with %q", l, msg)
		}
	}
}

// A Handler's reads through ReceiveJSON count: over the limit the message
// is dropped and ReceiveJSON returns the 429 as an *Error, which the loop
// may send; a client that keeps sending is closed with 1008. The same on a
// connection of Accept, whose Key runs at the upgrade.
func TestRateLimitHandler(t *testing.T) {
	t.Parallel()
	ended := make(chan error, 10)
	var decoded atomic.Int32
	loop := func(ctx context.Context, conn *ws.Conn) error {
		for {
			var in ChatRequest
			err := conn.ReceiveJSON(ctx, &in)
			var e *ws.Error
			if errors.As(err, &e) {
				if e.Status != 429 {
					return fmt.Errorf("ReceiveJSON: %v, want a 429", err)
				}
				if err := conn.SendJSON(ctx, err); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				ended <- err
				return err
			}
			decoded.Add(1)
			if err := conn.SendJSON(ctx, ws.Ok(ChatResponse(in))); err != nil {
				return err
			}
		}
	}
	limit := ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 3, CloseAfter: 3})
	user := func(c *ws.Conn) string { return c.Request().URL.Query().Get("user") }
	perUser := ws.WithRateLimit(ws.RateLimit{Rate: slow, Burst: 3, CloseAfter: 3, Key: user})
	accept := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := ws.Accept(w, r, perUser)
		if err != nil {
			return
		}
		defer conn.Close(websocket.StatusNormalClosure, "")
		loop(conn.Context(), conn)
	})
	const ok = `{"statusCode":200,"body":{"message":"m","user":"u"}}`
	for name, h := range map[string]http.Handler{"Handler": ws.Handler(loop, limit), "Accept": accept} {
		srv := serve(t, h)
		c := dialURL(t, srv.URL+"?user=ana")
		equal(t, name+" 1", roundTrip(t, c, `{"message":"m","user":"u"}`), ok)
		equal(t, name+" 2", roundTrip(t, c, `{"message":"m","user":"u"}`), ok)
		equal(t, name+" 3", roundTrip(t, c, `{"message":"m","user":"u"}`), ok)
		equal(t, name+" 4", roundTrip(t, c, `{"message":"m","user":"u"}`), limited)
		equal(t, name+" 5", roundTrip(t, c, `not json`), limited)
		send(t, c, `{"message":"m","user":"u"}`)
		equal(t, name+" close status", websocket.CloseStatus(readErr(t, c)), websocket.StatusPolicyViolation)
		if err := receive(t, name+" loop", ended); !errors.Is(err, ws.ErrRateLimited) {
			t.Fatalf("%s: ReceiveJSON returned %v, want ErrRateLimited", name, err)
		}
		if name == "Accept" {
			// Keyed: a new connection of the same user has no tokens left.
			c := dialURL(t, srv.URL+"?user=ana")
			equal(t, "Accept, same user", roundTrip(t, c, `{"message":"m","user":"u"}`), limited)
		}
	}
	equal(t, "decoded", decoded.Load(), int32(6))
}
