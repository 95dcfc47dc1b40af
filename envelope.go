package ws

import (
	"bytes"
	"encoding/json"
	"fmt"
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

// sendEnvelope writes {"statusCode":status,"body":body}. A body that does
// not encode is logged and answered with a generic 500.
func (c *Conn) sendEnvelope(status int, body any) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := writeEnvelope(&b.Buffer, b.enc, status, body); err != nil {
		c.log("ws: reply does not encode as JSON", err)
		writeEnvelope(&b.Buffer, b.enc, http.StatusInternalServerError, internalError)
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	return c.writeLocked(c.ctx, b.Bytes())
}

// writeEnvelope resets buf and writes {"statusCode":status,"body":body} to
// it with enc, which writes to buf.
func writeEnvelope(buf *bytes.Buffer, enc *json.Encoder, status int, body any) error {
	buf.Reset()
	buf.WriteString(`{"statusCode":`)
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(status), 10))
	buf.WriteString(`,"body":`)
	if err := enc.Encode(body); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	buf.WriteByte('}')
	return nil
}

// sendEvent writes a reply: {"id":…,"event":…,"statusCode":…,"body":…}. A
// body that does not encode is logged and replaced by a 500.
func (c *Conn) sendEvent(id, event []byte, status int, body any) error {
	return c.sendEventLocked(id, event, status, body, nil)
}

// sendEventLocked is sendEvent, calling locked, when it is not nil, once
// the write lock is taken, before the reply is written: what others write
// after locked has run comes after the reply.
func (c *Conn) sendEventLocked(id, event []byte, status int, body any, locked func()) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := writeEventEnvelope(&b.Buffer, b.enc, id, event, status, body, false); err != nil {
		c.log("ws: reply does not encode as JSON", err)
		writeEventEnvelope(&b.Buffer, b.enc, id, event, http.StatusInternalServerError, internalError, false)
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	if locked != nil {
		locked()
	}
	return c.writeLocked(c.ctx, b.Bytes())
}

// sendItem writes a stream's item: {…,"more":true}. An item that does not
// encode is not sent; the error says why.
func (c *Conn) sendItem(id, event []byte, item any) error {
	b := getBuffer()
	defer putBuffer(b)
	if err := writeEventEnvelope(&b.Buffer, b.enc, id, event, http.StatusOK, item, true); err != nil {
		return fmt.Errorf("ws: stream item does not encode as JSON: %w", err)
	}
	c.lockWrite()
	defer c.wmu.Unlock()
	// The connection's context, not the stream's: a write cut short by a
	// cancelled context would close the whole connection.
	return c.writeLocked(c.ctx, b.Bytes())
}
