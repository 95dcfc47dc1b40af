package chatapp

// The page's client: the chat's AsyncAPI document, then the TypeScript
// client wsgen-ts generates from it (static/client.js and its declarations,
// static/client.d.ts). TestGeneratedFilesAreFresh fails when they are stale.
//go:generate go run ./internal/apidoc -o asyncapi.json
//go:generate go run github.com/cafeto-go/ws/cmd/wsgen-ts -in asyncapi.json -out static
