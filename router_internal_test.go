package ws

import (
	"context"
	"reflect"
	"testing"
)

// The Router describes itself for the API's description: its client events
// and its pushes, each in registration order, with their types.
func TestRouterRoutes(t *testing.T) {
	type in struct {
		N int `json:"n"`
	}
	type out struct{ S string }
	r := NewRouter()
	On(r, "b.req", func(ctx context.Context, v in) (out, error) { return out{}, nil })
	Stream(r, "a.stream", func(ctx context.Context, v *in, send func([]out) error) error { return nil })
	Emits[out](r, "z.push")
	Emits[int](r, "b.req")
	On(r, "a.req", func(ctx context.Context, v string) (StatusEnvelope[out], error) { return Ok(out{}), nil })

	events, pushes := r.routes()
	typ := reflect.TypeFor[in]
	want := []routeInfo{
		{name: "b.req", req: typ(), resp: reflect.TypeFor[out]()},
		{name: "a.stream", req: reflect.TypeFor[*in](), item: reflect.TypeFor[[]out]()},
		{name: "a.req", req: reflect.TypeFor[string](), resp: reflect.TypeFor[StatusEnvelope[out]]()},
	}
	if !reflect.DeepEqual(events, want) {
		t.Errorf("events:\n got %+v\nwant %+v", events, want)
	}
	wantPushes := []pushInfo{{name: "z.push", body: reflect.TypeFor[out]()}, {name: "b.req", body: reflect.TypeFor[int]()}}
	if !reflect.DeepEqual(pushes, wantPushes) {
		t.Errorf("pushes:\n got %+v\nwant %+v", pushes, wantPushes)
	}
}
