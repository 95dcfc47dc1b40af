package natsbroker_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/coder/websocket"
)

// oddNames are names of the longest length a hub can be set to take, each
// as odd as names get.
func oddNames() map[string]string {
	all := make([]byte, hub.HardMaxNameLen)
	for i := range all {
		all[i] = byte(i)
	}
	return map[string]string{
		"dots":          strings.Repeat(".", hub.HardMaxNameLen),
		"invalid UTF-8": strings.Repeat("\xff", hub.HardMaxNameLen),
		"every byte":    string(all),
		"wildcards":     strings.Repeat(">.*.", hub.HardMaxNameLen/4),
		"whitespace":    strings.Repeat(" \t\r\n", hub.HardMaxNameLen/4),
	}
}

// TestNamesCannotCutANodeOffNATS: no name, however long or odd, reaches
// NATS as a subject it could not take, which would close the node's
// connection for good. A hub refuses names longer than its limit; the
// longest names it can take, whatever their bytes, cross NATS to the other
// node; the broker refuses invalid subjects given to it directly; and
// afterwards a normal room still delivers across both nodes.
func TestNamesCannotCutANodeOffNATS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, hostile := range map[string]func(a *node) error{
		"join 5000 dots": func(a *node) error { return a.h.Join(a.conn("a1"), strings.Repeat(".", 5000)) },
		"broadcast to 5000 dots": func(a *node) error {
			return a.h.Broadcast(ctx, strings.Repeat(".", 5000), event{Text: "hostile"})
		},
		"broadcast to 1360 dots, no members": func(a *node) error {
			return a.h.Broadcast(ctx, strings.Repeat(".", 1360), event{Text: "hostile"})
		},
		"broadcast to 4090 letters": func(a *node) error {
			return a.h.Broadcast(ctx, strings.Repeat("x", 4090), event{Text: "hostile"})
		},
		"identify as 5000 dots": func(a *node) error { return a.h.Identify(a.conn("a1"), strings.Repeat(".", 5000)) },
		"send to 5000 dots":     func(a *node) error { return a.h.SendTo(ctx, strings.Repeat(".", 5000), event{Text: "hostile"}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startNATS(t, 0)
			// The hubs take the longest names a hub can be set to take.
			a := newNode(t, s.ClientURL(), "a", hub.WithMaxNameLen(hub.HardMaxNameLen))
			b := newNode(t, s.ClientURL(), "b", hub.WithMaxNameLen(hub.HardMaxNameLen))
			a1, b1 := a.dial("a1", "lobby"), b.dial("b1", "lobby")
			flush := func(when string) {
				t.Helper()
				for _, n := range []*node{a, b} {
					if err := n.nc.Flush(); err != nil {
						t.Fatalf("NATS connection of %s %s: %v", n.name, when, err)
					}
				}
			}
			flush("at the start")

			if err := hostile(a); !errors.Is(err, hub.ErrNameTooLong) {
				t.Errorf("hostile name: %v, want hub.ErrNameTooLong", err)
			}
			flush("after the hostile name")

			// The longest odd names cross NATS, to b1 and to a1 on a.
			for what, odd := range oddNames() {
				for _, m := range []struct {
					n    *node
					name string
				}{{a, "a1"}, {b, "b1"}} {
					if err := m.n.h.Join(m.n.conn(m.name), odd); err != nil {
						t.Fatalf("%s: Join: %v", what, err)
					}
				}
				flush("after joining " + what)
				if err := a.h.Broadcast(ctx, odd, event{From: "odd", Text: what}); err != nil {
					t.Fatalf("%s: Broadcast: %v", what, err)
				}
				for _, c := range []*websocket.Conn{a1, b1} {
					if f, err := readFrame(c); err != nil || f.From != "odd" || f.Text != what {
						t.Fatalf("%s: got %+v, %v; want the broadcast", what, f, err)
					}
				}
			}

			// Subjects given to the broker directly: refused, and never
			// sent to NATS.
			for _, subject := range []string{
				"room." + strings.Repeat(".", 5000), "room." + strings.Repeat("x", natsbroker.MaxSubjectLen),
				"", "room..x", "room.x.", "room.>.x", "room.*", "room.a b", "room.a\nb", "room.\xff",
			} {
				if err := a.b.Publish(ctx, subject, []byte("x")); !errors.Is(err, natsbroker.ErrInvalidSubject) {
					t.Errorf("Publish to %.40q: %v, want ErrInvalidSubject", subject, err)
				}
				if _, err := a.b.Subscribe(subject, func([]byte) {}); !errors.Is(err, natsbroker.ErrInvalidSubject) {
					t.Errorf("Subscribe to %.40q: %v, want ErrInvalidSubject", subject, err)
				}
			}
			flush("after the invalid subjects")

			a.broadcast("lobby", 3)
			b.broadcast("lobby", 3)
			for _, c := range []*websocket.Conn{a1, b1} {
				r, err := collect(c, 2, 0, nil)
				if err == nil {
					err = r.check(map[string]int{"a": 3, "b": 3})
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestBrokerFailureKeepsLocalDelivery: once its NATS connection is closed,
// a node's broadcasts fail, and its own members still get them.
func TestBrokerFailureKeepsLocalDelivery(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	a := newNode(t, s.ClientURL(), "a")
	a1 := a.dial("a1", "lobby")
	a.nc.Close()
	for seq := range 3 {
		if err := a.h.Broadcast(context.Background(), "lobby", event{From: "a", Seq: seq}); err == nil {
			t.Fatal("Broadcast over a closed NATS connection: no error")
		}
	}
	for seq := range 3 {
		if f, err := readFrame(a1); err != nil || f.From != "a" || f.Seq != seq {
			t.Fatalf("got %+v, %v; want message %d", f, err, seq)
		}
	}
}
