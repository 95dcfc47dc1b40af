package ws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// Tests of what a hostile client sends a Router: ids that are long or
// only differ in how encoding/json would mangle them, and binary frames
// whose event names are not valid UTF-8.

// An id longer than 128 bytes, as written, is a 400 at ["id"], for a
// request, a stream and a $cancel alike; 128 bytes pass.
func TestRouterIDBound(t *testing.T) {
	t.Parallel()
	c := dial(t, newRtRouter(newRtChat()))
	long := `"` + strings.Repeat("x", 127) + `"` // 129 bytes
	longest := `"` + strings.Repeat("x", 126) + `"`
	tooLong := `{"loc":["id"],"type":"id_too_long","msg":"Id should have at most 128 bytes, as written in the message"}`
	exchange(t, c,
		`{"event":"chat.send","id":`+long+`,"data":{"message":"Hi","user":"ana"}}`,
		`{"event":"chat.send","statusCode":400,"body":{"errorList":[`+tooLong+`]}}`,
		`{"event":"chat.watch","id":`+long+`,"data":{"count":1}}`,
		`{"event":"chat.watch","statusCode":400,"body":{"errorList":[`+tooLong+`]}}`,
		`{"event":"$cancel","id":`+long+`}`,
		`{"event":"$cancel","statusCode":400,"body":{"errorList":[`+tooLong+`]}}`,
		`{"event":"chat.send","id":`+strings.Repeat("9", 129)+`,"data":{"message":"Hi","user":"ana"}}`,
		`{"event":"chat.send","statusCode":400,"body":{"errorList":[`+tooLong+`]}}`,
		// Escapes count as written: 22 escapes of 6 bytes and the quotes.
		`{"event":"chat.send","id":"`+strings.Repeat(`\u0078`, 22)+`","data":{"message":"Hi","user":"ana"}}`,
		`{"event":"chat.send","statusCode":400,"body":{"errorList":[`+tooLong+`]}}`,
		`{"event":"chat.send","id":`+longest+`,"data":{"message":"Hi","user":"ana"}}`,
		`{"id":`+longest+`,"event":"chat.send","statusCode":200,"body":{"message":"Hi","user":"ana"}}`,
	)
}

// Ids compare by their value, escapes decoded, with each lone surrogate
// kept apart: "\ud800" and "\udfff" are two streams (encoding/json reads
// both as U+FFFD), "<" and "\u003c" one.
func TestRouterIDsKeptApart(t *testing.T) {
	t.Parallel()
	ch := newRtChat()
	c := dial(t, newRtRouter(ch))
	for _, id := range []string{`"\ud800"`, `"\udfff"`, `"\ud800\udc00"`, `"<"`} {
		equal(t, "open "+id, roundTrip(t, c, `{"event":"chat.watch","id":`+id+`,"data":{"count":1,"fail":"wait"}}`),
			`{"id":`+id+`,"event":"chat.watch","statusCode":200,"body":{"message":"0","user":"watch"},"more":true}`)
		receive(t, "stream "+id, ch.watching)
	}
	for _, ids := range [][2]string{{`"\udfff"`, `"\udfff"`}, {`"\u003c"`, `"<"`}, {`"\ud800"`, `"\ud800"`}, {`"\uD800\uDC00"`, `"\ud800\udc00"`}} {
		send(t, c, `{"event":"$cancel","id":`+ids[0]+`}`)
		equal(t, "cancel "+ids[0], recv(t, c), `{"id":`+ids[1]+`,"event":"chat.watch","statusCode":200,"body":null}`)
	}
}

// An event name in a binary frame that is not valid UTF-8 matches as
// encoding/json reads it, each bad byte standing for U+FFFD, whether the
// name holds an escape (read by encoding/json) or not (scanned).
func TestRouterBinaryEventName(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	ws.On(r, "caf\uFFFD", func(ctx context.Context, in struct{}) (string, error) { return "ok", nil })
	c := dial(t, r)
	ctx := context.Background()
	for _, msg := range []string{"{\"event\":\"caf\xff\",\"id\":1}", "{\"event\":\"ca\\u0066\xff\",\"id\":1}"} {
		var want struct{ Event string }
		if err := json.Unmarshal([]byte(msg), &want); err != nil || want.Event != "caf\uFFFD" {
			t.Fatalf("encoding/json reads %q as %q, %v", msg, want.Event, err)
		}
		if err := c.Write(ctx, websocket.MessageBinary, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		equal(t, fmt.Sprintf("reply to %q", msg), recv(t, c), "{\"id\":1,\"event\":\"caf\uFFFD\",\"statusCode\":200,\"body\":\"ok\"}")
	}
	for _, msg := range []string{"{\"event\":\"caf\xff\xfe\",\"id\":2}", "{\"event\":\"\\u0063af\xff\xfe\",\"id\":2}"} {
		if err := c.Write(ctx, websocket.MessageBinary, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		equal(t, fmt.Sprintf("reply to %q", msg), recv(t, c),
			"{\"id\":2,\"event\":\"caf\uFFFD\uFFFD\",\"statusCode\":400,\"body\":{\"errorList\":[{\"loc\":[\"event\"],\"type\":\"union_tag_invalid\",\"msg\":\"Input tag 'caf\uFFFD\uFFFD' found using 'event' does not match any of the expected tags: 'caf\uFFFD'\"}]}}")
	}
}

// TestStreamsMemoryBounded: 1,000 connections, each with the most streams
// a Router allows open, each stream under the longest id it takes, hold
// less than 64 KiB of heap each on the server. Each client first offers a
// 4 KiB id, and the longest one a Router takes (128 bytes) when that is
// refused. The clients speak WebSocket by hand on bare TCP connections,
// so that the heap measured is the server's. With the default 16 streams,
// the goroutine stacks of the streams are logged, not bounded: 16
// goroutines need some 4 KiB each; with 2 (the demo's WithMaxStreams),
// heap and stacks together stay under 64 KiB.
func TestStreamsMemoryBounded(t *testing.T) {
	for _, tc := range []struct {
		streams    int
		withStacks bool
		maxStreams ws.RouterOption
	}{
		{16, false, ws.WithMaxStreams(0)}, // the default
		{2, true, ws.WithMaxStreams(2)},
	} {
		heap, stack := streamsMemory(t, 1000, tc.streams, tc.maxStreams)
		t.Logf("1000 connections × %d streams × the longest ids: %.1f KiB of heap and %.1f KiB of goroutine stacks per connection",
			tc.streams, heap/1024, stack/1024)
		if heap > 64<<10 {
			t.Errorf("%d streams: %.1f KiB of heap per connection, want under 64 KiB", tc.streams, heap/1024)
		}
		if tc.withStacks && heap+stack > 64<<10 {
			t.Errorf("%d streams: %.1f KiB of heap and stacks per connection, want under 64 KiB", tc.streams, (heap+stack)/1024)
		}
	}
}

// streamsMemory opens streams streams on each of conns connections and
// returns what each connection holds on the server: heap and stacks.
func streamsMemory(t *testing.T, conns, streams int, opts ...ws.RouterOption) (heap, stack float64) {
	r := ws.NewRouter(append([]ws.RouterOption{ws.WithPingInterval(0)}, opts...)...)
	ws.Stream(r, "w", func(ctx context.Context, in struct{}, send func(int) error) error {
		if err := send(0); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	heap0, stack0 := memNow()
	goroutines := runtime.NumGoroutine()
	clients := make([]*tinyConn, conns)
	defer func() {
		// Leave nothing behind for the next measure: every connection
		// and stream ends.
		for _, c := range clients {
			if c != nil {
				c.nc.Close()
			}
		}
		for deadline := time.Now().Add(relTimeout); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for i := range clients {
		c := tinyDial(t, srv.URL)
		clients[i] = c
		refused := streams
		for _, width := range []int{4 << 10, 126} {
			for s := range refused {
				c.write(t, fmt.Sprintf(`{"event":"w","id":"%0*d","data":{}}`, width, i*streams+s))
			}
			for range refused {
				switch msg := c.read(t); {
				case strings.Contains(msg, `"id_too_long"`):
				case strings.Contains(msg, `"more":true`):
					refused--
				default:
					t.Fatalf("connection %d: %s, want a stream's first item or id_too_long", i, msg)
				}
			}
		}
		if refused != 0 {
			t.Fatalf("connection %d: %d streams refused a 128-byte id", i, refused)
		}
	}
	heap1, stack1 := memNow()
	return float64(heap1-heap0) / float64(conns), float64(stack1-stack0) / float64(conns)
}

// memNow returns the live heap and the goroutine stacks in use once
// garbage is gone.
func memNow() (heap, stack uint64) {
	var m runtime.MemStats
	for range 3 {
		runtime.GC()
	}
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// tinyConn is a client that speaks WebSocket by hand with no buffer of its
// own: a test may hold thousands and measure the server.
type tinyConn struct{ nc net.Conn }

func tinyDial(t *testing.T, url string) *tinyConn {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	nc, err := net.DialTimeout("tcp", host, relTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(time.Minute)) // a guard against hanging
	fmt.Fprintf(nc, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", host)
	// Read the response byte by byte: nothing of the first frame may be
	// buffered away.
	var head []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := nc.Read(one); err != nil {
			t.Fatalf("upgrade: %v", err)
		}
		head = append(head, one[0])
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(head)), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	return &tinyConn{nc: nc}
}

// write sends msg as one masked text frame (the mask is zero).
func (c *tinyConn) write(t *testing.T, msg string) {
	t.Helper()
	frame := []byte{0x81, 0x80 | 126, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(frame[2:], uint16(len(msg)))
	if _, err := c.nc.Write(append(frame, msg...)); err != nil {
		t.Fatal(err)
	}
}

// read reads one unfragmented frame of less than 64 KiB.
func (c *tinyConn) read(t *testing.T) string {
	t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(c.nc, h[:2]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		if _, err := io.ReadFull(c.nc, h[2:4]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(h[2:4]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.nc, p); err != nil {
		t.Fatal(err)
	}
	return string(p)
}
