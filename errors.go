package ws

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/coder/websocket"
)

// Errors that end a connection. The error given to onDisconnect wraps one of
// them, or the error of the network or of the peer's close frame; read its
// close status with websocket.CloseStatus, as for any error of
// github.com/coder/websocket. A peer dropped for a timeout (a write it did
// not take, a ping it did not answer) wraps [os.ErrDeadlineExceeded].
var (
	// ErrClosed is the cause of a connection the server closed: with
	// [Conn.Close], or with 1001 for [Group.Shutdown].
	ErrClosed = errors.New("ws: connection closed")
)

// Causes that need no name of their own: each wraps a sentinel above, or
// carries its close status.
var (
	errShutdown       = fmt.Errorf("%w: server shutting down", ErrClosed)
	errWriteTimeout   = fmt.Errorf("ws: write timed out: %w", os.ErrDeadlineExceeded)
	errPongTimeout    = fmt.Errorf("ws: peer did not answer ping: %w", os.ErrDeadlineExceeded)
	errInvalidUTF8    = errors.New("ws: text message is not valid UTF-8")
	errConnectRefused = errors.New("ws: onConnect refused the connection")
)

// closeError records why a connection ended: a close status (or none) and
// the underlying cause, both reachable with errors.Is and errors.As.
type closeError struct {
	code   websocket.StatusCode // -1: closed without a close frame
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

// Error is an error with a status and a body for the client. When a receive
// function returns one (directly or wrapped), [Callback] replies
// {"statusCode": Status, "body": Body}. Any other error becomes a generic 500
// whose text never reaches the client.
//
// Make one with [NewError] or a named constructor such as [NotFound].
type Error struct {
	Status int // HTTP-like status code, such as 404
	Body   any // sent to the client as JSON; nil sends null
}

// Error returns "ws: " followed by the status and its text, such as
// "ws: 404 Not Found". The body is not part of it.
func (e *Error) Error() string {
	return "ws: " + strconv.Itoa(e.Status) + " " + http.StatusText(e.Status)
}

// MarshalJSON encodes the error as the envelope a client receives:
// {"statusCode": Status, "body": Body}. So conn.SendJSON(ctx, err) answers
// with it in a [Handler].
func (e *Error) MarshalJSON() ([]byte, error) {
	return Status(e.Status, e.Body).MarshalJSON()
}

// ErrorDetail is one entry of a 400 reply's errorList, worded like Pydantic
// v2's errors:
//
//	{"loc": ["tags", 1, "name"], "type": "missing", "msg": "Field required"}
//
// Loc is the path to the value at fault: JSON field names, integer indexes
// for slice items and map keys. An empty Loc means the whole message.
//
// ErrorDetail is an error, so a request's Validate method may return one.
type ErrorDetail struct {
	Loc  []any  `json:"loc"`
	Type string `json:"type"`
	Msg  string `json:"msg"`
}

// Error returns the message with its location, such as "ws: user: Field required".
func (d ErrorDetail) Error() string {
	s := "ws: "
	for i, p := range d.Loc {
		if i > 0 {
			s += "."
		}
		switch p := p.(type) {
		case string:
			s += p
		case int:
			s += strconv.Itoa(p)
		}
	}
	if len(d.Loc) > 0 {
		s += ": "
	}
	return s + d.Msg
}

// ErrorList is the body of a 400 reply: {"errorList": [...]}. It is an
// error, so a request's Validate method may return several details at once.
//
// The errorList of a 400 reply from [Callback] is capped: it lists at most
// 100 entries, or the number set with [WithMaxErrors],
// and no more of them than fit in 24 KiB of JSON, so that a reply stays
// smaller than the default 32 KiB read limit whatever the message holds. The
// entries listed are the first ones, in the order validation finds them.
// When errors were left out, one more entry ends the list and counts them:
//
//	{"loc": [], "type": "too_many_errors", "msg": "50 more errors"}
//	{"loc": [], "type": "too_many_errors", "msg": "At least 1 more error"}
//
// The first form is an exact count: validation ran to the end. The second
// is a lower bound: validation stopped at the first error past the cap, as
// it does where it can in the items of slices and maps tagged `dive`. So a
// message of thousands of invalid items costs the server about what a valid
// message of the same size does.
type ErrorList struct {
	Errors []ErrorDetail `json:"errorList"`
}

// Error joins the details' messages.
func (l ErrorList) Error() string {
	if len(l.Errors) == 0 {
		return "ws: validation failed"
	}
	s := l.Errors[0].Error()
	for _, d := range l.Errors[1:] {
		s += "; " + d.Error()[len("ws: "):]
	}
	return s
}

// internalError is the body of a 500 reply for an error that is not an
// [*Error]: nothing of the error itself reaches the client.
var internalError = ErrorList{Errors: []ErrorDetail{{Loc: []any{}, Type: "internal_error", Msg: "Internal Server Error"}}}
