package docspage_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/cafeto-go/ws/internal/docspage"
)

// TestBuildEscapes: a document whose strings hold markup, as JSON may
// write them (json.Marshal escapes <, > and &, other encoders do not),
// stays data: it cannot end its script element, and reads back the same.
func TestBuildEscapes(t *testing.T) {
	t.Parallel()
	doc := `{"info":{"title":"</script><script>alert(1)</script>","description":"a & b > c \u2028 <!--"}}`
	page := string(docspage.Build([]byte(doc), "export const x = 1;\n").HTML)
	m := regexp.MustCompile(`(?s)<script type="application/json" id="asyncapi">(.*?)</script>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no document in the page")
	}
	if strings.ContainsAny(m[1], "<>&\u2028") {
		t.Errorf("the document in the page holds markup: %s", m[1])
	}
	var got, want any
	json.Unmarshal([]byte(m[1]), &got)
	json.Unmarshal([]byte(doc), &want)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("the document reads back as %s, want %s", g, w)
	}
	if !strings.Contains(page, "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; · API</title>") {
		t.Error("the title is not escaped")
	}
	if !strings.Contains(page, "\nconst x = 1;\n") {
		t.Error("the runtime's export is not turned into a declaration")
	}
}
