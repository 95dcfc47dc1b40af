// Package chatapp is the chat of examples/chat: one room served in the
// shapes of this module side by side, and its page. GET /ws is a
// [ws.Router] of typed events (join, send, history, typing, and a stream of
// the room's stats), the page's endpoint; GET /chat is a [ws.Callback]
// (one request type, one reply type) in the same room; GET /echo is a
// [ws.Handler], the traditional loop. GET /asyncapi.json describes them
// ([Document]) and GET /docs documents them ([asyncapi.DocsPage]); the page talks
// to GET /ws through the client wsgen-ts generates from that document
// (static/client.js). It is a package of its own so that
// natsbroker/chatnats serves the same app with its rooms shared over NATS.
package chatapp

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
	"github.com/cafeto-go/ws/hub"
	"github.com/go-playground/validator/v10"
)

//go:embed static
var static embed.FS

// Serve serves the chat on addr until ctx is done, then shuts down
// gracefully: it stops accepting, closes every WebSocket connection with
// 1001 (going away) and waits for their Disconnect callbacks. Requests
// must name this server in their Host header: localhost, 127.0.0.1 or
// [::1], or one of hosts ([PinHosts]). opts are added to the options of
// the Callback and the Router.
func Serve(ctx context.Context, addr string, hosts []string, h *hub.Hub, opts ...ws.CallbackOption) error {
	var conns ws.Group
	return Run(ctx, addr, NewServer(&conns, h, hosts, opts...), &conns)
}

// Run serves srv on addr until ctx is done, then shuts down gracefully as
// [Serve] does, with the WebSocket connections of conns.
func Run(ctx context.Context, addr string, srv *http.Server, conns *ws.Group) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("chat listening on http://%s", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	log.Print("shutting down")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(srv.Shutdown(ctx), conns.Shutdown(ctx))
}

// NewServer returns the chat's HTTP server, with [NewMux] as its handler,
// served only to requests whose Host names localhost, 127.0.0.1, [::1] or
// one of hosts ([PinHosts]). A client has 10 s to send a request's
// headers, and a keep-alive connection idle for 60 s is closed; WebSocket
// connections, taken over from the server, have their own ping and write
// timeouts instead.
func NewServer(conns *ws.Group, h *hub.Hub, hosts []string, opts ...ws.CallbackOption) *http.Server {
	return &http.Server{
		Handler:           PinHosts(NewMux(conns, h, opts...), append(slices.Clip(LocalHosts), hosts...)...),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
}

// NewMux serves the page, the room (its members kept in h) on GET /ws and
// GET /chat, the echo endpoint, their AsyncAPI document on
// GET /asyncapi.json ([Document]) and the page that documents them on
// GET /docs ([asyncapi.DocsPage]). Every WebSocket connection is tracked in conns
// for the graceful shutdown, and every endpoint is rate limited
// (limits.go). opts are added to the options of the Callback and the Router:
// interceptors, observers.
func NewMux(conns *ws.Group, h *hub.Hub, opts ...ws.CallbackOption) *http.ServeMux {
	mux, _ := newMux(conns, h, opts)
	return mux
}

// Document returns the AsyncAPI document of the chat's endpoints, the one
// [NewMux] serves. The page's client (static/client.js) is generated from
// it: go generate in this package writes it to asyncapi.json, then runs
// wsgen-ts.
func Document() *asyncapi.Document {
	_, doc := newMux(new(ws.Group), hub.New(), nil)
	return doc
}

func newMux(conns *ws.Group, h *hub.Hub, opts []ws.CallbackOption) (*http.ServeMux, *asyncapi.Document) {
	page, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	group, logger := ws.WithGroup(conns), ws.WithLogger(slog.Default())
	validated := append([]ws.CallbackOption{group, logger,
		ws.WithValidator(chatValidator()),
		ws.WithTagError("notblank", "string_blank", "String should not be blank"),
	}, opts...)
	routed := make([]ws.RouterOption, len(validated))
	for i, o := range validated {
		routed[i] = o
	}
	chat := NewChat(h, routed...)
	l := newLimits()
	callback := ws.Callback(chat.Connect, chat.Receive, chat.Disconnect, append(validated, l.post)...)
	loop := ws.Handler(echo, group, logger, l.echo)

	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0",
		Description: "One chat room in three shapes: a Router of typed events on /ws (the page's), a Callback on /chat, and an echo Handler on /echo."})
	doc.Add("/ws", chat.Router())
	doc.Add("/chat", callback)
	doc.Add("/echo", loop)

	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(page))
	mux.Handle("GET /ws", chat.Router())
	mux.Handle("GET /chat", callback)
	mux.Handle("GET /echo", loop)
	mux.Handle("GET /asyncapi.json", doc)
	mux.Handle("GET /docs", asyncapi.DocsPage(doc))
	return mux, doc
}

// chatValidator is the validator of the chat's requests: the package's
// default (required structs) and the custom tag notblank, which refuses a
// text made of spaces only. Its 400 is worded with [ws.WithTagError].
var chatValidator = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	if err := v.RegisterValidation("notblank", notBlank); err != nil {
		panic(err)
	}
	return v
})

// notBlank reports whether a string holds something other than white
// space.
func notBlank(fl validator.FieldLevel) bool {
	return strings.TrimSpace(fl.Field().String()) != ""
}

// echo is the traditional method: receive and send JSON yourself, with no
// envelope and no validation. As in Cafeto's loop, any error ends it,
// a message that is not JSON too, and the connection closes with 1000;
// but a message over the rate limit is answered with its 429, and the
// loop goes on (a client that keeps sending is closed with 1008).
func echo(ctx context.Context, conn *ws.Conn) error {
	// Your code on connect here.
	for {
		// Your code on receive here.
		var data any
		err := conn.ReceiveJSON(ctx, &data)
		if tooFast := (*ws.Error)(nil); errors.As(err, &tooFast) {
			if err := conn.SendJSON(ctx, tooFast); err != nil {
				return nil
			}
			continue
		}
		if err != nil {
			// Your code on disconnect here.
			return nil
		}

		// Send message.
		if err := conn.SendJSON(ctx, map[string]string{"Hola": "Mundo"}); err != nil {
			return nil
		}
	}
}
