package wsclient

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"
)

// Option configures a [Client]; pass it to [Dial] or [New].
type Option func(*options)

type options struct {
	header       http.Header
	httpClient   *http.Client
	readLimit    int64
	writeTimeout time.Duration
	pingInterval time.Duration
	logger       *slog.Logger
	buffer       int
	reconnect    bool
	minDelay     time.Duration
	maxDelay     time.Duration
	onConnect    func(context.Context, *Client) error
	unhandled    func(context.Context, Message)
	onRecover    func(context.Context, Recovery)
	onPresence   func(context.Context, PresenceChange)
}

const (
	defaultReadLimit    = 1 << 20
	defaultWriteTimeout = 10 * time.Second
	defaultPingInterval = 30 * time.Second
	defaultBuffer       = 1024
	defaultMinDelay     = 250 * time.Millisecond
	defaultMaxDelay     = 30 * time.Second
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func newOptions(opts []Option) *options {
	o := &options{
		readLimit:    defaultReadLimit,
		writeTimeout: defaultWriteTimeout,
		pingInterval: defaultPingInterval,
		logger:       discard,
		buffer:       defaultBuffer,
	}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// WithHeader sends h with every handshake, the first and each reconnect:
// a cookie or an Authorization header. The default sends none.
func WithHeader(h http.Header) Option {
	return func(o *options) { o.header = h.Clone() }
}

// WithHTTPClient makes the handshakes with hc (its transport, TLS
// settings, timeout and cookie jar). The default is [http.DefaultClient].
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// WithReadLimit sets the largest message, in bytes, the client reads; a
// larger one closes the connection with 1009 (message too big) and fails
// what was under way with [ErrConnectionLost]. The default is 1 MiB. A
// negative n removes the limit.
func WithReadLimit(n int64) Option {
	return func(o *options) { o.readLimit = n }
}

// WithWriteTimeout bounds each frame the client writes. A server that does
// not take a frame within d is dropped: the connection ends with
// [os.ErrDeadlineExceeded]. The default is 10 s; zero means no bound.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) { o.writeTimeout = max(d, 0) }
}

// WithPingInterval pings the server every d; a server that neither
// answers nor sends anything within another d is dropped and the
// connection ends with [os.ErrDeadlineExceeded]. The default is 30 s, as the
// server's; zero turns pings off.
func WithPingInterval(d time.Duration) Option {
	return func(o *options) { o.pingInterval = max(d, 0) }
}

// WithLogger logs through l: pushes dropped or not decoded, panics in push
// handlers, connections lost and reconnects. The default discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithBuffer sets how many pushes may wait for their handlers, and how
// many items may wait for each stream's loop, while that code is busy. The
// reader never waits for them: a push that finds the buffer full is dropped
// (and logged), a stream that falls n items behind ends with
// [ErrStreamOverflow]. The default is 1024.
func WithBuffer(n int) Option {
	return func(o *options) { o.buffer = max(n, 1) }
}

// WithReconnect makes the client dial again when its connection is lost,
// forever until [Client.Close], waiting between attempts with exponential
// backoff: min after the first failure, doubling up to max, each wait
// picked at random between half and all of it (jitter). min ≤ 0 means
// 250 ms, max ≤ 0 means 30 s.
//
// While the client is reconnecting, calls fail at once with
// [ErrNotConnected] (retry them after the hook of [WithOnConnect] has run,
// or when your own logic wants); calls and streams under way when the
// connection was lost fail with [ErrConnectionLost]. A server that answers
// a handshake with 401 or 403 is not tried again: the client ends with a
// [*HandshakeError] ([Client.Done], [Client.Err]). Any other failed
// handshake is retried.
//
// Without WithReconnect, a lost connection ends the client.
func WithReconnect(min, max time.Duration) Option {
	return func(o *options) {
		o.reconnect = true
		o.minDelay, o.maxDelay = min, max
		if o.minDelay <= 0 {
			o.minDelay = defaultMinDelay
		}
		if o.maxDelay <= 0 {
			o.maxDelay = defaultMaxDelay
		}
		o.maxDelay = maxDur(o.minDelay, o.maxDelay)
	}
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// WithOnConnect runs fn after every handshake, the first and each
// reconnect, with the reader already running, so fn may make calls: join
// your rooms again there. On the first connect, fn runs in [Dial] (or
// [Client.Connect]) and its error fails it; on a reconnect, it runs on its
// own goroutine, and an error closes that connection and the client tries
// again later. Other goroutines' calls may run before fn has returned. fn
// must not call [Client.Close].
func WithOnConnect(fn func(ctx context.Context, c *Client) error) Option {
	return func(o *options) { o.onConnect = fn }
}

// WithUnhandled gives fn every frame no call, stream or [On] handler
// takes: the pushes of events without a handler, envelopes without an id
// that arrive while no [Send] waits, and frames that are not envelopes at
// all. Replies to calls abandoned by their ctx are dropped, not given to
// fn. fn runs as push handlers do (see [On]). The default drops them.
func WithUnhandled(fn func(ctx context.Context, m Message)) Option {
	return func(o *options) { o.unhandled = fn }
}

// WithOnRecover gives fn what the server says of each room with history
// the client resumes when it reconnects (a $recover push): whether it
// recovered, and so whether the application must reload the room's state
// (see [Recovery]). fn runs as push handlers do (see [On]), before the
// messages it announces. The default ignores it: the client still keeps
// its positions and drops nothing twice, but an application that keeps a
// room's state should reload it when Recovered is false.
func WithOnRecover(fn func(ctx context.Context, r Recovery)) Option {
	return func(o *options) { o.onRecover = fn }
}

// WithOnPresence gives fn each change of the presence of the rooms the
// client is in that have presence (docs/protocol.md, "Presence"): the
// metas that joined and left, and the room's whole presence after the
// change, the one [Client.Presence] returns from then on. fn runs as push
// handlers do (see [On]), once per $presence push, in their order.
//
// The client keeps each room's presence whether fn is set or not, as
// Phoenix's Presence.syncState and syncDiff do: the first $presence push
// of a room on each connection (the first and each reconnect) replaces the
// room's presence, and fn gets what changed since it last saw it; each
// later push removes the metas of its leaves from their keys (by "$ref"),
// adds those of its joins, and drops the keys left with no meta. A
// $presence push is never dropped for a full buffer: the connection is
// dropped instead (see [ErrPushOverflow]), and the next one starts from
// the whole presence again. The default ignores the changes.
func WithOnPresence(fn func(ctx context.Context, ch PresenceChange)) Option {
	return func(o *options) { o.onPresence = fn }
}
