package asyncapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/asyncapi"
)

var (
	pageScript   = regexp.MustCompile(`(?s)<script type="module">(.*?)</script>`)
	pageStyle    = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
	pageDocument = regexp.MustCompile(`(?s)<script type="application/json" id="asyncapi">(.*?)</script>`)
)

func getPage(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// TestDocsPage: one page, its script and style inline and allowed by hash
// in its Content-Security-Policy, nothing loaded from elsewhere, the
// document inside as data that cannot end its element.
func TestDocsPage(t *testing.T) {
	t.Parallel()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat <b>&", Version: "1.0.0", Description: "</script><script>alert(1)</script> \u2028"})
	doc.Add("/ws", newRtRouter(newRtChat()))
	srv := httptest.NewServer(asyncapi.DocsPage(doc))
	defer srv.Close()

	resp, page := getPage(t, srv.URL)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	scripts, styles := pageScript.FindAllStringSubmatch(page, -1), pageStyle.FindAllStringSubmatch(page, -1)
	if len(scripts) != 1 || len(styles) != 1 {
		t.Fatalf("%d scripts and %d styles, want one of each", len(scripts), len(styles))
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src " + hash(scripts[0][1]) + ";", "style-src " + hash(styles[0][1]) + ";",
		"connect-src 'self' ws: wss:", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if m := regexp.MustCompile(`(?i)\bsrc\s*=|href\s*=\s*"(https?:)?//|url\((https?:)?//|@import`).FindString(page); m != "" {
		t.Errorf("the page loads something from elsewhere: %q", m)
	}
	if !strings.Contains(page, "<title>Chat &lt;b&gt;&amp; · API</title>") {
		t.Error("the title is not escaped")
	}
	// The script is the client runtime, exports turned into declarations,
	// and the page's own code: no import, no export.
	for _, want := range []string{"\nclass Client {", "\nclass WsError extends Error {", "\nfunction channelURL("} {
		if !strings.Contains(scripts[0][1], want) {
			t.Errorf("the script lacks %q", want)
		}
	}
	if regexp.MustCompile(`(?m)^\s*(export|import)\s`).MatchString(scripts[0][1]) {
		t.Error("the inline script exports or imports")
	}

	data := pageDocument.FindStringSubmatch(page)
	if data == nil {
		t.Fatal("no document in the page")
	}
	if strings.Contains(data[1], "</") || strings.Contains(data[1], "<script") {
		t.Error("the document in the page can end its element")
	}
	var got, want any
	if err := json.Unmarshal([]byte(data[1]), &got); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(doc)
	json.Unmarshal(raw, &want)
	if jsonOf(t, got) != jsonOf(t, want) {
		t.Error("the page's document differs from the document")
	}
}

// TestDocsPageFollowsTheDocument: an endpoint added after the first GET
// is on the next page.
func TestDocsPageFollowsTheDocument(t *testing.T) {
	t.Parallel()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
	doc.Add("/ws", newRtRouter(newRtChat()))
	srv := httptest.NewServer(asyncapi.DocsPage(doc))
	defer srv.Close()
	_, first := getPage(t, srv.URL)
	_, again := getPage(t, srv.URL)
	if first != again {
		t.Error("two GETs of the same document give two pages")
	}
	doc.Add("/echo", ws.Callback(nil, func(ctx context.Context, in apiChatRequest) (apiChatResponse, error) { return apiChatResponse{}, nil }, nil))
	_, after := getPage(t, srv.URL)
	if strings.Contains(first, `"address":"/echo"`) || !strings.Contains(after, `"address":"/echo"`) {
		t.Error("the page does not follow the document's endpoints")
	}
}

// TestDocsPageMethods: GET and HEAD; anything else is a 405 with Allow.
func TestDocsPageMethods(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(asyncapi.DocsPage(asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})))
	defer srv.Close()
	for _, tt := range []struct {
		method string
		status int
		allow  string
	}{{http.MethodHead, 200, ""}, {http.MethodPost, 405, "GET, HEAD"}, {http.MethodDelete, 405, "GET, HEAD"}} {
		req, _ := http.NewRequest(tt.method, srv.URL, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s: %d, Allow %q; want %d, Allow %q", tt.method, resp.StatusCode, resp.Header.Get("Allow"), tt.status, tt.allow)
		}
		if tt.method == http.MethodHead && len(body) != 0 {
			t.Errorf("HEAD: a body of %d bytes", len(body))
		}
	}
	if msg := catch(func() { asyncapi.DocsPage(nil) }); !strings.HasPrefix(msg, "asyncapi: ") {
		t.Errorf("DocsPage(nil) panics with %q, want an asyncapi: message", msg)
	}
}
