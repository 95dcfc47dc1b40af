// Command client talks to the quick start's server with the typed Go client.
//
//	go run ./examples/quickstart &
//	go run ./examples/quickstart/client
package main

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
)

type ChatRequest struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

type ChatResponse struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

func main() {
	ctx := context.Background()
	c, err := wsclient.Dial(ctx, "ws://localhost:8080/chat")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	reply, err := wsclient.Send[ChatResponse](ctx, c, ChatRequest{Message: "Hello", User: "Marcela"})
	fmt.Println(reply, err) // {Hi Marcela System} <nil>

	_, err = wsclient.Send[ChatResponse](ctx, c, ChatRequest{Message: "Hello"})
	var e *ws.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Body) // 400 ws: user: Field required
	}
}
