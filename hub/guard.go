package hub

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/cafeto-go/ws"
)

// ErrPanic is wrapped by the error of a call during which code the hub
// calls panicked: the MarshalJSON (or another encoding method) of a value
// given to [Hub.Broadcast], [Hub.BroadcastExcept] or [Hub.SendTo], or a
// method of the [Broker] or the unsubscribe function it returned. The hub
// recovers, logs the panic with its stack ([WithLogger], Error) and
// carries on; the call returns the error, and what the panic interrupted
// did not happen (a Join whose Subscribe panicked does not add the
// connection).
var ErrPanic = errors.New("hub: panic")

// recovered logs the panic r, which interrupted what, with its stack, and
// returns the error for it.
func (h *Hub) recovered(ctx context.Context, what string, r any) error {
	h.logger.ErrorContext(ctx, "hub: panic in "+what, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return fmt.Errorf("%w in %s: %v", ErrPanic, what, r)
}

// publish publishes frame on subject at the broker, under guard.
func (h *Hub) publish(ctx context.Context, subject string, frame []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = h.recovered(ctx, "Broker.Publish", r)
		}
	}()
	return h.broker.Publish(ctx, subject, frame)
}

// subscribe subscribes g at the broker, under guard.
func (h *Hub) subscribe(g *group) (unsub func() error, err error) {
	defer func() {
		if r := recover(); r != nil {
			unsub, err = nil, h.recovered(context.Background(), "Broker.Subscribe", r)
		}
	}()
	return h.broker.Subscribe(g.subject, h.receiver(g))
}

// callUnsubscribe ends g's subscription at the broker, under guard.
func (h *Hub) callUnsubscribe(g *group, unsub func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = h.recovered(context.Background(), "unsubscribe", r)
		}
	}()
	return unsub()
}

// callTooSlow runs the WithTooSlow hook, under guard.
func (h *Hub) callTooSlow(conn *ws.Conn) {
	defer func() {
		if r := recover(); r != nil {
			h.recovered(conn.Context(), "the WithTooSlow hook", r)
		}
	}()
	h.onTooSlow(conn)
}
