package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Recovery is what the client learns of a room with history when it
// reconnects, as the function of [WithOnRecover] gets it: the server's
// $recover push (docs/protocol.md, "Rooms with history").
//
// When Recovered is true (status 200), the Replayed messages the client
// missed follow, then the live ones: nothing was lost. When it is false
// (status 410: the history no longer reaches back, or its epoch changed),
// nothing is replayed: reload the room's state, whose messages up to
// Epoch and Offset the pushes that follow come after.
type Recovery struct {
	// Room is the room's name.
	Room string
	// Recovered reports whether every message the client missed follows.
	Recovered bool
	// Epoch and Offset are the room's position after the replay (200), or
	// now (410). Both are zero when the server did not answer the resume
	// for this room and its pushes simply went on: a server that did not
	// read resume, or a resume too long to send whole.
	Epoch  string
	Offset uint64
	// Replayed is how many messages follow that the client missed.
	Replayed int
}

// position is a room's place in its history: an epoch and an offset.
type position struct {
	epoch  string
	offset uint64
}

// histPush is the room and position of a push of a room with history.
type histPush struct {
	room string
	position
}

// maxResumeLen is the longest resume parameter a hub reads, in bytes as
// it stands in the URL (hub.MaxResumeLen); the client sends no longer one.
const maxResumeLen = 16 << 10

// dialURL returns the URL of a new connection: the client's URL with the
// resume parameter of the positions the client holds, and the rooms the
// client holds a position of. Rooms whose positions do not fit in
// maxResumeLen are left out of the URL, not out of the rooms.
func (c *Client) dialURL() (string, map[string]bool) {
	c.pmu.Lock()
	rooms := make([]string, 0, len(c.positions))
	for room := range c.positions {
		rooms = append(rooms, room)
	}
	slices.Sort(rooms)
	var b strings.Builder
	for _, room := range rooms {
		p := c.positions[room]
		name, _ := json.Marshal(room)
		item := string(name) + `:{"epoch":` + strconv.Quote(p.epoch) + `,"offset":` + strconv.FormatUint(p.offset, 10) + "}"
		sep := "%7B" // {
		if b.Len() > 0 {
			sep = "%2C" // ,
		}
		esc := url.QueryEscape(item)
		if b.Len()+len(sep)+len(esc)+len("%7D") > maxResumeLen {
			c.o.logger.WarnContext(c.ctx, "wsclient: resume too long, rooms left out", "rooms", len(rooms))
			break
		}
		b.WriteString(sep)
		b.WriteString(esc)
	}
	c.pmu.Unlock()
	if len(rooms) == 0 {
		return c.url, nil
	}
	asked := make(map[string]bool, len(rooms))
	for _, room := range rooms {
		asked[room] = true
	}
	u, err := url.Parse(c.url)
	if err != nil || b.Len() == 0 {
		return c.url, asked
	}
	b.WriteString("%7D") // }
	q := []string{}
	for kv := range strings.SplitSeq(u.RawQuery, "&") {
		if kv != "" && kv != "resume" && !strings.HasPrefix(kv, "resume=") {
			q = append(q, kv)
		}
	}
	u.RawQuery = strings.Join(append(q, "resume="+b.String()), "&")
	return u.String(), asked
}

// handOver reports whether the push at h goes to the application, and
// takes its position as the room's: a push at or before the room's
// position in the same epoch was handed over already (a replay that
// overlaps what a connection delivered before it was lost) and is
// dropped. It runs on the push goroutine, as the pushes are handed over.
func (c *Client) handOver(h *histPush) bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if p, ok := c.positions[h.room]; ok && p.epoch == h.epoch && h.offset <= p.offset {
		return false
	}
	c.positions[h.room] = h.position
	return true
}

// recovered takes the position of a recovery that replays nothing: the
// pushes that follow come after it. It runs on the push goroutine.
func (c *Client) recovered(r *Recovery) {
	if r.Recovered || r.Epoch == "" {
		return
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.positions[r.Room] = position{r.Epoch, r.Offset}
}

// historyOf returns the room and position of a frame that has "room",
// "epoch" and "offset", or nil.
func historyOf(f *frame) *histPush {
	if len(f.Room) == 0 || len(f.Epoch) == 0 || len(f.Offset) == 0 {
		return nil
	}
	room, ok := eventName(f.Room)
	if !ok {
		return nil
	}
	epoch, ok := eventName(f.Epoch)
	if !ok || epoch == "" {
		return nil
	}
	offset, ok := parseUint(f.Offset, 20)
	if !ok {
		return nil
	}
	return &histPush{room: room, position: position{epoch, offset}}
}

// recoverBody is the body of a $recover push.
type recoverBody struct {
	Epoch    string `json:"epoch"`
	Offset   uint64 `json:"offset"`
	Replayed int    `json:"replayed"`
}

// recoverPush hands a $recover push to the function of WithOnRecover, on
// the reader; it reports false when the push buffer is full.
func (cn *conn) recoverPush(f *frame, status int) bool {
	room, ok := eventName(f.Room)
	if !ok {
		return true
	}
	var b recoverBody
	if json.Unmarshal(f.Body, &b) != nil {
		cn.c.o.logger.WarnContext(cn.c.ctx, "wsclient: $recover does not decode", "room", room)
		return true
	}
	cn.settled(room)
	return cn.c.recovery(&Recovery{Room: room, Recovered: status == 200, Epoch: b.Epoch, Offset: b.Offset, Replayed: b.Replayed})
}

// settled records that room got its $recover on this connection, and
// reports whether it had not yet: a room the client asked to resume whose
// first push is not a $recover was not recovered.
func (cn *conn) settled(room string) bool {
	if !cn.asked[room] {
		return false
	}
	delete(cn.asked, room)
	return true
}

// recovery queues r for the function of WithOnRecover; it reports false
// when the push buffer is full.
func (c *Client) recovery(r *Recovery) bool {
	fn := c.o.onRecover
	return c.enqueue(push{
		run: func(ctx context.Context) error {
			if fn != nil {
				fn(ctx, *r)
			}
			return nil
		},
		msg: Message{Event: "$recover", Room: r.Room},
		rec: r,
	})
}

// historyPush hands a push of a room with history to its handler, on the
// reader. When the push buffer is full, the push cannot be dropped as
// others are, or the room would have a gap the client never knows of: the
// connection is dropped instead, with ErrPushOverflow, and none of its
// later pushes of rooms with history is handed over; a reconnecting client
// resumes after the last push handed over, and gets the rest again.
func (cn *conn) historyPush(event string, status int, body []byte, h *histPush) {
	if cn.behind {
		return
	}
	if cn.settled(h.room) && !cn.c.recovery(&Recovery{Room: h.room}) {
		cn.fallBehind(h.room)
		return
	}
	if !cn.c.push(event, status, body, h) {
		cn.fallBehind(h.room)
	}
}

// fallBehind drops the connection whose pushes of rooms with history no
// longer fit in the push buffer.
func (cn *conn) fallBehind(room string) {
	cn.behind = true
	cn.c.o.logger.WarnContext(cn.c.ctx, "wsclient: push of a room with history dropped: handlers are behind; dropping the connection to resume", "room", room, "buffer", cap(cn.c.pushq))
	cn.drop(ErrPushOverflow)
}

// isRecover reports whether raw is the JSON string "$recover".
func isRecover(raw []byte) bool { return bytes.Equal(raw, []byte(`"$recover"`)) }
