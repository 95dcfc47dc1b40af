package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
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

// newPool returns n requests with messages of 40–60 characters and users of
// 5–10 characters; request i lacks its user when i%invalidEvery is
// invalidEvery-1. The same seed gives the same pool. With echo, each
// request must come back unchanged.
func newPool(n int, seed uint64, echo bool) []payload {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pool := make([]payload, n)
	for i := range pool {
		in := chatRequest{
			Message: randString(rng, textChars, 40+rng.IntN(21)),
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
