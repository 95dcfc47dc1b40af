package natsbroker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
)

// consumers counts the consumers of the stream name, through a
// connection of the test's own.
func consumers(t testing.TB, natsURL, name string) int {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := natsJetStream(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	names := s.ConsumerNames(ctx)
	for range names.Name() {
		n++
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// publishSeq broadcasts the seqs from..to to room on n.
func publishSeq(t testing.TB, n *jnode, room string, from, to int) {
	t.Helper()
	for seq := from; seq <= to; seq++ {
		if err := n.h.Broadcast(context.Background(), room, ws.Ok(hbody{Seq: seq})); err != nil {
			t.Fatal(err)
		}
	}
}

// A reconnect storm: 200 clients resume the same room on one node at the
// same instant. Each recovers exactly what it missed, and once they are
// all gone the stream is left with no consumer: neither the replays'
// ephemeral consumers nor the room's ordered one.
func TestJetStreamResumeStormLeavesNoConsumer(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	a := newJNode(t, s.ClientURL(), natsbroker.Stream{Memory: true})
	first, err := a.dial(t, "", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	// Count is 1 before Join has subscribed: wait for the room's consumer.
	waitFor(t, "subscribed", func() bool { return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 1 })
	publishSeq(t, a, "lobby", 1, 50)
	m := &member{room: "lobby", next: 1}
	for range 10 {
		p, err := readPush(first)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.take(p); err != nil {
			t.Fatal(err)
		}
	}
	first.CloseNow()
	waitFor(t, "left", func() bool { return a.h.Count("lobby") == 0 })

	const storm = 200
	resume := m.resume()
	var wg sync.WaitGroup
	errs := make(chan error, storm)
	conns := make(chan *websocket.Conn, storm)
	for range storm {
		wg.Go(func() {
			c, err := a.dial(t, resume, "lobby")
			if err != nil {
				errs <- err
				return
			}
			conns <- c
			mm := *m
			p, err := readPush(c)
			if err != nil {
				errs <- err
				return
			}
			if p.Event != "$recover" || p.StatusCode != 200 {
				errs <- fmt.Errorf("first push %+v, want $recover 200", p)
				return
			}
			var b recoverBody
			json.Unmarshal(p.Body, &b)
			if b.Replayed != 40 {
				errs <- fmt.Errorf("$recover %+v, want 40 replayed", b)
				return
			}
			for range 40 {
				p, err := readPush(c)
				if err == nil {
					err = mm.take(p)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	close(conns)
	for err := range errs {
		t.Error(err)
	}
	// The server still answers: a live message reaches a member.
	for c := range conns {
		c.CloseNow()
	}
	waitFor(t, "everyone left", func() bool { return a.h.Count("lobby") == 0 })
	waitFor(t, "no consumer left in the stream", func() bool {
		return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 0
	})
}

// A client that resumes the same room on many connections at once: each
// replay creates an ephemeral consumer of its own, and none is left
// behind, while the room's one ordered consumer stays as long as a member
// does.
func TestJetStreamManyResumesOfOneClientLeaveOneConsumer(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	a := newJNode(t, s.ClientURL(), natsbroker.Stream{Memory: true})
	stay, err := a.dial(t, "", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	// Count is 1 before Join has subscribed: wait for the room's consumer.
	waitFor(t, "subscribed", func() bool { return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 1 })
	publishSeq(t, a, "lobby", 1, 20)
	m := &member{room: "lobby", next: 1}
	for range 20 {
		p, err := readPush(stay)
		if err == nil {
			err = m.take(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Resume from before the first message: everything is replayed.
	resume := fmt.Sprintf(`{"lobby":{"epoch":%q,"offset":0}}`, m.pos.Epoch)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			c, err := a.dial(t, resume, "lobby")
			if err != nil {
				t.Error(err)
				return
			}
			defer c.CloseNow()
			if p, err := readPush(c); err != nil || p.Event != "$recover" || p.StatusCode != 200 {
				t.Errorf("%+v %v, want $recover 200", p, err)
			}
		})
	}
	wg.Wait()
	waitFor(t, "back to one member", func() bool { return a.h.Count("lobby") == 1 })
	waitFor(t, "one consumer: the room's", func() bool {
		return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 1
	})
}

// A client that missed exactly as many messages as the stream keeps per
// room finds every one of them in the room's history (the oldest kept is
// the one right after its own), so it recovers, as it does with the hub's
// memory history; one that missed one more gets 410, never a replay with a
// gap.
func TestJetStreamResumeAtRoomLimit(t *testing.T) {
	t.Parallel()
	const perRoom = 5
	for _, tc := range []struct {
		missed, status int
	}{{perRoom, 200}, {perRoom + 1, 410}} {
		t.Run(fmt.Sprintf("missed %d", tc.missed), func(t *testing.T) {
			t.Parallel()
			s := startJS(t, "")
			a := newJNode(t, s.ClientURL(), natsbroker.Stream{Memory: true, MaxPerRoom: perRoom})
			c, err := a.dial(t, "", "lobby")
			if err != nil {
				t.Fatal(err)
			}
			// Count is 1 before Join has subscribed: wait for the room's consumer.
			waitFor(t, "subscribed", func() bool { return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 1 })
			publishSeq(t, a, "lobby", 1, 3)
			m := &member{room: "lobby", next: 1}
			takePushes(t, c, m, 3)
			c.CloseNow()
			waitFor(t, "left", func() bool { return a.h.Count("lobby") == 0 })
			publishSeq(t, a, "lobby", 4, 3+tc.missed)
			c, err = a.dial(t, m.resume(), "lobby")
			if err != nil {
				t.Fatal(err)
			}
			p, err := readPush(c)
			if err != nil {
				t.Fatal(err)
			}
			if p.Event != "$recover" || p.StatusCode != tc.status {
				t.Fatalf("missed %d, %d kept: %s %d %s, want $recover %d", tc.missed, perRoom, p.Event, p.StatusCode, p.Body, tc.status)
			}
			if tc.status == 200 {
				takePushes(t, c, m, tc.missed)
			}
		})
	}
}

// takePushes reads n pushes with c, each the next one m expects.
func takePushes(t *testing.T, c *websocket.Conn, m *member, n int) {
	t.Helper()
	for range n {
		p, err := readPush(c)
		if err == nil {
			err = m.take(p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A publisher and resumers racing at the edge of the room's history: each
// resume either recovers with no gap and no duplicate, or gets 410; never
// a silent gap.
func TestJetStreamResumeRacesPublisherAtRoomLimit(t *testing.T) {
	t.Parallel()
	const perRoom = 20
	s := startJS(t, "")
	a := newJNode(t, s.ClientURL(), natsbroker.Stream{Memory: true, MaxPerRoom: perRoom})
	watch, err := a.dial(t, "", "lobby")
	if err != nil {
		t.Fatal(err)
	}
	// Count is 1 before Join has subscribed: wait for the room's consumer.
	waitFor(t, "subscribed", func() bool { return consumers(t, s.ClientURL(), natsbroker.DefaultStreamName) == 1 })
	w := &member{room: "lobby", next: 1}
	// The watcher takes a first message, so that every round's resumer
	// has a position to resume from.
	publishSeq(t, a, "lobby", 1, 1)
	if p, err := readPush(watch); err != nil {
		t.Fatal(err)
	} else if err := w.take(p); err != nil {
		t.Fatal(err)
	}
	next := 2
	recovered, gone := 0, 0
	for round := range 30 {
		// The resumer missed perRoom-2 messages; 4 more are published while
		// it resumes, so that the room's limit is crossed during the replay.
		publishSeq(t, a, "lobby", next, next+perRoom-3)
		m := &member{room: "lobby", pos: w.pos, next: w.next}
		next += perRoom - 2
		done := make(chan struct{})
		go func(from int) {
			defer close(done)
			publishSeq(t, a, "lobby", from, from+3)
		}(next)
		next += 4
		c, err := a.dial(t, m.resume(), "lobby")
		if err != nil {
			t.Fatal(err)
		}
		p, err := readPush(c)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case p.Event == "$recover" && p.StatusCode == 410:
			gone++
		case p.Event == "$recover" && p.StatusCode == 200 && m.pos.Epoch != "":
			recovered++
			for m.next < next {
				p, err := readPush(c)
				if err == nil {
					err = m.take(p)
				}
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		case m.pos.Epoch == "" && p.Event != "$recover":
		default:
			t.Fatalf("first push %+v", p)
		}
		c.CloseNow()
		<-done
		for w.next < next {
			p, err := readPush(watch)
			if err == nil {
				err = w.take(p)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d recovered, %d gone", recovered, gone)
}

// One hub, a room whose presence holds at most 5 connections, 40
// connections tracked at the same instant: the hub refuses all but about
// 5. The documentation allows "a few" more, for two hubs tracking at the
// same instant, none for one hub alone.
func TestJetStreamPresenceBoundOneHubConcurrentTracks(t *testing.T) {
	t.Parallel()
	s := startJS(t, "")
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := natsbroker.NewJetStream(ctx, nc, natsbroker.Stream{Memory: true, PresenceTimeout: testTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const limit = 5
	h := hub.New(hub.WithBroker(b), hub.WithPresence("*", hub.Presence{MaxEntries: limit}))
	defer h.Close()
	var mu sync.Mutex
	var ok, full int
	onConnect := func(ctx context.Context, conn *ws.Conn) error {
		err := h.Track(conn, "lobby", conn.Request().URL.Query().Get("key"), nil)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			ok++
		case errors.Is(err, hub.ErrPresenceFull):
			full++
		default:
			t.Errorf("Track: %v", err)
		}
		return nil
	}
	onReceive := func(ctx context.Context, in hbody) (ws.StatusEnvelope[any], error) {
		return ws.NoContent[any](), nil
	}
	var group ws.Group
	srv := httptest.NewServer(ws.Callback(onConnect, onReceive, func(ctx context.Context, conn *ws.Conn, err error) { h.LeaveAll(conn) }, ws.WithGroup(&group)))
	defer func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		group.Shutdown(ctx)
	}()
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, srv.URL+"/?"+url.Values{"key": {fmt.Sprint("k", i)}}.Encode(), nil)
			if err != nil {
				t.Error(err)
				return
			}
			t.Cleanup(func() { c.CloseNow() })
		})
	}
	wg.Wait()
	waitFor(t, "every Track answered", func() bool { mu.Lock(); defer mu.Unlock(); return ok+full == n })
	var present map[string][]json.RawMessage
	waitFor(t, "presence settled", func() bool {
		present, _ = h.Presence(context.Background(), "lobby")
		return len(present) >= ok
	})
	if ok > limit+2 {
		t.Fatalf("%d of %d tracked (%d in presence) with MaxEntries %d", ok, n, len(present), limit)
	}
}
