package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/cafeto-go/ws/bench/internal/chat"
)

// TestMain lets the test binary be its own scale worker: runScale starts
// os.Executable with "scale-worker".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "scale-worker" {
		if err := scaleWorker(context.Background(), os.Args[2:]); err != nil {
			log.Fatal(err)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// roomServer answers the chat workload on /ws, keeps every connection in
// one room and, on POST /broadcast?seq=N, sends the push to the first
// reach members (all when reach is 0) and answers with the count it claims.
func roomServer(t *testing.T, reach int, claim func(members int) int) string {
	t.Helper()
	h := chat.NewHandler()
	var upgrader websocket.Upgrader
	var mu sync.Mutex
	var room []*websocket.Conn
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		mu.Lock()
		room = append(room, c)
		mu.Unlock()
		defer func() {
			mu.Lock()
			room = slices.DeleteFunc(room, func(m *websocket.Conn) bool { return m == c })
			mu.Unlock()
		}()
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			out, err := h.Handle(data)
			if err != nil {
				return
			}
			mu.Lock()
			err = c.WriteMessage(websocket.TextMessage, out)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	mux.HandleFunc("POST /broadcast", func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.Atoi(r.URL.Query().Get("seq"))
		mu.Lock()
		defer mu.Unlock()
		n := len(room)
		for i, c := range room {
			if reach > 0 && i >= reach {
				break
			}
			c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"statusCode":200,"body":{"seq":%d}}`, seq))
		}
		fmt.Fprintln(w, claim(n))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func scaleTestConfig(url string) scaleConfig {
	return scaleConfig{url: url, pid: os.Getpid(), conns: 30, perWorker: 12, parallel: 4, settle: 10 * time.Millisecond,
		idle: 50 * time.Millisecond, broadcasts: 2, wait: 500 * time.Millisecond, timeout: 30 * time.Second, firstSrc: 2}
}

func TestScale(t *testing.T) {
	same := func(n int) int { return n }
	res, err := runScale(context.Background(), scaleTestConfig(roomServer(t, 0, same)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Workers != 3 || res.Conns != 30 || res.Failures != 0 {
		t.Fatalf("workers %d, conns %d, failures %d; want 3, 30, 0", res.Workers, res.Conns, res.Failures)
	}
	if len(res.BroadcastMs) != 2 || res.DeliveriesPerSec <= 0 || res.AcceptSec <= 0 || res.IdleSec <= 0 || res.BaseKiB <= 0 {
		t.Fatalf("figures missing: %+v", res)
	}
}

func TestScaleCatchesAMemberMissed(t *testing.T) {
	cfg := scaleTestConfig(roomServer(t, 29, func(n int) int { return n }))
	cfg.broadcasts = 1
	_, err := runScale(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "reached") {
		t.Fatalf("a broadcast that missed a member: got %v", err)
	}
}

func TestScaleCatchesAWrongRoom(t *testing.T) {
	cfg := scaleTestConfig(roomServer(t, 0, func(n int) int { return n - 1 }))
	_, err := runScale(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "members, want 30") {
		t.Fatalf("a room that lacks a member: got %v", err)
	}
}

func TestSourceAddr(t *testing.T) {
	for n, want := range map[int]string{2: "127.0.0.2", 255: "127.0.0.255", 256: "127.0.1.0", 300: "127.0.1.44", 70000: "127.1.17.112"} {
		if got := sourceAddr(n); got != want {
			t.Errorf("sourceAddr(%d) = %s, want %s", n, got, want)
		}
	}
}
