// Package chat is the benchmark workload written the way a Go user writes it
// without the ws package: encoding/json for the wire format, validator/v10
// for the rules and a hand-built error list for invalid requests.
package chat

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// Request is what a client sends.
type Request struct {
	Message string `json:"message" validate:"required,max=500"`
	User    string `json:"user" validate:"required,max=32"`
}

// Response is the body of a successful reply.
type Response struct {
	Message string `json:"message"`
	User    string `json:"user"`
}

// Envelope is every reply frame.
type Envelope struct {
	StatusCode int `json:"statusCode"`
	Body       any `json:"body"`
}

// ErrorItem describes one invalid field.
type ErrorItem struct {
	Loc  []string `json:"loc"`
	Type string   `json:"type"`
	Msg  string   `json:"msg"`
}

// ErrorBody is the body of a 400 reply.
type ErrorBody struct {
	ErrorList []ErrorItem `json:"errorList"`
}

// Handler decodes, validates and answers one request at a time.
// It is safe for concurrent use.
type Handler struct {
	validate *validator.Validate
}

// NewHandler returns a Handler whose field names are the JSON names.
func NewHandler() *Handler {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return &Handler{validate: v}
}

// Handle returns the encoded reply to one request frame.
func (h *Handler) Handle(data []byte) ([]byte, error) {
	var in Request
	if err := json.Unmarshal(data, &in); err != nil {
		return json.Marshal(Envelope{StatusCode: 400, Body: ErrorBody{ErrorList: []ErrorItem{
			{Loc: []string{}, Type: "json_invalid", Msg: "Invalid JSON"},
		}}})
	}
	if err := h.validate.Struct(&in); err != nil {
		var fieldErrs validator.ValidationErrors
		if !errors.As(err, &fieldErrs) {
			return nil, err
		}
		return json.Marshal(Envelope{StatusCode: 400, Body: ErrorBody{ErrorList: errorList(fieldErrs)}})
	}
	return json.Marshal(Envelope{StatusCode: 200, Body: Response(in)})
}

func errorList(fieldErrs validator.ValidationErrors) []ErrorItem {
	list := make([]ErrorItem, 0, len(fieldErrs))
	for _, fe := range fieldErrs {
		item := ErrorItem{Loc: []string{fe.Field()}, Type: fe.Tag(), Msg: fe.Error()}
		switch fe.Tag() {
		case "required":
			item.Type, item.Msg = "missing", "Field required"
		case "max":
			item.Type, item.Msg = "string_too_long", "String should have at most "+fe.Param()+" characters"
		}
		list = append(list, item)
	}
	return list
}
