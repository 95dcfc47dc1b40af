// Chatotel is examples/chat with its metrics: the same chat, measured with
// wsotel and exposed in the Prometheus text format at GET /metrics through
// the OpenTelemetry Prometheus exporter. It is a module of its own, so
// that neither the library nor wsotel needs Prometheus.
//
//	cd wsotel/chatotel
//	go run .                 # then open http://localhost:8080 and http://localhost:8080/metrics
//	go run . -metrics=false  # the chat alone
//
// The metrics are those of wsotel (docs/observability.md): messages by
// event and status with their durations (rpc_server_call_duration_seconds),
// live connections, connections ended by close code, message sizes, and
// the connections the hub dropped as too slow. The chat is rate limited
// as examples/chat is: send more than 10 messages quickly and watch the
// 429s in rpc_server_call_duration_seconds_count.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsotel"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	metrics := flag.Bool("metrics", true, "measure the chat and serve the metrics at GET /metrics")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var conns ws.Group
	srv, err := newServer(&conns, *metrics)
	if err != nil {
		log.Fatal(err)
	}
	if err := chatapp.Run(ctx, *addr, srv, &conns); err != nil {
		log.Fatal(err)
	}
}

// newServer returns the chat's server, measured and with GET /metrics when
// metrics is true.
func newServer(conns *ws.Group, metrics bool) (*http.Server, error) {
	if !metrics {
		return chatapp.NewServer(conns, hub.New(hub.WithLogger(slog.Default())), nil), nil
	}
	// The exporter is a metric reader that the registry collects from at
	// each scrape.
	registry := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(registry))
	if err != nil {
		return nil, err
	}
	tel, err := wsotel.New(wsotel.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))))
	if err != nil {
		return nil, err
	}
	h := hub.New(hub.WithLogger(slog.Default()), hub.WithTooSlow(tel.TooSlow))
	srv := chatapp.NewServer(conns, h, nil, ws.WithInterceptors(tel.Intercept), ws.WithObserver(tel.Observer()))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	mux.Handle("/", srv.Handler)
	srv.Handler = mux
	return srv, nil
}
