package hub

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Room names and ids are names: any bytes, UTF-8 or not, from 1 to the
// hub's maximum length. A name that is empty or too long is refused with
// an error, before anything is encoded, published or stored.
const (
	// DefaultMaxNameLen is the longest room name or id, in bytes, when
	// [WithMaxNameLen] is not given.
	DefaultMaxNameLen = 256

	// HardMaxNameLen is the largest limit [WithMaxNameLen] takes: names
	// up to this length keep broker subjects within [MaxSubjectLen].
	HardMaxNameLen = 1024

	// MaxSubjectLen is the length, in bytes, of the longest subject a hub
	// gives its [Broker]: that of a room name of [HardMaxNameLen] bytes
	// written in base64url (see [Broker]). Subjects of names within the
	// default limit are at most 349 bytes long.
	MaxSubjectLen = 1373
)

// MaxSubjectLen is the length of "room.", "%%" and the base64url of
// HardMaxNameLen bytes: the build fails when it is not.
const _ = -uint(MaxSubjectLen ^ (len(kindRoom) + 1 + len(encodedMark) + (4*HardMaxNameLen+2)/3))

// ErrNameTooLong is returned, wrapped, by [Hub.Join], [Hub.Identify],
// [Hub.Broadcast], [Hub.BroadcastExcept] and [Hub.SendTo] for a room name
// or id longer than the hub's maximum ([WithMaxNameLen], default
// [DefaultMaxNameLen]).
var ErrNameTooLong = errors.New("hub: name too long")

// ErrEmptyName is returned, wrapped, by [Hub.Join], [Hub.Broadcast],
// [Hub.BroadcastExcept] and [Hub.SendTo] for an empty room name or id.
// [Hub.Identify] with an empty id removes the connection's id instead.
var ErrEmptyName = errors.New("hub: empty name")

// WithMaxNameLen sets the longest room name or id the hub takes, in bytes
// (default [DefaultMaxNameLen], 256). Longer names are refused with
// [ErrNameTooLong]. It panics if n < 1 or n > [HardMaxNameLen].
func WithMaxNameLen(n int) Option {
	if n < 1 || n > HardMaxNameLen {
		panic(fmt.Sprintf("hub: name length limit %d, want 1 to %d", n, HardMaxNameLen))
	}
	return func(c *config) { c.maxNameLen = n }
}

// checkName returns an error for a name of kind the hub does not take.
// The error tells the name's length, not the name.
func (h *Hub) checkName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s", ErrEmptyName, kind)
	case len(name) > h.maxNameLen:
		return fmt.Errorf("%w: %s of %d bytes, the limit is %d", ErrNameTooLong, kind, len(name), h.maxNameLen)
	}
	return nil
}

const (
	kindRoom = "room"
	kindID   = "id"

	// maxEscaped is the longest escaped token; a name whose escaped form
	// is longer is written in base64url.
	maxEscaped = 256
	// encodedMark starts a base64url token. An escaped token never holds
	// "%%": each '%' in it is followed by two hexadecimal digits.
	encodedMark = "%%"
)

// subject returns the broker subject of the room or id name, as [Broker]
// documents it: kind, a dot and a token. The token is the name escaped
// (every byte but ASCII letters, digits, '-' and '_' written %XX, with
// upper-case hexadecimal digits) when that takes at most maxEscaped
// bytes, and otherwise "%%" and the name in unpadded base64url.
//
// Distinct names give distinct subjects: percent-escaping and base64 are
// both one-to-one, and the two forms never meet, since an escaped token
// holds no "%%". Both forms use only letters, digits, '-', '_' and '%'.
func subject(kind, name string) string {
	escaped := len(name)
	for i := 0; i < len(name); i++ {
		if !unreserved(name[i]) {
			escaped += 2
		}
	}
	if escaped > maxEscaped {
		enc := base64.RawURLEncoding
		b := make([]byte, 0, len(kind)+1+len(encodedMark)+enc.EncodedLen(len(name)))
		b = append(append(append(b, kind...), '.'), encodedMark...)
		return string(enc.AppendEncode(b, []byte(name)))
	}
	var b strings.Builder
	b.Grow(len(kind) + 1 + escaped)
	b.WriteString(kind)
	b.WriteByte('.')
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		if ch := name[i]; unreserved(ch) {
			b.WriteByte(ch)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}

// unreserved reports whether ch stands for itself in an escaped token.
func unreserved(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_'
}
