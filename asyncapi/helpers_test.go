package asyncapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/internal/leaktest"
)

func TestMain(m *testing.M) { leaktest.Main(m, 5*time.Second) }

// The chat the documents describe: the events of the root's Router tests,
// with the same types, so that the generated clients keep their names.

type SendRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

type ChatMessage struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

type HistoryRequest struct {
	Limit int `json:"limit" validate:"gte=0,lte=100"`
}

type WatchRequest struct {
	Count int    `json:"count" validate:"gte=0"`
	Fail  string `json:"fail"`
}

type Tag struct {
	Name string `json:"name" validate:"required,max=5"`
}

type rtChat struct{}

func newRtChat() *rtChat { return &rtChat{} }

// newRtRouter returns the chat's Router: chat.send, chat.history, the
// chat.watch stream, chat.create (a 201) and the chat.message push.
func newRtRouter(*rtChat) *ws.Router {
	r := ws.NewRouter()
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) { return ChatMessage(in), nil })
	ws.On(r, "chat.history", func(ctx context.Context, in HistoryRequest) ([]ChatMessage, error) {
		out := []ChatMessage{}
		for i := range in.Limit {
			out = append(out, ChatMessage{Message: fmt.Sprint(i), User: "history"})
		}
		return out, nil
	})
	ws.Stream(r, "chat.watch", func(ctx context.Context, in WatchRequest, send func(ChatMessage) error) error {
		for i := range in.Count {
			if err := send(ChatMessage{Message: fmt.Sprint(i), User: "watch"}); err != nil {
				return err
			}
		}
		return nil
	})
	ws.On(r, "chat.create", func(ctx context.Context, in SendRequest) (ws.StatusEnvelope[ChatMessage], error) {
		return ws.Created(ChatMessage(in)), nil
	})
	ws.Emits[ChatMessage](r, "chat.message")
	return r
}

// catch returns the message of fn's panic, or "".
func catch(fn func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	fn()
	return ""
}
