package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/cafeto-go/ws/hub"
)

// TestRoomsWithoutBrokerKeepNothingPerNameByte: without a broker, a room
// costs the hub the same whatever its name; the name is not encoded into
// anything. The test is not parallel: it counts the bytes the process
// allocates.
func TestRoomsWithoutBrokerKeepNothingPerNameByte(t *testing.T) {
	n := newNode(t, nodeOptions{})
	n.dial("a")
	conn := n.conn("a")
	const rooms = 200
	short, long := make([]string, rooms), make([]string, rooms)
	for i := range rooms {
		short[i] = fmt.Sprintf("r%03d", i)
		long[i] = strings.Repeat(".", 250) + fmt.Sprintf("r%03d", i)
	}
	// The same joins on two hubs: their maps grow alike.
	cost := func(names []string) uint64 {
		h := hub.New()
		defer h.Close()
		if err := h.Join(conn, "warm-up"); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for _, name := range names {
			if err := h.Join(conn, name); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	s, l := cost(short), cost(long)
	perRoom := (int64(l) - int64(s)) / rooms
	t.Logf("%d rooms: %d bytes with 4-byte names, %d bytes with 254-byte names", rooms, s, l)
	if perRoom > 64 {
		t.Fatalf("a room with a 254-byte name costs %d bytes more than one with a 4-byte name, want about 0", perRoom)
	}
}

// syncBuffer is a bytes.Buffer for a logger used from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestWithLoggerNilKeepsTheDefault(t *testing.T) {
	t.Parallel()
	var broker hub.MemoryBroker
	n := newNode(t, nodeOptions{}, hub.WithBroker(&broker), hub.WithLogger(nil))
	c := n.dial("a", "lobby")
	// A malformed message on the room's subject: the hub logs an error.
	if err := broker.Publish(context.Background(), "room.lobby", []byte("not a frame")); err != nil {
		t.Fatal(err)
	}
	broadcastAll(t, n.h, "lobby", "end")
	expect(t, c, "end")
}

// panicky is a value whose JSON encoding panics.
type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("panicky value") }

// panickyBroker is a MemoryBroker whose methods panic for some subjects.
type panickyBroker struct{ hub.MemoryBroker }

func (b *panickyBroker) Publish(ctx context.Context, subject string, msg []byte) error {
	if subject == "room.publish-panics" {
		panic("panicky Publish")
	}
	return b.MemoryBroker.Publish(ctx, subject, msg)
}

func (b *panickyBroker) Subscribe(subject string, fn func([]byte)) (func() error, error) {
	switch subject {
	case "room.subscribe-panics":
		panic("panicky Subscribe")
	case "room.unsubscribe-panics":
		return func() error { panic("panicky unsubscribe") }, nil
	}
	return b.MemoryBroker.Subscribe(subject, fn)
}

// TestPanicsOfUserCodeAreErrors: a value whose encoding panics, or a
// broker that panics, makes the call return an error wrapping
// hub.ErrPanic; the panic is logged with its stack, and the hub goes on
// delivering, in the caller's goroutine and in its own.
func TestPanicsOfUserCodeAreErrors(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	n := newNode(t, nodeOptions{noLeaveAll: true}, hub.WithBroker(&panickyBroker{}), hub.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	c := n.dial("a", "lobby", "publish-panics")
	if err := n.h.Identify(n.conn("a"), "u1"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Broadcast":       func() error { return n.h.Broadcast(ctx, "lobby", panicky{}) },
		"BroadcastExcept": func() error { return n.h.BroadcastExcept(ctx, "lobby", nil, []any{panicky{}}) },
		"SendTo":          func() error { return n.h.SendTo(ctx, "u1", map[string]any{"v": panicky{}}) },
		"Publish":         func() error { return n.h.Broadcast(ctx, "publish-panics", event{Text: "local"}) },
		"Subscribe":       func() error { return n.h.Join(n.conn("a"), "subscribe-panics") },
	} {
		if err := call(); !errors.Is(err, hub.ErrPanic) {
			t.Errorf("%s: %v, want hub.ErrPanic", name, err)
		}
	}
	if got := n.h.Count("subscribe-panics"); got != 0 {
		t.Errorf("Count(subscribe-panics) = %d after a Join whose Subscribe panicked, want 0", got)
	}
	// a got the broadcast whose Publish panicked: the local members do not
	// depend on the broker.
	broadcastAll(t, n.h, "lobby", "after", "end")
	expect(t, c, "end", "local", "after")

	// An unsubscribe that panics in the hub's own goroutine: b's
	// connection ends, and the hub, noticing it by itself, leaves its
	// room.
	b := n.dial("b", "unsubscribe-panics")
	b.Close()
	waitFor(t, "b to leave", func() bool { return n.h.Count("unsubscribe-panics") == 0 })
	broadcastAll(t, n.h, "lobby", "still here", "end")
	expect(t, c, "end", "still here")

	got := logs.String()
	for _, want := range []string{"panicky value", "panicky Publish", "panicky Subscribe", "panicky unsubscribe", "goroutine"} {
		if !strings.Contains(got, want) {
			t.Errorf("the log has no %q: %s", want, got)
		}
	}
}

// failingBroker refuses every message.
type failingBroker struct{ hub.MemoryBroker }

func (*failingBroker) Publish(context.Context, string, []byte) error {
	return errors.New("broker down")
}

func TestLocalMembersGetBroadcastsTheBrokerRefuses(t *testing.T) {
	t.Parallel()
	n := newNode(t, nodeOptions{}, hub.WithBroker(&failingBroker{}))
	c := n.dial("a", "lobby")
	if err := n.h.Broadcast(context.Background(), "lobby", event{Text: "local"}); err == nil || !strings.Contains(err.Error(), "broker down") {
		t.Fatalf("Broadcast with a failing broker = %v, want its error", err)
	}
	n.h.Broadcast(context.Background(), "lobby", event{Text: "end"})
	expect(t, c, "end", "local")
	if err := n.h.Join(n.conn("a"), "other"); err != nil {
		t.Fatal(err)
	}
	if err := n.h.SendTo(context.Background(), "nobody", event{}); err == nil {
		t.Fatal("SendTo with a failing broker: no error")
	}
}

func TestNamesAreBounded(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{0, 1, 100, hub.HardMaxNameLen} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			var opts []hub.Option
			if limit == 0 {
				limit = hub.DefaultMaxNameLen
			} else {
				opts = append(opts, hub.WithMaxNameLen(limit))
			}
			n := newNode(t, nodeOptions{}, opts...)
			c := n.dialQuery(url.Values{"name": {"a"}, "room": {"l"}, "id": {"u"}})
			conn := n.conn("a")
			ctx := context.Background()
			calls := map[string]func(name string) error{
				"Join":            func(name string) error { return n.h.Join(conn, name) },
				"Identify":        func(name string) error { return n.h.Identify(conn, name) },
				"Broadcast":       func(name string) error { return n.h.Broadcast(ctx, name, event{Text: "broadcast"}) },
				"BroadcastExcept": func(name string) error { return n.h.BroadcastExcept(ctx, name, nil, event{Text: "except"}) },
				"SendTo":          func(name string) error { return n.h.SendTo(ctx, name, event{Text: "sendto"}) },
			}
			for what, call := range calls {
				if err := call(strings.Repeat("\xff", limit+1)); !errors.Is(err, hub.ErrNameTooLong) || !strings.HasPrefix(err.Error(), "hub: ") {
					t.Errorf("%s with a name of %d bytes: %v, want hub.ErrNameTooLong", what, limit+1, err)
				}
				if what == "Identify" {
					continue // an empty id removes it
				}
				if err := call(""); !errors.Is(err, hub.ErrEmptyName) {
					t.Errorf("%s with an empty name: %v, want hub.ErrEmptyName", what, err)
				}
			}
			// Refused names left a where it was: in room l, as u.
			if got := n.h.Count("l"); got != 1 {
				t.Fatalf("Count(l) = %d, want 1", got)
			}
			if err := n.h.SendTo(ctx, "u", event{Text: "still u"}); err != nil {
				t.Fatal(err)
			}
			broadcastAll(t, n.h, "l", "end")
			expect(t, c, "end", "still u")

			// A name of exactly the limit is taken.
			longest := strings.Repeat("\xff", limit)
			for _, what := range []string{"Join", "Identify", "Broadcast", "BroadcastExcept", "SendTo"} {
				if err := calls[what](longest); err != nil {
					t.Fatalf("%s with a name of %d bytes: %v", what, limit, err)
				}
			}
			broadcastAll(t, n.h, "l", "end")
			expect(t, c, "end", "broadcast", "except", "sendto")
		})
	}
}

func TestWithMaxNameLenPanics(t *testing.T) {
	t.Parallel()
	for _, n := range []int{-1, 0, hub.HardMaxNameLen + 1} {
		func() {
			defer func() {
				if r, _ := recover().(string); !strings.HasPrefix(r, "hub: ") {
					t.Errorf("WithMaxNameLen(%d): recovered %q, want a hub: panic", n, r)
				}
			}()
			hub.WithMaxNameLen(n)
		}()
	}
}
