package ws

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"unicode/utf8"
)

// serverFrame encodes a frame as a server writes it: not masked, the
// shortest length encoding. b0 holds FIN, the RSV bits and the opcode.
func serverFrame(b0 byte, payload []byte) []byte {
	n := len(payload)
	f := []byte{b0}
	switch {
	case n < 126:
		f = append(f, byte(n))
	case n <= 0xffff:
		f = append(f, 126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	return append(f, payload...)
}

// wantOnWire is what must leave for frame f, written by coder/websocket:
// f itself, but for a close frame whose reason is not valid UTF-8.
// It reads f on its own, without the transport's code.
func wantOnWire(f []byte) []byte {
	if f[0] == 0x88 && f[1] <= 125 && len(f) > 4 && !utf8.Valid(f[4:]) {
		return invalidReasonClose
	}
	return f
}

// wireRecorder is a net.Conn that checks every byte written against what
// must leave, as it is written, without keeping a copy.
type wireRecorder struct {
	net.Conn
	t      testing.TB
	want   []byte
	off    int
	writes int
}

func (w *wireRecorder) Write(p []byte) (int, error) {
	w.writes++
	if w.off+len(p) > len(w.want) || !bytes.Equal(p, w.want[w.off:w.off+len(p)]) {
		end := min(w.off+len(p), len(w.want))
		w.t.Fatalf("bytes %d to %d on the wire: %x…, want %x…", w.off, w.off+len(p), p[:min(len(p), 16)], w.want[w.off:min(end, w.off+16)])
	}
	w.off += len(p)
	return len(p), nil
}

// done checks that all that must leave has left.
func (w *wireRecorder) done(what string) {
	w.t.Helper()
	if w.off != len(w.want) {
		w.t.Fatalf("%s: %d bytes on the wire, want %d", what, w.off, len(w.want))
	}
}

// frameStream is a stream of frames as coder/websocket writes them, and
// what must leave for it.
type frameStream struct {
	in, want []byte
	starts   []int // where each frame starts in in
}

// nearStart reports whether offset c is within d bytes of a frame's start.
func (s *frameStream) nearStart(c, d int) bool {
	i, _ := slices.BinarySearch(s.starts, c)
	return i < len(s.starts) && s.starts[i]-c <= d || i > 0 && c-s.starts[i-1] <= d || len(s.in)-c <= d
}

func (s *frameStream) add(b0 byte, payload []byte) {
	f := serverFrame(b0, payload)
	s.starts = append(s.starts, len(s.in))
	s.in = append(s.in, f...)
	s.want = append(s.want, wantOnWire(f)...)
}

// closePayload is a close frame's payload: code, then reason.
func closePayload(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

// trackerStream returns frames of every kind a server writes: data frames
// (text, binary, continuation, compressed, not final) with payloads of the
// lengths around where the length encoding changes, pings, pongs, close
// frames with and without a reason, valid and not. Payloads hold what a
// close frame's start looks like: 0x88, a length byte, bytes that are not
// UTF-8 on their own. With large, it has payloads of 65535 and 65536
// bytes too.
func trackerStream(large bool) frameStream {
	rng := rand.New(rand.NewPCG(19, 6455))
	payload := func(n int) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(rng.IntN(256))
		}
		// A close frame's look-alike at the start, in the middle and
		// at the end.
		for _, at := range []int{0, n / 2, n - 6} {
			if at >= 0 && at+6 <= n {
				copy(p[at:], []byte{0x88, 4, 0x0f, 0xa0, 0x98, 0x80})
			}
		}
		return p
	}
	var s frameStream
	data := []byte{0x81, 0x82, 0x80, 0xc1, 0xc2, 0x01, 0x02, 0x00} // FIN/RSV1 × text/binary/continuation
	lengths := []int{0, 1, 2, 3, 6, 124, 125, 126, 127, 128, 255, 256, 1000, 4096}
	if large {
		lengths = append(lengths, 65535, 65536)
	}
	controls := [][2]any{
		{byte(0x89), payload(0)},   // ping
		{byte(0x8a), payload(125)}, // pong
		{byte(0x88), []byte(nil)},
		{byte(0x88), closePayload(1000, "bye ₈∈中😀é")},
		{byte(0x88), closePayload(4000, "\x98\x80 not UTF-8")},
		{byte(0x88), append(closePayload(4000, string(bytes.Repeat([]byte("é"), 60))), 0xc3)}, // cut in a rune
		{byte(0x88), closePayload(1001, "")},
		{byte(0x89), payload(125)},
		{byte(0x88), closePayload(3000, string(bytes.Repeat([]byte("x"), 123)))},
		{byte(0x88), closePayload(4999, "\xff")},
		{byte(0x88), []byte{0x03}}, // a 1-byte payload: passes as it is
	}
	for i, n := range lengths {
		s.add(data[i%len(data)], payload(n))
		c := controls[i%len(controls)]
		s.add(c[0].(byte), c[1].([]byte))
	}
	for _, c := range controls {
		s.add(c[0].(byte), c[1].([]byte))
	}
	return s
}

// writeSplit writes in through a transport, cut at the given offsets, and
// checks the wire. With hold, the transport holds every write and sends it
// all at the end, in one write or more (it holds at most maxHeld).
func writeSplit(t *testing.T, s frameStream, cuts []int, hold bool) {
	t.Helper()
	w := &wireRecorder{t: t, want: s.want}
	tr := &transport{Conn: w}
	tr.batch.Store(hold)
	prev := 0
	for _, c := range append(cuts, len(s.in)) {
		if n, err := tr.Write(s.in[prev:c]); n != c-prev || err != nil {
			t.Fatalf("Write of %d bytes: %d, %v", c-prev, n, err)
		}
		prev = c
	}
	tr.batch.Store(false)
	if err := tr.flush(); err != nil {
		t.Fatal(err)
	}
	w.done(fmt.Sprintf("cuts %v", cuts))
	if tr.frames.skip != 0 || tr.frames.nhead != 0 || tr.frames.inCtl {
		t.Fatalf("cuts %v: the tracker ends inside a frame: %+v", cuts, tr.frames)
	}
}

// TestFramesEveryCut: a stream of frames of every kind, cut at every
// offset into two writes, and cut into many writes at random, leaves
// byte for byte as it was written, but for each close frame whose reason is
// not UTF-8, which leaves as 1007 "invalid UTF-8".
func TestFramesEveryCut(t *testing.T) {
	t.Parallel()
	for _, large := range []bool{false, true} {
		s := trackerStream(large)
		if bytes.Equal(s.in, s.want) {
			t.Fatal("the stream has no close frame to answer")
		}
		writeSplit(t, s, nil, false)
		for c := 0; c <= len(s.in); c++ {
			// In the large stream, every cut within 64 bytes of a
			// frame's start, and every 499th elsewhere: deep inside a
			// payload, one cut is like the next.
			if !large || s.nearStart(c, 64) || c%499 == 0 {
				writeSplit(t, s, []int{c}, false)
			}
		}
		rng := rand.New(rand.NewPCG(8, 1))
		for i := range 60 {
			var cuts []int
			for c := rng.IntN(8); c < len(s.in); c += 1 + rng.IntN([]int{3, 20, 200, 5000}[i%4]*len(s.in)/8192) {
				cuts = append(cuts, c)
			}
			writeSplit(t, s, cuts, i%2 == 0)
		}
		// Every cut at once: one byte a write.
		if !large {
			var cuts []int
			for c := 1; c < len(s.in); c++ {
				cuts = append(cuts, c)
			}
			writeSplit(t, s, cuts, false)
		}
	}
}

// TestFramesNotCoders: frames coder/websocket never writes (a masked
// close frame, a close frame announcing more than 125 bytes) pass as they
// are, and the frames after them are still read right.
func TestFramesNotCoders(t *testing.T) {
	t.Parallel()
	masked := append([]byte{0x88, 0x80 | 6, 1, 2, 3, 4}, 0x0f, 0xa0, 0xff, 0xfe, 0xfd, 0xfc)
	long := append([]byte{0x88, 126, 0, 200}, bytes.Repeat([]byte{0xff}, 200)...)
	var s frameStream
	s.in = append(append(s.in, masked...), long...)
	s.want = append(s.want, s.in...)
	s.add(0x88, closePayload(4000, "\xff"))
	for c := 0; c <= len(s.in); c++ {
		writeSplit(t, s, []int{c}, false)
	}
}

// TestFramesWritesPassWhole: a write that holds no close frame goes out in
// one write, the very bytes given.
func TestFramesWritesPassWhole(t *testing.T) {
	t.Parallel()
	var s frameStream
	s.add(0x81, bytes.Repeat([]byte("₈"), 3000))
	w := &wireRecorder{t: t, want: s.want}
	tr := &transport{Conn: w}
	for _, c := range [][2]int{{0, 4096}, {4096, len(s.in)}} {
		tr.Write(s.in[c[0]:c[1]])
	}
	w.done("two writes")
	if w.writes != 2 {
		t.Fatalf("%d writes on the wire, want 2", w.writes)
	}
}

// fuzzStream makes frames from spec: three bytes a frame (the first
// byte; a byte that picks the length's range and whether the frame is
// masked; a byte within the range), then the payload, from what follows in
// spec and, past its end, from bytes that look like a close frame's start.
func fuzzStream(spec []byte) frameStream {
	var s frameStream
	fill := []byte{0x88, 'x', 0xf0, 0x9f, 0x98, 0x80, 0x88, 0x02, 0x03, 0xe8}
	for len(spec) >= 3 && len(s.in) < 1<<20 {
		b0, pick, lo := spec[0], spec[1], int(spec[2])
		spec = spec[3:]
		var n int
		switch pick & 3 {
		case 0:
			n = lo & 0x7f // control frames over 125 bytes are not coder's: they pass
		case 1:
			n = 126 + lo*200
		case 2:
			n = 0xffff - lo
		default:
			n = 0x10000 + lo
		}
		p := make([]byte, n)
		k := copy(p, spec)
		spec = spec[k:]
		for i := k; i < n; i++ {
			p[i] = fill[(i-k)%len(fill)]
		}
		f := serverFrame(b0, p)
		if pick&4 != 0 {
			// Masked, as coder/websocket never writes: it passes.
			f = append(append(append([]byte{f[0], f[1] | 0x80}, f[2:len(f)-n]...), 1, 2, 3, 4), p...)
		}
		s.starts = append(s.starts, len(s.in))
		s.in = append(s.in, f...)
		s.want = append(s.want, wantOnWire(f)...)
	}
	return s
}

// FuzzFrameTracker writes arbitrary frames through a transport, cut into
// writes at arbitrary places: every byte leaves as it was written, but for
// close frames whose reason is not valid UTF-8, which leave as 1007.
func FuzzFrameTracker(f *testing.F) {
	// The seeds are in testdata/fuzz/FuzzFrameTracker: among them a text
	// frame with a close frame's look at byte 4096, cut there, and close
	// frames with reasons that are not UTF-8, cut everywhere.
	f.Fuzz(func(t *testing.T, spec, cuts []byte) {
		s := fuzzStream(spec)
		var at []int
		for i, c := 0, 0; len(cuts) > 0; i++ {
			step := 1 + int(cuts[i%len(cuts)])
			if step == 256 {
				step = 4096
			}
			if c += step; c >= len(s.in) {
				break
			}
			at = append(at, c)
		}
		writeSplit(t, s, at, len(cuts)%2 == 1)
	})
}

// BenchmarkFrames is the tracker's cost per write: a 4 KiB piece of a
// frame, and a small frame whole.
func BenchmarkFrames(b *testing.B) {
	big := serverFrame(0x81, bytes.Repeat([]byte("a"), 1<<20))
	small := serverFrame(0x81, []byte(`{"statusCode":200,"body":{"id":1}}`))
	b.Run("piece", func(b *testing.B) {
		var f frames
		off := 0
		for b.Loop() {
			if off+4096 > len(big) {
				f, off = frames{}, 0
			}
			f.next(big[off : off+4096])
			off += 4096
		}
	})
	b.Run("small", func(b *testing.B) {
		var f frames
		for b.Loop() {
			f.next(small)
		}
	})
}
