package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"github.com/gorilla/websocket"

	"github.com/cafeto-go/ws/bench/internal/chat"
)

// testServer answers with chat.Handler; tamper may change, hold back or
// reorder the replies of one connection: it gets the n-th reply and returns
// the frames to send now.
func testServer(t *testing.T, tamper func(n int, reply []byte) [][]byte) string {
	t.Helper()
	h := chat.NewHandler()
	var upgrader websocket.Upgrader
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for n := 0; ; n++ {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			out, err := h.Handle(data)
			if err != nil {
				return
			}
			frames := [][]byte{out}
			if tamper != nil {
				frames = tamper(n, out)
			}
			for _, f := range frames {
				if err := c.WriteMessage(websocket.TextMessage, f); err != nil {
					return
				}
			}
		}
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func countConfig(url string, inflight int) loadConfig {
	return loadConfig{url: url, conns: 2, inflight: inflight, count: 400, timeout: 5 * time.Second, seed: 1}
}

func TestRunVerifiesEveryReply(t *testing.T) {
	url := testServer(t, nil)
	for _, inflight := range []int{1, 16} {
		res, err := runLoad(context.Background(), countConfig(url, inflight))
		if err != nil {
			t.Fatalf("inflight %d: %v", inflight, err)
		}
		if res.Replies != 400 || res.Invalid != 400/invalidEvery || res.Failures != 0 {
			t.Errorf("inflight %d: %d replies, %d invalid, %d failures; want 400, %d, 0",
				inflight, res.Replies, res.Invalid, res.Failures, 400/invalidEvery)
		}
		if res.Rate <= 0 || res.P99us <= 0 || res.P50us > res.P99us {
			t.Errorf("inflight %d: rate %v, p50 %v, p99 %v", inflight, res.Rate, res.P50us, res.P99us)
		}
	}
}

func TestRunTimeWindow(t *testing.T) {
	url := testServer(t, nil)
	cfg := loadConfig{url: url, conns: 3, inflight: 4, warmup: 100 * time.Millisecond, duration: 300 * time.Millisecond, seed: 1}
	res, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Replies == 0 || res.Seconds < 0.29 || res.Seconds > 1 {
		t.Errorf("%d replies in %v s", res.Replies, res.Seconds)
	}
}

func TestRunCatchesWrongReplies(t *testing.T) {
	url := testServer(t, func(n int, reply []byte) [][]byte {
		if n == 37 {
			reply = bytes.Replace(reply, []byte(`"user":"`), []byte(`"user":"x`), 1)
			reply = bytes.Replace(reply, []byte(`"Field required"`), []byte(`"field required"`), 1)
		}
		return [][]byte{reply}
	})
	for _, inflight := range []int{1, 16} {
		res, err := runLoad(context.Background(), countConfig(url, inflight))
		if err != nil {
			t.Fatalf("inflight %d: %v", inflight, err)
		}
		if res.Failures != 2 || res.Replies != 398 {
			t.Errorf("inflight %d: %d failures, %d replies; want 2 and 398", inflight, res.Failures, res.Replies)
		}
	}
}

func TestRunAcceptsReorderedReplies(t *testing.T) {
	var held []byte
	url := testServer(t, func(n int, reply []byte) [][]byte {
		// Answer requests 10 and 11 of each connection in reverse order.
		switch n {
		case 10:
			held = reply
			return nil
		case 11:
			return [][]byte{reply, held}
		}
		return [][]byte{reply}
	})
	cfg := countConfig(url, 16)
	cfg.conns = 1
	res, err := runLoad(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failures != 0 || res.Replies != 400 || res.Reordered != 1 {
		t.Errorf("%d failures, %d replies, %d reordered; want 0, 400, 1", res.Failures, res.Replies, res.Reordered)
	}
}

func TestRunCatchesMissingReplies(t *testing.T) {
	url := testServer(t, func(n int, reply []byte) [][]byte {
		if n == 5 {
			return nil
		}
		return [][]byte{reply}
	})
	for _, inflight := range []int{1, 16} {
		cfg := countConfig(url, inflight)
		cfg.timeout = time.Second
		if _, err := runLoad(context.Background(), cfg); err == nil {
			t.Errorf("inflight %d: a missing reply went unnoticed", inflight)
		}
	}
}

// TestRunCompression drives a coder/websocket server that compresses with
// the client that offers permessage-deflate, on messages long enough to be
// compressed both ways.
func TestRunCompression(t *testing.T) {
	h := chat.NewHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := cws.Accept(w, r, &cws.AcceptOptions{CompressionMode: cws.CompressionContextTakeover})
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			_, data, err := c.Read(r.Context())
			if err != nil {
				return
			}
			out, err := h.Handle(data)
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), cws.MessageText, out); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	long, err := parseShape("470-500", true)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		compression, ext string
	}{
		{"", ""},
		{"disabled", ""},
		{"no-context-takeover", "permessage-deflate; client_no_context_takeover; server_no_context_takeover"},
		{"context-takeover", "permessage-deflate"},
	} {
		for _, inflight := range []int{1, 16} {
			cfg := countConfig(url, inflight)
			cfg.compression, cfg.shape = tt.compression, long
			res, err := runLoad(context.Background(), cfg)
			if err != nil {
				t.Fatalf("%q, inflight %d: %v", tt.compression, inflight, err)
			}
			if res.Replies != 400 || res.Failures != 0 || res.Extensions != tt.ext || res.Scenario != scenario(2, inflight, long) {
				t.Errorf("%q, inflight %d: %d replies, %d failures, extensions %q, scenario %q; want 400, 0, %q",
					tt.compression, inflight, res.Replies, res.Failures, res.Extensions, res.Scenario, tt.ext)
			}
		}
	}
}

// TestIOCounters checks that the write system calls of a process are
// counted: 50 writes to a file are 50 more.
func TestIOCounters(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before, err := ioOf(0)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := f.Write([]byte("0123456789")); err != nil {
			t.Fatal(err)
		}
	}
	after, err := ioOf(0)
	if err != nil {
		t.Fatal(err)
	}
	// Other goroutines of the test binary may write too, but not fewer.
	if d := after.Writes - before.Writes; d < 50 || d > 60 {
		t.Errorf("%d more write system calls, want 50", d)
	}
	if d := after.WriteBytes - before.WriteBytes; d < 500 {
		t.Errorf("%d more bytes written, want at least 500", d)
	}
}
