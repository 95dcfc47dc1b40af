// Package tscheck holds the tests of the TypeScript client that
// cmd/wsgen-ts generates, and of the docs page that runs the same client
// runtime in a browser.
//
// TestGeneratedClient serves a Router and its AsyncAPI document, generates
// the client from the document's URL, type-checks it with tsc --strict
// (for Node, and for a browser page with the DOM's WebSocket), and drives
// the server through it from Node with the ws package (ts/client.test.ts):
// calls, a 400 and its errorList, pushes, streams and their cancel,
// reconnection. Node and npm are needed; it runs npm ci when node_modules
// is missing; under CI=true their absence fails the test.
//
// TestDocsPage opens asyncapi.DocsPage in Chromium and uses its console on the
// same Router; without Chromium it skips, or fails under CI=true.
package tscheck
