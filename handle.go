package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"time"
)

// decoder decodes one message into a Req and validates it: field tags, then
// the request's own Validate method. It is built once per request type, at
// construction; the per-message path does not reflect on the type.
type decoder[Req any] struct {
	m            *model
	reqIsPointer bool // Req is a pointer to a struct
	selfChecks   bool // what is validated implements Validator
}

func newDecoder[Req any](cfg *config) *decoder[Req] {
	m := newModel(reflect.TypeFor[Req](), cfg)
	// The Validate method is looked up on *Req for a struct, on Req itself
	// for a pointer to a struct: on what validation is given.
	validated := reflect.PointerTo(m.typ)
	if m.isPointer {
		validated = m.typ
	}
	return &decoder[Req]{
		m:            m,
		reqIsPointer: m.isPointer,
		selfChecks:   validated.Implements(reflect.TypeFor[Validator]()),
	}
}

// decode decodes data into *req and validates it. It returns the 400
// errorList when data is not a valid Req. User code runs here (UnmarshalJSON,
// custom validators, Validate): call it under the connection's guard.
func (d *decoder[Req]) decode(ctx context.Context, data []byte, req *Req) *ErrorList {
	if err := json.Unmarshal(data, req); err != nil {
		return decodeErrors(data, err)
	}
	if !d.m.isStruct && !d.m.isPointer {
		return nil
	}
	if isNull(data) {
		return notObject()
	}
	var target any = req
	if d.reqIsPointer {
		target = *req
	}
	var self Validator
	if d.selfChecks {
		self = target.(Validator)
	}
	return d.m.check(ctx, target, self)
}

// replier maps what a receive function returned to the reply's status and
// body. It is built once per reply type.
type replier[Resp any] struct {
	// mayBeEnvelope: only an envelope type, or an interface that may hold
	// one, needs the check per reply.
	mayBeEnvelope bool
}

func newReplier[Resp any]() replier[Resp] {
	t := reflect.TypeFor[Resp]()
	return replier[Resp]{mayBeEnvelope: t.Implements(reflect.TypeFor[enveloper]()) || t.Kind() == reflect.Interface}
}

// reply returns the status and body that answer (resp, err): an [*Error]
// with its own status and body, any other error as a generic 500 (and that
// error, for the log), an envelope as it is, anything else as a 200.
func (r replier[Resp]) reply(resp Resp, err error) (status int, body any, failure error) {
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e.Status, e.Body, nil
		}
		return http.StatusInternalServerError, internalError, err
	}
	if r.mayBeEnvelope {
		if env, ok := any(resp).(enveloper); ok {
			status, body := env.envelope()
			return status, body, nil
		}
	}
	return http.StatusOK, resp, nil
}

// newHandle wraps onReceive in the untyped function the read loop calls for
// each message: decode, validate, call, and the reply's status and body
// (with the error to log, for a generic 500). The type switches happen here,
// once. With interceptors, it also returns the chain around onReceive, and
// the function runs a message through it when given its [Call]; without,
// the chain is nil and so is every call.
func newHandle[Req, Resp any](onReceive func(context.Context, Req) (Resp, error), cfg *config, where string) (handleFunc, CallFunc) {
	dec := newDecoder[Req](cfg)
	rep := newReplier[Resp]()
	chain := cfg.chain(func(ctx context.Context, call *Call) Reply {
		if r, ok := call.refused(); ok {
			return r
		}
		req := call.req.(Req)
		var r Reply
		err := call.Conn.guard(where, func() error {
			r.Status, r.Body, r.Err = rep.reply(onReceive(ctx, req))
			return nil
		})
		if err != nil {
			return Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err}
		}
		return r
	})
	if chain == nil {
		return func(ctx context.Context, data []byte, _ *Call) (int, any, error) {
			var req Req
			if list := dec.decode(ctx, data, &req); list != nil {
				return http.StatusBadRequest, *list, nil
			}
			return rep.reply(onReceive(ctx, req))
		}, nil
	}
	return func(ctx context.Context, data []byte, call *Call) (int, any, error) {
		if call.refusal == nil {
			var req Req
			var list *ErrorList
			err := call.Conn.guard(where, func() error { list = dec.decode(ctx, data, &req); return nil })
			switch {
			case err != nil:
				call.refusal = &Reply{Status: http.StatusInternalServerError, Body: internalError, Err: err}
			case list != nil:
				call.refusal = &Reply{Status: http.StatusBadRequest, Body: *list}
			default:
				call.req = req
				call.Request = call.req
			}
		}
		r := call.Conn.intercept(ctx, where, chain, call)
		return r.Status, r.Body, r.Err
	}, chain
}

// handleFunc answers one message: the reply's status and body, and the
// error to log for a generic 500. call is nil without interceptors.
type handleFunc func(ctx context.Context, data []byte, call *Call) (int, any, error)

// decodeErrors turns what json.Unmarshal returned for data into the
// errorList of a 400. No Go type name or internal text reaches it.
func decodeErrors(data []byte, err error) *ErrorList {
	var (
		syn *json.SyntaxError
		ute *json.UnmarshalTypeError
		tpe *time.ParseError
	)
	switch {
	case errors.As(err, &syn):
		return oneError([]any{}, "json_invalid", "Invalid JSON: "+syn.Error())
	case errors.As(err, &ute):
		typ, msg := typeMismatch(ute)
		return oneError(pathAt(data, ute.Offset), typ, msg)
	case errors.As(err, &tpe):
		return oneError([]any{}, "datetime_parsing", "Input should be a valid datetime")
	}
	return oneError([]any{}, "value_error", "Value error, invalid input")
}

func oneError(loc []any, typ, msg string) *ErrorList {
	return &ErrorList{Errors: []ErrorDetail{{Loc: loc, Type: typ, Msg: msg}}}
}

// notObject is the error for a message that is not a JSON object where the
// request type is a struct.
func notObject() *ErrorList {
	return oneError([]any{}, "model_type", "Input should be an object")
}

// pathAt returns the JSON path of the value of data that ends at offset
// off (the first value whose end is at or past off). data is valid JSON.
func pathAt(data []byte, off int64) []any {
	type frame struct {
		object bool
		key    string
		index  int
	}
	var stack []frame
	path := func() []any {
		p := make([]any, 0, len(stack))
		for _, f := range stack {
			if f.object {
				p = append(p, f.key)
			} else {
				p = append(p, f.index)
			}
		}
		return p
	}
	expectKey := func() bool { return len(stack) > 0 && stack[len(stack)-1].object && stack[len(stack)-1].key == "\x00" }
	advance := func() {
		if len(stack) == 0 {
			return
		}
		if top := &stack[len(stack)-1]; top.object {
			top.key = "\x00"
		} else {
			top.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return []any{}
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			advance()
			continue
		}
		if s, ok := tok.(string); ok && expectKey() {
			stack[len(stack)-1].key = s
			continue
		}
		// A value: a scalar, or the start of an object or array.
		if dec.InputOffset() >= off {
			return path()
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, key: "\x00"})
		case json.Delim('['):
			stack = append(stack, frame{index: 0})
		default:
			advance()
		}
	}
}

// isNull reports whether data is the JSON literal null.
func isNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}
