// Command events serves several typed events on one WebSocket: requests
// with replies, a server stream, and pushes to the other clients.
//
//	go run ./examples/events
package main

import (
	"context"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
)

type SendRequest struct {
	Message string `json:"message" validate:"required,max=500"`
}

type HistoryRequest struct {
	Limit int `json:"limit" validate:"omitempty,min=1,max=50"`
}

type WatchRequest struct {
	Every int `json:"every" validate:"required,min=100"` // milliseconds
}

type ChatMessage struct {
	User    string    `json:"user"`
	Message string    `json:"message"`
	Time    time.Time `json:"time"`
}

type Stats struct {
	Online int `json:"online"`
}

// Chat is a controller: one method per event, shared by all connections.
type Chat struct {
	hub *hub.Hub

	mu      sync.Mutex
	history []ChatMessage // the last 50
}

func (c *Chat) Connect(ctx context.Context, conn *ws.Conn) error {
	return c.hub.Join(conn, "lobby") // the hub leaves the room by itself when conn ends
}

func (c *Chat) Send(ctx context.Context, in SendRequest) (ChatMessage, error) {
	conn := ws.ConnFromContext(ctx)
	user := conn.Request().URL.Query().Get("user")
	if strings.TrimSpace(user) == "" {
		return ChatMessage{}, ws.Unauthorized("connect with ?user=<your name>")
	}
	msg := ChatMessage{User: user, Message: in.Message, Time: time.Now().UTC()}
	c.mu.Lock()
	c.history = append(c.history[max(0, len(c.history)-49):], msg)
	c.mu.Unlock()
	err := c.hub.BroadcastExcept(ctx, "lobby", conn, ws.Push("chat.message", msg))
	return msg, err
}

func (c *Chat) History(ctx context.Context, in HistoryRequest) ([]ChatMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.history)
	if in.Limit > 0 {
		n = min(n, in.Limit)
	}
	return append([]ChatMessage(nil), c.history[len(c.history)-n:]...), nil
}

// Watch sends the room's stats every in.Every milliseconds until the client
// sends $cancel or goes away: both cancel ctx.
func (c *Chat) Watch(ctx context.Context, in WatchRequest, send func(Stats) error) error {
	t := time.NewTicker(time.Duration(in.Every) * time.Millisecond)
	defer t.Stop()
	for {
		if err := send(Stats{Online: c.hub.Count("lobby")}); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func main() {
	log.Print("events on ws://localhost:8080/ws?user=ana")
	srv := &http.Server{Addr: "localhost:8080", Handler: newMux(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func newMux() *http.ServeMux {
	chat := &Chat{hub: hub.New()}

	r := ws.NewRouter()
	r.OnConnect(chat.Connect)
	ws.On(r, "chat.send", chat.Send)
	ws.On(r, "chat.history", chat.History)
	ws.Stream(r, "chat.watch", chat.Watch)
	ws.Emits[ChatMessage](r, "chat.message")

	mux := http.NewServeMux()
	mux.Handle("GET /ws", r)
	return mux
}
