package wsclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
)

// A Router with one event and one stream, and a client calling both.
func Example() {
	type Greeting struct {
		Name string `json:"name" validate:"required"`
	}
	r := ws.NewRouter()
	ws.On(r, "greet", func(ctx context.Context, in Greeting) (string, error) {
		return "Hello, " + in.Name, nil
	})
	ws.Stream(r, "count", func(ctx context.Context, n int, send func(int) error) error {
		for i := range n {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	ctx := context.Background()
	c, err := wsclient.Dial(ctx, srv.URL)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	hello, err := wsclient.Call[string](ctx, c, "greet", Greeting{Name: "Ana"})
	fmt.Println(hello, err)

	_, err = wsclient.Call[string](ctx, c, "greet", Greeting{})
	var e *ws.Error
	if errors.As(err, &e) {
		d := e.Body.(ws.ErrorList).Errors[0]
		fmt.Println(e.Status, d.Loc, d.Type)
	}

	for i, err := range wsclient.Stream[int](ctx, c, "count", 3) {
		fmt.Println("item", i, err)
	}
	// Output:
	// Hello, Ana <nil>
	// 400 [name] missing
	// item 0 <nil>
	// item 1 <nil>
	// item 2 <nil>
}

// A client of rooms with history: it joins its room on every connection,
// resumes by itself, and reloads the room when the server could not send
// everything it missed.
func ExampleWithOnRecover() {
	type JoinRequest struct {
		Room string `json:"room"`
	}
	reload := func(ctx context.Context, room string) { /* read the room's state again */ }
	ctx := context.Background()

	c, err := wsclient.Dial(ctx, "ws://localhost:8080/ws",
		wsclient.WithReconnect(0, 0),
		wsclient.WithOnConnect(func(ctx context.Context, c *wsclient.Client) error {
			_, err := wsclient.Call[bool](ctx, c, "room.join", JoinRequest{Room: "lobby"})
			return err
		}),
		wsclient.WithOnRecover(func(ctx context.Context, r wsclient.Recovery) {
			if !r.Recovered {
				reload(ctx, r.Room) // messages were lost: read the room's state again
			}
		}))
	if err != nil {
		return
	}
	defer c.Close()
}

// A client that logs the members who leave a room with presence, and
// reads who is there.
func ExampleWithOnPresence() {
	ctx, url := context.Background(), "ws://localhost:8080/ws"
	c, err := wsclient.Dial(ctx, url, wsclient.WithOnPresence(func(ctx context.Context, ch wsclient.PresenceChange) {
		for key := range ch.Leaves {
			if _, still := ch.State[key]; !still {
				log.Printf("%s left %s", key, ch.Room)
			}
		}
	}))
	if err != nil {
		return
	}
	defer c.Close()
	online := c.Presence("lobby") // map key → []wsclient.Meta{Ref, JSON}; m.Decode(&v)
	fmt.Println(len(online))
}
