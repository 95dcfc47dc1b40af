package ws

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/go-playground/validator/v10"
)

// Options are typed by the shapes they apply to, so that one that cannot
// apply does not compile: an [Option] configures every shape ([Accept],
// [Handler], [Callback], [Router]), a [CallbackOption] the shapes that
// decode and validate messages ([Callback], [Router]), and a
// [RouterOption] the [Router] alone. Each With… function returns the
// narrowest it needs; an Option is a CallbackOption, which is a
// RouterOption, so that a Router takes them all.
type (
	// Option configures a connection, whatever serves it: [Accept],
	// [Handler], [Callback] and [Router] take it.
	Option interface {
		CallbackOption
		connOption()
	}
	// CallbackOption configures how messages are decoded, validated and
	// handled: [Callback] and [Router] take it.
	CallbackOption interface {
		RouterOption
		callbackOption()
	}
	// RouterOption configures a [Router]: [NewRouter] takes it.
	RouterOption interface {
		apply(*config)
	}
)

// option is an Option, callbackOption a CallbackOption, routerOption a
// RouterOption.
type (
	option         func(*config)
	callbackOption func(*config)
	routerOption   func(*config)
)

func (o option) apply(c *config)         { o(c) }
func (option) callbackOption()           {}
func (option) connOption()               {}
func (o callbackOption) apply(c *config) { o(c) }
func (callbackOption) callbackOption()   {}
func (o routerOption) apply(c *config)   { o(c) }

type config struct {
	validate       *validator.Validate
	logger         *slog.Logger
	readLimit      int64
	originPatterns []string
	pingInterval   time.Duration
	writeTimeout   time.Duration
	group          *Group
	tagErrors      map[string]tagError
	compression    websocket.CompressionMode
	subprotocols   []string
	concurrency    int // Router: requests of one connection handled at once; < 1 means 1
	maxStreams     int // Router: streams open at once per connection; 0 means the default
	maxErrors      int // see WithMaxErrors
	interceptors   []Interceptor
	observers      []Observer
	observeIO      bool // an observer watches reads or writes
	limits         []*limiter
}

const (
	defaultReadLimit    = 32 << 10
	defaultWriteTimeout = 10 * time.Second
	defaultPingInterval = 30 * time.Second
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// defaultValidator is shared by every handler that is not given one.
var defaultValidator = sync.OnceValue(func() *validator.Validate {
	return validator.New(validator.WithRequiredStructEnabled())
})

func newConfig[O RouterOption](opts []O) *config {
	c := &config{
		logger:       discard,
		readLimit:    defaultReadLimit,
		pingInterval: defaultPingInterval,
		writeTimeout: defaultWriteTimeout,
		maxErrors:    defaultMaxErrors,
	}
	for _, o := range opts {
		o.apply(c)
	}
	if c.validate == nil {
		c.validate = defaultValidator()
	}
	return c
}

// WithValidator validates requests with v instead of the package's shared
// validator (one created with validator.WithRequiredStructEnabled). Register
// your custom tags on v before you pass it: validator's Register methods are
// not safe once validation has started. The package does not change v.
func WithValidator(v *validator.Validate) CallbackOption {
	return callbackOption(func(c *config) { c.validate = v })
}

// WithLogger logs through l: errors returned by receive functions, panics
// with their stacks, and why connections ended abnormally. The default
// discards everything.
func WithLogger(l *slog.Logger) Option {
	return option(func(c *config) {
		if l != nil {
			c.logger = l
		}
	})
}

// WithReadLimit sets the largest message, in bytes, the server reads; a
// larger one closes the connection with 1009 (message too big) as soon as
// the limit is passed, without buffering the rest. The default is 32 KiB.
// A negative n removes the limit.
func WithReadLimit(n int64) Option {
	return option(func(c *config) { c.readLimit = n })
}

// WithOriginPatterns allows cross-origin handshakes from the hosts matching
// the patterns ([path.Match] syntax, such as "example.com" or
// "*.example.com"; a pattern with "://" matches scheme and host). By default
// only same-origin browser pages may connect; others get 403. Requests
// without an Origin header, which browsers always send, pass.
//
// The same-origin check compares the Origin header with the Host header,
// and a page can choose both: after DNS rebinding, a hostile page served
// from attacker.example whose name now points at your server sends
// Origin and Host both "attacker.example", and passes. A server reachable
// under names you do not own (a LAN service, a development server on
// localhost) should pin the hosts it serves, before the upgrade:
//
//	allowed := map[string]bool{"chat.example.com": true}
//	pinned := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		if !allowed[r.Host] {
//			http.Error(w, "unknown host", http.StatusMisdirectedRequest)
//			return
//		}
//		chatHandler.ServeHTTP(w, r)
//	})
func WithOriginPatterns(patterns ...string) Option {
	return option(func(c *config) { c.originPatterns = append(c.originPatterns, patterns...) })
}

// WithCompression negotiates permessage-deflate in the given mode with
// peers that offer it (browsers do). It trades CPU for bandwidth; messages
// below 128 bytes (512 without context takeover) are sent as they are. The
// default is websocket.CompressionDisabled; docs/performance.md has the measured
// cost. websocket.CompressionContextTakeover keeps a 32 KiB window per
// connection across messages: the best ratio for repetitive JSON, at a fixed
// memory cost per connection; websocket.CompressionNoContextTakeover
// compresses each message on its own with pooled compressors: no fixed cost
// per connection, a lower ratio.
func WithCompression(mode websocket.CompressionMode) Option {
	return option(func(c *config) { c.compression = mode })
}

// WithSubprotocols lists the subprotocols the server speaks, in order of
// preference; the handshake picks the first one the client also asks for
// (Sec-WebSocket-Protocol), and [Conn.Subprotocol] tells which. A client
// that asks for none of them still connects, with no subprotocol: refuse it
// in onConnect if you must. The default is none.
func WithSubprotocols(protocols ...string) Option {
	return option(func(c *config) { c.subprotocols = append(c.subprotocols, protocols...) })
}

// WithPingInterval pings the peer every d and waits up to d for its pong; a
// peer that sent nothing while a ping waited (no pong, no message) is
// dropped and onDisconnect gets [errPongTimeout]: between one and two
// intervals after the last thing it sent. Pongs are read while your code is
// busy (see [Conn]), so a busy handler never gets a live peer dropped; while
// reading is paused at the read-ahead budget, the peer is not pinged. The
// default is 30 s; zero turns pings off.
func WithPingInterval(d time.Duration) Option {
	return option(func(c *config) { c.pingInterval = max(d, 0) })
}

// WithWriteTimeout bounds each frame the server writes. A peer that does not
// take a frame within d (a client that stopped reading) is disconnected and
// onDisconnect gets [errWriteTimeout]; no goroutine stays blocked. The
// default is 10 s; zero means no bound.
func WithWriteTimeout(d time.Duration) Option {
	return option(func(c *config) { c.writeTimeout = max(d, 0) })
}

// WithGroup tracks every connection of the handler in g, so that
// [Group.Shutdown] can close them all. One group may serve many handlers.
func WithGroup(g *Group) Option {
	return option(func(c *config) { c.group = g })
}

// WithTagError words the 400 errorList entry of a custom validator tag:
// errType is its "type" and msg its "msg", where "{param}" stands for the
// tag's parameter. Without it, a tag the package does not know is reported
// with the tag as its type and a plain message.
//
//	v.RegisterValidation("nickname", isNickname)
//	ws.Callback(nil, receive, nil, ws.WithValidator(v),
//		ws.WithTagError("nickname", "nickname_invalid", "Nickname may hold letters and digits only"))
func WithTagError(tag, errType, msg string) CallbackOption {
	return callbackOption(func(c *config) {
		if c.tagErrors == nil {
			c.tagErrors = make(map[string]tagError)
		}
		c.tagErrors[tag] = tagError{typ: errType, msg: msg}
	})
}

// WithConcurrency lets a [Router] handle up to n requests of one connection
// at once, each on its own goroutine; their replies may then come out of
// order, matched to requests by their id. The default, 1, handles a
// connection's requests one at a time and replies in order, as [Callback]
// does. Streams are not counted: they always run beside requests.
func WithConcurrency(n int) RouterOption {
	return routerOption(func(c *config) { c.concurrency = max(n, 1) })
}

// WithMaxStreams bounds the streams ([Stream]) one connection of a [Router]
// may have open at once; a request for one more is answered with a 429
// errorList. The default is 16; n < 1 means the default.
func WithMaxStreams(n int) RouterOption {
	return routerOption(func(c *config) { c.maxStreams = max(n, 0) })
}

// WithInterceptors wraps the handling of each message of a [Callback] or a
// [Router] in interceptors, the first outermost, like HTTP middleware; see
// [Interceptor] for what they see and may do. It may be given several
// times: the interceptors add up in order. The
// default is none, and then the per-message path does no work for them.
func WithInterceptors(interceptors ...Interceptor) CallbackOption {
	for _, i := range interceptors {
		if i == nil {
			panic("ws: WithInterceptors needs non-nil interceptors")
		}
	}
	return callbackOption(func(c *config) { c.interceptors = append(c.interceptors, interceptors...) })
}
