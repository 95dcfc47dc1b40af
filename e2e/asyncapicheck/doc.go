// Package asyncapicheck holds the tests of the ws package's AsyncAPI
// support that need tools from outside Go: the AsyncAPI parser
// (@asyncapi/parser, run by Node from validate.mjs) must accept the
// documents, those built through the public API and those kept under
// testdata/asyncapi in the repository; Modelina (@asyncapi/modelina, run
// from models.mjs), the model generator of the AsyncAPI tools, must make a
// named model of every type in them, in TypeScript and Python, from the
// document the chat example serves; and the documentation page must
// work in Chromium, its console sending the examples it builds to real
// endpoints. Node, npm and Chromium are needed; under CI=true their absence
// fails the tests.
package asyncapicheck
