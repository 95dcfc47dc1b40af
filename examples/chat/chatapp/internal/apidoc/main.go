// Command apidoc writes the chat's AsyncAPI document ([chatapp.Document])
// to a file, indented: the first step of go generate in package chatapp,
// whose second step generates the page's client from it.
//
//	go run ./internal/apidoc -o asyncapi.json
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"

	"github.com/cafeto-go/ws/examples/chat/chatapp"
)

func main() {
	out := flag.String("o", "asyncapi.json", "the file to write")
	flag.Parse()
	doc, err := json.MarshalIndent(chatapp.Document(), "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(doc, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}
