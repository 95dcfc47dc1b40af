// Command hubroom is ws.Callback serving the workload with every
// connection a member of one hub room, "all", for the scale mode of the
// load generator (loadgen scale, bench/scale.sh). POST /broadcast?seq=N
// broadcasts {"statusCode":200,"body":{"seq":N}} to the room through the
// hub and answers with the number of members once the frames are queued.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strconv"

	ws "github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"

	"github.com/cafeto-go/ws/bench/internal/serve"
)

// room holds every connection.
const room = "all"

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

// Push is the body of a broadcast.
type Push struct {
	Seq int `json:"seq"`
}

func main() {
	h := hub.New()
	defer h.Close()
	chat := ws.Callback(
		func(_ context.Context, conn *ws.Conn) error { return h.Join(conn, room) },
		func(_ context.Context, in ChatRequest) (ChatResponse, error) { return ChatResponse(in), nil },
		func(_ context.Context, conn *ws.Conn, _ error) { h.LeaveAll(conn) },
	)
	broadcast := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		seq, err := strconv.Atoi(r.URL.Query().Get("seq"))
		if err != nil {
			http.Error(w, "seq: want an integer", http.StatusBadRequest)
			return
		}
		if err := h.Broadcast(r.Context(), room, ws.Ok(Push{Seq: seq})); err != nil {
			log.Printf("hubroom: broadcast: %v", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, h.Count(room))
	})
	serve.RunRoutes("hubroom", map[string]http.Handler{"/ws": chat, "/broadcast": broadcast})
}
