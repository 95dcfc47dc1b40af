package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
)

// exampleUserKey is the context key under which requireToken leaves the
// user.
type exampleUserKey struct{}

// requireToken is ordinary net/http middleware: a request without a known
// bearer token gets 401 before any upgrade; otherwise the user rides on the
// request context.
func requireToken(next http.Handler) http.Handler {
	users := map[string]string{"Bearer token-of-ana": "ana"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := users[r.Header.Get("Authorization")]
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), exampleUserKey{}, user)))
	})
}

// Authentication is net/http middleware in front of the handler: it answers
// 401 before the upgrade, and the user it finds reaches every callback
// through the context.
func ExampleCallback_auth() {
	type Hello struct {
		Text string `json:"text" validate:"required"`
	}
	chat := ws.Callback(
		func(ctx context.Context, conn *ws.Conn) error {
			fmt.Println("connected:", ctx.Value(exampleUserKey{}))
			return nil
		},
		func(ctx context.Context, in Hello) (string, error) {
			return fmt.Sprintf("%s says %s", ctx.Value(exampleUserKey{}), in.Text), nil
		},
		nil,
	)
	mux := http.NewServeMux()
	mux.Handle("GET /chat", requireToken(chat))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	// Without a token: 401, and no connection.
	_, resp, err := websocket.Dial(ctx, srv.URL+"/chat", nil)
	fmt.Println(resp.StatusCode, err != nil)
	resp.Body.Close()

	// With one.
	c, _, err := websocket.Dial(ctx, srv.URL+"/chat", &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer token-of-ana"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"text":"hi"}`))
	_, reply, _ := c.Read(ctx)
	fmt.Println(string(reply))
	c.Close(websocket.StatusNormalClosure, "")

	// Output:
	// 401 true
	// connected: ana
	// {"statusCode":200,"body":"ana says hi"}
}
