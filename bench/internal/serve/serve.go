// Package serve runs a benchmark server on 127.0.0.1 with its WebSocket
// endpoint at /ws. Every server it runs takes -port and -cpuprofile.
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
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"
)

// ReadLimit is the largest request frame every server accepts.
const ReadLimit = 32 << 10

// port is the -port flag, registered at start-up so that a server with
// flags of its own can parse the command line before calling Run.
var port = flag.Int("port", defaultPort(), "TCP port to listen on at 127.0.0.1 (default $PORT or 8080)")

// cpuprofile is the -cpuprofile flag: bench/profile.sh profiles the closed
// loop through it.
var cpuprofile = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file; it is complete once the server has stopped on SIGINT or SIGTERM")

// Run parses the command line unless the caller has, serves h at /ws on
// 127.0.0.1 and returns when the process is interrupted or terminated. The
// port comes from -port, or from $PORT when the flag is not given.
func Run(name string, h http.Handler) {
	RunRoutes(name, map[string]http.Handler{"/ws": h})
}

// RunRoutes is [Run] with more than one handler: routes maps a pattern of
// [http.ServeMux] to its handler.
func RunRoutes(name string, routes map[string]http.Handler) {
	if !flag.Parsed() {
		flag.Parse()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatalf("%s: %v", name, err)
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				log.Printf("%s: %v", name, err)
			}
		}()
	}

	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.Handle(pattern, h)
	}
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
