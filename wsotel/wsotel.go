// Package wsotel records OpenTelemetry metrics and traces for the
// connections and messages of github.com/cafeto-go/ws handlers: an
// [ws.Interceptor] for the messages, an [ws.Observer] for the connections,
// and a hook for the hub's slow consumers.
//
//	tel, err := wsotel.New() // the global MeterProvider and TracerProvider
//	if err != nil {
//		return err
//	}
//	r := ws.NewRouter(ws.WithInterceptors(tel.Intercept), ws.WithObserver(tel.Observer()))
//	h := hub.New(hub.WithTooSlow(tel.TooSlow))
//
// It uses the OpenTelemetry API only: the application chooses the SDK and
// the exporters.
//
// # Metrics
//
//   - rpc.server.call.duration (histogram, s): the time each message took
//     to handle, from the interceptor to its reply (a stream: to its final
//     reply), by rpc.method (the Router event; for a Callback, the route
//     pattern of its request, such as "GET /ws", or "callback") and
//     rpc.response.status_code (the reply's statusCode, such as "200" or
//     "429"), with rpc.system.name "websocket" and error.type (the status)
//     for a 5xx. Its count is the number of messages by event and status.
//   - websocket.server.active_connections (up-down counter): connections
//     open now.
//   - websocket.server.closed_connections (counter): connections ended, by
//     websocket.close_code (the close frame's code, such as 1000, 1001,
//     1008; -1 when the connection dropped without one).
//   - websocket.server.message.size (histogram, By): the size of each
//     message read (network.io.direction "receive") and frame written
//     ("transmit"); its sums are the bytes in and out.
//   - websocket.server.slow_consumers (counter): connections a hub dropped
//     as too slow ([Telemetry.TooSlow]).
//
// # Traces
//
// Each message handled is one server span, named after rpc.method, with
// the attributes above and the message's size; a stream is one span, from
// its request to its final reply. Its parent is the span in the
// connection's context (an HTTP middleware's span of the handshake, such as
// otelhttp's), unless the message carries a W3C trace context: a Router
// message's "traceparent" and "tracestate" members continue the client's
// trace, and the handshake's span becomes a link. The handler's ctx holds
// the span. A 5xx sets the span's status to Error, with the handler's
// error (which never reaches the client).
package wsotel

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/coder/websocket"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/cafeto-go/ws/wsotel"

// Option configures [New].
type Option func(*config)

type config struct {
	mp metric.MeterProvider
	tp trace.TracerProvider
}

// WithMeterProvider records metrics with mp instead of the global
// MeterProvider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithTracerProvider records spans with tp instead of the global
// TracerProvider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// Telemetry records the metrics and spans described in the package
// documentation. It is safe for concurrent use; one Telemetry may serve
// any number of handlers.
type Telemetry struct {
	tracer trace.Tracer
	prop   propagation.TraceContext

	duration metric.Float64Histogram
	active   metric.Int64UpDownCounter
	closed   metric.Int64Counter
	size     metric.Int64Histogram
	slow     metric.Int64Counter

	// Options made once, passed as they are: a variadic call through an
	// interface would allocate a new slice each time.
	received, transmitted []metric.RecordOption
	attrs                 sync.Map // callKey → *callAttrs
	closeCodes            sync.Map // websocket.StatusCode → []metric.AddOption
}

// callKey names the attributes of a call's measurement.
type callKey struct {
	method string
	status int
}

// callAttrs are the attributes of a call, made once per method and status.
type callAttrs struct {
	record []metric.RecordOption
	span   []attribute.KeyValue
}

var (
	systemName = attribute.String("rpc.system.name", "websocket")
	serverKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
)

// New returns a Telemetry that records with the given providers, by
// default the global ones. It fails when an instrument cannot be made.
func New(opts ...Option) (*Telemetry, error) {
	cfg := config{mp: otel.GetMeterProvider(), tp: otel.GetTracerProvider()}
	for _, o := range opts {
		o(&cfg)
	}
	meter := cfg.mp.Meter(ScopeName)
	t := &Telemetry{
		tracer:      cfg.tp.Tracer(ScopeName),
		received:    []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("network.io.direction", "receive")))},
		transmitted: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("network.io.direction", "transmit")))},
	}
	var err error
	if t.duration, err = meter.Float64Histogram("rpc.server.call.duration",
		metric.WithDescription("Measures the duration of an incoming Remote Procedure Call (RPC)."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)); err != nil {
		return nil, err
	}
	if t.active, err = meter.Int64UpDownCounter("websocket.server.active_connections",
		metric.WithDescription("WebSocket connections open now."),
		metric.WithUnit("{connection}")); err != nil {
		return nil, err
	}
	if t.closed, err = meter.Int64Counter("websocket.server.closed_connections",
		metric.WithDescription("WebSocket connections ended, by close code."),
		metric.WithUnit("{connection}")); err != nil {
		return nil, err
	}
	if t.size, err = meter.Int64Histogram("websocket.server.message.size",
		metric.WithDescription("Size of the WebSocket messages read and frames written."),
		metric.WithUnit("By"),
		metric.WithExplicitBucketBoundaries(64, 256, 1024, 4096, 16384, 65536, 262144, 1048576)); err != nil {
		return nil, err
	}
	if t.slow, err = meter.Int64Counter("websocket.server.slow_consumers",
		metric.WithDescription("WebSocket connections a hub disconnected as too slow."),
		metric.WithUnit("{connection}")); err != nil {
		return nil, err
	}
	return t, nil
}

// Intercept is the [ws.Interceptor] that records each message's span and
// duration: pass it to [ws.WithInterceptors], first if other interceptors
// should be measured too.
func (t *Telemetry) Intercept(next ws.CallFunc) ws.CallFunc {
	return func(ctx context.Context, call *ws.Call) ws.Reply {
		method := methodOf(call)
		parent := ctx
		opts := serverKind
		if call.TraceParent != "" {
			parent = t.prop.Extract(ctx, carrier{call})
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && trace.SpanContextFromContext(parent).IsRemote() {
				opts = []trace.SpanStartOption{serverKind[0], trace.WithLinks(trace.Link{SpanContext: sc})}
			}
		}
		ctx, span := t.tracer.Start(parent, method, opts...)
		start := time.Now()
		reply := next(ctx, call)
		elapsed := time.Since(start)

		a := t.callAttrs(method, reply.Status)
		t.duration.Record(ctx, elapsed.Seconds(), a.record...)
		if span.IsRecording() {
			span.SetAttributes(a.span...)
			if call.Stream {
				span.SetAttributes(attribute.Int("websocket.message.size", call.Size), attribute.Bool("websocket.stream", true))
			} else {
				span.SetAttributes(attribute.Int("websocket.message.size", call.Size))
			}
			if reply.Status >= 500 {
				desc := strconv.Itoa(reply.Status)
				if reply.Err != nil {
					span.RecordError(reply.Err)
					desc = reply.Err.Error()
				}
				span.SetStatus(codes.Error, desc)
			}
		}
		span.End()
		return reply
	}
}

// methodOf returns the rpc.method of a call: the Router event, or the
// Callback's route pattern.
func methodOf(call *ws.Call) string {
	if call.Event != "" {
		return call.Event
	}
	if p := call.Conn.Request().Pattern; p != "" {
		return p
	}
	return "callback"
}

// callAttrs returns the attributes of a call of method with status, made
// once for each pair.
func (t *Telemetry) callAttrs(method string, status int) *callAttrs {
	k := callKey{method, status}
	if a, ok := t.attrs.Load(k); ok {
		return a.(*callAttrs)
	}
	code := strconv.Itoa(status)
	kv := []attribute.KeyValue{
		systemName,
		attribute.String("rpc.method", method),
		attribute.String("rpc.response.status_code", code),
	}
	if status >= 500 {
		kv = append(kv, attribute.String("error.type", code))
	}
	a := &callAttrs{record: []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}, span: kv}
	v, _ := t.attrs.LoadOrStore(k, a)
	return v.(*callAttrs)
}

// carrier reads a call's trace context for the propagator.
type carrier struct{ call *ws.Call }

func (c carrier) Get(key string) string {
	switch key {
	case "traceparent":
		return c.call.TraceParent
	case "tracestate":
		return c.call.TraceState
	}
	return ""
}

func (c carrier) Set(string, string) {}

func (c carrier) Keys() []string { return []string{"traceparent", "tracestate"} }

// Observer returns the [ws.Observer] that counts connections and bytes:
// pass it to [ws.WithObserver].
func (t *Telemetry) Observer() ws.Observer {
	return ws.Observer{
		Start: func(conn *ws.Conn) { t.active.Add(conn.Context(), 1) },
		End: func(conn *ws.Conn, err error) {
			ctx := conn.Context()
			t.active.Add(ctx, -1)
			t.closed.Add(ctx, 1, t.closeCode(websocket.CloseStatus(err))...)
		},
		Read:  func(conn *ws.Conn, n int) { t.size.Record(conn.Context(), int64(n), t.received...) },
		Write: func(conn *ws.Conn, n int) { t.size.Record(conn.Context(), int64(n), t.transmitted...) },
	}
}

// closeCode returns the attribute of a close code, made once per code.
func (t *Telemetry) closeCode(code websocket.StatusCode) []metric.AddOption {
	if m, ok := t.closeCodes.Load(code); ok {
		return m.([]metric.AddOption)
	}
	m := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.Int("websocket.close_code", int(code))))}
	v, _ := t.closeCodes.LoadOrStore(code, m)
	return v.([]metric.AddOption)
}

// TooSlow counts a connection a hub disconnected as too slow: pass it to
// hub.WithTooSlow.
func (t *Telemetry) TooSlow(conn *ws.Conn) {
	t.slow.Add(conn.Context(), 1)
}
