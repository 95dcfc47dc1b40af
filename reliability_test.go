package ws_test

// Reliability promises 1, 2, 4, 5, 6, 9 and 10 (docs/reliability.md): bad
// input, limits, faults, panics, concurrent writers, origin and auth, and
// error text that never reaches a client. The helpers here are shared by
// protocol_test.go, shutdown_test.go, load_test.go and fuzz_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// relTimeout bounds every read and write of these tests, so that a broken
// promise fails the test instead of hanging it. It is a guard, not an
// assertion about timing.
const relTimeout = 20 * time.Second

// relReq is the request type of the reliability handlers.
type relReq struct {
	ID    int                `json:"id"`
	Text  string             `json:"text" validate:"required"`
	N     float64            `json:"n"`
	Items []relItem          `json:"items" validate:"dive"`
	Tags  map[string]relItem `json:"tags" validate:"dive"`
}

type relItem struct {
	Name string `json:"name" validate:"required,min=2"`
}

// relResp echoes the request.
type relResp struct {
	ID   int    `json:"id"`
	Echo string `json:"echo"`
}

type relErrorList struct {
	ErrorList []struct {
		Loc  []any  `json:"loc"`
		Type string `json:"type"`
		Msg  string `json:"msg"`
	} `json:"errorList"`
}

// relProbe counts the callbacks of one handler and proves, once the test
// is over, that onDisconnect ran exactly once for every connection whose
// onConnect succeeded.
type relProbe struct {
	group ws.Group
	ended chan error // onDisconnect's error, in the order they ran

	mu          sync.Mutex
	connects    map[*ws.Conn]int
	disconnects map[*ws.Conn]int
}

func newRelProbe(t testing.TB) *relProbe {
	p := &relProbe{
		ended:       make(chan error, 4096),
		connects:    make(map[*ws.Conn]int),
		disconnects: make(map[*ws.Conn]int),
	}
	t.Cleanup(func() {
		// Shutdown returns once every connection's onDisconnect has.
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		if err := p.group.Shutdown(ctx); err != nil {
			t.Errorf("group shutdown: %v", err)
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		for c, n := range p.connects {
			if d := p.disconnects[c]; n != 1 || d != 1 {
				t.Errorf("connection %p: onConnect ran %d times, onDisconnect %d times; want 1 and 1", c, n, d)
			}
		}
		for c, d := range p.disconnects {
			if p.connects[c] == 0 {
				t.Errorf("connection %p: onDisconnect ran %d times without onConnect", c, d)
			}
		}
	})
	return p
}

func (p *relProbe) onConnect(ctx context.Context, c *ws.Conn) error {
	p.mu.Lock()
	p.connects[c]++
	p.mu.Unlock()
	return nil
}

func (p *relProbe) onDisconnect(ctx context.Context, c *ws.Conn, err error) {
	p.mu.Lock()
	p.disconnects[c]++
	p.mu.Unlock()
	p.ended <- err
}

// next returns the error of the next onDisconnect.
func (p *relProbe) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.ended:
		if err == nil {
			t.Fatal("onDisconnect got a nil error: it must say why the connection ended")
		}
		return err
	case <-time.After(relTimeout):
		t.Fatal("onDisconnect did not run")
		return nil
	}
}

// relEcho answers a valid request with its id and text.
func relEcho(ctx context.Context, in relReq) (relResp, error) {
	return relResp{ID: in.ID, Echo: in.Text}, nil
}

// relServe serves the echo handler, with the probe's callbacks and group,
// on a test server, and returns its URL.
func relServe(t testing.TB, p *relProbe, opts ...ws.CallbackOption) string {
	t.Helper()
	opts = append([]ws.CallbackOption{ws.WithGroup(&p.group)}, opts...)
	srv := httptest.NewServer(ws.Callback(p.onConnect, relEcho, p.onDisconnect, opts...))
	t.Cleanup(srv.Close)
	return srv.URL
}

// relDial opens a client connection; the test's end closes it.
func relDial(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp.Body != nil {
		resp.Body.Close()
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// relWrite sends one message of type typ.
func relWrite(t testing.TB, c *websocket.Conn, typ websocket.MessageType, msg []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	if err := c.Write(ctx, typ, msg); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// relRead reads one reply: a text frame holding an envelope. Error replies
// are scanned for leaked internals.
func relRead(t testing.TB, c *websocket.Conn) ws.StatusEnvelope[json.RawMessage] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("reply is a %v frame, want text", typ)
	}
	var env ws.StatusEnvelope[json.RawMessage]
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatalf("reply %q is not an envelope: %v", data, err)
	}
	if env.StatusCode >= 400 {
		relNoLeakReply(t, env)
	}
	return env
}

// relRoundTrip checks that c still gets correct replies: it sends a valid
// request with id and expects its echo.
func relRoundTrip(t testing.TB, c *websocket.Conn, id int) {
	t.Helper()
	if err := relTryRoundTrip(c, id); err != nil {
		t.Fatal(err)
	}
}

// relTryRoundTrip is relRoundTrip for goroutines other than the test's.
func relTryRoundTrip(c *websocket.Conn, id int) error {
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"text":"t%d"}`, id, id)); err != nil {
		return fmt.Errorf("request %d: %w", id, err)
	}
	_, data, err := c.Read(ctx)
	if err != nil {
		return fmt.Errorf("reply to request %d: %w", id, err)
	}
	var env ws.StatusEnvelope[json.RawMessage]
	var body relResp
	if json.Unmarshal(data, &env) != nil || json.Unmarshal(env.Body, &body) != nil || env.StatusCode != 200 || body.ID != id || body.Echo != "t"+strconv.Itoa(id) {
		return fmt.Errorf("reply to request %d: %s", id, data)
	}
	return nil
}

// relCloseOf reads until the connection ends and returns the close frame
// the server sent; its reason is scanned for leaked internals.
func relCloseOf(t testing.TB, c *websocket.Conn) websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		relNoLeak(t, "close reason", ce.Reason)
		return ce
	}
}

// relBadRequest checks env is a 400 whose first error has type typ, and
// that every entry has loc, type and msg.
func relBadRequest(t testing.TB, env ws.StatusEnvelope[json.RawMessage], typ string) {
	t.Helper()
	if env.StatusCode != 400 {
		t.Fatalf("status %d body %s, want 400", env.StatusCode, env.Body)
	}
	var list relErrorList
	if err := json.Unmarshal(env.Body, &list); err != nil || len(list.ErrorList) == 0 {
		t.Fatalf("400 body %s: not an errorList (%v)", env.Body, err)
	}
	for _, e := range list.ErrorList {
		if e.Loc == nil || e.Type == "" || e.Msg == "" {
			t.Fatalf("errorList entry without loc, type or msg: %s", env.Body)
		}
	}
	if got := list.ErrorList[0].Type; got != typ {
		t.Fatalf("error type %q, want %q (body %s)", got, typ, env.Body)
	}
}

// relInternals matches what must never reach a client: Go type names
// (main.T, *ws.Conn, json.UnmarshalTypeError), stacks, the package's own
// error prefix and encoding/json's wording of Go types.
var relInternals = regexp.MustCompile(`\*?\b[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9_]*|goroutine \d|\.go:\d|runtime\.|panic|\bws: |\bjson: |Go (struct|value)|interface \{|0x[0-9a-f]{6,}`)

// relSecret is put in every panic value and internal error of these
// tests; it must never reach a client.
const relSecret = "s3cr3t-internal-detail"

// relNoLeakReply scans an error reply for internals. An errorList can be
// long and repetitive: each distinct text is scanned once.
func relNoLeakReply(t testing.TB, env ws.StatusEnvelope[json.RawMessage]) {
	t.Helper()
	var list relErrorList
	if json.Unmarshal(env.Body, &list) != nil || len(list.ErrorList) == 0 {
		relNoLeak(t, "reply", string(env.Body))
		return
	}
	seen := make(map[string]bool)
	for _, e := range list.ErrorList {
		texts := []string{e.Type, e.Msg}
		for _, l := range e.Loc {
			if s, ok := l.(string); ok {
				texts = append(texts, s)
			}
		}
		for _, s := range texts {
			if !seen[s] {
				seen[s] = true
				relNoLeak(t, "errorList entry", s)
			}
		}
	}
}

// relNoLeak fails the test when text, sent to a client, holds internals.
func relNoLeak(t testing.TB, what, text string) {
	t.Helper()
	if m := relInternals.FindString(text); m != "" {
		t.Errorf("%s leaks %q: %q", what, m, text)
	}
	if strings.Contains(text, relSecret) {
		t.Errorf("%s leaks the internal error text: %q", what, text)
	}
}

func TestBadInputHurtsNoOne(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	// Two handlers: the default read limit, and one large enough to let the
	// bombs in.
	small := relServe(t, p)
	large := relServe(t, p, ws.WithReadLimit(4<<20))

	// Healthy clients on both handlers keep asking while the abuse goes on;
	// each must get every reply right.
	stop := make(chan struct{})
	var healthy sync.WaitGroup
	var served atomic.Int64
	for i, url := range []string{small, large} {
		c := relDial(t, url)
		healthy.Add(1)
		go func() {
			defer healthy.Done()
			// Paced, so as not to starve the abuse of CPU.
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for id := i * 1_000_000; ; id++ {
				<-tick.C
				if err := relTryRoundTrip(c, id); err != nil {
					t.Errorf("healthy client: %v", err)
					return
				}
				served.Add(1)
				select {
				case <-stop:
					return
				default:
				}
			}
		}()
	}

	nested := func(n int) []byte {
		return append(bytes.Repeat([]byte("["), n), bytes.Repeat([]byte("]"), n)...)
	}
	var manyFields bytes.Buffer
	manyFields.WriteString("{")
	for i := range 10_000 {
		fmt.Fprintf(&manyFields, `"f%d":%d,`, i, i)
	}
	manyFields.WriteString(`"id":1}`)
	blob := make([]byte, 4096)
	rand.Read(blob)

	tests := []struct {
		name string
		url  string
		typ  websocket.MessageType
		msg  []byte
		want string // the 400's error type
	}{
		{"malformed JSON", small, websocket.MessageText, []byte(`{"text": "x"`), "json_invalid"},
		{"trailing garbage", small, websocket.MessageText, []byte(`{"text":"x"} {}`), "json_invalid"},
		{"wrong type", small, websocket.MessageText, []byte(`{"text": 5}`), "string_type"},
		{"wrong type nested", small, websocket.MessageText, []byte(`{"text":"x","items":[{"name":7}]}`), "string_type"},
		{"array for object", small, websocket.MessageText, []byte(`[1,2,3]`), "model_type"},
		{"string for object", small, websocket.MessageText, []byte(`"hello"`), "model_type"},
		{"null", small, websocket.MessageText, []byte(`null`), "model_type"},
		{"empty message", small, websocket.MessageText, nil, "json_invalid"},
		{"empty binary message", small, websocket.MessageBinary, nil, "json_invalid"},
		{"binary blob", small, websocket.MessageBinary, blob, "json_invalid"},
		{"huge number", small, websocket.MessageText, []byte(`{"text":"x","n":1e999}`), "finite_number"},
		{"huge integer", small, websocket.MessageText, append(append([]byte(`{"text":"x","id":`), bytes.Repeat([]byte("9"), 30_000)...), '}'), "int_type"},
		{"depth bomb under the limit", small, websocket.MessageText, nested(16_000), "json_invalid"},
		{"nested objects under the depth limit", small, websocket.MessageText, []byte(strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)), "missing"},
		{"depth bomb of objects", large, websocket.MessageText, []byte(strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000)), "json_invalid"},
		{"fraction for integer", small, websocket.MessageText, []byte(`{"text":"x","id":1.5}`), "int_from_float"},
		{"integer out of range", small, websocket.MessageText, []byte(`{"text":"x","id":99999999999999999999}`), "int_type"},
		{"depth bomb 100000", large, websocket.MessageText, nested(100_000), "json_invalid"},
		{"depth bomb 100000 binary", large, websocket.MessageBinary, nested(100_000), "json_invalid"},
		{"10000 fields", large, websocket.MessageText, manyFields.Bytes(), "missing"},
		{"10000 invalid items", large, websocket.MessageText, []byte(`{"text":"x","items":[` + strings.Repeat(`{},`, 9_999) + `{}]}`), "missing"},
	}
	t.Run("abuse", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := relDial(t, tc.url)
				relWrite(t, c, tc.typ, tc.msg)
				relBadRequest(t, relRead(t, c), tc.want)
				// The same connection goes on.
				relRoundTrip(t, c, 7)
			})
		}
		t.Run("invalid UTF-8", func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			url := relServe(t, p)
			for _, msg := range []string{"\xff", "{\"text\":\"caf\xe9\"}", "{\"text\":\"\xed\xa0\x80\"}", "{\"text\":\"ok\"}\xc0"} {
				c := relDial(t, url)
				relWrite(t, c, websocket.MessageText, []byte(msg))
				if ce := relCloseOf(t, c); ce.Code != websocket.StatusInvalidFramePayloadData {
					t.Fatalf("%q: close %d %q, want 1007", msg, ce.Code, ce.Reason)
				}
				if err := p.next(t); websocket.CloseStatus(err) != websocket.StatusInvalidFramePayloadData {
					t.Fatalf("%q: onDisconnect got %v (close status %d), want 1007", msg, err, websocket.CloseStatus(err))
				}
			}
		})
		t.Run("depth bomb 100000 over the default limit", func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			rc := rawDial(t, relServe(t, p))
			// The server stops reading at the limit: write from another
			// goroutine, and expect the write to fail.
			go rc.nc.Write(rawFrame{fin: true, op: opText, payload: nested(100_000), masked: true}.bytes())
			if code, reason := rc.closeFrame(t); code != 1009 {
				t.Fatalf("close %d %q, want 1009", code, reason)
			}
			if err := p.next(t); !errors.Is(err, websocket.ErrMessageTooBig) || websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Fatalf("onDisconnect got %v (close status %d), want ErrMessageTooBig and 1009", err, websocket.CloseStatus(err))
			}
		})
	})

	close(stop)
	healthy.Wait()
	if served.Load() < 2 {
		t.Fatalf("healthy clients got %d replies during the abuse", served.Load())
	}
	// Nothing that went before disturbed a fresh connection either.
	relRoundTrip(t, relDial(t, small), 1)
	relRoundTrip(t, relDial(t, large), 2)
}

func TestReadLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []ws.CallbackOption
		limit int
	}{
		{"default 32 KiB", nil, 32 << 10},
		{"WithReadLimit(1 KiB)", []ws.CallbackOption{ws.WithReadLimit(1 << 10)}, 1 << 10},
		{"WithReadLimit(1 MiB)", []ws.CallbackOption{ws.WithReadLimit(1 << 20)}, 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			url := relServe(t, p, tc.opts...)
			// Exactly at the limit passes.
			c := relDial(t, url)
			msg := fmt.Appendf(nil, `{"id":1,"text":"%s"}`, strings.Repeat("a", tc.limit-len(`{"id":1,"text":""}`)))
			relWrite(t, c, websocket.MessageText, msg)
			if env := relRead(t, c); env.StatusCode != 200 {
				t.Fatalf("message of exactly the limit: status %d", env.StatusCode)
			}
			// One byte more closes with 1009.
			relWrite(t, c, websocket.MessageText, append(msg, ' '))
			if ce := relCloseOf(t, c); ce.Code != websocket.StatusMessageTooBig {
				t.Fatalf("close %d %q, want 1009", ce.Code, ce.Reason)
			}
			if err := p.next(t); !errors.Is(err, websocket.ErrMessageTooBig) || websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
				t.Fatalf("onDisconnect got %v (close status %d), want ErrMessageTooBig and 1009", err, websocket.CloseStatus(err))
			}
		})
	}
}

// TestReadLimitDoesNotBuffer announces a 1 GiB frame and sends only a few
// KiB past the limit: the server must close with 1009 at the limit, not wait
// for the rest.
func TestReadLimitDoesNotBuffer(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{1 << 10, 32 << 10} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			t.Parallel()
			p := newRelProbe(t)
			var opts []ws.CallbackOption
			if limit != 32<<10 {
				opts = append(opts, ws.WithReadLimit(int64(limit)))
			}
			url := relServe(t, p, opts...)
			rc := rawDial(t, url)
			rc.write(t, rawFrame{fin: true, op: opText, length: 1 << 30}.header())
			rc.write(t, rc.mask(bytes.Repeat([]byte("a"), limit+4096)))
			code, _ := rc.closeFrame(t)
			if code != 1009 {
				t.Fatalf("close %d, want 1009", code)
			}
			if err := p.next(t); !errors.Is(err, websocket.ErrMessageTooBig) {
				t.Fatalf("onDisconnect got %v, want ErrMessageTooBig", err)
			}
		})
	}
}

func TestClientDropsMidFrame(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p)
	rc := rawDial(t, url)
	rc.write(t, rawFrame{fin: true, op: opText, length: 1000}.header())
	rc.write(t, rc.mask([]byte(`{"text":"`)))
	rc.nc.Close()
	err := p.next(t)
	if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		t.Fatalf("onDisconnect got %v, want an EOF", err)
	}
	if websocket.CloseStatus(err) != -1 {
		t.Fatalf("close status %d, want -1 (no close frame)", websocket.CloseStatus(err))
	}
}

func TestClientDropsBetweenMessages(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p)
	c := relDial(t, url)
	relRoundTrip(t, c, 1)
	c.CloseNow()
	if err := p.next(t); !errors.Is(err, io.EOF) || websocket.CloseStatus(err) != -1 {
		t.Fatalf("onDisconnect got %v (close status %d), want io.EOF and -1", err, websocket.CloseStatus(err))
	}
}

func TestClientCloses(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p)
	c := relDial(t, url)
	relRoundTrip(t, c, 1)
	if err := c.Close(4001, "bye"); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := p.next(t); websocket.CloseStatus(err) != 4001 {
		t.Fatalf("onDisconnect got %v (close status %d), want 4001", err, websocket.CloseStatus(err))
	}
}

// TestSlowConsumer pushes to a client that never reads: with a small write
// timeout the server drops it, the pushing goroutine returns with
// a write timeout (os.ErrDeadlineExceeded), and so does onDisconnect.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	pushed := make(chan error, 1)
	chunk := strings.Repeat("x", 64<<10)
	connect := func(ctx context.Context, c *ws.Conn) error {
		p.onConnect(ctx, c)
		go func() {
			for {
				if err := c.SendJSON(context.Background(), map[string]string{"push": chunk}); err != nil {
					pushed <- err
					return
				}
			}
		}()
		return nil
	}
	srv := httptest.NewServer(ws.Callback(connect, relEcho, p.onDisconnect,
		ws.WithGroup(&p.group), ws.WithWriteTimeout(100*time.Millisecond)))
	t.Cleanup(srv.Close)

	rc := rawDial(t, srv.URL) // reads nothing from here on
	select {
	case err := <-pushed:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("SendJSON returned %v, want a write timeout (os.ErrDeadlineExceeded)", err)
		}
	case <-time.After(relTimeout):
		t.Fatal("the pushing goroutine is still blocked")
	}
	if err := p.next(t); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("onDisconnect got %v, want a write timeout (os.ErrDeadlineExceeded)", err)
	}
	_ = rc
}

// TestPongTimeout connects a client that never answers pings.
func TestPongTimeout(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p, ws.WithPingInterval(50*time.Millisecond))

	rc := rawDial(t, url)
	// The server pings, and drops the connection when no pong comes.
	sawPing := false
	for {
		f, err := rc.readFrame()
		if err != nil {
			break
		}
		if f.op == opPing {
			sawPing = true
		}
		if f.op == opClose {
			t.Fatalf("server sent a close frame %v; want the connection dropped", f.payload)
		}
	}
	if !sawPing {
		t.Fatal("the server never pinged")
	}
	if err := p.next(t); !errors.Is(err, os.ErrDeadlineExceeded) || websocket.CloseStatus(err) != -1 {
		t.Fatalf("onDisconnect got %v (close status %d), want a pong timeout (os.ErrDeadlineExceeded)", err, websocket.CloseStatus(err))
	}
}

// TestPingsKeepAnsweringClientAlive: a client that answers pings stays
// connected across several of them and keeps getting replies.
func TestPingsKeepAnsweringClientAlive(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	// Each pong must come within the interval: leave room for a machine
	// loaded with the rest of the suite under -race.
	url := relServe(t, p, ws.WithPingInterval(2*time.Second))
	rc := rawDial(t, url)
	pings := make(chan struct{}, 1)
	texts := make(chan string, 1)
	go func() {
		defer close(texts)
		for {
			f, err := rc.readFrame()
			if err != nil {
				return
			}
			switch f.op {
			case opPing:
				rc.nc.Write(rawFrame{fin: true, op: opPong, payload: f.payload, masked: true}.bytes())
				select {
				case pings <- struct{}{}:
				default:
				}
			case opText:
				texts <- string(f.payload)
			}
		}
	}()
	for range 2 {
		select {
		case <-pings:
		case err := <-p.ended:
			t.Fatalf("connection ended although the client answered pings: %v", err)
		}
	}
	rc.write(t, rawFrame{fin: true, op: opText, payload: []byte(`{"id":3,"text":"t3"}`), masked: true}.bytes())
	if got, want := <-texts, `{"statusCode":200,"body":{"id":3,"echo":"t3"}}`; got != want {
		t.Fatalf("reply %q, want %q; onDisconnect got %v", got, want, p.next(t))
	}
	select {
	case err := <-p.ended:
		t.Fatalf("connection ended although the client answered pings: %v", err)
	default:
	}
}

// TestPanicsAreRecovered panics in every callback and in a Handler: each
// panic is logged with its stack, nothing of it reaches the client, and the
// process goes on.
func TestPanicsAreRecovered(t *testing.T) {
	t.Parallel()
	boom := func() { panic(relSecret + " boom") }
	type req struct {
		Panic bool `json:"panic"`
	}

	t.Run("onReceive", func(t *testing.T) {
		t.Parallel()
		var log syncBuffer
		p := newRelProbe(t)
		srv := httptest.NewServer(ws.Callback(p.onConnect, func(ctx context.Context, in req) (string, error) {
			if in.Panic {
				boom()
			}
			return "fine", nil
		}, p.onDisconnect, ws.WithGroup(&p.group), ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		c := relDial(t, srv.URL)
		relWrite(t, c, websocket.MessageText, []byte(`{"panic":true}`))
		if env := relRead(t, c); env.StatusCode != 500 {
			t.Fatalf("status %d body %s, want 500", env.StatusCode, env.Body)
		}
		// The connection goes on.
		relWrite(t, c, websocket.MessageText, []byte(`{"panic":false}`))
		if env := relRead(t, c); env.StatusCode != 200 || string(env.Body) != `"fine"` {
			t.Fatalf("after the panic: status %d body %s", env.StatusCode, env.Body)
		}
		relPanicLogged(t, &log, "onReceive")
	})

	t.Run("onConnect", func(t *testing.T) {
		t.Parallel()
		var log syncBuffer
		disconnected := make(chan struct{}, 1)
		srv := httptest.NewServer(ws.Callback(func(ctx context.Context, c *ws.Conn) error {
			boom()
			return nil
		}, relEcho, func(ctx context.Context, c *ws.Conn, err error) {
			disconnected <- struct{}{}
		}, ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		c := relDial(t, srv.URL)
		if ce := relCloseOf(t, c); ce.Code != websocket.StatusInternalError {
			t.Fatalf("close %d %q, want 1011", ce.Code, ce.Reason)
		}
		relPanicLogged(t, &log, "onConnect")
		// onDisconnect does not run for a connection whose onConnect failed:
		// a fresh connection proves the handler lives, and the
		// disconnected channel stays empty.
		c2 := relDial(t, srv.URL)
		relCloseOf(t, c2)
		select {
		case <-disconnected:
			t.Fatal("onDisconnect ran although onConnect failed")
		default:
		}
	})

	t.Run("onDisconnect", func(t *testing.T) {
		t.Parallel()
		var log syncBuffer
		var disconnects atomic.Int32
		srv := httptest.NewServer(ws.Callback(nil, relEcho, func(ctx context.Context, c *ws.Conn, err error) {
			if disconnects.Add(1) == 1 {
				boom()
			}
		}, ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		c := relDial(t, srv.URL)
		relRoundTrip(t, c, 1)
		c.Close(websocket.StatusNormalClosure, "")
		relWaitLog(t, &log, "onDisconnect")
		relPanicLogged(t, &log, "onDisconnect")
		// The process and the handler go on.
		relRoundTrip(t, relDial(t, srv.URL), 2)
	})

	t.Run("Handler", func(t *testing.T) {
		t.Parallel()
		var log syncBuffer
		srv := httptest.NewServer(ws.Handler(func(ctx context.Context, c *ws.Conn) error {
			var v map[string]any
			if err := c.ReceiveJSON(ctx, &v); err != nil {
				return err
			}
			if v["panic"] == true {
				boom()
			}
			return c.SendJSON(ctx, v)
		}, ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		c := relDial(t, srv.URL)
		relWrite(t, c, websocket.MessageText, []byte(`{"panic":true}`))
		if ce := relCloseOf(t, c); ce.Code != websocket.StatusInternalError {
			t.Fatalf("close %d %q, want 1011", ce.Code, ce.Reason)
		}
		relPanicLogged(t, &log, "handler")
		c2 := relDial(t, srv.URL)
		relWrite(t, c2, websocket.MessageText, []byte(`{"panic":false}`))
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		if _, data, err := c2.Read(ctx); err != nil || string(data) != `{"panic":false}` {
			t.Fatalf("after the panic: %q, %v", data, err)
		}
	})
}

// relWaitLog waits until the log mentions a panic in where.
func relWaitLog(t *testing.T, log *syncBuffer, where string) {
	t.Helper()
	deadline := time.Now().Add(relTimeout)
	for !strings.Contains(log.String(), "ws: panic in "+where) {
		if time.Now().After(deadline) {
			t.Fatalf("no panic in %s logged:\n%s", where, log)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// relPanicLogged checks the log holds the panic in where with its value and
// a stack that reaches the panicking test code.
func relPanicLogged(t *testing.T, log *syncBuffer, where string) {
	t.Helper()
	relWaitLog(t, log, where)
	s := log.String()
	for _, want := range []string{relSecret + " boom", "stack=", "goroutine ", "reliability_test.go:", "level=ERROR"} {
		if !strings.Contains(s, want) {
			t.Fatalf("panic log lacks %q:\n%s", want, s)
		}
	}
}

// TestErrorTextNeverLeaks returns internal errors from every place that can
// fail and checks nothing of them reaches the client.
func TestErrorTextNeverLeaks(t *testing.T) {
	t.Parallel()
	secretErr := fmt.Errorf("open /etc/%s: %w", relSecret, errors.New("permission denied"))
	type req struct {
		Kind string `json:"kind"`
	}
	var log syncBuffer

	t.Run("onReceive error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(ws.Callback(nil, func(ctx context.Context, in req) (any, error) {
			switch in.Kind {
			case "wrapped":
				return nil, fmt.Errorf("query: %w", secretErr)
			case "unencodable":
				return func() {}, nil // json cannot encode a func
			case "unencodable-map":
				return map[string]any{relSecret: make(chan int)}, nil
			}
			return nil, secretErr
		}, nil, ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		c := relDial(t, srv.URL)
		for _, kind := range []string{"plain", "wrapped", "unencodable", "unencodable-map"} {
			relWrite(t, c, websocket.MessageText, []byte(`{"kind":"`+kind+`"}`))
			if env := relRead(t, c); env.StatusCode != 500 {
				t.Fatalf("%s: status %d body %s, want 500", kind, env.StatusCode, env.Body)
			}
		}
	})

	t.Run("onConnect error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(ws.Callback(func(ctx context.Context, c *ws.Conn) error {
			return secretErr
		}, relEcho, nil, ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		if ce := relCloseOf(t, relDial(t, srv.URL)); ce.Code != websocket.StatusPolicyViolation {
			t.Fatalf("close %d %q, want 1008", ce.Code, ce.Reason)
		}
	})

	t.Run("Handler error", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(ws.Handler(func(ctx context.Context, c *ws.Conn) error {
			return secretErr
		}, ws.WithLogger(newLogger(&log))))
		t.Cleanup(srv.Close)
		if ce := relCloseOf(t, relDial(t, srv.URL)); ce.Code != websocket.StatusInternalError {
			t.Fatalf("close %d %q, want 1011", ce.Code, ce.Reason)
		}
	})

	t.Run("ReceiveJSON errors", func(t *testing.T) {
		t.Parallel()
		// A Handler that sends back what ReceiveJSON says, as its docs
		// suggest: that text reaches the client too.
		type strict struct {
			N int       `json:"n"`
			T time.Time `json:"t"`
			M []int     `json:"m"`
		}
		srv := httptest.NewServer(ws.Handler(func(ctx context.Context, c *ws.Conn) error {
			for {
				var v strict
				err := c.ReceiveJSON(ctx, &v)
				var list ws.ErrorList
				switch {
				case errors.As(err, &list):
					if err := c.SendJSON(ctx, ws.BadRequest(list)); err != nil {
						return err
					}
					if err := c.SendJSON(ctx, map[string]string{"error": err.Error()}); err != nil {
						return err
					}
				case err != nil:
					return err
				default:
					if err := c.SendJSON(ctx, map[string]string{"error": ""}); err != nil {
						return err
					}
				}
			}
		}))
		t.Cleanup(srv.Close)
		c := relDial(t, srv.URL)
		for _, msg := range []string{`{"n":"x"}`, `{"n":1.5}`, `{"t":"yesterday"}`, `{"m":{}}`, `{"n":`, `[`, `{"t":5}`} {
			relWrite(t, c, websocket.MessageText, []byte(msg))
			ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
			for range 2 {
				_, data, err := c.Read(ctx)
				if err != nil {
					t.Fatalf("%s: %v", msg, err)
				}
				relNoLeak(t, "ReceiveJSON's error for "+msg, strings.ReplaceAll(string(data), `"ws: `, `"`))
			}
			cancel()
		}
	})
	t.Cleanup(func() {
		// The log has the details the client did not get.
		if !strings.Contains(log.String(), relSecret) {
			t.Errorf("the internal error was not logged:\n%s", log.String())
		}
	})
}

// TestConcurrentSendJSON pushes from 100 goroutines on one connection while
// it answers requests: every frame arrives whole, none interleaved.
func TestConcurrentSendJSON(t *testing.T) {
	t.Parallel()
	const (
		pushers  = 100
		each     = 20
		requests = 200
	)
	type push struct {
		G   int    `json:"g"`
		N   int    `json:"n"`
		Pad string `json:"pad"`
	}
	pad := func(g, n int) string { return strings.Repeat(string(rune('a'+(g+n)%26)), 1000+g*10+n) }

	p := newRelProbe(t)
	var pushing sync.WaitGroup
	pushErrs := make(chan error, pushers)
	connect := func(ctx context.Context, c *ws.Conn) error {
		p.onConnect(ctx, c)
		for g := range pushers {
			pushing.Go(func() {
				for n := range each {
					if err := c.SendJSON(ctx, push{G: g, N: n, Pad: pad(g, n)}); err != nil {
						pushErrs <- err
						return
					}
				}
			})
		}
		return nil
	}
	srv := httptest.NewServer(ws.Callback(connect, relEcho, p.onDisconnect, ws.WithGroup(&p.group)))
	t.Cleanup(srv.Close)
	c := relDial(t, srv.URL)

	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		for id := range requests {
			if err := c.Write(ctx, websocket.MessageText, fmt.Appendf(nil, `{"id":%d,"text":"t%d"}`, id, id)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()

	next := make([]int, pushers) // the next n expected from each pusher
	replies := 0
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	for total := 0; total < pushers*each+requests; total++ {
		typ, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read after %d frames: %v", total, err)
		}
		if typ != websocket.MessageText || !json.Valid(data) {
			t.Fatalf("frame %d is not whole JSON text: %.200q", total, data)
		}
		if bytes.HasPrefix(data, []byte(`{"statusCode":`)) {
			var env ws.StatusEnvelope[json.RawMessage]
			var body relResp
			json.Unmarshal(data, &env)
			if err := json.Unmarshal(env.Body, &body); err != nil || env.StatusCode != 200 || body.ID != replies || body.Echo != "t"+strconv.Itoa(replies) {
				t.Fatalf("reply %d: %.200s", replies, data)
			}
			replies++
			continue
		}
		var m push
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil || m.G < 0 || m.G >= pushers {
			t.Fatalf("frame %d: %.200q: %v", total, data, err)
		}
		if m.N != next[m.G] || m.Pad != pad(m.G, m.N) {
			t.Fatalf("push from goroutine %d: got n=%d (pad %d bytes), want n=%d", m.G, m.N, len(m.Pad), next[m.G])
		}
		next[m.G]++
	}
	if err := <-sent; err != nil {
		t.Fatalf("write: %v", err)
	}
	pushing.Wait()
	select {
	case err := <-pushErrs:
		t.Fatalf("SendJSON: %v", err)
	default:
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	handshake := func(t *testing.T, url, origin string) int {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
		if err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
		if resp == nil {
			t.Fatalf("origin %q: no response: %v", origin, err)
		}
		if resp.Body != nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			relNoLeak(t, "handshake error body", string(body))
		}
		return resp.StatusCode
	}

	p := newRelProbe(t)
	def := relServe(t, p)
	host := strings.TrimPrefix(def, "http://")
	named := relServe(t, p, ws.WithOriginPatterns("good.example", "*.partner.example", "https://exact.example"))

	tests := []struct {
		url, origin string
		want        int
	}{
		{def, "http://evil.example", http.StatusForbidden},
		{def, "https://evil.example", http.StatusForbidden},
		{def, "null", http.StatusForbidden},
		{def, "http://" + host, http.StatusSwitchingProtocols}, // same origin
		{def, "", http.StatusSwitchingProtocols},               // not a browser
		{named, "http://evil.example", http.StatusForbidden},
		{named, "http://good.example", http.StatusSwitchingProtocols},
		{named, "https://good.example", http.StatusSwitchingProtocols},
		{named, "http://sub.good.example", http.StatusForbidden},
		{named, "http://good.example.evil.example", http.StatusForbidden},
		{named, "http://a.partner.example", http.StatusSwitchingProtocols},
		{named, "http://partner.example", http.StatusForbidden},
		{named, "https://exact.example", http.StatusSwitchingProtocols},
		{named, "http://exact.example", http.StatusForbidden},
	}
	for _, tc := range tests {
		if got := handshake(t, tc.url, tc.origin); got != tc.want {
			t.Errorf("%s with Origin %q: status %d, want %d", tc.url, tc.origin, got, tc.want)
		}
	}
}

type relUserKey struct{}

// relAuth is ordinary net/http middleware: it answers 401 before the
// upgrade, or puts the user on the request context.
func relAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := map[string]string{"Bearer t-ana": "ana", "Bearer t-bo": "bo"}[r.Header.Get("Authorization")]
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), relUserKey{}, user)))
	})
}

func TestAuthMiddleware(t *testing.T) {
	t.Parallel()
	var upgrades atomic.Int32
	connectUser := make(chan string, 2)
	h := ws.Callback(func(ctx context.Context, c *ws.Conn) error {
		upgrades.Add(1)
		connectUser <- ctx.Value(relUserKey{}).(string)
		return nil
	}, func(ctx context.Context, in relReq) (relResp, error) {
		return relResp{ID: in.ID, Echo: ctx.Value(relUserKey{}).(string) + ": " + in.Text}, nil
	}, nil)
	srv := httptest.NewServer(relAuth(h))
	t.Cleanup(srv.Close)

	dial := func(token string) (*websocket.Conn, *http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
		defer cancel()
		h := http.Header{}
		if token != "" {
			h.Set("Authorization", "Bearer "+token)
		}
		return websocket.Dial(ctx, srv.URL, &websocket.DialOptions{HTTPHeader: h})
	}
	for _, token := range []string{"", "wrong"} {
		c, resp, err := dial(token)
		if err == nil {
			c.CloseNow()
			t.Fatalf("token %q: handshake succeeded", token)
		}
		if resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("token %q: %v, want 401", token, err)
		}
	}
	if n := upgrades.Load(); n != 0 {
		t.Fatalf("%d connections were upgraded without a valid token", n)
	}
	for _, user := range []string{"ana", "bo"} {
		c, _, err := dial("t-" + user)
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if got := <-connectUser; got != user {
			t.Fatalf("onConnect saw user %q, want %q", got, user)
		}
		relWrite(t, c, websocket.MessageText, []byte(`{"id":1,"text":"hi"}`))
		env := relRead(t, c)
		var body relResp
		json.Unmarshal(env.Body, &body)
		if body.Echo != user+": hi" {
			t.Fatalf("onReceive saw %q, want user %q", body.Echo, user)
		}
		c.Close(websocket.StatusNormalClosure, "")
	}
}

// --- raw WebSocket frames over a plain TCP connection -------------------

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// rawFrame is a frame written by hand. length, when not zero, is the
// payload length the header announces instead of len(payload).
type rawFrame struct {
	fin     bool
	rsv     byte // the three RSV bits, in place (0x70 for all)
	op      byte
	masked  bool
	payload []byte
	length  int64
	zeroKey bool // mask with 00 00 00 00, which leaves the payload readable
}

var rawMaskKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

func (f rawFrame) key() [4]byte {
	if f.zeroKey {
		return [4]byte{}
	}
	return rawMaskKey
}

// header encodes the frame's header, masked with rawMaskKey when the frame
// is masked or announces a length of its own.
func (f rawFrame) header() []byte {
	b0 := f.op | f.rsv
	if f.fin {
		b0 |= 0x80
	}
	n := f.length
	if n == 0 {
		n = int64(len(f.payload))
	}
	masked := f.masked || f.length != 0
	var b1 byte
	if masked {
		b1 = 0x80
	}
	h := []byte{b0}
	switch {
	case n < 126:
		h = append(h, b1|byte(n))
	case n <= 0xffff:
		h = append(h, b1|126, byte(n>>8), byte(n))
	default:
		h = append(h, b1|127)
		for i := 7; i >= 0; i-- {
			h = append(h, byte(n>>(8*i)))
		}
	}
	if masked {
		key := f.key()
		h = append(h, key[:]...)
	}
	return h
}

// bytes encodes the whole frame.
func (f rawFrame) bytes() []byte {
	p := append([]byte(nil), f.payload...)
	if f.masked {
		key := f.key()
		for i := range p {
			p[i] ^= key[i%4]
		}
	}
	return append(f.header(), p...)
}

// rawConn is a client that speaks WebSocket by hand.
type rawConn struct {
	nc net.Conn
	br *bufio.Reader
}

// rawDial does the HTTP upgrade by hand on a TCP connection.
func rawDial(t testing.TB, url string) *rawConn {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	nc, err := net.DialTimeout("tcp", host, relTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	// A guard against hanging, not a timing assertion.
	nc.SetDeadline(time.Now().Add(relTimeout))
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade: %s %v", resp.Status, resp.Header)
	}
	return &rawConn{nc: nc, br: br}
}

func (c *rawConn) write(t testing.TB, p []byte) {
	t.Helper()
	if _, err := c.nc.Write(p); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// mask masks p with rawMaskKey, as the payload of a frame whose header
// came from rawFrame.header.
func (c *rawConn) mask(p []byte) []byte {
	for i := range p {
		p[i] ^= rawMaskKey[i%4]
	}
	return p
}

var errServerMasked = errors.New("server sent a masked frame")

type rawRead struct {
	fin     bool
	op      byte
	payload []byte
}

// readFrame reads one frame the server sent; server frames are never
// masked.
func (c *rawConn) readFrame() (rawRead, error) {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return rawRead{}, err
	}
	if h[1]&0x80 != 0 {
		return rawRead{}, errServerMasked
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return rawRead{}, err
		}
		n = int64(b[0])<<8 | int64(b[1])
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(c.br, b[:]); err != nil {
			return rawRead{}, err
		}
		n = 0
		for _, x := range b {
			n = n<<8 | int64(x)
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		return rawRead{}, err
	}
	return rawRead{fin: h[0]&0x80 != 0, op: h[0] & 0x0f, payload: p}, nil
}

// closeFrame reads until the server's close frame and returns its code and
// reason, then answers it and checks the server ends the TCP connection. It
// returns code -1 when the server dropped the connection without a close
// frame.
func (c *rawConn) closeFrame(t testing.TB) (int, string) {
	t.Helper()
	for {
		f, err := c.readFrame()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return -1, ""
			}
			t.Fatalf("waiting for close: %v", err)
		}
		if f.op != opClose {
			continue
		}
		code, reason := -1, ""
		if len(f.payload) >= 2 {
			code = int(f.payload[0])<<8 | int(f.payload[1])
			reason = string(f.payload[2:])
		}
		relNoLeak(t, "close reason", reason)
		// Answer the close, then the server must hang up.
		c.nc.Write(rawFrame{fin: true, op: opClose, payload: f.payload[:min(2, len(f.payload))], masked: true}.bytes())
		if _, err := io.Copy(io.Discard, c.br); err != nil && !isReset(err) {
			t.Fatalf("after the close frame: %v", err)
		}
		return code, reason
	}
}

// isReset reports a connection reset by the server, which is how a server
// that closes with unread input still queued ends the connection.
func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset by peer")
}
