// Package redisbroker carries the broadcasts, the history and the presence
// of github.com/cafeto-go/ws/hub between servers over Redis (7.0 or later,
// or Valkey), on a go-redis client (github.com/redis/go-redis/v9):
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	b := redisbroker.New(rdb)
//	defer b.Close()
//	h := hub.New(hub.WithBroker(b),
//		hub.WithHistory("*", hub.History{Size: 1000, TTL: time.Hour}),
//		hub.WithPresence("*", hub.Presence{}))
//
// A [Broker] is a [hub.Broker], a [hub.HistoryBroker] and a
// [hub.PresenceBroker]: a hub uses what its options ask for.
//
// # Keys and channels
//
// Under a prefix ([WithPrefix], default "cafeto.ws"), the subject of a
// room ("room.lobby", see [hub.Broker]) gives:
//
//   - "cafeto.ws.room.lobby", the PUB/SUB channel of its broadcasts;
//   - "cafeto.ws.h.{room.lobby}", a stream of its history, and
//     "cafeto.ws.h.{room.lobby}.m", a hash with its epoch and last offset;
//     "cafeto.ws.h.room.lobby", the channel of its appends;
//   - "cafeto.ws.p.{room.lobby}", a hash of its presence entries, and
//     "cafeto.ws.p.room.lobby", the channel of its changes;
//   - "cafeto.ws.n.<node>", the liveness key of each broker.
//
// The keys of a room share a hash tag (the braces), so that the scripts
// that touch them run on one node of a Redis Cluster. A subject holds
// only ASCII letters, digits, '-', '_', '%' and '.', valid as it is in a
// key and a channel, whatever the room's name holds; anything else is
// refused with [ErrInvalidSubject] before it reaches Redis.
//
// # Delivery
//
// One connection (a go-redis PubSub) carries every subscription of a
// broker, and one goroutine hands what it receives to the hub, in the
// order Redis sent it. Subscribe returns once Redis has confirmed the
// subscription: a message published anywhere after that reaches it.
//
// PUB/SUB stores nothing, and so rooms without history are at-most-once:
// when the connection to Redis is lost, the broadcasts of other servers
// until go-redis has subscribed again are lost, and so are this server's
// (Publish returns the error; the members on this hub still get them).
// go-redis reconnects and subscribes again by itself.
//
// # History
//
// Append runs one Lua script: it adds the message to the room's stream,
// with the offset (the room's counter, 1, 2, 3… within an epoch) as the
// entry's ID, trims the stream to [hub.History].Size entries and drops
// those older than its TTL, and publishes the entry on the room's history
// channel, atomically: subscribers get the appends in the order of their
// offsets. The epoch is drawn at random when the stream is created; when
// the stream is lost (Redis restarted without persistence, a flush, an
// eviction, or every message expired), the next Append or Since draws a
// new one, and clients that resume get 410. A history subscription that
// sees an offset skip (its connection was lost meanwhile) reads the
// missing entries from the stream before going on, when the stream still
// holds them.
//
// Redis acknowledges an Append once it is in memory: with persistence off
// (or appendfsync everysec), a Redis that dies may lose the last writes,
// and with them the epoch; the hubs then start a new epoch. Run Redis
// with AOF for history that survives its restarts.
//
// # Presence
//
// An entry per connection in the room's hash, and a key per node (a
// broker: New draws its id) with a TTL of two thirds of the presence
// timeout ([WithPresenceTimeout], default 15 s), written again every fifth
// of it. Every broker that watches a room ends the entries of the nodes
// whose key expired, on every node, within the timeout; a read skips them
// and removes them. A node that finds its own key gone (it was cut off,
// or Redis lost its data) writes it again and tracks its entries again; a
// process that restarts is a new node, and the old one's entries never
// come back. Redis 7.0 has no TTL per hash field (HEXPIRE is 7.4), hence
// the node keys: liveness costs one write per node, whatever its number
// of members.
package redisbroker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/redis/go-redis/v9"
)

var (
	_ hub.Broker         = (*Broker)(nil)
	_ hub.HistoryBroker  = (*Broker)(nil)
	_ hub.PresenceBroker = (*Broker)(nil)
)

// DefaultPrefix is the prefix of keys and channels when [WithPrefix] is
// not given.
const DefaultPrefix = "cafeto.ws"

// MaxPrefixLen is the longest prefix [WithPrefix] takes.
const MaxPrefixLen = 256

// DefaultPresenceTimeout is the presence timeout when
// [WithPresenceTimeout] is not given; MinPresenceTimeout is the shortest.
const (
	DefaultPresenceTimeout = 15 * time.Second
	MinPresenceTimeout     = time.Second
)

// Errors of a broker.
var (
	// ErrInvalidSubject is wrapped by the error of a method given a
	// subject that is not a hub's (see [hub.Broker]).
	ErrInvalidSubject = errors.New("redisbroker: invalid subject")
	// ErrClosed is returned by the methods of a closed broker.
	ErrClosed = errors.New("redisbroker: closed")
)

// Option configures [New].
type Option func(*config)

type config struct {
	prefix          string
	presenceTimeout time.Duration
	subscribeWait   time.Duration
}

// WithPrefix puts keys and channels under prefix instead of
// [DefaultPrefix], to keep the hubs of two applications on one Redis
// apart. It panics if prefix is empty, longer than [MaxPrefixLen] or
// holds anything but ASCII letters, digits, '-', '_', ':' and '.'.
func WithPrefix(prefix string) Option {
	ok := prefix != "" && len(prefix) <= MaxPrefixLen
	for i := 0; ok && i < len(prefix); i++ {
		ok = tokenByte(prefix[i]) && prefix[i] != '%' || prefix[i] == '.' || prefix[i] == ':'
	}
	if !ok {
		panic(fmt.Sprintf("redisbroker: invalid prefix %.300q", prefix))
	}
	return func(c *config) { c.prefix = prefix }
}

// WithPresenceTimeout bounds how long the members of a node that dies
// (killed, or cut off from Redis) stay in the presence of the other nodes
// (default [DefaultPresenceTimeout], 15 s). A node's key lives two thirds
// of it and is written every fifth. It panics below [MinPresenceTimeout].
func WithPresenceTimeout(d time.Duration) Option {
	if d < MinPresenceTimeout {
		panic(fmt.Sprintf("redisbroker: presence timeout %v, want at least %v", d, MinPresenceTimeout))
	}
	return func(c *config) { c.presenceTimeout = d }
}

// WithSubscribeTimeout bounds how long Subscribe, SubscribeHistory and
// SubscribePresence wait for Redis to confirm a subscription (default
// 5 s); past it they fail, and the hub's Join with them.
func WithSubscribeTimeout(d time.Duration) Option {
	if d <= 0 {
		panic("redisbroker: subscribe timeout must be positive")
	}
	return func(c *config) { c.subscribeWait = d }
}

// Broker is a [hub.Broker], [hub.HistoryBroker] and [hub.PresenceBroker]
// on a Redis client. It is safe for concurrent use; several brokers, and
// so several hubs, may share one client.
type Broker struct {
	rdb           redis.UniversalClient
	prefix        string // with its trailing '.'
	subscribeWait time.Duration

	ps   *redis.PubSub
	quit chan struct{}
	done chan struct{} // the receiver has returned
	jobs sync.WaitGroup

	mu     sync.Mutex
	chans  map[string]*channel // by Redis channel
	stale  map[string]int      // confirmations due to channels since removed
	closed bool

	pres presence
}

// channel is a Redis channel this broker subscribes to, and what it
// gives the messages to: the functions of Subscribe, the history
// subscriptions, or the presence watches of its subject.
type channel struct {
	name      string
	sent      int           // SUBSCRIBEs sent
	acked     int           // their confirmations
	confirmed chan struct{} // closed once acked ≥ the first sent
	plain     []*plainSub
	hist      []*histSub
	watches   []*watch
}

type plainSub struct{ fn func([]byte) }

// New returns a broker on rdb, a *redis.Client (or a failover or cluster
// client). The client stays the caller's: Close does not close it. The
// broker opens one more connection for its subscriptions.
func New(rdb redis.UniversalClient, opts ...Option) *Broker {
	if rdb == nil {
		panic("redisbroker: New needs a client")
	}
	cfg := config{prefix: DefaultPrefix, presenceTimeout: DefaultPresenceTimeout, subscribeWait: 5 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	b := &Broker{
		rdb:           rdb,
		prefix:        cfg.prefix + ".",
		subscribeWait: cfg.subscribeWait,
		ps:            rdb.Subscribe(context.Background()),
		quit:          make(chan struct{}),
		done:          make(chan struct{}),
		chans:         map[string]*channel{},
		stale:         map[string]int{},
	}
	b.pres.init(b, cfg.presenceTimeout)
	go b.receive()
	return b
}

// Publish publishes msg on the subject's channel. A nil error means Redis
// took it, not that anybody received it.
func (b *Broker) Publish(ctx context.Context, subject string, msg []byte) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	return b.rdb.Publish(ctx, b.prefix+subject, msg).Err()
}

// Subscribe calls fn, on the broker's one delivery goroutine, with every
// message published on the subject's channel, until unsubscribe is
// called. It returns once Redis has confirmed the subscription.
func (b *Broker) Subscribe(subject string, fn func([]byte)) (unsubscribe func() error, err error) {
	if fn == nil {
		return nil, errors.New("redisbroker: Subscribe needs a function")
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	s := &plainSub{fn: fn}
	name := b.prefix + subject
	remove := func(c *channel) { c.plain = without(c.plain, s) }
	if err := b.subscribe(name, func(c *channel) { c.plain = append(c.plain, s) }, remove); err != nil {
		return nil, err
	}
	return b.unsubscriber(name, remove), nil
}

// subscribe adds a subscriber to the channel name with add, subscribing
// to it in Redis if needed, and waits for Redis's confirmation. When that
// fails, it removes the subscriber with remove.
func (b *Broker) subscribe(name string, add, remove func(*channel)) (err error) {
	defer func() {
		if err != nil {
			b.unsubscribe(name, remove)
		}
	}()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	c := b.chans[name]
	fresh := c == nil
	if fresh {
		c = &channel{name: name, confirmed: make(chan struct{})}
		b.chans[name] = c
		c.sent++
	}
	add(c)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), b.subscribeWait)
	defer cancel()
	if fresh {
		if err = b.ps.Subscribe(ctx, name); err != nil {
			// Not sent: no confirmation will come.
			b.mu.Lock()
			c.sent--
			b.mu.Unlock()
		}
	}
	if err == nil {
		select {
		case <-c.confirmed:
		case <-ctx.Done():
			err = fmt.Errorf("redisbroker: no confirmation of the subscription within %v", b.subscribeWait)
		case <-b.quit:
			err = ErrClosed
		}
	}
	return err
}

// unsubscriber returns the function that removes a subscriber with
// remove, and unsubscribes from the channel in Redis when it was the
// last.
func (b *Broker) unsubscriber(name string, remove func(*channel)) func() error {
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = b.unsubscribe(name, remove) })
		return err
	}
}

func (b *Broker) unsubscribe(name string, remove func(*channel)) error {
	b.mu.Lock()
	c := b.chans[name]
	if c == nil {
		b.mu.Unlock()
		return nil
	}
	remove(c)
	empty := len(c.plain) == 0 && len(c.hist) == 0 && len(c.watches) == 0
	if empty {
		delete(b.chans, name)
		if c.acked < c.sent {
			b.stale[name] += c.sent - c.acked
		}
	}
	closed := b.closed
	b.mu.Unlock()
	if !empty || closed {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.subscribeWait)
	defer cancel()
	if err := b.ps.Unsubscribe(ctx, name); err != nil && !isGone(err) {
		return err
	}
	return nil
}

// receive hands every message of the subscription connection to the
// subscribers of its channel, in order, until the broker is closed.
// go-redis reconnects and subscribes again by itself when the connection
// is lost; the confirmations that follow tell the history and presence
// subscriptions to catch up.
func (b *Broker) receive() {
	defer close(b.done)
	backoff := 10 * time.Millisecond
	for {
		m, err := b.ps.Receive(context.Background())
		if err != nil {
			// The connection is lost: so are the confirmations it owed.
			b.mu.Lock()
			clear(b.stale)
			b.mu.Unlock()
			select {
			case <-b.quit:
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 10 * time.Millisecond
		switch m := m.(type) {
		case *redis.Message:
			b.mu.Lock()
			c := b.chans[m.Channel]
			var plain []*plainSub
			var hist []*histSub
			var watches []*watch
			if c != nil {
				plain, hist, watches = c.plain, c.hist, c.watches
			}
			b.mu.Unlock()
			if len(plain) > 0 {
				msg := []byte(m.Payload)
				for _, s := range plain {
					s.fn(msg)
				}
			}
			for _, s := range hist {
				s.receive(m.Payload)
			}
			for _, w := range watches {
				w.receive(m.Payload)
			}
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			b.mu.Lock()
			c := b.chans[m.Channel]
			again := false
			if n := b.stale[m.Channel]; n > 0 {
				// Of a channel removed before its confirmation came.
				if n == 1 {
					delete(b.stale, m.Channel)
				} else {
					b.stale[m.Channel] = n - 1
				}
			} else if c != nil {
				if c.acked < c.sent {
					c.acked++
					if c.acked == 1 {
						close(c.confirmed)
					}
				} else {
					again = true // subscribed again after a reconnection
				}
			}
			var hist []*histSub
			var watches []*watch
			if again {
				hist, watches = c.hist, c.watches
			}
			b.mu.Unlock()
			for _, s := range hist {
				s.catchUp()
			}
			for _, w := range watches {
				w.resync()
			}
		}
	}
}

// Close removes this node's presence entries, ends its subscriptions and
// its delivery goroutine. It does not close the Redis client. Close the
// hubs using the broker first.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.pres.close()
	close(b.quit)
	err := b.ps.Close()
	<-b.done
	b.jobs.Wait()
	if isGone(err) {
		err = nil
	}
	return err
}

// isGone reports whether err says the connection is closed already.
func isGone(err error) bool {
	return err == nil || errors.Is(err, redis.ErrClosed) || err.Error() == "redis: client is closed"
}

// checkSubject returns an error wrapping ErrInvalidSubject unless s is a
// hub's subject: "room." or "id." and a token of ASCII letters, digits,
// '-', '_' and '%', at most hub.MaxSubjectLen bytes in all. The error
// tells the subject's length, not the subject.
func checkSubject(s string) error {
	invalid := func(why string) error {
		return fmt.Errorf("%w: %s (%d bytes)", ErrInvalidSubject, why, len(s))
	}
	if len(s) > hub.MaxSubjectLen {
		return invalid(fmt.Sprintf("longer than %d bytes", hub.MaxSubjectLen))
	}
	token := ""
	switch {
	case len(s) > 5 && s[:5] == "room.":
		token = s[5:]
	case len(s) > 3 && s[:3] == "id.":
		token = s[3:]
	default:
		return invalid("neither room.<token> nor id.<token>")
	}
	for i := 0; i < len(token); i++ {
		if !tokenByte(token[i]) {
			return invalid("a byte out of a token's")
		}
	}
	return nil
}

func tokenByte(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '_' || ch == '%'
}

// without returns s without x, in a new slice: the receiver reads the old
// one without a lock.
func without[T comparable](s []T, x T) []T {
	out := make([]T, 0, len(s))
	for _, y := range s {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}
