// Command echo is the transport ceiling: coder/websocket sending every frame
// back unchanged, with no JSON and no validation.
package main

import (
	"bytes"
	"net/http"

	"github.com/coder/websocket"

	"github.com/cafeto-go/ws/bench/internal/serve"
)

func main() {
	serve.Run("echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(serve.ReadLimit)

		ctx := r.Context()
		var buf bytes.Buffer
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(rd); err != nil {
				return
			}
			if err := c.Write(ctx, typ, buf.Bytes()); err != nil {
				return
			}
		}
	}))
}
