package hub_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/hub"
)

// subjectRecorder is a Broker that records the subject of the last
// Publish.
type subjectRecorder struct{ last string }

func (r *subjectRecorder) Publish(_ context.Context, subject string, _ []byte) error {
	r.last = subject
	return nil
}

func (r *subjectRecorder) Subscribe(string, func([]byte)) (func() error, error) {
	return func() error { return nil }, nil
}

// FuzzNames gives arbitrary bytes as a room name and as an id to a hub
// with the default limit and to one with the largest. A name is refused
// exactly when it is empty or too long; the subject of a name that is
// taken is a valid NATS subject (under natsbroker's default prefix) of at
// most hub.MaxSubjectLen bytes, and decodes back to the name by the
// mapping hub.Broker documents, so that distinct names never share one.
func FuzzNames(f *testing.F) {
	for _, seed := range []string{
		"lobby", "", ".", "a.b c/é", "\xff", "%", "%%", "%2E", "*", ">", "room.>", "a\x00b", " ",
		strings.Repeat(".", 85), strings.Repeat(".", 86), // the longest escaped token, and one byte more
		strings.Repeat("x", hub.DefaultMaxNameLen), strings.Repeat("x", hub.DefaultMaxNameLen+1),
		strings.Repeat(".", hub.HardMaxNameLen), strings.Repeat("\xff", hub.HardMaxNameLen+1),
	} {
		f.Add(seed)
	}
	var wide, narrow subjectRecorder
	hw := hub.New(hub.WithBroker(&wide), hub.WithMaxNameLen(hub.HardMaxNameLen))
	hn := hub.New(hub.WithBroker(&narrow))
	f.Cleanup(func() {
		hw.Close()
		hn.Close()
	})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, name string) {
		for _, kind := range []string{"room", "id"} {
			send := func(h *hub.Hub) error {
				if kind == "room" {
					return h.Broadcast(ctx, name, 0)
				}
				return h.SendTo(ctx, name, 0)
			}
			wide.last, narrow.last = "", ""
			errW, errN := send(hw), send(hn)
			var wantW, wantN error
			switch {
			case name == "":
				wantW, wantN = hub.ErrEmptyName, hub.ErrEmptyName
			case len(name) > hub.HardMaxNameLen:
				wantW, wantN = hub.ErrNameTooLong, hub.ErrNameTooLong
			case len(name) > hub.DefaultMaxNameLen:
				wantN = hub.ErrNameTooLong
			}
			for _, c := range []struct {
				what      string
				err, want error
			}{{"with the largest limit", errW, wantW}, {"with the default limit", errN, wantN}} {
				if c.want == nil && c.err != nil || c.want != nil && !errors.Is(c.err, c.want) {
					t.Fatalf("%s %q of %d bytes %s: %v, want %v", kind, name, len(name), c.what, c.err, c.want)
				}
			}
			if errW != nil {
				continue
			}
			if errN == nil && narrow.last != wide.last {
				t.Fatalf("%s %q: subject %q with the default limit, %q with the largest", kind, name, narrow.last, wide.last)
			}
			checkSubject(t, kind, name, wide.last)
		}
	})
}

// checkSubject fails t unless subject is the one hub.Broker documents for
// the name of kind, and a valid NATS subject.
func checkSubject(t *testing.T, kind, name, subject string) {
	t.Helper()
	if len(subject) > hub.MaxSubjectLen {
		t.Fatalf("subject of %d bytes, more than hub.MaxSubjectLen (%d)", len(subject), hub.MaxSubjectLen)
	}
	// NATS: tokens are not empty and not wildcards; no whitespace or
	// control characters.
	for tok := range strings.SplitSeq("cafeto.ws."+subject, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			t.Fatalf("subject %q: token %q", subject, tok)
		}
	}
	token, ok := strings.CutPrefix(subject, kind+".")
	if !ok || strings.Contains(token, ".") {
		t.Fatalf("subject %q, want %s. and one token", subject, kind)
	}
	for i := 0; i < len(token); i++ {
		if ch := token[i]; !unreserved(ch) && ch != '%' {
			t.Fatalf("subject %q: byte %q", subject, ch)
		}
	}
	// The mapping: %XX escapes up to 256 bytes, else "%%" and base64url.
	escapedLen := len(escape(name))
	if rest, ok := strings.CutPrefix(token, "%%"); ok {
		got, err := base64.RawURLEncoding.Strict().DecodeString(rest)
		if err != nil || string(got) != name {
			t.Fatalf("subject %q decodes to %q, %v; want %q", subject, got, err, name)
		}
		if escapedLen <= 256 {
			t.Fatalf("subject %q in base64url, but the name escapes to %d bytes", subject, escapedLen)
		}
		return
	}
	got, err := unescape(token)
	if err != nil || got != name {
		t.Fatalf("subject %q decodes to %q, %v; want %q", subject, got, err, name)
	}
	if escapedLen > 256 {
		t.Fatalf("subject %q escaped, %d bytes", subject, escapedLen)
	}
}

func unreserved(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_'
}

// escape writes every byte of s but letters, digits, '-' and '_' as %XX.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if unreserved(s[i]) {
			b.WriteByte(s[i])
		} else {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
	}
	return b.String()
}

// unescape is the inverse of escape; it refuses anything escape does not
// write.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated escape")
		}
		hi, lo := strings.IndexByte("0123456789ABCDEF", s[i+1]), strings.IndexByte("0123456789ABCDEF", s[i+2])
		if hi < 0 || lo < 0 {
			return "", errors.New("bad escape")
		}
		ch := byte(hi<<4 | lo)
		if unreserved(ch) {
			return "", errors.New("escaped byte that stands for itself")
		}
		b.WriteByte(ch)
		i += 2
	}
	return b.String(), nil
}
