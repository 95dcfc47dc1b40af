package asyncapicheck

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
)

// model is one model Modelina generated (a line of models.mjs).
type model struct {
	File     string `json:"file"`
	Language string `json:"language"`
	Name     string `json:"name"`  // in the code; "" when there is no code
	Model    string `json:"model"` // Modelina's
	Kind     string `json:"kind"`
	Code     bool   `json:"code"`
}

// chatModels are the models the chat's document must give in every
// language, named as its Go API reads: the Go types of its requests,
// replies and pushes, and the messages around them.
var chatModels = []string{
	// GET /ws, a Router: per event its request and reply (a stream's
	// items and end), per push its message; and their Go types.
	"ChatJoinRequest", "ChatJoinReply", "JoinRequest", "Joined",
	"ChatSendRequest", "ChatSendReply", "SendRequest", "ChatMessage",
	"ChatHistoryRequest", "ChatHistoryReply", "HistoryRequest",
	"ChatTypingRequest", "ChatTypingReply",
	"ChatWatchRequest", "ChatWatchItem", "ChatWatchEnd", "RoomStats",
	"ChatMessagePush", "ChatTypingPush", "Typing",
	"BadRequest", "InternalError", "TooManyStreams", "CancelRequest",
	// GET /chat, a Callback: its request (a Go type), its replies.
	"ChatRequest", "ChatReply", "ChatBadRequest", "ChatInternalError",
	"ErrorList", "ErrorDetail",
}

// TestModelinaNamesEveryModel generates models with Modelina
// (@asyncapi/modelina, the model generator of the AsyncAPI CLI and
// generator templates) in TypeScript and Python from the document the
// chat serves on GET /asyncapi.json: none is anonymous, and the request,
// reply and push of each operation have their model, named as the
// document names their schema. The documents built in parser_test.go,
// which use every kind of rule, give no anonymous model either.
func TestModelinaNamesEveryModel(t *testing.T) {
	node := tool(t, "node")
	npmInstall(t)

	dir := t.TempDir()
	served := filepath.Join(dir, "served.json")
	raw := servedDocument(t)
	if err := os.WriteFile(served, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	paths := append([]string{served}, documents(t, dir)...)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, append([]string{"models.mjs"}, paths...)...).Output()
	if err != nil {
		var stderr []byte
		if exit, ok := err.(*exec.ExitError); ok {
			stderr = exit.Stderr
		}
		t.Fatalf("node models.mjs: %v\n%s", err, stderr)
	}
	byFile := map[string]map[string][]model{} // file, language
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m model
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("models.mjs output %q: %v", line, err)
		}
		if byFile[m.File] == nil {
			byFile[m.File] = map[string][]model{}
		}
		byFile[m.File][m.Language] = append(byFile[m.File][m.Language], m)
	}

	for _, p := range paths {
		for _, language := range []string{"typescript", "python"} {
			models := byFile[p][language]
			if len(models) < 2 {
				t.Errorf("%s, %s: %d models: Modelina did not read the document as AsyncAPI", filepath.Base(p), language, len(models))
			}
			for _, m := range models {
				if strings.Contains(strings.ToLower(m.Name+" "+m.Model), "anonymous") {
					t.Errorf("%s, %s: an anonymous model: %s (%s)", filepath.Base(p), language, m.Model, m.Kind)
				}
			}
		}
	}

	// The served document: every model the chat's API needs, by name.
	want := slices.Clone(chatModels)
	want = append(want, payloadTitles(t, raw)...)
	slices.Sort(want)
	want = slices.Compact(want)
	for _, language := range []string{"typescript", "python"} {
		var names []string
		for _, m := range byFile[served][language] {
			if m.Code {
				names = append(names, m.Name)
			}
		}
		for _, w := range want {
			if !slices.Contains(names, w) {
				t.Errorf("%s: no model %s", language, w)
			}
		}
		t.Logf("%s: %d models: %s", language, len(names), strings.Join(names, " "))
	}
}

// servedDocument gets the chat's document as its server serves it.
func servedDocument(t *testing.T) []byte {
	t.Helper()
	srv := httptest.NewServer(chatapp.NewMux(new(ws.Group), hub.New()))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /asyncapi.json: %d, %v", resp.StatusCode, err)
	}
	var head struct{ AsyncAPI string }
	if err := json.Unmarshal(raw, &head); err != nil || head.AsyncAPI != "3.0.0" {
		t.Fatalf("the chat serves AsyncAPI %q (%v), not 3.0.0, which Modelina reads", head.AsyncAPI, err)
	}
	return raw
}

// payloadTitles returns the titles of the schemas that the messages of
// the document's operations carry (requests, replies, pushes); it fails
// the test when one is not a reference to a titled schema.
func payloadTitles(t *testing.T, raw []byte) []string {
	t.Helper()
	type ref struct {
		Ref string `json:"$ref"`
	}
	var doc struct {
		Channels map[string]struct {
			Messages map[string]struct{ Payload ref }
		}
		Operations map[string]struct {
			Messages []ref
			Reply    *struct{ Messages []ref }
		}
		Components struct {
			Schemas map[string]struct{ Title string }
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for name, op := range doc.Operations {
		msgs := op.Messages
		if op.Reply != nil {
			msgs = append(msgs, op.Reply.Messages...)
		}
		for _, m := range msgs {
			// #/channels/{channel}/messages/{message}
			parts := strings.Split(strings.TrimPrefix(m.Ref, "#/channels/"), "/messages/")
			if len(parts) != 2 {
				t.Fatalf("operation %s: message %q", name, m.Ref)
			}
			p := doc.Channels[parts[0]].Messages[parts[1]].Payload.Ref
			key, ok := strings.CutPrefix(p, "#/components/schemas/")
			title := doc.Components.Schemas[key].Title
			if !ok || title == "" {
				t.Errorf("operation %s: the payload of %s is not a named schema", name, m.Ref)
				continue
			}
			titles = append(titles, title)
		}
	}
	return titles
}
