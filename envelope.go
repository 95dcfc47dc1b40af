package ws

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// StatusEnvelope is the reply [Callback] writes for every message: an
// HTTP-like status code and a body.
//
//	{"statusCode": 200, "body": {"message": "Hi", "user": "System"}}
//
// A receive function whose result type is a StatusEnvelope picks the status
// itself; its envelope is sent as it is. Build one with [Ok], [Created],
// [Accepted], [NoContent] or [Status].
type StatusEnvelope[T any] struct {
	StatusCode int `json:"statusCode"`
	Body       T   `json:"body"`

	noBody bool // set by NoContent: "body" is null whatever T is
}

// MarshalJSON encodes the envelope; an envelope made by [NoContent] has a
// null body.
func (e StatusEnvelope[T]) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	status, body := e.envelope()
	if err := writeEnvelope(&buf, json.NewEncoder(&buf), status, body); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// envelope reports the envelope's status and body to the untyped writer.
func (e StatusEnvelope[T]) envelope() (int, any) {
	if e.noBody {
		return e.StatusCode, nil
	}
	return e.StatusCode, e.Body
}

// enveloper is implemented by every StatusEnvelope instantiation.
type enveloper interface {
	envelope() (status int, body any)
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

// Accepted returns a 202 envelope around body.
func Accepted[T any](body T) StatusEnvelope[T] { return Status(http.StatusAccepted, body) }

// NoContent returns a 204 envelope whose body is null on the wire, whatever
// T is. T only has to match the receive function's result type:
//
//	return ws.NoContent[ChatResponse](), nil
func NoContent[T any]() StatusEnvelope[T] {
	return StatusEnvelope[T]{StatusCode: http.StatusNoContent, noBody: true}
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

// NewError returns an [*Error] with the given status and body.
func NewError(status int, body any) *Error { return &Error{Status: status, Body: body} }

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

// BadRequest returns a 400 [*Error].
func BadRequest(body any) *Error { return NewError(http.StatusBadRequest, body) }

// Unauthorized returns a 401 [*Error].
func Unauthorized(body any) *Error { return NewError(http.StatusUnauthorized, body) }

// Forbidden returns a 403 [*Error].
func Forbidden(body any) *Error { return NewError(http.StatusForbidden, body) }

// NotFound returns a 404 [*Error].
func NotFound(body any) *Error { return NewError(http.StatusNotFound, body) }

// MethodNotAllowed returns a 405 [*Error].
func MethodNotAllowed(body any) *Error { return NewError(http.StatusMethodNotAllowed, body) }

// Conflict returns a 409 [*Error].
func Conflict(body any) *Error { return NewError(http.StatusConflict, body) }

// InternalServerError returns a 500 [*Error]. Unlike an ordinary error, its
// body reaches the client.
func InternalServerError(body any) *Error { return NewError(http.StatusInternalServerError, body) }

// NotImplemented returns a 501 [*Error].
func NotImplemented(body any) *Error { return NewError(http.StatusNotImplemented, body) }

// ServiceUnavailable returns a 503 [*Error].
func ServiceUnavailable(body any) *Error { return NewError(http.StatusServiceUnavailable, body) }

// GatewayTimeout returns a 504 [*Error].
func GatewayTimeout(body any) *Error { return NewError(http.StatusGatewayTimeout, body) }

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
// [DefaultMaxErrors] (100) entries, or the number set with [WithMaxErrors],
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

// writeEventEnvelope resets buf and writes a [Router]'s reply with enc,
// which writes to buf: {"id":id,"event":event,"statusCode":status,
// "body":body}, with "more":true after the body for a stream's item. id and
// event are raw JSON, left out when nil.
func writeEventEnvelope(buf *bytes.Buffer, enc *json.Encoder, id, event []byte, status int, body any, more bool) error {
	buf.Reset()
	buf.WriteByte('{')
	if id != nil {
		buf.WriteString(`"id":`)
		buf.Write(id)
		buf.WriteByte(',')
	}
	if event != nil {
		buf.WriteString(`"event":`)
		buf.Write(event)
		buf.WriteByte(',')
	}
	buf.WriteString(`"statusCode":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(status), 10))
	buf.WriteString(`,"body":`)
	if err := enc.Encode(body); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	if more {
		buf.WriteString(`,"more":true`)
	}
	buf.WriteByte('}')
	return nil
}
