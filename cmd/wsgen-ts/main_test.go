package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const document = "../../testdata/asyncapi/router.json"

// TestRun: the document from a file, from standard input and from a URL
// gives the same two files; the declarations name the router's events.
func TestRun(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(document)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/asyncapi.json" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	defer srv.Close()

	var outputs [][2][]byte
	for _, in := range []string{document, "-", srv.URL + "/asyncapi.json"} {
		dir := filepath.Join(t.TempDir(), "made", "here")
		var stderr bytes.Buffer
		if code := run([]string{"-in", in, "-out", dir}, bytes.NewReader(doc), &stderr); code != 0 {
			t.Fatalf("-in %s: exit %d: %s", in, code, stderr.String())
		}
		js, err := os.ReadFile(filepath.Join(dir, "client.js"))
		if err != nil {
			t.Fatal(err)
		}
		dts, err := os.ReadFile(filepath.Join(dir, "client.d.ts"))
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, [2][]byte{js, dts})
		if !bytes.Contains(dts, []byte(`"chat.send": {`)) || !bytes.Contains(js, []byte("export function connectWs(")) {
			t.Errorf("-in %s: the client lacks chat.send or connectWs", in)
		}
	}
	for i, o := range outputs[1:] {
		if !bytes.Equal(o[0], outputs[0][0]) || !bytes.Equal(o[1], outputs[0][1]) {
			t.Errorf("input %d gives other files than the first", i+1)
		}
	}
}

// TestRunFails: usage errors exit 2; a document that cannot be read or
// used exits 1 and says why.
func TestRunFails(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"asyncapi":"2.6.0"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	offOrigin := filepath.Join(t.TempDir(), "off-origin.json")
	if err := os.WriteFile(offOrigin, []byte(`{"asyncapi":"3.0.0","channels":{"chat":{"address":"//evil.example/ws"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: wsgen-ts"},
		{[]string{"-out", "x"}, 2, "usage: wsgen-ts"},
		{[]string{"-in", document, "extra"}, 2, "usage: wsgen-ts"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"-in", "missing.json"}, 1, "wsgen-ts: open missing.json"},
		{[]string{"-in", bad}, 1, `AsyncAPI 3 document is needed, not version "2.6.0"`},
		{[]string{"-in", srv.URL + "/asyncapi.json"}, 1, "404 Not Found"},
		{[]string{"-in", offOrigin, "-out", t.TempDir()}, 1, `"#/channels/chat/address": the address "//evil.example/ws" is not a path`},
	} {
		var stderr bytes.Buffer
		code := run(tt.args, strings.NewReader(""), &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("%q: exit %d, %q; want exit %d with %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}
