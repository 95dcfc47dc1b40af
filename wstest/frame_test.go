package wstest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// A test that reads the wire itself, with a plain WebSocket client,
// decodes each message into a Frame.
func ExampleFrame() {
	r := ws.NewRouter()
	note := ws.Emits[string](r, "note")
	ws.On(r, "greet", func(ctx context.Context, name string) (string, error) {
		if err := ws.ConnFromContext(ctx).SendJSON(ctx, note.Push("someone is here")); err != nil {
			return "", err
		}
		return "hi " + name, nil
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	exchange := func(msg string, frames int) {
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			fmt.Println(err)
			return
		}
		for range frames {
			var f wstest.Frame
			if err := wsjson.Read(ctx, c, &f); err != nil {
				fmt.Println(err)
				return
			}
			fmt.Println(f)
		}
	}
	exchange(`{"event":"greet","id":1,"data":"Ana"}`, 2) // a push, then the reply
	exchange(`{"event":"greet","id":"2","data":7}`, 1)   // a 400
	// Output:
	// {"event":"note","statusCode":200,"body":"someone is here"}
	// {"id":1,"event":"greet","statusCode":200,"body":"hi Ana"}
	// {"id":"2","event":"greet","statusCode":400,"body":{"errorList":[{"loc":[],"type":"string_type","msg":"Input should be a valid string"}]}}
}
