package natsbroker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws/hub/brokertest"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// natsServer is a NATS server that can stop and start again on its port,
// with the same store.
type natsServer struct {
	t    testing.TB
	opts server.Options
	mu   sync.Mutex
	s    *server.Server
}

func newNATSServer(t testing.TB, js bool) *natsServer {
	t.Helper()
	ns := &natsServer{t: t, opts: server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}}
	if js {
		ns.opts.JetStream = true
		ns.opts.StoreDir = t.TempDir()
	}
	ns.start()
	ns.opts.Port = natsPort(ns.s)
	t.Cleanup(ns.stop)
	return ns
}

func (ns *natsServer) start() {
	ns.t.Helper()
	opts := ns.opts
	s, err := server.NewServer(&opts)
	if err != nil {
		ns.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		ns.t.Fatal("NATS server did not start")
	}
	ns.mu.Lock()
	ns.s = s
	ns.mu.Unlock()
}

func (ns *natsServer) stop() {
	ns.mu.Lock()
	s := ns.s
	ns.mu.Unlock()
	s.Shutdown()
	s.WaitForShutdown()
}

func (ns *natsServer) restart(t testing.TB) {
	ns.stop()
	ns.start()
}

func (ns *natsServer) url() string { return ns.s.ClientURL() }

// connect returns a connection whose TCP connections kill cuts.
func (ns *natsServer) connect(t testing.TB, cut *cutter) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(ns.url(), nats.SetCustomDialer(cut), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return nc
}

func TestConformanceCore(t *testing.T) {
	brokertest.Run(t, func(t testing.TB) brokertest.Backend {
		ns := newNATSServer(t, false)
		return brokertest.Backend{
			NewNode: func(t testing.TB) brokertest.Node {
				cut := &cutter{}
				nc := ns.connect(t, cut)
				b := natsbroker.New(nc)
				return brokertest.Node{
					Broker: b,
					Kill:   func() { cut.kill(); nc.Close() },
					Close:  func() { b.Close(); nc.Close() },
				}
			},
			Restart: ns.restart,
		}
	})
}

func TestConformanceJetStream(t *testing.T) {
	brokertest.Run(t, func(t testing.TB) brokertest.Backend {
		ns := newNATSServer(t, true)
		const size = 20
		return brokertest.Backend{
			NewNode: func(t testing.TB) brokertest.Node {
				cut := &cutter{}
				nc := ns.connect(t, cut)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				b, err := natsbroker.NewJetStream(ctx, nc, natsbroker.Stream{MaxPerRoom: size, PresenceTimeout: testTimeout})
				if err != nil {
					t.Fatal(err)
				}
				return brokertest.Node{
					Broker: b,
					Kill:   func() { cut.kill(); nc.Close() },
					Close:  func() { b.Close(); nc.Close() },
				}
			},
			HistorySize:     size,
			PresenceTimeout: testTimeout,
			Restart:         ns.restart,
			Complete:        true,
		}
	})
}

// TestSubscribeWhileDisconnected: a subscription made while NATS is away
// is taken, and receives once nats.go has reconnected.
func TestSubscribeWhileDisconnected(t *testing.T) {
	ns := newNATSServer(t, false)
	nc := ns.connect(t, &cutter{})
	defer nc.Close()
	b := natsbroker.New(nc)
	defer b.Close()
	ns.stop()
	got := make(chan string, 10)
	start := time.Now()
	unsub, err := b.Subscribe("room.x", func(m []byte) { got <- string(m) })
	if err != nil {
		t.Fatalf("Subscribe while disconnected: %v", err)
	}
	defer unsub()
	t.Logf("Subscribe returned after %v", time.Since(start))
	ns.start()
	pub := ns.connect(t, &cutter{})
	defer pub.Close()
	deadline := time.After(20 * time.Second)
	for {
		pub.Publish("cafeto.ws.room.x", []byte("hi"))
		select {
		case m := <-got:
			if m != "hi" {
				t.Fatalf("got %q", m)
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("nothing received after the reconnection")
		}
	}
}
