// Package ws writes typed WebSocket endpoints: every message arrives decoded
// and validated into a request type, and every reply goes out as an
// HTTP-like envelope, the way Cafeto (Python, on Starlette and Pydantic) does
// it. A complete server:
//
//	package main
//
//	import (
//		"context"
//		"log"
//		"net/http"
//
//		"github.com/cafeto-go/ws"
//	)
//
//	type ChatRequest struct {
//		Message string `json:"message" validate:"required,max=500"`
//		User    string `json:"user" validate:"required,max=32"`
//	}
//
//	type ChatResponse struct {
//		Message string `json:"message"`
//		User    string `json:"user"`
//	}
//
//	func receive(ctx context.Context, in ChatRequest) (ChatResponse, error) {
//		return ChatResponse{Message: "Hi " + in.User, User: "System"}, nil
//	}
//
//	func main() {
//		mux := http.NewServeMux()
//		mux.Handle("GET /chat", ws.Callback(nil, receive, nil))
//		log.Fatal(http.ListenAndServe("localhost:8080", mux))
//	}
//
// [Callback] upgrades the connection with github.com/coder/websocket, decodes
// each message into the receive function's request type, validates it with
// github.com/go-playground/validator/v10 and answers
//
//	{"statusCode": 200, "body": <the receive function's result>}
//
// or, when the message is not valid,
//
//	{"statusCode": 400, "body": {"errorList": [{"loc": ["user"], "type": "missing", "msg": "Field required"}]}}
//
// with Pydantic v2's error types and messages. [Handler] and [Accept] are the
// traditional method: upgrade, then receive and send JSON yourself.
//
// Handlers are plain [http.Handler] values, so they mount on [http.ServeMux],
// chi or any router, behind any middleware. Values the middleware puts on the
// request context (an authenticated user) reach the callbacks' context.
//
// # Lifecycle
//
// A connection's life is its context ([Conn.Context]): every ctx handed to
// your code derives from it, and it is cancelled as soon as the connection
// ends, whatever ended it; [context.Cause] says why. While your code is busy
// the connection reads ahead, into a queue of up to 16 messages and
// max(64 KiB, the read limit) bytes: within that budget the peer's close
// frame, a dropped TCP connection and pongs are seen within a second, so a
// busy handler never gets a live peer dropped and sees its ctx done as soon
// as the peer leaves. Past the budget reading pauses until your code takes
// a message; meanwhile the peer is not pinged. A peer the server hears
// nothing from while a ping waits for its pong (one ping interval) is
// dropped: between one and two intervals after the last thing it sent. Every
// call into your code (decoding hooks, validators, callbacks, encoders) is
// guarded: a panic is logged with its stack and answered with a 500 (or
// closes with 1011 where there is nothing to answer), and onDisconnect still
// runs exactly once.
//
// # Defaults
//
// Every default can be changed with an option. Options are typed by the
// shapes they apply to, so that one that cannot apply does not compile: an
// [Option] applies to every shape, a [CallbackOption] (validation,
// interceptors) to [Callback] and [Router], a [RouterOption] (concurrency,
// streams) to the Router alone.
//
//   - read limit: 32 KiB per message; a larger message closes the
//     connection with 1009 ([WithReadLimit]);
//   - origins: same origin only; a request without an Origin header
//     (a non-browser client) passes ([WithOriginPatterns]);
//   - write timeout: 10 s for each frame ([WithWriteTimeout]);
//   - ping interval: 30 s ([WithPingInterval]);
//   - validator: one shared *validator.Validate with required struct
//     checks on ([WithValidator]);
//   - logger: discards everything ([WithLogger]);
//   - interceptors, observers, rate limits: none ([WithInterceptors],
//     [WithObserver], [WithRateLimit]).
//
// # Observability
//
// An [Interceptor] wraps the handling of each message of a [Callback] or a
// [Router], as HTTP middleware wraps a handler: it sees the [Call] (the
// connection, the event and id, the decoded request) and its [Reply], may
// refuse the message before the handler runs, and measures what it likes.
// An [Observer] sees connections start and end and the bytes they carry. A
// [RateLimit] bounds how fast a client or a user may send. The module
// github.com/cafeto-go/ws/wsotel builds OpenTelemetry metrics and traces
// on them; docs/observability.md has the details.
//
// # Packages
//
// The package is the core; features live beside it and use only its
// exported API: github.com/cafeto-go/ws/asyncapi writes the AsyncAPI
// document of your endpoints and serves a docs page, from what [Describe]
// reports; github.com/cafeto-go/ws/hub holds rooms, broadcasts, presence
// and history; github.com/cafeto-go/ws/wsclient is a typed Go client and
// github.com/cafeto-go/ws/wstest a test kit. docs/architecture.md maps the
// packages and the path of a message through the files.
package ws
