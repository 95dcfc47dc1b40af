package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/coder/websocket"
)

// The transport between coder/websocket and the network must not change a
// byte of what is written. coder/websocket writes a frame larger than its
// 4 KiB buffer in pieces, so a write may start anywhere in a frame: in
// particular on a payload byte 0x88 followed by a byte that reads as a
// length, which is how a close frame starts. These tests send payloads of
// every size around the write boundaries and such payloads at every offset
// around them, through every way the server writes, and check every byte
// that arrives.

// wireMsg is the request and reply of the sweep's endpoints.
type wireMsg struct {
	Text string `json:"text"`
}

// wireRunes are the characters of the sweep's text: no JSON encoder
// escapes them, so a payload's bytes are found as they are in every frame.
var wireRunes = []string{"a", "Z", "7", " ", "₈", "∈", "中", "😀", "é"}

// wirePool is random text of wireRunes, which the sweep's payloads are
// cut from.
var wirePool = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(6455, 19))
	var b []byte
	for len(b) < 80<<10 {
		b = append(b, wireRunes[rng.IntN(len(wireRunes))]...)
	}
	return b
})

// wireText appends n bytes of text to b: text of wireRunes from a random
// place in wirePool, then ASCII to make up the size.
func wireText(b []byte, rng *rand.Rand, n int) []byte {
	pool := wirePool()
	from := rng.IntN(len(pool) - n - 4)
	for !utf8.RuneStart(pool[from]) {
		from++
	}
	to := from + n
	for !utf8.RuneStart(pool[to]) {
		to--
	}
	b = append(b, pool[from:to]...)
	for range n - (to - from) {
		b = append(b, 'a'+byte(rng.IntN(26)))
	}
	return b
}

// wirePayloads returns the sweep's payloads for a frame that holds the
// payload after pre bytes and before post bytes:
//   - every size that puts the frame's end within 64 bytes of 4 KiB and of
//     8 KiB, within 4 bytes of 16 KiB and 32 KiB, and within 8 bytes below
//     64 KiB;
//   - crafted ones: "₈" (whose last byte is 0x88), a character that reads as
//     a length, then "😀", whose last two bytes are not UTF-8 on their own,
//     and the size for which the bytes from 0x88 on would make a whole close
//     frame; with the 0x88 at every offset of the frame within 32 bytes of
//     4 KiB and 8 KiB;
//   - 32 random texts of 1 byte to 16 KiB.
func wirePayloads(pre, post int) []string {
	overhead := pre + post
	rng := rand.New(rand.NewPCG(6455, 19))
	var out []string
	const header = 4 // the frame header of a payload of 126 bytes to 64 KiB
	for _, b := range []struct{ at, below, above int }{{4096, 64, 64}, {8192, 64, 64}, {16384, 4, 4}, {32768, 4, 4}, {65536, 8, 0}} {
		for end := b.at - b.below; end <= b.at+b.above; end++ {
			out = append(out, string(wireText(nil, rng, end-header-overhead)))
		}
	}
	for _, at := range []int{4096, 8192} {
		for p := at - 32; p <= at+32; p++ {
			for _, length := range []byte{'x', '0'} {
				if length == '0' && (p < at-4 || p > at+4) {
					continue
				}
				// The frame ends where a close frame of that
				// length starting at 0x88 would.
				n := p + 2 + int(length) - header - overhead
				o := p - header - pre // 0x88 is payload byte o
				b := wireText(nil, rng, o-2)
				b = append(b, "₈"...)
				b = append(b, length)
				b = append(b, "😀"...)
				out = append(out, string(wireText(b, rng, n-len(b))))
			}
		}
	}
	for range 32 {
		out = append(out, string(wireText(nil, rng, 1+rng.IntN(16<<10))))
	}
	for _, p := range out {
		if !utf8.ValidString(p) {
			panic("sweep payload is not UTF-8")
		}
	}
	return out
}

// wirePath is one way the server writes. Client 0 sends request(s) for each
// payload s (or, when request is nil, one "{}" to start), and each client
// then gets the frames want(s) lists for it.
type wirePath struct {
	name    string
	clients int
	serve   func(payloads []string) http.Handler
	request func(s string) []byte
	want    func(s string) [][][]byte // per client, the frames for s
	swept   func(s string) []byte     // the frame the payloads are made for
}

// wirePaths are the ways the server writes a message: Callback replies,
// Router replies and pushes, Conn.SendText and Conn.SendTexts, and hub
// broadcasts to another member.
func wirePaths(opts ...ws.Option) []wirePath {
	echo := func(ctx context.Context, in wireMsg) (wireMsg, error) { return in, nil }
	// The payloads need no escape in JSON: they stand in the frames as
	// they are.
	text := func(s string) []byte { return []byte(`{"text":"` + s + `"}`) }
	one := func(frames ...[]byte) [][][]byte { return [][][]byte{frames} }
	reply := func(s string) []byte { return fmt.Appendf(nil, `{"statusCode":200,"body":%s}`, text(s)) }
	routerReply := func(s string) []byte { return fmt.Appendf(nil, `{"event":"echo","statusCode":200,"body":%s}`, text(s)) }
	push := func(s string) []byte {
		return fmt.Appendf(nil, `{"event":"pushed","statusCode":200,"body":%s}`, text(s))
	}
	router := func([]string) http.Handler {
		r := ws.NewRouter(widen[ws.RouterOption](opts)...)
		ws.On(r, "echo", echo)
		ws.On(r, "push", func(ctx context.Context, in wireMsg) (struct{}, error) {
			return struct{}{}, ws.ConnFromContext(ctx).SendJSON(ctx, ws.Push("pushed", in))
		})
		return r
	}
	// sender serves a Handler that waits for "{}" and then writes every
	// payload with send.
	sender := func(send func(ctx context.Context, conn *ws.Conn, payloads []string) error) func([]string) http.Handler {
		return func(payloads []string) http.Handler {
			return ws.Handler(func(ctx context.Context, conn *ws.Conn) error {
				var start struct{}
				if err := conn.ReceiveJSON(ctx, &start); err != nil {
					return err
				}
				if err := send(ctx, conn, payloads); err != nil {
					return err
				}
				<-ctx.Done()
				return nil
			}, opts...)
		}
	}
	h := hub.New()
	return []wirePath{
		{
			name: "Callback", clients: 1,
			serve:   func([]string) http.Handler { return ws.Callback(nil, echo, nil, widen[ws.CallbackOption](opts)...) },
			request: text,
			want:    func(s string) [][][]byte { return one(reply(s)) },
			swept:   reply,
		},
		{
			name: "Router", clients: 1, serve: router,
			request: func(s string) []byte { return fmt.Appendf(nil, `{"event":"echo","data":%s}`, text(s)) },
			want:    func(s string) [][][]byte { return one(routerReply(s)) },
			swept:   routerReply,
		},
		{
			name: "RouterPush", clients: 1, serve: router,
			request: func(s string) []byte { return fmt.Appendf(nil, `{"event":"push","data":%s}`, text(s)) },
			want: func(s string) [][][]byte {
				return one(push(s), []byte(`{"event":"push","statusCode":200,"body":{}}`))
			},
			swept: push,
		},
		{
			name: "SendText", clients: 1,
			serve: sender(func(ctx context.Context, conn *ws.Conn, payloads []string) error {
				for _, s := range payloads {
					if err := conn.SendText(ctx, []byte(s)); err != nil {
						return err
					}
				}
				return nil
			}),
			want:  func(s string) [][][]byte { return one([]byte(s)) },
			swept: func(s string) []byte { return []byte(s) },
		},
		{
			name: "SendTexts", clients: 1,
			serve: sender(func(ctx context.Context, conn *ws.Conn, payloads []string) error {
				for i := 0; i < len(payloads); i += 3 {
					var batch [][]byte
					for _, s := range payloads[i:min(i+3, len(payloads))] {
						batch = append(batch, []byte(s))
					}
					if err := conn.SendTexts(ctx, batch...); err != nil {
						return err
					}
				}
				return nil
			}),
			want:  func(s string) [][][]byte { return one([]byte(s)) },
			swept: func(s string) []byte { return []byte(s) },
		},
		{
			// Client 0 sends; client 1, in the room "all" and alone
			// in the room "b", gets the broadcasts: BroadcastExcept
			// to "all" but the sender, and Broadcast to "b", in turn.
			name: "hub", clients: 2,
			serve: func([]string) http.Handler {
				var n int
				var mu sync.Mutex
				return ws.Callback(func(ctx context.Context, conn *ws.Conn) error {
					if conn.Request().URL.Query().Has("b") {
						if err := h.Join(conn, "b"); err != nil {
							return err
						}
					}
					return h.Join(conn, "all")
				}, func(ctx context.Context, in wireMsg) (struct{}, error) {
					if in.Text == "" {
						return struct{}{}, nil // a client's first message
					}
					mu.Lock()
					n++
					even := n%2 == 0
					mu.Unlock()
					if even {
						return struct{}{}, h.BroadcastExcept(ctx, "all", ws.ConnFromContext(ctx), in)
					}
					return struct{}{}, h.Broadcast(ctx, "b", in)
				}, func(ctx context.Context, conn *ws.Conn, err error) { h.LeaveAll(conn) }, widen[ws.CallbackOption](opts)...)
			},
			request: text,
			want: func(s string) [][][]byte {
				return [][][]byte{{[]byte(`{"statusCode":200,"body":{}}`)}, {text(s)}}
			},
			swept: text,
		},
	}
}

// layout returns how many bytes stand before and after the payload in
// the frame the payloads are made for.
func (p wirePath) layout() (pre, post int) {
	frame := p.swept("§")
	pre = bytes.Index(frame, []byte("§"))
	return pre, len(frame) - pre - len("§")
}

// wireWindow is how many payloads may be under way at once: requests
// pipelined ahead of their replies, well under the hub's queue.
const wireWindow = 32

// sweepWire sends every payload through path and checks, byte for byte
// and in order, every frame each client gets.
func sweepWire(t *testing.T, path wirePath, compress bool, payloads []string) {
	url := relServerFor(t, path.serve(payloads))
	ctx, cancel := context.WithTimeout(context.Background(), relTimeout)
	defer cancel()
	dialOpts := &websocket.DialOptions{}
	if compress {
		dialOpts.CompressionMode = websocket.CompressionContextTakeover
	}
	clients := make([]*websocket.Conn, path.clients)
	for i := range clients {
		u := url
		if i == 1 {
			u += "?b"
		}
		c, _, err := websocket.Dial(ctx, u, dialOpts)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(-1)
		clients[i] = c
		if path.clients > 1 {
			// Once the first reply is here, onConnect has run: the
			// client is in its rooms.
			if err := c.Write(ctx, websocket.MessageText, []byte(`{"text":""}`)); err != nil {
				t.Fatal(err)
			}
			if _, got, err := c.Read(ctx); err != nil || string(got) != `{"statusCode":200,"body":{}}` {
				t.Fatalf("client %d: first reply %q, %v", i, got, err)
			}
		}
	}

	// done[i] counts the clients that got all of payload i's frames; the
	// sender keeps at most wireWindow payloads under way.
	window := make(chan struct{}, wireWindow)
	done := make([]int, len(payloads))
	var mu sync.Mutex
	finish := func(i int) {
		mu.Lock()
		done[i]++
		all := done[i] == path.clients
		mu.Unlock()
		if all && path.request != nil {
			<-window
		}
	}
	errs := make(chan error, path.clients+1)
	go func() {
		if path.request == nil {
			errs <- clients[0].Write(ctx, websocket.MessageText, []byte(`{}`))
			return
		}
		for _, s := range payloads {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				errs <- ctx.Err()
				return
			}
			if err := clients[0].Write(ctx, websocket.MessageText, path.request(s)); err != nil {
				errs <- err
				return
			}
		}
		errs <- nil
	}()
	for ci, c := range clients {
		go func() {
			for i, s := range payloads {
				for fi, want := range path.want(s)[ci] {
					typ, got, err := c.Read(ctx)
					if err != nil {
						errs <- fmt.Errorf("client %d, payload %d (%d bytes), frame %d: %w", ci, i, len(s), fi, err)
						return
					}
					if typ != websocket.MessageText || !bytes.Equal(got, want) {
						errs <- fmt.Errorf("client %d, payload %d (%d bytes), frame %d: %s", ci, i, len(s), fi, wireDiff(got, want))
						return
					}
				}
				finish(i)
			}
			errs <- nil
		}()
	}
	for range path.clients + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Still in sync: one more round trip on each side.
	if path.request != nil {
		s := "in sync ₈"
		if err := clients[0].Write(ctx, websocket.MessageText, path.request(s)); err != nil {
			t.Fatal(err)
		}
		for ci, c := range clients {
			for _, want := range path.want(s)[ci] {
				if _, got, err := c.Read(ctx); err != nil || !bytes.Equal(got, want) {
					t.Fatalf("client %d after the sweep: %q, %v; want %q", ci, got, err, want)
				}
			}
		}
	}
}

// wireDiff describes where got differs from want.
func wireDiff(got, want []byte) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("%d bytes, want %d; first difference at byte %d: %q, want %q", len(got), len(want), i,
		got[i:min(len(got), i+16)], want[i:min(len(want), i+16)])
}

// TestWireSweep: payloads of every size around the write boundaries,
// crafted payloads that hold the start of a close frame at every offset
// around them, and random multilingual text arrive byte for byte, in
// order, through every way the server writes, with compression off and
// on; the connections stay in sync.
func TestWireSweep(t *testing.T) {
	t.Parallel()
	for _, compress := range []bool{false, true} {
		opts := []ws.Option{ws.WithReadLimit(1 << 20)}
		if compress {
			opts = append(opts, ws.WithCompression(websocket.CompressionContextTakeover))
		}
		for _, path := range wirePaths(opts...) {
			t.Run(fmt.Sprintf("%s/compress=%v", path.name, compress), func(t *testing.T) {
				t.Parallel()
				payloads := wirePayloads(path.layout())
				if compress {
					// The frames on the wire are deflate's output: where
					// a payload byte lands in them does not follow its
					// offset. Every 8th payload is enough to cross the
					// write boundaries with compressed frames.
					var some []string
					for i := 0; i < len(payloads); i += 8 {
						some = append(some, payloads[i])
					}
					payloads = some
				}
				sweepWire(t, path, compress, payloads)
			})
		}
	}
}

// looksClosed reports whether a text frame of payload p, written by
// coder/websocket, has the look of a close frame from byte 4096 on, where
// its second write starts: 0x88, a byte that counts exactly the bytes left,
// then bytes that are not UTF-8 on their own.
func looksClosed(p []byte) bool {
	frame := append([]byte{0x81, 126, 0, 0}, p...)
	if len(frame) < 4096+6 || len(frame) > 0xffff {
		return false
	}
	rest := frame[4096:]
	return rest[0] == 0x88 && int(rest[1]) == len(rest)-2 && !utf8.Valid(rest[4:])
}

// TestWirePayloadsCrafted: the crafted payloads are what they claim: for
// every path, in the frame the server writes, two of them have 0x88 at
// byte 4096, then a byte that counts exactly the bytes left, then bytes that
// are not UTF-8 on their own: the look of a close frame where
// coder/websocket's second write of the frame starts.
func TestWirePayloadsCrafted(t *testing.T) {
	t.Parallel()
	for _, path := range wirePaths() {
		found := 0
		for _, s := range wirePayloads(path.layout()) {
			if looksClosed(path.swept(s)) {
				found++
			}
		}
		if found != 2 {
			t.Fatalf("%s: %d payloads put a close frame's look at byte 4096, want 2", path.name, found)
		}
	}
}

// FuzzWireEcho sends text through a Callback's echo, with compression off
// or on: the reply arrives byte for byte. size pads the text in front, so
// that what it ends with may land on a write boundary.
func FuzzWireEcho(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzWireEcho: among them the
	// sweep's payloads for which looksClosed holds, and multilingual
	// text, compressed and not.
	echo := func(ctx context.Context, in wireMsg) (wireMsg, error) { return in, nil }
	conns := [2]*fuzzConn{}
	for i, opts := range [][]ws.Option{nil, {ws.WithCompression(websocket.CompressionContextTakeover)}} {
		url := relServerFor(f, ws.Callback(nil, echo, nil, widen[ws.CallbackOption](append(opts, ws.WithReadLimit(1<<20)))...))
		conns[i] = &fuzzConn{url: url, opts: &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover}}
		f.Cleanup(conns[i].drop)
	}
	f.Fuzz(func(t *testing.T, text string, size uint16, compress bool) {
		text = strings.ToValidUTF8(text, "\uFFFD")
		text = strings.Repeat("a", max(0, int(size)-len(text))) + text
		msg, _ := json.Marshal(wireMsg{text})
		fc := conns[0]
		if compress {
			fc = conns[1]
		}
		got, err := fc.send(t, websocket.MessageText, msg)
		if err != nil {
			t.Fatalf("%d bytes: %v", len(text), err)
		}
		if want := fmt.Appendf(nil, `{"statusCode":200,"body":%s}`, msg); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: %s", len(text), wireDiff(got, want))
		}
	})
}

// widen returns opts as options of a narrower shape, for a test that gives
// the same options to every shape.
func widen[T ws.RouterOption](opts []ws.Option) []T {
	out := make([]T, len(opts))
	for i, o := range opts {
		out[i] = o.(T)
	}
	return out
}
