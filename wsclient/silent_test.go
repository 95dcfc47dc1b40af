package wsclient_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
)

// silent completes the WebSocket handshake, then neither reads nor writes
// anything until the test ends: a server that hangs.
func silent(t *testing.T) *wstest.Server {
	done := make(chan struct{})
	srv := wstest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		brw.Flush()
		<-done
	}))
	t.Cleanup(func() { close(done) })
	return srv
}

// A server that does not answer pings is dropped.
func TestPingTimeout(t *testing.T) {
	t.Parallel()
	c := silent(t).Dial(t, "", wsclient.WithPingInterval(20*time.Millisecond))
	<-c.Done()
	if err := c.Err(); !errors.Is(err, wsclient.ErrConnectionLost) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Err = %v, want ErrConnectionLost and os.ErrDeadlineExceeded", err)
	}
}

// A server that does not read is dropped once a write has waited for the
// write timeout.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	c := silent(t).Dial(t, "", wsclient.WithPingInterval(0), wsclient.WithWriteTimeout(50*time.Millisecond))
	big := strings.Repeat("x", 1<<20)
	for i := range 1000 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		_, err := wsclient.Call[string](ctx, c, "big", big)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			continue // written; the reply will never come
		}
		if !errors.Is(err, wsclient.ErrConnectionLost) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("call %d: %v, want ErrConnectionLost and os.ErrDeadlineExceeded", i, err)
		}
		t.Logf("dropped at call %d", i)
		return
	}
	t.Fatal("1000 MiB written to a server that reads nothing")
}
