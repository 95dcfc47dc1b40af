package wsclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cafeto-go/ws"
)

// Call sends the request req for event to a [ws.Router] and waits for its
// reply:
//
//	msg, err := wsclient.Call[ChatMessage](ctx, c, "chat.send", SendRequest{Message: "hi"})
//
// The message is {"event": event, "id": …, "data": req}, with an id of the
// client's own; the reply is matched by it, so calls may be made from any
// number of goroutines at once and their replies may come in any order.
//
// A reply with a status below 400 is decoded into Resp (a null body leaves
// the zero value); when Resp is a [ws.StatusEnvelope], it gets the status
// as well as the body:
//
//	env, err := wsclient.Call[ws.StatusEnvelope[ChatMessage]](ctx, c, "chat.create", req)
//	// env.StatusCode == 201, env.Body is the ChatMessage
//
// A reply with 400 or more is returned as an [*ws.Error]
// with its Status and Body: a 400's errorList as a [ws.ErrorList] (its loc
// numbers as ints, as the server built it), null as nil, any other body as
// a [json.RawMessage] to decode yourself:
//
//	var e *ws.Error
//	if errors.As(err, &e) && e.Status == 400 {
//		list := e.Body.(ws.ErrorList)
//	}
//
// When ctx is done first, Call returns ctx.Err() at once and forgets the
// call: its reply, if it comes, is dropped. When the connection ends first,
// Call returns an error wrapping [ErrConnectionLost] (or [ErrClosed]); while
// a reconnecting client has no connection, it fails at once with
// [ErrNotConnected].
func Call[Resp, Req any](ctx context.Context, c *Client, event string, req Req) (Resp, error) {
	var resp Resp
	err := c.call(ctx, event, req, &resp, isEnvelope[Resp]())
	return resp, err
}

// isEnvelope reports whether T is a [ws.StatusEnvelope]: it then gets the
// whole reply, status and body.
func isEnvelope[T any]() bool {
	t := reflect.TypeFor[T]()
	return t.PkgPath() == "github.com/cafeto-go/ws" && strings.HasPrefix(t.Name(), "StatusEnvelope[")
}

// Send sends req to a [ws.Callback] endpoint as it is (plain JSON, no
// envelope) and waits for its reply {"statusCode": …, "body": …}, decoded
// as [Call] does it. Callback replies carry no id: they come in the order
// of the messages, and each is matched to the oldest Send still waiting.
// So, on a Callback endpoint:
//
//   - Send may be called from many goroutines; the replies still match.
//   - A frame the server sends of its own accord (from onConnect, or with
//     SendJSON) is a push when it has an "event" member (a [ws.Push]), and
//     goes to [On] handlers; one with no "statusCode" goes to the function
//     of [WithUnhandled]. But an envelope {"statusCode", "body"} the server
//     sends of its own accord cannot be told from a reply: it is taken as
//     the reply to the oldest Send waiting (or, with none waiting, goes to
//     [WithUnhandled]; an error envelope just before a 1008 close is also
//     part of the connection's error, see [ErrConnectionLost]).
//     Broadcasts of a room with history carry "room", "epoch" and
//     "offset" and are told apart: they are pushes (see [On]).
//   - A Send whose ctx is done returns ctx.Err() at once, but its place in
//     the order stays: its reply is dropped when it comes.
//
// Send on a [ws.Router] endpoint gets the Router's 400 for a message
// without an event.
func Send[Resp, Req any](ctx context.Context, c *Client, req Req) (Resp, error) {
	var resp Resp
	cn, err := c.current()
	if err != nil {
		return resp, err
	}
	p := &pending{out: &resp, whole: isEnvelope[Resp](), done: make(chan struct{}, 1)}
	if err := cn.send(req, p); err != nil {
		if p.state.CompareAndSwap(waiting, abandoned) {
			return resp, err
		}
		<-p.done
		return resp, p.err
	}
	select {
	case <-p.done:
		return resp, p.err
	case <-ctx.Done():
		if p.state.CompareAndSwap(waiting, abandoned) {
			return resp, ctx.Err()
		}
		<-p.done
		return resp, p.err
	}
}

// call is Call, untyped: out points to the reply's value.
func (c *Client) call(ctx context.Context, event string, req, out any, whole bool) error {
	cn, err := c.current()
	if err != nil {
		return err
	}
	id := c.ids.Add(1)
	p := getPending(out, whole)
	if err := cn.request(event, id, req, p); err != nil {
		// A failed write leaves p to the reader, which fails every call
		// of the broken connection: p is not reused.
		if p.state.CompareAndSwap(waiting, abandoned) {
			return err
		}
		<-p.done
		return p.err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		if p.state.CompareAndSwap(waiting, abandoned) {
			// The reader may still hold p: it is not reused.
			cn.forget(id)
			return ctx.Err()
		}
		// The reader is handing the reply over: take it.
		<-p.done
	}
	err = p.err
	putPending(p)
	return err
}

// pendings recycles the calls that were answered: once a caller has
// received from done, the reader is through with p.
var pendings = sync.Pool{New: func() any { return &pending{done: make(chan struct{}, 1)} }}

func getPending(out any, whole bool) *pending {
	p := pendings.Get().(*pending)
	p.out, p.whole = out, whole
	return p
}

func putPending(p *pending) {
	p.state.Store(waiting)
	p.out, p.err = nil, nil
	pendings.Put(p)
}

// The states of a pending call: the reader and the caller race to move it
// out of waiting, and only the winner touches out.
const (
	waiting int32 = iota
	answered
	abandoned
)

// pending is a call, a Send or a stream waiting for its reply.
type pending struct {
	state  atomic.Int32
	out    any  // where a 2xx body decodes
	whole  bool // out is a ws.StatusEnvelope: it decodes the whole frame
	err    error
	done   chan struct{} // receives one value once answered
	stream *stream       // for a stream
}

// finish decodes the reply (body, in the frame data) into the caller's
// value, or makes its error.
func (p *pending) finish(status int, body, data []byte) {
	if !p.state.CompareAndSwap(waiting, answered) {
		return
	}
	if p.whole && status < 400 {
		body = data
	}
	switch {
	case status >= 400:
		p.err = replyError(status, body)
	case len(body) > 0 && p.out != nil:
		if err := json.Unmarshal(body, p.out); err != nil {
			p.err = fmt.Errorf("wsclient: reply does not decode: %w", err)
		}
	}
	p.done <- struct{}{}
}

// fail ends the call with err.
func (p *pending) fail(err error) {
	if p.stream != nil {
		p.stream.fail(err)
		return
	}
	if !p.state.CompareAndSwap(waiting, answered) {
		return
	}
	p.err = err
	p.done <- struct{}{}
}

// replyError makes the [*ws.Error] of an error reply.
func replyError(status int, body []byte) *ws.Error {
	e := &ws.Error{Status: status}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || string(body) == "null" {
		return e
	}
	var list struct {
		Errors *[]ws.ErrorDetail `json:"errorList"`
	}
	if body[0] == '{' && json.Unmarshal(body, &list) == nil && list.Errors != nil {
		for i := range *list.Errors {
			d := &(*list.Errors)[i]
			for j, p := range d.Loc {
				if f, ok := p.(float64); ok && f == float64(int(f)) {
					d.Loc[j] = int(f)
				}
			}
		}
		e.Body = ws.ErrorList{Errors: *list.Errors}
		return e
	}
	e.Body = json.RawMessage(bytes.Clone(body))
	return e
}
