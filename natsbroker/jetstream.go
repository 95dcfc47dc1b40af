package natsbroker

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var _ hub.HistoryBroker = (*JetStream)(nil)

// Stream configures the JetStream stream that keeps the history of rooms.
type Stream struct {
	// Name is the stream's name (default [DefaultStreamName]). The hubs of
	// one application share it; two applications on one NATS need two
	// names and two prefixes ([WithPrefix]).
	Name string
	// MaxPerRoom is how many messages of each room the stream keeps, its
	// MaxMsgsPerSubject (default 1000). Set it to at least the hub's
	// largest [hub.History] Size.
	MaxPerRoom int64
	// MaxAge is how long the stream keeps a message (default 24 hours).
	// Set it to at least the hub's largest [hub.History] TTL.
	MaxAge time.Duration
	// Replicas is the number of copies of the stream in a JetStream
	// cluster, 1 to 5 (default 1). With 3, a message survives the loss of
	// a NATS server.
	Replicas int
	// Memory keeps the stream in the servers' memory instead of files:
	// faster, and lost when a NATS server stops. The presence bucket
	// follows it.
	Memory bool
	// PresenceTimeout bounds how long the members of a node that dies
	// (killed, or cut off from NATS) stay in the presence of the other
	// nodes (default [DefaultPresenceTimeout], 15 s; at least
	// [MinPresenceTimeout]). See [JetStream]'s "Presence".
	PresenceTimeout time.Duration
}

// DefaultStreamName is the stream's name when [Stream] gives none.
const DefaultStreamName = "CAFETO_WS"

// JetStream is a [hub.HistoryBroker] on NATS: a [Broker] for the rooms
// without history and the ids, and a JetStream stream for the history of
// the others. It is safe for concurrent use.
//
// The stream captures the subjects "<prefix>.h.>": room "lobby" keeps its
// history on "cafeto.ws.h.room.lobby", apart from the core NATS traffic of
// rooms without history. Its limits are per subject, so per room: the last
// [Stream].MaxPerRoom messages, none older than MaxAge.
//
// An offset is the message's sequence in the stream: it increases within
// a room but skips the numbers of other rooms' messages. The epoch derives
// from the stream's name and creation time: it changes when the stream is
// deleted and created again, and stays across restarts of NATS servers
// that keep the stream. Append returns once JetStream has acknowledged the
// message: it is then stored (on Replicas servers), and in the history
// even if the hub's process dies the next instant.
//
// A client recovers when the stream still holds a message of its room at
// or before its offset, or when nothing of the stream after its offset
// has been dropped by age and its room kept fewer than MaxPerRoom
// messages since; else it gets a 410 and reloads. Delete the stream, purge
// it or delete messages only with the hubs stopped: the hubs do not follow
// a stream replaced under them.
//
// JetStream is also a [hub.PresenceBroker]: the presence of rooms lives in
// a key-value bucket, "<Name>_PRESENCE", made on the first use of
// presence (it needs nats-server 2.11 or later, for per-key TTLs). Each
// node writes a key of its own with a TTL of two thirds of
// [Stream].PresenceTimeout, every fifth of it; when a node's key expires
// (its process died, or its connection was cut), its members leave the
// presence of every other node, within PresenceTimeout of its last write.
// A node that comes back after being cut off puts its members back.
type JetStream struct {
	*Broker
	js      jetstream.JetStream
	stream  jetstream.Stream
	name    string
	prefix  string // of history subjects: "<prefix>.h."
	perRoom int64
	epoch   atomic.Pointer[string]

	cmu    sync.Mutex
	live   map[*jsSub]struct{}
	closed bool

	memory          bool
	replicas        int
	presenceTimeout time.Duration
	pmu             sync.Mutex
	pres            *presence // started by the first use of presence
}

type jsSub struct {
	cc   jetstream.ConsumeContext
	name string // of the consumer
}

// NewJetStream creates the stream that s describes, or updates it to s,
// and returns a broker that keeps the history of rooms there. opts are
// those of [New]. It returns the error of JetStream, such as
// [jetstream.ErrJetStreamNotEnabled] for a server run without -js.
func NewJetStream(ctx context.Context, nc *nats.Conn, s Stream, opts ...Option) (*JetStream, error) {
	if nc == nil {
		panic("natsbroker: NewJetStream needs a connection")
	}
	if s.Name == "" {
		s.Name = DefaultStreamName
	}
	if s.MaxPerRoom == 0 {
		s.MaxPerRoom = 1000
	}
	if s.MaxAge == 0 {
		s.MaxAge = 24 * time.Hour
	}
	if s.Replicas == 0 {
		s.Replicas = 1
	}
	if s.PresenceTimeout == 0 {
		s.PresenceTimeout = DefaultPresenceTimeout
	}
	if s.MaxPerRoom < 0 || s.MaxAge < 0 || s.Replicas < 1 || s.Replicas > 5 || s.PresenceTimeout < MinPresenceTimeout {
		return nil, fmt.Errorf("natsbroker: invalid stream limits %+v", s)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	b := New(nc, opts...)
	storage := jetstream.FileStorage
	if s.Memory {
		storage = jetstream.MemoryStorage
	}
	hprefix := b.prefix + "h."
	stream, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:              s.Name,
		Subjects:          []string{hprefix + ">"},
		Storage:           storage,
		Replicas:          s.Replicas,
		MaxMsgsPerSubject: s.MaxPerRoom,
		MaxAge:            s.MaxAge,
		Discard:           jetstream.DiscardOld,
		AllowDirect:       true,
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("natsbroker: stream %s: %w", s.Name, err)
	}
	j := &JetStream{Broker: b, js: js, stream: stream, name: s.Name, prefix: hprefix, perRoom: s.MaxPerRoom, live: map[*jsSub]struct{}{},
		memory: s.Memory, replicas: s.Replicas, presenceTimeout: s.PresenceTimeout}
	j.setEpoch(stream.CachedInfo())
	return j, nil
}

// Epoch returns the epoch of the stream, as the broker last read it.
func (j *JetStream) Epoch() string { return *j.epoch.Load() }

func (j *JetStream) setEpoch(info *jetstream.StreamInfo) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", info.Config.Name, info.Created.UnixNano()))
	e := base64.RawURLEncoding.EncodeToString(sum[:6])
	j.epoch.Store(&e)
	return e
}

func (j *JetStream) subject(subject string) (string, error) {
	full := j.prefix + subject
	return full, checkSubject(full)
}

// Append publishes msg to the history of subject and waits for
// JetStream's acknowledgement. limits are the hub's; the stream's own
// ([Stream]) bound what it keeps.
func (j *JetStream) Append(ctx context.Context, subject string, msg []byte, limits hub.History) (hub.Position, error) {
	full, err := j.subject(subject)
	if err != nil {
		return hub.Position{}, err
	}
	ack, err := j.js.Publish(ctx, full, msg, jetstream.WithExpectStream(j.name))
	if err != nil {
		return hub.Position{}, err
	}
	return hub.Position{Epoch: j.Epoch(), Offset: ack.Sequence}, nil
}

// SubscribeHistory calls fn with every message appended to subject from
// now on, in the order of the stream, through an ordered consumer of its
// own: it starts after the stream's last message, and nats.go creates it
// again, from the message after the last it gave, when it misses a
// heartbeat or a message, or the connection comes back.
func (j *JetStream) SubscribeHistory(subject string, fn func(epoch string, e hub.Entry)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("natsbroker: SubscribeHistory needs a function")
	}
	full, err := j.subject(subject)
	if err != nil {
		return nil, err
	}
	j.cmu.Lock()
	closed := j.closed
	j.cmu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := j.info(ctx)
	if err != nil {
		return nil, err
	}
	cons, err := j.js.OrderedConsumer(ctx, j.name, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{full},
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       info.State.LastSeq + 1,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		meta, err := m.Metadata()
		if err != nil {
			return
		}
		fn(j.Epoch(), hub.Entry{Offset: meta.Sequence.Stream, Time: meta.Timestamp, Msg: m.Data()})
	})
	if err != nil {
		return nil, err
	}
	s := &jsSub{cc: cc}
	if ci := cons.CachedInfo(); ci != nil {
		s.name = ci.Name
	}
	j.cmu.Lock()
	j.live[s] = struct{}{}
	j.cmu.Unlock()
	return func() error { return j.stop(s) }, nil
}

// stop ends a history subscription and deletes its consumer.
func (j *JetStream) stop(s *jsSub) error {
	j.cmu.Lock()
	_, ok := j.live[s]
	delete(j.live, s)
	j.cmu.Unlock()
	if !ok {
		return nil
	}
	s.cc.Stop()
	<-s.cc.Closed()
	if s.name == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// A consumer left behind goes after its inactive threshold anyway.
	_ = j.js.DeleteConsumer(ctx, j.name, s.name)
	return nil
}

// info reads the stream's information. (Stream.Info is not safe for
// concurrent use: it keeps what it read.)
func (j *JetStream) info(ctx context.Context) (*jetstream.StreamInfo, error) {
	s, err := j.js.Stream(ctx, j.name)
	if err != nil {
		return nil, err
	}
	return s.CachedInfo(), nil
}

// Since reads the history of subject after the position, through an
// ephemeral consumer deleted once read.
func (j *JetStream) Since(ctx context.Context, subject string, after hub.Position, max int) (hub.Replay, error) {
	full, err := j.subject(subject)
	if err != nil {
		return hub.Replay{}, err
	}
	info, err := j.info(ctx)
	if err != nil {
		return hub.Replay{}, err
	}
	epoch := j.setEpoch(info)
	var r hub.Replay
	r.Now.Epoch = epoch
	switch m, err := j.stream.GetLastMsgForSubject(ctx, full); {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return hub.Replay{}, err
	default:
		r.Now.Offset = m.Sequence
	}
	same := after.Epoch == epoch && after.Offset <= info.State.LastSeq
	start := uint64(1)
	if same {
		start = after.Offset + 1
	}
	var pending uint64
	if r.Now.Offset >= start && max > 0 {
		r.Entries, pending, err = j.read(ctx, full, start, r.Now.Offset, max)
		if err != nil {
			return hub.Replay{}, err
		}
	}
	if !same {
		return r, nil
	}
	// Nothing after the client's offset was dropped when the stream has
	// lost nothing after it by age and the room has not reached its limit
	// since, or, read after the replay, when the room's oldest message is
	// at or before the client's offset, or right after it: the stream has
	// no sequence in between, and a room loses its oldest first. A room
	// whose oldest is further on may have lost a message in between: 410.
	if info.State.FirstSeq <= after.Offset+1 && pending < uint64(j.perRoom) {
		r.Reaches = true
	} else {
		switch m, err := j.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(full)); {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return hub.Replay{}, err
		default:
			r.Reaches = m.Sequence <= after.Offset+1
		}
	}
	return r, nil
}

// read returns the messages of subject from start on, up to last or max
// of them, and how many the stream held from start on.
func (j *JetStream) read(ctx context.Context, full string, start, last uint64, max int) ([]hub.Entry, uint64, error) {
	cons, err := j.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubject:     full,
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       start,
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return nil, 0, err
	}
	info := cons.CachedInfo()
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = j.js.DeleteConsumer(dctx, j.name, info.Name)
	}()
	pending := info.NumPending
	want := int(min(pending, uint64(max)))
	entries := make([]hub.Entry, 0, want)
	for len(entries) < want {
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		batch, err := cons.Fetch(min(want-len(entries), 256), jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			return nil, 0, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				cancel()
				return nil, 0, err
			}
			entries = append(entries, hub.Entry{Offset: meta.Sequence.Stream, Time: meta.Timestamp, Msg: m.Data()})
			if meta.Sequence.Stream >= last {
				cancel()
				return entries, pending, nil
			}
		}
		cancel()
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, 0, err
		}
		if n == 0 {
			break // gone meanwhile
		}
	}
	return entries, pending, nil
}

// Close removes this node's presence entries, ends the history and
// presence subscriptions, then closes the [Broker]. It does not close
// the NATS connection, nor delete the stream or the bucket.
func (j *JetStream) Close() error {
	j.pmu.Lock()
	j.cmu.Lock()
	j.closed = true
	j.cmu.Unlock()
	if j.pres != nil {
		j.pres.close()
		j.pres = nil
	}
	j.pmu.Unlock()
	j.cmu.Lock()
	j.closed = true
	subs := make([]*jsSub, 0, len(j.live))
	for s := range j.live {
		subs = append(subs, s)
	}
	j.cmu.Unlock()
	for _, s := range subs {
		j.stop(s)
	}
	return j.Broker.Close()
}
