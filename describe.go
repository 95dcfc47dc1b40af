package ws

import (
	"net/http"
	"reflect"

	"github.com/go-playground/validator/v10"
)

// Event is one kind of message an endpoint made by [Callback] or
// [NewRouter] reads or writes, as [Describe] reports it: enough for a tool
// to write a document, a schema or a client of the endpoint.
type Event struct {
	// Name is the event's name; "" for the messages of a Callback, which
	// have none.
	Name string
	// Push is true for an event the server pushes, declared with [Emits]:
	// Reply is then the type of its body, and Request is nil.
	Push bool
	// Request is the type a client's message (a Router's "data") decodes
	// into, the Req of the function; nil for a push.
	Request reflect.Type
	// Reply is the type of a reply's body: the Resp of the function, or
	// the T of a [StatusEnvelope][T] result. It is nil for a stream.
	Reply reflect.Type
	// AnyStatus is true when the function picks the reply's status itself:
	// its result is a StatusEnvelope (whose body may also be null, from
	// [NoContent]) or an interface type that may hold one.
	AnyStatus bool
	// Item is the type of a [Stream]'s items; nil for every other event.
	Item reflect.Type
	// Validator validates Request: the one given with [WithValidator], or
	// the package's shared validator. It is nil for a push.
	Validator *validator.Validate
}

// Describe returns the events of h when h is a handler made by [Callback]
// (one Event, named "") or a [Router] (its client events, then its pushes,
// each in the order they were registered), and false for any other
// handler, such as one made by [Handler], which reads and writes for
// itself. A Router is described with the events registered so far.
func Describe(h http.Handler) ([]Event, bool) {
	switch h := h.(type) {
	case *callback:
		return []Event{newEvent("", h.cfg, h.req, h.resp, nil)}, true
	case *Router:
		return h.describe(), true
	}
	return nil, false
}

// newEvent describes a client event; resp is nil for a stream, item for
// a request.
func newEvent(name string, cfg *config, req, resp, item reflect.Type) Event {
	e := Event{Name: name, Request: req, Item: item, Validator: cfg.validate}
	if resp != nil {
		e.Reply, e.AnyStatus = replyBody(resp)
	}
	return e
}

// replyBody is the type of the body of a reply of type t, and whether its
// status is chosen by the function: a [StatusEnvelope], or an interface
// that may hold one.
func replyBody(t reflect.Type) (body reflect.Type, anyStatus bool) {
	if t.Kind() == reflect.Interface {
		return t, true
	}
	if t.Kind() == reflect.Struct && t.Implements(reflect.TypeFor[enveloper]()) {
		if f, ok := t.FieldByName("Body"); ok {
			return f.Type, true
		}
	}
	return t, false
}

// describe returns the Router's client events and pushes, each in the
// order they were registered.
func (r *Router) describe() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	events := make([]Event, 0, len(r.order)+len(r.pushes))
	for _, ev := range r.order {
		events = append(events, newEvent(ev.name, r.cfg, ev.req, ev.resp, ev.item))
	}
	for _, p := range r.pushes {
		events = append(events, Event{Name: p.name, Push: true, Reply: p.body})
	}
	return events
}
