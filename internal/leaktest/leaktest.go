// Package leaktest fails a test binary whose goroutines outlive its tests.
package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs the tests of m, then waits up to wait for the goroutines that
// run code of this repository's modules or of coder/websocket to end, and
// fails the run with their stacks when some are left. Call it from TestMain:
//
//	func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }
func Main(m *testing.M, wait time.Duration) {
	code := m.Run()
	if code == 0 {
		if leaked := leaked(wait); leaked != "" {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

func leaked(wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		var found []string
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "leaktest.leaked") || strings.Contains(g, "testing.(*M).") {
				continue
			}
			if strings.Contains(g, "github.com/cafeto-go/ws") || strings.Contains(g, "github.com/coder/websocket") {
				found = append(found, g)
			}
		}
		if len(found) == 0 || time.Now().After(deadline) {
			return strings.Join(found, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
