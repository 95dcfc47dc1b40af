package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/go-playground/validator/v10"
)

// Describe reports a Router's client events, then its pushes, each in the
// order they were registered, with their types and the validator; a
// StatusEnvelope result is reported as its body, with AnyStatus.
func TestDescribeRouter(t *testing.T) {
	t.Parallel()
	type in struct {
		N int `json:"n"`
	}
	type out struct{ S string }
	v := validator.New()
	r := ws.NewRouter(ws.WithValidator(v))
	ws.On(r, "b.req", func(ctx context.Context, v in) (out, error) { return out{}, nil })
	ws.Stream(r, "a.stream", func(ctx context.Context, v *in, send func([]out) error) error { return nil })
	ws.Emits[out](r, "z.push")
	ws.Emits[int](r, "b.req")
	ws.On(r, "a.req", func(ctx context.Context, v string) (ws.StatusEnvelope[out], error) { return ws.Ok(out{}), nil })
	ws.On(r, "c.any", func(ctx context.Context, v string) (any, error) { return nil, nil })

	events, ok := ws.Describe(r)
	if !ok {
		t.Fatal("Describe does not know a Router")
	}
	typ := reflect.TypeFor[in]
	want := []ws.Event{
		{Name: "b.req", Request: typ(), Reply: reflect.TypeFor[out](), Validator: v},
		{Name: "a.stream", Request: reflect.TypeFor[*in](), Item: reflect.TypeFor[[]out](), Validator: v},
		{Name: "a.req", Request: reflect.TypeFor[string](), Reply: reflect.TypeFor[out](), AnyStatus: true, Validator: v},
		{Name: "c.any", Request: reflect.TypeFor[string](), Reply: reflect.TypeFor[any](), AnyStatus: true, Validator: v},
		{Name: "z.push", Push: true, Reply: reflect.TypeFor[out]()},
		{Name: "b.req", Push: true, Reply: reflect.TypeFor[int]()},
	}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("events:\n got %+v\nwant %+v", events, want)
	}
}

// Describe reports a Callback as one event without a name, and knows
// nothing of a Handler or of another http.Handler.
func TestDescribeOthers(t *testing.T) {
	t.Parallel()
	cb := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ws.StatusEnvelope[ChatResponse], error) {
		return ws.Ok(ChatResponse{}), nil
	}, nil)
	events, ok := ws.Describe(cb)
	want := []ws.Event{{Request: reflect.TypeFor[ChatRequest](), Reply: reflect.TypeFor[ChatResponse](), AnyStatus: true}}
	if !ok || len(events) != 1 || events[0].Validator == nil {
		t.Fatalf("Callback: %+v, %v", events, ok)
	}
	events[0].Validator = nil
	if !reflect.DeepEqual(events, want) {
		t.Errorf("Callback:\n got %+v\nwant %+v", events, want)
	}
	h := ws.Handler(func(ctx context.Context, conn *ws.Conn) error { return nil })
	for name, h := range map[string]http.Handler{"Handler": h, "ServeMux": http.NewServeMux(), "nil": nil} {
		if events, ok := ws.Describe(h); ok || events != nil {
			t.Errorf("%s: Describe = %v, %v", name, events, ok)
		}
	}
}

func ExampleDescribe() {
	type SendRequest struct {
		Message string `json:"message" validate:"required"`
	}
	type ChatMessage struct {
		Message string `json:"message"`
	}
	r := ws.NewRouter()
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (ChatMessage, error) {
		return ChatMessage(in), nil
	})
	ws.Emits[ChatMessage](r, "chat.message")

	events, _ := ws.Describe(r)
	for _, e := range events {
		if e.Push {
			fmt.Printf("pushes %s: %v\n", e.Name, e.Reply)
			continue
		}
		fmt.Printf("on %s: %v → %v\n", e.Name, e.Request, e.Reply)
	}
	// Output:
	// on chat.send: ws_test.SendRequest → ws_test.ChatMessage
	// pushes chat.message: ws_test.ChatMessage
}
