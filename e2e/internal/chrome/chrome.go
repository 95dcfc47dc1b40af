// Package chrome drives the headless Chromium of the browser tests of this
// module, through chromedp: a browser, its tabs, and actions that wait for
// a JavaScript expression to hold.
package chrome

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path is where the tests expect Chromium (Debian's chromium package).
const Path = "/usr/bin/chromium"

// NewBrowser starts a headless Chromium with a fresh profile and a window
// of width×height, for the test. Without Chromium the test skips, or fails
// under CI=true.
func NewBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: CI must install it (apt-get install -y chromium, as ./test.sh does when run as root)", Path)
		}
		t.Skipf("skipping the browser test: %s is missing; install it with apt-get install -y chromium", Path)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	return ctx
}

// NewPage opens a tab: in a new browser when parent is NewBrowser's
// context, beside parent's tab when it is a page.
func NewPage(t *testing.T, parent context.Context) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab, for as long as ctx lives
		t.Fatal(err)
	}
	return ctx
}

// Screenshot saves what the page shows, as a PNG, to path.
func Screenshot(t *testing.T, page context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(page, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// WaitFor waits until the JavaScript expression is true (see [JS]).
func WaitFor(expr string, args ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](JS(expr, args...),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))
}

// Eval runs the JavaScript expression (see [JS]) and drops its value; it
// fails if the expression throws.
func Eval(expr string, args ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](JS(expr, args...))
}

// JS returns the JavaScript expression expr, in which each %s stands for
// one of args as a JavaScript string.
func JS(expr string, args ...string) string {
	quoted := make([]any, len(args))
	for i, a := range args {
		b, _ := json.Marshal(a)
		quoted[i] = string(b)
	}
	return fmt.Sprintf(expr, quoted...)
}

// Run runs actions on a page; when one fails, the test fails with the
// error and what shows says of the page. The timeout only keeps a broken page from
// hanging the suite; nothing here measures time.
func Run(t *testing.T, page context.Context, shows func(page context.Context) string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(page, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%v; %s", err, shows(page))
	}
}
