package natsbroker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/fanouttest"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/nats-io/nats.go"
)

// The fan-out harness is the one of the hub's BenchmarkFanout
// (internal/fanouttest), so that the figures compare.

// benchNode is a fan-out node whose hub may publish on NATS.
type benchNode struct {
	*fanouttest.Node
	b  interface{ Close() error }
	nc *nats.Conn
}

// newBenchNode starts a node; with a NATS URL, its hub publishes there,
// and with history too, room "r" keeps its history in JetStream.
func newBenchNode(b *testing.B, natsURL string, history bool) *benchNode {
	n := &benchNode{}
	var opts []hub.Option
	if natsURL != "" {
		nc, err := nats.Connect(natsURL)
		if err != nil {
			b.Fatal(err)
		}
		n.nc = nc
		if history {
			jb, err := natsbroker.NewJetStream(context.Background(), nc, natsbroker.Stream{})
			if err != nil {
				b.Fatal(err)
			}
			n.b = jb
			opts = append(opts, hub.WithBroker(jb), hub.WithHistory("r", hub.History{Size: 1000, TTL: time.Hour}))
		} else {
			b := natsbroker.New(nc)
			n.b = b
			opts = append(opts, hub.WithBroker(b))
		}
	}
	n.Node = fanouttest.NewNode(opts...)
	return n
}

// WaitMembers waits until count connections have joined, and their
// subscription has reached NATS.
func (n *benchNode) WaitMembers(b *testing.B, count int) {
	n.Node.WaitMembers(b, count)
	if n.nc != nil {
		if err := n.nc.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// Close closes the node, then its broker and NATS connection.
func (n *benchNode) Close() {
	n.Node.Close()
	if n.b != nil {
		n.b.Close()
		n.nc.Close()
	}
}

// BenchmarkFanoutNATS sends one message at a time to a room of 1,000
// members over real WebSocket connections on loopback, the clients and an
// embedded NATS server in the same process. ns/op is the time per message;
// deliveries/s counts messages received by members.
//
//   - local: one hub without a broker, the single-node path;
//   - 2nodes: two hubs on NATS, 500 members each, broadcast from the first;
//   - remote: two hubs on NATS, all 1,000 members on the second, broadcast
//     from the first, which has none: every delivery crosses NATS;
//   - jetstream-2nodes, jetstream-remote: the same, room "r" keeping its
//     history in a JetStream stream (file storage): a Broadcast waits for
//     JetStream's acknowledgement, and members receive the message from
//     their hub's ordered consumer.
//
// publish-p50-µs and publish-p99-µs are the latencies of Broadcast.
func BenchmarkFanoutNATS(b *testing.B) {
	s := startJS(b, "")
	ctx := context.Background()
	for _, bc := range []struct {
		name    string
		nats    bool
		history bool
		split   func(i int) int // the node of member i
	}{
		{"local", false, false, func(int) int { return 0 }},
		{"2nodes", true, false, func(i int) int { return i % 2 }},
		{"remote", true, false, func(int) int { return 1 }},
		{"jetstream-2nodes", true, true, func(i int) int { return i % 2 }},
		{"jetstream-remote", true, true, func(int) int { return 1 }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			url := ""
			if bc.nats {
				url = s.ClientURL()
			}
			nodes := []*benchNode{newBenchNode(b, url, bc.history), newBenchNode(b, url, bc.history)}
			for _, n := range nodes {
				defer n.Close()
			}
			f := fanouttest.New(fanouttest.Members, fanouttest.Window)
			defer f.Close()
			per := make([]int, 2)
			for i := range fanouttest.Members {
				f.Dial(b, nodes[bc.split(i)].URL())
				per[bc.split(i)]++
			}
			for i, n := range nodes {
				n.WaitMembers(b, per[i])
			}
			lat := make([]time.Duration, 0, b.N)
			f.Run(b, func(seq int) error {
				start := time.Now()
				err := nodes[0].Hub.Broadcast(ctx, "r", fanouttest.NewMsg(seq))
				lat = append(lat, time.Since(start))
				return err
			})
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "publish-p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "publish-p99-µs")
		})
	}
}
