package wsotel_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsotel"
	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

type SendRequest struct {
	Message string `json:"message" validate:"required"`
}

type WatchRequest struct {
	Count int `json:"count"`
}

// fixture is a Router instrumented with wsotel, behind a middleware that
// starts a span for the handshake, with in-memory readers.
type fixture struct {
	reader    *sdkmetric.ManualReader
	spans     *tracetest.SpanRecorder
	tel       *wsotel.Telemetry
	srv       *httptest.Server
	handshake chan trace.SpanContext
	ended     chan error
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		reader:    sdkmetric.NewManualReader(),
		spans:     tracetest.NewSpanRecorder(),
		handshake: make(chan trace.SpanContext, 4),
		ended:     make(chan error, 4),
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(f.spans))
	t.Cleanup(func() { mp.Shutdown(context.Background()); tp.Shutdown(context.Background()) })
	tel, err := wsotel.New(wsotel.WithMeterProvider(mp), wsotel.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	f.tel = tel
	// The test's observer runs after wsotel's: once it has seen the end,
	// so has wsotel.
	done := ws.Observer{End: func(c *ws.Conn, err error) { f.ended <- err }}
	r := ws.NewRouter(ws.WithInterceptors(tel.Intercept), ws.WithObserver(tel.Observer()), ws.WithObserver(done))
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (SendRequest, error) {
		if !trace.SpanContextFromContext(ctx).IsValid() {
			return in, errors.New("the handler's ctx has no span")
		}
		switch in.Message {
		case "forbidden":
			return in, ws.Forbidden("no")
		case "fail":
			return in, errors.New("database is down")
		}
		return in, nil
	})
	ws.Stream(r, "chat.watch", func(ctx context.Context, in WatchRequest, send func(int) error) error {
		for i := range in.Count {
			if err := send(i); err != nil {
				return err
			}
		}
		return nil
	})
	handshakeTracer := tp.Tracer("handshake")
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, span := handshakeTracer.Start(req.Context(), "GET /ws", trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		f.handshake <- span.SpanContext()
		r.ServeHTTP(w, req.WithContext(ctx))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, f.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// exchange sends msg and reads n replies; it returns the bytes sent and
// received.
func exchange(t *testing.T, c *websocket.Conn, msg string, n int) (sent, got int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for range n {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got += len(data)
	}
	return len(msg), got
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatal("nothing came")
		panic("unreachable")
	}
}

// collect returns the metrics by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// attrs writes an attribute set as "k=v,k=v", sorted.
func attrs(s attribute.Set) string {
	var kv []string
	for _, a := range s.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.String())
	}
	sort.Strings(kv)
	return strings.Join(kv, ",")
}

func equal[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	wait(t, f.handshake)
	var in, out int
	for _, m := range []struct {
		msg     string
		replies int
	}{
		{`{"event":"chat.send","id":1,"data":{"message":"Hi"}}`, 1},
		{`{"event":"chat.send","id":2,"data":{"message":"Hi again"}}`, 1},
		{`{"event":"chat.send","id":3,"data":{}}`, 1},
		{`{"event":"chat.send","id":4,"data":{"message":"forbidden"}}`, 1},
		{`{"event":"chat.send","id":5,"data":{"message":"fail"}}`, 1},
		{`{"event":"chat.watch","id":6,"data":{"count":3}}`, 4},
		{`{"event":"chat.nope","id":7}`, 1}, // not intercepted, but read and written
	} {
		s, g := exchange(t, c, m.msg, m.replies)
		in, out = in+s, out+g
	}
	live := collect(t, f.reader)["websocket.server.active_connections"].(metricdata.Sum[int64])
	equal(t, "live connections", live.DataPoints[0].Value, int64(1))

	c.Close(websocket.StatusNormalClosure, "")
	wait(t, f.ended)
	m := collect(t, f.reader)

	calls := map[string]uint64{}
	for _, dp := range m["rpc.server.call.duration"].(metricdata.Histogram[float64]).DataPoints {
		calls[attrs(dp.Attributes)] = dp.Count
	}
	want := map[string]uint64{
		"rpc.method=chat.send,rpc.response.status_code=200,rpc.system.name=websocket":                2,
		"rpc.method=chat.send,rpc.response.status_code=400,rpc.system.name=websocket":                1,
		"rpc.method=chat.send,rpc.response.status_code=403,rpc.system.name=websocket":                1,
		"error.type=500,rpc.method=chat.send,rpc.response.status_code=500,rpc.system.name=websocket": 1,
		"rpc.method=chat.watch,rpc.response.status_code=200,rpc.system.name=websocket":               1,
	}
	equal(t, "calls by method and status", fmt.Sprint(calls), fmt.Sprint(want))

	live = m["websocket.server.active_connections"].(metricdata.Sum[int64])
	equal(t, "live connections after the end", live.DataPoints[0].Value, int64(0))
	closed := m["websocket.server.closed_connections"].(metricdata.Sum[int64])
	equal(t, "closed", len(closed.DataPoints), 1)
	equal(t, "closed code", attrs(closed.DataPoints[0].Attributes), "websocket.close_code=1000")
	equal(t, "closed count", closed.DataPoints[0].Value, int64(1))

	sizes := map[string]int64{}
	for _, dp := range m["websocket.server.message.size"].(metricdata.Histogram[int64]).DataPoints {
		sizes[attrs(dp.Attributes)] = dp.Sum
	}
	equal(t, "bytes in", sizes["network.io.direction=receive"], int64(in))
	equal(t, "bytes out", sizes["network.io.direction=transmit"], int64(out))
}

func TestTooSlow(t *testing.T) {
	f := newFixture(t)
	h := ws.Handler(func(ctx context.Context, c *ws.Conn) error {
		f.tel.TooSlow(c)
		f.tel.TooSlow(c)
		return nil
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	c, _, err := websocket.Dial(context.Background(), srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.Read(context.Background())
	slow := collect(t, f.reader)["websocket.server.slow_consumers"].(metricdata.Sum[int64])
	equal(t, "slow consumers", slow.DataPoints[0].Value, int64(2))
}

func TestSpans(t *testing.T) {
	f := newFixture(t)
	c := f.dial(t)
	hs := wait(t, f.handshake)
	ok, _ := exchange(t, c, `{"event":"chat.send","id":1,"data":{"message":"Hi"}}`, 1)
	fail, _ := exchange(t, c, `{"event":"chat.send","id":2,"data":{"message":"fail"}}`, 1)
	watch, _ := exchange(t, c, `{"event":"chat.watch","id":3,"data":{"count":2}}`, 3)
	// A client's trace context continues its trace.
	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	traced, _ := exchange(t, c, `{"event":"chat.send","id":4,"traceparent":"00-`+traceID+`-`+spanID+`-01","tracestate":"vendor=x","data":{"message":"traced"}}`, 1)
	c.Close(websocket.StatusNormalClosure, "")
	wait(t, f.ended)

	var got []string
	for _, s := range f.spans.Ended() {
		if s.Name() == "GET /ws" {
			continue
		}
		a := map[attribute.Key]string{}
		for _, kv := range s.Attributes() {
			a[kv.Key] = kv.Value.String()
		}
		equal(t, s.Name()+" kind", s.SpanKind(), trace.SpanKindServer)
		parent := "handshake"
		if s.Parent().SpanID() != hs.SpanID() || s.Parent().TraceID() != hs.TraceID() {
			parent = s.Parent().TraceID().String() + "/" + s.Parent().SpanID().String()
			if s.Parent().TraceState().String() != "vendor=x" {
				t.Errorf("tracestate not kept: %q", s.Parent().TraceState().String())
			}
			if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != hs.SpanID() {
				t.Errorf("a continued trace is not linked to the handshake: %v", s.Links())
			}
		}
		got = append(got, fmt.Sprintf("%s parent=%s method=%s status=%s size=%s stream=%s otel=%v",
			s.Name(), parent, a["rpc.method"], a["rpc.response.status_code"], a["websocket.message.size"], a["websocket.stream"], s.Status().Code))
		if s.Status().Code == codes.Error && s.Status().Description != "database is down" {
			t.Errorf("error status %q", s.Status().Description)
		}
	}
	want := []string{
		fmt.Sprintf("chat.send parent=handshake method=chat.send status=200 size=%d stream= otel=Unset", ok),
		fmt.Sprintf("chat.send parent=handshake method=chat.send status=500 size=%d stream= otel=Error", fail),
		fmt.Sprintf("chat.watch parent=handshake method=chat.watch status=200 size=%d stream=true otel=Unset", watch),
		fmt.Sprintf("chat.send parent=%s/%s method=chat.send status=200 size=%d stream= otel=Unset", traceID, spanID, traced),
	}
	equal(t, "spans", strings.Join(got, "\n"), strings.Join(want, "\n"))
}
