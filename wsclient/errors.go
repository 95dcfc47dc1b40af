package wsclient

import (
	"errors"
	"fmt"
	"net/http"
	"os"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// Errors of a [Client]. A call's error wraps one of them, or is an
// [*ws.Error] (the server's reply with a status of 400 or more), a
// [*HandshakeError], or the caller's context error.
var (
	// ErrClosed: the client was closed with [Client.Close].
	ErrClosed = errors.New("wsclient: client closed")
	// ErrConnectionLost: the connection ended while the call or stream
	// was under way, or before it started. The error wraps the cause as
	// well: [websocket.CloseStatus] reads its close code (-1 when the connection
	// dropped without a close frame).
	ErrConnectionLost = errors.New("wsclient: connection lost")
	// ErrNotConnected: the connection is lost and the client is
	// reconnecting ([WithReconnect]); calls fail at once until it is back.
	// The error wraps the loss as well.
	ErrNotConnected = errors.New("wsclient: not connected")
	// ErrStreamOverflow: a stream's loop fell more than [WithBuffer]
	// items behind; the stream was cancelled.
	ErrStreamOverflow = errors.New("wsclient: stream items not consumed in time")
	// ErrPushOverflow: a push of a room with history found the push
	// buffer full ([WithBuffer]); rather than lose it, the client dropped
	// the connection. With [WithReconnect] it reconnects and resumes after
	// the last push its handlers were given; without, it ends with an
	// error wrapping ErrConnectionLost and ErrPushOverflow.
	ErrPushOverflow = errors.New("wsclient: pushes of a room with history not consumed in time")
)

// HandshakeError is returned by [Dial] (and ends a reconnecting client)
// when the server answers the WebSocket handshake with an HTTP status
// instead of switching protocols, such as 401 or 403.
type HandshakeError struct {
	StatusCode int   // the HTTP status of the server's answer
	Err        error // coder/websocket's error
}

// Error returns "wsclient: handshake refused: " and the status, such as
// "wsclient: handshake refused: 401 Unauthorized".
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("wsclient: handshake refused: %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// Unwrap returns coder/websocket's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// lostError is why a connection ended, for the calls and streams it cut
// short: ErrConnectionLost (or ErrClosed) and the cause, both reachable
// with errors.Is and errors.As. refusal is the envelope a server sent just
// before refusing the connection (onConnect's *ws.Error), if any.
type lostError struct {
	kind    error // ErrConnectionLost or ErrClosed
	cause   error
	refusal *ws.Error
	closed  error // the close frame the client sent itself, if cause has none
}

func newLostError(kind, cause error, refusal *ws.Error) *lostError {
	e := &lostError{kind: kind, cause: cause, refusal: refusal}
	var ce websocket.CloseError
	if cause != nil && !errors.As(cause, &ce) && errors.Is(cause, websocket.ErrMessageTooBig) {
		// coder/websocket closed with 1009 itself.
		e.closed = websocket.CloseError{Code: websocket.StatusMessageTooBig, Reason: "message too big"}
	}
	return e
}

func (e *lostError) Error() string {
	s := e.kind.Error()
	if e.kind == ErrClosed || e.cause == nil {
		return s
	}
	var ce websocket.CloseError
	if errors.As(e, &ce) {
		s = fmt.Sprintf("%s (close %d", s, int(ce.Code))
		if ce.Reason != "" {
			s += " " + ce.Reason
		}
		s += ")"
	} else {
		s += ": " + e.cause.Error()
	}
	if e.refusal != nil {
		s += ": " + e.refusal.Error()
	}
	return s
}

func (e *lostError) Unwrap() []error {
	errs := []error{e.kind}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	if e.refusal != nil {
		errs = append(errs, e.refusal)
	}
	if e.closed != nil {
		errs = append(errs, e.closed)
	}
	return errs
}

// notConnected is a call's error during an outage: ErrNotConnected and
// the loss it follows.
type notConnected struct{ last error }

func (e *notConnected) Error() string {
	if e.last == nil {
		return ErrNotConnected.Error()
	}
	return ErrNotConnected.Error() + " (reconnecting after: " + e.last.Error() + ")"
}

func (e *notConnected) Unwrap() []error {
	if e.last == nil {
		return []error{ErrNotConnected}
	}
	return []error{ErrNotConnected, e.last}
}

// Why the client dropped a server that went silent: both wrap
// [os.ErrDeadlineExceeded], as the server's own timeouts do.
var (
	errWriteTimeout = fmt.Errorf("wsclient: write timed out: %w", os.ErrDeadlineExceeded)
	errPongTimeout  = fmt.Errorf("wsclient: server did not answer ping: %w", os.ErrDeadlineExceeded)
)
