package ws

import (
	"context"
	"net"
	"net/http"

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
		return nil, errShutdown
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
		c.closeWith(websocket.StatusGoingAway, "going away", errShutdown)
		c.release()
		return nil, errShutdown
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
			c.Close(websocket.StatusNormalClosure, "")
		case c.hasEnded():
			// The connection had ended already: the peer closed or went
			// away, or the server closed it. Nothing to report.
		default:
			c.log("ws: handler failed", err)
			c.close(websocket.StatusInternalError, "internal error", err)
		}
	})
}
