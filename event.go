package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"unicode/utf8"
)

// message is a client message of a [Router], as read from the wire: the
// raw JSON values of its "event", "id" and "data" members, nil when absent.
// They point into the message.
type message struct {
	event, id, data []byte
}

// scanDepth bounds how deep scanMessage follows nested values; a deeper
// message goes to the slow path, which applies encoding/json's own limit.
const scanDepth = 512

// scanMessage reads the members of a client message without building a
// map: it finds "event", "id" and "data" at the top level and checks that
// the rest is valid JSON, the way encoding/json would. It reports false
// when msg is not valid JSON, is not an object, or holds something it
// leaves to [readMessage]'s slow path: an escaped key or very deep nesting.
// A member given twice counts once, with its last value, as encoding/json
// does.
func scanMessage(msg []byte) (m message, ok bool) {
	s := scanner{b: msg}
	s.space()
	if !s.eat('{') {
		return m, false
	}
	s.space()
	if !s.eat('}') {
		for {
			if s.peek() != '"' {
				return m, false
			}
			start := s.i
			escaped, ok := s.str()
			if !ok || escaped {
				return m, false
			}
			key := msg[start+1 : s.i-1]
			s.space()
			if !s.eat(':') {
				return m, false
			}
			s.space()
			start = s.i
			if !s.value(2) {
				return m, false
			}
			switch string(key) {
			case "event":
				m.event = msg[start:s.i]
			case "id":
				m.id = msg[start:s.i]
			case "data":
				m.data = msg[start:s.i]
			}
			s.space()
			if s.eat(',') {
				s.space()
				continue
			}
			if s.eat('}') {
				break
			}
			return m, false
		}
	}
	s.space()
	return m, s.i == len(msg)
}

// readMessage reads a client message: with scanMessage, or else with
// encoding/json. It returns the 400 errorList [Callback] gives for a
// message that is not JSON or not an object.
func readMessage(msg []byte) (message, *ErrorList) {
	if m, ok := scanMessage(msg); ok {
		return m, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(msg, &members); err != nil {
		// Worded as for a struct request type, as Callback words it.
		var probe struct{}
		if err := json.Unmarshal(msg, &probe); err != nil {
			return message{}, decodeErrors(msg, err)
		}
		return message{}, notObject()
	}
	if members == nil {
		return message{}, notObject() // null
	}
	return message{event: members["event"], id: members["id"], data: members["data"]}, nil
}

// scanner walks JSON text. Its methods report false on what encoding/json
// would reject, and leave i past what they read.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value skips one value, which sits at nesting depth depth.
func (s *scanner) value(depth int) bool {
	switch s.peek() {
	case '{':
		if depth > scanDepth {
			return false
		}
		s.i++
		s.space()
		if s.eat('}') {
			return true
		}
		for {
			if s.peek() != '"' {
				return false
			}
			if _, ok := s.str(); !ok {
				return false
			}
			s.space()
			if !s.eat(':') {
				return false
			}
			s.space()
			if !s.value(depth + 1) {
				return false
			}
			s.space()
			if s.eat(',') {
				s.space()
				continue
			}
			return s.eat('}')
		}
	case '[':
		if depth > scanDepth {
			return false
		}
		s.i++
		s.space()
		if s.eat(']') {
			return true
		}
		for {
			if !s.value(depth + 1) {
				return false
			}
			s.space()
			if s.eat(',') {
				s.space()
				continue
			}
			return s.eat(']')
		}
	case '"':
		_, ok := s.str()
		return ok
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i >= len(lit) && string(s.b[s.i:s.i+len(lit)]) == lit {
		s.i += len(lit)
		return true
	}
	return false
}

// str skips a string; escaped reports whether it holds a backslash escape.
func (s *scanner) str() (escaped, ok bool) {
	s.i++ // the opening quote
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return escaped, true
		case c == '\\':
			escaped = true
			s.i++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				s.i++
				for range 4 {
					if !isHex(s.peek()) {
						return escaped, false
					}
					s.i++
				}
			default:
				return escaped, false
			}
		case c < 0x20:
			return escaped, false
		default:
			s.i++
		}
	}
	return escaped, false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}

// number skips a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	s.eat('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if s.eat('e') || s.eat('E') {
		if !s.eat('+') {
			s.eat('-')
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// eventName returns the name a raw "event" value holds; ok is false when
// it is not a string.
func eventName(raw []byte) (name []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// checkID returns the errorList entry for a raw "id" value that is neither
// a string nor a number, or a string that is not valid UTF-8 (only a binary
// frame can carry one): the id is echoed as it came, so it must be valid.
func checkID(raw []byte) *ErrorDetail {
	switch c := raw[0]; {
	case c == '"':
		if !utf8.Valid(raw) {
			return &ErrorDetail{Loc: []any{"id"}, Type: "string_unicode", Msg: "Input should be a valid string, unable to parse raw data as a unicode string"}
		}
		return nil
	case c == '-' || '0' <= c && c <= '9':
		return nil
	}
	return &ErrorDetail{Loc: []any{"id"}, Type: "id_type", Msg: "Input should be a valid string or number"}
}

// idKey is how a stream is found again by a $cancel naming its id: a string
// by its value, a number as it is written.
func idKey(raw []byte) string {
	if raw[0] == '"' && bytes.IndexByte(raw, '\\') >= 0 {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			b, _ := json.Marshal(s)
			return string(b)
		}
	}
	return string(raw)
}

var (
	errEventMissing = ErrorDetail{Loc: []any{"event"}, Type: "union_tag_not_found", Msg: "Unable to extract tag using discriminator 'event'"}
	errIDMissing    = ErrorDetail{Loc: []any{"id"}, Type: "missing", Msg: "Field required"}
	errStreamOpen   = ErrorDetail{Loc: []any{"id"}, Type: "value_error", Msg: "Value error, a stream with this id is open"}
)

// PushMessage is a message the server sends without being asked:
//
//	{"event": "chat.message", "statusCode": 200, "body": {…}}
//
// It never carries an id. Make one with [Push] or [Emitter.Push] and send it
// with [Conn.SendJSON], or to a room with a hub's broadcast: it encodes
// itself.
type PushMessage struct {
	event string
	body  any
}

// Push returns the push of event with body, for [Conn.SendJSON]:
//
//	conn.SendJSON(ctx, ws.Push("chat.message", msg))
//
// Declare the event on the [Router] with [Emits], so that the API's
// description lists it.
func Push(event string, body any) PushMessage {
	return PushMessage{event: event, body: body}
}

// errPushName is returned when a push without an event name is encoded.
var errPushName = errors.New("ws: a push needs an event name")

// MarshalJSON encodes the push: {"event":…,"statusCode":200,"body":…}.
func (p PushMessage) MarshalJSON() ([]byte, error) {
	if p.event == "" {
		return nil, errPushName
	}
	event, err := json.Marshal(p.event)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := writeEventEnvelope(&buf, json.NewEncoder(&buf), nil, event, http.StatusOK, p.body, false); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
