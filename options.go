package ws

import (
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
)

// Option configures [Callback], [Handler] and [Accept].
type Option func(*config)

type config struct {
	validate       *validator.Validate
	logger         *slog.Logger
	readLimit      int64
	originPatterns []string
	pingInterval   time.Duration
	writeTimeout   time.Duration
	group          *Group
	tagErrors      map[string]tagError
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

func newConfig(opts []Option) *config {
	c := &config{
		logger:       discard,
		readLimit:    defaultReadLimit,
		pingInterval: defaultPingInterval,
		writeTimeout: defaultWriteTimeout,
	}
	for _, o := range opts {
		o(c)
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
func WithValidator(v *validator.Validate) Option {
	return func(c *config) { c.validate = v }
}

// WithLogger logs through l: errors returned by receive functions, panics
// with their stacks, and why connections ended abnormally. The default
// discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithReadLimit sets the largest message, in bytes, the server reads; a
// larger one closes the connection with 1009 (message too big) as soon as
// the limit is passed, without buffering the rest. The default is 32 KiB.
// A negative n removes the limit.
func WithReadLimit(n int64) Option {
	return func(c *config) { c.readLimit = n }
}

// WithOriginPatterns allows cross-origin handshakes from the hosts matching
// the patterns ([path.Match] syntax, such as "example.com" or
// "*.example.com"; a pattern with "://" matches scheme and host). By default
// only same-origin browser pages may connect; others get 403. Requests
// without an Origin header, which browsers always send, pass.
func WithOriginPatterns(patterns ...string) Option {
	return func(c *config) { c.originPatterns = append(c.originPatterns, patterns...) }
}

// WithPingInterval pings the peer every d; a peer that neither answers nor
// sends anything within another d is dropped and onDisconnect gets
// [ErrPongTimeout]. Pongs are read whatever your code is doing (see [Conn]),
// so a busy handler never gets a live peer dropped. The default is 30 s;
// zero turns pings off.
func WithPingInterval(d time.Duration) Option {
	return func(c *config) { c.pingInterval = max(d, 0) }
}

// WithWriteTimeout bounds each frame the server writes. A peer that does not
// take a frame within d (a client that stopped reading) is disconnected and
// onDisconnect gets [ErrWriteTimeout]; no goroutine stays blocked. The
// default is 10 s; zero means no bound.
func WithWriteTimeout(d time.Duration) Option {
	return func(c *config) { c.writeTimeout = max(d, 0) }
}

// WithGroup tracks every connection of the handler in g, so that
// [Group.Shutdown] can close them all. One group may serve many handlers.
func WithGroup(g *Group) Option {
	return func(c *config) { c.group = g }
}

// WithTagError words the 400 errorList entry of a custom validator tag:
// errType is its "type" and msg its "msg", where "{param}" stands for the
// tag's parameter. Without it, a tag the package does not know is reported
// with the tag as its type and a plain message.
//
//	v.RegisterValidation("nickname", isNickname)
//	ws.Callback(nil, receive, nil, ws.WithValidator(v),
//		ws.WithTagError("nickname", "nickname_invalid", "Nickname may hold letters and digits only"))
func WithTagError(tag, errType, msg string) Option {
	return func(c *config) {
		if c.tagErrors == nil {
			c.tagErrors = make(map[string]tagError)
		}
		c.tagErrors[tag] = tagError{typ: errType, msg: msg}
	}
}
