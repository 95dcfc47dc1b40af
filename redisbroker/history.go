package redisbroker

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cafeto-go/ws/hub"
	"github.com/redis/go-redis/v9"
)

// appendScript adds a message to a room's history and publishes it.
//
// KEYS: the stream, the meta hash. ARGV: the message, the size, the TTL
// in milliseconds, an epoch for a new history, the history channel.
//
// A stream that does not exist while the meta says messages were appended
// (or has no epoch) was lost: the history starts again, with the new
// epoch. An entry's ID is "<offset>-<milliseconds>": XRANGE finds an
// offset, and the ID keeps the time. The script returns the epoch and the
// offset.
var appendScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
local epoch = redis.call('HGET', KEYS[2], 'e')
if redis.call('EXISTS', KEYS[1]) == 0 then
	local o = tonumber(redis.call('HGET', KEYS[2], 'o') or '1')
	if (not epoch) or o > 0 then
		epoch = ARGV[4]
		redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
	end
elseif not epoch then
	redis.call('DEL', KEYS[1])
	epoch = ARGV[4]
	redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
end
local off = redis.call('HINCRBY', KEYS[2], 'o', 1)
redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[2], string.format('%d-%d', off, now), 'd', ARGV[1])
local cutoff = now - ttl
for i = 1, 100 do
	local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
	if #first == 0 then break end
	local ms = tonumber(string.match(first[1][1], '-(%d+)$'))
	if ms >= cutoff then break end
	redis.call('XDEL', KEYS[1], first[1][1])
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PUBLISH', ARGV[5], string.format('%s\n%d\n%d\n', epoch, off, now) .. ARGV[1])
return {epoch, off}
`)

// sinceScript reads a room's history after an offset.
//
// KEYS: the stream, the meta hash. ARGV: the epoch and the offset asked
// for, the most entries to read, an epoch for a new history, the TTL of a
// history that has no message yet.
//
// It returns the epoch, the last offset, the offset of the oldest entry
// kept (0: none) and the entries after the position, or the oldest ones
// when the epoch is not the room's.
var sinceScript = redis.NewScript(`
local epoch = redis.call('HGET', KEYS[2], 'e')
local o = tonumber(redis.call('HGET', KEYS[2], 'o') or '0')
if (not epoch) or (o > 0 and redis.call('EXISTS', KEYS[1]) == 0) then
	redis.call('DEL', KEYS[1])
	epoch = ARGV[4]
	o = 0
	redis.call('HSET', KEYS[2], 'e', epoch, 'o', 0)
	redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local firstOff = 0
if #first > 0 then firstOff = tonumber(string.match(first[1][1], '^(%d+)-')) end
local start = '-'
if ARGV[1] == epoch then start = string.format('%d-0', tonumber(ARGV[2]) + 1) end
local entries = {}
if tonumber(ARGV[3]) > 0 then
	entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', ARGV[3])
end
return {epoch, o, firstOff, entries}
`)

// emptyTTL is how long the epoch of a room without messages is kept.
const emptyTTL = 24 * time.Hour

func newEpoch() string {
	var b [6]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// historyKeys returns the stream's key, the meta's and the channel of a
// subject.
func (b *Broker) historyKeys(subject string) (stream, meta, channel string) {
	stream = b.prefix + "h.{" + subject + "}"
	return stream, stream + ".m", b.prefix + "h." + subject
}

// Append adds msg to the history of subject, bounded by limits, and
// publishes it to the history's subscribers, in one script.
func (b *Broker) Append(ctx context.Context, subject string, msg []byte, limits hub.History) (hub.Position, error) {
	if err := checkSubject(subject); err != nil {
		return hub.Position{}, err
	}
	if limits.Size < 1 || limits.TTL <= 0 {
		return hub.Position{}, fmt.Errorf("redisbroker: invalid history limits %+v", limits)
	}
	stream, meta, ch := b.historyKeys(subject)
	ttl := max(limits.TTL.Milliseconds(), 1)
	res, err := appendScript.Run(ctx, b.rdb, []string{stream, meta}, msg, limits.Size, ttl, newEpoch(), ch).Slice()
	if err != nil {
		return hub.Position{}, err
	}
	if len(res) != 2 {
		return hub.Position{}, errors.New("redisbroker: unexpected reply to an append")
	}
	epoch, _ := res[0].(string)
	off, _ := res[1].(int64)
	return hub.Position{Epoch: epoch, Offset: uint64(off)}, nil
}

// Since reads the history of subject after the position.
func (b *Broker) Since(ctx context.Context, subject string, after hub.Position, max int) (hub.Replay, error) {
	if err := checkSubject(subject); err != nil {
		return hub.Replay{}, err
	}
	stream, meta, _ := b.historyKeys(subject)
	res, err := sinceScript.Run(ctx, b.rdb, []string{stream, meta}, after.Epoch, after.Offset, max, newEpoch(), emptyTTL.Milliseconds()).Slice()
	if err != nil {
		return hub.Replay{}, err
	}
	if len(res) != 4 {
		return hub.Replay{}, errors.New("redisbroker: unexpected reply to a read")
	}
	epoch, _ := res[0].(string)
	now, _ := res[1].(int64)
	first, _ := res[2].(int64)
	raw, _ := res[3].([]any)
	r := hub.Replay{Now: hub.Position{Epoch: epoch, Offset: uint64(now)}}
	if r.Entries, err = parseEntries(raw); err != nil {
		return hub.Replay{}, err
	}
	// Offsets within an epoch follow each other, and a stream loses its
	// oldest first: it reaches back to after when its oldest entry is
	// at most the next one, or nothing came after.
	r.Reaches = after.Epoch == epoch && after.Offset <= r.Now.Offset &&
		(after.Offset == r.Now.Offset || first > 0 && uint64(first) <= after.Offset+1)
	return r, nil
}

// parseEntries parses the entries of an XRANGE, as a script returns them.
func parseEntries(raw []any) ([]hub.Entry, error) {
	entries := make([]hub.Entry, 0, len(raw))
	for _, x := range raw {
		e, ok := x.([]any)
		if !ok || len(e) != 2 {
			return nil, errors.New("redisbroker: unexpected stream entry")
		}
		id, _ := e[0].(string)
		fields, _ := e[1].([]any)
		off, ms, ok := parseID(id)
		if !ok || len(fields) != 2 {
			return nil, fmt.Errorf("redisbroker: unexpected stream entry %.40q", id)
		}
		msg, _ := fields[1].(string)
		entries = append(entries, hub.Entry{Offset: off, Time: time.UnixMilli(ms), Msg: []byte(msg)})
	}
	return entries, nil
}

func parseID(id string) (off uint64, ms int64, ok bool) {
	a, c, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false
	}
	off, err1 := strconv.ParseUint(a, 10, 64)
	ms, err2 := strconv.ParseInt(c, 10, 64)
	return off, ms, err1 == nil && err2 == nil
}

// histSub is a history subscription. It gives fn the appends in the order
// of their offsets, once: when one skips offsets of its epoch (the
// subscription's connection was lost meanwhile), it reads the missing
// entries from the stream first, and after a reconnection, it reads what
// was appended since the last one it gave.
type histSub struct {
	b       *Broker
	subject string
	fn      func(epoch string, e hub.Entry)

	mu   sync.Mutex // serializes fn
	last hub.Position
}

// SubscribeHistory calls fn with every message appended to subject from
// now on, on the broker's delivery goroutine, until unsubscribe is
// called. It returns once Redis has confirmed the subscription.
func (b *Broker) SubscribeHistory(subject string, fn func(epoch string, e hub.Entry)) (func() error, error) {
	if fn == nil {
		return nil, errors.New("redisbroker: SubscribeHistory needs a function")
	}
	if err := checkSubject(subject); err != nil {
		return nil, err
	}
	s := &histSub{b: b, subject: subject, fn: fn}
	_, _, ch := b.historyKeys(subject)
	remove := func(c *channel) { c.hist = without(c.hist, s) }
	if err := b.subscribe(ch, func(c *channel) { c.hist = append(c.hist, s) }, remove); err != nil {
		return nil, err
	}
	return b.unsubscriber(ch, remove), nil
}

// receive takes a published append: "<epoch>\n<offset>\n<ms>\n<message>".
func (s *histSub) receive(payload string) {
	epoch, rest, ok1 := strings.Cut(payload, "\n")
	offs, rest, ok2 := strings.Cut(rest, "\n")
	mss, msg, ok3 := strings.Cut(rest, "\n")
	off, err1 := strconv.ParseUint(offs, 10, 64)
	ms, err2 := strconv.ParseInt(mss, 10, 64)
	if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch == s.last.Epoch {
		if off <= s.last.Offset {
			return // given already
		}
		if off > s.last.Offset+1 {
			s.fill(off - 1)
		}
	}
	s.give(epoch, hub.Entry{Offset: off, Time: time.UnixMilli(ms), Msg: []byte(msg)})
}

func (s *histSub) give(epoch string, e hub.Entry) {
	s.last = hub.Position{Epoch: epoch, Offset: e.Offset}
	s.fn(epoch, e)
}

// fill gives the entries after the last one given, up to offset upto
// (0: all), that the stream still holds; s.mu is held.
func (s *histSub) fill(upto uint64) {
	if s.last.Epoch == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.b.subscribeWait)
	defer cancel()
	max := 0
	if upto > 0 {
		max = int(min(upto-s.last.Offset, 1<<20))
	} else {
		max = 1 << 20
	}
	r, err := s.b.Since(ctx, s.subject, s.last, max)
	if err != nil || r.Now.Epoch != s.last.Epoch {
		return
	}
	for _, e := range r.Entries {
		if e.Offset > s.last.Offset && (upto == 0 || e.Offset <= upto) {
			s.give(r.Now.Epoch, e)
		}
	}
}

// catchUp gives what was appended while the subscription was away.
func (s *histSub) catchUp() {
	s.b.jobs.Add(1)
	go func() {
		defer s.b.jobs.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		s.fill(0)
	}()
}
