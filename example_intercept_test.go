package ws_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync/atomic"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// Interceptors wrap every message, like HTTP middleware: the first one
// given is the outermost. This one logs each call; the second refuses the
// messages of clients without a token, before the handler runs.
func ExampleWithInterceptors() {
	logCalls := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			reply := next(ctx, call)
			fmt.Printf("log: event=%s id=%s status=%d\n", call.Event, call.ID, reply.Status)
			return reply
		}
	}
	requireToken := func(next ws.CallFunc) ws.CallFunc {
		return func(ctx context.Context, call *ws.Call) ws.Reply {
			if call.Conn.Request().URL.Query().Get("token") == "" {
				return ws.Unauthorized("a token is needed").Reply()
			}
			return next(ctx, call)
		}
	}
	r := ws.NewRouter(ws.WithInterceptors(logCalls, requireToken))
	ws.On(r, "chat.send", func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	msg := `{"event":"chat.send","id":1,"data":{"message":"Hi","user":"ana"}}`
	talk(srv.URL, msg)
	talk(srv.URL+"?token=t0k3n", msg)
	// Output:
	// log: event=chat.send id=1 status=401
	// {"id":1,"event":"chat.send","statusCode":401,"body":"a token is needed"}
	// log: event=chat.send id=1 status=200
	// {"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}
}

// A rate limit per user: each user may send 2 messages at once, then one
// every 10 seconds, however many connections they open. The user is known
// once onConnect has run; here it is a query parameter.
func ExampleWithRateLimit() {
	user := func(conn *ws.Conn) string { return conn.Request().URL.Query().Get("user") }
	h := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	}, nil, ws.WithRateLimit(ws.RateLimit{Rate: 0.1, Burst: 2, Key: user}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	msg := `{"message":"Hi","user":"ana"}`
	talk(srv.URL+"?user=ana", msg, msg)
	talk(srv.URL+"?user=ana", msg)
	// Output:
	// {"statusCode":200,"body":{"message":"Hi","user":"ana"}}
	// {"statusCode":200,"body":{"message":"Hi","user":"ana"}}
	// {"statusCode":429,"body":{"errorList":[{"loc":[],"type":"rate_limited","msg":"Rate limit exceeded: at most 0.1 messages per second, in bursts of 2"}]}}
}

// Two limits on a Router: every message, and chat.send on top. A Callback
// takes the first only: it has no events, and a limit with Events would
// panic there rather than count nothing.
func ExampleRateLimit_events() {
	every := ws.WithRateLimit(ws.RateLimit{Rate: 20, Burst: 40})
	posts := ws.WithRateLimit(ws.RateLimit{Rate: 0.1, Burst: 1, Events: []string{"chat.send"}})
	r := ws.NewRouter(every, posts)
	ws.On(r, "chat.send", func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	})
	ws.On(r, "chat.ping", func(ctx context.Context, in struct{}) (string, error) { return "pong", nil })
	chat := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	}, nil, every)
	routed, posted := httptest.NewServer(r), httptest.NewServer(chat)
	defer routed.Close()
	defer posted.Close()

	msg := `{"event":"chat.send","id":1,"data":{"message":"Hi","user":"ana"}}`
	talk(routed.URL, msg, msg, `{"event":"chat.ping","id":2}`)
	talk(posted.URL, `{"message":"Hi","user":"ana"}`)
	// Output:
	// {"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}
	// {"id":1,"event":"chat.send","statusCode":429,"body":{"errorList":[{"loc":[],"type":"rate_limited","msg":"Rate limit exceeded: at most 0.1 messages per second, in bursts of 1"}]}}
	// {"id":2,"event":"chat.ping","statusCode":200,"body":"pong"}
	// {"statusCode":200,"body":{"message":"Hi","user":"ana"}}
}

// An observer counts live connections and the bytes they carry, without
// touching onConnect or onDisconnect.
func ExampleWithObserver() {
	var live, bytesIn atomic.Int64
	ended := make(chan int, 1)
	watch := ws.Observer{
		Start: func(conn *ws.Conn) { live.Add(1) },
		End: func(conn *ws.Conn, err error) {
			live.Add(-1)
			ended <- int(websocket.CloseStatus(err))
		},
		Read: func(conn *ws.Conn, n int) { bytesIn.Add(int64(n)) },
	}
	h := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	}, nil, ws.WithObserver(watch))
	srv := httptest.NewServer(h)
	defer srv.Close()

	talk(srv.URL, `{"message":"Hi","user":"ana"}`)
	fmt.Println("closed with", <-ended, "after", bytesIn.Load(), "bytes; live:", live.Load())
	// Output:
	// {"statusCode":200,"body":{"message":"Hi","user":"ana"}}
	// closed with 1000 after 29 bytes; live: 0
}
