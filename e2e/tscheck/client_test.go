package tscheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
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

type chat struct {
	connections, cancelled atomic.Int64
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
	ws.On(r, "test.drop", func(ctx context.Context, in struct{}) (struct{}, error) {
		ws.ConnFromContext(ctx).Close(4000, "dropped")
		return struct{}{}, nil
	})
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error {
		ch.connections.Add(1)
		return nil
	})
	return r
}

// TestGeneratedClient generates the client of the router's document with
// wsgen-ts (from the document's URL), type-checks it with tsc --strict and
// runs ts/client.test.ts against the server with Node.
func TestGeneratedClient(t *testing.T) {
	node := tool(t, "node")
	npm := tool(t, "npm")
	modules := installModules(t, npm)

	var ch chat
	r := ch.router()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	doc.Add("/ws", r)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r)
	mux.Handle("GET /asyncapi.json", doc)
	srv := httptest.NewServer(mux)
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
