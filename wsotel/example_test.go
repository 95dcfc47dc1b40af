package wsotel_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsotel"
	"github.com/coder/websocket"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Telemetry for a Router and its hub: the interceptor measures and traces
// each message, the observer counts connections and bytes, and the hub
// reports the connections it drops as too slow. Here the metrics go to an
// in-memory reader; an application hands wsotel the MeterProvider and
// TracerProvider of its exporters (Prometheus, OTLP…), or sets the global
// ones.
func ExampleNew() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	tel, err := wsotel.New(wsotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	rooms := hub.New(hub.WithTooSlow(tel.TooSlow))
	defer rooms.Close()
	r := ws.NewRouter(ws.WithInterceptors(tel.Intercept), ws.WithObserver(tel.Observer()))
	ws.On(r, "chat.send", func(ctx context.Context, in SendRequest) (SendRequest, error) {
		return in, rooms.Broadcast(ctx, "lobby", ws.Push("chat.message", in))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, srv.URL+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.CloseNow()
	c.Write(ctx, websocket.MessageText, []byte(`{"event":"chat.send","id":1,"data":{"message":"Hi"}}`))
	c.Write(ctx, websocket.MessageText, []byte(`{"event":"chat.send","id":2,"data":{}}`))
	for range 2 {
		_, reply, _ := c.Read(ctx)
		fmt.Println(string(reply))
	}

	var rm metricdata.ResourceMetrics
	reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == "rpc.server.call.duration" {
			for _, dp := range h.DataPoints {
				method, _ := dp.Attributes.Value("rpc.method")
				status, _ := dp.Attributes.Value("rpc.response.status_code")
				fmt.Println(m.Name, method.AsString(), status.AsString(), dp.Count)
			}
		}
	}
	// Unordered output:
	// {"id":1,"event":"chat.send","statusCode":200,"body":{"message":"Hi"}}
	// {"id":2,"event":"chat.send","statusCode":400,"body":{"errorList":[{"loc":["message"],"type":"missing","msg":"Field required"}]}}
	// rpc.server.call.duration chat.send 200 1
	// rpc.server.call.duration chat.send 400 1
}
