package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/fanouttest"
	"github.com/cafeto-go/ws/redisbroker"
	"github.com/centrifugal/centrifuge"
	"github.com/redis/go-redis/v9"
)

// BenchmarkFanoutRedis sends messages to a room of 1,000 members split
// across two nodes, 500 each, on one Redis (a redis-server on a free port,
// without persistence), published on the first node:
//
//   - hub: two hubs, each with a redisbroker.Broker on a client of its
//     own; the first hub delivers to its members directly and publishes
//     to the channel of the room, which the second receives;
//   - centrifuge: two nodes, each with centrifuge's RedisBroker on a shard
//     of its own (rueidis), the members subscribed on the server side at
//     connect, JSON protocol; every delivery goes through Redis, as
//     centrifuge does.
//
// w128 keeps up to 128 messages in flight (throughput); w1 sends the next
// message once the previous one has reached every member, and reports the
// median and 99th percentile of the time from the publish call to the
// last member's delivery (p50-ms, p99-ms).
func BenchmarkFanoutRedis(b *testing.B) {
	addr := startRedis(b)
	for _, window := range []int{fanouttest.Window, 1} {
		b.Run(fmt.Sprintf("hub/w%d", window), func(b *testing.B) { benchHubRedis(b, addr, window) })
		b.Run(fmt.Sprintf("centrifuge/w%d", window), func(b *testing.B) { benchCentrifugeRedis(b, addr, window) })
	}
}

func benchHubRedis(b *testing.B, addr string, window int) {
	ctx := context.Background()
	var nodes []*fanouttest.Node
	for range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		defer rdb.Close()
		br := redisbroker.New(rdb)
		defer br.Close()
		n := fanouttest.NewNode(hub.WithBroker(br))
		defer n.Close()
		nodes = append(nodes, n)
	}
	f := fanouttest.New(fanouttest.Members, window)
	defer f.Close()
	for i := range fanouttest.Members {
		f.Dial(b, nodes[i%2].URL())
	}
	for _, n := range nodes {
		n.WaitMembers(b, fanouttest.Members/2)
	}
	waitSubscribers(b, addr, "cafeto.ws.room.r", 2)
	run(b, f, window, func(seq int) error { return nodes[0].Hub.Broadcast(ctx, "r", fanouttest.NewMsg(seq)) })
}

func benchCentrifugeRedis(b *testing.B, addr string, window int) {
	ctx := context.Background()
	var nodes []*centrifuge.Node
	var urls []string
	for range 2 {
		node, err := centrifuge.New(centrifuge.Config{})
		if err != nil {
			b.Fatal(err)
		}
		shard, err := centrifuge.NewRedisShard(node, centrifuge.RedisShardConfig{Address: addr})
		if err != nil {
			b.Fatal(err)
		}
		defer shard.Close()
		broker, err := centrifuge.NewRedisBroker(node, centrifuge.RedisBrokerConfig{Shards: []*centrifuge.RedisShard{shard}})
		if err != nil {
			b.Fatal(err)
		}
		node.SetBroker(broker)
		node.OnConnecting(func(ctx context.Context, e centrifuge.ConnectEvent) (centrifuge.ConnectReply, error) {
			return centrifuge.ConnectReply{
				Credentials:   &centrifuge.Credentials{UserID: "u"},
				Subscriptions: map[string]centrifuge.SubscribeOptions{"r": {}},
			}, nil
		})
		node.OnConnect(func(*centrifuge.Client) {})
		if err := node.Run(); err != nil {
			b.Fatal(err)
		}
		defer node.Shutdown(ctx)
		srv := httptest.NewServer(centrifuge.NewWebsocketHandler(node, centrifuge.WebsocketConfig{}))
		defer srv.Close()
		nodes = append(nodes, node)
		urls = append(urls, "ws"+strings.TrimPrefix(srv.URL, "http"))
	}
	f := fanouttest.New(fanouttest.Members, window)
	defer f.Close()
	for i := range fanouttest.Members {
		f.DialJoined(b, urls[i%2], []byte(`{"id":1,"connect":{}}`))
	}
	waitSubscribers(b, addr, "centrifuge.client.r", 2)
	run(b, f, window, func(seq int) error {
		data, err := json.Marshal(fanouttest.NewMsg(seq))
		if err != nil {
			return err
		}
		_, err = nodes[0].Publish("r", data)
		return err
	})
}

// run runs f, and with one message in flight reports the percentiles of
// the time from a publish to its last delivery: the time from one send to
// the next, since the next goes out once the previous has reached every
// member.
func run(b *testing.B, f *fanouttest.Fanout, window int, send func(seq int) error) {
	if window != 1 {
		f.Run(b, send)
		return
	}
	starts := make([]time.Time, 0, b.N+1)
	f.Run(b, func(seq int) error {
		starts = append(starts, time.Now())
		return send(seq)
	})
	starts = append(starts, time.Now()) // Run waited for the last one
	lat := make([]float64, 0, len(starts)-1)
	for i := 1; i < len(starts); i++ {
		lat = append(lat, float64(starts[i].Sub(starts[i-1]))/1e6)
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2], "p50-ms")
	b.ReportMetric(lat[min(len(lat)-1, len(lat)*99/100)], "p99-ms")
}

// waitSubscribers waits until channel has n subscribers in Redis.
func waitSubscribers(b *testing.B, addr, channel string, n int64) {
	b.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for i := 0; rdb.PubSubNumSub(context.Background(), channel).Val()[channel] < n; i++ {
		if i == 10000 {
			b.Fatalf("%s: fewer than %d subscribers", channel, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// startRedis starts redis-server on a free port for the benchmark.
func startRedis(b *testing.B) string {
	b.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			b.Fatal("redis-server is not installed (apt-get install redis-server)")
		}
		b.Skip("redis-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + port
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	for i := 0; rdb.Ping(context.Background()).Err() != nil; i++ {
		if i == 1000 {
			b.Fatal("redis-server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return addr
}
