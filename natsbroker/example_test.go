package natsbroker_test

import (
	"context"
	"log"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/nats-io/nats.go"
)

// A hub whose rooms span every server connected to the same NATS.
func Example() {
	var conns ws.Group
	ctx := context.Background()

	nc, err := nats.Connect("nats://127.0.0.1:4222", nats.MaxReconnects(-1))
	if err != nil {
		log.Fatal(err)
	}
	b := natsbroker.New(nc) // natsbroker.WithPrefix("myapp") to share a NATS
	h := hub.New(hub.WithBroker(b))
	// Serve with h as with a hub of one process. At shutdown:
	conns.Shutdown(ctx)
	h.Close()
	b.Close()
	nc.Drain()
}
