package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

func TestEvents(t *testing.T) {
	srv := httptest.NewServer(newMux())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(user string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws?user="+user, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	read := func(c *websocket.Conn) wstest.Frame {
		t.Helper()
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var f wstest.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return f
	}
	write := func(c *websocket.Conn, msg string) {
		t.Helper()
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	ana, bob := dial("ana"), dial("bob")

	// A stream first: its first item says both are online.
	write(bob, `{"event":"chat.watch","id":"w","data":{"every":100}}`)
	for f := read(bob); string(f.Body) != `{"online":2}`; f = read(bob) {
		if !f.More {
			t.Fatalf("stream ended: %+v", f)
		}
	}
	write(bob, `{"event":"$cancel","id":"w"}`)
	for f := read(bob); f.More; f = read(bob) {
	}

	write(ana, `{"event":"chat.send","id":1,"data":{"message":"hi"}}`)
	if f := read(ana); f.StatusCode != 200 || string(f.ID) != "1" || !strings.Contains(string(f.Body), `"user":"ana"`) {
		t.Fatalf("reply %+v", f)
	}
	if f := read(bob); f.Event != "chat.message" || f.ID != nil || !strings.Contains(string(f.Body), `"message":"hi"`) {
		t.Fatalf("push %+v", f)
	}
	write(bob, `{"event":"chat.history","id":2}`)
	if f := read(bob); f.StatusCode != 200 || !strings.Contains(string(f.Body), `"message":"hi"`) {
		t.Fatalf("history %+v", f)
	}
	write(ana, `{"event":"chat.send","id":3,"data":{}}`)
	if f := read(ana); f.StatusCode != 400 || !strings.Contains(string(f.Body), `"missing"`) {
		t.Fatalf("400 %+v", f)
	}
}
