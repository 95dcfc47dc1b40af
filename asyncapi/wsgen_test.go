package asyncapi_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
	"github.com/cafeto-go/ws/internal/tsgen"
)

// TestTypeScriptClient generates the TypeScript client of the router the
// Router tests serve (router_test.go) and checks that it declares each
// event with its data and reply, the stream with its items, and the push.
// e2e/tscheck compiles such a client and runs it against a server.
func TestTypeScriptClient(t *testing.T) {
	t.Parallel()
	doc := asyncapi.New(asyncapi.Info{Title: "Router tests", Version: "0.1.0"})
	doc.Add("GET /chat/{room}", newRtRouter(newRtChat()))
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	files, err := tsgen.Generate(raw)
	if err != nil {
		t.Fatal(err)
	}
	dts, js := string(files.DTS), string(files.JS)
	for _, want := range []string{
		"export interface SendRequest {\n  /** minLength 1, maxLength 500 */\n  message: string;\n  /** minLength 1, maxLength 32 */\n  user: string;\n}\n",
		"export interface WatchRequest {\n  /** minimum 0 */\n  count?: number;\n  fail?: string;\n}\n",
		"  \"chat.send\": {\n    data: SendRequest;\n    reply: ChatMessage;\n  };\n",
		"  \"chat.history\": {\n    data: HistoryRequest | undefined;\n    reply: ChatMessage[] | null;\n  };\n",
		"  \"chat.create\": {\n    data: SendRequest;\n    reply: ChatMessage | null;\n  };\n",
		"export interface ChatRoomStreams {\n  /** The chat.watch event. */\n  \"chat.watch\": {\n    data: WatchRequest | undefined;\n    item: ChatMessage;\n  };\n}\n",
		"export interface ChatRoomPushes {\n  /** The chat.message event, sent by the server. */\n  \"chat.message\": ChatMessage;\n}\n",
		"export declare function connectChatRoom(params: { room: string | number }, options?: ClientOptions<ChatRoomClient>): ChatRoomClient;\n",
	} {
		if !strings.Contains(dts, want) {
			t.Errorf("client.d.ts lacks:\n%s", want)
		}
	}
	if want := `return new Client(channelURL("/chat/{room}", params, options), options);`; !strings.Contains(js, want) {
		t.Errorf("client.js lacks %s", want)
	}
}

// TestTypeScriptClientBothVersions: the client of a document is the same
// whether it is written as AsyncAPI 3.0.0 or 3.1.0.
func TestTypeScriptClientBothVersions(t *testing.T) {
	t.Parallel()
	var clients []*tsgen.Files
	for _, version := range []string{"3.0.0", "3.1.0"} {
		doc := asyncapi.New(asyncapi.Info{Title: "Router tests", Version: "0.1.0", AsyncAPI: version})
		doc.Add("GET /chat/{room}", newRtRouter(newRtChat()))
		doc.Add("/echo", ws.Callback(nil, func(ctx context.Context, in apiChatRequest) (apiChatResponse, error) { return apiChatResponse{}, nil }, nil))
		raw, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), `"asyncapi":"`+version+`"`) {
			t.Fatalf("the document is not AsyncAPI %s", version)
		}
		files, err := tsgen.Generate(raw)
		if err != nil {
			t.Fatalf("AsyncAPI %s: %v", version, err)
		}
		if !strings.Contains(string(files.DTS), "export declare function connectChatRoom(") || !strings.Contains(string(files.DTS), "export type EchoClient = CallbackClient<apiChatRequest, apiChatResponse>;") {
			t.Errorf("AsyncAPI %s: the client lacks connectChatRoom or EchoClient", version)
		}
		clients = append(clients, files)
	}
	if string(clients[0].JS) != string(clients[1].JS) || string(clients[0].DTS) != string(clients[1].DTS) {
		t.Error("the clients of the 3.0.0 and 3.1.0 documents differ")
	}
}
