package ws_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

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
// invalid one with a long errorList) and after a burst read ahead behind a
// slow message (15 messages of 2 KiB queued), an idle connection holds what
// a fresh one holds, within 10 %, and no goroutine more. Measured on the
// live heap of server and clients.
func TestIdleMemoryReturns(t *testing.T) {
	const conns = 100
	p := newRelProbe(t)
	echo := func(ctx context.Context, in relReq) (relResp, error) {
		if in.Text == "slow" {
			time.Sleep(200 * time.Millisecond) // the reader takes over and reads the burst ahead
		}
		return relEcho(ctx, in)
	}
	srv := httptest.NewServer(ws.Callback(p.onConnect, echo, p.onDisconnect, ws.WithGroup(&p.group), ws.WithPingInterval(0)))
	t.Cleanup(srv.Close)
	url := srv.URL
	base := heapAfterGC()
	clients := make([]*websocket.Conn, conns)
	for i := range clients {
		clients[i] = relDial(t, url)
		relRoundTrip(t, clients[i], i) // a small message: the steady state
	}
	fresh := float64(heapAfterGC()-base) / conns
	goroutines := runtime.NumGoroutine()

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

	// A burst: a slow message, then 15 more behind it, on every connection
	// at once.
	burst := []string{`{"id":0,"text":"slow"}`}
	for i := 1; i < 16; i++ {
		burst = append(burst, fmt.Sprintf(`{"id":%d,"text":%q}`, i, strings.Repeat("x", 2<<10)))
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for _, msg := range burst {
				relWrite(t, c, websocket.MessageText, []byte(msg))
			}
			for range burst {
				relRead(t, c)
			}
		})
	}
	wg.Wait()
	// Every connection waits for its next message: the readers that took
	// over have handed reading back.
	for deadline := time.Now().Add(relTimeout); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > goroutines {
		t.Errorf("after a burst %d goroutines run, %d when the connections were fresh", got, goroutines)
	}
	after := float64(heapAfterGC()-base) / conns
	t.Logf("burst read ahead: %.1f KiB per idle connection, fresh %.1f KiB", after/1024, fresh/1024)
	if after > fresh*1.10 {
		t.Errorf("after a burst an idle connection holds %.1f KiB, a fresh one %.1f KiB", after/1024, fresh/1024)
	}
}
