package ws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"net/http"
	"unicode/utf16"
	"unicode/utf8"
)

// message is a client message of a [Router], as read from the wire: the
// raw JSON values of its "event", "id" and "data" members, and of the
// optional trace context ("traceparent", "tracestate"), nil when absent.
// They point into the message.
type message struct {
	event, id, data         []byte
	traceparent, tracestate []byte
}

// scanDepth bounds how deep scanMessage follows nested values; a deeper
// message goes to the slow path, which applies encoding/json's own limit.
const scanDepth = 512

// scanMessage reads the members of a client message without building a
// map: it finds "event", "id" and "data" at the top level and checks that
// the rest is valid JSON, the way encoding/json would. It reports false
// when msg is not valid JSON, is not an object, or holds something it
// leaves to [readMessage]'s slow path: an escaped member name or very deep
// nesting. A member given twice counts once, with its last value, as
// encoding/json does.
func scanMessage(msg []byte) (m message, ok bool) {
	i := space(msg, 0)
	if i == len(msg) || msg[i] != '{' {
		return m, false
	}
	i = space(msg, i+1)
	if i < len(msg) && msg[i] == '}' {
		return m, space(msg, i+1) == len(msg)
	}
	for {
		if i == len(msg) || msg[i] != '"' {
			return m, false
		}
		start := i
		var escaped bool
		if i, escaped = skipString(msg, i); i < 0 || escaped {
			return m, false
		}
		key := msg[start+1 : i-1]
		i = space(msg, i)
		if i == len(msg) || msg[i] != ':' {
			return m, false
		}
		start = space(msg, i+1)
		if i = skipValue(msg, start, 2); i < 0 {
			return m, false
		}
		switch string(key) {
		case "event":
			m.event = msg[start:i]
		case "id":
			m.id = msg[start:i]
		case "data":
			m.data = msg[start:i]
		case "traceparent":
			m.traceparent = msg[start:i]
		case "tracestate":
			m.tracestate = msg[start:i]
		}
		i = space(msg, i)
		if i == len(msg) {
			return m, false
		}
		switch msg[i] {
		case ',':
			i = space(msg, i+1)
		case '}':
			return m, space(msg, i+1) == len(msg)
		default:
			return m, false
		}
	}
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
	return message{event: members["event"], id: members["id"], data: members["data"],
		traceparent: members["traceparent"], tracestate: members["tracestate"]}, nil
}

// The scanning functions below take JSON text b and the index i where they
// start, and return the index past what they read, or -1 where
// encoding/json would report a syntax error.

// space skips whitespace.
func space(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipValue skips one value, which sits at nesting depth depth.
func skipValue(b []byte, i, depth int) int {
	if i == len(b) {
		return -1
	}
	switch b[i] {
	case '{':
		if depth > scanDepth {
			return -1
		}
		i = space(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1
		}
		for {
			if i == len(b) || b[i] != '"' {
				return -1
			}
			if i, _ = skipString(b, i); i < 0 {
				return -1
			}
			i = space(b, i)
			if i == len(b) || b[i] != ':' {
				return -1
			}
			if i = skipValue(b, space(b, i+1), depth+1); i < 0 {
				return -1
			}
			i = space(b, i)
			if i == len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = space(b, i+1)
			case '}':
				return i + 1
			default:
				return -1
			}
		}
	case '[':
		if depth > scanDepth {
			return -1
		}
		i = space(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1
		}
		for {
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
			i = space(b, i)
			if i == len(b) {
				return -1
			}
			switch b[i] {
			case ',':
				i = space(b, i+1)
			case ']':
				return i + 1
			default:
				return -1
			}
		}
	case '"':
		i, _ = skipString(b, i)
		return i
	case 't':
		return skipLiteral(b, i, "true")
	case 'f':
		return skipLiteral(b, i, "false")
	case 'n':
		return skipLiteral(b, i, "null")
	}
	return skipNumber(b, i)
}

func skipLiteral(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// skipString skips the string that starts at b[i], a quote; escaped
// reports whether it holds a backslash escape.
func skipString(b []byte, i int) (end int, escaped bool) {
	for i = special(b, i+1); i < len(b); i = special(b, i) {
		switch b[i] {
		case '"':
			return i + 1, escaped
		case '\\':
			escaped = true
			if i+1 == len(b) {
				return -1, escaped
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if len(b)-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1, escaped
				}
				i += 6
			default:
				return -1, escaped
			}
		default: // a control character
			return -1, escaped
		}
	}
	return -1, escaped
}

// special returns the index of the first quote, backslash or control
// character at or after b[i], or len(b). It reads eight bytes at a time.
func special(b []byte, i int) int {
	for ; len(b)-i >= 8; i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if m := hasLess(w, 0x20) | hasZero(w^(lsb*'"')) | hasZero(w^(lsb*'\\')); m != 0 {
			// The lowest flagged byte is exact; higher ones may not be.
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' {
			return i
		}
	}
	return i
}

// lsb has the lowest bit of every byte of a word set.
const lsb = 0x0101010101010101

// hasZero is not zero when a byte of w is zero.
func hasZero(w uint64) uint64 { return (w - lsb) &^ w & (lsb * 0x80) }

// hasLess is not zero when a byte of w is less than n (n <= 128).
func hasLess(w uint64, n uint64) uint64 { return (w - lsb*n) &^ w & (lsb * 0x80) }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// skipNumber skips a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i == len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// eventName returns the name a raw "event" value holds; ok is false when
// it is not a string. It reads the name as encoding/json does, so that a
// message matches the same event whichever way it is read: a byte that is
// not valid UTF-8 (only a binary frame can carry one) stands for U+FFFD.
func eventName(raw []byte) (name []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		name = raw[1 : len(raw)-1]
		if !utf8.Valid(name) {
			name = toValidUTF8(name)
		}
		return name, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// toValidUTF8 replaces each byte of b that is not part of a valid UTF-8
// sequence with U+FFFD, one for one, as encoding/json does.
func toValidUTF8(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// maxIDLen is the longest "id" a [Router] takes, in bytes as written in
// the message, quotes and escapes included: a longer one is answered with
// a 400 at ["id"], so that what a connection's open streams hold stays
// small.
const maxIDLen = 128

var errIDTooLong = ErrorDetail{Loc: []any{"id"}, Type: "id_too_long", Msg: "Id should have at most 128 bytes, as written in the message"}

// checkID returns the errorList entry for a raw "id" value that is neither
// a string nor a number, is longer than maxIDLen, or is a string that is
// not valid UTF-8 (only a binary frame can carry one): the id is echoed as
// it came, so it must be valid.
func checkID(raw []byte) *ErrorDetail {
	if len(raw) > maxIDLen {
		return &errIDTooLong
	}
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

// idKey is how a stream is found again by a $cancel naming its id: a
// string by its value, a number as it is written. Escapes are decoded, so
// "a" and "\u0061" are one id; a lone surrogate escape, which
// encoding/json would turn into U+FFFD, keeps its own code point (in the
// three bytes UTF-8 would give it, which valid UTF-8 never holds), so
// "\ud800" and "\udfff" are two ids. raw is a valid id (checkID).
func idKey(raw []byte) string {
	if raw[0] != '"' {
		return "n" + string(raw)
	}
	v := raw[1 : len(raw)-1]
	if bytes.IndexByte(v, '\\') < 0 {
		return "s" + string(v)
	}
	key := make([]byte, 1, len(v)+1)
	key[0] = 's'
	for i := 0; i < len(v); {
		if v[i] != '\\' {
			key = append(key, v[i])
			i++
			continue
		}
		switch e := v[i+1]; e {
		case 'u':
			r := hex4(v[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) && r < 0xdc00 && i+6 <= len(v) && v[i] == '\\' && v[i+1] == 'u' {
				if lo := hex4(v[i+2 : i+6]); 0xdc00 <= lo && lo < 0xe000 {
					key = utf8.AppendRune(key, utf16.DecodeRune(r, lo))
					i += 6
					continue
				}
			}
			if utf16.IsSurrogate(r) {
				key = append(key, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
			} else {
				key = utf8.AppendRune(key, r)
			}
		default:
			key = append(key, unescape[e])
			i += 2
		}
	}
	return string(key)
}

// unescape is what a JSON escape other than \u stands for.
var unescape = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// hex4 reads four hexadecimal digits, which skipString has checked.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

var (
	errEventMissing = ErrorDetail{Loc: []any{"event"}, Type: "union_tag_not_found", Msg: "Unable to extract tag using discriminator 'event'"}
	errIDMissing    = ErrorDetail{Loc: []any{"id"}, Type: "missing", Msg: "Field required"}
	errStreamOpen   = ErrorDetail{Loc: []any{"id"}, Type: "value_error", Msg: "Value error, a stream with this id is open"}
)

// pushMessage is a push, made by [Push].
type pushMessage struct {
	event string
	body  any
}

// Push returns the push of event with body: a message the server sends
// without being asked, which never carries an id,
//
//	{"event": "chat.message", "statusCode": 200, "body": {…}}
//
// for [Conn.SendJSON], or for a room with a hub's broadcast: it encodes
// itself (its MarshalJSON fails when event is empty).
//
//	conn.SendJSON(ctx, ws.Push("chat.message", msg))
//
// Declare the event on the [Router] with [Emits], so that the API's
// description lists it; its [Emitter.Push] checks the body's type.
func Push(event string, body any) json.Marshaler {
	return pushMessage{event: event, body: body}
}

// errPushName is returned when a push without an event name is encoded.
var errPushName = errors.New("ws: a push needs an event name")

// MarshalJSON encodes the push: {"event":…,"statusCode":200,"body":…}.
func (p pushMessage) MarshalJSON() ([]byte, error) {
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
