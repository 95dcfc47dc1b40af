package ws

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
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
