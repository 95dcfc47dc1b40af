package hub

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
	"time"

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

// BenchmarkBroadcastHistory is the hub's own cost of one Broadcast to a
// room of 1,000 members whose writers are not running, without the
// network: plain, a room without history; history, a room whose history
// the hub keeps in memory (an offset, the entry kept, and room, epoch and
// offset added to the message once for all members).
func BenchmarkBroadcastHistory(b *testing.B) {
	const members, batch = 1000, 200
	type msg struct {
		Seq  int    `json:"seq"`
		User string `json:"user"`
		Text string `json:"text"`
	}
	for _, history := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "history"}[history]
		b.Run(name, func(b *testing.B) {
			h := New(WithHistory("h*", History{Size: 1000, TTL: time.Hour}), WithQueueSize(1<<20))
			room := map[bool]string{false: "p", true: "h"}[history]
			g := newGroup(kindRoom, room, false)
			g.limits, g.history = h.historyOf(room)
			if history {
				g.subject = subject(kindRoom, room)
				g.roomJSON, _ = json.Marshal(room)
				unsub, err := h.hist.SubscribeHistory(g.subject, h.historyReceiver(g))
				if err != nil {
					b.Fatal(err)
				}
				defer unsub()
			}
			h.rooms[room] = g
			clients := make([]*client, members)
			for i := range clients {
				clients[i] = newClient(h, new(ws.Conn)) // never started: nothing writes
				g.add(clients[i], nil)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := h.Broadcast(ctx, room, msg{Seq: i, User: "alice", Text: "Hello everybody, the meeting starts in five minutes."}); err != nil {
					b.Fatal(err)
				}
				if i%batch == batch-1 {
					b.StopTimer()
					for _, c := range clients {
						if len(c.queue) != batch {
							b.Fatalf("%d queued, want %d", len(c.queue), batch)
						}
						c.queue = c.queue[:0]
					}
					b.StartTimer()
				}
			}
		})
	}
}
