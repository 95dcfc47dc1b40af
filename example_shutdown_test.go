package ws_test

import (
	"context"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/cafeto-go/ws"
)

// A server that shuts down gracefully on SIGTERM: HTTP first, then the
// WebSocket connections, which the HTTP server no longer tracks.
func ExampleGroup_Shutdown_server() {
	receive := func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse{Message: "Hi " + in.User, User: "System"}, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()

	var conns ws.Group
	mux := http.NewServeMux()
	mux.Handle("GET /chat", ws.Callback(nil, receive, nil, ws.WithGroup(&conns)))
	srv := &http.Server{Addr: "localhost:8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second}
	go srv.ListenAndServe()

	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)   // stops accepting; hijacked WebSocket connections are not its business
	conns.Shutdown(shutdown) // 1001 to each after its in-flight reply; at the deadline, drops the rest
}
