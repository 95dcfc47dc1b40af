package tscheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/tsgen"
)

// payloads are strings a hostile AsyncAPI document holds to break out of
// the code and comments the generator writes them into: each sets
// globalThis.PWNED and prints PWNED if it ever runs.
var payloads = []string{
	"1.0.0\nglobalThis.PWNED=1;console.log('PWNED')//",
	"1.0.0\u2028globalThis.PWNED=1;console.log('PWNED')//",
	"1.0.0\u2029globalThis.PWNED=1;console.log('PWNED')//",
	"1.0.0\rglobalThis.PWNED=1;console.log('PWNED')//",
	"1.0.0\r\nglobalThis.PWNED=1;console.log('PWNED')//",
	"*/ globalThis.PWNED=1; console.log('PWNED'); /*",
	"</script><script>globalThis.PWNED=1</script><!--",
	"\"; globalThis.PWNED=1; console.log('PWNED'); \"",
	"'; globalThis.PWNED=1; console.log('PWNED'); '",
	"`; globalThis.PWNED=1; `${globalThis.PWNED=1}`",
	"\\\"); globalThis.PWNED=1; console.log('PWNED'); //",
	"\u202e\u2066;globalThis.PWNED=1\u2069 \x00\x1b\x7f\u0085",
}

// keywordKeys are schema keys that are reserved words somewhere in
// TypeScript or JavaScript, or special property names.
var keywordKeys = []string{"delete", "enum", "let", "await", "yield", "static", "number", "any", "keyof", "as", "constructor", "__proto__", "Client"}

// hostileDocument returns an AsyncAPI document (of the given version) of
// a router at a path that holds p, with a parameter named after p, events,
// a stream and a push named p, a callback, and schemas whose keys,
// property names, descriptions, enums, consts, patterns and examples hold
// p; its title and info.version are p too.
func hostileDocument(version, p string) []byte {
	path := pathPart(p)
	ref := func(key string) map[string]any {
		return map[string]any{"$ref": "#/components/schemas/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(key)}
	}
	str := map[string]any{"type": "string", "description": p, "title": p, "format": p, "pattern": p,
		"examples": []any{p}, "default": p, "x-validate": p, "minLength": 1}
	schemas := map[string]any{
		"Item": map[string]any{
			"type": "object", "description": p, "title": p,
			"properties": map[string]any{
				p:             map[string]any{"enum": []any{p, "plain", 1, nil}, "description": p},
				"delete":      str,
				"constructor": map[string]any{"const": p, "description": "*/" + p},
				"__proto__":   map[string]any{"type": "string"},
				"nested":      map[string]any{"anyOf": []any{map[string]any{"const": p}, map[string]any{"minLength": 3, "pattern": p}}},
				"ref":         ref(p),
			},
			"required":             []any{p, "delete"},
			"additionalProperties": false,
		},
		p: map[string]any{"type": "object", "description": p, "properties": map[string]any{p: str}},
	}
	for _, k := range keywordKeys {
		schemas[k] = map[string]any{"type": "string", "description": p, "enum": []any{p}}
	}
	envelope := func(event string, extra map[string]any) map[string]any {
		props := map[string]any{"event": map[string]any{"const": event}, "id": map[string]any{"type": []any{"string", "number"}}}
		for k, v := range extra {
			props[k] = v
		}
		return map[string]any{"name": event, "summary": p, "payload": map[string]any{"type": "object", "properties": props, "required": []any{"event"}}}
	}
	messages := map[string]any{
		"call":       envelope(p, map[string]any{"data": ref("Item")}),
		"call.reply": envelope(p, map[string]any{"statusCode": map[string]any{"type": "integer"}, "body": ref("Item")}),
		"watch":      envelope(p+"~watch", map[string]any{"data": ref("delete")}),
		"watch.item": envelope(p+"~watch", map[string]any{"statusCode": map[string]any{"const": 200}, "body": ref("enum"), "more": map[string]any{"const": true}}),
		"push":       envelope(p+"~push", map[string]any{"statusCode": map[string]any{"const": 200}, "body": ref(p)}),
	}
	chRef := func(id string) map[string]any { return map[string]any{"$ref": "#/channels/" + id} }
	msgRef := func(id, m string) []any { return []any{map[string]any{"$ref": "#/channels/" + id + "/messages/" + m}} }
	doc := map[string]any{
		"asyncapi": version,
		"info":     map[string]any{"title": p, "version": p, "description": p},
		"channels": map[string]any{
			"hostile": map[string]any{"address": "/h/" + path + "/{" + path + "}", "description": p, "messages": messages},
			"cb":      map[string]any{"address": "/c/" + path, "messages": map[string]any{"request": map[string]any{"summary": p, "payload": ref("Item")}, "reply": map[string]any{"payload": map[string]any{"type": "object", "properties": map[string]any{"statusCode": map[string]any{"type": "integer"}, "body": ref("let")}}}}},
			"raw":     map[string]any{"address": "/r/" + path, "description": p},
		},
		"operations": map[string]any{
			"call":  map[string]any{"action": "receive", "channel": chRef("hostile"), "messages": msgRef("hostile", "call"), "reply": map[string]any{"channel": chRef("hostile"), "messages": msgRef("hostile", "call.reply")}},
			"watch": map[string]any{"action": "receive", "channel": chRef("hostile"), "messages": msgRef("hostile", "watch"), "reply": map[string]any{"channel": chRef("hostile"), "messages": msgRef("hostile", "watch.item")}},
			"push":  map[string]any{"action": "send", "channel": chRef("hostile"), "messages": msgRef("hostile", "push")},
			"cb":    map[string]any{"action": "receive", "channel": chRef("cb"), "messages": msgRef("cb", "request"), "reply": map[string]any{"channel": chRef("cb"), "messages": msgRef("cb", "reply")}},
		},
		"components": map[string]any{"schemas": schemas},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

// consumer is a TypeScript module that uses the declarations of a hostile
// document's client: %[1]s is the payload as a string literal, %[2]s the
// name of the path parameter, %[3]s and %[4]s the names of the stream and
// the push.
const consumer = `import {
  connectHostile,
  connectCb,
  type HostileClient,
  type Item,
  type delete_,
  type enum_,
  type let_,
  type await_,
  type yield_,
  type static_,
  type number_,
  type any_,
  type keyof_,
  type as_,
  type constructor,
  type __proto__,
  type Client2,
} from "./client.js";

const p = %[1]s;

export async function use(client: HostileClient): Promise<string> {
  const item: Item = { [p]: p, delete: "x", constructor: p, nested: p };
  const reply: Item = await client.call(p, item);
  const words: [delete_, enum_, let_, await_, yield_, static_, number_, any_, keyof_, as_, constructor, __proto__, Client2] =
    [p, p, p, p, p, p, p, p, p, p, p, p, p];
  for await (const e of client.stream(%[3]s, p)) words[1] = e;
  client.on(%[4]s, (body) => void body);
  const cb = connectCb({ url: "ws://127.0.0.1:1/" });
  const l: let_ = await cb.call(item);
  return reply.delete + words.join("") + l;
}

export const made = connectHostile({ [%[2]s]: 1 }, { base: "https://chat.example.com/" });
`

// runner imports client.js in Node, then dials its two endpoints with a
// WebSocket that only records its URL, and tries channelURL on addresses
// that name other hosts. It prints one line of JSON.
const runner = `const [param] = JSON.parse(process.argv[2]);
const m = await import("./client.js");
const pwned = globalThis.PWNED ?? null;
const urls = [];
class Recorder { constructor(url) { urls.push(url); } send() {} close() {} }
const base = "https://chat.example.com/app/page";
m.connectHostile({ [param]: "a/b" }, { base, WebSocket: Recorder });
m.connectCb({ base, WebSocket: Recorder });
const refused = [];
for (const a of ["//evil.example/ws", "https://evil.example/ws", "wss://evil.example/ws", "/\\evil.example/ws", "/\t/evil.example/ws", "ws"]) {
  try {
    urls.push(m.channelURL(a, undefined, { base }));
  } catch (err) {
    if (err instanceof TypeError) refused.push(a);
  }
}
const explicit = m.channelURL("//evil.example/ws", undefined, { url: "wss://elsewhere.example/ws" });
console.log(JSON.stringify({ pwned, exports: Object.keys(m).sort(), urls, refused, explicit }));
`

// TestHostileDocuments generates the client of documents whose every
// string is hostile (line terminators of all kinds, U+2028 and U+2029,
// "*/", "</script>", quotes, backticks, "${", bidirectional controls,
// keywords as schema names) and checks that client.js passes node
// --check, that client.d.ts and a module using it pass tsc --strict, that
// neither holds "</script" or "<!--", and that importing client.js in Node
// runs nothing of the document and dials only the page's own origin.
func TestHostileDocuments(t *testing.T) {
	node := tool(t, "node")
	modules := installModules(t, tool(t, "npm"))
	tsc := filepath.Join(modules, ".bin", "tsc")

	for i, p := range payloads {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			checkHostile(t, node, tsc, []string{"3.0.0", "3.1.0"}[i%2], p)
		})
	}
}

// checkHostile generates the client of the hostile document of p and
// checks it with node and tsc.
func checkHostile(t *testing.T, node, tsc, version, p string) {
	files, err := tsgen.Generate(hostileDocument(version, p))
	if err != nil {
		t.Fatalf("%q: %v", p, err)
	}
	dir := t.TempDir()
	pl, _ := json.Marshal(p)
	param := pathPart(p)
	pm, _ := json.Marshal(param)
	watch, _ := json.Marshal(p + "~watch")
	push, _ := json.Marshal(p + "~push")
	for name, content := range map[string]string{
		"client.js":     string(files.JS),
		"client.d.ts":   string(files.DTS),
		"consumer.ts":   strings.NewReplacer("%[1]s", string(pl), "%[2]s", string(pm), "%[3]s", string(watch), "%[4]s", string(push)).Replace(consumer),
		"run.mjs":       runner,
		"package.json":  `{"type": "module"}`,
		"tsconfig.json": `{"compilerOptions": {"strict": true, "noEmit": true, "target": "es2022", "module": "nodenext", "moduleResolution": "nodenext", "lib": ["es2022"], "types": []}, "files": ["client.d.ts", "consumer.ts"]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"client.js", "client.d.ts"} {
		got, _ := os.ReadFile(filepath.Join(dir, f))
		if line := firstLine(got); !strings.HasPrefix(line, "// Code generated by wsgen-ts ") || !strings.HasSuffix(line, ". DO NOT EDIT.") {
			t.Errorf("%s starts with %q", f, line)
		}
		// Inlined in a page, nothing ends the script element.
		for _, bad := range []string{"</script", "<!--"} {
			if strings.Contains(strings.ToLower(string(got)), bad) {
				t.Errorf("%s holds %q", f, bad)
			}
		}
	}
	if out := command(t, dir, nil, node, "--check", "client.js"); out != "" {
		t.Errorf("node --check: %s", out)
	}

	args, _ := json.Marshal([]string{param})
	out := command(t, dir, nil, node, "run.mjs", string(args))
	var got struct {
		Pwned    any
		Exports  []string
		URLs     []string
		Refused  []string
		Explicit string
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("importing client.js printed %q, want one line of JSON (%v)", out, err)
	}
	if got.Pwned != nil {
		t.Errorf("importing client.js ran the document's code: PWNED = %v", got.Pwned)
	}
	if want := []string{"CallbackClient", "Client", "ConnectionError", "Stream", "WsError", "channelURL", "connectCb", "connectHostile"}; !slices.Equal(got.Exports, want) {
		t.Errorf("client.js exports %q, want %q", got.Exports, want)
	}
	if len(got.URLs) != 2 {
		t.Errorf("dialled %q, want the two endpoints", got.URLs)
	}
	for _, u := range got.URLs {
		if !strings.HasPrefix(u, "wss://chat.example.com/h/") && !strings.HasPrefix(u, "wss://chat.example.com/c/") {
			t.Errorf("dialled %s, off the page's origin", u)
		}
	}
	if len(got.Refused) != 6 {
		t.Errorf("channelURL refused only %q", got.Refused)
	}
	if got.Explicit != "wss://elsewhere.example/ws" {
		t.Errorf("channelURL with options.url gave %q", got.Explicit)
	}

	command(t, dir, nil, tsc, "-p", "tsconfig.json")
}

// TestAddressesOffOrigin: the generator refuses a document whose channel
// address names a host, or could once a URL parser has read it, and says
// where in the document it is.
func TestAddressesOffOrigin(t *testing.T) {
	t.Parallel()
	for _, address := range []string{"//evil.example/ws", "https://evil.example/ws", "wss://evil.example/ws", "/\\evil.example/ws", "/\t/evil.example/ws", "/ws\n", "ws"} {
		var doc map[string]any
		if err := json.Unmarshal(hostileDocument("3.0.0", "x"), &doc); err != nil {
			t.Fatal(err)
		}
		doc["channels"].(map[string]any)["hostile"].(map[string]any)["address"] = address
		b, _ := json.Marshal(doc)
		_, err := tsgen.Generate(b)
		if err == nil || !strings.Contains(err.Error(), `"#/channels/hostile/address"`) || !strings.Contains(err.Error(), "is not a path") {
			t.Errorf("address %q: got error %v, want one that names #/channels/hostile/address", address, err)
		}
	}
}

// pathPart returns p with what an address cannot hold (control
// characters, backslashes) and the braces of a parameter as "_".
func pathPart(p string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\\' || r == '{' || r == '}' {
			return '_'
		}
		return r
	}, p)
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}
