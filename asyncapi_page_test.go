package ws_test

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
)

// The page holds the document and its own script and style, allows only
// those (by hash) in its Content-Security-Policy, and loads nothing from
// elsewhere. internal/asyncapicheck runs it in Chromium.
func TestAsyncAPIPage(t *testing.T) {
	t.Parallel()
	doc := ws.NewAsyncAPI(ws.APIInfo{Title: "Chat", Version: "1.0.0", Description: "</script><script>alert(1)</script>"})
	doc.Add("/chat", ws.Callback(nil, func(ctx context.Context, in apiChatRequest) (apiChatResponse, error) { return apiChatResponse{}, nil }, nil))
	srv := httptest.NewServer(doc.Page())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}

	// Exactly the page's own script and style run.
	csp := resp.Header.Get("Content-Security-Policy")
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
	if len(scripts) != 1 || len(styles) != 1 {
		t.Fatalf("%d scripts and %d styles, want one of each", len(scripts), len(styles))
	}
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	want := "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; script-src " + hash(scripts[0][1]) +
		"; style-src " + hash(styles[0][1]) + "; connect-src 'self' ws://" + host + " wss://" + host
	if csp != want {
		t.Errorf("Content-Security-Policy:\n got %s\nwant %s", csp, want)
	}
	if m := regexp.MustCompile(`(?i)\b(src|href)\s*=|url\(|@import|<(link|img|iframe|object|embed)\b`).FindString(page); m != "" {
		t.Errorf("the page refers to something else: %q", m)
	}

	// The document is there, as data; "</" cannot close its element.
	data := regexp.MustCompile(`(?s)<script type="application/json" id="asyncapi">(.*?)</script>`).FindStringSubmatch(page)
	if data == nil {
		t.Fatal("no document in the page")
	}
	var got, direct any
	if err := json.Unmarshal([]byte(data[1]), &got); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(doc)
	json.Unmarshal(raw, &direct)
	if jsonOf(t, got) != jsonOf(t, direct) {
		t.Errorf("the page's document differs from the document")
	}
	if strings.Contains(data[1], "</") {
		t.Error(`the document in the page holds "</"`)
	}

	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
}
