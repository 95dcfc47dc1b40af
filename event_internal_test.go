package ws

import (
	"encoding/json"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// FuzzEventName: the name a raw "event" value holds is what encoding/json
// reads from it, invalid UTF-8 included.
func FuzzEventName(f *testing.F) {
	for _, s := range []string{`"chat.send"`, "\"caf\xff\"", "\"ca\\u0066\xff\xfe\"", `"\ud800"`, `"a\"b"`, `5`, `"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want string
		if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' || json.Unmarshal(raw, &want) != nil {
			return // not a JSON string as scanned: never an event name
		}
		got, ok := eventName(raw)
		if !ok || string(got) != want {
			t.Fatalf("eventName(%q) = %q, %v; encoding/json reads %q", raw, got, ok, want)
		}
	})
}

// FuzzIDKey: two string ids are one stream exactly when their values are
// equal, each lone surrogate escape standing for itself; a string is
// never a number.
func FuzzIDKey(f *testing.F) {
	for _, p := range [][2]string{
		{`"\ud800"`, `"\udfff"`}, {`"<"`, `"\u003c"`}, {`"\ud800\udc00"`, `"𐀀"`}, {`"1"`, `1`},
		{`"\ud800\u0041"`, `"\ud800A"`}, {`"\n"`, `"\u000a"`}, {`"\uD83D\uDE00"`, `"\ud83d\ude00"`},
	} {
		f.Add([]byte(p[0]), []byte(p[1]))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		va, oka := idValue(a)
		vb, okb := idValue(b)
		if !oka || !okb {
			return
		}
		if same := idKey(a) == idKey(b); same != (va == vb) {
			t.Fatalf("%q and %q: one stream %v, values %q and %q", a, b, same, va, vb)
		}
	})
}

// idValue returns what a valid id stands for, written so that numbers
// and strings differ and lone surrogates keep their code points: a
// reference made with encoding/json and unicode/utf16.
func idValue(raw []byte) (string, bool) {
	if len(raw) == 0 || !json.Valid(raw) || checkID(raw) != nil {
		return "", false
	}
	if raw[0] != '"' {
		return "n" + string(raw), true
	}
	// Decode to UTF-16 units by hand, through encoding/json for every
	// escape but \u, which it would mangle.
	var units []uint16
	v := raw[1 : len(raw)-1]
	for len(v) > 0 {
		if v[0] == '\\' && v[1] == 'u' {
			units = append(units, uint16(hex4(v[2:6])))
			v = v[6:]
			continue
		}
		n := 1
		if v[0] == '\\' {
			n = 2
		} else {
			_, n = utf8.DecodeRune(v)
		}
		var s string
		if err := json.Unmarshal([]byte(`"`+string(v[:n])+`"`), &s); err != nil {
			return "", false
		}
		units = append(units, utf16.Encode([]rune(s))...)
		v = v[n:]
	}
	// Each unit as a number: equal values, equal unit sequences.
	b := []byte{'s'}
	for _, u := range units {
		b = append(b, byte(u>>8), byte(u))
	}
	return string(b), true
}
