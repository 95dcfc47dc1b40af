package natsbroker_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/natsbroker"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// subscribingBroker subscribes to every subject the hub publishes on
// before it publishes, so that each subject is both subscribed to and
// published on at NATS.
type subscribingBroker struct{ *natsbroker.Broker }

func (b subscribingBroker) Publish(ctx context.Context, subject string, msg []byte) error {
	unsub, err := b.Subscribe(subject, func([]byte) {})
	if err != nil {
		return err
	}
	defer unsub()
	return b.Broker.Publish(ctx, subject, msg)
}

// FuzzSubjects gives arbitrary bytes, on a real NATS connection, to a
// broker as a subject and to a hub as a room name. The broker takes
// exactly the subjects NATS's rules allow, within natsbroker.MaxSubjectLen
// and valid UTF-8, and refuses the others with ErrInvalidSubject; the hub
// takes every name of 1 to hub.HardMaxNameLen bytes, and NATS takes its
// subject. Whatever the input, the connection stays open.
func FuzzSubjects(f *testing.F) {
	for _, seed := range []string{
		"room.lobby", "", ".", "room..x", "room.x.", ".room", "room.*", "room.>", "room.>.x", "room.a*b", "room.a>",
		"room.a b", "room.a\tb", "room.a\r\nPUB x 1", "room.a\x00b", "room.a\x7fb", "room.\xff", "room.é",
		strings.Repeat(".", 1360), strings.Repeat("x", 4090), strings.Repeat("x", natsbroker.MaxSubjectLen-len(natsbroker.DefaultPrefix)-1),
		strings.Repeat("x", natsbroker.MaxSubjectLen-len(natsbroker.DefaultPrefix)),
		strings.Repeat(".", hub.HardMaxNameLen), strings.Repeat("\xff", hub.HardMaxNameLen),
	} {
		f.Add(seed)
	}
	s := startNATS(f, 0)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		f.Fatal(err)
	}
	b := natsbroker.New(nc)
	h := hub.New(hub.WithBroker(subscribingBroker{b}), hub.WithMaxNameLen(hub.HardMaxNameLen))
	f.Cleanup(func() {
		h.Close()
		b.Close()
		nc.Close()
	})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, in string) {
		full := natsbroker.DefaultPrefix + "." + in
		valid := len(full) <= natsbroker.MaxSubjectLen && utf8.ValidString(full) &&
			server.IsValidSubject(full) && server.IsValidLiteralSubject(full) &&
			!strings.ContainsFunc(full, func(r rune) bool { return r <= ' ' || r == 0x7f })
		check := func(what string, err error) {
			t.Helper()
			if valid && err != nil || !valid && !errors.Is(err, natsbroker.ErrInvalidSubject) {
				t.Fatalf("%s %q (%d bytes): %v; valid: %v", what, in, len(in), err, valid)
			}
		}
		check("Publish to", b.Publish(ctx, in, []byte("x")))
		unsub, err := b.Subscribe(in, func([]byte) {})
		check("Subscribe to", err)
		if err == nil {
			if err := unsub(); err != nil {
				t.Fatal(err)
			}
		}

		err = h.Broadcast(ctx, in, 0)
		if in != "" && len(in) <= hub.HardMaxNameLen && err != nil {
			t.Fatalf("Broadcast to %q (%d bytes): %v", in, len(in), err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatalf("after %q: NATS connection: %v", in, err)
		}
	})
}
