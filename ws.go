package ws

import (
	"context"
	"net"
	"net/http"
	"reflect"

	"github.com/coder/websocket"
)

// Accept upgrades the request to a WebSocket connection inside any handler:
// Cafeto's `await websocket.accept()`. When it fails it has written the
// HTTP error already (403 for a refused origin, 426 for a request that is
// not a WebSocket handshake, 503 during [Group.Shutdown]); do not write
// again.
//
// The connection is yours: read with [Conn.ReceiveJSON], write with
// [Conn.SendJSON], and call [Conn.Close] when you are done, which also
// releases it from its [Group].
func Accept(w http.ResponseWriter, r *http.Request, opts ...Option) (*Conn, error) {
	cfg := newConfig(opts)
	cfg.checkLimits("connection of Accept")
	c, err := accept(w, r, cfg)
	if err != nil {
		return nil, err
	}
	c.manual = true
	c.startPings(cfg.pingInterval)
	c.startLimits()
	return c, nil
}

func accept(w http.ResponseWriter, r *http.Request, cfg *config) (*Conn, error) {
	if g := cfg.group; g != nil && g.isClosing() {
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return nil, ErrShutdown
	}
	rec := recordHijack(w)
	wc, err := websocket.Accept(rec, r, &websocket.AcceptOptions{
		OriginPatterns:  cfg.originPatterns,
		Subprotocols:    cfg.subprotocols,
		CompressionMode: cfg.compression,
	})
	if err != nil {
		cfg.logger.DebugContext(r.Context(), "ws: handshake refused", "remote", r.RemoteAddr, "path", r.URL.Path, "error", err)
		return nil, err
	}
	wc.SetReadLimit(cfg.readLimit)
	var nc net.Conn
	var tr *transport
	if h, ok := rec.(*hijackRecorder); ok && h.t != nil {
		nc, tr = h.nc, h.t
		tr.writeTimeout = cfg.writeTimeout
	}
	c := newConn(wc, nc, tr, r, cfg)
	if g := cfg.group; g != nil && !g.add(c) {
		c.gone.Store(true) // never started: no End either
		// Through closeWith, which keeps the reader that may have
		// taken over away from the close handshake's reads.
		c.closeWith(StatusGoingAway, "going away", ErrShutdown)
		c.release()
		return nil, ErrShutdown
	}
	c.start()
	return c, nil
}

// Handler returns an [http.Handler] that upgrades each request and runs fn
// on the connection: the traditional method, where you receive and send
// JSON yourself.
//
// When fn returns nil the connection closes with 1000 (normal closure);
// when it returns an error, with 1011 (internal error) and the error is
// logged (its text is not sent), unless the connection had ended already
// (the peer closed or went away): then there is nothing to report. A panic in
// fn is recovered, logged with its stack, and closes with 1011.
func Handler(fn func(ctx context.Context, conn *Conn) error, opts ...Option) http.Handler {
	if fn == nil {
		panic("ws: Handler needs a function")
	}
	cfg := newConfig(opts)
	cfg.checkLimits("Handler")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := accept(w, r, cfg)
		if err != nil {
			return
		}
		defer c.release()
		c.startPings(cfg.pingInterval)
		c.startLimits()
		err = c.guard("handler", func() error { return fn(c.ctx, c) })
		switch {
		case err == nil:
			c.Close(StatusNormalClosure, "")
		case c.hasEnded():
			// The connection had ended already: the peer closed or went
			// away, or the server closed it. Nothing to report.
		default:
			c.log("ws: handler failed", err)
			c.close(StatusInternalError, "internal error", err)
		}
	})
}

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
//     succeeded, whatever ended it; err says why ([CloseStatus] reads its
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
	opts ...Option,
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

// newHandle wraps onReceive in the untyped function the read loop calls for
// each message: decode, validate, call, and the reply's status and body
// (with the error to log, for a generic 500). The type switches happen here,
// once. With interceptors, it also returns the chain around onReceive, and
// the function runs a message through it when given its [Call]; without,
// the chain is nil and so is every call.
func newHandle[Req, Resp any](onReceive func(context.Context, Req) (Resp, error), cfg *config, where string) (handleFunc, CallFunc) {
	dec := newDecoder[Req](cfg)
	rep := newReplier[Resp]()
	chain := cfg.chain(func(ctx context.Context, call *Call) Reply {
		if r, ok := call.refused(); ok {
			return r
		}
		req := call.req.(Req)
		var r Reply
		err := call.Conn.guard(where, func() error {
			r.Status, r.Body, r.Err = rep.reply(onReceive(ctx, req))
			return nil
		})
		if err != nil {
			return Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err}
		}
		return r
	})
	if chain == nil {
		return func(ctx context.Context, data []byte, _ *Call) (int, any, error) {
			var req Req
			if list := dec.decode(ctx, data, &req); list != nil {
				return http.StatusBadRequest, *list, nil
			}
			return rep.reply(onReceive(ctx, req))
		}, nil
	}
	return func(ctx context.Context, data []byte, call *Call) (int, any, error) {
		if call.refusal == nil {
			var req Req
			var list *ErrorList
			err := call.Conn.guard(where, func() error { list = dec.decode(ctx, data, &req); return nil })
			switch {
			case err != nil:
				call.refusal = &Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err}
			case list != nil:
				call.refusal = &Reply{Status: http.StatusBadRequest, Body: *list}
			default:
				call.req = req
				call.Request = call.req
			}
		}
		r := call.Conn.intercept(ctx, where, chain, call)
		return r.Status, r.Body, r.Err
	}, chain
}

// handleFunc answers one message: the reply's status and body, and the
// error to log for a generic 500. call is nil without interceptors.
type handleFunc func(ctx context.Context, data []byte, call *Call) (int, any, error)

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
			return c.ended(ErrShutdown)
		}
		if err != nil {
			return err
		}
	}
}
