package chatapp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/leaktest"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
)

// TestMain fails the run when goroutines of the module or of
// coder/websocket outlive the tests: every connection, its writer in the
// hub and every stream must end.
func TestMain(m *testing.M) { leaktest.Main(m, 10*time.Second) }

func newServer(t *testing.T) (*wstest.Server, *ws.Group) {
	t.Helper()
	conns := new(ws.Group)
	return wstest.NewServer(t, chatapp.NewMux(conns, hub.New(chatapp.KeepHistory))), conns
}

// client is a wsclient.Client with the frames no call took (pushes, and
// anything else unexpected) in the order they arrived.
type client struct {
	*wsclient.Client
	t      *testing.T
	pushes chan wsclient.Message
}

// dial dials path on srv.
func dial(t *testing.T, srv *wstest.Server, path string) *client {
	t.Helper()
	return dialFrom(t, srv, path, "")
}

// dialFrom dials path on srv from the loopback address ip, such as
// 127.0.0.2, so that the server sees another client address; "" dials from
// the default one, 127.0.0.1.
func dialFrom(t *testing.T, srv *wstest.Server, path, ip string) *client {
	t.Helper()
	c := &client{t: t, pushes: make(chan wsclient.Message, 1024)}
	opts := []wsclient.Option{wsclient.WithUnhandled(func(ctx context.Context, m wsclient.Message) {
		select {
		case c.pushes <- m:
		case <-ctx.Done():
		}
	})}
	if ip != "" {
		opts = append(opts, wsclient.WithHTTPClient(from(ip)))
	}
	c.Client = srv.Dial(t, path, opts...)
	return c
}

// from returns an HTTP client whose connections leave from the loopback
// address ip.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// joined returns a client of GET /ws that has joined the room as user.
func joined(t *testing.T, srv *wstest.Server, user string) *client {
	t.Helper()
	return joinedFrom(t, srv, user, "")
}

// joinedFrom is joined from the loopback address ip ("" for the default).
func joinedFrom(t *testing.T, srv *wstest.Server, user, ip string) *client {
	t.Helper()
	c := dialFrom(t, srv, "/ws", ip)
	if _, err := wsclient.Call[chatapp.Joined](t.Context(), c.Client, "chat.join", chatapp.JoinRequest{User: user}); err != nil {
		t.Fatalf("join as %q: %v", user, err)
	}
	return c
}

// push returns the next frame no call took. The bound only keeps a broken
// test from hanging.
func (c *client) push() wsclient.Message {
	c.t.Helper()
	select {
	case m := <-c.pushes:
		return m
	case <-c.Done():
		c.t.Fatalf("no push: the client has ended: %v", c.Err())
	case <-time.After(wstest.Timeout(c.Client)):
		c.t.Fatalf("no push within %v", wstest.Timeout(c.Client))
	}
	return wsclient.Message{}
}

// message returns the next push, which must be a chat.message.
func (c *client) message() chatapp.ChatMessage {
	c.t.Helper()
	p := c.push()
	var m chatapp.ChatMessage
	if p.Event != "chat.message" || p.Status != 200 || json.Unmarshal(p.Body, &m) != nil {
		c.t.Fatalf("push %q %d %s: want a chat.message", p.Event, p.Status, p.Body)
	}
	return m
}

// send posts message on /ws and returns the reply.
func (c *client) send(message string) chatapp.ChatMessage {
	c.t.Helper()
	m, err := wsclient.Call[chatapp.ChatMessage](c.t.Context(), c.Client, "chat.send", chatapp.SendRequest{Message: message})
	if err != nil {
		c.t.Fatalf("chat.send %q: %v", message, err)
	}
	return m
}

// post posts a message on /chat and returns the reply.
func (c *client) post(user, message string) chatapp.ChatMessage {
	c.t.Helper()
	m, err := wsclient.Send[chatapp.ChatMessage](c.t.Context(), c.Client, chatapp.ChatRequest{Message: message, User: user})
	if err != nil {
		c.t.Fatalf("/chat %s: %q: %v", user, message, err)
	}
	return m
}

// refused fails the test unless err is a reply with status whose errorList
// has one entry, of type typ at loc, with a message; it returns the entry.
func refused(t *testing.T, err error, status int, loc []any, typ string) ws.ErrorDetail {
	t.Helper()
	var e *ws.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("got %v, want a %d", err, status)
	}
	list, ok := e.Body.(ws.ErrorList)
	if !ok || len(list.Errors) != 1 {
		t.Fatalf("%d body %v: want an errorList of one entry", e.Status, e.Body)
	}
	d := list.Errors[0]
	if d.Type != typ || !reflect.DeepEqual(d.Loc, loc) || d.Msg == "" {
		t.Fatalf("%d %+v: want type %q at %v", e.Status, d, typ, loc)
	}
	return d
}
