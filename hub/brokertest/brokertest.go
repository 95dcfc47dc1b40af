// Package brokertest checks that a [hub.Broker] keeps the promises of the
// hub across nodes: the conformance suite that the brokers of this
// repository pass, and that a broker of another package can run.
//
//	func TestConformance(t *testing.T) {
//		brokertest.Run(t, func(t testing.TB) brokertest.Backend {
//			srv := startServer(t) // a real server on a free port
//			return brokertest.Backend{
//				NewNode: func(t testing.TB) brokertest.Node { … a broker on a connection of its own … },
//				Restart: srv.restart,
//				PresenceTimeout: 3 * time.Second,
//			}
//		})
//	}
//
// Each test of the suite asks for a backend of its own (a shared server,
// new and empty), makes nodes on it (a broker on a connection of its own,
// as one process of an application has) and runs a [hub.Hub] and an
// HTTP server per node, with real WebSocket clients. What it checks:
//
//   - Delivery: two publishers on two hubs, members on both; every member
//     gets every message once, each publisher's in order.
//   - JoinThenBroadcast: a broadcast from another node right after
//     [hub.Hub.Join] returns is never lost, 1,000 times over: Subscribe
//     returns once the subscription is in place.
//   - History: offsets increase, the epoch stays (a [hub.HistoryBroker]).
//   - Recovery: a client resumes on its node and on another and gets
//     exactly what it missed; past the history's reach, or with an epoch
//     that is not the room's, it gets 410.
//   - Presence: joins and leaves across nodes, the death of a node (its
//     members leave the others' presence within the broker's timeout) and
//     no resurrection of the dead node's entries (a [hub.PresenceBroker]).
//   - Names: binary, 1 KiB, wildcards, CRLF and '%' names reach their own
//     room and no other.
//   - Outage: the shared server stops and starts again; broadcasts flow
//     again, in order and never twice; a history resumed across the outage
//     is exact or a 410; presence converges to the live nodes' members.
//
// History and presence are skipped when the broker does not implement
// them, the death of a node when [Node].Kill is nil, and the outage when
// [Backend].Restart is nil, unless [Backend].Complete says the broker
// does all of it: then they fail.
package brokertest

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/hub"
)

// Backend is the shared server of one test and how to make nodes on it.
type Backend struct {
	// NewNode returns a new node: a broker on a connection of its own to
	// the backend's server, as a new process of the application makes.
	// The suite closes it (Close) or kills it (Kill) before the test ends.
	NewNode func(t testing.TB) Node

	// HistorySize is the most messages of a room the broker's history
	// keeps (default 20): the suite passes it to [hub.WithHistory] and
	// expects a client that missed more to get 410.
	HistorySize int

	// PresenceTimeout is how long the members of a killed node may stay
	// in the presence of the others (the broker's timeout). The suite
	// waits for up to twice that, plus 10 s.
	PresenceTimeout time.Duration

	// Restart stops the backend's server, as an outage would, and starts
	// it again at the same address; nil skips the outage test.
	Restart func(t testing.TB)

	// Complete makes a missing capability (history, presence, Restart)
	// fail the test instead of skipping it.
	Complete bool
}

// Node is one process's broker.
type Node struct {
	Broker hub.Broker
	// Kill ends the node as SIGKILL would, as the others see it: its
	// connection is cut at once and never comes back, and the broker says
	// nothing more. Nil skips the test of a node's death.
	Kill func()
	// Close closes the broker, then its connection. The suite calls it
	// once a node is no longer needed, after Kill too: it must then
	// release what the node holds (goroutines) without waiting long.
	Close func()
}

func (b *Backend) defaults() {
	if b.HistorySize == 0 {
		b.HistorySize = 20
	}
	if b.PresenceTimeout == 0 {
		b.PresenceTimeout = 15 * time.Second
	}
}

// Run runs the suite, each test in a subtest of t with a backend of its
// own from newBackend.
func Run(t *testing.T, newBackend func(t testing.TB) Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Delivery", testDelivery},
		{"JoinThenBroadcast", testJoinThenBroadcast},
		{"History", testHistory},
		{"Recovery", testRecovery},
		{"Presence", testPresence},
		{"PresenceNodeDeath", testPresenceNodeDeath},
		{"Names", testNames},
		{"Outage", testOutage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			if b.NewNode == nil {
				t.Fatal("brokertest: Backend.NewNode is nil")
			}
			b.defaults()
			tc.fn(t, b)
		})
	}
}

// need skips or fails t when the backend lacks what a test needs.
func need(t *testing.T, b Backend, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if b.Complete {
		t.Fatalf("brokertest: the broker is said to be complete, but lacks %s", what)
	}
	t.Skipf("brokertest: the broker lacks %s", what)
}

func isHistory(b hub.Broker) bool  { _, ok := b.(hub.HistoryBroker); return ok }
func isPresence(b hub.Broker) bool { _, ok := b.(hub.PresenceBroker); return ok }
