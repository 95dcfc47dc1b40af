package hub

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func resumeRequest(raw string) *http.Request {
	return &http.Request{URL: &url.URL{RawQuery: "name=a&resume=" + raw + "&room=lobby"}}
}

// FuzzParseResume: whatever the parameter holds, parsing it never panics,
// and gives only rooms the hub takes with valid epochs.
func FuzzParseResume(f *testing.F) {
	for _, s := range []string{
		`{"lobby":{"epoch":"k3f9","offset":42}}`,
		`{"a":{"epoch":"x","offset":1},"b":{"epoch":5}}`,
		`[[[[`, `{"":{}}`, `{"lobby":{"epoch":"a","offset":-1}}`, "%ZZ", "",
	} {
		f.Add(url.QueryEscape(s))
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for room, p := range parseResume(resumeRequest(raw), DefaultMaxNameLen) {
			if room == "" || len(room) > DefaultMaxNameLen || !validEpoch(p.Epoch) {
				t.Fatalf("parsed %q: %+v", room, p)
			}
		}
	})
}

// A parameter over the bound costs no allocation: it is not decoded.
func TestParseResumeTooLong(t *testing.T) {
	r := resumeRequest(strings.Repeat("a", MaxResumeLen+1))
	if n := testing.AllocsPerRun(100, func() {
		if parseResume(r, DefaultMaxNameLen) != nil {
			t.Fatal("parsed a parameter over the bound")
		}
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
	got := parseResume(resumeRequest(url.QueryEscape(`{"lobby":{"epoch":"k3f9","offset":42},"x":{"epoch":"k","offset":"1"}}`)), DefaultMaxNameLen)
	if len(got) != 1 || got["lobby"] != (Position{"k3f9", 42}) {
		t.Fatalf("parsed %+v", got)
	}
}
