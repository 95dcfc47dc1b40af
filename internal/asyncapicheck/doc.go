// Package asyncapicheck holds the test that validates the AsyncAPI
// documents of the ws package with the AsyncAPI parser (@asyncapi/parser,
// run by Node from validate.mjs): documents built through the public API,
// and the documents kept under testdata/asyncapi in the repository. Node
// and npm are needed; under CI=true their absence fails the test.
package asyncapicheck
