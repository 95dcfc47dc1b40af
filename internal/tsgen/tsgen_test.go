package tsgen_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/tsgen"
)

// schemaDoc is an AsyncAPI document whose only content is the schema T.
func schemaDoc(t *testing.T, schema string) []byte {
	t.Helper()
	doc := `{"asyncapi":"3.1.0","info":{"title":"T","version":"1"},"components":{"schemas":{"Tag-Input":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]},"T":` + schema + `}}}`
	if !json.Valid([]byte(doc)) {
		t.Fatalf("not JSON: %s", schema)
	}
	return []byte(doc)
}

// declaration returns the declaration of T in the generated d.ts.
func declaration(t *testing.T, dts []byte) string {
	t.Helper()
	s := string(dts)
	i := strings.Index(s, "export type T = ")
	if i < 0 {
		i = strings.Index(s, "export interface T ")
	}
	if i < 0 {
		t.Fatalf("no declaration of T in:\n%s", s)
	}
	// Back up over its comment.
	if j := strings.LastIndex(s[:i], "\n\n"); j >= 0 && strings.HasPrefix(s[j+2:], "/**") {
		i = j + 2
	}
	end := strings.Index(s[i:], "\n\n")
	if end < 0 {
		end = len(s) - i
	}
	return strings.TrimSpace(s[i : i+end])
}

// TestSchemaTypes: the TypeScript type of each kind of schema
// internal/jsonschema writes.
func TestSchemaTypes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ schema, want string }{
		{`{"type":"string"}`, `export type T = string;`},
		{`{"type":"integer","minimum":-128,"maximum":127}`, "/** minimum -128, maximum 127 */\nexport type T = number;"},
		{`{"type":["string","null"],"contentEncoding":"base64"}`, `export type T = string | null;`},
		{`{"type":"boolean","const":true}`, `export type T = true;`},
		{`{"const":"a\"b"}`, `export type T = "a\"b";`},
		{`{"type":"string","enum":["","red","dark blue"]}`, `export type T = "" | "red" | "dark blue";`},
		{`{"enum":[0,1,null]}`, `export type T = 0 | 1 | null;`},
		{`{"enum":[true,false]}`, `export type T = boolean;`},
		{`{}`, `export type T = unknown;`},
		{`true`, `export type T = unknown;`},
		{`{"not":{}}`, `export type T = never;`},
		{`false`, `export type T = never;`},
		{`{"type":[]}`, `export type T = never;`},
		{`{"not":{"type":"null"}}`, `export type T = unknown;`},
		{`{"type":["array","null"],"items":{"$ref":"#/components/schemas/Tag-Input"}}`, `export type T = TagInput[] | null;`},
		{`{"type":"array","items":{"anyOf":[{"$ref":"#/components/schemas/T"},{"type":"null"}]}}`, `export type T = (T | null)[];`},
		{`{"type":"array"}`, `export type T = unknown[];`},
		// omitempty: the empty value, or the rules.
		{`{"type":"string","anyOf":[{"const":""},{"minLength":3,"maxLength":10}]}`,
			"/** \"\" or (minLength 3, maxLength 10) */\nexport type T = string;"},
		{`{"type":"integer","anyOf":[{"const":0},{"minimum":1,"maximum":100}]}`, "/** 0 or (minimum 1, maximum 100) */\nexport type T = number;"},
		{`{"type":["array","null"],"anyOf":[{"type":"null"},{"items":{"$ref":"#/components/schemas/Tag-Input"},"minItems":2}]}`,
			"/** null or minItems 2 */\nexport type T = TagInput[] | null;"},
		{`{"type":["object","null"],"anyOf":[{"type":"null"},{"additionalProperties":{"type":"string"}}]}`,
			"export type T = {\n  [key: string]: string;\n} | null;"},
		{`{"anyOf":[{"$ref":"#/components/schemas/Tag-Input"},{"type":"null"}]}`, `export type T = TagInput | null;`},
		{`{"anyOf":[{"type":"object","properties":{"name":{"const":""}}},{"$ref":"#/components/schemas/Tag-Input"}]}`,
			"export type T = {\n  name?: \"\";\n} | TagInput;"},
		{`{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `export type T = string | number;`},
		// required struct: not its zero value, and the struct.
		{`{"not":{"type":"object","properties":{"name":{"const":""}}},"allOf":[{"$ref":"#/components/schemas/Tag-Input"}]}`,
			`export type T = TagInput;`},
		{`{"allOf":[{"if":{"required":["a"]},"then":{"required":["a"]}}],"type":"object","properties":{"a":{"type":"string"}}}`,
			"export interface T {\n  a?: string;\n}"},
		{`{"type":"object","properties":{"a b":{"type":"string","description":"The a."},"ok":{"type":"string","x-validate":"omitempty,ip"}},"required":["a b"]}`,
			"export interface T {\n  /** The a. */\n  \"a b\": string;\n  /** validate \"omitempty,ip\" */\n  ok?: string;\n}"},
		{`{"type":"object"}`, "export interface T {\n  [key: string]: unknown;\n}"},
		{`{"type":"object","additionalProperties":false}`, "export interface T {}"},
		{`{"type":["object","null"],"propertyNames":{"pattern":"^[0-9]+$"},"additionalProperties":{"type":"integer"}}`,
			"export type T = {\n  [key: string]: number;\n} | null;"},
		{`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"integer"}}`,
			"export interface T {\n  a?: string;\n  [key: string]: number | string | undefined;\n}"},
		{`{"type":"string","pattern":"^a*/b$","description":"Ends */ here."}`,
			"/**\n * Ends *\\/ here.\n * pattern \"^a*\\/b$\"\n */\nexport type T = string;"},
		{`{"type":"object","properties":{"children":{"type":["array","null"],"items":{"$ref":"#/components/schemas/T"}}},"required":["children"]}`,
			"export interface T {\n  children: T[] | null;\n}"},
	} {
		files, err := tsgen.Generate(schemaDoc(t, tt.schema))
		if err != nil {
			t.Fatalf("%s: %v", tt.schema, err)
		}
		if got := declaration(t, files.DTS); got != tt.want {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", tt.schema, got, tt.want)
		}
	}
}

// TestNames: schema keys become identifiers that clash with nothing the
// runtime declares.
func TestNames(t *testing.T) {
	t.Parallel()
	doc := `{"asyncapi":"3.1.0","info":{"title":"T","version":"1"},"components":{"schemas":{
		"chat.Message":{"type":"string"},"Page_Item":{"type":"string"},"Client":{"type":"string"},
		"Error":{"type":"string"},"9lives":{"type":"string"},"number":{"type":"string"},"WsError":{"type":"string"},
		"delete":{"type":"string"},"enum":{"type":"string"},"let":{"type":"string"},"await":{"type":"string"},"keyof":{"type":"string"},
		"constructor":{"type":"string"},"__proto__":{"type":"string"}}}}`
	files, err := tsgen.Generate([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"export type chatMessage = string;", "export type Page_Item = string;", "export type Client2 = string;",
		"export type Error2 = string;", "export type T9lives = string;", "export type number_ = string;",
		"export type WsError2 = string;", "export type delete_ = string;", "export type enum_ = string;", "export type let_ = string;",
		"export type await_ = string;", "export type keyof_ = string;", "export type constructor = string;", "export type __proto__ = string;",
	} {
		if !bytes.Contains(files.DTS, []byte(want)) {
			t.Errorf("no %q in the declarations", want)
		}
	}
}

// TestRefusesOtherDocuments: not JSON, not AsyncAPI 3, dangling
// references, a channel address that is not a path.
func TestRefusesOtherDocuments(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ doc, want string }{
		{`{`, "not JSON"},
		{`[]`, "not a JSON object"},
		{`{"asyncapi":"2.6.0"}`, `AsyncAPI 3 document is needed, not version "2.6.0"`},
		{`{"asyncapi":"3.1.0","channels":{},"operations":{"x":{"action":"send","channel":{"$ref":"#/channels/nope"}}}}`, `operation "x": channel: reference "#/channels/nope": no "nope"`},
		{`{"asyncapi":"3.1.0","channels":{"c":{"address":"/c"}},"operations":{"x":{"action":"send","channel":{"$ref":"#/channels/c"},"messages":[{"$ref":"#/channels/c/messages/m"}]}}}`, `operation "x": message: reference`},
		// Addresses that name a host, or do once a URL parser reads them.
		{`{"asyncapi":"3.0.0","channels":{"c":{"address":"//evil.example/ws"}}}`, `"#/channels/c/address": the address "//evil.example/ws" is not a path`},
		{`{"asyncapi":"3.0.0","channels":{"c":{"address":"https://evil.example/ws"}}}`, `"#/channels/c/address": the address "https://evil.example/ws" is not a path`},
		{`{"asyncapi":"3.0.0","channels":{"c":{"address":"/\\evil.example/ws"}}}`, `the address "/\\evil.example/ws" is not a path`},
		{`{"asyncapi":"3.0.0","channels":{"c":{"address":"/\t/evil.example/ws"}}}`, `the address "/\t/evil.example/ws" is not a path`},
		{`{"asyncapi":"3.0.0","channels":{"c/d":{"address":"/ws\u2028\n"}}}`, `"#/channels/c~1d/address": the address "/ws\u2028\n" is not a path`},
		{`{"asyncapi":"3.0.0","channels":{"/evil.example":{"address":null}}}`, `the address "//evil.example" is not a path`},
	} {
		_, err := tsgen.Generate([]byte(tt.doc))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "tsgen: ") {
			t.Errorf("%s: got error %v, want one with %q", tt.doc, err, tt.want)
		}
	}
}

// TestAcceptsVersions: AsyncAPI 3.0.0 and 3.1.0 documents.
func TestAcceptsVersions(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"3.0.0", "3.1.0"} {
		files, err := tsgen.Generate([]byte(`{"asyncapi":"` + v + `","info":{"title":"T","version":"1"},"channels":{"c":{"address":"/c"}}}`))
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if !strings.Contains(string(files.DTS), "// The endpoint /c (channel \"c\").\n") {
			t.Errorf("%s: the declarations do not describe /c", v)
		}
	}
}

// TestHostileHeader: the title and version of the document stay on the
// first line of each file, a comment, whatever line terminator they hold.
func TestHostileHeader(t *testing.T) {
	t.Parallel()
	for _, nl := range []string{"\n", "\r", "\r\n", "\u2028", "\u2029"} {
		v := "1.0.0" + nl + "globalThis.PWNED=1;//"
		doc, _ := json.Marshal(map[string]any{"asyncapi": "3.0.0", "info": map[string]any{"title": "T" + nl + "*/", "version": v}})
		files, err := tsgen.Generate(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, out := range [][]byte{files.JS, files.DTS} {
			first, rest, _ := strings.Cut(string(out), "\n")
			want := `// Code generated by wsgen-ts from the AsyncAPI document "T\` + map[string]string{"\n": "n", "\r": "r", "\r\n": `r\n`, "\u2028": "u2028", "\u2029": "u2029"}[nl] +
				`*\/" 1.0.0 globalThis.PWNED=1;//. DO NOT EDIT.`
			if first != want || !strings.HasPrefix(rest, "\n") {
				t.Errorf("version %q: the file starts with %q, want %q and an empty line", v, first, want)
			}
			if strings.ContainsAny(string(out), "\r\u2028\u2029") {
				t.Errorf("version %q: a line terminator other than \\n reached the file", v)
			}
		}
	}
}

// TestRuntimeInlines: the runtime can be inlined in a script element, as
// the docs page does: nothing in it ends the element or opens a markup
// comment.
func TestRuntimeInlines(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"</", "<!--", "<script", "]]>"} {
		if strings.Contains(strings.ToLower(tsgen.RuntimeJS()), bad) {
			t.Errorf("the runtime holds %q", bad)
		}
	}
}

const (
	routerDoc    = "../../testdata/asyncapi/router.json"
	routerGolden = "testdata/router"
)

// TestRouterDocument generates the client of the router document the root
// package keeps in testdata/asyncapi, checks what it declares, and
// compares it with testdata/router/client.{js,d.ts}; WS_UPDATE_GOLDEN=1
// rewrites those.
func TestRouterDocument(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(routerDoc)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tsgen.Generate(doc)
	if err != nil {
		t.Fatal(err)
	}
	dts := string(files.DTS)
	for _, want := range []string{
		"// Code generated by wsgen-ts from the AsyncAPI document \"Chat router\" 1.0.0. DO NOT EDIT.\n",
		"export interface apiChatRequest {\n  /** minLength 1, maxLength 500 */\n  message: string;\n  /** minLength 1, maxLength 32 */\n  user: string;\n}\n",
		"export interface apiHistoryRequest {\n  /** 0 or (minimum 1, maximum 100) */\n  limit?: number;\n}\n",
		"export interface WsEvents {\n  /** The chat.history event. */\n  \"chat.history\": {\n    data: apiHistoryRequest | undefined;\n    reply: apiChatResponse[] | null;\n  };\n" +
			"  /** The chat.send event. */\n  \"chat.send\": {\n    data: apiChatRequest;\n    reply: apiChatResponse;\n  };\n}\n",
		"export interface WsStreams {\n  /** The chat.watch event. */\n  \"chat.watch\": {\n    data: apiWatchRequest;\n    item: apiChatResponse;\n  };\n}\n",
		"export interface WsPushes {\n  /** The chat.message event, sent by the server. */\n  \"chat.message\": apiChatResponse;\n}\n",
		"export type WsClient = Client<WsEvents, WsStreams, WsPushes>;\n",
		"export declare function connectWs(options?: ClientOptions<WsClient>): WsClient;\n",
	} {
		if !strings.Contains(dts, want) {
			t.Errorf("the declarations lack:\n%s", want)
		}
	}
	if want := "export function connectWs(options = {}) {\n  return new Client(channelURL(\"/ws\", undefined, options), options);\n}\n"; !strings.HasSuffix(string(files.JS), want) {
		t.Errorf("client.js does not end with:\n%s", want)
	}
	golden(t, filepath.Join(routerGolden, "client.d.ts"), files.DTS)
	golden(t, filepath.Join(routerGolden, "client.js"), files.JS)
}

// TestChannels: a callback's client, a path with parameters, an endpoint
// whose messages are not described.
func TestChannels(t *testing.T) {
	t.Parallel()
	doc := `{"asyncapi":"3.1.0","info":{"title":"T","version":"1"},
	"channels":{
		"rooms.room":{"address":"/rooms/{room}","messages":{
			"request":{"payload":{"$ref":"#/components/schemas/Req"}},
			"reply":{"payload":{"type":"object","properties":{"statusCode":{"type":"integer"},"body":{"anyOf":[{"type":"string"},{"type":"null"}]}}}},
			"badRequest":{"payload":{"type":"object","properties":{"statusCode":{"const":400},"body":{}}}}}},
		"raw":{"address":"/raw"}},
	"operations":{"rooms.room.receive":{"action":"receive","channel":{"$ref":"#/channels/rooms.room"},
		"messages":[{"$ref":"#/channels/rooms.room/messages/request"}],
		"reply":{"channel":{"$ref":"#/channels/rooms.room"},"messages":[{"$ref":"#/channels/rooms.room/messages/badRequest"},{"$ref":"#/channels/rooms.room/messages/reply"}]}}},
	"components":{"schemas":{"Req":{"type":"object","properties":{"n":{"type":"integer"}}}}}}`
	files, err := tsgen.Generate([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"export type RoomsRoomClient = CallbackClient<Req, string | null>;\n",
		"export declare function connectRoomsRoom(params: { room: string | number }, options?: ClientOptions<RoomsRoomClient>): RoomsRoomClient;\n",
		"// The endpoint /raw (channel \"raw\").\n// Its messages are not described: no client.\n",
	} {
		if !strings.Contains(string(files.DTS), want) {
			t.Errorf("the declarations lack:\n%s", want)
		}
	}
	if want := "export function connectRoomsRoom(params, options = {}) {\n  return new CallbackClient(channelURL(\"/rooms/{room}\", params, options), options);\n}\n"; !strings.Contains(string(files.JS), want) {
		t.Errorf("client.js lacks:\n%s", want)
	}
	if strings.Contains(string(files.JS), "connectRaw") {
		t.Error("client.js connects to /raw, whose messages are not described")
	}
}

// golden compares got with the file at path, or rewrites the file when
// WS_UPDATE_GOLDEN=1.
func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if os.Getenv("WS_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (WS_UPDATE_GOLDEN=1 writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the generator writes now (WS_UPDATE_GOLDEN=1 rewrites it)", path)
	}
}
