package hub

import (
	"context"
	"runtime"
	"testing"

	"github.com/cafeto-go/ws"
)

// BenchmarkQueueMemory queues 200 messages of about 100 bytes for each of
// 1,000 members whose writers are not running, as if none of them could
// write, and reports the heap that holds them: per queued message and
// member (B/queued), and per broadcast for the whole room (B/broadcast).
// ns/op is the hub's own cost of one broadcast to 1,000 members: encoding
// once and queueing, without the network.
func BenchmarkQueueMemory(b *testing.B) {
	const members, queued = 1000, 200
	h := New()
	g := newGroup(kindRoom, "r", false)
	clients := make([]*client, members)
	for i := range clients {
		clients[i] = newClient(h, new(ws.Conn)) // never started: nothing writes
		g.add(clients[i], nil)
	}
	type msg struct {
		Seq  int    `json:"seq"`
		User string `json:"user"`
		Text string `json:"text"`
	}
	var before, after runtime.MemStats
	var held uint64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for seq := range queued {
			frame, err := h.encode(context.Background(), msg{Seq: seq, User: "alice", Text: "Hello everybody, the meeting starts in five minutes."}, 0)
			if err != nil {
				b.Fatal(err)
			}
			g.deliver(&message{data: frame[headerLen:]}, 0)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		held += after.HeapAlloc - before.HeapAlloc
		for _, c := range clients {
			if len(c.queue) != queued {
				b.Fatalf("%d queued, want %d", len(c.queue), queued)
			}
			c.queue = nil
		}
		b.StartTimer()
	}
	b.StopTimer()
	perBroadcast := float64(held) / float64(b.N*queued)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*queued), "ns/broadcast")
	b.ReportMetric(perBroadcast, "B/broadcast")
	b.ReportMetric(perBroadcast/members, "B/queued")
	runtime.KeepAlive(clients)
}
