// Package serve runs a benchmark server on 127.0.0.1 with its WebSocket
// endpoint at /ws.
package serve

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// ReadLimit is the largest request frame every server accepts.
const ReadLimit = 32 << 10

// port is the -port flag, registered at start-up so that a server with
// flags of its own can parse the command line before calling Run.
var port = flag.Int("port", defaultPort(), "TCP port to listen on at 127.0.0.1 (default $PORT or 8080)")

// Run parses the command line unless the caller has, serves h at /ws on
// 127.0.0.1 and returns when the process is interrupted or terminated. The
// port comes from -port, or from $PORT when the flag is not given.
func Run(name string, h http.Handler) {
	if !flag.Parsed() {
		flag.Parse()
	}

	mux := http.NewServeMux()
	mux.Handle("/ws", h)
	srv := &http.Server{
		Addr:              net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)),
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		srv.Close()
	}()

	log.Printf("%s: listening on ws://%s/ws", name, srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("%s: %v", name, err)
	}
}

func defaultPort() int {
	if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
		return p
	}
	return 8080
}
