package tscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
	"github.com/cafeto-go/ws/hub"
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
	Limit int `json:"limit" validate:"omitempty,min=1,max=100"`
}

type FindRequest struct {
	ID string `json:"id" validate:"required"`
}

type WatchRequest struct {
	Room  string `json:"room" validate:"required"`
	Count int    `json:"count" validate:"gte=0,lte=100"`
	Wait  bool   `json:"wait"` // after the items, wait for the end of the stream's ctx
}

type Stats struct {
	Connections int64 `json:"connections"`
	Cancelled   int64 `json:"cancelled"` // streams ended by a $cancel
}

// Tick is a message of a room with history.
type Tick struct {
	Seq int `json:"seq"`
}

// TrackRequest tracks the connection in the room "people" as Key, with
// its Tab as meta.
type TrackRequest struct {
	Key string `json:"key" validate:"required"`
	Tab string `json:"tab" validate:"required"`
}

type RoomRequest struct {
	Room string `json:"room" validate:"required"`
}

// PublishRequest broadcasts the ticks From to To to Room: in the
// background, or before the reply when Wait.
type PublishRequest struct {
	Room string `json:"room" validate:"required"`
	From int    `json:"from"`
	To   int    `json:"to"`
	Wait bool   `json:"wait"`
}

type chat struct {
	connections, cancelled atomic.Int64

	// Rooms with history ("lobby", and "small" which keeps 5 messages),
	// and the server's sockets, which test.cut drops as a network would.
	h       *hub.Hub
	mu      sync.Mutex
	sockets []net.Conn
	publish sync.WaitGroup
}

// listener records the sockets ln accepts in ch.
type listener struct {
	net.Listener
	ch *chat
}

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.ch.mu.Lock()
		l.ch.sockets = append(l.ch.sockets, c)
		l.ch.mu.Unlock()
	}
	return c, err
}

// serve serves h on a test server whose sockets test.cut can drop.
func (ch *chat) serve(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = listener{srv.Listener, ch}
	srv.Start()
	return srv
}

func (ch *chat) broadcast(room string, from, to int) error {
	for seq := from; seq <= to; seq++ {
		if err := ch.h.Broadcast(context.Background(), room, ws.Push("room.tick", Tick{Seq: seq})); err != nil {
			return err
		}
		if seq%20 == 0 {
			time.Sleep(time.Millisecond) // let the client drop in the middle
		}
	}
	return nil
}

// router is the server the Node test drives.
func (ch *chat) router() *ws.Router {
	r := ws.NewRouter()
	message := ws.Emits[ChatMessage](r, "chat.message")
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
		msg := ChatMessage(in)
		// The push goes out before the reply.
		if err := ws.ConnFromContext(ctx).SendJSON(ctx, message.Push(msg)); err != nil {
			return ChatMessage{}, err
		}
		return msg, nil
	})
	ws.On(r, "chat.history", func(ctx context.Context, in HistoryRequest) ([]ChatMessage, error) {
		out := []ChatMessage{}
		for i := range in.Limit {
			out = append(out, ChatMessage{Message: fmt.Sprint(i), User: "history"})
		}
		return out, nil
	})
	ws.On(r, "chat.create", func(ctx context.Context, in SendRequest) (ws.StatusEnvelope[ChatMessage], error) {
		return ws.Created(ChatMessage(in)), nil
	})
	ws.On(r, "chat.find", func(ctx context.Context, in FindRequest) (ChatMessage, error) {
		return ChatMessage{}, ws.NotFound(map[string]string{"reason": "no such message"})
	})
	ws.Stream(r, "chat.watch", func(ctx context.Context, in WatchRequest, send func(ChatMessage) error) error {
		for i := range in.Count {
			if err := send(ChatMessage{Message: fmt.Sprintf("%s %d", in.Room, i), User: "watch"}); err != nil {
				return err
			}
		}
		if in.Wait {
			<-ctx.Done()
			if errors.Is(context.Cause(ctx), ws.ErrStreamCanceled) {
				ch.cancelled.Add(1)
			}
		}
		return nil
	})
	ws.On(r, "test.stats", func(ctx context.Context, in struct{}) (Stats, error) {
		return Stats{Connections: ch.connections.Load(), Cancelled: ch.cancelled.Load()}, nil
	})
	ws.Emits[Tick](r, "room.tick")
	ws.On(r, "room.join", func(ctx context.Context, in RoomRequest) (bool, error) {
		conn := ws.ConnFromContext(ctx)
		if err := ch.h.Join(conn, in.Room); err != nil {
			return false, err
		}
		return ch.h.Recovered(conn, in.Room), nil
	})
	ws.On(r, "room.publish", func(ctx context.Context, in PublishRequest) (struct{}, error) {
		if in.Wait {
			return struct{}{}, ch.broadcast(in.Room, in.From, in.To)
		}
		ch.publish.Go(func() { ch.broadcast(in.Room, in.From, in.To) })
		return struct{}{}, nil
	})
	ws.On(r, "presence.track", func(ctx context.Context, in TrackRequest) (struct{}, error) {
		return struct{}{}, ch.h.Track(ws.ConnFromContext(ctx), "people", in.Key, map[string]string{"tab": in.Tab})
	})
	ws.On(r, "presence.join", func(ctx context.Context, in struct{}) (struct{}, error) {
		return struct{}{}, ch.h.Join(ws.ConnFromContext(ctx), "people")
	})
	ws.On(r, "presence.keys", func(ctx context.Context, in struct{}) (int, error) {
		p, err := ch.h.Presence(ctx, "people")
		return len(p), err
	})
	ws.On(r, "test.twice", func(ctx context.Context, in struct{}) (struct{}, error) {
		// Pushes of a room with history, some of them twice, as a
		// misbehaving server or broker might send them: the client hands
		// over ticks 1 to 4, once each.
		conn := ws.ConnFromContext(ctx)
		for _, p := range []struct {
			seq    int
			epoch  string
			offset int
		}{{1, "e1", 1}, {2, "e1", 3}, {-1, "e1", 1}, {-2, "e1", 3}, {3, "e1", 4}, {4, "e2", 1}, {-4, "e2", 1}} {
			frame := fmt.Sprintf(`{"event":"room.tick","statusCode":200,"body":{"seq":%d},"room":"twice","epoch":%q,"offset":%d}`, p.seq, p.epoch, p.offset)
			if err := conn.SendText(ctx, []byte(frame)); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	ws.On(r, "test.cut", func(ctx context.Context, in struct{}) (struct{}, error) {
		ch.mu.Lock()
		sockets := ch.sockets
		ch.sockets = nil
		ch.mu.Unlock()
		for _, c := range sockets {
			c.Close()
		}
		return struct{}{}, nil
	})
	ws.On(r, "test.drop", func(ctx context.Context, in struct{}) (struct{}, error) {
		ws.ConnFromContext(ctx).Close(4000, "dropped")
		return struct{}{}, nil
	})
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error {
		ch.connections.Add(1)
		return nil
	})
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { ch.h.LeaveAll(conn) })
	return r
}

// callback is a Callback endpoint in the room "cbroom", which keeps
// history: each request is broadcast to the room as ws.Ok(-seq), the
// sender too, and replied to with 201 and seq; the broadcasts must not be
// taken for replies.
func (ch *chat) callback() http.Handler {
	return ws.Callback(
		func(ctx context.Context, conn *ws.Conn) error { return ch.h.Join(conn, "cbroom") },
		func(ctx context.Context, in Tick) (ws.StatusEnvelope[Tick], error) {
			err := ch.h.Broadcast(ctx, "cbroom", ws.Ok(Tick{Seq: -in.Seq}))
			return ws.Created(in), err
		},
		func(ctx context.Context, conn *ws.Conn, err error) { ch.h.LeaveAll(conn) })
}

// TestGeneratedClient generates the client of the router's document with
// wsgen-ts (from the document's URL), type-checks it with tsc --strict and
// runs ts/client.test.ts against the server with Node.
func TestGeneratedClient(t *testing.T) {
	node := tool(t, "node")
	npm := tool(t, "npm")
	modules := installModules(t, npm)

	ch := chat{h: hub.New(
		hub.WithHistory("lobby", hub.History{Size: 10000, TTL: time.Hour}),
		hub.WithHistory("small", hub.History{Size: 5, TTL: time.Hour}),
		hub.WithHistory("cbroom", hub.History{Size: 100, TTL: time.Hour}),
		hub.WithPresence("people", hub.Presence{}),
		hub.WithQueueSize(10000))}
	defer ch.h.Close()
	defer ch.publish.Wait()
	r := ch.router()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	cb := ch.callback()
	doc.Add("/ws", r)
	doc.Add("/cb", cb)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r)
	mux.Handle("GET /cb", cb)
	mux.Handle("GET /asyncapi.json", doc)
	srv := ch.serve(mux)
	defer srv.Close()

	dir := t.TempDir()
	for _, f := range []string{"client.test.ts", "browser.ts", "tsconfig.json", "tsconfig.dom.json"} {
		copyFile(t, filepath.Join("ts", f), filepath.Join(dir, f))
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	command(t, "", nil, "go", "run", "github.com/cafeto-go/ws/cmd/wsgen-ts", "-in", srv.URL+"/asyncapi.json", "-out", filepath.Join(dir, "gen"))

	tsc := filepath.Join(modules, ".bin", "tsc")
	command(t, dir, nil, tsc, "-p", "tsconfig.json")
	command(t, dir, nil, tsc, "-p", "tsconfig.dom.json")
	out := command(t, dir, []string{"WS_BASE=" + srv.URL}, node, "--test", "--test-timeout=60000", "--test-reporter=spec", "client.test.js")
	t.Logf("node --test:\n%s", out)
	if ch.connections.Load() == 0 {
		t.Fatal("the Node test never connected")
	}
}

// installModules runs npm ci when node_modules is missing, and returns
// its path.
func installModules(t *testing.T, npm string) string {
	t.Helper()
	modules, err := filepath.Abs("node_modules")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, ".bin", "tsc")); err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
	}
	return modules
}

// command runs name with args in dir, with env added to the environment,
// and returns its output; it fails the test when the command fails.
func command(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tool returns the path of a command the test needs. Without it the test
// is skipped, or fails under CI=true.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed to check the TypeScript client: %v", name, err)
		}
		t.Skipf("%s is not installed: the TypeScript client cannot be checked", name)
	}
	return p
}
