package asyncapicheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/chromedp/chromedp"
)

const chromium = "/usr/bin/chromium"

type WatchRequest struct {
	Room string `json:"room" validate:"required,oneof=lobby games"`
}

// TestPage opens the documentation page in Chromium, with nothing but the
// page's own script allowed (its Content-Security-Policy), and uses its
// console: the example built from each request's schema passes the
// server's validation, an empty object does not, and a stream's items
// arrive.
func TestPage(t *testing.T) {
	chat := ws.Callback(nil, func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse{Message: "Hi " + in.User, User: "System"}, nil
	}, nil)
	router := ws.NewRouter()
	ws.On(router, "chat.send", func(ctx context.Context, in ChatRequest) (ChatResponse, error) {
		return ChatResponse{Message: in.Message, User: in.User}, nil
	})
	ws.Stream(router, "chat.watch", func(ctx context.Context, in WatchRequest, send func(ChatResponse) error) error {
		return send(ChatResponse{Message: "welcome to " + in.Room, User: "System"})
	})
	ws.Emits[ChatResponse](router, "chat.message")
	doc := ws.NewAsyncAPI(ws.APIInfo{Title: "Chat", Version: "1.0.0", Description: "</script><b>not markup</b>"})
	doc.Add("/chat", chat)
	doc.Add("/ws", router)
	mux := http.NewServeMux()
	mux.Handle("GET /chat", chat)
	mux.Handle("GET /ws", router)
	mux.Handle("GET /docs", doc.Page())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	page := newPage(t, newBrowser(t))
	run(t, page,
		chromedp.Navigate(srv.URL+"/docs"),
		waitFor(`document.getElementById("title").textContent === "Chat 1.0.0"`),
		// The description is text, not markup.
		waitFor(`document.getElementById("description").textContent === "</script><b>not markup</b>"`),
		waitFor(`document.querySelectorAll("nav button").length === 2`),
	)

	// The callback: its request's example passes, {} does not.
	run(t, page,
		click(`nav button[data-id="chat"]`),
		waitFor(`document.querySelector('[data-op="chat.receive"]') !== null`),
		click(`#connect`),
		waitFor(`document.getElementById("status").textContent.startsWith("connected")`),
		click(`#send`),
		waitFor(`[...document.querySelectorAll("#log li.in")].some(li => li.textContent.includes('"statusCode":200'))`),
		setMessage(`{}`),
		click(`#send`),
		waitFor(`[...document.querySelectorAll("#log li.in")].some(li => li.textContent.includes('"statusCode":400'))`),
	)

	// The router: an event and a stream, each from its example.
	run(t, page,
		click(`nav button[data-id="ws"]`),
		waitFor(`document.querySelector('[data-op="ws.chat.send"]') !== null`),
		click(`#connect`),
		waitFor(`document.getElementById("status").textContent.startsWith("connected")`),
		click(`[data-op="ws.chat.send"] button[data-example="chat.send"]`),
		click(`#send`),
		waitFor(`[...document.querySelectorAll("#log li.in")].some(li => li.textContent.includes('"event":"chat.send","statusCode":200'))`),
		click(`[data-op="ws.chat.watch"] button[data-example="chat.watch"]`),
		click(`#send`),
		waitFor(`[...document.querySelectorAll("#log li.in")].some(li => li.textContent.includes('"more":true'))`),
		waitFor(`[...document.querySelectorAll("#log li.in")].some(li => li.textContent.includes('"event":"chat.watch","statusCode":200,"body":null'))`),
	)

	png, err := chromedp.Run(page, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(os.TempDir(), "cafeto-asyncapi-page.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", shot)
}

func click(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(selector))
}

// setMessage puts text into the console's message box.
func setMessage(text string) chromedp.Action[chromedp.Void] {
	set := chromedp.Evaluate[string](js(`document.getElementById("message").value = %s`, text))
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := set(ctx, t)
		return chromedp.Void{}, err
	}
}

// run runs actions on a page. The timeout only keeps a broken page from
// hanging the suite; nothing here measures time.
func run(t *testing.T, page context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		// Say what the page shows.
		ctx, cancel := context.WithTimeout(page, 10*time.Second)
		defer cancel()
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById("channel") || document.body).innerText`))
		t.Fatalf("%v; the page shows:\n%s", err, text)
	}
}

// waitFor waits until the JavaScript expression is true (see js).
func waitFor(expr string, args ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](js(expr, args...),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))
}

// js returns the JavaScript expression expr, in which each %s stands for
// one of args as a JavaScript string.
func js(expr string, args ...string) string {
	quoted := make([]any, len(args))
	for i, a := range args {
		b, _ := json.Marshal(a)
		quoted[i] = string(b)
	}
	return fmt.Sprintf(expr, quoted...)
}

// newBrowser starts a headless Chromium with a fresh profile. Without
// Chromium the test skips, or fails under CI=true.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must install it (apt-get install -y chromium, as ./test.sh does when run as root)", chromium)
		}
		t.Skipf("skipping the browser test: %s is missing", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return ctx
}

func newPage(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}
