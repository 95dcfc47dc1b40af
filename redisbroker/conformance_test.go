package redisbroker_test

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/hub/brokertest"
	"github.com/cafeto-go/ws/redisbroker"
)

const testTimeout = 3 * time.Second

func TestConformance(t *testing.T) {
	brokertest.Run(t, func(t testing.TB) brokertest.Backend {
		srv := startRedis(t)
		return brokertest.Backend{
			NewNode: func(t testing.TB) brokertest.Node {
				cut := &cutter{}
				rdb := srv.client(cut)
				b := redisbroker.New(rdb, redisbroker.WithPresenceTimeout(testTimeout))
				return brokertest.Node{
					Broker: b,
					Kill:   func() { cut.kill() },
					Close:  func() { b.Close(); rdb.Close() },
				}
			},
			PresenceTimeout: testTimeout,
			Restart:         srv.restart,
			Complete:        true,
		}
	})
}
