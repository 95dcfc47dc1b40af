package hub_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

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
