// Command cafeto serves the workload with this module's ws.Callback.
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
	serve.Run("cafeto", ws.Callback(nil, func(_ context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	}, nil))
}
