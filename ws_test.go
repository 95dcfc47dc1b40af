package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

type ChatRequest struct {
	Message string `json:"message" validate:"required"`
	User    string `json:"user" validate:"required"`
}

type ChatResponse struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

// dial starts a server for h and returns a client connected to it.
func dial(t *testing.T, h http.Handler) *websocket.Conn {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return dialURL(t, srv.URL)
}

func dialURL(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// send writes one text message.
func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
}

// recv reads one message and checks it is a text frame.
func recv(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("reply is a %v frame, want text", typ)
	}
	return string(data)
}

// roundTrip sends msg and returns the reply.
func roundTrip(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	send(t, c, msg)
	return recv(t, c)
}

// readErr reads until the connection ends and returns the error.
func readErr(t *testing.T, c *websocket.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

type chat struct {
	connects, disconnects atomic.Int32
	lastErr               chan error
}

func newChat() *chat { return &chat{lastErr: make(chan error, 1)} }

func (c *chat) Connect(ctx context.Context, conn *ws.Conn) error {
	c.connects.Add(1)
	return nil
}

func (c *chat) Receive(ctx context.Context, in ChatRequest) (ChatResponse, error) {
	return ChatResponse{Message: "Hi! " + in.Message, User: "System"}, nil
}

func (c *chat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {
	c.disconnects.Add(1)
	c.lastErr <- err
}

// Line 1: one text reply per message, in order (Cafeto's own test 1).
func TestCallbackRepliesInOrder(t *testing.T) {
	t.Parallel()
	ch := newChat()
	c := dial(t, ws.Callback(ch.Connect, ch.Receive, ch.Disconnect))
	for i := range 4 {
		send(t, c, fmt.Sprintf(`{"message":"User # %d","user":"Marcela"}`, i))
	}
	for i := range 4 {
		want := fmt.Sprintf(`{"statusCode":200,"body":{"message":"Hi! User # %d","user":"System"}}`, i)
		equal(t, "reply", recv(t, c), want)
	}
	// A binary frame holds JSON just as well.
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageBinary, []byte(`{"message":"bin","user":"u"}`)); err != nil {
		t.Fatal(err)
	}
	equal(t, "reply to binary", recv(t, c), `{"statusCode":200,"body":{"message":"Hi! bin","user":"System"}}`)
	c.Close(websocket.StatusNormalClosure, "")
	err := <-ch.lastErr
	equal(t, "close status seen by onDisconnect", websocket.CloseStatus(err), websocket.StatusNormalClosure)
	equal(t, "connects", ch.connects.Load(), 1)
	equal(t, "disconnects", ch.disconnects.Load(), 1)
}

// Line 2: envelopes pass through as they are; slices become arrays;
// NoContent sends null (Cafeto's tests 2, 3 and 4).
func TestCallbackEnvelopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		h    http.Handler
		want string
	}{
		{"created", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ws.StatusEnvelope[ChatResponse], error) {
			return ws.Created(ChatResponse(in)), nil
		}, nil), `{"statusCode":201,"body":{"message":"m","user":"u"}}`},
		{"accepted", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ws.StatusEnvelope[string], error) {
			return ws.Status(http.StatusAccepted, "queued"), nil
		}, nil), `{"statusCode":202,"body":"queued"}`},
		{"no content", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ws.StatusEnvelope[ChatResponse], error) {
			return ws.NoContent[ChatResponse](), nil
		}, nil), `{"statusCode":204,"body":null}`},
		{"classic status", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ws.StatusEnvelope[ChatResponse], error) {
			return ws.Status(299, ChatResponse{Message: "x", User: "y"}), nil
		}, nil), `{"statusCode":299,"body":{"message":"x","user":"y"}}`},
		{"slice", ws.Callback(nil, func(ctx context.Context, in ChatRequest) ([]ChatResponse, error) {
			r := ChatResponse{Message: "Hi", User: "System"}
			return []ChatResponse{r, r, r}, nil
		}, nil), `{"statusCode":200,"body":[{"message":"Hi","user":"System"},{"message":"Hi","user":"System"},{"message":"Hi","user":"System"}]}`},
		{"map", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (map[string]any, error) {
			return map[string]any{"message": "Hi", "n": 1}, nil
		}, nil), `{"statusCode":200,"body":{"message":"Hi","n":1}}`},
		{"any holding an envelope", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (any, error) {
			return ws.Created("made"), nil
		}, nil), `{"statusCode":201,"body":"made"}`},
		{"any holding no content", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (any, error) {
			return ws.NoContent[ChatResponse](), nil
		}, nil), `{"statusCode":204,"body":null}`},
		{"html is escaped as encoding/json does", ws.Callback(nil, func(ctx context.Context, in ChatRequest) (string, error) {
			return "<b>", nil
		}, nil), `{"statusCode":200,"body":"\u003cb\u003e"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, tt.h)
			equal(t, "reply", roundTrip(t, c, `{"message":"m","user":"u"}`), tt.want)
		})
	}
}

// Cafeto's test 5, and the connection staying open after a 400.
func TestCallbackValidationKeepsConnectionOpen(t *testing.T) {
	t.Parallel()
	ch := newChat()
	c := dial(t, ws.Callback(ch.Connect, ch.Receive, ch.Disconnect))
	equal(t, "400", roundTrip(t, c, `{"user":"Marcela"}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["message"],"type":"missing","msg":"Field required"}]}}`)
	equal(t, "both fields, in field order", roundTrip(t, c, `{}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["message"],"type":"missing","msg":"Field required"},{"loc":["user"],"type":"missing","msg":"Field required"}]}}`)
	equal(t, "next message", roundTrip(t, c, `{"message":"again","user":"Marcela"}`),
		`{"statusCode":200,"body":{"message":"Hi! again","user":"System"}}`)
}

// Line 5: decode errors.
func TestCallbackDecodeErrors(t *testing.T) {
	t.Parallel()
	type Item struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	type Req struct {
		Name   string            `json:"name"`
		Age    int               `json:"age"`
		Score  float64           `json:"score"`
		Ok     bool              `json:"ok"`
		Tags   []string          `json:"tags"`
		Items  []Item            `json:"items"`
		Labels map[string]int    `json:"labels"`
		Room   struct{ ID int }  `json:"room"`
		Meta   map[string]string `json:"meta"`
	}
	h := ws.Callback(nil, func(ctx context.Context, in Req) (string, error) { return "ok", nil }, nil)
	c := dial(t, h)
	tests := []struct{ in, want string }{
		{`{"name": 1}`, `[{"loc":["name"],"type":"string_type","msg":"Input should be a valid string"}]`},
		{`{"age": "x"}`, `[{"loc":["age"],"type":"int_type","msg":"Input should be a valid integer"}]`},
		{`{"age": 1.5}`, `[{"loc":["age"],"type":"int_from_float","msg":"Input should be a valid integer, got a number with a fractional part"}]`},
		{`{"score": "x"}`, `[{"loc":["score"],"type":"float_type","msg":"Input should be a valid number"}]`},
		{`{"ok": "yes"}`, `[{"loc":["ok"],"type":"bool_type","msg":"Input should be a valid boolean"}]`},
		{`{"tags": "a"}`, `[{"loc":["tags"],"type":"list_type","msg":"Input should be a valid list"}]`},
		{`{"tags": ["a", 2]}`, `[{"loc":["tags",1],"type":"string_type","msg":"Input should be a valid string"}]`},
		{`{"items": [{"name": "a"}, {"name": "b", "count": "x"}]}`, `[{"loc":["items",1,"count"],"type":"int_type","msg":"Input should be a valid integer"}]`},
		{`{"items": [{}, {"name": ["x"]}]}`, `[{"loc":["items",1,"name"],"type":"string_type","msg":"Input should be a valid string"}]`},
		{`{"labels": {"a": 1, "key 1": "x"}}`, `[{"loc":["labels","key 1"],"type":"int_type","msg":"Input should be a valid integer"}]`},
		{`{"room": 3}`, `[{"loc":["room"],"type":"model_type","msg":"Input should be an object"}]`},
		{`{"meta": []}`, `[{"loc":["meta"],"type":"dict_type","msg":"Input should be a valid dictionary"}]`},
		{`[1, 2]`, `[{"loc":[],"type":"model_type","msg":"Input should be an object"}]`},
		{`"text"`, `[{"loc":[],"type":"model_type","msg":"Input should be an object"}]`},
		{`null`, `[{"loc":[],"type":"model_type","msg":"Input should be an object"}]`},
		{`{"score": 1e999}`, `[{"loc":["score"],"type":"finite_number","msg":"Input should be a finite number"}]`},
		{`{"name": "x",}`, `[{"loc":[],"type":"json_invalid","msg":"Invalid JSON: invalid character '}' looking for beginning of object key string"}]`},
		{``, `[{"loc":[],"type":"json_invalid","msg":"Invalid JSON: unexpected end of JSON input"}]`},
		{`{"name": "x"} {}`, `[{"loc":[],"type":"json_invalid","msg":"Invalid JSON: invalid character '{' after top-level value"}]`},
	}
	for _, tt := range tests {
		want := `{"statusCode":400,"body":{"errorList":` + tt.want + `}}`
		equal(t, fmt.Sprintf("reply to %q", tt.in), roundTrip(t, c, tt.in), want)
	}
	equal(t, "still open", roundTrip(t, c, `{"name":"x"}`), `{"statusCode":200,"body":"ok"}`)
}

type Signup struct {
	Password string `json:"password" validate:"required"`
	Repeat   string `json:"repeat" validate:"required"`
}

func (s *Signup) Validate(ctx context.Context) error {
	if s.Password != s.Repeat {
		return errors.New("passwords do not match")
	}
	return nil
}

type Booking struct {
	From int `json:"from"`
	To   int `json:"to"`
}

func (b Booking) Validate(ctx context.Context) error {
	if b.To < b.From {
		return ws.ErrorList{Errors: []ws.ErrorDetail{
			{Loc: []any{"to"}, Type: "value_error", Msg: "Value error, must not be before from"},
		}}
	}
	return nil
}

type Pointed struct {
	Name string `json:"name" validate:"required"`
}

func (p *Pointed) Validate(ctx context.Context) error {
	if p.Name == "root" {
		return ws.ErrorDetail{Type: "reserved", Msg: "Name is reserved"}
	}
	return nil
}

// Line 6: DTO-level rules.
func TestCallbackModelValidate(t *testing.T) {
	t.Parallel()
	c := dial(t, ws.Callback(nil, func(ctx context.Context, in Signup) (string, error) { return "welcome", nil }, nil))
	equal(t, "tags first", roundTrip(t, c, `{"password":"a"}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["repeat"],"type":"missing","msg":"Field required"}]}}`)
	equal(t, "model rule", roundTrip(t, c, `{"password":"a","repeat":"b"}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["__model__"],"type":"value_error","msg":"Value error, passwords do not match"}]}}`)
	equal(t, "passes", roundTrip(t, c, `{"password":"a","repeat":"a"}`), `{"statusCode":200,"body":"welcome"}`)

	c = dial(t, ws.Callback(nil, func(ctx context.Context, in Booking) (string, error) { return "booked", nil }, nil))
	equal(t, "value receiver, named loc", roundTrip(t, c, `{"from":5,"to":1}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["to"],"type":"value_error","msg":"Value error, must not be before from"}]}}`)
	equal(t, "passes", roundTrip(t, c, `{"from":1,"to":5}`), `{"statusCode":200,"body":"booked"}`)

	c = dial(t, ws.Callback(nil, func(ctx context.Context, in *Pointed) (string, error) { return "hello " + in.Name, nil }, nil))
	equal(t, "pointer request, detail without loc", roundTrip(t, c, `{"name":"root"}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["__model__"],"type":"reserved","msg":"Name is reserved"}]}}`)
	equal(t, "pointer request, tags", roundTrip(t, c, `{}`),
		`{"statusCode":400,"body":{"errorList":[{"loc":["name"],"type":"missing","msg":"Field required"}]}}`)
	equal(t, "pointer request, null", roundTrip(t, c, `null`),
		`{"statusCode":400,"body":{"errorList":[{"loc":[],"type":"model_type","msg":"Input should be an object"}]}}`)
	equal(t, "pointer request passes", roundTrip(t, c, `{"name":"ana"}`), `{"statusCode":200,"body":"hello ana"}`)
}

// Line 7: errors from onReceive.
func TestCallbackErrors(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := newLogger(&logs)
	h := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		switch in.Message {
		case "missing":
			return ChatResponse{}, ws.NotFound(map[string]string{"detail": "no such room"})
		case "wrapped":
			return ChatResponse{}, fmt.Errorf("looking up: %w", ws.NewError(http.StatusConflict, "taken"))
		case "custom":
			return ChatResponse{}, ws.NewError(418, nil)
		}
		return ChatResponse{}, errors.New("db password is hunter2")
	}, nil, ws.WithLogger(logger))
	c := dial(t, h)
	tests := []struct{ msg, want string }{
		{"missing", `{"statusCode":404,"body":{"detail":"no such room"}}`},
		{"wrapped", `{"statusCode":409,"body":"taken"}`},
		{"custom", `{"statusCode":418,"body":null}`},
		{"internal", `{"statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`},
	}
	for _, tt := range tests {
		equal(t, tt.msg, roundTrip(t, c, `{"message":"`+tt.msg+`","user":"u"}`), tt.want)
	}
	if !strings.Contains(logs.String(), "hunter2") {
		t.Fatalf("the internal error was not logged; log:\n%s", logs.String())
	}
	equal(t, "still open", roundTrip(t, c, `{"message":"missing","user":"u"}`), tests[0].want)
}

func TestErrorConstructors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *ws.Error
		want int
	}{
		{ws.BadRequest(nil), 400}, {ws.Unauthorized(nil), 401}, {ws.Forbidden(nil), 403},
		{ws.NotFound(nil), 404}, {ws.NewError(http.StatusMethodNotAllowed, nil), 405}, {ws.NewError(http.StatusConflict, nil), 409},
		{ws.InternalServerError(nil), 500}, {ws.NewError(http.StatusNotImplemented, nil), 501},
		{ws.NewError(http.StatusServiceUnavailable, nil), 503}, {ws.NewError(http.StatusGatewayTimeout, nil), 504},
	}
	for _, tt := range tests {
		equal(t, tt.err.Error(), tt.err.Status, tt.want)
	}
	equal(t, "text", ws.NotFound("x").Error(), "ws: 404 Not Found")
	for _, tt := range []struct {
		env  any
		want string
	}{
		{ws.Ok(1), `{"statusCode":200,"body":1}`},
		{ws.Created("a"), `{"statusCode":201,"body":"a"}`},
		{ws.NoContent[ChatResponse](), `{"statusCode":204,"body":null}`},
		{ws.Status(207, []int{1}), `{"statusCode":207,"body":[1]}`},
	} {
		b, err := json.Marshal(tt.env)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "json.Marshal", string(b), tt.want)
	}
}

// Line 8: a panic in onReceive.
func TestCallbackPanicInReceive(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		if in.Message == "boom" {
			panic("secret panic value")
		}
		return ChatResponse(in), nil
	}, nil, ws.WithLogger(newLogger(&logs)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, other := dialURL(t, srv.URL), dialURL(t, srv.URL)
	equal(t, "500", roundTrip(t, c, `{"message":"boom","user":"u"}`),
		`{"statusCode":500,"body":{"errorList":[{"loc":[],"type":"internal_error","msg":"Internal Server Error"}]}}`)
	equal(t, "same connection", roundTrip(t, c, `{"message":"a","user":"u"}`), `{"statusCode":200,"body":{"message":"a","user":"u"}}`)
	equal(t, "other connection", roundTrip(t, other, `{"message":"b","user":"u"}`), `{"statusCode":200,"body":{"message":"b","user":"u"}}`)
	log := logs.String()
	if !strings.Contains(log, "secret panic value") || !strings.Contains(log, "goroutine") {
		t.Fatalf("panic not logged with its stack:\n%s", log)
	}
}

// Line 9: onConnect runs first, may send, may refuse.
func TestCallbackOnConnect(t *testing.T) {
	t.Parallel()
	var disconnects atomic.Int32
	h := ws.Callback(func(ctx context.Context, conn *ws.Conn) error {
		switch conn.Request().URL.Query().Get("mode") {
		case "refuse":
			return errors.New("not today")
		case "unauthorized":
			return ws.Unauthorized("log in first")
		}
		return conn.SendJSON(ctx, map[string]string{"hello": "welcome"})
	}, func(ctx context.Context, in ChatRequest) (string, error) {
		return "ok", nil
	}, func(ctx context.Context, conn *ws.Conn, err error) {
		disconnects.Add(1)
	})
	srv := wstest.NewServer(t, h)

	c := srv.Dial(t, "")
	equal(t, "greeting before any message", string(wstest.NextPush[json.RawMessage](t, c, "")), `{"hello":"welcome"}`)
	reply, err := wsclient.Send[ws.StatusEnvelope[string]](t.Context(), c, ChatRequest{Message: "m", User: "u"})
	equal(t, "then replies", reply, ws.Ok("ok"))
	equal(t, "error", err, nil)

	c = srv.Dial(t, "?mode=refuse")
	wstest.Closed(t, c, websocket.StatusPolicyViolation)
	var ce websocket.CloseError
	if !errors.As(c.Err(), &ce) || strings.Contains(ce.Reason, "not today") || strings.Contains(c.Err().Error(), "not today") {
		t.Fatalf("error text reached the client: %v", c.Err())
	}

	c = srv.Dial(t, "?mode=unauthorized")
	wstest.Closed(t, c, websocket.StatusPolicyViolation)
	var e *ws.Error
	if !errors.As(c.Err(), &e) || e.Status != http.StatusUnauthorized || string(e.Body.(json.RawMessage)) != `"log in first"` {
		t.Fatalf("refused with %v, want the envelope {\"statusCode\":401,\"body\":\"log in first\"} before the close", c.Err())
	}

	equal(t, "onDisconnect runs only for accepted connections", disconnects.Load(), 0)
}

// Line 10: onDisconnect runs exactly once whatever ends the connection,
// and says why.
func TestCallbackOnDisconnectCauses(t *testing.T) {
	t.Parallel()
	type result struct {
		err   error
		count int32
	}
	run := func(t *testing.T, opts []ws.CallbackOption, receive func(context.Context, ChatRequest) (string, error), client func(c *websocket.Conn)) result {
		var n atomic.Int32
		errc := make(chan error, 4)
		h := ws.Callback(nil, receive, func(ctx context.Context, conn *ws.Conn, err error) {
			n.Add(1)
			errc <- err
		}, opts...)
		c := dial(t, h)
		client(c)
		err := <-errc
		// Anything after the first call would show here.
		time.Sleep(20 * time.Millisecond)
		return result{err, n.Load()}
	}
	ok := func(ctx context.Context, in ChatRequest) (string, error) { return "ok", nil }

	t.Run("client close", func(t *testing.T) {
		t.Parallel()
		r := run(t, nil, ok, func(c *websocket.Conn) { c.Close(4000, "bye") })
		equal(t, "status", websocket.CloseStatus(r.err), 4000)
		equal(t, "calls", r.count, 1)
	})
	t.Run("tcp drop", func(t *testing.T) {
		t.Parallel()
		r := run(t, nil, ok, func(c *websocket.Conn) { c.CloseNow() })
		equal(t, "status", websocket.CloseStatus(r.err), -1)
		equal(t, "calls", r.count, 1)
	})
	t.Run("read limit", func(t *testing.T) {
		t.Parallel()
		r := run(t, []ws.CallbackOption{ws.WithReadLimit(64)}, ok, func(c *websocket.Conn) {
			send(t, c, `{"message":"`+strings.Repeat("x", 100)+`","user":"u"}`)
			equal(t, "client sees", websocket.CloseStatus(readErr(t, c)), websocket.StatusMessageTooBig)
		})
		equal(t, "status", websocket.CloseStatus(r.err), websocket.StatusMessageTooBig)
		if !errors.Is(r.err, websocket.ErrMessageTooBig) {
			t.Fatalf("err = %v, want ErrMessageTooBig", r.err)
		}
		equal(t, "calls", r.count, 1)
	})
	t.Run("server close", func(t *testing.T) {
		t.Parallel()
		r := run(t, nil, func(ctx context.Context, in ChatRequest) (string, error) {
			ws.ConnFromContext(ctx).Close(4001, "kicked")
			return "late", nil
		}, func(c *websocket.Conn) {
			send(t, c, `{"message":"m","user":"u"}`)
			err := readErr(t, c)
			equal(t, "client sees", websocket.CloseStatus(err), 4001)
		})
		equal(t, "status", websocket.CloseStatus(r.err), 4001)
		if !errors.Is(r.err, ws.ErrClosed) {
			t.Fatalf("err = %v, want ErrClosed", r.err)
		}
		equal(t, "calls", r.count, 1)
	})
	t.Run("invalid utf-8", func(t *testing.T) {
		t.Parallel()
		r := run(t, nil, ok, func(c *websocket.Conn) {
			send(t, c, "{\"message\":\"\xff\",\"user\":\"u\"}")
			equal(t, "client sees", websocket.CloseStatus(readErr(t, c)), websocket.StatusInvalidFramePayloadData)
		})
		if websocket.CloseStatus(r.err) != websocket.StatusInvalidFramePayloadData {
			t.Fatalf("err = %v, want close status 1007", r.err)
		}
		equal(t, "calls", r.count, 1)
	})
}

type userKey struct{}

// Line 11: the callbacks' context.
func TestCallbackContext(t *testing.T) {
	t.Parallel()
	ctxs := make(chan context.Context, 3)
	h := ws.Callback(func(ctx context.Context, conn *ws.Conn) error {
		ctxs <- ctx
		conn.Set("nick", "anonymous")
		return nil
	}, func(ctx context.Context, in ChatRequest) (string, error) {
		conn := ws.ConnFromContext(ctx)
		if in.Message == "nick" {
			conn.Set("nick", in.User)
		}
		return fmt.Sprintf("%v as %v", ctx.Value(userKey{}), conn.Get("nick")), nil
	}, func(ctx context.Context, conn *ws.Conn, err error) {
		ctxs <- ctx
	})
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "ana")))
		})
	}
	c := wstest.Dial(t, auth(h))
	for _, tt := range []struct {
		what string
		in   ChatRequest
		want string
	}{
		{"middleware value", ChatRequest{Message: "hi", User: "x"}, "ana as anonymous"},
		{"state kept", ChatRequest{Message: "nick", User: "zorro"}, "ana as zorro"},
		{"state kept", ChatRequest{Message: "hi", User: "x"}, "ana as zorro"},
	} {
		reply, err := wsclient.Send[ws.StatusEnvelope[string]](t.Context(), c, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, tt.what, reply, ws.Ok(tt.want))
	}
	connectCtx := <-ctxs
	if err := connectCtx.Err(); err != nil {
		t.Fatalf("context done while connected: %v", err)
	}
	c.Close() // with 1000
	disconnectCtx := <-ctxs
	<-connectCtx.Done() // cancelled once the connection has ended
	if disconnectCtx.Value(userKey{}) != "ana" {
		t.Fatal("onDisconnect lost the middleware value")
	}
}

// Line 12: the handshake.
func TestHandshake(t *testing.T) {
	t.Parallel()
	ok := func(ctx context.Context, in ChatRequest) (string, error) { return "ok", nil }
	srv := httptest.NewServer(ws.Callback(nil, ok, nil))
	t.Cleanup(srv.Close)
	open := httptest.NewServer(ws.Callback(nil, ok, nil, ws.WithOriginPatterns("app.example")))
	t.Cleanup(open.Close)

	dialOrigin := func(url, origin string) (int, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {origin}}})
		if err == nil {
			c.CloseNow()
			return http.StatusSwitchingProtocols, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, err
	}
	for _, tt := range []struct {
		url, origin string
		want        int
	}{
		{srv.URL, "http://evil.example", http.StatusForbidden},
		{srv.URL, srv.URL, http.StatusSwitchingProtocols},
		{open.URL, "https://app.example", http.StatusSwitchingProtocols},
		{open.URL, "https://other.example", http.StatusForbidden},
	} {
		got, _ := dialOrigin(tt.url, tt.origin)
		equal(t, "status for origin "+tt.origin, got, tt.want)
	}

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	equal(t, "plain GET", resp.StatusCode, http.StatusUpgradeRequired)
}

// The traditional method (Cafeto's tests 6 and 7).
func TestHandler(t *testing.T) {
	t.Parallel()
	echo := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		for {
			var in map[string]any
			if err := conn.ReceiveJSON(ctx, &in); err != nil {
				return err
			}
			if err := conn.SendJSON(ctx, map[string]string{"Hola": "Mundo"}); err != nil {
				return err
			}
		}
	})
	c := dial(t, echo)
	equal(t, "echo", roundTrip(t, c, `{"message":"Hi","user":"System"}`), `{"Hola":"Mundo"}`)
	equal(t, "echo again", roundTrip(t, c, `{}`), `{"Hola":"Mundo"}`)
	send(t, c, `not json`)
	equal(t, "a handler error closes with 1011", websocket.CloseStatus(readErr(t, c)), websocket.StatusInternalError)

	once := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		return conn.SendJSON(ctx, ChatResponse{Message: "Hi", User: "System"})
	})
	c = dial(t, once)
	equal(t, "sent by the handler", recv(t, c), `{"message":"Hi","user":"System"}`)
	equal(t, "returning nil closes with 1000", websocket.CloseStatus(readErr(t, c)), websocket.StatusNormalClosure)

	// ReceiveJSON reports bad JSON as an ErrorList and leaves the
	// connection open.
	lenient := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		for {
			var in ChatRequest
			err := conn.ReceiveJSON(ctx, &in)
			var list ws.ErrorList
			if errors.As(err, &list) {
				if err := conn.SendJSON(ctx, ws.BadRequest(list)); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if err := conn.SendJSON(ctx, ws.Ok(in)); err != nil {
				return err
			}
		}
	})
	c = dial(t, lenient)
	equal(t, "decode error", roundTrip(t, c, `{"message": 5}`), `{"statusCode":400,"body":{"errorList":[{"loc":["message"],"type":"string_type","msg":"Input should be a valid string"}]}}`)
	equal(t, "next", roundTrip(t, c, `{"message":"a","user":"b"}`), `{"statusCode":200,"body":{"message":"a","user":"b"}}`)
}

// Accept upgrades inside any handler.
func TestAccept(t *testing.T) {
	t.Parallel()
	var g ws.Group
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := ws.Accept(w, r, ws.WithGroup(&g))
		if err != nil {
			return
		}
		var in ChatRequest
		if err := conn.ReceiveJSON(conn.Context(), &in); err != nil {
			conn.Close(websocket.StatusInternalError, "")
			return
		}
		conn.SendJSON(conn.Context(), ws.Ok(ChatResponse(in)))
		conn.Close(websocket.StatusNormalClosure, "done")
	})
	c := dial(t, h)
	equal(t, "reply", roundTrip(t, c, `{"message":"m","user":"u"}`), `{"statusCode":200,"body":{"message":"m","user":"u"}}`)
	err := readErr(t, c)
	equal(t, "closed", websocket.CloseStatus(err), websocket.StatusNormalClosure)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v (a closed Accept connection must leave the group)", err)
	}
}

func TestConstructionPanics(t *testing.T) {
	t.Parallel()
	mustPanic := func(name, want string, fn func()) {
		t.Helper()
		defer func() {
			r := recover()
			if r == nil {
				t.Fatalf("%s: no panic", name)
			}
			if s := fmt.Sprint(r); !strings.HasPrefix(s, "ws: ") || !strings.Contains(s, want) {
				t.Fatalf("%s: panic %q, want a ws: message about %q", name, s, want)
			}
		}()
		fn()
	}
	mustPanic("nil onReceive", "onReceive", func() {
		ws.Callback[ChatRequest, ChatResponse](nil, nil, nil)
	})
	mustPanic("nil handler", "Handler", func() { ws.Handler(nil) })
	type BadTag struct {
		Name string `validate:"no_such_rule"`
	}
	mustPanic("malformed tag", "validate tag", func() {
		ws.Callback(nil, func(ctx context.Context, in BadTag) (string, error) { return "", nil }, nil)
	})
	type Inner struct {
		X int `validate:"dive"`
	}
	type Outer struct {
		Items []Inner `json:"items" validate:"dive"`
	}
	mustPanic("malformed tag in a slice item", "validate tag", func() {
		ws.Callback(nil, func(ctx context.Context, in Outer) (string, error) { return "", nil }, nil)
	})
}

// SendJSON from other goroutines while replies flow.
func TestPushWhileReplying(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var conns []*ws.Conn
	ready := make(chan struct{})
	h := ws.Callback(func(ctx context.Context, conn *ws.Conn) error {
		mu.Lock()
		conns = append(conns, conn)
		mu.Unlock()
		close(ready)
		return nil
	}, func(ctx context.Context, in ChatRequest) (string, error) { return "reply", nil }, nil)
	c := wstest.Dial(t, h)
	<-ready
	mu.Lock()
	conn := conns[0]
	mu.Unlock()
	const pushes = 50
	go func() {
		for i := range pushes {
			conn.SendJSON(context.Background(), map[string]int{"push": i})
		}
	}()
	var replies atomic.Int32
	var wg sync.WaitGroup
	for range pushes {
		wg.Go(func() {
			reply, err := wsclient.Send[ws.StatusEnvelope[string]](t.Context(), c, ChatRequest{Message: "m", User: "u"})
			if err != nil || reply != ws.Ok("reply") {
				t.Errorf("reply = %+v, %v; want 200 \"reply\"", reply, err)
				return
			}
			replies.Add(1)
		})
	}
	// The pushes come in the order they were sent, between the replies.
	for i := range pushes {
		equal(t, "push", fmt.Sprint(wstest.NextPush[map[string]any](t, c, "")), fmt.Sprintf("map[push:%d]", i))
	}
	wg.Wait()
	equal(t, "replies", replies.Load(), pushes)
}

// A traditional handler that returns the error of a connection the peer
// dropped has nothing to report: no error log, no 1011.
func TestHandlerPeerGone(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		for {
			var in any
			if err := conn.ReceiveJSON(ctx, &in); err != nil {
				return err
			}
		}
	}, ws.WithLogger(newLogger(&logs)))
	done := make(chan struct{})
	c := dial(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		h.ServeHTTP(w, r)
	}))
	send(t, c, `{}`)
	c.CloseNow()
	<-done
	if log := logs.String(); log != "" {
		t.Fatalf("a dropped peer was logged as a failure:\n%s", log)
	}
}
