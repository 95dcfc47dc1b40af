package redisbroker_test

import (
	"context"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/redisbroker"
	"github.com/redis/go-redis/v9"
)

// A hub whose rooms span every server connected to the same Redis, with
// the history and presence of every room kept there.
func Example() {
	var conns ws.Group
	ctx := context.Background()

	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	b := redisbroker.New(rdb) // redisbroker.WithPrefix("myapp") to share a Redis
	h := hub.New(hub.WithBroker(b),
		hub.WithHistory("*", hub.History{Size: 1000, TTL: time.Hour}),
		hub.WithPresence("*", hub.Presence{}))
	// Serve with h as with a hub of one process. At shutdown:
	conns.Shutdown(ctx)
	h.Close()
	b.Close()
	rdb.Close()
}
