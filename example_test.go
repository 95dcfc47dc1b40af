package ws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// talk connects to url, sends each message and prints each reply.
func talk(url string, msgs ...string) {
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.CloseNow()
	for _, m := range msgs {
		if err := c.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
			fmt.Println("write:", err)
			return
		}
		_, reply, err := c.Read(ctx)
		if err != nil {
			fmt.Println("read:", err)
			return
		}
		fmt.Println(string(reply))
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// The traditional method: receive and send JSON yourself.
func ExampleHandler() {
	echo := ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
		for {
			var in map[string]any
			err := conn.ReceiveJSON(ctx, &in)
			var bad ws.ErrorList
			switch {
			case errors.As(err, &bad):
				// The client's mistake: answer it and read on.
				err = conn.SendJSON(ctx, ws.BadRequest(bad))
			case err != nil:
				return err // the connection has ended
			default:
				err = conn.SendJSON(ctx, map[string]string{"Hola": "Mundo"})
			}
			if err != nil {
				return err
			}
		}
	})
	srv := httptest.NewServer(echo)
	defer srv.Close()

	talk(srv.URL, `{"message": "Hi", "user": "System"}`, `{"message": `)
	// Output:
	// {"Hola":"Mundo"}
	// {"statusCode":400,"body":{"errorList":[{"loc":[],"type":"json_invalid","msg":"Invalid JSON: unexpected end of JSON input"}]}}
}

// The callback method with closures: each message arrives as a validated
// request, and the result goes back in an envelope.
func ExampleCallback() {
	type ChatRequest struct {
		Message string `json:"message" validate:"required"`
		User    string `json:"user" validate:"required"`
	}
	type ChatResponse struct {
		Message string `json:"message"`
		User    string `json:"user"`
	}

	onConnect := func(ctx context.Context, conn *ws.Conn) error { return nil }
	onReceive := func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse{Message: "Hi", User: "System"}, nil
	}
	onDisconnect := func(ctx context.Context, conn *ws.Conn, err error) {}

	mux := http.NewServeMux()
	mux.Handle("GET /chat", ws.Callback(onConnect, onReceive, onDisconnect))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	talk(srv.URL+"/chat", `{"message": "Hello", "user": "Marcela"}`)
	// Output:
	// {"statusCode":200,"body":{"message":"Hi","user":"System"}}
}

// Chat is a controller: a plain struct whose methods are the callbacks,
// shared by all connections.
type Chat struct{}

func (c *Chat) Connect(ctx context.Context, conn *ws.Conn) error { return nil }

func (c *Chat) Receive(ctx context.Context, in ChatRequest) (ChatResponse, error) {
	return ChatResponse{Message: "Hi", User: "System"}, nil
}

func (c *Chat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {}

// The callback method with a controller's methods.
func ExampleCallback_controller() {
	chat := &Chat{}
	mux := http.NewServeMux()
	mux.Handle("GET /chat", ws.Callback(chat.Connect, chat.Receive, chat.Disconnect))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	talk(srv.URL+"/chat", `{"message": "Hello", "user": "Marcela"}`)
	// Output:
	// {"statusCode":200,"body":{"message":"Hi","user":"System"}}
}

// A message that does not validate is answered with a 400 errorList worded
// like Pydantic's; the connection stays open.
func ExampleCallback_validation() {
	type Signup struct {
		Name string   `json:"name" validate:"required,min=3,max=10"`
		Age  int      `json:"age" validate:"gte=18"`
		Tags []string `json:"tags" validate:"max=2,dive,oneof=go python"`
	}
	h := ws.Callback(nil, func(ctx context.Context, in Signup) (string, error) {
		return "welcome " + in.Name, nil
	}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	talk(srv.URL,
		`{"age": 17, "tags": ["go", "rust"]}`,
		`{"name": "Ana", "age": "old"}`,
		`{"name": "Ana", "age": 30}`,
	)
	// Output:
	// {"statusCode":400,"body":{"errorList":[{"loc":["name"],"type":"missing","msg":"Field required"},{"loc":["age"],"type":"greater_than_equal","msg":"Input should be greater than or equal to 18"},{"loc":["tags",1],"type":"literal_error","msg":"Input should be 'go' or 'python'"}]}}
	// {"statusCode":400,"body":{"errorList":[{"loc":["age"],"type":"int_type","msg":"Input should be a valid integer"}]}}
	// {"statusCode":200,"body":"welcome Ana"}
}

// A receive function picks another status by returning a StatusEnvelope, or
// an error made with one of the status constructors.
func ExampleCallback_status() {
	type NewRoom struct {
		Name string `json:"name" validate:"required"`
	}
	rooms := map[string]bool{"lobby": true}
	h := ws.Callback(nil, func(ctx context.Context, in NewRoom) (ws.StatusEnvelope[NewRoom], error) {
		if rooms[in.Name] {
			return ws.StatusEnvelope[NewRoom]{}, ws.NewError(http.StatusConflict, map[string]string{"detail": "room exists"})
		}
		rooms[in.Name] = true
		return ws.Created(in), nil
	}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	talk(srv.URL, `{"name": "games"}`, `{"name": "lobby"}`)
	// Output:
	// {"statusCode":201,"body":{"name":"games"}}
	// {"statusCode":409,"body":{"detail":"room exists"}}
}

// Graceful shutdown: a Group closes every connection with 1001 and waits
// for their onDisconnect.
func ExampleGroup_Shutdown() {
	var conns ws.Group
	connected := make(chan struct{})
	h := ws.Callback(
		func(ctx context.Context, conn *ws.Conn) error { close(connected); return nil },
		func(ctx context.Context, in ChatRequest) (string, error) { return "ok", nil },
		func(ctx context.Context, conn *ws.Conn, err error) {
			fmt.Println("onDisconnect:", websocket.CloseStatus(err))
		},
		ws.WithGroup(&conns))
	srv := httptest.NewServer(h)
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	client := make(chan error)
	go func() {
		_, _, err := c.Read(ctx) // answers the close handshake
		client <- err
	}()
	<-connected

	fmt.Println("Shutdown:", conns.Shutdown(ctx))
	fmt.Println("client:", websocket.CloseStatus(<-client))
	// Output:
	// onDisconnect: StatusGoingAway
	// Shutdown: <nil>
	// client: StatusGoingAway
}
