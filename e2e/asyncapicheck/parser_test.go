package asyncapicheck

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
)

type ChatRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

type ChatResponse struct {
	Message string    `json:"message"`
	User    string    `json:"user"`
	At      time.Time `json:"at"`
}

type Tag struct {
	Name string `json:"name" validate:"required,max=5"`
}

type Base struct {
	ID int `json:"id" validate:"gt=0"`
}

type Inner struct {
	Code string `json:"code" validate:"required,len=2"`
}

type Node struct {
	Value    int     `json:"value"`
	Children []*Node `json:"children"`
}

// Everything uses every kind of rule the schemas write, so that the
// parser sees every keyword the generator emits.
type Everything struct {
	Base
	*Inner
	Name    string            `json:"name" validate:"omitempty,min=3,max=10"`
	Tags    []Tag             `json:"tags" validate:"omitempty,min=2,max=3,dive"`
	Raw     []Tag             `json:"raw"`
	Labels  map[string]string `json:"labels" validate:"omitempty,max=2,dive,keys,min=2,endkeys,max=3"`
	Counts  map[int]Tag       `json:"counts" validate:"dive"`
	Count   int               `json:"count" validate:"omitempty,gt=5,lt=10"`
	Score   float64           `json:"score" validate:"omitempty,gte=1.5,lte=2.5"`
	Small   int8              `json:"small"`
	Color   string            `json:"color" validate:"omitempty,oneof=red green 'dark blue'"`
	Digit   int               `json:"digit" validate:"omitempty,oneof=1 2 3"`
	Email   string            `json:"email" validate:"omitempty,email"`
	Site    string            `json:"site" validate:"omitempty,url"`
	Path    string            `json:"path" validate:"omitempty,uri"`
	Token   string            `json:"token" validate:"omitempty,uuid4"`
	Handle  string            `json:"handle" validate:"omitempty,alphanum"`
	Prefix  string            `json:"prefix" validate:"omitempty,startswith=a.b"`
	Clean   string            `json:"clean" validate:"excludes=x"`
	Either  string            `json:"either" validate:"omitempty,email|uuid"`
	IP      string            `json:"ip" validate:"omitempty,ip"`
	Age     *int              `json:"age" validate:"omitempty,gte=18"`
	Zero    []int             `json:"zero" validate:"omitzero,min=2"`
	Uniq    []string          `json:"uniq" validate:"unique"`
	Ne      map[string]int    `json:"ne" validate:"ne=1"`
	Flag    bool              `json:"flag" validate:"required"`
	Room    Tag               `json:"room" validate:"required"`
	Opt     Tag               `json:"opt" validate:"omitempty"`
	Skipped Tag               `json:"skipped" validate:"-"`
	Bytes   []byte            `json:"bytes"`
	Any     any               `json:"any" validate:"required"`
	Raw2    json.RawMessage   `json:"raw2"`
	When    time.Time         `json:"when" validate:"required"`
	Quoted  int               `json:"quoted,string"`
	Tree    Node              `json:"tree"`
}

// documents builds documents through the public API into dir and
// returns their paths.
func documents(t *testing.T, dir string) []string {
	t.Helper()
	chat := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) { return ChatResponse{}, nil }, nil)
	docs := map[string]*asyncapi.Document{}
	one := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	one.Add("/chat", chat)
	docs["chat"] = one
	all := asyncapi.New(asyncapi.Info{Title: "Everything", Version: "2.1.0", Description: "Every kind of endpoint."})
	addEverything(all)
	docs["everything"] = all

	var paths []string
	for name, doc := range docs {
		raw, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// addEverything adds to doc an endpoint of every kind.
func addEverything(doc *asyncapi.Document) {
	chat := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) { return ChatResponse{}, nil }, nil)
	envelope := ws.Callback(nil, func(ctx context.Context, in *ChatRequest) (ws.StatusEnvelope[ChatResponse], error) {
		return ws.Ok(ChatResponse{}), nil
	}, nil)
	everything := ws.Callback(nil, func(ctx context.Context, in Everything) (Everything, error) { return in, nil }, nil)
	list := ws.Callback(nil, func(ctx context.Context, in []Tag) (any, error) { return len(in), nil }, nil)
	raw := ws.Handler(func(ctx context.Context, c *ws.Conn) error { return nil })
	router := ws.NewRouter()
	ws.On(router, "chat.send", func(ctx context.Context, in ChatRequest) (ChatResponse, error) { return ChatResponse{}, nil })
	ws.On(router, "everything", func(ctx context.Context, in *Everything) (ws.StatusEnvelope[[]Everything], error) {
		return ws.NoContent[[]Everything](), nil
	})
	ws.Stream(router, "chat.watch", func(ctx context.Context, in Tag, send func(ChatResponse) error) error { return nil })
	ws.Emits[ChatResponse](router, "chat.message")
	ws.Emits[Node](router, "tree")

	doc.Add("/chat", chat)
	doc.Add("GET /rooms/{room}", envelope)
	doc.Add("/everything", everything)
	doc.Add("/list/{rest...}", list)
	doc.Add("/raw", raw)
	doc.Add("GET /ws/{room}", router)
}

// TestParserAcceptsDocuments validates with @asyncapi/parser the documents
// built here and those under testdata/asyncapi (kept up to date by the root
// package's tests): the parser must report no error.
func TestParserAcceptsDocuments(t *testing.T) {
	node := tool(t, "node")
	npmInstall(t)
	dir := t.TempDir()
	paths := documents(t, dir)
	// The same endpoints, written as AsyncAPI 3.1.0.
	v31 := asyncapi.New(asyncapi.Info{Title: "Everything", Version: "2.1.0", AsyncAPI: "3.1.0"})
	addEverything(v31)
	raw, err := json.Marshal(v31)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "everything-3.1.0.json")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	paths = append(paths, p)
	golden, err := filepath.Glob("../../testdata/asyncapi/*.json")
	if err != nil || len(golden) == 0 {
		t.Fatalf("no documents under testdata/asyncapi: %v", err)
	}
	paths = append(paths, golden...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, append([]string{"validate.mjs"}, paths...)...).Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("node validate.mjs: %v\n%s", err, out)
	}
	failures, others := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var d struct {
			File     string `json:"file"`
			Severity int    `json:"severity"`
			Code     string `json:"code"`
			Message  string `json:"message"`
			Path     []any  `json:"path"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("parser output %q: %v", line, err)
		}
		if d.Severity == 0 {
			failures++
			t.Errorf("%s: %s: %s at %v", filepath.Base(d.File), d.Code, d.Message, d.Path)
		} else {
			others++
			t.Logf("%s: severity %d: %s: %s at %v", filepath.Base(d.File), d.Severity, d.Code, d.Message, d.Path)
		}
	}
	if err != nil && failures == 0 {
		t.Fatalf("node validate.mjs failed without reporting an error: %v", err)
	}
	t.Logf("%d documents, %d errors, %d other diagnostics", len(paths), failures, others)
}

var npmMu sync.Mutex

// npmInstall installs the packages of package-lock.json (the AsyncAPI
// parser, Modelina) unless they are there.
func npmInstall(t *testing.T) {
	t.Helper()
	npm := tool(t, "npm")
	npmMu.Lock()
	defer npmMu.Unlock()
	for _, pkg := range []string{"@asyncapi/parser", "@asyncapi/modelina"} {
		if _, err := os.Stat(filepath.Join("node_modules", pkg, "package.json")); err == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci: %v\n%s", err, out)
		}
		return
	}
}

// tool returns the path of a command the test needs. Without it the test
// is skipped, or fails under CI=true.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed to run the AsyncAPI tools: %v", name, err)
		}
		t.Skipf("%s is not installed: the AsyncAPI tools cannot run", name)
	}
	return p
}
