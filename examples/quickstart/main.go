// Command quickstart is the README's quick start.
package main

import (
	"context"
	"log"
	"net/http"

	"github.com/cafeto-go/ws"
)

type ChatRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

type ChatResponse struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

// Chat is a controller: a plain struct, shared by all connections.
type Chat struct{}

func (c *Chat) Connect(ctx context.Context, conn *ws.Conn) error { return nil }

func (c *Chat) Receive(ctx context.Context, in ChatRequest) (ChatResponse, error) {
	return ChatResponse{Message: "Hi " + in.User, User: "System"}, nil
}

func (c *Chat) Disconnect(ctx context.Context, conn *ws.Conn, err error) {}

func main() {
	chat := &Chat{}
	mux := http.NewServeMux()
	mux.Handle("GET /chat", ws.Callback(chat.Connect, chat.Receive, chat.Disconnect))
	log.Fatal(http.ListenAndServe("localhost:8080", mux))
}
