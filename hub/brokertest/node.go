package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
)

// Rooms whose name starts with "h." have history, those that start with
// "p." presence, when the broker keeps them.
const (
	historyPrefix  = "h."
	presencePrefix = "p."
)

// node is an application server: a node of the backend, a hub on its
// broker and an HTTP server whose clients join the rooms of their query
// (?room=a&room=h.b&key=ana&tab=1: with a key, rooms with presence are
// tracked) and get {"ready":true} once they have.
type node struct {
	t     testing.TB
	n     Node
	h     *hub.Hub
	srv   *httptest.Server
	group ws.Group
	once  sync.Once
}

// command is what a client sends: a room to join or to leave. The reply
// is a 201 once done.
type command struct {
	Join  string `json:"join"`
	Leave string `json:"leave"`
}

func startNode(t testing.TB, b Backend) *node {
	t.Helper()
	nd := &node{t: t, n: b.NewNode(t)}
	if nd.n.Broker == nil {
		t.Fatal("brokertest: Node.Broker is nil")
	}
	opts := []hub.Option{hub.WithBroker(nd.n.Broker), hub.WithQueueSize(8192), hub.WithMaxNameLen(hub.HardMaxNameLen)}
	if isHistory(nd.n.Broker) {
		opts = append(opts, hub.WithHistory(historyPrefix+"*", hub.History{Size: b.HistorySize, TTL: time.Hour}))
	}
	if isPresence(nd.n.Broker) {
		opts = append(opts, hub.WithPresence(presencePrefix+"*", hub.Presence{}))
	}
	nd.h = hub.New(opts...)
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		q := conn.Request().URL.Query()
		for _, room := range q["room"] {
			var err error
			if key := q.Get("key"); key != "" && strings.HasPrefix(room, presencePrefix) && isPresence(nd.n.Broker) {
				err = nd.h.Track(conn, room, key, map[string]string{"tab": q.Get("tab")})
			} else {
				err = nd.h.Join(conn, room)
			}
			if err != nil {
				t.Errorf("join %.40q: %v", room, err)
				return err
			}
		}
		return conn.SendJSON(ctx, map[string]bool{"ready": true})
	}
	onReceive := func(ctx context.Context, in command) (ws.StatusEnvelope[string], error) {
		conn := ws.ConnFromContext(ctx)
		if in.Join != "" {
			if err := nd.h.Join(conn, in.Join); err != nil {
				return ws.StatusEnvelope[string]{}, err
			}
		}
		if in.Leave != "" {
			nd.h.Leave(conn, in.Leave)
		}
		return ws.Created("done"), nil
	}
	onDisconnect := func(ctx context.Context, conn *ws.Conn, err error) { nd.h.LeaveAll(conn) }
	nd.srv = httptest.NewServer(ws.Callback(onConnect, onReceive, onDisconnect, ws.WithGroup(&nd.group)))
	t.Cleanup(nd.stop)
	return nd
}

// stop shuts the node down: its clients, its hub, its broker.
func (nd *node) stop() {
	nd.once.Do(func() {
		nd.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		nd.group.Shutdown(ctx)
		nd.h.Close()
		if nd.n.Close != nil {
			nd.n.Close()
		}
	})
}

// kill ends the node abruptly: its broker's connection, then its clients';
// its hub is closed without reaching anybody.
func (nd *node) kill() {
	nd.once.Do(func() {
		nd.n.Kill()
		nd.srv.CloseClientConnections()
		nd.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		nd.group.Shutdown(ctx)
		nd.h.Close()
		if nd.n.Close != nil {
			nd.n.Close() // releases what the dead node held
		}
	})
}

// broadcast broadcasts a message of from, seq to room, failing the test
// on an error.
func (nd *node) broadcast(room, from string, seq int) {
	nd.t.Helper()
	if err := nd.h.Broadcast(context.Background(), room, ws.Ok(body{From: from, Seq: seq})); err != nil {
		nd.t.Fatalf("broadcast %s/%d to %.40q: %v", from, seq, room, err)
	}
}

// body is what the suite broadcasts.
type body struct {
	From string `json:"from"`
	Seq  int    `json:"seq"`
}

// push is any frame a client receives.
type push struct {
	Ready      bool            `json:"ready"`
	Event      string          `json:"event"`
	Room       string          `json:"room"`
	Epoch      string          `json:"epoch"`
	Offset     uint64          `json:"offset"`
	StatusCode int             `json:"statusCode"`
	Body       json.RawMessage `json:"body"`
	raw        []byte
}

func (p push) body(t testing.TB) body {
	t.Helper()
	var b body
	if err := json.Unmarshal(p.Body, &b); err != nil {
		t.Fatalf("push %s: %v", p.raw, err)
	}
	return b
}

// client is a WebSocket client whose frames a goroutine reads into a
// channel, so that waiting for one never closes the connection.
type client struct {
	t    testing.TB
	c    *websocket.Conn
	in   chan push
	done chan struct{}

	pending []push // read before ready, given first
}

// dial connects a client to nd with the query q (rooms, key, resume) and
// waits until it is ready; what arrived before ready stays to be read.
func (nd *node) dial(t testing.TB, q url.Values) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, nd.srv.URL+"/?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	cl := &client{t: t, c: c, in: make(chan push, 1<<16), done: make(chan struct{})}
	go cl.read()
	t.Cleanup(cl.close)
	var early []push
	for {
		p, ok := cl.next(20 * time.Second)
		if !ok {
			t.Fatal("no ready frame")
		}
		if p.Ready {
			break
		}
		early = append(early, p)
	}
	cl.pending = early
	return cl
}

func (cl *client) read() {
	defer close(cl.done)
	for {
		_, data, err := cl.c.Read(context.Background())
		if err != nil {
			return
		}
		var p push
		if err := json.Unmarshal(data, &p); err != nil {
			cl.t.Errorf("frame %s: %v", data, err)
			return
		}
		p.raw = data
		cl.in <- p
	}
}

func (cl *client) close() {
	cl.c.CloseNow()
	<-cl.done
}

// next returns the next frame, or false when none came within d or the
// connection ended.
func (cl *client) next(d time.Duration) (push, bool) {
	if len(cl.pending) > 0 {
		p := cl.pending[0]
		cl.pending = cl.pending[1:]
		return p, true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case p := <-cl.in:
		return p, true
	case <-timer.C:
		return push{}, false
	case <-cl.done:
		select {
		case p := <-cl.in:
			return p, true
		default:
			return push{}, false
		}
	}
}

// must returns the next frame, failing the test when none comes.
func (cl *client) must(what string) push {
	cl.t.Helper()
	p, ok := cl.next(20 * time.Second)
	if !ok {
		cl.t.Fatalf("no frame while waiting for %s", what)
	}
	return p
}

// send sends a command and waits for its reply.
func (cl *client) command(cmd command) {
	cl.t.Helper()
	data, _ := json.Marshal(cmd)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.c.Write(ctx, websocket.MessageText, data); err != nil {
		cl.t.Fatalf("write: %v", err)
	}
	if p := cl.must("a reply"); p.StatusCode != 201 || p.Event != "" {
		cl.t.Fatalf("reply %s, want 201", p.raw)
	}
}

// rooms returns a query for rooms.
func rooms(names ...string) url.Values { return url.Values{"room": names} }

func resume(room string, p hub.Position) string {
	b, _ := json.Marshal(map[string]hub.Position{room: p})
	return string(b)
}

func short(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q… (%d bytes)", s[:40], len(s))
	}
	return fmt.Sprintf("%q", s)
}
