package wsclient_test

import (
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/leaktest"
)

// TestMain fails the run when goroutines of the client, the servers or
// coder/websocket outlive the tests.
func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }
