package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// call sends one Router request and returns the reply's status.
func call(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// Pushes (chat.message, chat.typing) carry no id.
		if m := regexp.MustCompile(`^\{"id":\d+,"event":"[a-z.]+","statusCode":(\d+)`).FindSubmatch(data); m != nil {
			return string(m[1])
		}
	}
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return string(body)
}

// value returns the value of the sample whose name and labels match.
func value(t *testing.T, metrics, name string, labels ...string) string {
	t.Helper()
	for _, line := range strings.Split(metrics, "\n") {
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		lbls, v, _ := strings.Cut(rest, "} ")
		match := true
		for _, l := range labels {
			match = match && strings.Contains(","+lbls+",", ","+l+",")
		}
		if match {
			return v
		}
	}
	t.Fatalf("no %s{%s} in:\n%s", name, strings.Join(labels, ","), metrics)
	return ""
}

// The chat's messages show in the Prometheus text: chat.send's 200s and
// its 429s once over the rate limit, the join, live connections, and the
// connection's end by close code.
func TestMetrics(t *testing.T) {
	var conns ws.Group
	srv, err := newServer(&conns, true)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler)
	defer hs.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, hs.URL+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()

	if got := call(t, c, `{"event":"chat.join","id":0,"data":{"user":"Ana"}}`); got != "200" {
		t.Fatalf("join: %s", got)
	}
	sent := map[string]int{}
	for i := 1; sent["429"] == 0; i++ {
		if i == 40 {
			t.Fatal("no 429 after 40 messages")
		}
		sent[call(t, c, fmt.Sprintf(`{"event":"chat.send","id":%d,"data":{"message":"m%d"}}`, i, i))]++
	}
	m := scrape(t, hs.URL)
	const calls = "rpc_server_call_duration_seconds_count"
	for status, n := range sent {
		if got := value(t, m, calls, `rpc_method="chat.send"`, `rpc_response_status_code="`+status+`"`); got != fmt.Sprint(n) {
			t.Errorf("chat.send %s: %s, want %d", status, got, n)
		}
	}
	if got := value(t, m, calls, `rpc_method="chat.join"`, `rpc_response_status_code="200"`); got != "1" {
		t.Errorf("chat.join: %s", got)
	}
	if got := value(t, m, "websocket_server_active_connections"); got != "1" {
		t.Errorf("live connections: %s", got)
	}

	c.Close(websocket.StatusNormalClosure, "")
	// Wait until the server has released the connection; the bound only
	// keeps a broken test from hanging.
	for start := time.Now(); value(t, scrape(t, hs.URL), "websocket_server_active_connections") != "0"; {
		if time.Since(start) > 20*time.Second {
			t.Fatal("the connection is still counted as live")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := value(t, scrape(t, hs.URL), "websocket_server_closed_connections_total", `websocket_close_code="1000"`); got != "1" {
		t.Errorf("closed with 1000: %s", got)
	}
}
