package chatapp_test

import (
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/leaktest"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestMain fails the run when goroutines of the module or of
// coder/websocket outlive the tests: every connection, and its writer in
// the hub, must end.
func TestMain(m *testing.M) { leaktest.Main(m, 10*time.Second) }

// frame is a message from the server, as a client reads it: a reply, a
// push or a stream's item.
type frame struct {
	ID         json.RawMessage `json:"id"`
	Event      string          `json:"event"`
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body"`
	More       bool            `json:"more"`

	raw []byte
}

// errors returns the errorList of a refused request's body.
func (f frame) errors(t *testing.T) []ws.ErrorDetail {
	t.Helper()
	var list ws.ErrorList
	if err := json.Unmarshal(f.Body, &list); err != nil || len(list.Errors) == 0 {
		t.Fatalf("%s: want a body with an errorList (%v)", f.raw, err)
	}
	return list.Errors
}

func newServer(t *testing.T) (*httptest.Server, *ws.Group) {
	t.Helper()
	conns := new(ws.Group)
	srv := httptest.NewServer(chatapp.NewMux(conns, hub.New()))
	t.Cleanup(srv.Close)
	return srv, conns
}

// client is a connection to the server, read by one goroutine at a time:
// the test's.
type client struct {
	t       *testing.T
	conn    *websocket.Conn
	ids     int
	backlog []frame // frames read while waiting for another one
}

func dial(t *testing.T, srv *httptest.Server, path string) *client {
	t.Helper()
	c, _, err := websocket.Dial(t.Context(), "ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &client{t: t, conn: c}
}

// joined returns a client of GET /ws that has joined the room as user.
func joined(t *testing.T, srv *httptest.Server, user string) *client {
	t.Helper()
	c := dial(t, srv, "/ws")
	if r := c.call("chat.join", map[string]string{"user": user}); r.StatusCode != 200 {
		t.Fatalf("join as %q: %s", user, r.raw)
	}
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	if err := wsjson.Write(c.t.Context(), c.conn, v); err != nil {
		c.t.Fatal(err)
	}
}

// read reads the next frame from the wire.
func (c *client) read() frame {
	c.t.Helper()
	_, data, err := c.conn.Read(c.t.Context())
	if err != nil {
		c.t.Fatal(err)
	}
	f := frame{raw: data}
	if err := json.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("%s: %v", data, err)
	}
	return f
}

// next returns the first frame, from the backlog or else the wire, for
// which match is true; the frames before it go to the backlog.
func (c *client) next(match func(frame) bool) frame {
	c.t.Helper()
	for i, f := range c.backlog {
		if match(f) {
			c.backlog = append(c.backlog[:i], c.backlog[i+1:]...)
			return f
		}
	}
	for {
		f := c.read()
		if match(f) {
			return f
		}
		c.backlog = append(c.backlog, f)
	}
}

// request sends an event with a new id and returns the id.
func (c *client) request(event string, data any) string {
	c.t.Helper()
	c.ids++
	id := strconv.Itoa(c.ids)
	c.send(map[string]any{"event": event, "id": id, "data": data})
	return id
}

// reply returns the next frame of the request id.
func (c *client) reply(id string) frame {
	c.t.Helper()
	quoted := strconv.Quote(id)
	return c.next(func(f frame) bool { return string(f.ID) == quoted })
}

// call sends a request and returns its reply; pushes read meanwhile wait
// in the backlog.
func (c *client) call(event string, data any) frame {
	c.t.Helper()
	return c.reply(c.request(event, data))
}

// callback sends a request of GET /chat and returns its reply: the next
// frame that is not a push.
func (c *client) callback(req any) frame {
	c.t.Helper()
	c.send(req)
	return c.next(func(f frame) bool { return f.Event == "" })
}

// push returns the next frame without an id: a push.
func (c *client) push() frame {
	c.t.Helper()
	return c.next(func(f frame) bool { return f.ID == nil })
}

// message decodes a ChatMessage body.
func message(t *testing.T, f frame) chatapp.ChatMessage {
	t.Helper()
	var m chatapp.ChatMessage
	if err := json.Unmarshal(f.Body, &m); err != nil {
		t.Fatalf("%s: %v", f.raw, err)
	}
	return m
}
