package ws_test

// The Router's wire (docs/protocol.md), line by line, against a real
// server and a real client.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

type SendRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

type ChatMessage struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

type HistoryRequest struct {
	Limit int `json:"limit" validate:"gte=0,lte=100"`
}

type WatchRequest struct {
	Count int    `json:"count" validate:"gte=0"`
	Fail  string `json:"fail"` // how the stream ends: "", "error", "status", "panic", "wait"
}

// rtChat is the chat the Router tests serve.
type rtChat struct {
	connects, disconnects atomic.Int32
	ended                 chan error    // onDisconnect's err
	watching              chan struct{} // a "wait" stream has started
	watchErr              chan error    // what a "wait" stream's send returned after its ctx was done
	streamsDone           atomic.Int32  // streams whose function has returned
	streamsAtDisconnect   atomic.Int32
}

func newRtChat() *rtChat {
	return &rtChat{ended: make(chan error, 1), watching: make(chan struct{}, 16), watchErr: make(chan error, 16)}
}

func (ch *rtChat) Send(ctx context.Context, in SendRequest) (ChatMessage, error) {
	switch in.Message {
	case "panic":
		panic("send exploded")
	case "fail":
		return ChatMessage{}, errors.New("database is down")
	case "forbidden":
		return ChatMessage{}, ws.Forbidden(map[string]string{"reason": "muted"})
	case "push":
		conn := ws.ConnFromContext(ctx)
		if err := conn.SendJSON(ctx, ws.Push("chat.message", ChatMessage(in))); err != nil {
			return ChatMessage{}, err
		}
	}
	return ChatMessage(in), nil
}

func (ch *rtChat) History(ctx context.Context, in HistoryRequest) ([]ChatMessage, error) {
	out := []ChatMessage{}
	for i := range in.Limit {
		out = append(out, ChatMessage{Message: fmt.Sprint(i), User: "history"})
	}
	return out, nil
}

func (ch *rtChat) Create(ctx context.Context, in SendRequest) (ws.StatusEnvelope[ChatMessage], error) {
	return ws.Created(ChatMessage(in)), nil
}

func (ch *rtChat) Watch(ctx context.Context, in WatchRequest, send func(ChatMessage) error) error {
	defer ch.streamsDone.Add(1)
	for i := range in.Count {
		if err := send(ChatMessage{Message: fmt.Sprint(i), User: "watch"}); err != nil {
			return err
		}
	}
	switch in.Fail {
	case "error":
		return errors.New("feed broke")
	case "status":
		return ws.NotFound("no such room")
	case "panic":
		panic("watch exploded")
	case "wait":
		ch.watching <- struct{}{}
		<-ctx.Done()
		ch.watchErr <- send(ChatMessage{Message: "after", User: "watch"})
		// Returned after a $cancel, this error must not reach the client.
		return errors.New("stopped")
	}
	return nil
}

func (ch *rtChat) Connect(ctx context.Context, conn *ws.Conn) error {
	ch.connects.Add(1)
	return nil
}

func (ch *rtChat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {
	ch.disconnects.Add(1)
	ch.streamsAtDisconnect.Store(ch.streamsDone.Load())
	ch.ended <- err
}

// newRtRouter returns the chat's Router with the given options.
func newRtRouter(ch *rtChat, opts ...ws.RouterOption) *ws.Router {
	r := ws.NewRouter(opts...)
	ws.On(r, "chat.send", ch.Send)
	ws.On(r, "chat.history", ch.History)
	ws.Stream(r, "chat.watch", ch.Watch)
	ws.On(r, "chat.create", ch.Create)
	ws.Emits[ChatMessage](r, "chat.message")
	r.OnConnect(ch.Connect)
	r.OnDisconnect(ch.Disconnect)
	return r
}

const rtExpected = "'chat.send', 'chat.history', 'chat.watch', 'chat.create'"

// exchange sends each message and checks the replies, whole, in order.
func exchange(t *testing.T, c *websocket.Conn, pairs ...string) {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		equal(t, "reply to "+pairs[i], roundTrip(t, c, pairs[i]), pairs[i+1])
	}
}

func TestRouterRequests(t *testing.T) {
	t.Parallel()
	ch := newRtChat()
	c := dial(t, newRtRouter(ch))
	exchange(t, c,
		// A string id, a number id, escapes and exponents: echoed as sent.
		`{"event":"chat.send","id":"7","data":{"message":"Hi","user":"ana"}}`,
		`{"id":"7","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		`{"event":"chat.send","id":7,"data":{"message":"Hi","user":"ana"}}`,
		`{"id":7,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		`{"id":-1.5e+3,"event":"chat.send","data":{"message":"Hi","user":"ana"}}`,
		`{"id":-1.5e+3,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		`{"data":{"message":"Hi","user":"ana"},"id":"a\u00e9\"b","event":"chat.send"}`,
		`{"id":"a\u00e9\"b","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		// No id: none in the reply.
		` { "event" : "chat.send" , "data" : { "message" : "Hi" , "user" : "ana" } } `,
		`{"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		// Other members are ignored; a member given twice counts with its last value.
		`{"event":"chat.history","x":[1,{"y":null}],"data":{"limit":9},"data":{"limit":2},"id":"h"}`,
		`{"id":"h","event":"chat.history","statusCode":200,"body":[{"message":"0","user":"history"},{"message":"1","user":"history"}]}`,
		// An escaped member name or event name means the same.
		`{"\u0065vent":"chat.s\u0065nd","id":1,"data":{"message":"Hi","user":"ana"}}`,
		`{"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		// An absent data counts as {}.
		`{"event":"chat.history","id":"e"}`,
		`{"id":"e","event":"chat.history","statusCode":200,"body":[]}`,
		// Envelopes and errors as Callback's.
		`{"event":"chat.create","id":"c","data":{"message":"Hi","user":"ana"}}`,
		`{"id":"c","event":"chat.create","statusCode":201,"body":{"message":"Hi","user":"ana"}}`,
		`{"event":"chat.send","id":"f","data":{"message":"forbidden","user":"ana"}}`,
		`{"id":"f","event":"chat.send","statusCode":403,"body":{"reason":"muted"}}`,
		`{"event":"chat.send","id":"x","data":{"message":"fail","user":"ana"}}`,
		`{"id":"x","event":"chat.send","statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`,
		`{"event":"chat.send","id":"p","data":{"message":"panic","user":"ana"}}`,
		`{"id":"p","event":"chat.send","statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`,
		// The connection went on.
		`{"event":"chat.send","id":"z","data":{"message":"still here","user":"ana"}}`,
		`{"id":"z","event":"chat.send","statusCode":200,"body":{"message":"still here","user":"ana"}}`,
	)
	c.Close(websocket.StatusNormalClosure, "")
	equal(t, "close status seen by onDisconnect", websocket.CloseStatus(<-ch.ended), websocket.StatusNormalClosure)
	equal(t, "connects", ch.connects.Load(), 1)
	equal(t, "disconnects", ch.disconnects.Load(), 1)
}

func TestRouterRepliesInOrder(t *testing.T) {
	t.Parallel()
	c := dial(t, newRtRouter(newRtChat()))
	const n = 50
	for i := range n {
		if i%2 == 0 {
			send(t, c, fmt.Sprintf(`{"event":"chat.send","id":%d,"data":{"message":"m%d","user":"u"}}`, i, i))
		} else {
			send(t, c, fmt.Sprintf(`{"event":"chat.history","id":%d,"data":{"limit":1}}`, i))
		}
	}
	for i := range n {
		want := fmt.Sprintf(`{"id":%d,"event":"chat.send","statusCode":200,"body":{"message":"m%d","user":"u"}}`, i, i)
		if i%2 == 1 {
			want = fmt.Sprintf(`{"id":%d,"event":"chat.history","statusCode":200,"body":[{"message":"0","user":"history"}]}`, i)
		}
		equal(t, "reply", recv(t, c), want)
	}
}

// The envelope's own errors: event, id, not JSON, not an object.
func TestRouterEnvelopeErrors(t *testing.T) {
	t.Parallel()
	c := dial(t, newRtRouter(newRtChat()))
	const (
		notFound = `{"loc":["event"],"type":"union_tag_not_found","msg":"Unable to extract tag using discriminator 'event'"}`
		idType   = `{"loc":["id"],"type":"id_type","msg":"Input should be a valid string or number"}`
		idMissed = `{"loc":["id"],"type":"missing","msg":"Field required"}`
	)
	invalid := func(tag string) string {
		return `{"loc":["event"],"type":"union_tag_invalid","msg":"Input tag '` + tag + `' found using 'event' does not match any of the expected tags: ` + rtExpected + `"}`
	}
	bad := func(head, errs string) string {
		return `{` + head + `"statusCode":400,"body":{"errorList":[` + errs + `]}}`
	}
	exchange(t, c,
		`{"id":"1","data":{}}`, bad(`"id":"1",`, notFound),
		`{"event":null,"id":2}`, bad(`"id":2,`, notFound),
		`{"event":7}`, bad(``, notFound),
		`{"event":["chat.send"]}`, bad(``, notFound),
		`{}`, bad(``, notFound),
		`{"event":"chat.sned","id":"3","data":{}}`, bad(`"id":"3","event":"chat.sned",`, invalid("chat.sned")),
		`{"event":"Chat.Send"}`, bad(`"event":"Chat.Send",`, invalid("Chat.Send")),
		`{"event":"$other","id":4}`, bad(`"id":4,"event":"$other",`, invalid("$other")),
		`{"event":""}`, bad(`"event":"",`, invalid("")),
		// Member names are case-sensitive.
		`{"Event":"chat.send","data":{"message":"Hi","user":"ana"}}`, bad(``, notFound),
		// An id that is neither a string nor a number, not echoed.
		`{"event":"chat.send","id":{"n":1},"data":{"message":"Hi","user":"ana"}}`, bad(`"event":"chat.send",`, idType),
		`{"event":"chat.send","id":[1],"data":{"message":"Hi","user":"ana"}}`, bad(`"event":"chat.send",`, idType),
		`{"event":"chat.send","id":true,"data":{"message":"Hi","user":"ana"}}`, bad(`"event":"chat.send",`, idType),
		`{"event":"chat.send","id":null,"data":{"message":"Hi","user":"ana"}}`, bad(`"event":"chat.send",`, idType),
		// Both at once: event first.
		`{"event":5,"id":null}`, bad(``, notFound+","+idType),
		`{"event":"nope","id":false}`, bad(`"event":"nope",`, invalid("nope")+","+idType),
		// A stream needs an id.
		`{"event":"chat.watch","data":{"count":1}}`, bad(`"event":"chat.watch",`, idMissed),
		`{"event":"$cancel"}`, bad(`"event":"$cancel",`, idMissed),
	)
	// Not JSON, or not an object: Callback's replies, without event or id.
	cb := dial(t, ws.Callback(nil, func(ctx context.Context, in SendRequest) (ChatMessage, error) { return ChatMessage(in), nil }, nil))
	for _, msg := range []string{
		`{"event":"chat.send"`,
		`{"event":"chat.send"} x`,
		`{"event":"chat.send","data":{"message":"Hi",}}`,
		`{"event":"chat.send","id":01}`,
		`{"event":"chat.send","data":tru}`,
		`{"event":"chat.send","data":"\x"}`,
		"{\"event\":\"chat.send\",\"data\":\"a\tb\"}",
		`[{"event":"chat.send"}]`,
		`"chat.send"`,
		`12`,
		`null`,
		``,
		` `,
	} {
		want := roundTrip(t, cb, msg)
		if !strings.HasPrefix(want, `{"statusCode":400,`) {
			t.Fatalf("Callback's reply to %q is no 400: %s", msg, want)
		}
		equal(t, "reply to "+msg, roundTrip(t, c, msg), want)
	}
	exchange(t, c,
		`{"event":"chat.send","id":"ok","data":{"message":"Hi","user":"ana"}}`,
		`{"id":"ok","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
	)
}

// An id in a binary frame that is not valid UTF-8 cannot be echoed.
func TestRouterBinaryID(t *testing.T) {
	t.Parallel()
	c := dial(t, newRtRouter(newRtChat()))
	ctx := context.Background()
	msg := []byte("{\"event\":\"chat.send\",\"id\":\"\xff\",\"data\":{\"message\":\"Hi\",\"user\":\"ana\"}}")
	if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	equal(t, "reply", recv(t, c), `{"event":"chat.send","statusCode":400,"body":{"errorList":[{"loc":["id"],"type":"string_unicode","msg":"Input should be a valid string, unable to parse raw data as a unicode string"}]}}`)
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"event":"chat.send","id":"b","data":{"message":"Hi","user":"ana"}}`)); err != nil {
		t.Fatal(err)
	}
	equal(t, "reply", recv(t, c), `{"id":"b","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
}

// The data of an event gets the same 400 as the same message to a Callback
// of the same request type.
func TestRouterValidationAsCallback(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	ws.On(r, "rel", func(ctx context.Context, in relReq) (string, error) { return "ok", nil })
	ws.On(r, "fuzz", func(ctx context.Context, in fuzzReq) (string, error) { return "ok", nil })
	ws.On(r, "text", func(ctx context.Context, in string) (string, error) { return in, nil })
	c := dial(t, r)
	callbacks := map[string]*websocket.Conn{
		"rel":  dial(t, ws.Callback(nil, func(ctx context.Context, in relReq) (string, error) { return "ok", nil }, nil)),
		"fuzz": dial(t, ws.Callback(nil, func(ctx context.Context, in fuzzReq) (string, error) { return "ok", nil }, nil)),
		"text": dial(t, ws.Callback(nil, func(ctx context.Context, in string) (string, error) { return in, nil }, nil)),
	}
	datas := append([]string{
		`{}`, `null`, `[]`, `5`, `"s"`,
		`{"text":""}`, `{"text":"x","n":"y"}`, `{"text":"x","items":[{"name":"a"},{}]}`,
		`{"text":"x","tags":{"k":{"name":""}}}`, `{"id":1.5,"text":"x"}`,
	}, fuzzSeeds...)
	n := 0
	for event, cb := range callbacks {
		for _, data := range datas {
			if !json.Valid([]byte(data)) || !utf8.ValidString(data) {
				continue // the message would not be JSON, or not text
			}
			want := roundTrip(t, cb, data)
			if !strings.HasPrefix(want, `{"statusCode":`) {
				t.Fatalf("Callback's reply to %s: %s", data, want)
			}
			msg := `{"event":"` + event + `","id":1,"data":` + data + `}`
			sameReply(t, msg, roundTrip(t, c, msg), `{"id":1,"event":"`+event+`",`+want[1:])
			n++
		}
	}
	if n < 60 {
		t.Fatalf("only %d cases compared", n)
	}
}

// sameReply checks that got is want, byte for byte, or else the same JSON
// with the entries of an errorList in another order: validator walks maps
// in random order.
func sameReply(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	norm := func(s string) string {
		var v map[string]any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatalf("%s: reply is not JSON: %s", what, s)
		}
		if body, ok := v["body"].(map[string]any); ok {
			if list, ok := body["errorList"].([]any); ok {
				entries := make([]string, len(list))
				for i, e := range list {
					b, _ := json.Marshal(e)
					entries[i] = string(b)
				}
				slices.Sort(entries)
				body["errorList"] = entries
			}
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	if norm(got) != norm(want) {
		t.Fatalf("%s:\n got %s\nwant %s", what, got, want)
	}
}

func TestRouterPush(t *testing.T) {
	t.Parallel()
	h := hub.New()
	t.Cleanup(func() { h.Close() })
	var (
		conns   = make(chan *ws.Conn, 2)
		message ws.Emitter[ChatMessage]
	)
	r := ws.NewRouter()
	message = ws.Emits[ChatMessage](r, "chat.message")
	ws.Emits[string](r, "chat.send") // a push may share its name with a client event
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
		conn := ws.ConnFromContext(ctx)
		if err := h.BroadcastExcept(ctx, "lobby", conn, message.Push(ChatMessage(in))); err != nil {
			return ChatMessage{}, err
		}
		return ChatMessage(in), nil
	})
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error {
		if err := h.Join(conn, "lobby"); err != nil {
			return err
		}
		conns <- conn
		return conn.SendJSON(ctx, ws.Push("chat.message", ChatMessage{Message: "welcome", User: "System"}))
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	welcome := `{"event":"chat.message","statusCode":200,"body":{"message":"welcome","user":"System"}}`
	a := dialURL(t, srv.URL)
	equal(t, "a's welcome", recv(t, a), welcome)
	connA := <-conns
	b := dialURL(t, srv.URL)
	equal(t, "b's welcome", recv(t, b), welcome)
	<-conns
	exchange(t, a,
		`{"event":"chat.send","id":1,"data":{"message":"Hi","user":"ana"}}`,
		`{"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
	equal(t, "b's push", recv(t, b), `{"event":"chat.message","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
	equal(t, "emitter's name", message.Name(), "chat.message")

	// A push to one connection; a push without a name does not encode.
	ctx := context.Background()
	if err := connA.SendJSON(ctx, ws.Push("", 1)); err == nil {
		t.Fatal("a push without an event name was sent")
	}
	if err := connA.SendJSON(ctx, ws.Push("x.y", []int{1, 2})); err != nil {
		t.Fatal(err)
	}
	equal(t, "push", recv(t, a), `{"event":"x.y","statusCode":200,"body":[1,2]}`)
}

func TestRouterStreams(t *testing.T) {
	t.Parallel()
	ch := newRtChat()
	c := dial(t, newRtRouter(ch))
	item := func(id string, i int) string {
		return `{"id":` + id + `,"event":"chat.watch","statusCode":200,"body":{"message":"` + fmt.Sprint(i) + `","user":"watch"},"more":true}`
	}
	send(t, c, `{"event":"chat.watch","id":"w","data":{"count":3}}`)
	for i := range 3 {
		equal(t, "item", recv(t, c), item(`"w"`, i))
	}
	equal(t, "final reply", recv(t, c), `{"id":"w","event":"chat.watch","statusCode":200,"body":null}`)

	// The id may be used again once the stream has ended; errors end it
	// with their envelope.
	tests := []struct{ fail, final string }{
		{"error", `{"id":"w","event":"chat.watch","statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`},
		{"status", `{"id":"w","event":"chat.watch","statusCode":404,"body":"no such room"}`},
		{"panic", `{"id":"w","event":"chat.watch","statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`},
	}
	for _, tt := range tests {
		send(t, c, `{"event":"chat.watch","id":"w","data":{"count":1,"fail":"`+tt.fail+`"}}`)
		equal(t, "item", recv(t, c), item(`"w"`, 0))
		equal(t, "final reply", recv(t, c), tt.final)
	}
	// A stream's data is validated as a request's.
	exchange(t, c,
		`{"event":"chat.watch","id":9,"data":{"count":-1}}`,
		`{"id":9,"event":"chat.watch","statusCode":400,"body":{"errorList":[{"loc":["count"],"type":"greater_than_equal","msg":"Input should be greater than or equal to 0"}]}}`,
		`{"event":"chat.watch","id":9,"data":[]}`,
		`{"id":9,"event":"chat.watch","statusCode":400,"body":{"errorList":[{"loc":[],"type":"model_type","msg":"Input should be an object"}]}}`,
	)
}

// recvUntil reads frames until it has seen every wanted one, and fails on
// any other.
func recvAll(t *testing.T, c *websocket.Conn, want ...string) {
	t.Helper()
	left := map[string]int{}
	for _, w := range want {
		left[w]++
	}
	for range want {
		got := recv(t, c)
		if left[got] == 0 {
			t.Fatalf("unexpected frame %s; still waiting for %v", got, left)
		}
		left[got]--
	}
}

func TestRouterStreamCancel(t *testing.T) {
	t.Parallel()
	ch := newRtChat()
	c := dial(t, newRtRouter(ch))
	send(t, c, `{"event":"chat.watch","id":"s1","data":{"count":1,"fail":"wait"}}`)
	send(t, c, `{"event":"chat.watch","id":2,"data":{"count":0,"fail":"wait"}}`)
	equal(t, "item", recv(t, c), `{"id":"s1","event":"chat.watch","statusCode":200,"body":{"message":"0","user":"watch"},"more":true}`)
	<-ch.watching
	<-ch.watching
	// Streams never block requests.
	exchange(t, c,
		`{"event":"chat.send","id":"r","data":{"message":"Hi","user":"ana"}}`,
		`{"id":"r","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
		// An id in use by an open stream.
		`{"event":"chat.watch","id":"s1","data":{}}`,
		`{"id":"s1","event":"chat.watch","statusCode":400,"body":{"errorList":[{"loc":["id"],"type":"value_error","msg":"Value error, a stream with this id is open"}]}}`,
	)
	// $cancel names the stream by its id, escapes or not; it gets no
	// reply of its own, and a $cancel for no open stream is ignored.
	send(t, c, `{"event":"$cancel","id":"nothing"}`)
	send(t, c, `{"event":"$cancel","id":"\u0073\u0031"}`)
	send(t, c, `{"event":"chat.send","id":"r2","data":{"message":"Hi","user":"ana"}}`)
	recvAll(t, c,
		`{"id":"s1","event":"chat.watch","statusCode":200,"body":null}`,
		`{"id":"r2","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
	if err := <-ch.watchErr; !errors.Is(err, ws.ErrStreamCanceled) {
		t.Fatalf("send after $cancel: %v, want ErrStreamCanceled", err)
	}
	send(t, c, `{"id":2,"event":"$cancel"}`)
	equal(t, "final reply", recv(t, c), `{"id":2,"event":"chat.watch","statusCode":200,"body":null}`)
	if err := <-ch.watchErr; !errors.Is(err, ws.ErrStreamCanceled) {
		t.Fatalf("send after $cancel: %v, want ErrStreamCanceled", err)
	}
	exchange(t, c,
		`{"event":"chat.send","id":"r3","data":{"message":"Hi","user":"ana"}}`,
		`{"id":"r3","event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`)
}

func TestRouterMaxStreams(t *testing.T) {
	t.Parallel()
	ch := newRtChat()
	c := dial(t, newRtRouter(ch, ws.WithMaxStreams(2)))
	send(t, c, `{"event":"chat.watch","id":1,"data":{"fail":"wait"}}`)
	send(t, c, `{"event":"chat.watch","id":2,"data":{"fail":"wait"}}`)
	<-ch.watching
	<-ch.watching
	exchange(t, c,
		`{"event":"chat.watch","id":3,"data":{"fail":"wait"}}`,
		`{"id":3,"event":"chat.watch","statusCode":429,"body":{"errorList":[{"loc":["id"],"type":"too_many_streams","msg":"Too many streams: at most 2 may be open at once on a connection"}]}}`,
	)
	send(t, c, `{"event":"$cancel","id":1}`)
	equal(t, "final reply", recv(t, c), `{"id":1,"event":"chat.watch","statusCode":200,"body":null}`)
	// A slot is free again.
	send(t, c, `{"event":"chat.watch","id":3,"data":{"count":1}}`)
	equal(t, "item", recv(t, c), `{"id":3,"event":"chat.watch","statusCode":200,"body":{"message":"0","user":"watch"},"more":true}`)
	equal(t, "final", recv(t, c), `{"id":3,"event":"chat.watch","statusCode":200,"body":null}`)
}

// Streams end when the connection ends, and onDisconnect runs after them.
func TestRouterStreamsEndWithConnection(t *testing.T) {
	t.Parallel()
	ch := newRtChat()
	c := wstest.Dial(t, newRtRouter(ch))
	ended := make(chan error, 3)
	for range 3 {
		go func() {
			for _, err := range wsclient.Stream[ChatMessage](t.Context(), c, "chat.watch", WatchRequest{Fail: "wait"}) {
				ended <- err
			}
		}()
	}
	for range 3 {
		<-ch.watching
	}
	c.Close() // with 1000
	for range 3 {
		if err := <-ended; !errors.Is(err, wsclient.ErrClosed) {
			t.Fatalf("client's stream ended with %v, want wsclient.ErrClosed", err)
		}
	}
	err := <-ch.ended
	equal(t, "close status", websocket.CloseStatus(err), websocket.StatusNormalClosure)
	equal(t, "streams done before onDisconnect", ch.streamsAtDisconnect.Load(), 3)
	for range 3 {
		if err := <-ch.watchErr; websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Fatalf("send after the connection ended: %v, want the close", err)
		}
	}
}

// WithConcurrency lets requests overtake each other.
func TestRouterConcurrency(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	r := ws.NewRouter(ws.WithConcurrency(4))
	ws.On(r, "wait", func(ctx context.Context, in struct{}) (string, error) {
		<-release
		return "waited", nil
	})
	ws.On(r, "release", func(ctx context.Context, in struct{}) (string, error) {
		once.Do(func() { close(release) })
		return "released", nil
	})
	c := dial(t, r)
	send(t, c, `{"event":"wait","id":1}`)
	send(t, c, `{"event":"wait","id":2}`)
	send(t, c, `{"event":"release","id":3}`)
	first := recv(t, c)
	equal(t, "first reply", first, `{"id":3,"event":"release","statusCode":200,"body":"released"}`)
	recvAll(t, c,
		`{"id":1,"event":"wait","statusCode":200,"body":"waited"}`,
		`{"id":2,"event":"wait","statusCode":200,"body":"waited"}`)
}

// Group.Shutdown: the reply in flight goes out, then 1001, and streams end.
func TestRouterShutdown(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 3} {
		t.Run(fmt.Sprintf("concurrency=%d", n), func(t *testing.T) {
			t.Parallel()
			var g ws.Group
			entered, release := make(chan struct{}), make(chan struct{})
			ch := newRtChat()
			r := newRtRouter(ch, ws.WithGroup(&g), ws.WithConcurrency(n))
			ws.On(r, "slow", func(ctx context.Context, in struct{}) (string, error) {
				close(entered)
				<-release
				return "done", nil
			})
			srv := httptest.NewServer(r)
			t.Cleanup(srv.Close)
			srvURL := srv.URL
			c := dialURL(t, srvURL)
			send(t, c, `{"event":"chat.watch","id":"w","data":{"fail":"wait"}}`)
			<-ch.watching
			send(t, c, `{"event":"slow","id":"s"}`)
			<-entered
			shutdown := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
				defer cancel()
				shutdown <- g.Shutdown(ctx)
			}()
			// Once Shutdown has begun (new handshakes get 503), it waits
			// for the reply in flight.
			for {
				ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
				c2, resp, err := websocket.Dial(ctx, srvURL, nil)
				cancel()
				if err == nil {
					c2.CloseNow()
					continue
				}
				if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
					t.Fatalf("handshake: %v", err)
				}
				break
			}
			select {
			case err := <-shutdown:
				t.Fatalf("Shutdown returned (%v) while a reply was in flight", err)
			default:
			}
			close(release)
			equal(t, "reply in flight", recv(t, c), `{"id":"s","event":"slow","statusCode":200,"body":"done"}`)
			err := readErr(t, c)
			equal(t, "close", websocket.CloseStatus(err), websocket.StatusGoingAway)
			if err := <-shutdown; err != nil {
				t.Fatal(err)
			}
			err = <-ch.ended
			equal(t, "onDisconnect's close status", websocket.CloseStatus(err), websocket.StatusGoingAway)
			if !errors.Is(err, ws.ErrClosed) {
				t.Fatalf("onDisconnect: %v, want ErrShutdown", err)
			}
			equal(t, "streams done before onDisconnect", ch.streamsAtDisconnect.Load(), 1)
		})
	}
}

func TestRouterConnectRefused(t *testing.T) {
	t.Parallel()
	var disconnects atomic.Int32
	r := ws.NewRouter()
	ws.On(r, "x", func(ctx context.Context, in struct{}) (int, error) { return 1, nil })
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error { return ws.Unauthorized("who are you?") })
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { disconnects.Add(1) })
	c := wstest.Dial(t, r)
	wstest.Closed(t, c, websocket.StatusPolicyViolation)
	var e *ws.Error
	if !errors.As(c.Err(), &e) || e.Status != http.StatusUnauthorized || string(e.Body.(json.RawMessage)) != `"who are you?"` {
		t.Fatalf("refused with %v, want the envelope {\"statusCode\":401,\"body\":\"who are you?\"} before the close", c.Err())
	}
	equal(t, "disconnects", disconnects.Load(), 0)
}

func TestRouterLogs(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	ch := newRtChat()
	c := wstest.Dial(t, newRtRouter(ch, ws.WithLogger(newLogger(&logs))))
	for _, msg := range []string{"fail", "panic"} {
		_, err := wsclient.Call[ChatMessage](t.Context(), c, "chat.send", SendRequest{Message: msg, User: "ana"})
		var e *ws.Error
		if !errors.As(err, &e) || e.Status != http.StatusInternalServerError {
			t.Fatalf("%s: %v, want a 500", msg, err)
		}
	}
	for _, err := range wsclient.Stream[ChatMessage](t.Context(), c, "chat.watch", WatchRequest{Fail: "error"}) {
		var e *ws.Error
		if !errors.As(err, &e) || e.Status != http.StatusInternalServerError {
			t.Fatalf("stream: %v, want a 500", err)
		}
	}
	c.Close()
	<-ch.ended
	got := logs.String()
	for _, want := range []string{
		`msg="ws: event failed" event=chat.send error="database is down"`,
		`msg="ws: panic in event \"chat.send\"" panic="send exploded"`,
		`msg="ws: stream failed" event=chat.watch error="feed broke"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
}

func TestRouterRegistrationPanics(t *testing.T) {
	t.Parallel()
	type badTag struct {
		X string `validate:"nosuchtag"`
	}
	fn := func(ctx context.Context, in struct{}) (int, error) { return 0, nil }
	st := func(ctx context.Context, in struct{}, send func(int) error) error { return nil }
	tests := []struct {
		name, want string
		do         func(r *ws.Router)
	}{
		{"empty", `ws: On needs an event name`, func(r *ws.Router) { ws.On(r, "", fn) }},
		{"reserved", `ws: event names starting with $ are reserved: "$x"`, func(r *ws.Router) { ws.On(r, "$x", fn) }},
		{"nil", `ws: On needs a function for event "b"`, func(r *ws.Router) {
			ws.On[struct{}, int](r, "b", nil)
		}},
		{"nil stream", `ws: Stream needs a function for event "b"`, func(r *ws.Router) {
			ws.Stream[struct{}, int](r, "b", nil)
		}},
		{"twice", `ws: event "a" is registered twice`, func(r *ws.Router) { ws.On(r, "a", fn) }},
		{"stream twice", `ws: event "a" is registered twice`, func(r *ws.Router) { ws.Stream(r, "a", st) }},
		{"stream empty", `ws: Stream needs an event name`, func(r *ws.Router) { ws.Stream(r, "", st) }},
		{"tag", `ws: invalid validate tag on`, func(r *ws.Router) {
			ws.On(r, "t", func(ctx context.Context, in badTag) (int, error) { return 0, nil })
		}},
		{"stream tag", `ws: invalid validate tag on`, func(r *ws.Router) {
			ws.Stream(r, "t", func(ctx context.Context, in badTag, send func(int) error) error { return nil })
		}},
		{"push twice", `ws: push "p" is declared twice`, func(r *ws.Router) { ws.Emits[int](r, "p") }},
		{"push empty", `ws: Emits needs an event name`, func(r *ws.Router) { ws.Emits[int](r, "") }},
		{"push reserved", `ws: event names starting with $ are reserved: "$p"`, func(r *ws.Router) { ws.Emits[int](r, "$p") }},
	}
	for _, tt := range tests {
		r := ws.NewRouter()
		ws.On(r, "a", fn)
		ws.Emits[int](r, "p")
		ws.Emits[int](r, "a") // a push may share a client event's name
		got := catch(func() { tt.do(r) })
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: panic %q, want %q", tt.name, got, tt.want)
		}
	}

	// Registration ends with the first connection.
	r := ws.NewRouter()
	ws.On(r, "a", fn)
	c := dial(t, r)
	exchange(t, c, `{"event":"a","id":1}`, `{"id":1,"event":"a","statusCode":200,"body":0}`)
	for what, do := range map[string]func(){
		"On":           func() { ws.On(r, "b", fn) },
		"Stream":       func() { ws.Stream(r, "b", st) },
		"Emits":        func() { ws.Emits[int](r, "b") },
		"OnConnect":    func() { r.OnConnect(nil) },
		"OnDisconnect": func() { r.OnDisconnect(nil) },
	} {
		want := "ws: " + what + " after the Router has served a connection"
		if got := catch(do); got != want {
			t.Errorf("%s after serving: panic %q, want %q", what, got, want)
		}
	}
}

// catch returns what fn panics with, or "".
func catch(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}

var _ http.Handler = (*ws.Router)(nil)

// BenchmarkRouterRoundTrip is BenchmarkRoundTrip's workload as one event of
// a Router, each message with an id, beside the same handler as a Callback:
//
//	go test -run '^$' -bench 'RouterRoundTrip' -count 6
func BenchmarkRouterRoundTrip(b *testing.B) {
	msgs, replies := benchMessages()
	var rmsgs, rreplies [][]byte
	for i := range msgs {
		rmsgs = append(rmsgs, fmt.Appendf(nil, `{"event":"chat.send","id":%d,"data":%s}`, i, msgs[i]))
		rreplies = append(rreplies, fmt.Appendf(nil, `{"id":%d,"event":"chat.send",%s`, i, replies[i][1:]))
	}
	router := func() http.Handler {
		r := ws.NewRouter()
		ws.On(r, "chat.send", func(ctx context.Context, in benchRequest) (ChatResponse, error) {
			return ChatResponse(in), nil
		})
		return r
	}
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprintf("server=callback/inflight=%d", depth), func(b *testing.B) {
			runBenchMessages(b, callbackHandler(), depth, msgs, replies)
		})
		b.Run(fmt.Sprintf("server=router/inflight=%d", depth), func(b *testing.B) {
			runBenchMessages(b, router(), depth, rmsgs, rreplies)
		})
	}
}

// docWatch is the request of docs/protocol.md's stream.
type docWatch struct {
	Room   string `json:"room" validate:"required"`
	Follow bool   `json:"follow"` // wait for more until the stream is cancelled
}

// TestProtocolDoc runs the examples of docs/protocol.md: in each block
// that starts with a client message (→), every message is sent and every
// reply (←) must come, byte for byte, in that order. Blocks of the Callback
// section go to a Callback, the others to a Router with the events the
// document names.
func TestProtocolDoc(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	ch := newRtChat()
	r := ws.NewRouter()
	ws.On(r, "chat.send", ch.Send)
	ws.On(r, "chat.history", ch.History)
	ws.Stream(r, "chat.watch", func(ctx context.Context, in docWatch, send func(ChatMessage) error) error {
		for _, m := range []ChatMessage{{Message: "Hi", User: "ana"}, {Message: "Hello", User: "bob"}} {
			if err := send(m); err != nil {
				return err
			}
		}
		if in.Follow {
			<-ctx.Done()
		}
		return nil
	})
	router := dial(t, r)
	callback := dial(t, ws.Callback(nil, newChat().Receive, nil))

	c, blocks := callback, 0
	var block []string
	for line := range strings.Lines(string(doc)) {
		line = strings.TrimRight(line, "\n")
		switch {
		case strings.HasPrefix(line, "## ws.Router"):
			c = router
		case line == "```json":
			block = []string{}
		case line == "```" && block != nil:
			if len(block) > 0 && strings.HasPrefix(block[0], "→ ") {
				for _, l := range block {
					if msg, ok := strings.CutPrefix(l, "→ "); ok {
						send(t, c, msg)
					} else if want, ok := strings.CutPrefix(l, "← "); ok {
						equal(t, "reply in docs/protocol.md", recv(t, c), want)
					}
				}
				blocks++
			}
			block = nil
		case block != nil:
			block = append(block, line)
		}
	}
	if blocks < 11 {
		t.Fatalf("only %d blocks of docs/protocol.md were run", blocks)
	}
}

// badJSON does not encode.
type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("no JSON for you") }

// panicJSON panics when decoded.
type panicJSON struct{}

func (*panicJSON) UnmarshalJSON([]byte) error { panic("decoder exploded") }

// Replies and items that do not encode, decoders that panic, and a send
// kept past its stream's end: the client gets a clear reply or nothing,
// and the connection goes on.
func TestRouterFailures(t *testing.T) {
	t.Parallel()
	var (
		logs  syncBuffer
		kept  = make(chan func(int) error, 1)
		items = make(chan error, 1)
	)
	r := ws.NewRouter(ws.WithLogger(newLogger(&logs)))
	ws.On(r, "bad.reply", func(ctx context.Context, in struct{}) (badJSON, error) { return badJSON{}, nil })
	ws.On(r, "bad.request", func(ctx context.Context, in panicJSON) (int, error) { return 1, nil })
	ws.Stream(r, "bad.item", func(ctx context.Context, in struct{}, send func(badJSON) error) error {
		err := send(badJSON{})
		items <- err
		return err
	})
	ws.Stream(r, "bad.open", func(ctx context.Context, in panicJSON, send func(int) error) error { return nil })
	ws.Stream(r, "keep", func(ctx context.Context, in struct{}, send func(int) error) error {
		kept <- send
		return nil
	})
	ws.On(r, "use.kept", func(ctx context.Context, in struct{}) (string, error) {
		if err := (<-kept)(1); err == nil {
			return "sent", nil
		}
		return "refused", nil
	})
	c := dial(t, r)
	const internal = `"statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`
	exchange(t, c,
		`{"event":"bad.reply","id":1}`, `{"id":1,"event":"bad.reply",`+internal,
		`{"event":"bad.request","id":2}`, `{"id":2,"event":"bad.request",`+internal,
		`{"event":"bad.open","id":3}`, `{"id":3,"event":"bad.open",`+internal,
		// The item is not sent; the function gets the error and returns it.
		`{"event":"bad.item","id":4}`, `{"id":4,"event":"bad.item",`+internal,
		`{"event":"keep","id":5}`, `{"id":5,"event":"keep","statusCode":200,"body":null}`,
		// A send used after its stream has ended sends nothing.
		`{"event":"use.kept","id":6}`, `{"id":6,"event":"use.kept","statusCode":200,"body":"refused"}`,
	)
	if err := <-items; err == nil || !strings.Contains(err.Error(), "ws: stream item does not encode as JSON") {
		t.Fatalf("send of an item that does not encode: %v", err)
	}
	got := logs.String()
	for _, want := range []string{
		`msg="ws: reply does not encode as JSON"`,
		`msg="ws: panic in event \"bad.request\"" panic="decoder exploded"`,
		`msg="ws: panic in event \"bad.open\"" panic="decoder exploded"`,
		`msg="ws: stream failed" event=bad.item error="ws: stream item does not encode as JSON`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
}

// With WithConcurrency, a message that comes once Shutdown has begun is
// not handled: the reply in flight goes out, then the close.
func TestRouterShutdownConcurrent(t *testing.T) {
	t.Parallel()
	var g ws.Group
	entered, release := make(chan struct{}), make(chan struct{})
	ended := make(chan error, 1)
	var late atomic.Int32
	r := ws.NewRouter(ws.WithGroup(&g), ws.WithConcurrency(4))
	ws.On(r, "slow", func(ctx context.Context, in struct{}) (string, error) {
		close(entered)
		<-release
		return "done", nil
	})
	ws.On(r, "late", func(ctx context.Context, in struct{}) (string, error) {
		late.Add(1)
		return "late", nil
	})
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { ended <- err })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	c := dialURL(t, srv.URL)
	send(t, c, `{"event":"slow","id":1}`)
	<-entered
	shutdown := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		shutdown <- g.Shutdown(ctx)
	}()
	for { // until Shutdown has begun: new handshakes get 503
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		c2, resp, err := websocket.Dial(ctx, srv.URL, nil)
		cancel()
		if err == nil {
			c2.CloseNow()
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("handshake: %v", err)
		}
		break
	}
	send(t, c, `{"event":"late","id":2}`)
	close(release)
	equal(t, "reply in flight", recv(t, c), `{"id":1,"event":"slow","statusCode":200,"body":"done"}`)
	equal(t, "close", websocket.CloseStatus(readErr(t, c)), websocket.StatusGoingAway)
	if err := <-shutdown; err != nil {
		t.Fatal(err)
	}
	err := <-ended
	equal(t, "onDisconnect's close status", websocket.CloseStatus(err), websocket.StatusGoingAway)
	equal(t, "late messages handled", late.Load(), 0)
}
