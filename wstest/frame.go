package wstest

import (
	"encoding/json"
	"fmt"
)

// Frame is one message a server writes, as it is on the wire, for a test
// that reads frames with a plain WebSocket client rather than a
// [wsclient.Client] (docs/protocol.md describes each):
//
//	{"id":"7","event":"chat.send","statusCode":200,"body":{…}}              // a reply
//	{"id":"w","event":"chat.watch","statusCode":200,"body":{…},"more":true} // a stream's item
//	{"event":"chat.message","statusCode":200,"body":{…}}                    // a push
//
// A field the frame lacks stays zero. ID keeps its JSON form: the id 1
// reads as `1`, the id "w" as `"w"`, and a frame without one as nil. A
// [ws.Callback]'s reply is a Frame with only StatusCode and Body.
type Frame struct {
	ID         json.RawMessage `json:"id,omitempty"`
	Event      string          `json:"event,omitempty"`
	StatusCode int             `json:"statusCode,omitempty"`
	Body       json.RawMessage `json:"body,omitempty"`
	More       bool            `json:"more,omitempty"`
}

// String returns the frame as JSON, without the fields it lacks, so that a
// failing test prints what came over the wire.
func (f Frame) String() string {
	b, err := json.Marshal(f)
	if err != nil { // an ID or Body that is not JSON
		return fmt.Sprintf("id=%s event=%s statusCode=%d body=%s more=%t", f.ID, f.Event, f.StatusCode, f.Body, f.More)
	}
	return string(b)
}
