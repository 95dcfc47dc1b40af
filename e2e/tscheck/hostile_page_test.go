package tscheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cafeto-go/ws/internal/docspage"
	"github.com/cafeto-go/ws/internal/tsgen"
	"github.com/chromedp/chromedp"
)

// markup are strings that become elements, or run, if the docs page ever
// writes a string of its document as markup.
var markup = []string{
	`<img src=x onerror="globalThis.PWNED=1"><b id="injected">bold</b>`,
	`"><svg onload="globalThis.PWNED=1"><i id="injected"></i>`,
	`'; globalThis.PWNED=1; '&amp;&lt;b id=injected&gt;`,
	`</script><script>globalThis.PWNED=1</script><b id="injected">`,
	`&#39;&quot;<!-- <b id="injected"> -->`,
}

// TestDocsPageHostileDocument builds the docs page of documents whose
// every string is hostile, opens it in Chromium under its own
// Content-Security-Policy, and checks that nothing of the document ran or
// became an element, that the whole page was built (every endpoint,
// schema and the console), and that the examples show the document's
// strings as they are: each example is the JSON of a message, no HTML
// entity or markup shown in place of a character.
func TestDocsPageHostileDocument(t *testing.T) {
	var pages []string
	for _, p := range append(append([]string{}, markup...), payloads...) {
		pages = append(pages, string(docspage.Build(hostileDocument("3.0.0", p), tsgen.RuntimeJS()).HTML))
	}
	csp := docspage.Build(hostileDocument("3.0.0", "x"), tsgen.RuntimeJS()).CSP
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/docs/%d", &i); err != nil || i >= len(pages) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		w.Write([]byte(pages[i]))
	}))
	defer srv.Close()

	page := newPage(t, newBrowser(t))
	for i, p := range append(append([]string{}, markup...), payloads...) {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			title, _ := json.Marshal(p)
			run(t, page,
				chromedp.Navigate(fmt.Sprintf("%s/docs/%d", srv.URL, i)),
				// Built to the end: the console lists the three endpoints.
				waitFor(`document.getElementById("endpoint")?.options.length === 3`),
			)
			var got struct {
				Pwned    any
				Injected int
				Elements int
				Scripts  int
				Title    string
				Schemas  int
				BadCode  []string
			}
			ctx, cancel := context.WithTimeout(page, 30*time.Second)
			defer cancel()
			res, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({
				pwned: globalThis.PWNED ?? null,
				injected: document.querySelectorAll("#injected, img, svg, iframe, object, embed, form:not(#form), b:not(#nav b):not(.stat b):not(.msg b)").length,
				scripts: document.scripts.length,
				title: document.querySelector(".hero h1")?.textContent,
				schemas: document.querySelectorAll("#schemas article.schema").length,
				badCode: [...document.querySelectorAll("pre.code")].map(e => e.textContent).filter(s => {
					try { JSON.parse(s); } catch { return true; }
					return /&(#\d+|#x[0-9a-f]+|amp|lt|gt|quot);/i.test(s) && !`+string(title)+`.includes("&");
				}),
			})`))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(res), &got); err != nil {
				t.Fatal(err)
			}
			if got.Pwned != nil {
				t.Errorf("the document's code ran: PWNED = %v", got.Pwned)
			}
			if got.Injected != 0 {
				t.Errorf("%d elements of the document's markup in the page", got.Injected)
			}
			if got.Scripts != 2 {
				t.Errorf("%d script elements, want the document's and the page's", got.Scripts)
			}
			if got.Title != p {
				t.Errorf("the title shows %q, want %q", got.Title, p)
			}
			if got.Schemas < 3 {
				t.Errorf("%d schemas shown", got.Schemas)
			}
			for _, s := range got.BadCode {
				t.Errorf("an example shows markup, not its JSON: %s", s)
			}
		})
	}
}

// TestDocsPageExampleText: a string with a quote, an apostrophe or an
// ampersand shows in the examples of the docs page as it is.
func TestDocsPageExampleText(t *testing.T) {
	const p = `it's "quoted" & <tagged>`
	pg := docspage.Build(hostileDocument("3.0.0", p), tsgen.RuntimeJS())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", pg.CSP)
		w.Write(pg.HTML)
	}))
	defer srv.Close()
	page := newPage(t, newBrowser(t))
	want := `"it's \"quoted\" & <tagged>"`
	run(t, page,
		chromedp.Navigate(srv.URL),
		waitFor(`document.getElementById("endpoint")?.options.length === 3`),
	)
	ctx, cancel := context.WithTimeout(page, 30*time.Second)
	defer cancel()
	texts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("pre.code")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range texts {
		if strings.Contains(s, `"event": `+want) {
			found = true
		}
	}
	if !found {
		t.Errorf("no example shows the event %s; they show:\n%s", want, strings.Join(texts, "\n"))
	}
}
