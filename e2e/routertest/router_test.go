// Package routertest mounts ws handlers on routers other than the
// standard library's, behind their middleware.
package routertest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

type JoinRequest struct {
	User string `json:"user" validate:"required"`
}

// receive answers with the room named in the URL path, read through the
// connection's request.
func receive(param func(r *http.Request) string) func(context.Context, JoinRequest) (string, error) {
	return func(ctx context.Context, in JoinRequest) (string, error) {
		return in.User + " joined " + param(ws.ConnFromContext(ctx).Request()), nil
	}
}

func roundTrip(t *testing.T, url, msg string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, reply, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	return string(reply)
}

func TestChi(t *testing.T) {
	t.Parallel()
	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Logger, middleware.Recoverer)
	r.Method(http.MethodGet, "/rooms/{room}", ws.Callback(nil, receive(func(r *http.Request) string {
		return chi.URLParam(r, "room")
	}), nil))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	got := roundTrip(t, srv.URL+"/rooms/lobby", `{"user":"ana"}`)
	if want := `{"statusCode":200,"body":"ana joined lobby"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	got = roundTrip(t, srv.URL+"/rooms/lobby", `{}`)
	if want := `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestServeMuxPattern(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.Handle("GET /rooms/{room}", ws.Callback(nil, receive(func(r *http.Request) string {
		return r.PathValue("room")
	}), nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	got := roundTrip(t, srv.URL+"/rooms/games", `{"user":"bo"}`)
	if want := `{"statusCode":200,"body":"bo joined games"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
