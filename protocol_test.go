package ws_test

// Promise 3 (docs/reliability.md): raw protocol abuse, written frame by
// frame over a plain TCP connection after a hand-made upgrade. Each abuse
// closes that connection with the status coder/websocket sends for it, runs
// onDisconnect once, and leaves the handler serving others.

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func TestProtocolAbuse(t *testing.T) {
	t.Parallel()
	text := func(p string) rawFrame { return rawFrame{fin: true, op: opText, payload: []byte(p), masked: true} }
	frames := func(fs ...rawFrame) []byte {
		var b []byte
		for _, f := range fs {
			b = append(b, f.bytes()...)
		}
		return b
	}
	closeWith := func(code int, reason string) rawFrame {
		return rawFrame{fin: true, op: opClose, payload: append([]byte{byte(code >> 8), byte(code)}, reason...), masked: true}
	}
	// A storm of continuation frames: one message in n fragments of size
	// bytes each, its content a valid request padded with spaces.
	storm := func(n, size int) []byte {
		msg := []byte(`{"id":1,"text":"storm"}`)
		msg = append(msg, bytes.Repeat([]byte(" "), n*size-len(msg))...)
		var b []byte
		for i := range n {
			op := byte(opContinuation)
			if i == 0 {
				op = opText
			}
			b = append(b, rawFrame{fin: i == n-1, op: op, payload: msg[i*size : (i+1)*size], masked: true}.bytes()...)
		}
		return b
	}

	// 10,000 empty fragments cost the server no memory; the data after
	// them still counts against the read limit.
	emptyStorm := rawFrame{fin: false, op: opText, payload: []byte(`{"text":`), masked: true}.bytes()
	emptyStorm = append(emptyStorm, bytes.Repeat(rawFrame{fin: false, op: opContinuation, masked: true}.bytes(), 10_000)...)
	emptyStorm = append(emptyStorm, rawFrame{fin: true, op: opContinuation, payload: bytes.Repeat([]byte(" "), 33<<10), masked: true}.bytes()...)

	tests := []struct {
		name   string
		send   []byte
		code   int    // the close code the server sends; -1: it drops the connection without one
		reason string // a part of the close reason
	}{
		{"unmasked frame", rawFrame{fin: true, op: opText, payload: []byte(`{"text":"x"}`)}.bytes(), 1002, "protocol error"},
		{"reserved opcode 3", rawFrame{fin: true, op: 0x3, payload: []byte("x"), masked: true}.bytes(), 1002, "unknown opcode"},
		{"reserved opcode 7", rawFrame{fin: true, op: 0x7, masked: true}.bytes(), 1002, "unknown opcode"},
		{"reserved control opcode 11", rawFrame{fin: true, op: 0xB, masked: true}.bytes(), 1002, "unknown opcode"},
		{"reserved control opcode 15", rawFrame{fin: true, op: 0xF, payload: []byte("x"), masked: true}.bytes(), 1002, "unknown opcode"},
		{"RSV1 without compression", rawFrame{fin: true, rsv: 0x40, op: opText, payload: []byte("{}"), masked: true}.bytes(), 1002, "rsv"},
		{"RSV2", rawFrame{fin: true, rsv: 0x20, op: opText, payload: []byte("{}"), masked: true}.bytes(), 1002, "rsv"},
		{"RSV3 on a ping", rawFrame{fin: true, rsv: 0x10, op: opPing, masked: true}.bytes(), 1002, "rsv"},
		{"ping of 126 bytes", rawFrame{fin: true, op: opPing, payload: make([]byte, 126), masked: true}.bytes(), 1002, "control frame"},
		{"close of 200 bytes", rawFrame{fin: true, op: opClose, payload: append([]byte{0x03, 0xe8}, strings.Repeat("r", 198)...), masked: true}.bytes(), 1002, "control frame"},
		{"pong announcing 64 KiB", rawFrame{fin: true, op: opPong, payload: make([]byte, 65536), masked: true}.bytes(), 1002, "control frame"},
		{"fragmented ping", rawFrame{fin: false, op: opPing, payload: []byte("p"), masked: true}.bytes(), 1002, "fragmented control"},
		{"close code 1005", closeWith(1005, "").bytes(), 1002, "invalid close"},
		{"close code 1006", closeWith(1006, "").bytes(), 1002, "invalid close"},
		{"close code 999", closeWith(999, "").bytes(), 1002, "invalid close"},
		{"close code 1016", closeWith(1016, "").bytes(), 1002, "invalid close"},
		{"close code 5000", closeWith(5000, "").bytes(), 1002, "invalid close"},
		{"close payload of 1 byte", rawFrame{fin: true, op: opClose, payload: []byte{0x03}, masked: true}.bytes(), 1002, "invalid close"},
		{"continuation without start", rawFrame{fin: true, op: opContinuation, payload: []byte("{}"), masked: true}.bytes(), 1002, "continuation"},
		{"continuation storm without start", bytes.Repeat(rawFrame{fin: false, op: opContinuation, payload: []byte("x"), masked: true}.bytes(), 1000), 1002, "continuation"},
		{"new message inside a fragmented one", frames(rawFrame{fin: false, op: opText, payload: []byte(`{"te`), masked: true}, text(`{}`)), 1002, "without finishing"},
		{"fragment storm over the read limit", storm(40<<10/4, 4), 1009, "read limited"},
		{"fragment storm of empty frames, then over the limit", emptyStorm, 1009, "read limited"},
	}
	p := newRelProbe(t)
	url := relServe(t, p)
	bystander := relDial(t, url)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := rawDial(t, url)
			// The server may stop reading at the abuse: write from another
			// goroutine so that a full buffer cannot block the test.
			go rc.nc.Write(tc.send)
			code, reason := rc.closeFrame(t)
			if code != tc.code || !strings.Contains(reason, tc.reason) {
				t.Errorf("close %d %q, want %d with %q", code, reason, tc.code, tc.reason)
			}
			err := p.next(t)
			switch {
			case tc.code == 1009:
				if !errors.Is(err, websocket.ErrMessageTooBig) || websocket.CloseStatus(err) != 1009 {
					t.Errorf("onDisconnect got %v (close status %d), want ErrMessageTooBig and 1009", err, websocket.CloseStatus(err))
				}
			case websocket.CloseStatus(err) != websocket.StatusCode(tc.code):
				t.Errorf("onDisconnect got %v (close status %d), want close status %d", err, websocket.CloseStatus(err), tc.code)
			}
			// Others on the same handler are unaffected.
			relRoundTrip(t, bystander, i)
		})
	}
}

// TestProtocolFragments: fragmented messages that keep the rules are put
// together, with control frames between their fragments answered.
func TestProtocolFragments(t *testing.T) {
	t.Parallel()
	p := newRelProbe(t)
	url := relServe(t, p)
	rc := rawDial(t, url)

	msg := []byte(`{"id":42,"text":"in many pieces"}`)
	msg = append(msg, bytes.Repeat([]byte(" "), 20_000)...)
	var b []byte
	pings := 0
	for i, part := range bytes.SplitAfter(msg, []byte("")) { // one byte each
		op := byte(opContinuation)
		if i == 0 {
			op = opText
		}
		b = append(b, rawFrame{fin: i == len(msg)-1, op: op, payload: part, masked: true}.bytes()...)
		if i%5000 == 1 {
			pings++
			b = append(b, rawFrame{fin: true, op: opPing, payload: fmt.Appendf(nil, "p%d", i), masked: true}.bytes()...)
		}
	}
	go rc.nc.Write(b)

	pongs := 0
	for {
		f, err := rc.readFrame()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if f.op == opPong {
			pongs++
			continue
		}
		if f.op != opText || !f.fin {
			t.Fatalf("frame op %d fin %v: %q", f.op, f.fin, f.payload)
		}
		if got, want := string(f.payload), `{"statusCode":200,"body":{"id":42,"echo":"in many pieces"}}`; got != want {
			t.Fatalf("reply %q, want %q", got, want)
		}
		break
	}
	if pongs != pings || pings < 4 {
		t.Fatalf("%d pongs for %d pings", pongs, pings)
	}
	// A clean close from the client ends it with its code.
	rc.write(t, rawFrame{fin: true, op: opClose, payload: []byte{0x03, 0xe8}, masked: true}.bytes())
	if code, _ := rc.closeFrame(t); code != 1000 {
		t.Fatalf("close echo %d, want 1000", code)
	}
	if err := p.next(t); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("onDisconnect got %v, want close status 1000", err)
	}
}
