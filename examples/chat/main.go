// Chat is a small chat room served in the shapes of this module side by
// side, with its page.
//
//	go run ./examples/chat            # then open http://localhost:8080
//	go run ./examples/chat -addr :9000
//
// GET /ws is the page's endpoint, a Router of typed events: chat.join picks
// a name, once per connection and unique in the room; chat.send posts a
// message under that name, replied to with 200 and pushed to the others as
// chat.message; chat.history returns the last 50 messages; chat.typing is
// pushed to the others; chat.watch streams who is online until $cancel.
// GET /chat is the same room in the Callback shape: it takes
// {"message": "…", "user": "…"} and answers the sender with
// {"statusCode": 200, "body": {"message": "…", "user": "…", "time": "…"}}.
// Every endpoint is rate limited (chatapp/limits.go): chat.send 10
// messages at once, then 2 per second; the page shows the 429 as a request
// to slow down. GET /echo answers every JSON message with
// {"Hola": "Mundo"}.
// GET /asyncapi.json is the AsyncAPI document of the three, and GET /docs
// the page that documents them, with a console to try them; the page's
// client (chatapp/static/client.js) is generated from that document by
// wsgen-ts: go generate ./examples/chat/chatapp. An invalid
// message gets a 400 errorList. On SIGINT or SIGTERM the server closes
// every connection with 1001 (going away), and the page reconnects when it
// is back, naming the last message it got (resume): a connection lost and
// found again on the same server misses nothing; after a restart, the
// history kept in memory is gone, and the page says so (docs/demo.md).
//
// The server answers requests for localhost, 127.0.0.1 and [::1] only, a
// guard against DNS rebinding; -hosts names the others it may be reached
// by, such as its name on the LAN:
//
//	go run ./examples/chat -addr :8080 -hosts chat.lan,192.168.1.20
//
// The app itself is in package chatapp; natsbroker/chatnats serves it on
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
	hosts := flag.String("hosts", "", "comma-separated host names the server may be reached by, besides localhost, 127.0.0.1 and ::1")
	flag.Parse()
	// Handle signals before listening, so that a signal never kills the
	// server without its graceful shutdown.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h := hub.New(hub.WithLogger(slog.Default()), chatapp.KeepHistory)
	if err := chatapp.Serve(ctx, *addr, chatapp.SplitHosts(*hosts), h); err != nil {
		log.Fatal(err)
	}
}
