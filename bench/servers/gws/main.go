// Command gws is the same hand-written workload on lxzan/gws.
package main

import (
	"net/http"

	"github.com/lxzan/gws"

	"github.com/cafeto-go/ws/bench/internal/chat"
	"github.com/cafeto-go/ws/bench/internal/serve"
)

type handler struct {
	gws.BuiltinEventHandler
	chat *chat.Handler
}

func (h *handler) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	out, err := h.chat.Handle(message.Bytes())
	if err != nil {
		socket.WriteClose(1011, nil)
		return
	}
	socket.WriteMessage(gws.OpcodeText, out)
}

func main() {
	upgrader := gws.NewUpgrader(&handler{chat: chat.NewHandler()}, &gws.ServerOption{
		ReadMaxPayloadSize: serve.ReadLimit,
	})
	serve.Run("gws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		socket, err := upgrader.Upgrade(w, r)
		if err != nil {
			return
		}
		socket.ReadLoop()
	}))
}
