// Command gorilla is the same hand-written workload on gorilla/websocket.
package main

import (
	"bytes"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/cafeto-go/ws/bench/internal/chat"
	"github.com/cafeto-go/ws/bench/internal/serve"
)

func main() {
	h := chat.NewHandler()
	var upgrader websocket.Upgrader
	serve.Run("gorilla", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(serve.ReadLimit)

		var buf bytes.Buffer
		for {
			_, rd, err := c.NextReader()
			if err != nil {
				return
			}
			buf.Reset()
			if _, err := buf.ReadFrom(rd); err != nil {
				return
			}
			out, err := h.Handle(buf.Bytes())
			if err != nil {
				return
			}
			if err := c.WriteMessage(websocket.TextMessage, out); err != nil {
				return
			}
		}
	}))
}
