// Chatnats serves the chat of examples/chat on several servers whose rooms
// are shared over NATS: a message sent to one server reaches the clients of
// every other. The room's history is kept in NATS JetStream
// (natsbroker.NewJetStream, chatapp.KeepHistory): a page whose server dies
// reconnects to another and gets every message it missed, once, in order.
//
//	go run . -addr localhost:8080 -nats-server   # also runs a NATS server with JetStream on 127.0.0.1:4222
//	go run . -addr localhost:8081                # another chat server, same room
//
// then open http://localhost:8080 and http://localhost:8081. With a NATS
// server of your own, run it with JetStream (nats-server -js) and give its
// URL with -nats. The embedded server keeps JetStream's files in
// -nats-store, a new temporary directory by default. README.md says how to
// watch a page survive the death of its server.
//
// Each server is the chat of examples/chat, with its rate limits and its
// rule of names (docs/demo.md). Messages, typing and the room's history
// (in JetStream) reach every server; names and the room's stats are each
// server's own: a name is unique among the connections of one server, and
// two people on two servers may take the same one.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	natsURL := flag.String("nats", nats.DefaultURL, "URL of the NATS server")
	embedded := flag.Bool("nats-server", false, "also run a NATS server, with JetStream, at the -nats address")
	store := flag.String("nats-store", "", "directory of the embedded NATS server's JetStream files (default: a new temporary directory)")
	hosts := flag.String("hosts", "", "comma-separated host names the server may be reached by, besides localhost, 127.0.0.1 and ::1")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *embedded {
		if *store == "" {
			dir, err := os.MkdirTemp("", "chatnats-js-")
			if err != nil {
				log.Fatal(err)
			}
			defer os.RemoveAll(dir)
			*store = dir
		}
		ns, err := startNATS(*natsURL, *store)
		if err != nil {
			log.Fatal(err)
		}
		defer ns.Shutdown()
	}
	// Keep trying, at start and after an outage, for as long as the chat
	// runs: meanwhile the room works on this server alone.
	nc, err := nats.Connect(*natsURL, nats.Name("chat "+*addr),
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { slog.Warn("NATS disconnected", "error", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { slog.Info("NATS connected", "url", nc.ConnectedUrl()) }))
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Drain()
	// The room's history, in a JetStream stream that every chat server
	// shares: kept as long as the hub keeps it (chatapp.KeepHistory).
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	broker, err := natsbroker.NewJetStream(sctx, nc, natsbroker.Stream{MaxPerRoom: 1000, MaxAge: 24 * time.Hour})
	cancel()
	if err != nil {
		log.Fatalf("JetStream: %v (run nats-server with -js)", err)
	}
	defer broker.Close()

	h := hub.New(hub.WithBroker(broker), hub.WithLogger(slog.Default()), chatapp.KeepHistory)
	defer h.Close()
	if err := chatapp.Serve(ctx, *addr, chatapp.SplitHosts(*hosts), h); err != nil {
		log.Fatal(err)
	}
}

// startNATS runs a NATS server with JetStream in this process, listening
// where rawURL points, with JetStream's files in store.
func startNATS(rawURL, store string) (*server.Server, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return nil, err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(&server.Options{Host: host, Port: port, NoSigs: true, JetStream: true, StoreDir: store})
	if err != nil {
		return nil, err
	}
	ns.ConfigureLogger()
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		return nil, fmt.Errorf("NATS server not ready at %s", u.Host)
	}
	log.Printf("NATS server listening on nats://%s", u.Host)
	return ns, nil
}
