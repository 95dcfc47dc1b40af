package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// The benchmarks of this file measure what one message of the default
// maximum size (32 KiB) costs when every item of a collection is invalid,
// next to a valid message of the same size and shape:
//
//	go test -run '^$' -bench 'Hostile' -count 6 .

type boundItems struct {
	Items []boundItem `json:"items" validate:"dive"`
}

type boundItem struct {
	Name string `json:"name" validate:"required"`
}

type boundNums struct {
	Nums []int `json:"nums" validate:"dive,gt=0"`
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
			if strings.HasPrefix(tc.name, "items/") {
				benchServer[boundItems](b, tc.msg, tc.status)
			} else {
				benchServer[boundNums](b, tc.msg, tc.status)
			}
		})
	}
}

func benchServer[Req any](b *testing.B, msg []byte, want int) {
	d := newDecoder[Req](newConfig(nil))
	ctx := context.Background()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	status := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
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
	if status != want {
		b.Fatalf("status %d, want %d: %.300s", status, want, buf.Bytes())
	}
	b.ReportMetric(float64(buf.Len()), "reply-B")
}

// BenchmarkHostileRoundTrip measures the same messages end to end: a
// client writes each one to a Callback over the loopback interface and reads
// the reply.
func BenchmarkHostileRoundTrip(b *testing.B) {
	items := Callback(nil, func(ctx context.Context, in boundItems) (int, error) { return len(in.Items), nil }, nil)
	nums := Callback(nil, func(ctx context.Context, in boundNums) (int, error) { return len(in.Nums), nil }, nil)
	for _, tc := range hostileCases {
		b.Run(tc.name, func(b *testing.B) {
			h := items
			if strings.HasPrefix(tc.name, "nums/") {
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
			for b.Loop() {
				if err := c.Write(ctx, websocket.MessageText, tc.msg); err != nil {
					b.Fatal(err)
				}
				if _, reply, err = c.Read(ctx); err != nil {
					b.Fatal(err)
				}
			}
			var env struct{ StatusCode int }
			if err := json.Unmarshal(reply, &env); err != nil || env.StatusCode != tc.status {
				b.Fatalf("reply %.300s: status %d, want %d (%v)", reply, env.StatusCode, tc.status, err)
			}
			b.ReportMetric(float64(len(reply)), "reply-B")
			c.Close(websocket.StatusNormalClosure, "")
		})
	}
}
