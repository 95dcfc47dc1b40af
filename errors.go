package ws

import (
	"errors"
	"fmt"

	"github.com/coder/websocket"
)

// StatusCode is a WebSocket close status code (RFC 6455, section 7.4).
type StatusCode = websocket.StatusCode

// Close status codes the package uses. Any other code of [StatusCode] can be
// given to [Conn.Close] as well.
const (
	StatusNormalClosure   = websocket.StatusNormalClosure           // 1000
	StatusGoingAway       = websocket.StatusGoingAway               // 1001: server shutdown
	StatusProtocolError   = websocket.StatusProtocolError           // 1002: the peer broke the protocol
	StatusInvalidPayload  = websocket.StatusInvalidFramePayloadData // 1007: invalid UTF-8
	StatusPolicyViolation = websocket.StatusPolicyViolation         // 1008: onConnect refused
	StatusMessageTooBig   = websocket.StatusMessageTooBig           // 1009: over the read limit
	StatusInternalError   = websocket.StatusInternalError           // 1011: handler error or panic
)

// Errors that end a connection. The error given to onDisconnect wraps one of
// them, or the error of the network or of the peer's close frame; read its
// close status with [CloseStatus].
var (
	ErrClosed         = errors.New("ws: connection closed")
	ErrShutdown       = errors.New("ws: server shutting down")
	ErrWriteTimeout   = errors.New("ws: write timed out")
	ErrPongTimeout    = errors.New("ws: peer did not answer ping")
	ErrInvalidUTF8    = errors.New("ws: text message is not valid UTF-8")
	ErrMessageTooBig  = websocket.ErrMessageTooBig
	ErrConnectRefused = errors.New("ws: onConnect refused the connection")
)

// CloseStatus returns the close status code carried by err: the code of the
// peer's close frame, or the code the server closed with. It returns -1 when
// the connection ended without one (a dropped TCP connection, a timeout).
func CloseStatus(err error) StatusCode {
	return websocket.CloseStatus(err)
}

// closeError records why a connection ended: a close status (or none) and
// the underlying cause, both reachable with errors.Is and errors.As.
type closeError struct {
	code   StatusCode // -1: closed without a close frame
	reason string
	cause  error
}

func (e *closeError) Error() string {
	if e.code < 0 {
		return e.cause.Error()
	}
	return fmt.Sprintf("%v (close %d %s)", e.cause, int(e.code), e.reason)
}

func (e *closeError) Unwrap() []error {
	if e.code < 0 {
		return []error{e.cause}
	}
	return []error{e.cause, websocket.CloseError{Code: e.code, Reason: e.reason}}
}
