package wsclient_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/coder/websocket"
)

// BenchmarkCall measures one call and its reply against a local Router:
// wsclient's Call beside the same exchange written by hand with
// coder/websocket (the message built by hand, the reply not decoded).
// The parallel case has 8 goroutines per core on one client and a server
// answering 8 at a time.
//
//	go test -run '^$' -bench BenchmarkCall -benchmem -count 6 ./wsclient
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	router := func(opts ...ws.RouterOption) *httptest.Server {
		r := ws.NewRouter(opts...)
		ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
			return ChatMessage{Message: in.Message, User: "ana"}, nil
		})
		return httptest.NewServer(r)
	}
	req := SendRequest{Message: "Hi there"}
	dial := func(b *testing.B, srv *httptest.Server) *wsclient.Client {
		c, err := wsclient.Dial(ctx, srv.URL)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c
	}

	b.Run("wsclient", func(b *testing.B) {
		srv := router()
		defer srv.Close()
		c := dial(b, srv)
		b.ReportAllocs()
		for b.Loop() {
			msg, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", req)
			if err != nil || msg.User != "ana" {
				b.Fatal(msg, err)
			}
		}
	})
	b.Run("coder", func(b *testing.B) {
		srv := router()
		defer srv.Close()
		c, _, err := websocket.Dial(ctx, srv.URL, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		b.ReportAllocs()
		id := 0
		for b.Loop() {
			id++
			msg := fmt.Appendf(nil, `{"event":"chat.send","id":%d,"data":{"message":"Hi there"}}`, id)
			if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
				b.Fatal(err)
			}
			if _, _, err := c.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wsclient-parallel", func(b *testing.B) {
		srv := router(ws.WithConcurrency(8))
		defer srv.Close()
		c := dial(b, srv)
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				msg, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", req)
				if err != nil || msg.User != "ana" {
					b.Error(msg, err)
					return
				}
			}
		})
	})
}
