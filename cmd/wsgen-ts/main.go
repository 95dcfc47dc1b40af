// Command wsgen-ts writes a typed TypeScript client for the endpoints an
// AsyncAPI document of github.com/cafeto-go/ws describes:
//
//	go run github.com/cafeto-go/ws/cmd/wsgen-ts -in asyncapi.json -out static/
//	go run github.com/cafeto-go/ws/cmd/wsgen-ts -in http://localhost:8080/asyncapi.json -out static/
//
// It writes two files into the -out directory (made if missing):
// client.js, an ES module a browser page imports as it is (no build step),
// and client.d.ts, its declarations, which type-check under tsc --strict.
// The -in document is a file, "-" for standard input, or an http(s) URL,
// such as the one a server serves with a [asyncapi.Document] handler.
//
// The document may come from a server that is not yours: each of its
// strings is written as a JSON string literal or as comment text that
// cannot end its comment, never as code; a schema named after a keyword
// gets a "_" (delete is delete_); a channel address that is not a path on
// the page's own origin ("//host/ws", "wss://host/ws") is refused.
//
// For a router at /ws with an event chat.send, a stream chat.watch and a
// push chat.message, the module exports connectWs:
//
//	import { connectWs, WsError } from "./client.js";
//
//	const chat = connectWs({ reconnect: true, onOpen: (c) => c.call("room.join", { room: "lobby" }) });
//	chat.on("chat.message", (msg) => show(msg));
//	try {
//	  const sent = await chat.call("chat.send", { message: "Hi", user: "ana" });
//	} catch (err) {
//	  if (err instanceof WsError) err.errorList.forEach(showNextToField);
//	}
//	for await (const msg of chat.stream("chat.watch", { room: "lobby" })) {
//	  if (done(msg)) break; // sends $cancel
//	}
//
// docs/clients.md describes the client in full.
//
// [asyncapi.Document]: https://pkg.go.dev/github.com/cafeto-go/ws#AsyncAPI
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cafeto-go/ws/internal/tsgen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

// run runs the command with args and returns its exit code.
func run(args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("wsgen-ts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "", "the AsyncAPI document: a file, - for standard input, or an http(s) URL")
	out := fs.String("out", ".", "the directory to write client.js and client.d.ts into")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wsgen-ts -in asyncapi.json|URL [-out dir]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *in == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if err := generate(*in, *out, stdin); err != nil {
		fmt.Fprintln(stderr, "wsgen-ts:", err)
		return 1
	}
	return 0
}

func generate(in, out string, stdin io.Reader) error {
	doc, err := load(in, stdin)
	if err != nil {
		return err
	}
	files, err := tsgen.Generate(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "client.js"), files.JS, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "client.d.ts"), files.DTS, 0o644)
}

// maxDocument bounds the size of a document read from a URL.
const maxDocument = 64 << 20

// load reads the document from a file, standard input or a URL.
func load(in string, stdin io.Reader) ([]byte, error) {
	switch {
	case in == "-":
		return io.ReadAll(stdin)
	case strings.HasPrefix(in, "http://") || strings.HasPrefix(in, "https://"):
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, in, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", in, resp.Status)
		}
		doc, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
		if err == nil && len(doc) > maxDocument {
			err = errors.New("GET " + in + ": the document is over 64 MiB")
		}
		return doc, err
	}
	return os.ReadFile(in)
}
