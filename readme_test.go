package ws_test

import (
	"os"
	"strings"
	"testing"
)

// The README's quick start is examples/quickstart, which the build
// compiles: the two must not drift apart.
func TestReadmeQuickStartCompiles(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Quick start\n\n```go\n")
	if !ok {
		t.Fatal("README has no Go quick start")
	}
	block, _, _ := strings.Cut(after, "```")
	prog, err := os.ReadFile("examples/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	_, code, _ := strings.Cut(string(prog), "\n") // its first line is the command's doc
	if code != block {
		t.Fatalf("examples/quickstart/main.go differs from the README's quick start")
	}
}
