// Package wstest tests WebSocket endpoints the way net/http/httptest tests
// HTTP handlers: it serves a handler ([ws.Router], [ws.Callback],
// [ws.Handler] or any [http.Handler]) on a local test server and dials it
// with a [wsclient.Client], both closed when the test ends:
//
//	func TestSend(t *testing.T) {
//		c := wstest.Dial(t, newRouter())
//		msg, err := wsclient.Call[ChatMessage](t.Context(), c, "chat.send", SendRequest{Message: "hi"})
//		…
//		_, err = wsclient.Call[ChatMessage](t.Context(), c, "chat.send", SendRequest{})
//		wstest.ErrorAt(t, err, "message") // a 400 whose errorList names "message"
//		got := wstest.NextPush[ChatMessage](t, other, "chat.message")
//	}
//
// Every wait of the package gives up after a bound, 10 s unless the
// server's [Server.Timeout] says otherwise, so that a broken test fails
// instead of hanging; the bound is no assertion about speed. [Timeout] gives
// a client's bound, for the test's own waits.
package wstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/coder/websocket"
)

// defaultTimeout bounds the waits of a client whose server sets no
// Timeout.
const defaultTimeout = 10 * time.Second

// Server is a handler served on a local test server.
type Server struct {
	*httptest.Server
	// URL is the server's address as a WebSocket URL: "ws://127.0.0.1:port".
	URL string
	// Timeout bounds every wait of the package for the clients dialed with
	// [Server.Dial]: the dial, the next push, the end of a connection. It
	// only keeps a broken test from hanging; raise it on a very slow
	// machine, before dialing. Zero means 10 s.
	Timeout time.Duration
}

// NewServer starts h on a local test server, closed when the test ends.
func NewServer(t testing.TB, h http.Handler) *Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Server{Server: srv, URL: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// Dial dials the server at path ("" or "/ws") with a [wsclient.Client],
// closed when the test ends. It fails the test when the dial fails.
func (s *Server) Dial(t testing.TB, path string, opts ...wsclient.Option) *wsclient.Client {
	t.Helper()
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	return dial(t, s.URL+path, timeout, opts)
}

// Dial starts h on a local test server and dials it: [NewServer] and
// [Server.Dial] at the server's root.
func Dial(t testing.TB, h http.Handler, opts ...wsclient.Option) *wsclient.Client {
	t.Helper()
	return NewServer(t, h).Dial(t, "", opts...)
}

// recorders keeps, for each client dialed here, the frames no handler took.
var recorders sync.Map // *wsclient.Client → *recorder

// recorder keeps the unhandled frames of one client, by event, for
// [NextPush], and the bound on the client's waits.
type recorder struct {
	timeout time.Duration

	mu     sync.Mutex
	frames map[string][]wsclient.Message
	more   chan struct{} // closed and replaced when a frame arrives
}

func (r *recorder) add(ctx context.Context, m wsclient.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames[m.Event] = append(r.frames[m.Event], m)
	close(r.more)
	r.more = make(chan struct{})
}

// DialURL dials url with a [wsclient.Client], closed when the test ends.
// Unless opts hold [wsclient.WithUnhandled], the frames no [wsclient.On]
// handler takes are kept for [NextPush]. It fails the test when the dial
// fails.
//
// Its waits are bounded by 10 s; a [Server]'s clients, dialed with
// [Server.Dial], by the server's Timeout.
func DialURL(t testing.TB, url string, opts ...wsclient.Option) *wsclient.Client {
	t.Helper()
	return dial(t, url, defaultTimeout, opts)
}

func dial(t testing.TB, url string, timeout time.Duration, opts []wsclient.Option) *wsclient.Client {
	t.Helper()
	r := &recorder{timeout: timeout, frames: make(map[string][]wsclient.Message), more: make(chan struct{})}
	opts = append([]wsclient.Option{wsclient.WithUnhandled(r.add)}, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := wsclient.Dial(ctx, url, opts...)
	if err != nil {
		t.Fatalf("wstest: dial %s: %v", url, err)
	}
	recorders.Store(c, r)
	t.Cleanup(func() {
		c.Close()
		recorders.Delete(c)
	})
	return c
}

// Timeout returns the bound on the waits for c: its server's
// [Server.Timeout], or 10 s. Use it to bound a test's own waits on c.
func Timeout(c *wsclient.Client) time.Duration {
	if r, ok := recorders.Load(c); ok {
		return r.(*recorder).timeout
	}
	return defaultTimeout
}

// NextPush returns the body of the next push of event that c received,
// decoded into T, waiting for it if none is there yet; event "" takes the
// frames that have no event, such as what a [ws.Callback]'s handlers send
// with SendJSON, decoded whole. It sees the frames that no call and no
// [wsclient.On] handler took, on a client made by this package without
// [wsclient.WithUnhandled]. It fails the test when none comes within
// [Timeout](c), when the frame's statusCode is other than 200 (a push's), or
// when the body does not decode.
func NextPush[T any](t testing.TB, c *wsclient.Client, event string) T {
	t.Helper()
	var v T
	ri, ok := recorders.Load(c)
	if !ok {
		t.Fatalf("wstest: NextPush needs a client dialed by wstest")
		return v
	}
	r := ri.(*recorder)
	timer := time.NewTimer(r.timeout)
	defer timer.Stop()
	for {
		r.mu.Lock()
		if q := r.frames[event]; len(q) > 0 {
			m := q[0]
			r.frames[event] = q[1:]
			r.mu.Unlock()
			if m.Status != 0 && m.Status != http.StatusOK {
				t.Fatalf("wstest: push %q has status %d, want 200: %s", event, m.Status, m.Body)
			}
			if err := json.Unmarshal(m.Body, &v); err != nil {
				t.Fatalf("wstest: push %q: body %s does not decode into %T: %v", event, m.Body, v, err)
			}
			return v
		}
		more := r.more
		r.mu.Unlock()
		select {
		case <-more:
		case <-c.Done():
			t.Fatalf("wstest: no push %q: the client has ended: %v", event, c.Err())
			return v
		case <-timer.C:
			t.Fatalf("wstest: no push %q within %v", event, r.timeout)
			return v
		}
	}
}

// ErrorAt checks that err is a 400 [*ws.Error] whose errorList has an
// entry at loc (such as "items", 1, "name"; none for the whole message),
// and returns that entry, for its type and msg. It fails the test
// otherwise.
func ErrorAt(t testing.TB, err error, loc ...any) ws.ErrorDetail {
	t.Helper()
	var e *ws.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		t.Fatalf("wstest: got error %v, want a 400 errorList at %v", err, loc)
		return ws.ErrorDetail{}
	}
	list, ok := e.Body.(ws.ErrorList)
	if !ok {
		t.Fatalf("wstest: 400 body %v is no errorList", e.Body)
	}
	if loc == nil {
		loc = []any{}
	}
	for _, d := range list.Errors {
		if reflect.DeepEqual(d.Loc, loc) {
			return d
		}
	}
	t.Fatalf("wstest: errorList has no entry at %v: %s", loc, fmt.Sprint(list.Errors))
	return ws.ErrorDetail{}
}

// Closed waits until c has ended ([wsclient.Client.Done]) and checks the
// close code of its connection's end; -1 means it ended without one (a
// dropped connection). It fails the test when c is still running after
// [Timeout](c) or the code differs.
func Closed(t testing.TB, c *wsclient.Client, code websocket.StatusCode) {
	t.Helper()
	timeout := Timeout(c)
	select {
	case <-c.Done():
	case <-time.After(timeout):
		t.Fatalf("wstest: client still connected after %v, want close %d", timeout, code)
	}
	if got := websocket.CloseStatus(c.Err()); got != code {
		t.Fatalf("wstest: client ended with %v (close %d), want close %d", c.Err(), got, code)
	}
}
