// Chat is a small chat room served with typed WebSocket callbacks, and the
// seed's traditional echo endpoint beside it.
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
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
)

//go:embed static
var static embed.FS

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var conns ws.Group
	srv := &http.Server{Handler: newMux(&conns), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("chat listening on http://%s", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		log.Fatal(err)
	case <-ctx.Done():
	}

	// Stop accepting, then close the WebSocket connections with 1001 and
	// wait for their Disconnect callbacks.
	log.Print("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := errors.Join(srv.Shutdown(ctx), conns.Shutdown(ctx)); err != nil {
		log.Fatal(err)
	}
}

// newMux serves the page, the chat and the echo endpoint. Every WebSocket
// connection is tracked in conns for the graceful shutdown.
func newMux(conns *ws.Group) *http.ServeMux {
	page, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	logger := ws.WithLogger(slog.Default())
	chat := &Chat{hub: hub.New(hub.WithLogger(slog.Default()))}

	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	mux.Handle("GET /chat", ws.Callback(chat.Connect, chat.Receive, chat.Disconnect, ws.WithGroup(conns), logger))
	mux.Handle("GET /echo", ws.Handler(echo, ws.WithGroup(conns), logger))
	return mux
}

// echo is the traditional method: receive and send JSON yourself, with no
// envelope and no validation. As in the seed's loop, any error ends it,
// a message that is not JSON too, and the connection closes with 1000.
func echo(ctx context.Context, conn *ws.Conn) error {
	// Your code on connect here.
	for {
		// Your code on receive here.
		var data any
		if err := conn.ReceiveJSON(ctx, &data); err != nil {
			// Your code on disconnect here.
			return nil
		}

		// Send message.
		if err := conn.SendJSON(ctx, map[string]string{"Hola": "Mundo"}); err != nil {
			return nil
		}
	}
}
