// Package schemacheck holds the tests that check the JSON Schemas of
// internal/jsonschema against the server: for many messages, a real
// [ws.Callback] server and a JSON Schema validator must give the same
// verdict. It is in the test module e2e so that the JSON Schema validator
// stays out of the library's dependencies.
package schemacheck
