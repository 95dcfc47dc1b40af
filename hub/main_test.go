package hub_test

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/leaktest"
)

// TestMain fails the run when goroutines of this repository or of
// coder/websocket outlive the tests: every writer must end with its
// connection or its hub. The wait covers a connection closed as too slow,
// whose close handshake may take up to 5 s.
func TestMain(m *testing.M) { leaktest.Main(m, 15*time.Second) }
