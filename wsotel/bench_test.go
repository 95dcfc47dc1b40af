package wsotel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/wsotel"
	"github.com/coder/websocket"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

type benchRequest struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

// BenchmarkTelemetry is the root module's BenchmarkRoundTrip workload (a
// chat message echoed by a ws.Callback, one message in twenty invalid, one
// in flight) with and without wsotel:
//
//   - off: no interceptor, no observer;
//   - noop: wsotel on the OpenTelemetry API's no-op providers;
//   - sdk: wsotel on the SDK, every span sampled and batched to an
//     exporter that drops them, metrics aggregated for a reader that is
//     never collected: the cost of recording, without the export.
//
// go test -run '^$' -bench Telemetry -benchmem -count 6
func BenchmarkTelemetry(b *testing.B) {
	echo := func(ctx context.Context, in benchRequest) (benchRequest, error) { return in, nil }
	b.Run("telemetry=off", func(b *testing.B) {
		run(b, ws.Callback(nil, echo, nil))
	})
	b.Run("telemetry=noop", func(b *testing.B) {
		tel, err := wsotel.New(wsotel.WithMeterProvider(metricnoop.NewMeterProvider()),
			wsotel.WithTracerProvider(tracenoop.NewTracerProvider()))
		if err != nil {
			b.Fatal(err)
		}
		run(b, ws.Callback(nil, echo, nil, ws.WithInterceptors(tel.Intercept), ws.WithObserver(tel.Observer())))
	})
	b.Run("telemetry=sdk", func(b *testing.B) {
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		defer mp.Shutdown(context.Background())
		defer tp.Shutdown(context.Background())
		tel, err := wsotel.New(wsotel.WithMeterProvider(mp), wsotel.WithTracerProvider(tp))
		if err != nil {
			b.Fatal(err)
		}
		run(b, ws.Callback(nil, echo, nil, ws.WithInterceptors(tel.Intercept), ws.WithObserver(tel.Observer())))
	})
}

// run sends b.N messages, one at a time, and checks every reply.
func run(b *testing.B, h http.Handler) {
	var msgs, replies [][]byte
	for i := range 20 {
		if i == 7 {
			msgs = append(msgs, []byte(`{"message":"where did my user name go, it was here a second ago"}`))
			replies = append(replies, []byte(`{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`))
			continue
		}
		m := fmt.Sprintf(`{"message":"a chat message of a realistic length, number %03d","user":"user%02d"}`, i, i)
		msgs = append(msgs, []byte(m))
		replies = append(replies, []byte(`{"statusCode":200,"body":`+m+`}`))
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := c.Write(ctx, websocket.MessageText, msgs[i%len(msgs)]); err != nil {
			b.Fatal(err)
		}
		_, data, err := c.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if string(data) != string(replies[i%len(replies)]) {
			b.Fatalf("reply %d: %s", i, data)
		}
	}
	b.StopTimer()
	c.Close(websocket.StatusNormalClosure, "")
}
