package hub_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/internal/fanouttest"
)

// BenchmarkFanout sends one message at a time to a room of 1,000 members
// over real WebSocket connections on loopback, the clients in the same
// process. ns/op is the time per message; deliveries/s counts messages
// received by members.
//
//   - direct: encode once, then Conn.SendText to each connection in turn,
//     the loop an application writes without the hub;
//   - hub: Hub.Broadcast on one node;
//   - memorybroker-2nodes: two hubs on a MemoryBroker, 500 members each,
//     broadcast from the first: the broker path without a network.
func BenchmarkFanout(b *testing.B) {
	const members = fanouttest.Members
	n := fanouttest.NewNode()
	defer n.Close()
	f := fanouttest.New(members, fanouttest.Window)
	defer f.Close()
	for range members {
		f.Dial(b, n.URL())
	}
	n.WaitMembers(b, members)
	conns := n.Conns()
	ctx := context.Background()

	b.Run("direct", func(b *testing.B) {
		f.Run(b, func(seq int) error {
			data, err := json.Marshal(fanouttest.NewMsg(seq))
			if err != nil {
				return err
			}
			for _, c := range conns {
				if err := c.SendText(ctx, data); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("hub", func(b *testing.B) {
		f.Run(b, func(seq int) error { return n.Hub.Broadcast(ctx, "r", fanouttest.NewMsg(seq)) })
	})
	b.Run("memorybroker-2nodes", func(b *testing.B) {
		var broker hub.MemoryBroker
		n1, n2 := fanouttest.NewNode(hub.WithBroker(&broker)), fanouttest.NewNode(hub.WithBroker(&broker))
		defer n1.Close()
		defer n2.Close()
		f := fanouttest.New(members, fanouttest.Window)
		defer f.Close()
		for i := range members {
			f.Dial(b, []*fanouttest.Node{n1, n2}[i%2].URL())
		}
		n1.WaitMembers(b, members/2)
		n2.WaitMembers(b, members/2)
		f.Run(b, func(seq int) error { return n1.Hub.Broadcast(ctx, "r", fanouttest.NewMsg(seq)) })
	})
}
