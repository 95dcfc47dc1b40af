package natsbroker_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cafeto-go/ws/natsbroker"
	"github.com/nats-io/nats.go"
)

// inbox collects what a subscription receives.
type inbox chan string

func (in inbox) fn(msg []byte) { in <- string(msg) }

// next returns the next message, or fails the test after a long while.
func (in inbox) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-in:
		return m
	case <-time.After(20 * time.Second):
		t.Fatal("no message")
		return ""
	}
}

func TestBrokerContract(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Two brokers on one connection, and one under another prefix.
	b1, b2 := natsbroker.New(nc), natsbroker.New(nc)
	other := natsbroker.New(nc, natsbroker.WithPrefix("other.app"))
	for _, b := range []*natsbroker.Broker{b1, b2, other} {
		defer b.Close()
	}
	in1, in2, inOther, control := make(inbox, 100), make(inbox, 100), make(inbox, 100), make(inbox, 100)
	unsub1, err := b1.Subscribe("room.x", in1.fn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b2.Subscribe("room.x", in2.fn); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Subscribe("room.x", inOther.fn); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.Subscribe("room.control", control.fn); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	for i := range 50 {
		if err := b1.Publish(ctx, "room.x", fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		want := fmt.Sprintf("m%d", i)
		if got := in1.next(t); got != want {
			t.Fatalf("b1 got %q, want %q", got, want)
		}
		if got := in2.next(t); got != want {
			t.Fatalf("b2 got %q, want %q", got, want)
		}
	}
	if err := other.Publish(ctx, "room.x", []byte("other")); err != nil {
		t.Fatal(err)
	}
	if got := inOther.next(t); got != "other" {
		t.Fatalf("other prefix got %q", got)
	}

	// After unsubscribe, b1 gets nothing more on room.x; the control
	// message, published after, tells when to look.
	if err := unsub1(); err != nil {
		t.Fatal(err)
	}
	if err := unsub1(); err != nil {
		t.Fatalf("second unsubscribe: %v", err)
	}
	b1.Publish(ctx, "room.x", []byte("late"))
	b1.Publish(ctx, "room.control", []byte("control"))
	if got := control.next(t); got != "control" {
		t.Fatalf("control got %q", got)
	}
	if got := in2.next(t); got != "late" {
		t.Fatalf("b2 got %q, want late", got)
	}
	if len(in1) != 0 || len(inOther) != 0 {
		t.Fatalf("after unsubscribing, b1 got %d messages and the other prefix %d", len(in1), len(inOther))
	}

	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := b1.Subscribe("room.y", in1.fn); !errors.Is(err, natsbroker.ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := b2.Publish(cctx, "room.x", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled ctx = %v", err)
	}
}

func TestOptionsPanic(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(){
		"empty prefix":    func() { natsbroker.WithPrefix("") },
		"trailing dot":    func() { natsbroker.WithPrefix("app.") },
		"wildcard prefix": func() { natsbroker.WithPrefix("app.*") },
		"zero buffer":     func() { natsbroker.WithBuffer(0) },
		"nil connection":  func() { natsbroker.New(nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// While NATS is down, Subscribe does not wait for it and is no error:
// nats.go subscribes once it is back, and the subscription then works.
func TestSubscribeDuringOutage(t *testing.T) {
	t.Parallel()
	s := startNATS(t, 0)
	port := natsPort(s)
	down, up := make(chan struct{}, 10), make(chan struct{}, 10)
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { down <- struct{}{} }),
		nats.ReconnectHandler(func(*nats.Conn) { up <- struct{}{} }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	b := natsbroker.New(nc)
	defer b.Close()
	s.Shutdown()
	s.WaitForShutdown()
	<-down
	in := make(inbox, 1)
	if _, err := b.Subscribe("room.x", in.fn); err != nil {
		t.Fatalf("Subscribe during an outage: %v", err)
	}
	startNATS(t, port)
	<-up
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "room.x", []byte("back")); err != nil {
		t.Fatal(err)
	}
	if got := in.next(t); got != "back" {
		t.Fatalf("got %q", got)
	}
}
