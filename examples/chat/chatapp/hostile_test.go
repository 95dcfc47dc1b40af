package chatapp_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/examples/chat/chatapp"
	"github.com/cafeto-go/ws/hub"
	"github.com/cafeto-go/ws/wsclient"
	"github.com/cafeto-go/ws/wstest"
	"github.com/coder/websocket"
)

// What a hostile client tries on the demo, and what it gets.

// TestNamesNormalised: names that look like another, or like nothing, are
// refused with a 400 at ["user"], on /ws and on /chat; names that differ
// only in case, width or spaces are one name.
func TestNamesNormalised(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	refusedNames := map[string]string{
		"Ana\u200b":                            "name_invisible",     // zero width space
		"A\u200dna":                            "name_invisible",     // zero width joiner
		"\u202eanA":                            "name_invisible",     // right-to-left override
		"\u2066Ana\u2069":                      "name_invisible",     // bidi isolates
		"Ana\ufe0f":                            "name_invisible",     // variation selector
		"\u200b":                               "name_invisible",     // nothing visible
		"\u2800":                               "name_invisible",     // braille blank
		"\u3164":                               "name_invisible",     // Hangul filler
		"   ":                                  "name_blank",         // spaces only
		"---":                                  "name_blank",         // nothing but punctuation
		"\u0410na":                             "name_mixed_scripts", // Cyrillic А, Latin na
		"Ana\u0301":                            "name_mark",          // a decomposed accent on a Latin letter
		"\u0915" + strings.Repeat("\u093c", 3): "name_mark",          // 3 marks on a letter
		"a" + strings.Repeat("\u0301", 31):     "string_too_long",    // a flood of combining marks
		"\U0001d400na":                         "name_character",     // mathematical bold A
		"\uff71\uff85":                         "name_character",     // halfwidth katakana
		"Ana 🙂":                                "name_character",     // emoji
		"Ana\u00ad":                            "name_invisible",     // soft hyphen
		"\ufb01ona":                            "name_character",     // the ligature ﬁ
		strings.Repeat("a", 128):               "string_too_long",
		strings.Repeat("é", 25):                "string_too_long",
	}
	c := dial(t, srv, "/ws")
	i := 0
	for name, typ := range refusedNames {
		// A /chat client of its own, from an address of its own: each
		// refused message counts against /chat's limit.
		i++
		old := dialFrom(t, srv, "/chat", fmt.Sprint("127.0.1.", i))
		_, err := wsclient.Call[chatapp.Joined](t.Context(), c.Client, "chat.join", chatapp.JoinRequest{User: name})
		if d := refused(t, err, 400, []any{"user"}, typ); strings.Contains(d.Msg, name) && strings.TrimSpace(name) != "" {
			t.Errorf("join %+q: the 400 %q repeats the name", name, d.Msg)
		}
		_, err = wsclient.Send[chatapp.ChatMessage](t.Context(), old.Client, chatapp.ChatRequest{Message: "hi", User: name})
		refused(t, err, 400, []any{"user"}, typ)
	}

	// Accepted, in their normal form.
	for name, want := range map[string]string{
		"  Ana   María ": "Ana María",
		"ｂｅｎ":            "ben",
		"O'Neil-Ng_2.":   "O'Neil-Ng_2.",
		"Zoë":            "Zoë",
		"Ελένη":          "Ελένη",
		"Жанна":          "Жанна",
		"山田ルーシー":         "山田ルーシー",
		"김민준":            "김민준",
		"देवी":           "देवी",
	} {
		j, err := wsclient.Call[chatapp.Joined](t.Context(), dial(t, srv, "/ws").Client, "chat.join", chatapp.JoinRequest{User: name})
		if err != nil || j.User != want {
			t.Errorf("join %q: %+v, %v; want %q", name, j, err, want)
		}
	}
	// One name, whatever its case and width.
	for _, name := range []string{"ANA MARÍA", "ａｎａ　ｍａｒíａ", "Ben", "BEN"} {
		_, err := wsclient.Call[chatapp.Joined](t.Context(), c.Client, "chat.join", chatapp.JoinRequest{User: name})
		refused(t, err, 409, []any{"user"}, "name_taken")
	}
}

// TestChatCannotPostAsPageUser: /chat cannot post under a name joined on
// /ws, nor under one that left (reserved for a reconnect), nor under one
// with /ws messages in the history; /ws cannot join under a name /chat
// posted under. So a message never shows as someone else's, in the
// history or live.
func TestChatCannotPostAsPageUser(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	ana := joined(t, srv, "Ana")
	ben := joined(t, srv, "Ben")
	old := dialFrom(t, srv, "/chat", "127.0.0.2")
	ana.send("hola")
	ben.message()

	_, err := wsclient.Send[chatapp.ChatMessage](t.Context(), old.Client, chatapp.ChatRequest{Message: "I am Ana", User: "ANA"})
	refused(t, err, 409, []any{"user"}, "name_taken")
	ana.Close()
	waitGone(t, ben, "Ana")
	for _, name := range []string{"Ana", "ａｎａ"} {
		_, err = wsclient.Send[chatapp.ChatMessage](t.Context(), old.Client, chatapp.ChatRequest{Message: "I am Ana", User: name})
		if d := refused(t, err, 409, []any{"user"}, "name_reserved"); !strings.Contains(d.Msg, `"`) {
			t.Errorf("409 %q: want the name in it", d.Msg)
		}
	}
	// Nothing forged is in the history: Ana's page, back, shows hers only.
	back := joined(t, srv, "Ana")
	h, err := wsclient.Call[[]chatapp.ChatMessage](t.Context(), back.Client, "chat.history", chatapp.HistoryRequest{})
	if err != nil || len(h) != 1 || h[0].Message != "hola" {
		t.Fatalf("history %+v, %v; want Ana's own message only", h, err)
	}

	// The other way: a name /chat posted under cannot be joined on /ws
	// while its message is in the history.
	if m := old.post("Zed", "from /chat"); m.User != "Zed" {
		t.Fatalf("/chat post: %+v", m)
	}
	_, err = wsclient.Call[chatapp.Joined](t.Context(), dial(t, srv, "/ws").Client, "chat.join", chatapp.JoinRequest{User: "zed"})
	refused(t, err, 409, []any{"user"}, "name_taken")
}

// waitGone reads the stats stream with c until name is no longer online.
func waitGone(t *testing.T, c *client, name string) {
	t.Helper()
	wait, cancel := context.WithTimeout(t.Context(), testWait)
	defer cancel()
	for stats, err := range wsclient.Stream[chatapp.RoomStats](wait, c.Client, "chat.watch", chatapp.WatchRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(stats.Online, name) {
			return
		}
	}
}

// TestWatchBounded: a chat.watch item lists 20 names at most and counts
// them all, and a connection may have 2 streams open at once.
func TestWatchBounded(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	const n = 30
	for i := range n {
		joined(t, srv, fmt.Sprintf("User%02d", i))
	}
	w := dial(t, srv, "/ws")
	open := make(chan chatapp.RoomStats, 2)
	for range 2 {
		go func() {
			first := true
			for stats := range wsclient.Stream[chatapp.RoomStats](t.Context(), w.Client, "chat.watch", chatapp.WatchRequest{}) {
				if first {
					open <- stats
					first = false
				}
			}
		}()
	}
	for range 2 {
		select {
		case stats := <-open:
			if len(stats.Online) != 20 || stats.Joined != n || stats.Online[0] != "User00" {
				t.Fatalf("item %+v: want 20 names of %d, sorted", stats, n)
			}
		case <-time.After(testWait):
			t.Fatal("no item")
		}
	}
	var third error
	for _, err := range wsclient.Stream[chatapp.RoomStats](t.Context(), w.Client, "chat.watch", chatapp.WatchRequest{}) {
		third = err
		break
	}
	refused(t, third, 429, []any{"id"}, "too_many_streams")
}

// TestEchoLimited: /echo answers a flood with 429s, then closes it with
// 1008.
func TestEchoLimited(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	c, _, err := websocket.Dial(t.Context(), srv.URL+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	replies := map[string]int{}
	for n := 0; ; n++ {
		if n == 1000 {
			t.Fatalf("1,000 messages echoed or refused, and the connection is still open: %v", replies)
		}
		if err := c.Write(t.Context(), websocket.MessageText, []byte(`{}`)); err != nil {
			break
		}
		_, data, err := c.Read(t.Context())
		if err != nil {
			if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("the flood ended with %v, want close 1008", err)
			}
			break
		}
		var reply struct {
			StatusCode int `json:"statusCode"`
		}
		json.Unmarshal(data, &reply)
		replies[fmt.Sprint(reply.StatusCode)]++
	}
	if replies["0"] < 40 || replies["429"] != ws.DefaultCloseAfter-1 {
		t.Fatalf("replies by status %v: want a burst of 40 echoes, then 49 429s", replies)
	}
}

// TestHostPinned: the server answers requests naming localhost,
// 127.0.0.1, [::1] or a host of its list only; any other Host (a DNS
// rebinding page) gets 421, and so does its WebSocket handshake.
func TestHostPinned(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(chatapp.NewServer(new(ws.Group), hub.New(), []string{"chat.example"}).Handler)
	defer srv.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	for host, want := range map[string]int{
		"127.0.0.1:" + port:          200,
		"localhost:" + port:          200,
		"LOCALHOST:" + port:          200,
		"[::1]:" + port:              200,
		"chat.example":               200,
		"attacker.example:" + port:   421,
		"localhost.attacker.example": 421,
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET / with Host %q: %d, want %d", host, resp.StatusCode, want)
		}
	}
	h := http.Header{"Origin": {"http://attacker.example:" + port}}
	_, resp, err := websocket.Dial(t.Context(), srv.URL+"/ws", &websocket.DialOptions{Host: "attacker.example:" + port, HTTPHeader: h})
	if err == nil || resp == nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("a rebinding page's handshake: %v, %v; want 421", resp, err)
	}
}

// TestFloodLeavesReadersConnected: a client floods /chat, then chat.send,
// then chat.typing, with 20,000 messages of 500 bytes each time, 26,000 a
// second, connecting again whenever it is closed. Three clients of the page, reading, stay
// connected, get every message the flood got posted (no more: the rest was
// refused) and the message of a fourth client after it, and keep
// answering. The flood posts no more than its address may, however many
// times it connects. Their round trips (chat.history, every 50 ms), idle and
// during each flood, are logged, not asserted.
func TestFloodLeavesReadersConnected(t *testing.T) {
	srv, _ := newServer(t)
	const flood, size = 20000, 500
	var readers []*reader
	for i := range 3 {
		readers = append(readers, newReader(t, joined(t, srv, fmt.Sprint("Reader", i))))
	}
	legit := joinedFrom(t, srv, "Legit", "127.0.0.5")

	idle := probe(t, readers, func() { time.Sleep(2 * time.Second) })
	t.Logf("idle: round trip %s", idle)
	pad := strings.Repeat("x", size)
	for _, f := range []struct {
		path, event, push string
		msg               string  // the flood's message
		burst, rate       float64 // the limit per address
	}{
		{"/chat", "", "chat.message", `{"user":"Flood","message":"` + pad[:size-29] + `"}`, 10, 2},
		{"/ws", "chat.send", "chat.message", `{"event":"chat.send","data":{"message":"` + pad[:size-43] + `"}}`, 10, 2},
		{"/ws", "chat.typing", "chat.typing", `{"event":"chat.typing","data":{},"pad":"` + pad[:size-42] + `"}`, 5, 1},
	} {
		name := strings.TrimSpace(f.path + " " + f.event)
		if len(f.msg) != size {
			t.Fatalf("%s: a message of %d bytes", name, len(f.msg))
		}
		frames := bytes.Repeat(frame(f.msg), flood)
		var posted, conns int
		start := time.Now()
		during := probe(t, readers, func() {
			posted, conns = floodWith(t, srv, f.path, f.event, frames, flood)
		})
		// Connecting again buys nothing: the limit is per address.
		if most := int(f.burst + f.rate*time.Since(start).Seconds()); posted > most {
			t.Errorf("%s: %d messages posted, want at most %d: the burst and the rate of the limit per address", name, posted, most)
		}
		marker := legit.send("after the flood on " + name)
		for i, r := range readers {
			got := r.until(marker)
			if r.Err() != nil {
				t.Fatalf("%s: reader %d was disconnected: %v", name, i, r.Err())
			}
			if got[f.push] != posted {
				t.Errorf("%s: reader %d got %d %s pushes from the flood, want the %d posted", name, i, got[f.push], f.push, posted)
			}
		}
		t.Logf("%s: %d messages of %d bytes in %v on %d connections, %d posted; round trip %s",
			name, flood, size, time.Since(start).Round(time.Millisecond), conns, posted, during)
	}
}

// reader is a client of the page that reads all its pushes as they come
// and counts them.
type reader struct {
	*client
	marks chan map[string]int // the counts since the last mark, at each message of Legit
}

func newReader(t *testing.T, c *client) *reader {
	r := &reader{client: c, marks: make(chan map[string]int, 10)}
	go func() {
		counts := map[string]int{}
		for {
			select {
			case p := <-c.pushes:
				var m chatapp.ChatMessage
				json.Unmarshal(p.Body, &m)
				if m.User == "Legit" {
					r.marks <- counts
					counts = map[string]int{}
					continue
				}
				counts[p.Event]++
			case <-c.Done():
				return
			}
		}
	}()
	return r
}

// until waits for the push of the marker message and returns the counts of
// the pushes before it.
func (r *reader) until(marker chatapp.ChatMessage) map[string]int {
	r.t.Helper()
	select {
	case counts := <-r.marks:
		return counts
	case <-r.Done():
		r.t.Fatalf("reader disconnected: %v", r.Err())
	case <-time.After(testWait):
		r.t.Fatalf("no %q within %v", marker.Message, testWait)
	}
	return nil
}

// roundTrips sums up measured round trips.
type roundTrips []time.Duration

func (d roundTrips) String() string {
	if len(d) == 0 {
		return "none measured"
	}
	slices.Sort(d)
	return fmt.Sprintf("median %v, 90th percentile %v, max %v (%d calls)",
		d[len(d)/2].Round(10*time.Microsecond), d[len(d)*9/10].Round(10*time.Microsecond), d[len(d)-1].Round(10*time.Microsecond), len(d))
}

// probe has each reader call chat.history every 50 ms (the rate limit of
// every message on /ws is 20 a second) while during runs, and returns the
// round trips.
func probe(t *testing.T, readers []*reader, during func()) roundTrips {
	ctx, stop := context.WithCancel(t.Context())
	results := make(chan roundTrips, len(readers))
	for _, r := range readers {
		go func() {
			var d roundTrips
			defer func() { results <- d }()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				start := time.Now()
				if _, err := wsclient.Call[[]chatapp.ChatMessage](ctx, r.Client, "chat.history", chatapp.HistoryRequest{Limit: 1}); err != nil {
					if ctx.Err() == nil {
						t.Errorf("round trip: %v", err)
					}
					return
				}
				d = append(d, time.Since(start))
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	during()
	stop()
	var all roundTrips
	for range readers {
		all = append(all, <-results...)
	}
	return all
}

// floodWith writes the total frames of frames to path from the address
// 127.0.0.9, joining first on /ws as Flood<n>, n counting the flood's
// connections, and dials again whenever the server closes it. The frames
// are made by hand, with a zero mask: the flooder spends no time masking.
// It returns how many messages were posted (200 or 204) and on how many
// connections.
func floodWith(t *testing.T, srv *wstest.Server, path, event string, frames []byte, total int) (posted, conns int) {
	size := len(frames) / total
	// 26,000 messages a second, as the flood that disconnected every
	// reader of the demo before it was limited: 260 every 10 ms.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for sent := 0; sent < total; conns++ {
		c := rawDial(t, srv.URL+path, "127.0.0.9")
		if path == "/ws" {
			c.write(t, frame(fmt.Sprintf(`{"event":"chat.join","id":"j","data":{"user":"Flood%d"}}`, floods.Add(1))))
			if data := c.read(); !strings.Contains(data, `"statusCode":200`) {
				t.Fatalf("flood: join: %s", data)
			}
		}
		done, closed := make(chan int, 1), make(chan struct{})
		go func() {
			n := 0
			defer func() { close(closed); done <- n }()
			for {
				data := c.read()
				if data == "" {
					return
				}
				var reply struct {
					Event      string `json:"event"`
					StatusCode int    `json:"statusCode"`
				}
				json.Unmarshal([]byte(data), &reply)
				if reply.Event == event && (reply.StatusCode == 200 || reply.StatusCode == 204) {
					n++
				}
			}
		}()
		// The server's close frame ends the connection, as a client
		// library would see it; then the flood goes on on a new one.
	flood:
		for sent < total {
			select {
			case <-tick.C:
			case <-closed:
				break flood
			}
			chunk := frames[sent*size : min(sent+260, total)*size]
			written, err := c.nc.Write(chunk)
			sent += written / size
			if err != nil {
				break
			}
		}
		<-closed // every reply read, up to the close frame
		c.nc.Close()
		posted += <-done
	}
	return posted, conns
}

// floods counts the flood's connections, which join as Flood<n>.
var floods atomic.Int64

// frame returns msg as a masked text frame, with a zero mask.
func frame(msg string) []byte {
	var h []byte
	switch n := len(msg); {
	case n < 126:
		h = []byte{0x81, 0x80 | byte(n)}
	case n < 1<<16:
		h = []byte{0x81, 0x80 | 126, byte(n >> 8), byte(n)}
	default:
		panic("frame too long")
	}
	return append(append(h, 0, 0, 0, 0), msg...)
}

// rawConn is a WebSocket client that writes its frames by hand.
type rawConn struct {
	nc net.Conn
	br *bufio.Reader
}

// rawDial upgrades a TCP connection from the address ip to url by hand.
func rawDial(t *testing.T, url, ip string) *rawConn {
	t.Helper()
	host := strings.TrimPrefix(strings.TrimPrefix(url, "ws://"), "http://")
	host, path, _ := strings.Cut(host, "/")
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: testWait}
	nc, err := d.Dial("tcp", host)
	if err != nil {
		t.Fatalf("flood: dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(testWait)) // a guard against hanging
	fmt.Fprintf(nc, "GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, host)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("flood: upgrade: %v %v", resp, err)
	}
	return &rawConn{nc: nc, br: br}
}

func (c *rawConn) write(t *testing.T, p []byte) {
	t.Helper()
	if _, err := c.nc.Write(p); err != nil {
		t.Fatalf("flood: write: %v", err)
	}
}

// read returns the payload of the next data frame, or "" once the
// connection has ended or sent its close frame.
func (c *rawConn) read() string {
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		return ""
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return ""
		}
		n = int(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(c.br, l[:]); err != nil {
			return ""
		}
		n = int(binary.BigEndian.Uint64(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil || h[0]&0x0f == 0x8 {
		return ""
	}
	return string(p)
}

// testWait bounds every wait of these tests, so that a broken test fails
// instead of hanging.
const testWait = 10 * time.Second
