// Command cafeto serves the workload with this module's ws.Callback.
// -compression turns on permessage-deflate (ws.WithCompression) for the
// clients that offer it.
package main

import (
	"context"
	"flag"
	"log"

	ws "github.com/cafeto-go/ws"
	"github.com/coder/websocket"

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

var modes = map[string]websocket.CompressionMode{
	"disabled":            websocket.CompressionDisabled,
	"no-context-takeover": websocket.CompressionNoContextTakeover,
	"context-takeover":    websocket.CompressionContextTakeover,
}

func main() {
	compression := flag.String("compression", "disabled", "permessage-deflate: disabled, no-context-takeover or context-takeover")
	flag.Parse()
	mode, ok := modes[*compression]
	if !ok {
		log.Fatalf("cafeto: -compression %q: want disabled, no-context-takeover or context-takeover", *compression)
	}
	serve.Run("cafeto", ws.Callback(nil, func(_ context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	}, nil, ws.WithCompression(mode)))
}
