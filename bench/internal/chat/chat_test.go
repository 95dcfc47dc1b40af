package chat

import "testing"

func TestHandle(t *testing.T) {
	h := NewHandler()
	tests := []struct {
		name, in, want string
	}{
		{"valid", `{"message":"hello there","user":"ann"}`,
			`{"statusCode":200,"body":{"message":"hello there","user":"ann"}}`},
		{"missing user", `{"message":"hello there"}`,
			`{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"}]}}`},
		{"user too long", `{"message":"hi","user":"abcdefghijklmnopqrstuvwxyz0123456789"}`,
			`{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"string_too_long","msg":"String should have at most 32 characters"}]}}`},
		{"not JSON", `{"message":`,
			`{"statusCode":400,"body":{"errorList":[{"loc":[],"type":"json_invalid","msg":"Invalid JSON"}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.Handle([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Handle(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
		})
	}
}
