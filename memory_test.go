package ws_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// heapAfterGC returns the live heap once garbage, pooled buffers included,
// is gone.
func heapAfterGC() uint64 {
	var m runtime.MemStats
	for range 3 { // pools keep their buffers through one collection
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestIdleMemoryReturns: after any message (a large valid one, a large
// invalid one with a long errorList), an idle connection holds what a fresh
// one holds, within 10 %. Measured on the live heap of server and clients.
func TestIdleMemoryReturns(t *testing.T) {
	const conns = 100
	url := relServe(t, newRelProbe(t), ws.WithPingInterval(0))
	base := heapAfterGC()
	clients := make([]*websocket.Conn, conns)
	for i := range clients {
		clients[i] = relDial(t, url)
		relRoundTrip(t, clients[i], i) // a small message: the steady state
	}
	fresh := float64(heapAfterGC()-base) / conns

	large := fmt.Sprintf(`{"id":1,"text":%q}`, strings.Repeat("x", 30<<10))
	invalid := `{"id":2,"text":"x","items":[` + strings.TrimSuffix(strings.Repeat(`{},`, 10<<10), ",") + `]}`
	for _, tc := range []struct{ name, msg string }{{"large valid", large}, {"large invalid", invalid}} {
		for _, c := range clients {
			relWrite(t, c, websocket.MessageText, []byte(tc.msg))
			if _, _, err := c.Read(context.Background()); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		after := float64(heapAfterGC()-base) / conns
		t.Logf("%s: %.1f KiB per idle connection, fresh %.1f KiB", tc.name, after/1024, fresh/1024)
		if after > fresh*1.10 {
			t.Errorf("after a %s message an idle connection holds %.1f KiB, a fresh one %.1f KiB", tc.name, after/1024, fresh/1024)
		}
	}
}
