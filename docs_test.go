package ws_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// The documentation must not rot: every Go snippet of every markdown file
// is a verbatim piece of a Go file that the build compiles (an example
// program, an Example function, a test), and every relative link and
// anchor resolves.

// repoFiles returns the repository's files whose names end with ext,
// relative to the root, leaving out dependencies and test data.
func repoFiles(t *testing.T, ext string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "testdata", ".venv":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ext) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var goFence = regexp.MustCompile("(?s)```go\n(.*?)```")

// TestDocsSnippetsCompile checks that every ```go block of the markdown
// files appears, line for line (indentation aside), in a Go file.
func TestDocsSnippetsCompile(t *testing.T) {
	t.Parallel()
	var sources [][]string
	for _, f := range repoFiles(t, ".go") {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, strings.Split(string(b), "\n"))
	}
	for _, md := range repoFiles(t, ".md") {
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goFence.FindAllStringSubmatch(string(b), -1) {
			snippet := strings.Split(strings.TrimRight(m[1], "\n"), "\n")
			found := false
			for _, src := range sources {
				if containsLines(src, snippet) {
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: this Go snippet is not part of any compiled Go file:\n%s", md, m[1])
			}
		}
	}
}

// containsLines reports whether src holds snippet as consecutive lines,
// each indented by the same number of extra tabs.
func containsLines(src, snippet []string) bool {
	first := strings.TrimLeft(snippet[0], "\t")
	base := len(snippet[0]) - len(first)
	for i := 0; i+len(snippet) <= len(src); i++ {
		line := src[i]
		trimmed := strings.TrimLeft(line, "\t")
		if trimmed != first {
			continue
		}
		extra := len(line) - len(trimmed) - base
		if extra < 0 {
			continue
		}
		indent := strings.Repeat("\t", extra)
		ok := true
		for j, s := range snippet[1:] {
			got := src[i+1+j]
			if s == "" {
				ok = strings.TrimSpace(got) == ""
			} else {
				ok = got == indent+s
			}
			if !ok {
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

var (
	mdLink    = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *#*$`)
	mdCode    = regexp.MustCompile("(?s)```.*?```")
)

// TestDocsLinksResolve checks every relative link of the markdown files:
// the file exists, and an anchor names a heading of the target.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	anchors := map[string]map[string]bool{}
	anchorsOf := func(md string) map[string]bool {
		if a, ok := anchors[md]; ok {
			return a
		}
		b, err := os.ReadFile(md)
		if err != nil {
			return nil
		}
		a := map[string]bool{}
		seen := map[string]int{}
		for _, m := range mdHeading.FindAllStringSubmatch(mdCode.ReplaceAllString(string(b), ""), -1) {
			slug := githubSlug(m[1])
			if n := seen[slug]; n > 0 {
				a[slug+"-"+itoa(n)] = true
			} else {
				a[slug] = true
			}
			seen[slug]++
		}
		anchors[md] = a
		return a
	}
	for _, md := range repoFiles(t, ".md") {
		b, err := os.ReadFile(md)
		if err != nil {
			t.Fatal(err)
		}
		text := mdCode.ReplaceAllString(string(b), "")
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := md
			if path != "" {
				file = filepath.Join(filepath.Dir(md), path)
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s: link %q: %v", md, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !anchorsOf(file)[anchor] {
				t.Errorf("%s: link %q: %s has no heading with that anchor", md, target, file)
			}
		}
	}
}

// githubSlug is the anchor GitHub gives a heading.
func githubSlug(heading string) string {
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
