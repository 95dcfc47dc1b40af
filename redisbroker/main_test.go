package redisbroker_test

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/leaktest"
)

// TestMain fails the run when goroutines of this repository or of
// coder/websocket outlive the tests.
func TestMain(m *testing.M) { leaktest.Main(m, 15*time.Second) }
