package ws

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// RateLimit bounds how fast clients may send messages, with a token
// bucket: Burst messages at once, then Rate per second. Give it to
// [WithRateLimit]. It counts the same on every shape: each message a
// [Callback] or a [Router] reads, and each message a [Handler] or an
// [Accept]ed connection reads with [Conn.ReceiveJSON].
type RateLimit struct {
	// Rate is how many messages per second are allowed in the long run.
	// It must be above 0.
	Rate float64
	// Burst is how many messages may come at once after a pause: the
	// bucket's size. It must be at least 1.
	Burst int
	// Key, when set, limits the connections that share a key together,
	// with one bucket: the key of an authenticated user limits that user
	// across all their connections. It runs once per connection: after
	// onConnect succeeded (which may store who the user is with
	// [Conn.Set]) for a Callback or a Router, at the upgrade for a Handler
	// or Accept. An empty key, or a panic (logged), gives the connection a
	// bucket of its own. Without Key, each connection has its own.
	Key func(conn *Conn) string
	// CloseAfter is how many messages of a connection may be refused for
	// this limit before the connection is closed with 1008 (policy
	// violation), counted since its bucket was last full: a client that
	// pauses long enough to regain its whole burst starts again from
	// zero. The message that reaches the count gets no reply, and the
	// error onDisconnect gets wraps [ErrRateLimited]. Zero means
	// [DefaultCloseAfter]; a negative value never closes.
	CloseAfter int
	// Events, when set, limits only the messages of these events of a
	// [Router], read from the message's envelope before its data is
	// decoded, such as a chat's "chat.send" and "chat.typing" but not its
	// "chat.history". Without Events, every message counts: malformed
	// ones, unknown events and $cancel too.
	//
	// Only a Router has events: a limit with Events given to a
	// [Callback], a [Handler] or [Accept] panics there, rather than count
	// nothing. A Router panics on every connection it is asked to serve
	// while Events names an event it has not registered; an empty (non-nil)
	// list or an empty name panics in WithRateLimit.
	Events []string
}

// DefaultCloseAfter is the [RateLimit.CloseAfter] of a limit that does not
// set it.
const DefaultCloseAfter = 50

// ErrRateLimited is wrapped by the error of a connection closed for
// flooding: more refused messages than [RateLimit.CloseAfter].
var ErrRateLimited = errors.New("ws: rate limit exceeded")

// WithRateLimit limits the messages clients send, on every shape. Every
// message counts (or, with [RateLimit.Events], every message of those
// events of a Router), valid or not, before it is decoded. One over the
// limit is not handled: a [Callback] or a [Router] answers it with a 429
// whose body is
//
//	{"errorList":[{"loc":[],"type":"rate_limited","msg":"Rate limit exceeded: at most 5 messages per second, in bursts of 10"}]}
//
// (with the limit's own figures; a Router's reply echoes the message's
// event and id when they can be read); [Conn.ReceiveJSON] drops it and
// returns that 429 as an [*Error], for your loop to send or not. A client
// that keeps sending is closed after [RateLimit.CloseAfter] refusals.
// [Interceptor]s see the 429 as a refusal. The default is no limit.
//
// WithRateLimit may be given several times: a message must pass every
// limit, such as 20 per second per connection and 5 per user, or every
// message 20 per second and "chat.send" 2 per second. Handlers given the
// same Option value share its keyed buckets. A connection's own buckets
// cost nothing to other connections; the keyed ones are held in memory for
// every key with a live connection, and for Burst/Rate seconds after its
// last connection ended (the time the bucket takes to fill up again, after
// which forgetting it changes nothing).
//
// WithRateLimit panics when Rate is not above 0, Burst is below 1, or
// Events is empty but not nil or holds an empty name.
func WithRateLimit(l RateLimit) Option {
	if !(l.Rate > 0) || math.IsInf(l.Rate, 1) {
		panic("ws: RateLimit needs a finite Rate above 0")
	}
	if l.Burst < 1 {
		panic("ws: RateLimit needs a Burst of at least 1")
	}
	if l.Events != nil && len(l.Events) == 0 {
		panic("ws: RateLimit.Events is empty, which would count no message: leave it nil to count every message")
	}
	closeAfter := l.CloseAfter
	if closeAfter == 0 {
		closeAfter = DefaultCloseAfter
	}
	var events map[string]bool
	if l.Events != nil {
		events = make(map[string]bool, len(l.Events))
		for _, e := range l.Events {
			if e == "" {
				panic("ws: RateLimit.Events holds an empty event name")
			}
			events[e] = true
		}
	}
	lim := &limiter{
		events:     events,
		perNs:      l.Rate / float64(time.Second),
		burst:      float64(l.Burst),
		refill:     int64(float64(l.Burst) / l.Rate * float64(time.Second)),
		closeAfter: closeAfter,
		key:        l.Key,
		reply: Reply{Status: http.StatusTooManyRequests, Body: ErrorList{Errors: []ErrorDetail{{
			Loc:  []any{},
			Type: "rate_limited",
			Msg: "Rate limit exceeded: at most " + strconv.FormatFloat(l.Rate, 'g', -1, 64) +
				" messages per second, in bursts of " + strconv.Itoa(l.Burst),
		}}}},
	}
	return option(func(c *config) { c.limits = append(c.limits, lim) })
}

// checkLimits panics when a limit of cfg names events: shape, a Callback,
// a Handler or Accept, has none, and the limit would count nothing.
func (cfg *config) checkLimits(shape string) {
	for _, l := range cfg.limits {
		if l.events != nil {
			panic("ws: RateLimit.Events names events of a Router, and a " + shape +
				" has none: give it a RateLimit without Events, which counts every message")
		}
	}
}

// checkLimits panics when a limit of r names an event r has not
// registered: its messages would never be counted. r is sealed.
func (r *Router) checkLimits() {
	for _, l := range r.cfg.limits {
		for name := range l.events {
			if r.events[name] == nil {
				panic("ws: RateLimit.Events names " + strconv.Quote(name) +
					", which is not an event of this Router: its messages would never be counted")
			}
		}
	}
}

// limiter is one [RateLimit]: its figures and its keyed buckets.
type limiter struct {
	events     map[string]bool // the events it counts; nil: every message
	perNs      float64         // tokens per nanosecond
	burst      float64
	refill     int64 // ns an empty bucket takes to fill up
	closeAfter int   // < 0: never
	key        func(*Conn) string
	reply      Reply // the 429

	mu   sync.Mutex
	keys map[string]*bucket
	idle []idleBucket // keyed buckets whose last connection ended, oldest first
}

// bucket is a token bucket.
type bucket struct {
	mu     sync.Mutex // a keyed bucket's; a connection's own needs none
	tokens float64
	last   int64 // nanotime of the last take

	conns int   // keyed: live connections holding it; guarded by limiter.mu
	since int64 // keyed: when conns last dropped to 0
}

type idleBucket struct {
	key   string
	b     *bucket
	since int64
}

// epoch makes nanotime monotonic.
var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }

// take refills b for the time since its last take and takes a token if
// there is one. full reports that b was full: the client had paused.
func (b *bucket) take(l *limiter, now int64) (ok, full bool) {
	t := b.tokens + float64(now-b.last)*l.perNs
	b.last = now
	if t >= l.burst {
		t, full = l.burst, true
	}
	if t >= 1 {
		b.tokens = t - 1
		return true, full
	}
	b.tokens = t
	return false, full
}

// acquire returns the bucket of key for one more connection.
func (l *limiter) acquire(key string, now int64) *bucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evictLocked(now)
	b := l.keys[key]
	if b == nil {
		if l.keys == nil {
			l.keys = make(map[string]*bucket)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.keys[key] = b
	}
	b.conns++
	return b
}

// release gives back a connection's hold on the bucket of key.
func (l *limiter) release(key string, b *bucket, now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b.conns--
	if b.conns == 0 {
		b.since = now
		l.idle = append(l.idle, idleBucket{key: key, b: b, since: now})
	}
	l.evictLocked(now)
}

// evictLocked forgets the keyed buckets nobody has held for the time they
// take to fill up: they are full, as a new one would be.
func (l *limiter) evictLocked(now int64) {
	for len(l.idle) > 0 && now-l.idle[0].since >= l.refill {
		e := l.idle[0]
		l.idle[0] = idleBucket{}
		l.idle = l.idle[1:]
		if e.b.conns == 0 && e.b.since == e.since && l.keys[e.key] == e.b {
			delete(l.keys, e.key)
		}
	}
	if len(l.idle) == 0 {
		l.idle = nil
	}
}

// size returns how many keyed buckets l holds.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// rateState is a connection's side of its rate limits. Only its read loop
// uses it, until the connection is released.
type rateState struct {
	limits []connLimit
}

type connLimit struct {
	l       *limiter
	b       *bucket
	keyed   bool
	key     string
	refused int // messages refused since the bucket was last full
}

// startLimits gives the connection its buckets, once onConnect has
// succeeded.
func (c *Conn) startLimits() {
	if len(c.cfg.limits) == 0 {
		return
	}
	now := nanotime()
	r := &rateState{limits: make([]connLimit, len(c.cfg.limits))}
	for i, l := range c.cfg.limits {
		var key string
		if l.key != nil {
			if err := c.guard("RateLimit.Key", func() error { key = l.key(c); return nil }); err != nil {
				key = ""
			}
		}
		cl := connLimit{l: l, key: key, keyed: key != ""}
		if cl.keyed {
			cl.b = l.acquire(key, now)
		} else {
			cl.b = &bucket{tokens: l.burst, last: now}
		}
		r.limits[i] = cl
	}
	c.rate = r
}

// take counts one message of event ("" for none) against the limits that
// count it. It returns nil when the message may be handled, the 429 reply
// when it is refused, or the error that ended the connection when it was
// closed for flooding.
func (r *rateState) take(c *Conn, event string) (*Reply, error) {
	now := nanotime()
	for i := range r.limits {
		cl := &r.limits[i]
		if cl.l.events != nil && !cl.l.events[event] {
			continue
		}
		var ok, full bool
		if cl.keyed {
			cl.b.mu.Lock()
			ok, full = cl.b.take(cl.l, now)
			cl.b.mu.Unlock()
		} else {
			ok, full = cl.b.take(cl.l, now)
		}
		if full {
			cl.refused = 0
		}
		if ok {
			continue
		}
		cl.refused++
		if n := cl.l.closeAfter; n > 0 && cl.refused >= n {
			return nil, c.close(websocket.StatusPolicyViolation, "rate limit exceeded", ErrRateLimited)
		}
		return &cl.l.reply, nil
	}
	return nil, nil
}

// overLimit counts one message read by [Conn.ReceiveJSON]. It returns nil
// when the message may be handled, the 429 as an [*Error] when it is
// refused, or the error that ended the connection when it was closed for
// flooding.
func (c *Conn) overLimit() error {
	if c.rate == nil {
		return nil
	}
	refusal, err := c.rate.take(c, "")
	switch {
	case err != nil:
		return err
	case refusal != nil:
		return &Error{Status: refusal.Status, Body: refusal.Body}
	}
	return nil
}

// stop gives back the connection's keyed buckets.
func (r *rateState) stop() {
	now := nanotime()
	for _, cl := range r.limits {
		if cl.keyed {
			cl.l.release(cl.key, cl.b, now)
		}
	}
}
