// Package asyncapicheck holds the tests of the ws package's AsyncAPI
// support that need tools from outside Go: the AsyncAPI parser
// (@asyncapi/parser, run by Node from validate.mjs) must accept the
// documents, those built through the public API and those kept under
// testdata/asyncapi in the repository; and the documentation page must
// work in Chromium, its console sending the examples it builds to real
// endpoints. Node, npm and Chromium are needed; under CI=true their absence
// fails the tests.
package asyncapicheck
