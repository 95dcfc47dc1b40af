package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

type exSend struct {
	Message string `json:"message" validate:"required,max=500"`
}

type exHistory struct {
	Limit int `json:"limit" validate:"omitempty,min=1,max=50"`
}

type exWatch struct {
	Every int `json:"every" validate:"required,min=1"` // milliseconds
}

type exMessage struct {
	User    string `json:"user"`
	Message string `json:"message"`
}

type exTick struct {
	N int `json:"n"`
}

// exChat is a controller with one method per event.
type exChat struct{}

func (c *exChat) Send(ctx context.Context, in exSend) (exMessage, error) {
	return exMessage{User: "ana", Message: in.Message}, nil
}

func (c *exChat) History(ctx context.Context, in exHistory) ([]exMessage, error) {
	return []exMessage{{User: "bob", Message: "hello"}}, nil
}

// Watch sends a tick every in.Every milliseconds until the client cancels
// the stream or goes away: both cancel ctx.
func (c *exChat) Watch(ctx context.Context, in exWatch, send func(exTick) error) error {
	t := time.NewTicker(time.Duration(in.Every) * time.Millisecond)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := send(exTick{N: n}); err != nil {
				return err
			}
		}
	}
}

// Several typed events on one connection, each reply matched to its
// request by the event and the id.
func ExampleNewRouter() {
	chat := &exChat{}
	mux := http.NewServeMux()

	r := ws.NewRouter()
	ws.On(r, "chat.send", chat.Send)
	ws.On(r, "chat.history", chat.History)
	ws.Stream(r, "chat.watch", chat.Watch)
	ws.Emits[exMessage](r, "chat.message")
	mux.Handle("GET /ws", r)

	srv := httptest.NewServer(mux)
	defer srv.Close()
	talk(srv.URL+"/ws",
		`{"event":"chat.send","id":1,"data":{"message":"Hi"}}`,
		`{"event":"chat.history","id":"h"}`,
		`{"event":"chat.send","id":2,"data":{"message":""}}`,
		`{"event":"chat.sned","data":{}}`,
	)
	// Output:
	// {"id":1,"event":"chat.send","statusCode":200,"body":{"user":"ana","message":"Hi"}}
	// {"id":"h","event":"chat.history","statusCode":200,"body":[{"user":"bob","message":"hello"}]}
	// {"id":2,"event":"chat.send","statusCode":400,"body":{"errorList":[{"loc":["message"],"type":"missing","msg":"Field required"}]}}
	// {"event":"chat.sned","statusCode":400,"body":{"errorList":[{"loc":["event"],"type":"union_tag_invalid","msg":"Input tag 'chat.sned' found using 'event' does not match any of the expected tags: 'chat.send', 'chat.history', 'chat.watch'"}]}}
}

// A server stream: items with "more": true, then one final reply. The
// client stops it with $cancel.
func ExampleStream() {
	chat := &exChat{}
	r := ws.NewRouter()
	ws.Stream(r, "chat.watch", chat.Watch)
	srv := httptest.NewServer(r)
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"event":"chat.watch","id":7,"data":{"every":10}}`))
	for range 2 {
		_, item, _ := c.Read(ctx)
		fmt.Println(string(item))
	}
	c.Write(ctx, websocket.MessageText, []byte(`{"event":"$cancel","id":7}`))
	for {
		_, msg, _ := c.Read(ctx)
		if !strings.Contains(string(msg), `"more":true`) {
			fmt.Println(string(msg))
			break
		}
	}
	// Output:
	// {"id":7,"event":"chat.watch","statusCode":200,"body":{"n":1},"more":true}
	// {"id":7,"event":"chat.watch","statusCode":200,"body":{"n":2},"more":true}
	// {"id":7,"event":"chat.watch","statusCode":200,"body":null}
}
