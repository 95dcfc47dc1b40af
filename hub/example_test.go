package hub_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// A chat room: every message goes to the other members of the lobby.
func Example() {
	type message struct {
		User string `json:"user" validate:"required"`
		Text string `json:"text" validate:"required"`
	}
	h := hub.New()
	defer h.Close()

	chat := ws.Callback(
		func(ctx context.Context, conn *ws.Conn) error {
			if err := h.Join(conn, "lobby"); err != nil {
				return err
			}
			return conn.SendJSON(ctx, ws.Ok(message{User: "system", Text: fmt.Sprintf("welcome, %d here", h.Count("lobby"))}))
		},
		func(ctx context.Context, in message) (ws.StatusEnvelope[message], error) {
			// ws.Ok keeps Callback's wire format: every frame is an envelope.
			err := h.BroadcastExcept(ctx, "lobby", ws.ConnFromContext(ctx), ws.Ok(in))
			return ws.NoContent[message](), err
		},
		func(ctx context.Context, conn *ws.Conn, err error) {
			h.LeaveAll(conn)
		},
	)
	srv := httptest.NewServer(chat)
	defer srv.Close()

	ctx := context.Background()
	dial := func(name string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
		if err != nil {
			panic(err)
		}
		_, welcome, _ := c.Read(ctx)
		fmt.Printf("%s got %s\n", name, welcome)
		return c
	}
	alice := dial("alice")
	defer alice.CloseNow()
	bob := dial("bob")
	defer bob.CloseNow()

	wsjson.Write(ctx, alice, message{User: "alice", Text: "hi bob"})
	_, reply, _ := alice.Read(ctx)
	_, msg, _ := bob.Read(ctx)
	fmt.Printf("alice got %s\nbob got %s\n", reply, msg)
	// Output:
	// alice got {"statusCode":200,"body":{"user":"system","text":"welcome, 1 here"}}
	// bob got {"statusCode":200,"body":{"user":"system","text":"welcome, 2 here"}}
	// alice got {"statusCode":204,"body":null}
	// bob got {"statusCode":200,"body":{"user":"alice","text":"hi bob"}}
}

type SendRequest struct {
	User    string `json:"user" validate:"required"`
	Message string `json:"message" validate:"required"`
}

type ChatMessage struct {
	Room    string `json:"room"`
	User    string `json:"user"`
	Message string `json:"message"`
}

// A chat room on a Router: the sender gets the reply to chat.send, the
// other members the chat.message push.
func Example_router() {
	h := hub.New()
	defer h.Close()
	mux := http.NewServeMux()

	r := ws.NewRouter()
	r.OnConnect(func(ctx context.Context, conn *ws.Conn) error {
		return h.Join(conn, "lobby") // the hub leaves the room by itself when conn ends
	})
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
		msg := ChatMessage{Room: "lobby", User: in.User, Message: in.Message}
		err := h.BroadcastExcept(ctx, "lobby", ws.ConnFromContext(ctx), ws.Push("chat.message", msg))
		return msg, err
	})
	ws.Emits[ChatMessage](r, "chat.message")
	mux.Handle("GET /ws", r)

	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	dial := func() *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
		if err != nil {
			panic(err)
		}
		return c
	}
	alice, bob := dial(), dial()
	defer alice.CloseNow()
	defer bob.CloseNow()
	for h.Count("lobby") < 2 {
		time.Sleep(time.Millisecond)
	}
	alice.Write(ctx, websocket.MessageText, []byte(`{"event":"chat.send","id":1,"data":{"user":"alice","message":"hi bob"}}`))
	_, reply, _ := alice.Read(ctx)
	_, push, _ := bob.Read(ctx)
	fmt.Printf("alice got %s\nbob got %s\n", reply, push)
	// Output:
	// alice got {"id":1,"event":"chat.send","statusCode":200,"body":{"room":"lobby","user":"alice","message":"hi bob"}}
	// bob got {"event":"chat.message","statusCode":200,"body":{"room":"lobby","user":"alice","message":"hi bob"}}
}
