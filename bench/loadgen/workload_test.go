package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestPool(t *testing.T) {
	pool := newPool(poolSize, 7, false, chatShape)
	invalid := 0
	for i, p := range pool {
		var in chatRequest
		if err := json.Unmarshal(p.req, &in); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if n := len(in.Message); n < 40 || n > 60 {
			t.Errorf("request %d: message of %d characters", i, n)
		}
		if !p.valid {
			invalid++
			if in.User != "" || string(p.want) != badRequest {
				t.Errorf("request %d should lack its user and expect the 400: %s", i, p.req)
			}
			continue
		}
		if n := len(in.User); n < 5 || n > 10 {
			t.Errorf("request %d: user of %d characters", i, n)
		}
		if strings.ContainsAny(in.Message+in.User, `"\<>&`) {
			t.Errorf("request %d needs escaping: %s", i, p.req)
		}
	}
	if want := poolSize / invalidEvery; invalid != want {
		t.Errorf("%d invalid requests, want %d", invalid, want)
	}
	if again := newPool(poolSize, 7, false, chatShape); string(again[3].req) != string(pool[3].req) {
		t.Error("the same seed gave another pool")
	}
}

func TestReplyMatches(t *testing.T) {
	pool := newPool(invalidEvery, 1, false, chatShape)
	ok, bad := &pool[0], &pool[invalidEvery-1]
	var in chatRequest
	if err := json.Unmarshal(ok.req, &in); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		p     *payload
		reply string
		want  bool
	}{
		{"canonical", ok, string(ok.want), true},
		{"other layout", ok, `{ "body": {"user": "` + in.User + `", "message": "` + in.Message + `"}, "statusCode": 200 }`, true},
		{"wrong status", ok, `{"statusCode":201,"body":{"message":"` + in.Message + `","user":"` + in.User + `"}}`, false},
		{"wrong user", ok, `{"statusCode":200,"body":{"message":"` + in.Message + `","user":"x"}}`, false},
		{"missing field", ok, `{"statusCode":200,"body":{"message":"` + in.Message + `"}}`, false},
		{"extra field", ok, `{"statusCode":200,"body":{"message":"` + in.Message + `","user":"` + in.User + `","x":1}}`, false},
		{"trailing data", ok, string(ok.want) + `{}`, false},
		{"not JSON", ok, `{"statusCode":200`, false},
		{"400 for a valid request", ok, badRequest, false},
		{"exact 400", bad, badRequest, true},
		{"400 other layout", bad, `{"statusCode": 400, "body": {"errorList": [{"msg": "Field required", "type": "missing", "loc": ["user"]}]}}`, true},
		{"400 other message", bad, `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"field required"}]}}`, false},
		{"400 other type", bad, `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"value_error.missing","msg":"Field required"}]}}`, false},
		{"400 with extra errors", bad, `{"statusCode":400,"body":{"errorList":[{"loc":["user"],"type":"missing","msg":"Field required"},{"loc":["message"],"type":"missing","msg":"Field required"}]}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := reply{raw: []byte(tt.reply)}
			if got := r.matches(tt.p); got != tt.want {
				t.Errorf("matches(%s) = %v, want %v", tt.reply, got, tt.want)
			}
		})
	}
}

func TestEchoPool(t *testing.T) {
	for _, p := range newPool(40, 1, true, chatShape) {
		if r := (reply{raw: p.req}); !r.matches(&p) {
			t.Fatalf("echo of %s does not match", p.req)
		}
	}
}

func TestEventPool(t *testing.T) {
	pool := newPool(invalidEvery, 1, false, chatShape)
	withEvent(pool, "chat.send")
	plain := newPool(invalidEvery, 1, false, chatShape)
	for i, p := range pool {
		wantReq := fmt.Sprintf(`{"event":"chat.send","id":%d,"data":%s}`, i, plain[i].req)
		if string(p.req) != wantReq {
			t.Fatalf("request %d: %s, want %s", i, p.req, wantReq)
		}
		wantReply := fmt.Sprintf(`{"id":%d,"event":"chat.send",%s`, i, plain[i].want[1:])
		if r := (reply{raw: []byte(wantReply)}); !r.matches(&p) {
			t.Fatalf("reply %s does not match request %d", wantReply, i)
		}
		// The reply without its id or event, or a plain Callback reply, is wrong.
		for _, bad := range []string{string(plain[i].want), fmt.Sprintf(`{"id":%d,%s`, i+1, wantReply[len(fmt.Sprintf(`{"id":%d,`, i)):])} {
			if r := (reply{raw: []byte(bad)}); r.matches(&p) {
				t.Fatalf("reply %s matches request %d", bad, i)
			}
		}
	}
	if pool[invalidEvery-1].valid {
		t.Fatal("the invalid request became valid")
	}
}

func TestPoolOfWords(t *testing.T) {
	sh, err := parseShape("470-500", true)
	if err != nil {
		t.Fatal(err)
	}
	if got := scenario(100, 16, sh); got != "c100-i16-m470-500w" {
		t.Errorf("scenario %q, want c100-i16-m470-500w", got)
	}
	if got := scenario(100, 16, chatShape); got != "c100-i16" {
		t.Errorf("scenario of the chat workload %q, want c100-i16", got)
	}
	for i, p := range newPool(poolSize, 3, false, sh) {
		var in chatRequest
		if err := json.Unmarshal(p.req, &in); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		n := len(in.Message)
		if n < 470 || n > 500 || strings.TrimSpace(in.Message) != in.Message || !strings.Contains(in.Message, " ") {
			t.Errorf("request %d: message of %d characters: %q", i, n, in.Message)
		}
	}
	for _, bad := range []string{"", "60-40", "1-5", "10-501", "x-y"} {
		if _, err := parseShape(bad, false); err == nil {
			t.Errorf("parseShape(%q) took it", bad)
		}
	}
}
