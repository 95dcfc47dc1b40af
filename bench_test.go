package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/go-playground/validator/v10"
)

// The benchmarks compare ws.Callback with the loop a Go developer writes by
// hand on coder/websocket, encoding/json and validator for the same job:
// decode a chat message, validate it, answer with an envelope, and a 400
// errorList for the one message in twenty that misses its user.

type benchRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

type envelope struct {
	StatusCode int `json:"statusCode"`
	Body       any `json:"body"`
}

type errorItem struct {
	Loc  []any  `json:"loc"`
	Type string `json:"type"`
	Msg  string `json:"msg"`
}

var benchValidate = validator.New(validator.WithRequiredStructEnabled())

// handWritten is the baseline: coder/websocket, encoding/json and
// validator, the way their documentation shows them.
func handWritten(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	ctx := context.Background()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return
		}
		var req benchRequest
		if err := json.Unmarshal(data, &req); err != nil {
			wsjson.Write(ctx, c, envelope{400, map[string]any{"errorList": []errorItem{{Loc: []any{}, Type: "json_invalid", Msg: "Invalid JSON"}}}})
			continue
		}
		if err := benchValidate.Struct(&req); err != nil {
			var verrs validator.ValidationErrors
			errors.As(err, &verrs)
			list := make([]errorItem, 0, len(verrs))
			for _, fe := range verrs {
				typ, msg := "missing", "Field required"
				if fe.Tag() == "max" {
					typ, msg = "string_too_long", "String should have at most "+fe.Param()+" characters"
				}
				list = append(list, errorItem{Loc: []any{strings.ToLower(fe.Field())}, Type: typ, Msg: msg})
			}
			wsjson.Write(ctx, c, envelope{400, map[string]any{"errorList": list}})
			continue
		}
		wsjson.Write(ctx, c, envelope{200, ChatResponse(req)})
	}
}

func callbackHandler() http.Handler {
	return ws.Callback(nil, func(ctx context.Context, in benchRequest) (ChatResponse, error) {
		return ChatResponse(in), nil
	}, nil)
}

// benchMessages returns twenty messages, one of them invalid, with the
// replies the servers must give.
func benchMessages() (msgs, replies [][]byte) {
	for i := range 20 {
		if i == 7 {
			msgs = append(msgs, []byte(`{"message":"where did my user name go, it was here a second ago"}`))
			replies = append(replies, []byte(`{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`))
			continue
		}
		m := fmt.Sprintf(`{"message":"a chat message of a realistic length, number %03d","user":"user%02d"}`, i, i)
		msgs = append(msgs, []byte(m))
		replies = append(replies, []byte(fmt.Sprintf(`{"statusCode":200,"body":%s}`, m)))
	}
	return msgs, replies
}

// runBench sends b.N messages with depth of them in flight and checks every
// reply.
func runBench(b *testing.B, h http.Handler, depth int) {
	msgs, replies := benchMessages()
	runBenchMessages(b, h, depth, msgs, replies)
}

// runBenchMessages sends b.N of msgs, in turn, and checks every reply.
func runBenchMessages(b *testing.B, h http.Handler, depth int, msgs, replies [][]byte) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	buf := make([]byte, 0, 512)
	read := func(i int) {
		_, r, err := c.Reader(ctx)
		if err != nil {
			b.Fatal(err)
		}
		buf = buf[:0]
		for {
			if len(buf) == cap(buf) {
				buf = append(buf, 0)[:len(buf)]
			}
			n, err := r.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		buf = bytes.TrimSuffix(buf, []byte("\n")) // wsjson.Write ends with one
		if want := replies[i%len(replies)]; string(buf) != string(want) {
			b.Fatalf("reply %d: %s, want %s", i, buf, want)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	sent, got := 0, 0
	for got < b.N {
		for sent < b.N && sent-got < depth {
			if err := c.Write(ctx, websocket.MessageText, msgs[sent%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		read(got)
		got++
	}
	b.StopTimer()
	c.Close(websocket.StatusNormalClosure, "")
}

func BenchmarkRoundTrip(b *testing.B) {
	for _, depth := range []int{1, 16} {
		b.Run(fmt.Sprintf("server=callback/inflight=%d", depth), func(b *testing.B) {
			runBench(b, callbackHandler(), depth)
		})
		b.Run(fmt.Sprintf("server=handwritten/inflight=%d", depth), func(b *testing.B) {
			runBench(b, http.HandlerFunc(handWritten), depth)
		})
	}
}
