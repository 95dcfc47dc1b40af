// Package natsbroker carries the broadcasts of github.com/cafeto-go/ws/hub
// between servers over NATS (github.com/nats-io/nats.go), so that the
// members of a room receive its messages wherever they are connected.
//
//	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
//	...
//	b := natsbroker.New(nc)
//	defer b.Close()
//	h := hub.New(hub.WithBroker(b))
//
// Rooms and ids map to NATS subjects under a prefix: room "lobby" is
// "cafeto.ws.room.lobby", id "42" is "cafeto.ws.id.42". A hub subscribes to
// a subject only while it has members in that room, so a server receives
// the traffic of its own rooms only.
//
// # Names and subjects
//
// The hub writes a name as one subject token of ASCII letters, digits,
// '-', '_' and '%': other bytes as %XX (room "a.b" is
// "cafeto.ws.room.a%2Eb"), or, when that would take more than 256 bytes,
// "%%" and the name in base64url; see [hub.Broker] for the mapping, which
// gives distinct names distinct subjects. The hub takes names of at most
// [hub.DefaultMaxNameLen] bytes (256), or [hub.HardMaxNameLen] (1024) with
// [hub.WithMaxNameLen], and refuses longer ones with [hub.ErrNameTooLong]
// before anything reaches NATS: the subject of any name it takes is at
// most [hub.MaxSubjectLen] (1373) bytes, and with the prefix within
// [MaxSubjectLen] (2048), half of the 4 KiB a NATS server allows a
// protocol line by default (its max_control_line, which must not be set
// lower).
//
// A broker checks every subject it is given, whatever code gives it: a
// subject that is empty, longer than [MaxSubjectLen] with its prefix, not
// valid UTF-8, or that holds whitespace, control characters, an empty
// token or a wildcard token ("*" or ">") is refused with an error wrapping
// [ErrInvalidSubject], and never sent to NATS, where it could make the
// server close the connection.
//
// # Delivery
//
// NATS core is at-most-once, and so is [Broker]: nothing is stored. For
// rooms that must not lose a message, [NewJetStream] returns a
// [hub.HistoryBroker] that keeps their history in a JetStream stream, from
// which a client that reconnects to any server recovers what it missed
// (see [JetStream] and hub's "History and recovery"):
//
//	b, err := natsbroker.NewJetStream(ctx, nc, natsbroker.Stream{MaxPerRoom: 1000, MaxAge: time.Hour})
//	...
//	h := hub.New(hub.WithBroker(b), hub.WithHistory("*", hub.History{Size: 1000, TTL: time.Hour}))
//
// The rest of this section is about rooms without history.
// Within that, a broadcast reaches each member once, and the messages of
// one publisher arrive in order. A member that has joined a room (the hub's
// Join has returned) gets every broadcast to the room published after
// that, on any server: [Broker.Subscribe] waits until NATS has the
// subscription. When the connection to NATS is lost:
//
//   - the hub still delivers to the members on its own server;
//   - broadcasts of this server are kept by nats.go in its reconnect buffer
//     (8 MiB by default, [nats.ReconnectBufSize]) and published once it
//     reconnects; beyond the buffer, Broadcast returns an error;
//   - broadcasts of other servers published during the outage, and until
//     nats.go has subscribed again after reconnecting, never reach this
//     server's members: they are lost, not replayed.
//
// nats.go reconnects and subscribes again by itself; allow it to retry
// for as long as the server lives, with [nats.MaxReconnects](-1). A
// message that does not fit the subscriber's buffer (a server that cannot
// keep up, see [WithBuffer]) is dropped by nats.go, which reports
// [nats.ErrSlowConsumer] to the connection's error handler.
package natsbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/cafeto-go/ws/hub"
	"github.com/nats-io/nats.go"
)

var _ hub.Broker = (*Broker)(nil)

// DefaultPrefix is the subject prefix when [WithPrefix] is not given.
const DefaultPrefix = "cafeto.ws"

// MaxSubjectLen is the length, in bytes, of the longest subject a broker
// publishes or subscribes to, its prefix included: half of NATS's default
// max_control_line (4096), which leaves room for the rest of the protocol
// line.
const MaxSubjectLen = 2048

// MaxPrefixLen is the longest prefix [WithPrefix] takes: under it, the
// subject of every name a hub takes fits in [MaxSubjectLen].
const MaxPrefixLen = 256

// The subject of every name a hub takes fits under the longest prefix.
var _ [MaxSubjectLen - (MaxPrefixLen + 1 + hub.MaxSubjectLen)]struct{}

// ErrInvalidSubject is wrapped by the error of [Broker.Publish] and
// [Broker.Subscribe] for a subject NATS could not take; see the package
// documentation for the rules.
var ErrInvalidSubject = errors.New("natsbroker: invalid subject")

// subscribeTimeout bounds how long [Broker.Subscribe] waits for the NATS
// server to confirm a new subscription: one round trip to it.
const subscribeTimeout = time.Second

// DefaultBuffer is the number of received messages that may wait for
// delivery when [WithBuffer] is not given.
const DefaultBuffer = 65536

// Option configures [New].
type Option func(*config)

type config struct {
	prefix string
	buffer int
}

// WithPrefix puts the subjects under prefix instead of [DefaultPrefix]
// ("cafeto.ws"), to keep the hubs of two applications on one NATS apart.
// It panics if prefix is longer than [MaxPrefixLen] (256 bytes), is not a
// valid subject (see the package documentation) or holds '*' or '>'.
func WithPrefix(prefix string) Option {
	if len(prefix) > MaxPrefixLen || strings.ContainsAny(prefix, "*>") || checkSubject(prefix) != nil {
		panic(fmt.Sprintf("natsbroker: invalid subject prefix %.300q", prefix))
	}
	return func(c *config) { c.prefix = prefix }
}

// WithBuffer sets how many received messages may wait for the hub
// (default [DefaultBuffer], 65536). One goroutine hands them to the hub,
// which only queues them; when the buffer is full, nats.go drops what
// arrives. It panics if n < 1.
func WithBuffer(n int) Option {
	if n < 1 {
		panic("natsbroker: buffer must be at least 1")
	}
	return func(c *config) { c.buffer = n }
}

// Broker is a hub.Broker on a NATS connection. It is safe for concurrent
// use. Several brokers, and so several hubs, may share one connection.
type Broker struct {
	nc     *nats.Conn
	prefix string

	msgs chan *nats.Msg // of every subscription; never closed: nats.go may still send
	quit chan struct{}
	done chan struct{} // the dispatcher has returned

	mu     sync.RWMutex
	subs   map[*nats.Subscription]func([]byte)
	closed bool
}

// ErrClosed is returned by a broker's methods once it has been closed.
var ErrClosed = errors.New("natsbroker: closed")

// New returns a broker that publishes and subscribes on nc. The connection
// stays the caller's: Close does not close it.
func New(nc *nats.Conn, opts ...Option) *Broker {
	if nc == nil {
		panic("natsbroker: New needs a connection")
	}
	cfg := config{prefix: DefaultPrefix, buffer: DefaultBuffer}
	for _, o := range opts {
		o(&cfg)
	}
	b := &Broker{
		nc:     nc,
		prefix: cfg.prefix + ".",
		msgs:   make(chan *nats.Msg, cfg.buffer),
		quit:   make(chan struct{}),
		done:   make(chan struct{}),
		subs:   make(map[*nats.Subscription]func([]byte)),
	}
	go b.dispatch()
	return b
}

// Publish publishes msg on the prefixed subject. nats.go buffers it: a nil
// error means it was accepted for sending, not that anybody received it.
// A subject NATS could not take is refused with [ErrInvalidSubject].
func (b *Broker) Publish(ctx context.Context, subject string, msg []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := b.prefix + subject
	if err := checkSubject(full); err != nil {
		return err
	}
	return b.nc.Publish(full, msg)
}

// Subscribe calls fn, on the broker's one delivery goroutine, with every
// message published on the prefixed subject, until unsubscribe is called.
// It returns once the NATS server has the subscription (it waits for one
// round trip, at most 1 s), so that a message any node publishes after
// Subscribe has returned reaches fn: a broadcast right after a [hub.Hub]'s
// Join, on another server, reaches the new member. While the connection is
// down, or when the server does not answer within 1 s, it returns without
// waiting: nats.go subscribes once it is back, and what others publish
// until then is missed (see Delivery in the package documentation). The
// subject is literal: a subject with a wildcard token, or one NATS could
// not take, is refused with [ErrInvalidSubject].
func (b *Broker) Subscribe(subject string, fn func([]byte)) (unsubscribe func() error, err error) {
	if fn == nil {
		return nil, errors.New("natsbroker: Subscribe needs a function")
	}
	full := b.prefix + subject
	if err := checkSubject(full); err != nil {
		return nil, err
	}
	// Held until fn is recorded, so that the dispatcher finds it for the
	// first message.
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	sub, err := b.nc.ChanSubscribe(full, b.msgs)
	if err != nil {
		b.mu.Unlock()
		return nil, err
	}
	b.subs[sub] = fn
	b.mu.Unlock()
	// nats.go only buffers the subscription: wait until the server has it,
	// so that what any node publishes from now on reaches fn. A server
	// that does not answer in time, or a connection that is down (nats.go
	// subscribes again once it is back), is not an error: the room works
	// on this node meanwhile, as it does during an outage.
	if b.nc.IsConnected() {
		b.nc.FlushTimeout(subscribeTimeout)
	}
	return func() error { return b.unsubscribe(sub) }, nil
}

func (b *Broker) unsubscribe(sub *nats.Subscription) error {
	b.mu.Lock()
	_, ok := b.subs[sub]
	delete(b.subs, sub)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	err := sub.Unsubscribe()
	if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrBadSubscription) {
		return nil // gone with the connection
	}
	return err
}

// Close ends the broker's subscriptions and its delivery goroutine. It
// does not close the NATS connection. Close the hubs using the broker
// first.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = make(map[*nats.Subscription]func([]byte))
	b.mu.Unlock()
	var errs []error
	for sub := range subs {
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
			errs = append(errs, err)
		}
	}
	close(b.quit)
	<-b.done
	return errors.Join(errs...)
}

// dispatch hands every received message to the function of its
// subscription, in the order NATS delivered them.
func (b *Broker) dispatch() {
	defer close(b.done)
	for {
		select {
		case m := <-b.msgs:
			b.mu.RLock()
			fn := b.subs[m.Sub]
			b.mu.RUnlock()
			if fn != nil {
				fn(m.Data)
			}
		case <-b.quit:
			return
		}
	}
}

// checkSubject returns an error wrapping ErrInvalidSubject unless s is a
// literal NATS subject of at most MaxSubjectLen bytes: valid UTF-8, no
// whitespace or control characters, no empty token, no wildcard token.
// The error tells the subject's length, not the subject.
func checkSubject(s string) error {
	invalid := func(why string) error {
		return fmt.Errorf("%w: %s (%d bytes)", ErrInvalidSubject, why, len(s))
	}
	if s == "" {
		return invalid("empty")
	}
	if len(s) > MaxSubjectLen {
		return invalid(fmt.Sprintf("longer than %d bytes", MaxSubjectLen))
	}
	start := 0 // of the current token
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if ch := s[i]; ch <= ' ' || ch == 0x7f {
				return invalid("whitespace or a control character")
			}
			continue
		}
		switch s[start:i] {
		case "":
			return invalid("empty token")
		case "*", ">":
			return invalid("wildcard token")
		}
		start = i + 1
	}
	if !utf8.ValidString(s) {
		return invalid("not valid UTF-8")
	}
	return nil
}
