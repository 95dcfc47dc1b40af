package ws_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An option that cannot apply to a shape does not compile: a program that
// gives one is refused by the compiler, naming the option type it needed;
// the same program with options that apply builds.
func TestOptionsThatCannotApplyDoNotCompile(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds programs")
	}
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, call, want string // want: "" when the program must build
	}{
		{"WithConcurrency on a Callback", `ws.Callback(nil, receive, nil, ws.WithConcurrency(4))`, "ws.RouterOption does not implement ws.CallbackOption"},
		{"WithInterceptors on a Handler", `ws.Handler(loop, ws.WithInterceptors(nil...))`, "ws.CallbackOption does not implement ws.Option"},
		{"WithMaxStreams on Accept", `http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ws.Accept(w, r, ws.WithMaxStreams(2)) })`, "ws.RouterOption does not implement ws.Option"},
		{"WithValidator on a Handler", `ws.Handler(loop, ws.WithValidator(nil))`, "ws.CallbackOption does not implement ws.Option"},
		{"every option where it applies", `ws.NewRouter(ws.WithConcurrency(4), ws.WithValidator(nil), ws.WithReadLimit(1), ws.WithInterceptors()), ws.Callback(nil, receive, nil, ws.WithReadLimit(1), ws.WithMaxErrors(3)), ws.Handler(loop, ws.WithReadLimit(1))`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			gomod := "module example.com/opts\n\ngo 1.25\n\nrequire github.com/cafeto-go/ws v0.0.0\n\nreplace github.com/cafeto-go/ws => " + root + "\n"
			prog := `package main

import (
	"context"
	"net/http"

	"github.com/cafeto-go/ws"
)

func receive(ctx context.Context, in string) (string, error) { return in, nil }

func loop(ctx context.Context, conn *ws.Conn) error { return nil }

var _ http.Handler

var _ = []any{` + tc.call + `}

func main() {}
`
			for name, body := range map[string]string{"go.mod": gomod, "go.sum": string(sum), "main.go": prog} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("go", "build", "-mod=mod", "-o", os.DevNull, ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
			out, err := cmd.CombinedOutput()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("does not build: %v\n%s", err, out)
			case tc.want != "" && err == nil:
				t.Fatalf("builds, want a compile error")
			case tc.want != "" && !strings.Contains(string(out), tc.want):
				t.Fatalf("compile error without %q:\n%s", tc.want, out)
			}
		})
	}
}
