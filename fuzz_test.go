package ws_test

// Fuzz targets for everything that parses what a client sends: the
// Callback path (decode → validate → envelope), ReceiveJSON, and raw frames.
// The seed corpus is in testdata/fuzz/<FuzzName>/; run one with
//
//	go test -run '^$' -fuzz '^FuzzCallback$' -parallel 1 -fuzztime 10m

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
	"github.com/go-playground/validator/v10"
)

// fuzzReq reaches every shape the 400 mapping knows: nested structs,
// slices of slices, maps keyed by strings and integers, pointers, an
// embedded struct, a recursive field, times and the common validate tags.
type fuzzReq struct {
	fuzzEmbedded
	Name   string             `json:"name" validate:"required,min=2,max=20"`
	Age    int                `json:"age" validate:"gte=0,lte=150"`
	Small  uint8              `json:"small"`
	Email  string             `json:"email" validate:"omitempty,email"`
	Role   string             `json:"role" validate:"omitempty,oneof=admin user 'power user'"`
	Score  *float64           `json:"score" validate:"omitempty,gt=0"`
	Items  []relItem          `json:"items" validate:"max=50,dive"`
	Matrix [][]int8           `json:"matrix"`
	Tags   map[string]relItem `json:"tags" validate:"dive"`
	ByID   map[int]relItem    `json:"by_id" validate:"dive"`
	Flags  [3]bool            `json:"flags"`
	When   time.Time          `json:"when"`
	Child  *fuzzReq           `json:"child"`
	Any    any                `json:"any"`
	Hidden string             `json:"-"`
}

type fuzzEmbedded struct {
	Note string `json:"note" validate:"max=10"`
}

// fuzzValidate is validation as the package's default does it, to predict
// each reply.
var fuzzValidate = validator.New(validator.WithRequiredStructEnabled())

// fuzzConn is one client connection reused across fuzz inputs, and
// reopened when an input closes it.
type fuzzConn struct {
	url  string
	opts *websocket.DialOptions // nil: the defaults
	c    *websocket.Conn
}

func (fc *fuzzConn) get(t *testing.T) *websocket.Conn {
	if fc.c == nil {
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		c, _, err := websocket.Dial(ctx, fc.url, fc.opts)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		c.SetReadLimit(-1)
		fc.c = c
	}
	return fc.c
}

func (fc *fuzzConn) drop() {
	if fc.c != nil {
		fc.c.CloseNow()
		fc.c = nil
	}
}

// send writes msg and reads what comes back: a reply, or the close.
func (fc *fuzzConn) send(t *testing.T, typ websocket.MessageType, msg []byte) ([]byte, error) {
	c := fc.get(t)
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	if err := c.Write(ctx, typ, msg); err != nil {
		fc.drop()
		return nil, err
	}
	rtyp, data, err := c.Read(ctx)
	if err != nil {
		fc.drop()
		return nil, err
	}
	if rtyp != websocket.MessageText {
		t.Fatalf("reply is a %v frame", rtyp)
	}
	return data, nil
}

// fuzzSeeds are inputs for both JSON targets.
var fuzzSeeds = []string{
	`{"name":"Ana","age":30}`,
	`{"name":"Ana","age":30,"email":"ana@example.com","role":"power user","score":1.5,"note":"hi"}`,
	`{"name":"A","age":-1,"email":"x","role":"root","score":-2,"note":"far too long a note"}`,
	`{"name":"Ana","items":[{"name":"ok"},{"name":"x"},{}],"tags":{"a b":{"name":""},"]x.":{}},"by_id":{"7":{}}}`,
	`{"name":"Ana","matrix":[[1,2],[3,300]],"flags":[true,false,true,true]}`,
	`{"name":"Ana","when":"2024-02-30T00:00:00Z"}`,
	`{"name":"Ana","when":"2024-01-02T03:04:05+01:00","child":{"name":"B","child":{"age":"x"}}}`,
	`{"name":5,"age":"5","small":256,"items":{},"tags":[],"by_id":{"x":{}}}`,
	`{"name":"Ana","age":1e400,"score":1e999}`,
	`{"name":"Ana","age":99999999999999999999,"small":-1}`,
	`{"name":"Ana","any":[{"deep":[[[]]]}]}`,
	`{"name":"Ana"`,
	`{"name":"Ana"} trailing`,
	`[1,2,3]`,
	`"text"`,
	`null`,
	`true`,
	``,
	`   `,
	`{"name":"caf\u00e9 \ud83d\ude00","note":"\u0000"}`,
	"{\"name\":\"caf\xe9\"}",
	`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
}

// checkErrorList checks a 400 body: a non-empty errorList whose entries
// have loc (a list of strings and integers), type and msg, and no
// internals in type or msg.
func checkErrorList(t *testing.T, body json.RawMessage) {
	t.Helper()
	var list struct {
		ErrorList []map[string]json.RawMessage `json:"errorList"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&list); err != nil || len(list.ErrorList) == 0 {
		t.Fatalf("400 body is not an errorList: %s (%v)", body, err)
	}
	for _, e := range list.ErrorList {
		if len(e) != 3 {
			t.Fatalf("errorList entry with keys other than loc, type and msg: %s", body)
		}
		var loc []any
		d := json.NewDecoder(bytes.NewReader(e["loc"]))
		d.UseNumber()
		if err := d.Decode(&loc); err != nil || loc == nil {
			t.Fatalf("loc %s is not a list: %s", e["loc"], body)
		}
		for _, l := range loc {
			switch l := l.(type) {
			case string:
			case json.Number:
				if _, err := l.Int64(); err != nil {
					t.Fatalf("loc entry %v is not an integer: %s", l, body)
				}
			default:
				t.Fatalf("loc entry %v is neither a string nor an integer: %s", l, body)
			}
		}
		var typ, msg string
		if json.Unmarshal(e["type"], &typ) != nil || json.Unmarshal(e["msg"], &msg) != nil || typ == "" || msg == "" {
			t.Fatalf("errorList entry without type or msg: %s", body)
		}
		relNoLeak(t, "type", typ)
		relNoLeak(t, "msg", msg)
	}
}

// checkReply checks the envelope replying to msg against what decoding and
// validating msg here predicts.
func checkReply(t *testing.T, msg, reply []byte) {
	t.Helper()
	if !utf8.Valid(reply) || !json.Valid(reply) {
		t.Fatalf("reply is not valid UTF-8 JSON: %q", reply)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(reply, &env); err != nil || len(env) != 2 || env["statusCode"] == nil || env["body"] == nil {
		t.Fatalf("reply is not an envelope: %s", reply)
	}
	var status int
	json.Unmarshal(env["statusCode"], &status)

	var want fuzzReq
	decodeErr := json.Unmarshal(msg, &want)
	valid := decodeErr == nil && strings.TrimSpace(string(msg)) != "null" && fuzzValidate.Struct(&want) == nil
	switch status {
	case 200:
		if !valid {
			t.Fatalf("200 for an invalid message %q: %s", msg, reply)
		}
		wantBody, err := json.Marshal(want)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !bytes.Equal(env["body"], wantBody) {
			t.Fatalf("body %s, want %s", env["body"], wantBody)
		}
	case 400:
		if valid {
			t.Fatalf("400 for a valid message %q: %s", msg, reply)
		}
		checkErrorList(t, env["body"])
	default:
		t.Fatalf("status %d: %s", status, reply)
	}
}

func FuzzCallback(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"name":"Ana"}`), true)
	f.Add([]byte{0xff, 0x00, 0x7b}, true)

	p := newRelProbe(f)
	srv := relServer(f, p, func(ctx context.Context, in fuzzReq) (fuzzReq, error) { return in, nil })
	fc := &fuzzConn{url: srv}
	f.Cleanup(fc.drop)

	f.Fuzz(func(t *testing.T, msg []byte, binary bool) {
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		reply, err := fc.send(t, typ, msg)
		switch {
		case len(msg) > 32<<10:
			if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Fatalf("message of %d bytes: %v, want close 1009", len(msg), err)
			}
		case !binary && !utf8.Valid(msg):
			if websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData {
				t.Fatalf("invalid UTF-8 text: %v, want close 1007", err)
			}
		case err != nil:
			t.Fatalf("no reply: %v", err)
		default:
			checkReply(t, msg, reply)
		}
	})
}

// FuzzReceiveJSON fuzzes the traditional method's decoding: ReceiveJSON
// returns an ErrorList exactly when the message does not decode, and the
// connection goes on.
func FuzzReceiveJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	p := newRelProbe(f)
	h := ws.Handler(func(ctx context.Context, c *ws.Conn) error {
		for {
			var v fuzzReq
			err := c.ReceiveJSON(ctx, &v)
			var list ws.ErrorList
			switch {
			case errors.As(err, &list):
				err = c.SendJSON(ctx, map[string]any{"statusCode": 400, "body": list})
			case err != nil:
				return err
			default:
				err = c.SendJSON(ctx, map[string]any{"statusCode": 200, "body": v})
			}
			if err != nil {
				return err
			}
		}
	}, ws.WithGroup(&p.group))
	srv := relServerFor(f, h)
	fc := &fuzzConn{url: srv}
	f.Cleanup(fc.drop)

	f.Fuzz(func(t *testing.T, msg []byte) {
		reply, err := fc.send(t, websocket.MessageBinary, msg)
		if len(msg) > 32<<10 {
			if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Fatalf("message of %d bytes: %v, want close 1009", len(msg), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("no reply: %v", err)
		}
		var env struct {
			StatusCode int
			Body       json.RawMessage
		}
		if err := json.Unmarshal(reply, &env); err != nil {
			t.Fatalf("reply %q: %v", reply, err)
		}
		var want fuzzReq
		decodeErr := json.Unmarshal(msg, &want)
		switch {
		case decodeErr == nil && env.StatusCode == 200:
			var got fuzzReq
			json.Unmarshal(env.Body, &got)
			wantBody, _ := json.Marshal(want)
			gotBody, _ := json.Marshal(got)
			if !bytes.Equal(wantBody, gotBody) {
				t.Fatalf("decoded %s, want %s", gotBody, wantBody)
			}
		case decodeErr != nil && env.StatusCode == 400:
			checkErrorList(t, env.Body)
		default:
			t.Fatalf("message %q: status %d (%s), json.Unmarshal says %v", msg, env.StatusCode, env.Body, decodeErr)
		}
	})
}

// FuzzFrames writes arbitrary bytes after a hand-made upgrade. Whatever
// they are, the server answers with well-formed frames only, closes with a
// status valid on the wire, and runs onDisconnect exactly once.
func FuzzFrames(f *testing.F) {
	for _, seed := range frameSeeds() {
		f.Add(seed)
	}
	// onDisconnect reports each connection by its client's address.
	type ended struct {
		client string
		err    error
	}
	disconnects := make(chan ended, 16)
	var g ws.Group
	url := relServerFor(f, ws.Callback(nil, relEcho, func(ctx context.Context, c *ws.Conn, err error) {
		disconnects <- ended{c.Request().RemoteAddr, err}
	}, ws.WithGroup(&g), ws.WithReadLimit(4096)))
	f.Cleanup(func() { g.Shutdown(context.Background()) })

	// The server closes with 1002, 1007 or 1009 itself, and echoes a
	// client's close: any code valid on the wire.
	allowed := func(code int) bool {
		return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006 || code >= 3000 && code <= 4999
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rc := rawDial(t, url)
		client := rc.nc.LocalAddr().String()
		go func() {
			rc.nc.Write(data)
			// Then the client sends nothing more: the server reads EOF.
			rc.nc.(interface{ CloseWrite() error }).CloseWrite()
		}()
		for {
			fr, err := rc.readFrame()
			if errors.Is(err, errServerMasked) {
				t.Fatal(err)
			}
			if err != nil {
				break // the server hung up
			}
			switch fr.op {
			case opText:
				if !fr.fin || !json.Valid(fr.payload) {
					t.Fatalf("reply is not one whole JSON text frame: %q", fr.payload)
				}
				var env ws.StatusEnvelope[json.RawMessage]
				json.Unmarshal(fr.payload, &env)
				if env.StatusCode != 200 && env.StatusCode != 400 {
					t.Fatalf("reply %s", fr.payload)
				}
				if env.StatusCode == 400 {
					checkErrorList(t, env.Body)
				}
			case opPong:
			case opClose:
				code := -1
				if len(fr.payload) >= 2 {
					code = int(fr.payload[0])<<8 | int(fr.payload[1])
				}
				if len(fr.payload) > 0 && !allowed(code) {
					t.Fatalf("close code %d (%q)", code, fr.payload)
				}
				relNoLeak(t, "close reason", string(fr.payload[min(2, len(fr.payload)):]))
			default:
				t.Fatalf("server sent opcode %d", fr.op)
			}
		}
		rc.nc.Close()
		// onDisconnect runs for this connection, and for no other.
		select {
		case d := <-disconnects:
			if d.client != client {
				t.Fatalf("onDisconnect for %s (%v) while %s was the only connection", d.client, d.err, client)
			}
			if d.err == nil {
				t.Fatal("onDisconnect got a nil error")
			}
		case <-time.After(relTimeout):
			t.Fatal("onDisconnect did not run")
		}
		select {
		case d := <-disconnects:
			t.Fatalf("a second onDisconnect, for %s (%v); this connection was %s", d.client, d.err, client)
		default:
		}
	})
}

// relServer serves a Callback with the probe's callbacks and group and
// returns its URL.
func relServer[Req, Resp any](tb testing.TB, p *relProbe, receive func(context.Context, Req) (Resp, error), opts ...ws.CallbackOption) string {
	tb.Helper()
	opts = append([]ws.CallbackOption{ws.WithGroup(&p.group)}, opts...)
	return relServerFor(tb, ws.Callback(p.onConnect, receive, p.onDisconnect, opts...))
}

// frameSeeds are FuzzFrames' seeds: frames masked with a zero key, which
// leaves their payloads readable so that mutations stay meaningful, and a
// few that break the rules.
func frameSeeds() [][]byte {
	masked := func(fs ...rawFrame) []byte {
		var b []byte
		for _, fr := range fs {
			fr.masked, fr.zeroKey = true, true
			b = append(b, fr.bytes()...)
		}
		return b
	}
	return [][]byte{
		masked(rawFrame{fin: true, op: opText, payload: []byte(`{"id":1,"text":"a"}`)}),
		masked(rawFrame{fin: true, op: opBinary, payload: []byte(`{"id":1,"text":"a"}`)}),
		masked(rawFrame{fin: false, op: opText, payload: []byte(`{"id":1,`)}, rawFrame{fin: true, op: opPing, payload: []byte("p")}, rawFrame{fin: true, op: opContinuation, payload: []byte(`"text":"a"}`)}),
		masked(rawFrame{fin: true, op: opPing, payload: []byte("hello")}, rawFrame{fin: true, op: opPong}),
		masked(rawFrame{fin: true, op: opText, payload: []byte(`{"id":1,"text":"a"}`)}, rawFrame{fin: true, op: opText, payload: []byte(`{"text":5}`)}, rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xe8}}),
		masked(rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xe8, 'b', 'y', 'e'}}),
		masked(rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xed}}),
		masked(rawFrame{fin: true, op: opClose}),
		masked(rawFrame{fin: true, op: opText, payload: []byte("\xff\xfe")}),
		masked(rawFrame{fin: true, op: opText, payload: bytes.Repeat([]byte("a"), 200)}),
		masked(rawFrame{fin: true, op: 0x3, payload: []byte("x")}),
		masked(rawFrame{fin: true, rsv: 0x40, op: opText, payload: []byte("{}")}),
		masked(rawFrame{fin: true, op: opContinuation, payload: []byte("{}")}),
		rawFrame{fin: true, op: opText, payload: []byte(`{"text":"a"}`)}.bytes(),
		rawFrame{fin: true, op: opText, length: 1 << 40}.header(),
		{},
	}
}

// relServerFor serves h on a test server and returns its URL.
func relServerFor(tb testing.TB, h http.Handler) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL
}
