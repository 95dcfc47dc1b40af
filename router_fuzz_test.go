package ws_test

// FuzzRouter fuzzes the Router's event envelope over a real connection and
// predicts every reply with encoding/json and a ws.Callback of the same
// request type. The seed corpus is in testdata/fuzz/FuzzRouter/; run it with
//
//	go test -run '^$' -fuzz '^FuzzRouter$' -parallel 1 -fuzztime 10m -fuzzminimizetime 200x
//
// (Each input is a network round trip: minimizing a new input for the
// default 60 s stalls the run; 200 tries is plenty.)

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

var routerSeeds = []string{
	`{"event":"echo","id":"7","data":{"name":"Ana","age":30}}`,
	`{"event":"echo","id":7,"data":{"name":"A","age":-1}}`,
	`{"event":"echo","data":{"name":"Ana"}}`,
	`{"event":"echo","id":-0.5e-7}`,
	`{"event":"echo","id":"\u0041\n","data":{"name":"Ana"},"data":null}`,
	`{"\u0065vent":"ech\u006f","id":"x","data":{"name":"Ana"}}`,
	`{"event":"w","id":"s","data":{"name":"Ana"}}`,
	`{"event":"w","data":{"name":"Ana"}}`,
	`{"event":"w","id":[],"data":{}}`,
	`{"event":"$cancel","id":"s"}`,
	`{"event":"$cancel"}`,
	`{"event":"nope","id":true}`,
	`{"event":null}`,
	`{"event":"echo","id":{},"data":5}`,
	`{"event":"echo","x":[1,2,{"a":[true,false,null]}],"data":{"name":"Ana"}}`,
	`{"event":"echo","data":{"name":"Ana"}} x`,
	`{"event":"echo","data":{"name":"Ana"`,
	`{"event":"echo","data":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"event":"echo","id":01}`,
	`{"event":"echo","id":1.}`,
	`{"event":"echo","id":"\x"}`,
	`[{"event":"echo"}]`,
	`null`,
	``,
}

func FuzzRouter(f *testing.F) {
	for _, s := range routerSeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("{\"event\":\"echo\",\"id\":\"\xff\",\"data\":{\"name\":\"Ana\"}}"), true)
	f.Add([]byte("{\"ev\xffent\":\"echo\",\"data\":{\"name\":\"caf\xe9\"}}"), true)
	f.Add([]byte("{\"event\":\"ech\xff\",\"id\":1}"), true)
	f.Add([]byte(`{"event":"echo","id":"`+strings.Repeat("x", 127)+`"}`), false)
	f.Add([]byte(`{"event":"w","id":"\ud800","data":{"name":"Ana"}}`), false)

	p := newRelProbe(f)
	r := ws.NewRouter(ws.WithGroup(&p.group))
	ws.On(r, "echo", func(ctx context.Context, in fuzzReq) (fuzzReq, error) { return in, nil })
	ws.Stream(r, "w", func(ctx context.Context, in fuzzReq, send func(int) error) error { return send(1) })
	rc := &fuzzConn{url: relServerFor(f, r)}
	f.Cleanup(rc.drop)
	// The reference: the same request type through ws.Callback.
	cc := &fuzzConn{url: relServer(f, p, func(ctx context.Context, in fuzzReq) (fuzzReq, error) { return in, nil })}
	f.Cleanup(cc.drop)

	f.Fuzz(func(t *testing.T, msg []byte, binary bool) {
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		want := predictRouter(t, cc, typ, msg)
		c := rc.get(t)
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		if err := c.Write(ctx, typ, msg); err != nil {
			rc.drop()
			t.Fatalf("write: %v", err)
		}
		if want == nil {
			// No reply: the next frame answers a probe.
			probe := `{"event":"echo","id":"probe","data":{"name":"Ana"}}`
			if err := c.Write(ctx, websocket.MessageText, []byte(probe)); err != nil {
				rc.drop()
				t.Fatalf("write: %v", err)
			}
			want = []string{`{"id":"probe","event":"echo","statusCode":200,"body":` + string(mustJSON(t, fuzzReq{Name: "Ana"})) + `}`}
		}
		for _, w := range want {
			_, got, err := c.Read(ctx)
			switch {
			case len(msg) > 32<<10:
				if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
					t.Fatalf("message of %d bytes: %v, want close 1009", len(msg), err)
				}
				rc.drop()
				return
			case !binary && !utf8.Valid(msg):
				if websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData {
					t.Fatalf("invalid UTF-8 text: %v, want close 1007", err)
				}
				rc.drop()
				return
			case err != nil:
				rc.drop()
				t.Fatalf("no reply to %q: %v", msg, err)
			}
			if !utf8.Valid(got) || !json.Valid(got) {
				t.Fatalf("reply to %q is not valid UTF-8 JSON: %q", msg, got)
			}
			sameReply(t, "reply to "+string(msg), string(got), w)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// predictRouter returns the frames the Router must send for msg, nil for
// none; cc, a Callback of the same request type, words the replies to
// data. It returns one unused entry for messages that close the
// connection.
func predictRouter(t *testing.T, cc *fuzzConn, typ websocket.MessageType, msg []byte) []string {
	if len(msg) > 32<<10 || typ == websocket.MessageText && !utf8.Valid(msg) {
		return []string{""}
	}
	callback := func(data []byte) []byte {
		reply, err := cc.send(t, typ, data)
		if err != nil {
			t.Fatalf("Callback: no reply to %q: %v", data, err)
		}
		return reply
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(msg, &members); err != nil || members == nil {
		// Not an object: Callback's reply, as for any struct type.
		return []string{string(callback(msg))}
	}
	var errs []ws.ErrorDetail
	var event []byte
	var name string
	known := false
	if ev := members["event"]; len(ev) == 0 || ev[0] != '"' || json.Unmarshal(ev, &name) != nil {
		errs = append(errs, ws.ErrorDetail{Loc: []any{"event"}, Type: "union_tag_not_found", Msg: "Unable to extract tag using discriminator 'event'"})
	} else {
		event = mustJSON(t, name)
		known = name == "echo" || name == "w" || name == "$cancel"
		if !known {
			errs = append(errs, ws.ErrorDetail{Loc: []any{"event"}, Type: "union_tag_invalid",
				Msg: "Input tag '" + name + "' found using 'event' does not match any of the expected tags: 'echo', 'w'"})
		}
	}
	id := []byte(members["id"])
	switch {
	case id == nil:
		if known && name != "echo" {
			errs = append(errs, ws.ErrorDetail{Loc: []any{"id"}, Type: "missing", Msg: "Field required"})
		}
	case len(id) > 128:
		errs = append(errs, ws.ErrorDetail{Loc: []any{"id"}, Type: "id_too_long", Msg: "Id should have at most 128 bytes, as written in the message"})
		id = nil
	case id[0] == '"' && !utf8.Valid(id):
		errs = append(errs, ws.ErrorDetail{Loc: []any{"id"}, Type: "string_unicode", Msg: "Input should be a valid string, unable to parse raw data as a unicode string"})
		id = nil
	case id[0] == '"' || id[0] == '-' || '0' <= id[0] && id[0] <= '9':
	default:
		errs = append(errs, ws.ErrorDetail{Loc: []any{"id"}, Type: "id_type", Msg: "Input should be a valid string or number"})
		id = nil
	}
	head := func() string {
		var b bytes.Buffer
		b.WriteByte('{')
		if id != nil {
			b.WriteString(`"id":`)
			b.Write(id)
			b.WriteByte(',')
		}
		if event != nil {
			b.WriteString(`"event":`)
			b.Write(event)
			b.WriteByte(',')
		}
		return b.String()
	}
	if errs != nil {
		body := mustJSON(t, ws.ErrorList{Errors: errs})
		return []string{head() + `"statusCode":400,"body":` + string(body) + `}`}
	}
	if name == "$cancel" {
		return nil
	}
	data := []byte(members["data"])
	if data == nil {
		data = []byte("{}")
	}
	reply := callback(data)
	if name == "w" && bytes.HasPrefix(reply, []byte(`{"statusCode":200,`)) {
		return []string{
			head() + `"statusCode":200,"body":1,"more":true}`,
			head() + `"statusCode":200,"body":null}`,
		}
	}
	return []string{head() + string(reply[1:])}
}
