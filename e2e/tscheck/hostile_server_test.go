package tscheck

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/tsgen"
	"github.com/coder/websocket"
)

// hostileReplies are what a hostile server answers, by the data of the
// request: replies and stream ends of odd shapes.
var hostileReplies = map[string]string{
	"nullEntry":   `{"id":%q,"statusCode":400,"body":{"errorList":[null]}}`,
	"oddEntries":  `{"id":%q,"statusCode":422,"body":{"errorList":[null,1,"x",[],{"loc":"a","msg":{}}]}}`,
	"streamNull":  `{"id":%q,"statusCode":400,"body":{"errorList":[null]}}`,
	"protoBody":   `{"id":%q,"statusCode":200,"body":{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}}`,
	"errorListIs": `{"id":%q,"statusCode":400,"body":{"errorList":{"length":1,"0":null}}}`,
	// Objects that no conversion to a string or number takes: their
	// toString is not a function.
	"idObject":     `{"id":{"toString":1},"statusCode":200,"body":null}`,
	"statusObject": `{"id":%q,"statusCode":{"toString":1},"body":"ok"}`,
	"entryObjects": `{"id":%q,"event":{"toString":1},"statusCode":400,"body":{"errorList":[{"loc":[{"toString":1}],"msg":{"toString":1}}]}}`,
	"streamObject": `{"id":%q,"statusCode":[{"toString":1}],"body":{"errorList":[{"msg":{"valueOf":1}}]}}`,
}

// hostileRunner calls the hostile server through the generated client:
// each call and stream must settle (Node exits with code 13 on a top-level
// await that never does), with a WsError where the status says so; the
// server closes the connection once it has answered, so nothing settles
// only by waiting. It also tries path parameters that are dot segments,
// which a URL parser would resolve to another path.
const hostileRunner = `import WebSocket from "ws";
const m = await import("./client.js");
const base = process.env.WS_BASE;
const pushes = [];
const c = m.connectHostile({ x: "r" }, { base, WebSocket });
for (const ev of ["__proto__", "constructor", "hasOwnProperty", "toString"]) c.on(ev, (b) => pushes.push(ev));
const settle = (p) => p.then((v) => ({ ok: v }), (e) => ({ err: e?.name ?? String(e), msg: String(e?.message) }));
const results = {};
for (const name of ["nullEntry", "oddEntries", "protoBody", "errorListIs", "idObject", "statusObject", "entryObjects"]) results[name] = settle(c.call("x", name));
for (const name of ["streamNull", "streamObject"]) results[name] = settle((async () => { for await (const _ of c.stream("x~watch", name)); return "done"; })());
for (const k of Object.keys(results)) results[k] = await results[k];
const dots = {};
for (const v of ["..", ".", "a/..", "%2e%2e"]) {
  try {
    dots[v] = m.channelURL("/rooms/{room}/ws", { room: v }, { base: "https://chat.example.com/app/" });
  } catch (err) {
    dots[v] = err.name;
  }
}
console.log(JSON.stringify({ results, pushes: pushes.sort(), polluted: ({}).polluted ?? null, dots }));
`

// TestHostileServer: the runtime of the generated client facing a server
// that answers with odd shapes: null entries in an errorList, an
// errorList that is not a list, bodies with __proto__ keys, pushes named
// after Object.prototype's members. Every call and stream settles, errors
// are WsErrors, nothing pollutes Object.prototype, and a path parameter
// "." or ".." is refused rather than resolved to another path.
func TestHostileServer(t *testing.T) {
	node := tool(t, "node")
	modules := installModules(t, tool(t, "npm"))

	answered := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := r.Context()
		// Pushes first, named after what every object inherits.
		for _, ev := range []string{"__proto__", "constructor", "hasOwnProperty", "toString"} {
			b, _ := json.Marshal(map[string]any{"event": ev, "statusCode": 200, "body": map[string]any{"__proto__": map[string]any{"polluted": 1}}})
			c.Write(ctx, websocket.MessageText, b)
		}
		for range hostileReplies {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			var msg struct {
				ID   string `json:"id"`
				Data string `json:"data"`
			}
			json.Unmarshal(b, &msg)
			reply := strings.Replace(hostileReplies[msg.Data], "%q", `"`+msg.ID+`"`, 1)
			c.Write(ctx, websocket.MessageText, []byte(reply))
		}
		close(answered)
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()

	files, err := tsgen.Generate(hostileDocument("3.0.0", "x"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"client.js": string(files.JS), "run.mjs": hostileRunner, "package.json": `{"type": "module"}`} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	out := command(t, dir, []string{"WS_BASE=" + srv.URL}, node, "run.mjs")
	<-answered
	var got struct {
		Results map[string]struct {
			Ok       any
			Err, Msg string
		}
		Pushes   []string
		Polluted any
		Dots     map[string]string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("run.mjs printed %q: %v", out, err)
	}
	// How each settles: a WsError when the status says so; a status that
	// is not a number says nothing; the reply with an id that is not one
	// never comes, and the connection's end fails the call.
	wants := map[string]string{
		"nullEntry": "WsError", "oddEntries": "WsError", "streamNull": "WsError", "protoBody": "", "errorListIs": "WsError",
		"idObject": "ConnectionError", "statusObject": "", "entryObjects": "WsError", "streamObject": "",
	}
	for name, want := range wants {
		if r, ok := got.Results[name]; !ok || r.Err != want {
			t.Errorf("%s: settled with %+v, want error %q", name, r, want)
		}
	}
	if strings.Join(got.Pushes, ",") != "__proto__,constructor,hasOwnProperty,toString" {
		t.Errorf("listeners got %q", got.Pushes)
	}
	if got.Polluted != nil {
		t.Errorf("Object.prototype.polluted = %v", got.Polluted)
	}
	for v, u := range got.Dots {
		if want, ok := map[string]string{"%2e%2e": "wss://chat.example.com/rooms/%252e%252e/ws", "a/..": "wss://chat.example.com/rooms/a%2F../ws"}[v]; ok {
			if u != want {
				t.Errorf("room %q: %s", v, u)
			}
			continue
		}
		if u != "TypeError" {
			t.Errorf("room %q: dialled %s, want a TypeError", v, u)
		}
	}
}
