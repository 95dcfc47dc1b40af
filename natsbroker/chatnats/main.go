// Chatnats serves the chat of examples/chat on several servers whose rooms
// are shared over NATS: a message sent to one server reaches the clients of
// every other.
//
//	go run . -addr localhost:8080 -nats-server   # also runs a NATS server on 127.0.0.1:4222
//	go run . -addr localhost:8081                # another chat server, same room
//
// then open http://localhost:8080 and http://localhost:8081. With a NATS
// server of your own, give its URL with -nats.
//
// Each server is the chat of examples/chat, with its rate limits and its
// rule of names (docs/demo.md). Messages and typing reach every server;
// names, the history and the room's stats are each server's own: a name
// is unique among the connections of one server, and two people on two
// servers may take the same one.
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
	embedded := flag.Bool("nats-server", false, "also run a NATS server at the -nats address")
	hosts := flag.String("hosts", "", "comma-separated host names the server may be reached by, besides localhost, 127.0.0.1 and ::1")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *embedded {
		ns, err := startNATS(*natsURL)
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
	broker := natsbroker.New(nc)
	defer broker.Close()

	h := hub.New(hub.WithBroker(broker), hub.WithLogger(slog.Default()))
	defer h.Close()
	if err := chatapp.Serve(ctx, *addr, chatapp.SplitHosts(*hosts), h); err != nil {
		log.Fatal(err)
	}
}

// startNATS runs a NATS server in this process, listening where rawURL
// points.
func startNATS(rawURL string) (*server.Server, error) {
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
	ns, err := server.NewServer(&server.Options{Host: host, Port: port, NoSigs: true})
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
