// Chat is a small chat room served with typed WebSocket callbacks, and the
// traditional echo endpoint of Cafeto beside it.
//
//	go run ./examples/chat            # then open http://localhost:8080
//	go run ./examples/chat -addr :9000
//
// GET /chat takes {"message": "…", "user": "…"}, answers the sender with
// {"statusCode": 200, "body": {"message": "…", "user": "…", "at": "…"}} and
// pushes the same envelope to everyone else in the room; an invalid message
// gets a 400 errorList. GET /echo answers every JSON message with
// {"Hola": "Mundo"}. On SIGINT or SIGTERM the server closes every connection
// with 1001 (going away), and the page reconnects when it is back.
//
// The app itself is in package chatapp; examples/chatnats serves it on
// several servers that share their rooms over NATS.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()
	// Handle signals before listening, so that a signal never kills the
	// server without its graceful shutdown.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := chatapp.Serve(ctx, *addr, hub.New(hub.WithLogger(slog.Default()))); err != nil {
		log.Fatal(err)
	}
}
