package brokertest_test

import (
	"testing"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/hub/brokertest"
)

// TestMemoryBroker runs the suite on hubs that share a hub.MemoryBroker,
// as the hubs of one process do: everything but a node's death and an
// outage, which one process does not have.
func TestMemoryBroker(t *testing.T) {
	brokertest.Run(t, func(t testing.TB) brokertest.Backend {
		b := &hub.MemoryBroker{}
		return brokertest.Backend{
			NewNode: func(t testing.TB) brokertest.Node { return brokertest.Node{Broker: b} },
		}
	})
}
