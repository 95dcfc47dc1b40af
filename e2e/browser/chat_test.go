package browser

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cafeto-go/ws/e2e/internal/chrome"
	"github.com/chromedp/chromedp"
)

var screenshot = flag.String("screenshot", filepath.Join(os.TempDir(), "cafeto-chat-e2e.png"),
	"where TestChat saves a screenshot of the chat page")

// chatBin and chatnatsBin are the chat examples, built once by TestMain.
var chatBin, chatnatsBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "chat-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chatBin = filepath.Join(dir, "chat")
	build := exec.Command("go", "build", "-o", chatBin, "github.com/cafeto-go/ws/examples/chat")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the chat example: %v\n%s", err, out)
		os.Exit(1)
	}
	chatnatsBin = filepath.Join(dir, "chatnats")
	build = exec.Command("go", "build", "-o", chatnatsBin, ".")
	build.Dir = filepath.Join("..", "..", "natsbroker", "chatnats") // in the natsbroker module
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the chatnats example: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestChat: two people join, talk, and each sees the other's messages and
// when the other is typing.
func TestChat(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	srv := startServer(t, "127.0.0.1:0")
	ana := chrome.NewPage(t, browser)
	ben := chrome.NewPage(t, ana)

	run(t, ana, enter(srv.url(), "Ana"), say("Hola!"))
	run(t, ben, enter(srv.url(), "Ben"), say("Hi Ana, Ben here."))
	run(t, ana, seeFromOthers("Hi Ana, Ben here."), say("Welcome, Ben. How is the new chat?"))
	run(t, ben, seeFromOthers("Welcome, Ben. How is the new chat?"), say("Typed, validated and live. Love it!"))
	run(t, ana, seeFromOthers("Typed, validated and live. Love it!"))

	// Ben types without sending: Ana sees it.
	run(t, ben, chromedp.SendKeys(chromedp.ID("message"), "Count me in for"))
	run(t, ana,
		chrome.WaitFor(`document.getElementById("typing").textContent === %s`, "Ben is typing…"),
		chrome.WaitFor(`document.getElementById("online").textContent.startsWith(%s)`, "2 online: Ana, Ben"),
	)

	chrome.Screenshot(t, ana, *screenshot)

	// Ben's message ends his typing on Ana's page.
	run(t, ben, chromedp.Click(chromedp.ID("send")))
	run(t, ana, seeFromOthers("Count me in for"), chrome.WaitFor(`document.getElementById("typing").textContent === ""`))
}

// TestHistoryAfterReload: a reloaded page joins again under its name and
// shows the room's last messages, in order; a newcomer sees them before
// picking a name.
func TestHistoryAfterReload(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	srv := startServer(t, "127.0.0.1:0")
	ana := chrome.NewPage(t, browser)
	ben := chrome.NewPage(t, ana)
	run(t, ana, enter(srv.url(), "Ana"), say("One"))
	run(t, ben, enter(srv.url(), "Ben"), say("Two"))
	run(t, ana, seeFromOthers("Two"), say("Three"))

	run(t, ana, chromedp.Reload(), waitJoined("Ana"),
		chrome.WaitFor(`[...document.querySelectorAll("#messages li")].map(li =>
			(li.classList.contains("mine") ? "mine:" : "") + li.querySelector("p").textContent).join("|") === %s`,
			"mine:One|Two|mine:Three"))
	run(t, ana, say("Four"))
	run(t, ben, seeFromOthers("Four"))

	cleo := chrome.NewPage(t, ana)
	run(t, cleo, chromedp.Navigate(srv.url()), waitOpen(),
		chrome.WaitFor(`[...document.querySelectorAll("#messages li p")].map(p => p.textContent).join("|") === %s`,
			"One|Two|Three|Four"),
		chrome.WaitFor(`!document.getElementById("join").hidden && document.getElementById("composer").hidden`))
}

// TestValidationError: an empty, blank or over-long message goes to the
// server, whose 400 errorList shows next to the input; nothing is posted.
// A name taken in the room shows its 409 next to the name.
func TestValidationError(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	srv := startServer(t, "127.0.0.1:0")
	ana := chrome.NewPage(t, browser)
	run(t, ana, enter(srv.url(), "Ana"))

	for _, tt := range []struct{ message, want string }{
		{"", "Field required"},
		{"   ", "String should not be blank"},
		{strings.Repeat("a", 501), "String should have at most 500 characters"},
	} {
		run(t, ana,
			paste(tt.message),
			chromedp.Click(chromedp.ID("send")),
			chrome.WaitFor(`document.getElementById("error").textContent === %s &&
				document.getElementById("message").getAttribute("aria-invalid") === "true"`, tt.want),
		)
	}
	run(t, ana, say("Now a real one."), chrome.WaitFor(`document.getElementById("error").textContent === ""`))
	posted, err := chromedp.Run(ana, chromedp.Evaluate[int](`document.querySelectorAll("#messages li").length`))
	if err != nil {
		t.Fatal(err)
	}
	if posted != 1 {
		t.Errorf("%d messages posted, want only the valid one", posted)
	}

	other := chrome.NewPage(t, ana)
	run(t, other, chromedp.Navigate(srv.url()), waitOpen(),
		chromedp.SendKeys(chromedp.ID("name"), "ana"),
		chromedp.Click(chromedp.CSS("#join button")),
		chrome.WaitFor(`document.getElementById("join-error").textContent === %s &&
			document.getElementById("name").getAttribute("aria-invalid") === "true" &&
			document.getElementById("composer").hidden`,
			`Name: The name "ana" is taken in this room: pick another one`),
		setValue("name", ""),
		chromedp.SendKeys(chromedp.ID("name"), "Anabel"),
		chromedp.Click(chromedp.CSS("#join button")),
		waitJoined("Anabel"),
		say("Anabel here."))
	run(t, ana, seeFromOthers("Anabel here."))
}

// TestRateLimitShown: a person who sends faster than chat.send's rate
// limit (10 at once, then 2 a second) sees a polite request to slow down
// under the input, and the page stays connected. The clicks come from one
// script, at once, as fast as a person mashing Enter can never be slower
// than the limit.
func TestRateLimitShown(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	srv := startServer(t, "127.0.0.1:0")
	ana := chrome.NewPage(t, browser)
	run(t, ana, enter(srv.url(), "Ana"))
	clicks := chromedp.Evaluate[int](`(() => {
		const input = document.getElementById("message"), send = document.getElementById("send");
		for (let i = 0; i < 30; i++) { input.value = "quick " + i; send.click(); }
		return 30;
	})()`)
	if _, err := chromedp.Run(ana, clicks); err != nil {
		t.Fatal(err)
	}
	run(t, ana,
		chrome.WaitFor(`document.getElementById("error").textContent === "You are sending messages quickly: wait a moment, then send again." &&
			document.getElementById("message").getAttribute("aria-invalid") === "true"`),
		waitOpen())
}

// TestRoomStream: the room's stats stream (chat.watch) shows who is online
// as it changes; Stop ends it ($cancel) and Watch opens it again.
func TestRoomStream(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	srv := startServer(t, "127.0.0.1:0")
	ana := chrome.NewPage(t, browser)
	ben := chrome.NewPage(t, ana)
	run(t, ana, enter(srv.url(), "Ana"), roomSays("1 online: Ana · 1 connection · 0 messages"))
	run(t, ben, enter(srv.url(), "Ben"), say("Hi"))
	run(t, ana, roomSays("2 online: Ana, Ben · 2 connections · 1 message"))

	run(t, ana,
		chromedp.Click(chromedp.ID("watch")),
		// "stopped" once the stream's final reply has come back.
		chrome.WaitFor(`document.getElementById("room").dataset.state === "stopped" &&
			document.getElementById("online").textContent === "Room stats are off" &&
			document.getElementById("watch").textContent === "Watch"`),
		chromedp.Click(chromedp.ID("watch")),
		roomSays("2 online: Ana, Ben · 2 connections · 1 message"))
	if err := chromedp.Cancel(ben); err != nil { // closes Ben's tab
		t.Fatal(err)
	}
	run(t, ana, roomSays("1 online: Ana · 1 connection · 1 message"))
}

// TestReconnect: the server stops (SIGTERM: its clients get 1001) and
// starts again on the same address; the pages say so, reconnect by
// themselves, show that messages may have been missed (the history was in
// the server's memory), join again under their names and chat again.
func TestReconnect(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	srv := startServer(t, "127.0.0.1:0")
	ana := chrome.NewPage(t, browser)
	ben := chrome.NewPage(t, ana)
	run(t, ana, enter(srv.url(), "Ana"), say("Before"))
	run(t, ben, enter(srv.url(), "Ben"), say("Before too"))
	run(t, ana, seeFromOthers("Before too"))

	srv.stop(t)
	for _, page := range []context.Context{ana, ben} {
		run(t, page, chrome.WaitFor(`document.getElementById("status").dataset.state !== "open" &&
			document.getElementById("status").textContent.startsWith(%s) &&
			document.getElementById("send").disabled`, "Server restarting"))
	}

	startServer(t, srv.addr) // on the same address; its cleanup stops it
	// Its history was in memory: the room's epoch changed, Ana's resume
	// gets a 410, and her page says messages may be missing. Ben has been
	// pushed nothing (he only sent), so he has nothing to resume.
	run(t, ana, chrome.WaitFor(`!document.getElementById("notice").hidden &&
		document.getElementById("notice").textContent.startsWith(%s)`, "Reconnected, but the server could not send every message"))
	run(t, ana, waitJoined("Ana"), say("After"))
	run(t, ben, waitJoined("Ben"), say("After too"))
	run(t, ana, seeFromOthers("After too"), say("We are back."),
		roomSays("2 online: Ana, Ben · 2 connections · 3 messages"))
	run(t, ben, seeFromOthers("We are back."))
}

// enter opens the page, picks a name and waits until the page has joined.
func enter(url, name string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Navigate(url),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.CSS("#join button")),
		waitJoined(name),
	)
}

func waitOpen() chromedp.Action[chromedp.Void] {
	return chrome.WaitFor(`document.getElementById("status").dataset.state === "open"`)
}

// waitJoined waits until the page is connected and has joined as name: the
// server has answered chat.join, which enables Send.
func waitJoined(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		waitOpen(),
		chrome.WaitFor(`!document.getElementById("composer").hidden &&
			!document.getElementById("send").disabled &&
			document.getElementById("me").textContent === %s`, name),
	)
}

// roomSays waits until the room's stats stream shows text.
func roomSays(text string) chromedp.Action[chromedp.Void] {
	return chrome.WaitFor(`document.getElementById("room").dataset.state === "watching" &&
		document.getElementById("online").textContent === %s`, text)
}

// say sends a message and waits until the server has accepted it: the page
// shows it as its own and empties the input.
func say(message string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		paste(""),
		chromedp.SendKeys(chromedp.ID("message"), message),
		chromedp.Click(chromedp.ID("send")),
		chrome.WaitFor(`[...document.querySelectorAll("#messages li.mine p")].some(p => p.textContent === %s) &&
			document.getElementById("message").value === ""`, message),
	)
}

// seeFromOthers waits until the page shows message as someone else's.
func seeFromOthers(message string) chromedp.Action[chromedp.Void] {
	return chrome.WaitFor(`[...document.querySelectorAll("#messages li:not(.mine) p")].some(p => p.textContent === %s)`, message)
}

// paste puts text into the message input at once, as a paste would.
func paste(text string) chromedp.Action[chromedp.Void] { return setValue("message", text) }

// setValue sets the value of the input whose id is id.
func setValue(id, text string) chromedp.Action[chromedp.Void] {
	return chrome.Eval(`document.getElementById(%s).value = %s`, id, text)
}

// run runs actions on a page; a failure shows what the page shows.
func run(t *testing.T, page context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	chrome.Run(t, page, shows, actions...)
}

// shows describes what the page shows, for a failure's message.
func shows(page context.Context) string {
	ctx, cancel := context.WithTimeout(page, 5*time.Second)
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(Object.fromEntries(
		["status", "room", "online", "typing", "error", "join-error", "me"].map(id => [id, document.getElementById(id)?.textContent])
			.concat([["messages", [...document.querySelectorAll("#messages li p")].map(p => p.textContent)]])))`))
	if err != nil {
		return "the page cannot be read: " + err.Error()
	}
	return "the page shows " + text
}

// server is the chat example running as a process of its own.
type server struct {
	addr string // host:port it listens on
	done chan error
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  strings.Builder
}

// startServer runs the chat binary with -addr addr and waits until it
// listens.
func startServer(t *testing.T, addr string) *server {
	t.Helper()
	return startProcess(t, chatBin, "-addr", addr)
}

// startProcess runs bin, a chat server, with args and waits until it
// listens.
func startProcess(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	s := &server{done: make(chan error, 1), cmd: exec.Command(bin, args...)}
	pr, pw := io.Pipe()
	s.cmd.Stderr = pw
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.done <- s.cmd.Wait()
		pw.Close()
	}()
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
			if _, addr, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
				listening <- addr
			}
		}
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.stop(t)
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("chat server log:\n%s", s.log.String())
			s.mu.Unlock()
		}
	})
	select {
	case s.addr = <-listening:
		return s
	case err := <-s.done:
		s.done <- err
		t.Fatalf("chat server exited before listening: %v", err)
		return nil
	}
}

func (s *server) url() string { return "http://" + s.addr + "/" }

// stop sends SIGTERM and waits for the graceful shutdown, which must end
// with exit status 0.
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-s.done; err != nil {
		t.Errorf("chat server: %v", err)
	}
}
