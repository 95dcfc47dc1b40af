//go:build unix

package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The benchmarks of this file measure what one message of the default
// maximum size (32 KiB) costs when every item of a collection is invalid,
// next to a valid message of the same size and shape, and a valid message
// of the same size made of one string:
//
//	go test -run '^$' -bench 'Hostile' -count 6 .
//
// Besides ns/op, they report cpu-ns/op, the CPU time the process spent per
// message (getrusage), which a machine shared with other work disturbs less
// than the elapsed time, and reply-B, the size of the last reply.

type boundItems struct {
	Items []boundItem `json:"items" validate:"dive"`
}

type boundItem struct {
	Name string `json:"name" validate:"required"`
}

type boundNums struct {
	Nums []int `json:"nums" validate:"dive,gt=0"`
}

type boundText struct {
	Text string `json:"text" validate:"required"`
}

// fill returns head + item + "," + item ... + tail, with as many items as
// fit in 32 KiB.
func fill(head, item, tail string) []byte {
	const limit = defaultReadLimit
	n := (limit - len(head) - len(tail) + 1) / (len(item) + 1)
	return []byte(head + strings.Repeat(item+",", n-1) + item + tail)
}

var hostileCases = []struct {
	name   string
	msg    []byte
	status int
}{
	{"text/valid", fill(`{"text":"`, `a`, `"}`), 200},
	{"items/valid", fill(`{"items":[`, `{"name":"a"}`, `]}`), 200},
	{"items/invalid", fill(`{"items":[`, `{}`, `]}`), 400},
	{"nums/valid", fill(`{"nums":[`, `1`, `]}`), 200},
	{"nums/invalid", fill(`{"nums":[`, `0`, `]}`), 400},
}

// BenchmarkHostileServer measures the server's own work for one message:
// decoding, validation and the encoding of the reply, the steps the read
// loop takes between reading a message and writing its reply.
func BenchmarkHostileServer(b *testing.B) {
	for _, tc := range hostileCases {
		b.Run(tc.name, func(b *testing.B) {
			switch {
			case strings.HasPrefix(tc.name, "text/"):
				benchServer[boundText](b, tc.msg, tc.status)
			case strings.HasPrefix(tc.name, "items/"):
				benchServer[boundItems](b, tc.msg, tc.status)
			default:
				benchServer[boundNums](b, tc.msg, tc.status)
			}
		})
	}
}

func benchServer[Req any](b *testing.B, msg []byte, want int) {
	d := newDecoder[Req](newConfig[Option](nil))
	ctx := context.Background()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	status := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	cpu := startCPU(b)
	for b.Loop() {
		var req Req
		status = http.StatusOK
		var body any = 0
		if list := d.decode(ctx, msg, &req); list != nil {
			status, body = http.StatusBadRequest, *list
		}
		if err := writeEnvelope(&buf, enc, status, body); err != nil {
			b.Fatal(err)
		}
	}
	cpu.stop()
	if status != want {
		b.Fatalf("status %d, want %d: %.300s", status, want, buf.Bytes())
	}
	b.ReportMetric(float64(buf.Len()), "reply-B")
}

// BenchmarkHostileDecode measures what encoding/json alone spends on the
// invalid messages, which no validation can save.
func BenchmarkHostileDecode(b *testing.B) {
	for _, tc := range hostileCases {
		if !strings.HasSuffix(tc.name, "/invalid") {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			cpu := startCPU(b)
			for b.Loop() {
				var req struct {
					Items []boundItem `json:"items"`
					Nums  []int       `json:"nums"`
				}
				if err := json.Unmarshal(tc.msg, &req); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
		})
	}
}

// BenchmarkHostileRoundTrip measures the same messages end to end: a
// client writes each one to a Callback over the loopback interface and reads
// the reply.
func BenchmarkHostileRoundTrip(b *testing.B) {
	text := Callback(nil, func(ctx context.Context, in boundText) (int, error) { return len(in.Text), nil }, nil)
	items := Callback(nil, func(ctx context.Context, in boundItems) (int, error) { return len(in.Items), nil }, nil)
	nums := Callback(nil, func(ctx context.Context, in boundNums) (int, error) { return len(in.Nums), nil }, nil)
	for _, tc := range hostileCases {
		b.Run(tc.name, func(b *testing.B) {
			h := items
			switch {
			case strings.HasPrefix(tc.name, "text/"):
				h = text
			case strings.HasPrefix(tc.name, "nums/"):
				h = nums
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			ctx := context.Background()
			c, _, err := websocket.Dial(ctx, srv.URL, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			c.SetReadLimit(-1) // the reply may be larger than the message
			var reply []byte
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.msg)))
			cpu := startCPU(b)
			for b.Loop() {
				if err := c.Write(ctx, websocket.MessageText, tc.msg); err != nil {
					b.Fatal(err)
				}
				if _, reply, err = c.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu.stop()
			var env struct{ StatusCode int }
			if err := json.Unmarshal(reply, &env); err != nil || env.StatusCode != tc.status {
				b.Fatalf("reply %.300s: status %d, want %d (%v)", reply, env.StatusCode, tc.status, err)
			}
			b.ReportMetric(float64(len(reply)), "reply-B")
			c.Close(websocket.StatusNormalClosure, "")
		})
	}
}

// cpuMeter measures the CPU time of the process, user and system, over a
// benchmark's loop.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) cpuMeter { return cpuMeter{b, processCPU(b)} }

func (m cpuMeter) stop() {
	m.b.ReportMetric(float64(processCPU(m.b)-m.start)/float64(m.b.N), "cpu-ns/op")
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
