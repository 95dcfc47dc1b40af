// Package fanout compares the hub with a peer doing the same job:
// centrifuge (github.com/centrifugal/centrifuge) with its in-memory broker,
// on the same harness as the hub's BenchmarkFanout (internal/fanouttest).
// It lives in the bench module so that neither the hub nor its users depend
// on centrifuge. Centrifuge is held at v0.38.0, its newest release whose
// go.mod asks for no more than Go 1.25 (v0.39.0 and later ask for Go 1.26).
package fanout

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/fanouttest"
	"github.com/centrifugal/centrifuge"
)

// BenchmarkFanoutPeer sends messages to a room of 1,000 members over real
// WebSocket connections on loopback, the clients in the same process, with
// each library's defaults. ns/op is the time per message; deliveries/s
// counts messages received by members.
//
//   - hub: Hub.Broadcast, one node, no broker;
//   - centrifuge: Node.Publish with the memory broker (no history), the
//     members subscribed on the server side at connect, JSON protocol.
//
// w128 keeps up to 128 messages in flight (throughput); w1 sends the next
// message once the previous one has reached every member (the time to
// reach 1,000 members).
func BenchmarkFanoutPeer(b *testing.B) {
	for _, window := range []int{fanouttest.Window, 1} {
		b.Run(fmt.Sprintf("hub/w%d", window), func(b *testing.B) { benchHub(b, window) })
		b.Run(fmt.Sprintf("centrifuge/w%d", window), func(b *testing.B) { benchCentrifuge(b, window) })
	}
}

func benchHub(b *testing.B, window int) {
	ctx := context.Background()
	n := fanouttest.NewNode()
	defer n.Close()
	f := fanouttest.New(fanouttest.Members, window)
	defer f.Close()
	for range fanouttest.Members {
		f.Dial(b, n.URL())
	}
	n.WaitMembers(b, fanouttest.Members)
	f.Run(b, func(seq int) error { return n.Hub.Broadcast(ctx, "r", fanouttest.NewMsg(seq)) })
}

func benchCentrifuge(b *testing.B, window int) {
	ctx := context.Background()
	node, err := centrifuge.New(centrifuge.Config{})
	if err != nil {
		b.Fatal(err)
	}
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
	f := fanouttest.New(fanouttest.Members, window)
	defer f.Close()
	for range fanouttest.Members {
		// The connect command; its reply holds the server-side
		// subscription, so the client is a member once it arrives.
		f.DialJoined(b, "ws"+strings.TrimPrefix(srv.URL, "http"), []byte(`{"id":1,"connect":{}}`))
	}
	f.Run(b, func(seq int) error {
		data, err := json.Marshal(fanouttest.NewMsg(seq))
		if err != nil {
			return err
		}
		_, err = node.Publish("r", data)
		return err
	})
}
