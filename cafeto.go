package ws

import (
	"context"
	"errors"
	"net/http"
	"reflect"
)

// This file holds the surface shaped after Cafeto's WebSockets
// (https://cafeto.dev): [Callback] is accept_callback, and the envelope
// constructors mirror Cafeto's responses module.
//
//	Cafeto                                  Go
//	websocket.accept_callback(on_receive,   ws.Callback(onConnect, onReceive,
//	    on_connect, on_disconnect)              onDisconnect, opts...)
//	await websocket.accept()                ws.Accept(w, r, opts...)
//	ModelWSResponse(body, status_code)      ws.Status(code, body)
//	Ok(body)                                ws.Ok(body)
//	Created(body)                           ws.Created(body)
//	NoContent()                             ws.NoContent[T]()
//	BadRequest(body)                        return ws.BadRequest(body)
//	Unauthorized(body)                      return ws.Unauthorized(body)
//	Forbidden(body)                         return ws.Forbidden(body)
//	NotFound(body)                          return ws.NotFound(body)
//	InternalServerError(body)               return ws.InternalServerError(body)
//	any other response (409, 503, …)        ws.Status(code, body) or return ws.NewError(code, body)
//
// Success statuses are envelopes a receive function returns as its result;
// error statuses are [*Error]s it returns as its error, so that Go's
// (result, error) convention carries them.

// Callback returns an [http.Handler] that serves each connection with typed
// callbacks, the Cafeto way. After the upgrade:
//
//   - onConnect runs once, before the first message is read; it may send
//     messages. If it returns an error the connection closes with 1008 and
//     onDisconnect does not run; an [*Error] is first sent as its envelope.
//   - Every message (text or binary) is decoded into Req and validated, then
//     onReceive runs and its result is sent as one text frame
//     {"statusCode":200,"body":<Resp>}, or as it is when Resp is a
//     [StatusEnvelope]. A message that does not decode or validate is
//     answered with a 400 errorList; an [*Error] from onReceive with its
//     status and body; any other error, or a panic anywhere on the way
//     (UnmarshalJSON, a validator, Validate, onReceive, MarshalJSON), with a
//     generic 500. The connection stays open in every case. Replies keep the
//     order of the messages.
//   - onDisconnect runs exactly once for every connection whose onConnect
//     succeeded, whatever ended it; err says why (websocket.CloseStatus reads its
//     close code).
//
// onConnect and onDisconnect may be nil. The callbacks' ctx is the
// connection's ([Conn.Context]): onReceive sees it done as soon as the
// connection ends, even mid-message, and [ConnFromContext] gives it the
// connection.
//
// Callback inspects Req and warms the validator on it once, here: a nil
// onReceive or a malformed validate tag panics now, not on the first message.
func Callback[Req, Resp any](
	onConnect func(ctx context.Context, conn *Conn) error,
	onReceive func(ctx context.Context, in Req) (Resp, error),
	onDisconnect func(ctx context.Context, conn *Conn, err error),
	opts ...CallbackOption,
) http.Handler {
	if onReceive == nil {
		panic("ws: Callback needs an onReceive function")
	}
	cfg := newConfig(opts)
	cfg.checkLimits("Callback")
	handle, chain := newHandle(onReceive, cfg, "onReceive")
	return &callback{
		cfg:          cfg,
		onConnect:    onConnect,
		onDisconnect: onDisconnect,
		handle:       handle,
		chain:        chain,
		req:          reflect.TypeFor[Req](),
		resp:         reflect.TypeFor[Resp](),
	}
}

type callback struct {
	cfg          *config
	onConnect    func(context.Context, *Conn) error
	onDisconnect func(context.Context, *Conn, error)
	handle       handleFunc
	chain        CallFunc     // the interceptors around onReceive; nil without
	req, resp    reflect.Type // for the API's description
}

func (h *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := accept(w, r, h.cfg)
	if err != nil {
		return
	}
	defer c.release()

	if !c.connect(h.onConnect) {
		return
	}
	c.startPings(h.cfg.pingInterval)
	c.startLimits()

	err = h.serve(c)
	if h.onDisconnect != nil {
		c.guard("onDisconnect", func() error { h.onDisconnect(c.ctx, c, err); return nil })
	}
}

// serve reads and answers messages until the connection ends, and returns
// why it ended.
func (h *callback) serve(c *Conn) error {
	for {
		data, err := c.read(c.ctx)
		if err != nil {
			return err
		}
		c.busy()
		var call *Call
		if h.chain != nil {
			call = &Call{Conn: c, Size: len(data)}
		}
		err = c.answer(c.ctx, data, call, h.handle)
		if !c.idle() {
			return c.ended(errShutdown)
		}
		if err != nil {
			return err
		}
	}
}

// Status returns an envelope with the given status code and body: Cafeto's
// "classic style" ModelWSResponse(body, status_code).
func Status[T any](code int, body T) StatusEnvelope[T] {
	return StatusEnvelope[T]{StatusCode: code, Body: body}
}

// Ok returns a 200 envelope around body.
func Ok[T any](body T) StatusEnvelope[T] { return Status(http.StatusOK, body) }

// Created returns a 201 envelope around body.
func Created[T any](body T) StatusEnvelope[T] { return Status(http.StatusCreated, body) }

// NoContent returns a 204 envelope whose body is null on the wire, whatever
// T is. T only has to match the receive function's result type:
//
//	return ws.NoContent[ChatResponse](), nil
func NoContent[T any]() StatusEnvelope[T] {
	return StatusEnvelope[T]{StatusCode: http.StatusNoContent, noBody: true}
}

// NewError returns an [*Error] with the given status and body.
func NewError(status int, body any) *Error { return &Error{Status: status, Body: body} }

// BadRequest returns a 400 [*Error].
func BadRequest(body any) *Error { return NewError(http.StatusBadRequest, body) }

// Unauthorized returns a 401 [*Error].
func Unauthorized(body any) *Error { return NewError(http.StatusUnauthorized, body) }

// Forbidden returns a 403 [*Error].
func Forbidden(body any) *Error { return NewError(http.StatusForbidden, body) }

// NotFound returns a 404 [*Error].
func NotFound(body any) *Error { return NewError(http.StatusNotFound, body) }

// InternalServerError returns a 500 [*Error]. Unlike an ordinary error, its
// body reaches the client.
func InternalServerError(body any) *Error { return NewError(http.StatusInternalServerError, body) }

// answer handles one message and sends its reply, all under one guard: a
// panic anywhere (decoding, validation, the receive function, encoding the
// reply) is answered with a generic 500 and the connection goes on. A
// message over a rate limit is answered with a 429 and not handled. call
// is the message's [Call] when there are interceptors, nil otherwise. It
// returns an error only when the connection has ended.
func (c *Conn) answer(ctx context.Context, data []byte, call *Call, handle handleFunc) error {
	if c.rate != nil {
		refusal, err := c.rate.take(c, "")
		if err != nil {
			return err
		}
		if refusal != nil {
			if call == nil {
				return c.sendEnvelope(refusal.Status, refusal.Body)
			}
			call.refusal = refusal
		}
	}
	err := c.guard("onReceive", func() error {
		status, body, failure := handle(ctx, data, call)
		if failure != nil && !errors.Is(failure, errPanic) {
			c.log("ws: onReceive failed", failure)
		}
		return c.sendEnvelope(status, body)
	})
	if errors.Is(err, errPanic) {
		return c.sendEnvelope(http.StatusInternalServerError, internalError)
	}
	return err
}
