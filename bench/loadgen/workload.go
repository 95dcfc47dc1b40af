package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
)

// invalidEvery makes one request in 20 (5%) lack its user field.
const invalidEvery = 20

// badRequest is the exact reply to a request without a user.
const badRequest = `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`

// payload is one request of the workload and the reply it must get.
type payload struct {
	req   []byte // request frame
	want  []byte // reply in its compact canonical form
	wantV any    // want decoded, for replies that differ only in layout
	valid bool
}

type chatRequest struct {
	Message string `json:"message"`
	User    string `json:"user,omitempty"`
}

type chatReply struct {
	StatusCode int         `json:"statusCode"`
	Body       chatRequest `json:"body"`
}

const (
	textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,!?-"
	userChars = "abcdefghijklmnopqrstuvwxyz0123456789_"
)

// shape is the form of the messages in a pool.
type shape struct {
	min, max int  // characters of a message, both included
	words    bool // common English words instead of random characters
}

// chatShape is the workload's: 40–60 random characters.
var chatShape = shape{min: 40, max: 60}

// parseShape reads -message ("MIN-MAX") and -words.
func parseShape(s string, words bool) (shape, error) {
	var sh shape
	if _, err := fmt.Sscanf(s, "%d-%d", &sh.min, &sh.max); err != nil || sh.min < 2 || sh.max < sh.min || sh.max > 500 {
		return shape{}, fmt.Errorf("-message %q: want MIN-MAX, 2 ≤ MIN ≤ MAX ≤ 500", s)
	}
	sh.words = words
	return sh, nil
}

// String names the shape in a scenario; the chat workload's is "".
func (sh shape) String() string {
	if sh == chatShape || sh == (shape{}) {
		return ""
	}
	s := fmt.Sprintf("m%d-%d", sh.min, sh.max)
	if sh.words {
		s += "w"
	}
	return s
}

// newPool returns n requests with messages of the given shape and users of
// 5–10 characters; request i lacks its user when i%invalidEvery is
// invalidEvery-1. The same seed gives the same pool. With echo, each
// request must come back unchanged. The zero shape is chatShape.
func newPool(n int, seed uint64, echo bool, sh shape) []payload {
	if sh == (shape{}) {
		sh = chatShape
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pool := make([]payload, n)
	for i := range pool {
		size := sh.min + rng.IntN(sh.max-sh.min+1)
		var msg string
		if sh.words {
			msg = randWords(rng, size)
		} else {
			msg = randString(rng, textChars, size)
		}
		in := chatRequest{
			Message: msg,
			User:    randString(rng, userChars, 5+rng.IntN(6)),
		}
		p := &pool[i]
		if i%invalidEvery == invalidEvery-1 {
			in.User = ""
			p.want = []byte(badRequest)
		} else {
			p.valid = true
			p.want = mustMarshal(chatReply{StatusCode: 200, Body: in})
		}
		p.req = mustMarshal(in)
		if echo {
			p.want = p.req
		}
		v, err := decodeJSON(p.want)
		if err != nil {
			panic(err)
		}
		p.wantV = v
	}
	return pool
}

func randString(rng *rand.Rand, chars string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rng.IntN(len(chars))]
	}
	// A message neither starts nor ends with a space.
	for _, i := range []int{0, n - 1} {
		if b[i] == ' ' {
			b[i] = 'x'
		}
	}
	return string(b)
}

// words are common English words, for messages that compress the way
// chat text does.
var words = strings.Fields(`the be to of and a in that have I it for not on with he as you do at this
but his by from they we say her she or an will my one all would there their what so up out if about
who get which go me when make can like time no just him know take people into year your good some
could them see other than then now look only come its over think also back after use two how our
work first well way even new want because any these give day most us meeting today tomorrow thanks
please room message chat team lunch call later sounds great sure okay deploy release build test`)

// randWords returns n characters of words separated by spaces, the last
// word cut to fit.
func randWords(rng *rand.Rand, n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(words[rng.IntN(len(words))])
	}
	s := b.String()[:n]
	// A message neither starts nor ends with a space.
	if s[n-1] == ' ' {
		s = s[:n-1] + "x"
	}
	return s
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// decodeJSON decodes exactly one JSON value, keeping numbers as written.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// reply is a received frame, decoded at most once however many payloads it
// is compared with.
type reply struct {
	raw     []byte
	decoded bool
	v       any
	err     error
}

// matches reports whether r is the reply p must get: byte for byte, or the
// same JSON value with the same fields and nothing more.
func (r *reply) matches(p *payload) bool {
	if bytes.Equal(r.raw, p.want) {
		return true
	}
	if !r.decoded {
		r.v, r.err = decodeJSON(r.raw)
		r.decoded = true
	}
	return r.err == nil && reflect.DeepEqual(r.v, p.wantV)
}

// withEvent wraps every request of pool in a ws.Router's event envelope,
// {"event":event,"id":i,"data":request}, and expects the reply to echo the
// id and the event before the status: {"id":i,"event":event,"statusCode":…}.
// i is the request's index in the pool.
func withEvent(pool []payload, event string) {
	name := mustMarshal(event)
	for i := range pool {
		p := &pool[i]
		p.req = fmt.Appendf(nil, `{"event":%s,"id":%d,"data":%s}`, name, i, p.req)
		p.want = fmt.Appendf(nil, `{"id":%d,"event":%s,%s`, i, name, p.want[1:])
		v, err := decodeJSON(p.want)
		if err != nil {
			panic(err)
		}
		p.wantV = v
	}
}
