package wsclient_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsclient"
)

// TabMeta is the meta of a connection of the presence server.
type TabMeta struct {
	Tab string `json:"tab"`
}

// newPresenceServer is a Router on a hub with the presence of "lobby":
// "track" tracks the connection as its key, with its tab as meta; "join"
// only joins. Its listener can drop every connection at once.
func newPresenceServer(t *testing.T) *historyServer {
	t.Helper()
	s := &historyServer{h: hub.New(hub.WithPresence("lobby", hub.Presence{}))}
	g := new(ws.Group)
	r := ws.NewRouter(ws.WithGroup(g))
	ws.On(r, "track", func(ctx context.Context, in struct{ Key, Tab string }) (struct{}, error) {
		return struct{}{}, s.h.Track(ws.ConnFromContext(ctx), "lobby", in.Key, TabMeta{Tab: in.Tab})
	})
	ws.On(r, "join", func(ctx context.Context, in struct{}) (struct{}, error) {
		return struct{}{}, s.h.Join(ws.ConnFromContext(ctx), "lobby")
	})
	r.OnDisconnect(func(ctx context.Context, conn *ws.Conn, err error) { s.h.LeaveAll(conn) })
	s.serve(t, r, g)
	return s
}

// tabs lists p's keys and the tabs of their metas, sorted:
// "ana:a1,a2 ben:b1".
func tabs(t *testing.T, p wsclient.Presence) string {
	t.Helper()
	var keys []string
	for key, metas := range p {
		var list []string
		for _, m := range metas {
			var meta TabMeta
			if err := m.Decode(&meta); err != nil || m.Ref == "" || !strings.Contains(string(m.JSON), `"$ref"`) {
				t.Fatalf("meta %s (ref %q): %v", m.JSON, m.Ref, err)
			}
			list = append(list, meta.Tab)
		}
		slices.Sort(list)
		keys = append(keys, key+":"+strings.Join(list, ","))
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}

// tab connects a client tracked in lobby as key, with tab as meta.
func tab(t *testing.T, s *historyServer, key, name string) *wsclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := wsclient.Dial(ctx, s.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := wsclient.Call[struct{}](ctx, c, "track", map[string]string{"Key": key, "Tab": name}); err != nil {
		t.Fatal(err)
	}
	return c
}

// A client keeps the presence of its room from the server's snapshot and
// diffs: a key with two connections is one key with two metas, a tab that
// leaves takes its meta only, the last one its key; after a reconnect the
// room's presence is the new snapshot's, not a merge, and the change
// reported is relative to what the application saw.
func TestPresence(t *testing.T) {
	t.Parallel()
	s := newPresenceServer(t)
	changes := make(chan wsclient.PresenceChange, 100)
	gate := make(chan struct{})
	var connects atomic.Int32
	obs := wsclient.New(s.url,
		wsclient.WithReconnect(time.Millisecond, 10*time.Millisecond),
		wsclient.WithOnConnect(func(ctx context.Context, c *wsclient.Client) error {
			if connects.Add(1) > 1 {
				<-gate // the room changes while the observer is away
			}
			_, err := wsclient.Call[struct{}](ctx, c, "join", struct{}{})
			return err
		}),
		wsclient.WithOnPresence(func(ctx context.Context, ch wsclient.PresenceChange) { changes <- ch }))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := obs.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer obs.Close()

	// until reads changes until the room's presence is want, and returns
	// the change that made it so.
	until := func(want string) wsclient.PresenceChange {
		t.Helper()
		for {
			ch := recv(t, changes)
			if ch.Room != "lobby" {
				t.Fatalf("change of room %q", ch.Room)
			}
			if tabs(t, ch.State) == want {
				if got := tabs(t, obs.Presence("lobby")); got != want {
					t.Fatalf("Presence: %q, want %q", got, want)
				}
				return ch
			}
		}
	}
	until("")
	a1 := tab(t, s, "ana", "a1")
	a2 := tab(t, s, "ana", "a2")
	b1 := tab(t, s, "ben", "b1")
	until("ana:a1,a2 ben:b1")

	a2.Close()
	ch := until("ana:a1 ben:b1")
	if got := tabs(t, ch.Leaves); got != "ana:a2" || len(ch.Joins) != 0 {
		t.Fatalf("a2 left: leaves %q, joins %q; want leaves ana:a2", got, tabs(t, ch.Joins))
	}
	a1.Close()
	ch = until("ben:b1")
	if got := tabs(t, ch.Leaves); got != "ana:a1" {
		t.Fatalf("a1 left: leaves %q, want ana:a1", got)
	}
	if _, ok := ch.State["ana"]; ok {
		t.Fatal("ana is present with no meta")
	}

	// The observer is cut off; ben leaves and cat joins meanwhile.
	s.drop()
	b1.Close()
	c1 := tab(t, s, "cat", "c1")
	defer c1.Close()
	waitUntil(t, "ben's leave", func() bool {
		p, err := s.h.Presence(context.Background(), "lobby")
		return err == nil && len(p) == 1
	})
	close(gate)
	ch = until("cat:c1")
	if j, l := tabs(t, ch.Joins), tabs(t, ch.Leaves); j != "cat:c1" || l != "ben:b1" {
		t.Fatalf("reconnect: joins %q, leaves %q; want cat:c1 and ben:b1", j, l)
	}
	if got := tabs(t, obs.Presence("lobby")); got != "cat:c1" {
		t.Fatalf("Presence after the reconnect: %q, want cat:c1", got)
	}
}
