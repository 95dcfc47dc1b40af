package tscheck

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cafeto-go/ws/asyncapi"
	"github.com/cafeto-go/ws/e2e/internal/chrome"
	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", filepath.Join(os.TempDir(), "cafeto-docs-page.png"),
	"where TestDocsPage saves a screenshot of the page")

// TestDocsPage opens asyncapi.DocsPage in Chromium, under its own
// Content-Security-Policy, and uses the console on the router of
// client_test.go: a call and its push, a 400 whose errorList shows next to
// the fields it names, the same in the JSON editor, a stream and its
// cancel.
func TestDocsPage(t *testing.T) {
	var ch chat
	r := ch.router()
	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0", Description: "</script><b>not markup</b>"})
	doc.Add("/ws", r)
	mux := http.NewServeMux()
	mux.Handle("GET /ws", r)
	mux.Handle("GET /docs", asyncapi.DocsPage(doc))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	page := newPage(t, newBrowser(t))
	// The document: its endpoint, events, pushes and the rules of the
	// request's fields.
	run(t, page,
		chromedp.Navigate(srv.URL+"/docs"),
		eval(helpers),
		waitFor(`document.querySelector(".hero h1")?.textContent === "Chat"`),
		waitFor(`document.querySelector(".hero .description").textContent === "</script><b>not markup</b>"`),
		waitFor(`document.getElementById("op-ws-chat.send") !== null && document.getElementById("op-ws-chat.watch") !== null &&
			document.getElementById("push-ws-chat.message") !== null`),
		waitFor(`[...document.querySelectorAll("#op-ws-chat\\.send td")].some(td => td.textContent === "1–500 chars")`),
		waitFor(`document.getElementById("endpoint").value === "ws" && document.getElementById("url").value === %s`,
			"ws://"+srv.Listener.Addr().String()+"/ws"),
	)

	// A call, from the example the form starts with: its push and its reply.
	run(t, page,
		selectEvent("chat.send"),
		waitFor(`field('["message"]').querySelector("input").value !== ""`),
		click("#send"),
		waitFor(`document.getElementById("status").dataset.state === "open"`),
		waitLog("push", "chat.message", 200),
		waitLog("reply", "chat.send", 200),
	)

	// A 400: each entry of its errorList next to its field.
	run(t, page,
		setInput(`["message"]`, ""),
		setInput(`["user"]`, "a user name that is far too long to pass"),
		click("#send"),
		waitLog("error", "chat.send", 400),
		waitFor(`errorOf('["message"]') === "Field required (missing)" && invalid('["message"]')`),
		waitFor(`errorOf('["user"]').startsWith("String should have at most 32 characters") && invalid('["user"]')`),
		// Fixed, the errors go.
		setInput(`["message"]`, "Hi"),
		setInput(`["user"]`, "ana"),
		click("#send"),
		waitFor(`errorOf('["message"]') === "" && errorOf('["user"]') === "" && !invalid('["user"]')`),
	)

	// The JSON editor: what the form holds, and the errors above it.
	run(t, page,
		click("#tab-json"),
		waitFor(`JSON.parse(document.getElementById("json").value).user === "ana"`),
		setJSON(`{"message": 5, "user": "ana"}`),
		click("#send"),
		waitFor(`document.getElementById("general-errors").textContent.includes("Input should be a valid string")`),
		click("#tab-form"),
		waitFor(`!document.getElementById("form").hidden`),
	)

	// A stream: two items, then it waits; Cancel sends $cancel and the
	// final reply ends it.
	run(t, page,
		selectEvent("chat.watch"),
		setInput(`["room"]`, "lobby"),
		setInput(`["count"]`, "2"),
		check(`["wait"]`),
		click("#send"),
		waitFor(`document.querySelectorAll("#log .msg[data-kind=item]").length === 2`),
		waitFor(`document.querySelectorAll("#streams li").length === 1`),
		click("#streams button"),
		waitLog("cancel", "$cancel", 0),
		waitLog("end", "chat.watch", 200),
		waitFor(`document.querySelectorAll("#streams li").length === 0`),
	)
	if n := ch.cancelled.Load(); n != 1 {
		t.Errorf("%d streams cancelled on the server, want 1", n)
	}

	chrome.Screenshot(t, page, *screenshot)
}

// helpers defines functions the steps below call in the page.
const helpers = `(() => {
	window.field = (loc) => document.querySelector('#form [data-loc="' + CSS.escape(loc) + '"]');
	window.errorOf = (loc) => field(loc).querySelector(":scope > .field-error").textContent;
	window.invalid = (loc) => field(loc).querySelector("input, select, textarea").getAttribute("aria-invalid") === "true";
	return true;
})()`

// selectEvent picks an event in the console.
func selectEvent(name string) chromedp.Action[chromedp.Void] {
	return eval(`(() => { const s = document.getElementById("event"); s.value = %s; s.dispatchEvent(new Event("change")); return true })()`, name)
}

// setInput types a value into the form's field at loc (a JSON list).
func setInput(loc, value string) chromedp.Action[chromedp.Void] {
	return eval(`(() => {
		const el = field(%s).querySelector("input, select, textarea");
		if (el.tagName === "SELECT") el.value = String(el.enumValues.indexOf(%s));
		else el.value = %s;
		return true })()`, loc, value, value)
}

func check(loc string) chromedp.Action[chromedp.Void] {
	return eval(`(() => { field(%s).querySelector("input").checked = true; return true })()`, loc)
}

func setJSON(text string) chromedp.Action[chromedp.Void] {
	return eval(`(() => { document.getElementById("json").value = %s; return true })()`, text)
}

// waitLog waits for a message of kind in the log, with its event and
// status (0: none).
func waitLog(kind, event string, status int) chromedp.Action[chromedp.Void] {
	return waitFor(fmt.Sprintf(`[...document.querySelectorAll("#log .msg")].some(m => m.dataset.kind === %%s &&
		m.querySelector("b")?.textContent === %%s && (%d === 0 || m.querySelector(".status")?.textContent === "%d"))`, status, status),
		kind, event)
}

func click(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(selector))
}

// The helpers of package chrome, under the names the tests use.
var (
	waitFor = chrome.WaitFor
	eval    = chrome.Eval
	newPage = chrome.NewPage
)

func newBrowser(t *testing.T) context.Context { return chrome.NewBrowser(t, 1440, 900) }

// run runs actions on a page; a failure shows the page's console.
func run(t *testing.T, page context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	chrome.Run(t, page, func(page context.Context) string {
		ctx, cancel := context.WithTimeout(page, 10*time.Second)
		defer cancel()
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("console")?.innerText ?? document.body.innerText`))
		return "the console shows:\n" + text
	}, actions...)
}
