package ws_test

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/leaktest"
)

// TestMain fails the run when goroutines of this package or of
// coder/websocket outlive the tests: every connection must clean up after
// itself.
func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }
