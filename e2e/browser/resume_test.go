package browser

import (
	"context"
	"fmt"
	"github.com/cafeto-go/ws/e2e/internal/chrome"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// TestResumeOnAnotherNode: the page is on chat server A of natsbroker/chatnats
// (history in NATS JetStream), through a proxy that stands for a load
// balancer. A dies (SIGKILL); while the page cannot reconnect, Ben posts
// more messages on server B than chat.history returns; then the proxy
// sends new connections to B. The page resumes there and shows every
// message once, in order, with no notice of a loss.
func TestResumeOnAnotherNode(t *testing.T) {
	browser := chrome.NewBrowser(t, 960, 720)
	// A third chat server runs the NATS server with JetStream, so that A's
	// death does not take NATS with it.
	natsURL := "nats://" + freeAddr(t)
	startProcess(t, chatnatsBin, "-addr", "127.0.0.1:0", "-nats-server", "-nats", natsURL, "-nats-store", t.TempDir())
	a := startProcess(t, chatnatsBin, "-addr", "127.0.0.1:0", "-nats", natsURL)
	b := startProcess(t, chatnatsBin, "-addr", "127.0.0.1:0", "-nats", natsURL)
	p := newProxy(t, a.addr)

	ben := dialChat(t, b.addr)
	const before, away = 10, 80 // chat.history returns the last 50
	post := func(from, to int) {
		for i := from; i <= to; i++ {
			if i%10 == 1 {
				// At most 10 messages from one address: the burst of
				// the demo's limit on /chat.
				ben = dialChatFrom(t, b.addr, fmt.Sprintf("127.0.0.%d", 2+i/10))
			}
			if err := wsjson.Write(t.Context(), ben, map[string]string{"message": fmt.Sprint("m", i), "user": "Ben"}); err != nil {
				t.Fatal(err)
			}
			// Ben's reply, or a push to him (his own messages are not).
			var reply struct {
				StatusCode int `json:"statusCode"`
			}
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			err := wsjson.Read(ctx, ben, &reply)
			cancel()
			if err != nil || reply.StatusCode != 200 {
				t.Fatalf("posting m%d: %+v, %v", i, reply, err)
			}
		}
	}
	want := func(n int) string {
		var s []string
		for i := 1; i <= n; i++ {
			s = append(s, fmt.Sprint("m", i))
		}
		return strings.Join(s, "|")
	}
	shown := `[...document.querySelectorAll("#messages li:not(.mine) p")].map(p => p.textContent).join("|") === %s`

	ana := chrome.NewPage(t, browser)
	run(t, ana, enter(p.url(), "Ana"))
	post(1, before)
	run(t, ana, chrome.WaitFor(shown, want(before)))

	p.down()
	a.kill(t)
	run(t, ana, chrome.WaitFor(`document.getElementById("status").dataset.state !== "open"`))
	post(before+1, before+away)
	p.to(b.addr)

	run(t, ana, waitJoined("Ana"), chrome.WaitFor(shown, want(before+away)),
		chrome.WaitFor(`document.getElementById("notice").hidden`))
	post(before+away+1, before+away+1)
	run(t, ana, chrome.WaitFor(shown, want(before+away+1)))
}

// freeAddr returns a local address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// dialChat dials GET /chat of the chat server at addr.
func dialChat(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	return dialChatFrom(t, addr, "127.0.0.1")
}

// dialChatFrom dials GET /chat of the chat server at addr from the local
// address ip: the demo limits what one address posts, so a test that posts
// more than its burst spreads its messages over several addresses.
func dialChatFrom(t *testing.T, addr, ip string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/chat", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// kill ends the server at once (SIGKILL), as a crash would.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
}

// proxy forwards TCP connections to one backend, which the test switches,
// as a load balancer would; while down, it closes them at once.
type proxy struct {
	ln net.Listener

	mu      sync.Mutex
	backend string // "" while down
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() + "/" }

func (p *proxy) down() { p.to("") }

func (p *proxy) to(backend string) {
	p.mu.Lock()
	p.backend = backend
	p.mu.Unlock()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		backend := p.backend
		p.mu.Unlock()
		if backend == "" {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(c, backend)
		}()
	}
}

// pipe copies between c and a new connection to backend until either
// ends, then closes both.
func (p *proxy) pipe(c net.Conn, backend string) {
	defer c.Close()
	up, err := net.Dial("tcp", backend)
	if err != nil {
		return
	}
	defer up.Close()
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, up)
		p.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}
