// Package browser tests the chat example (examples/chat) in a real browser:
// headless Chromium at /usr/bin/chromium, driven with chromedp, against the
// example's own binary, so that stopping and restarting the server is a real
// process restart; and natsbroker/chatnats, whose page resumes on another
// server when its own is killed.
//
//	cd e2e/browser && go test -v .
//	cd e2e/browser && go test -run TestChat -screenshot ../../docs/chat.png   # renew the README's picture
//
// Without Chromium the tests skip, unless CI=true: then they fail.
package browser
