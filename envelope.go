package ws

import (
	"bytes"
	"encoding/json"
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
