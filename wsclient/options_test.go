package wsclient_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

// countingTransport counts the requests it carries.
type countingTransport struct{ n atomic.Int32 }

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	r := ws.NewRouter()
	ws.On(r, "whoami", func(ctx context.Context, in struct{}) (string, error) {
		return ws.ConnFromContext(ctx).Request().Header.Get("Authorization"), nil
	})
	ws.On(r, "big", func(ctx context.Context, n int) (string, error) { return strings.Repeat("x", n), nil })
	srv := wstest.NewServer(t, r)
	ctx := t.Context()

	// The header and the HTTP client make the handshake.
	var transport countingTransport
	c := srv.Dial(t, "", wsclient.WithHeader(http.Header{"Authorization": {"Bearer t0k3n"}}),
		wsclient.WithHTTPClient(&http.Client{Transport: &transport}))
	who, err := wsclient.Call[string](ctx, c, "whoami", struct{}{})
	equal(t, "header", who, "Bearer t0k3n")
	equal(t, "error", err, nil)
	equal(t, "handshakes through the client", transport.n.Load(), 1)

	// A reply over the read limit ends the connection with 1009.
	c = srv.Dial(t, "", wsclient.WithReadLimit(100))
	if s, err := wsclient.Call[string](ctx, c, "big", 50); err != nil || len(s) != 50 {
		t.Fatalf("big(50) = %d bytes, %v", len(s), err)
	}
	_, err = wsclient.Call[string](ctx, c, "big", 200)
	if !errors.Is(err, wsclient.ErrConnectionLost) || websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("big(200) = %v, want ErrConnectionLost with 1009", err)
	}
}
