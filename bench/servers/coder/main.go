// Command coder is the hand-written baseline: coder/websocket,
// encoding/json and validator/v10, without the ws package.
package main

import (
	"bytes"
	"net/http"

	"github.com/coder/websocket"

	"github.com/cafeto-go/ws/bench/internal/chat"
	"github.com/cafeto-go/ws/bench/internal/serve"
)

func main() {
	h := chat.NewHandler()
	serve.Run("coder", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(serve.ReadLimit)

		ctx := r.Context()
		var buf bytes.Buffer
		for {
			_, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(rd); err != nil {
				return
			}
			out, err := h.Handle(buf.Bytes())
			if err != nil {
				c.Close(websocket.StatusInternalError, "")
				return
			}
			if err := c.Write(ctx, websocket.MessageText, out); err != nil {
				return
			}
		}
	}))
}
