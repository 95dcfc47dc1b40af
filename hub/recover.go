package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MaxResumeLen is the longest resume parameter a hub reads, in bytes as it
// stands in the URL; a longer one is ignored whole.
const MaxResumeLen = 16 << 10

// parseResume returns the positions of the rooms in r's resume parameter:
// URL-encoded JSON {"room":{"epoch":"…","offset":42},…}. A parameter that
// is missing, longer than MaxResumeLen or not a JSON object gives nothing;
// a room whose name or position does not parse is left out.
func parseResume(r *http.Request, maxNameLen int) map[string]Position {
	if r == nil || r.URL == nil {
		return nil
	}
	raw, found := "", false
	for q := r.URL.RawQuery; q != "" && !found; {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		raw, found = strings.CutPrefix(kv, "resume=")
	}
	if !found || raw == "" || len(raw) > MaxResumeLen {
		return nil
	}
	s, err := url.QueryUnescape(raw)
	if err != nil {
		return nil
	}
	var rooms map[string]json.RawMessage
	if json.Unmarshal([]byte(s), &rooms) != nil {
		return nil
	}
	out := make(map[string]Position, len(rooms))
	for room, v := range rooms {
		var p struct {
			Epoch  string `json:"epoch"`
			Offset uint64 `json:"offset"`
		}
		if room == "" || len(room) > maxNameLen || json.Unmarshal(v, &p) != nil || !validEpoch(p.Epoch) {
			continue
		}
		out[room] = Position(p)
	}
	return out
}

// recovery is a member's recovery in a room with history: where its
// client was, and the room's messages that arrived since it joined, held
// until the replay is queued.
type recovery struct {
	after Position
	held  []*message
}

// hold keeps msg for c until the replay is queued; past the queue's
// bound, c is too slow. It is called with the group's lock held.
func (r *recovery) hold(c *client, msg *message) {
	if len(r.held) >= c.h.queueSize {
		c.overflow()
		return
	}
	r.held = append(r.held, msg)
}

// recoverPush is the $recover push.
type recoverPush struct {
	Event      string      `json:"event"`
	Room       string      `json:"room"`
	StatusCode int         `json:"statusCode"`
	Body       recoverBody `json:"body"`
}

type recoverBody struct {
	Epoch    string `json:"epoch"`
	Offset   uint64 `json:"offset"`
	Replayed int    `json:"replayed"`
}

// resume reads the history of g, which c has joined with rec, and queues
// for c the $recover push, the replay and the messages held meanwhile, in
// order, without a gap or a duplicate: every message of an offset above
// the replay's last that the broker gives the hub after the read is
// delivered live, any other dropped. An error of the broker is returned;
// c then leaves g.
func (h *Hub) resume(c *client, g *group, rec *recovery) error {
	r, err := h.since(c.conn.Context(), g.subject, rec.after, g.limits.Size)
	if err != nil {
		h.smu.Lock()
		h.mu.Lock()
		var empty *group
		if c.rooms[g.name] == g {
			delete(c.rooms, g.name)
			empty = h.removeLocked(c, g)
		}
		h.mu.Unlock()
		h.unsubscribe(empty)
		h.smu.Unlock()
		return fmt.Errorf("hub: recover %s: %w", g.subject, err)
	}
	n := len(r.Entries)
	ok := r.Reaches && r.Now.Epoch == rec.after.Epoch && rec.after.Offset <= r.Now.Offset &&
		(n < g.limits.Size || r.Entries[n-1].Offset >= r.Now.Offset)
	push := recoverPush{Event: "$recover", Room: g.name, StatusCode: 200}
	msgs := make([]*message, 1, 1+n)
	floor := rec.after.Offset
	if ok {
		for _, e := range r.Entries {
			if e.Offset <= floor {
				continue // a broker's mistake; never twice
			}
			if data := h.push(g.roomJSON, r.Now.Epoch, e); data != nil {
				msgs = append(msgs, &message{data: data, offset: e.Offset})
				floor = e.Offset
			}
		}
		push.Body = recoverBody{Epoch: r.Now.Epoch, Offset: floor, Replayed: len(msgs) - 1}
	} else {
		// The client reloads the room's state, which holds every message
		// up to now: what follows is live.
		floor = r.Now.Offset
		push.StatusCode = 410
		push.Body = recoverBody{Epoch: r.Now.Epoch, Offset: floor}
	}
	data, err := json.Marshal(push)
	if err != nil {
		return fmt.Errorf("hub: recover: %w", err)
	}
	msgs[0] = &message{data: data}

	g.mu.Lock()
	i, member := g.index[c]
	if !member || g.members[i].pending != rec {
		g.mu.Unlock()
		return nil // it left meanwhile
	}
	m := &g.members[i]
	m.pending, m.floor = nil, floor
	for _, msg := range rec.held {
		if msg.offset > floor || msg.offset == 0 { // 0: a $presence push
			msgs = append(msgs, msg)
		}
	}
	c.enqueueReplay(msgs)
	g.mu.Unlock()

	h.mu.Lock()
	if c.rooms[g.name] == g {
		if c.recovered == nil {
			c.recovered = make(map[string]bool)
		}
		c.recovered[g.name] = ok
	}
	h.mu.Unlock()
	return nil
}

// since reads the history of subject, under guard.
func (h *Hub) since(ctx context.Context, subject string, after Position, max int) (r Replay, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = Replay{}, h.recovered(ctx, "HistoryBroker.Since", p)
		}
	}()
	return h.hist.Since(ctx, subject, after, max)
}

// appendHistory appends frame to subject's history, under guard.
func (h *Hub) appendHistory(ctx context.Context, subject string, frame []byte, limits History) (p Position, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = Position{}, h.recovered(ctx, "HistoryBroker.Append", r)
		}
	}()
	return h.hist.Append(ctx, subject, frame, limits)
}

// subscribeHistory subscribes g to its history, under guard.
func (h *Hub) subscribeHistory(g *group) (unsub func() error, err error) {
	defer func() {
		if r := recover(); r != nil {
			unsub, err = nil, h.recovered(context.Background(), "HistoryBroker.SubscribeHistory", r)
		}
	}()
	return h.hist.SubscribeHistory(g.subject, h.historyReceiver(g))
}

// historyReceiver returns the history callback of g: it delivers every
// message to g's members here, those of this hub too, but for the
// connection a BroadcastExcept of this hub left out.
func (h *Hub) historyReceiver(g *group) func(string, Entry) {
	return func(epoch string, e Entry) {
		node, except, payload, ok := parseFrame(e.Msg)
		if !ok || len(payload) < 2 || payload[0] != '{' || payload[len(payload)-1] != '}' || !validEpoch(epoch) || e.Offset == 0 {
			h.logger.Error("hub: malformed history message from the broker", "subject", g.subject, "len", len(e.Msg), "offset", e.Offset)
			return
		}
		if node != h.node {
			except = 0
		}
		data := appendPush(make([]byte, 0, len(payload)+len(g.roomJSON)+len(epoch)+40), payload, g.roomJSON, epoch, e.Offset)
		g.deliver(&message{data: data, offset: e.Offset}, except)
	}
}
