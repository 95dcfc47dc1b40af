package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkServerWork measures what the server does for one message
// besides reading and writing the socket, for ws.Callback and for the same
// handler as a Router event: read the message (and the event envelope),
// decode, validate, call, encode the reply. One message in twenty misses
// its user. Run it with
//
//	go test -run '^$' -bench ServerWork -count 10
func BenchmarkServerWork(b *testing.B) {
	type chatRequest struct {
		Message string `json:"message" validate:"required,max=500"`
		User    string `json:"user" validate:"required,max=32"`
	}
	type chatResponse struct {
		Message string `json:"message"`
		User    string `json:"user"`
	}
	fn := func(ctx context.Context, in chatRequest) (chatResponse, error) { return chatResponse(in), nil }
	var msgs, events [][]byte
	for i := range 20 {
		m := fmt.Sprintf(`{"message":"a chat message of a realistic length, number %03d","user":"user%02d"}`, i, i)
		if i == 7 {
			m = `{"message":"where did my user name go, it was here a second ago"}`
		}
		msgs = append(msgs, []byte(m))
		events = append(events, fmt.Appendf(nil, `{"event":"chat.send","id":%d,"data":%s}`, i, m))
	}
	ctx := context.Background()

	b.Run("server=callback", func(b *testing.B) {
		handle, _ := newHandle(fn, newConfig[Option](nil), "onReceive")
		buf := getBuffer()
		b.ReportAllocs()
		for i := range b.N {
			status, body, _ := handle(ctx, msgs[i%len(msgs)], nil)
			if err := writeEnvelope(&buf.Buffer, buf.enc, status, body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("server=router", func(b *testing.B) {
		r := NewRouter()
		On(r, "chat.send", fn)
		r.seal.Do(r.sealUp)
		buf := getBuffer()
		b.ReportAllocs()
		for i := range b.N {
			q := r.route(events[i%len(events)])
			if q.errs != nil {
				b.Fatal(q.errs)
			}
			status, body, _ := q.ev.handle(ctx, q.data, nil)
			if err := writeEventEnvelope(&buf.Buffer, buf.enc, q.id, q.event, status, body, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzScanMessage checks the event envelope's scanner against
// encoding/json, directly: what scanMessage accepts is valid JSON, and
// readMessage finds the members encoding/json finds, or fails where it
// fails. (FuzzRouter checks the whole reply over a connection, much more
// slowly.)
//
//	go test -run '^$' -fuzz '^FuzzScanMessage$' -fuzztime 5m
func FuzzScanMessage(f *testing.F) {
	for _, s := range []string{
		`{"event":"chat.send","id":"7","data":{"message":"Hi","user":"ana"}}`,
		`{"event":"a","id":-1.5e+3,"data":[1,true,null,{"x":"\u00e9\n"}]}`,
		` { "data" : { } , "event" : "a\"b" , "x" : [ ] , "data" : 0 } `,
		`{"\u0065vent":"a"}`,
		`{"event":"a","id":01}`,
		`{"event":"a","data":"` + "\x01" + `"}`,
		`{"event":"a","data":"\x"}`,
		`{"event":"a"} x`,
		`[]`, `null`, `"s"`, ``,
		`{"data":"12345678\"12345678\\12345678` + "\xff\xfe" + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		if _, ok := scanMessage(msg); ok && !json.Valid(msg) {
			t.Fatalf("scanMessage accepts invalid JSON %q", msg)
		}
		m, list := readMessage(msg)
		var members map[string]json.RawMessage
		err := json.Unmarshal(msg, &members)
		if err != nil || members == nil {
			if list == nil {
				t.Fatalf("%q: no errorList; encoding/json: %v", msg, err)
			}
			return
		}
		if list != nil {
			t.Fatalf("%q: errorList %v for a JSON object", msg, list)
		}
		for name, got := range map[string][]byte{"event": m.event, "id": m.id, "data": m.data} {
			if want := members[name]; !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("%q: %s is %q, want %q", msg, name, got, want)
			}
		}
	})
}
