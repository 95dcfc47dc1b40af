// Command router serves the workload as the event "chat.send" of this
// module's ws.Router: every request arrives as
// {"event":"chat.send","id":…,"data":<request>} and every reply echoes the
// id and the event before the status. Run the load generator with
// -event chat.send.
package main

import (
	"context"

	ws "github.com/cafeto-go/ws"

	"github.com/cafeto-go/ws/bench/internal/serve"
)

// ChatRequest is what a client sends.
type ChatRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

// ChatResponse is the body of a successful reply.
type ChatResponse struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

func main() {
	r := ws.NewRouter()
	ws.On(r, "chat.send", func(_ context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	})
	serve.Run("router", r)
}
