package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Scale mode: as many concurrent connections to one server as the machine
// allows. A process may hold only so many open files (ulimit -n, 20,000
// here), so the connections are opened by worker processes, each from a
// source address of its own (127.0.0.2, 127.0.0.3, ...), which also keeps
// every source address well within the ephemeral port range. The
// coordinator (loadgen scale) starts the workers (loadgen scale-worker),
// steers them through their stdin and reads their answers, one JSON line
// each, from their stdout.

// scaleConfig describes one scale step against one server.
type scaleConfig struct {
	url        string
	pid        int
	conns      int
	perWorker  int           // connections per worker process, at most
	parallel   int           // handshakes in flight per worker
	settle     time.Duration // after the last round trip, before the idle window
	idle       time.Duration // idle window for the server's CPU
	broadcasts int           // broadcasts through POST /broadcast; 0 for none
	wait       time.Duration // for a broadcast to reach every member
	timeout    time.Duration
	firstSrc   int // worker i opens its connections from source address number firstSrc+i
}

// workerAnswer is a worker's answer to a command.
type workerAnswer struct {
	Err string `json:"err,omitempty"`
	// dial: when the first handshake started and the last one ended, in
	// Unix nanoseconds, and the connections open.
	DialStart int64 `json:"dial_start,omitempty"`
	DialEnd   int64 `json:"dial_end,omitempty"`
	Conns     int   `json:"conns,omitempty"`
	// wait: how many connections got the broadcast, and when the last of
	// them read it, in Unix nanoseconds.
	Got  int   `json:"got,omitempty"`
	Last int64 `json:"last,omitempty"`
	// Stray counts frames that were neither a reply nor a broadcast.
	Stray int64 `json:"stray,omitempty"`
}

func scaleFlags(fs *flag.FlagSet, cfg *scaleConfig) {
	fs.StringVar(&cfg.url, "url", "ws://127.0.0.1:8080/ws", "server endpoint")
	fs.IntVar(&cfg.pid, "pid", 0, "server process ID for CPU and memory figures")
	fs.IntVar(&cfg.conns, "conns", 1000, "connections in all")
	fs.IntVar(&cfg.perWorker, "per-worker", 4800, "connections per worker process, at most (each is an open file of the worker)")
	fs.IntVar(&cfg.parallel, "parallel", 32, "handshakes in flight per worker")
	fs.DurationVar(&cfg.settle, "settle", 3*time.Second, "wait this long once every connection is open before the idle window")
	fs.DurationVar(&cfg.idle, "idle", 30*time.Second, "idle window over which the server's CPU is measured (30 s holds one keepalive ping per connection at the default interval)")
	fs.DurationVar(&cfg.wait, "broadcast-wait", 30*time.Second, "fail when a broadcast has not reached every member after this long")
	fs.IntVar(&cfg.broadcasts, "broadcasts", 3, "broadcasts to the room through POST /broadcast of the server (0: the server has no hub)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Minute, "give up after this long")
	fs.IntVar(&cfg.firstSrc, "first-source", 2, "worker i opens its connections from the i-th loopback address after this one: 2 is 127.0.0.2, 300 is 127.0.1.46; give each step addresses of its own so that the closed connections of a step before (TIME_WAIT) take none of its ports")
}

// measureScale is loadgen scale: it measures one step and appends a
// Result of kind "scale".
func measureScale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	var cfg scaleConfig
	scaleFlags(fs, &cfg)
	server := fs.String("server", "", "server name, as the report lists it")
	serverCmd := fs.String("server-cmd", "", "command line the server was started with, for the report")
	out := fs.String("out", "", "append the result as a JSON line to this file")
	fs.Parse(args)
	if *server == "" || cfg.conns < 1 || cfg.perWorker < 1 || cfg.parallel < 1 || cfg.broadcasts < 0 {
		return errors.New("scale: -server is required; -conns, -per-worker and -parallel must be positive")
	}
	if cfg.firstSrc < 1 || cfg.firstSrc+(cfg.conns+cfg.perWorker-1)/cfg.perWorker >= 1<<24 {
		return errors.New("scale: -first-source: the workers' addresses must stay within 127.0.0.1–127.255.255.254")
	}
	if cfg.pid <= 0 {
		return errors.New("scale: -pid is required")
	}
	res, err := runScale(ctx, cfg)
	res.Server = *server
	res.ServerCmd = *serverCmd
	res.ClientCmd = strings.Join(os.Args, " ")
	res.Time = time.Now().UTC().Format(time.RFC3339)
	if err != nil {
		res.Error = err.Error()
		res.Failures = max(res.Failures, 1)
	}
	fmt.Println(scaleSummary(res))
	if *out != "" {
		if werr := appendJSON(*out, res); werr != nil {
			return werr
		}
	}
	if err != nil {
		return fmt.Errorf("%s, %d connections: %w", res.Server, res.Conns, err)
	}
	return nil
}

func scaleSummary(r Result) string {
	s := fmt.Sprintf("%-8s scale %d conns (%d workers): accept %.2fs (%.0f conn/s), RSS %d → %d KiB, %.1f KiB/conn, idle CPU %.2f%% of a CPU over %.0fs",
		r.Server, r.Conns, r.Workers, r.AcceptSec, r.AcceptRate, r.BaseKiB, r.RSSKiB, r.PerConnKiB, r.IdleCPUPct, r.IdleSec)
	if len(r.BroadcastMs) > 0 {
		s += fmt.Sprintf(", broadcast to all %s ms (median %.1f ms, %.0f deliveries/s)",
			strings.Join(formatMs(r.BroadcastMs), "/"), median(r.BroadcastMs), r.DeliveriesPerSec)
	}
	s += fmt.Sprintf(", failures %d", r.Failures)
	if r.Error != "" {
		s += ": " + r.Error
	}
	return s
}

func formatMs(v []float64) []string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return s
}

// worker is a worker process seen from the coordinator.
type worker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	conns int
}

func (w *worker) ask(cmd string) (workerAnswer, error) {
	if _, err := io.WriteString(w.in, cmd+"\n"); err != nil {
		return workerAnswer{}, err
	}
	if !w.out.Scan() {
		if err := w.out.Err(); err != nil {
			return workerAnswer{}, err
		}
		return workerAnswer{}, errors.New("worker exited")
	}
	var a workerAnswer
	if err := json.Unmarshal(w.out.Bytes(), &a); err != nil {
		return a, fmt.Errorf("worker said %q: %w", w.out.Text(), err)
	}
	if a.Err != "" {
		return a, errors.New(a.Err)
	}
	return a, nil
}

// askAll sends cmd to every worker at once and returns their answers.
func askAll(workers []*worker, cmd func(i int) string) ([]workerAnswer, error) {
	answers := make([]workerAnswer, len(workers))
	errs := make([]error, len(workers))
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			answers[i], errs[i] = w.ask(cmd(i))
			if errs[i] != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i+1, errs[i])
			}
		})
	}
	wg.Wait()
	return answers, errors.Join(errs...)
}

// sourceAddr is loopback address number n: 2 is 127.0.0.2, 256 is
// 127.0.1.0.
func sourceAddr(n int) string {
	return fmt.Sprintf("127.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

func runScale(ctx context.Context, cfg scaleConfig) (Result, error) {
	nw := (cfg.conns + cfg.perWorker - 1) / cfg.perWorker
	res := Result{Kind: "scale", Conns: cfg.conns, Workers: nw}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if err := waitReady(ctx, cfg.url, 30*time.Second); err != nil {
		return res, err
	}
	time.Sleep(500 * time.Millisecond) // let the server drop the probe connection
	base, err := memoryOf(cfg.pid)
	if err != nil {
		return res, err
	}
	res.BaseKiB = base.RSS

	self, err := os.Executable()
	if err != nil {
		return res, err
	}
	var workers []*worker
	defer func() {
		for _, w := range workers {
			w.in.Close()
		}
		for _, w := range workers {
			if err := w.cmd.Wait(); err != nil {
				log.Printf("worker: %v", err)
			}
		}
	}()
	for i := range nw {
		n := cfg.perWorker
		if i == nw-1 {
			n = cfg.conns - (nw-1)*cfg.perWorker
		}
		cmd := exec.CommandContext(ctx, self, "scale-worker", "-url", cfg.url, "-conns", strconv.Itoa(n),
			"-src", sourceAddr(cfg.firstSrc+i), "-parallel", strconv.Itoa(cfg.parallel), "-broadcasts", strconv.Itoa(cfg.broadcasts))
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		if err != nil {
			return res, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			return res, err
		}
		if err := cmd.Start(); err != nil {
			return res, err
		}
		workers = append(workers, &worker{cmd: cmd, in: in, out: bufio.NewScanner(out), conns: n})
	}

	// Accept: every worker opens its connections at once; the step takes
	// from the first handshake started to the last one done.
	answers, err := askAll(workers, func(int) string { return "dial" })
	if err != nil {
		res.Failures = 1
		return res, err
	}
	first, last := answers[0].DialStart, answers[0].DialEnd
	for _, a := range answers {
		first, last = min(first, a.DialStart), max(last, a.DialEnd)
	}
	res.AcceptSec = time.Duration(last - first).Seconds()
	res.AcceptRate = float64(cfg.conns) / res.AcceptSec

	// Idle: memory once the connections have settled, then the server's
	// CPU over a window in which nothing but keepalive pings happens.
	if !sleepCtx(ctx, cfg.settle) {
		return res, ctx.Err()
	}
	m, err := memoryOf(cfg.pid)
	if err != nil {
		return res, fmt.Errorf("server process: %w", err)
	}
	res.RSSKiB, res.PeakKiB = m.RSS, m.Peak
	res.PerConnKiB = float64(m.RSS-base.RSS) / float64(cfg.conns)
	cpu0, err := cpuTime(cfg.pid)
	if err != nil {
		return res, fmt.Errorf("server process: %w", err)
	}
	busy0, err := machineBusy()
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	if !sleepCtx(ctx, cfg.idle) {
		return res, ctx.Err()
	}
	cpu1, err := cpuTime(cfg.pid)
	if err != nil {
		return res, fmt.Errorf("server process: %w", err)
	}
	busy1, err := machineBusy()
	if err != nil {
		return res, err
	}
	window := time.Since(t0)
	res.IdleSec = window.Seconds()
	res.IdleCPUPct = 100 * (cpu1 - cpu0).Seconds() / window.Seconds()
	res.OtherCPUPct = max(0, 100*((busy1-busy0)-(cpu1-cpu0)).Seconds()/window.Seconds())

	// Broadcast: one message to the room that holds every connection; the
	// time until the last member has read it.
	if cfg.broadcasts > 0 {
		trigger, err := broadcastURL(cfg.url)
		if err != nil {
			return res, err
		}
		for seq := 1; seq <= cfg.broadcasts; seq++ {
			start := time.Now()
			members, err := postBroadcast(ctx, trigger, seq)
			if err != nil {
				return res, err
			}
			if members != cfg.conns {
				return res, fmt.Errorf("broadcast %d: the room holds %d members, want %d", seq, members, cfg.conns)
			}
			answers, err := askAll(workers, func(int) string { return fmt.Sprintf("wait %d %d", seq, cfg.wait.Milliseconds()) })
			if err != nil {
				res.Failures++
				return res, fmt.Errorf("broadcast %d: %w", seq, err)
			}
			var end int64
			for _, a := range answers {
				end = max(end, a.Last)
			}
			res.BroadcastMs = append(res.BroadcastMs, float64(end-start.UnixNano())/1e6)
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return res, ctx.Err()
			}
		}
		res.DeliveriesPerSec = float64(cfg.conns) / (median(res.BroadcastMs) / 1e3)
	}

	answers, err = askAll(workers, func(int) string { return "check" })
	for _, a := range answers {
		res.Failures += a.Stray
	}
	if err != nil {
		return res, err
	}
	if res.Failures > 0 {
		return res, fmt.Errorf("%d frames that were neither a reply nor a broadcast", res.Failures)
	}
	return res, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// broadcastURL turns ws://host/ws into http://host/broadcast.
func broadcastURL(wsURL string) (string, error) {
	u, err := url.Parse(wsURL)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	u.Path = "/broadcast"
	return u.String(), nil
}

// postBroadcast asks the server to broadcast seq and returns the members
// it counts in the room.
func postBroadcast(ctx context.Context, trigger string, seq int) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, trigger+"?seq="+strconv.Itoa(seq), nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST %s: %s: %s", trigger, resp.Status, strings.TrimSpace(string(b)))
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// scaleWorker is loadgen scale-worker: it opens its connections when told
// "dial", reports when each broadcast has reached all of them when told
// "wait SEQ TIMEOUT_MS", the frames it could not place when told "check",
// and closes them all at the end of its input.
func scaleWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scale-worker", flag.ExitOnError)
	u := fs.String("url", "", "server endpoint")
	conns := fs.Int("conns", 0, "connections")
	src := fs.String("src", "127.0.0.1", "source address of the connections")
	parallel := fs.Int("parallel", 32, "handshakes in flight")
	broadcasts := fs.Int("broadcasts", 0, "broadcasts to expect")
	fs.Parse(args)
	ip := net.ParseIP(*src)
	if ip == nil || *conns < 1 {
		return fmt.Errorf("scale-worker: -src %q, -conns %d", *src, *conns)
	}
	sw := &scaleWorkerState{arrivals: make([]arrival, *broadcasts+1)}
	for i := range sw.arrivals {
		sw.arrivals[i].all = make(chan struct{})
	}
	sw.want = int64(*conns)
	d := &websocket.Dialer{
		HandshakeTimeout: 30 * time.Second,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}).DialContext,
	}
	enc := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	var clients []*client
	defer func() { closeAll(clients) }()
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		var a workerAnswer
		switch f[0] {
		case "dial":
			var err error
			a.DialStart = time.Now().UnixNano()
			clients, err = dialFrom(ctx, d, *u, *conns, *parallel)
			a.DialEnd = time.Now().UnixNano()
			if err == nil {
				err = sw.verify(clients)
			}
			if err != nil {
				a.Err = err.Error()
			} else {
				a.Conns = len(clients)
				for _, c := range clients {
					go sw.drain(c)
				}
			}
		case "wait":
			seq, _ := strconv.Atoi(f[1])
			ms, _ := strconv.Atoi(f[2])
			if seq < 1 || seq >= len(sw.arrivals) {
				a.Err = fmt.Sprintf("wait %d: not one of the %d broadcasts expected", seq, len(sw.arrivals)-1)
				break
			}
			ar := &sw.arrivals[seq]
			select {
			case <-ar.all:
			case <-time.After(time.Duration(ms) * time.Millisecond):
				a.Err = fmt.Sprintf("broadcast %d reached %d of %d connections within %d ms", seq, ar.got.Load(), *conns, ms)
			case <-ctx.Done():
				a.Err = ctx.Err().Error()
			}
			a.Got, a.Last = int(ar.got.Load()), ar.last.Load()
		case "check":
			a.Stray = sw.stray.Load()
		default:
			a.Err = fmt.Sprintf("unknown command %q", f[0])
		}
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return in.Err()
}

// scaleWorkerState is what the connections of a worker have read.
type scaleWorkerState struct {
	want     int64
	arrivals []arrival // by broadcast sequence number
	stray    atomic.Int64
}

// arrival counts the connections that read one broadcast.
type arrival struct {
	got  atomic.Int64
	last atomic.Int64 // Unix nanoseconds
	all  chan struct{}
}

// verify makes one verified round trip on each connection.
func (sw *scaleWorkerState) verify(clients []*client) error {
	pool := newPool(poolSize, 1, false, chatShape)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan int)
	for range min(64, len(clients)) {
		wg.Go(func() {
			for i := range next {
				if err := roundTrip(clients[i], &pool[i%len(pool)]); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("connection %d: %w", i, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := range clients {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs[:min(len(errs), maxLogged)]...)
}

// pushPrefix starts every broadcast of the hubroom server.
const pushPrefix = `{"statusCode":200,"body":{"seq":`

// drain reads until the connection ends, answering the server's pings
// (gorilla's client does that while it reads) and noting each broadcast.
func (sw *scaleWorkerState) drain(c *client) {
	for {
		b, err := c.read()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		s, ok := strings.CutPrefix(string(b), pushPrefix)
		if !ok {
			sw.stray.Add(1)
			continue
		}
		seq, err := strconv.Atoi(strings.TrimSuffix(s, "}}"))
		if err != nil || seq < 1 || seq >= len(sw.arrivals) {
			sw.stray.Add(1)
			continue
		}
		ar := &sw.arrivals[seq]
		for {
			old := ar.last.Load()
			if now <= old || ar.last.CompareAndSwap(old, now) {
				break
			}
		}
		if ar.got.Add(1) == sw.want {
			close(ar.all)
		}
	}
}

// dialFrom opens n connections with d, at most parallel at a time.
func dialFrom(ctx context.Context, d *websocket.Dialer, u string, n, parallel int) ([]*client, error) {
	clients := make([]*client, n)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range min(parallel, n) {
		wg.Go(func() {
			for i := range next {
				conn, resp, err := d.DialContext(ctx, u, nil)
				if resp != nil && resp.Body != nil {
					resp.Body.Close()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d of %d: %w", i+1, n, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				clients[i] = &client{conn: conn}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		for _, c := range clients {
			if c != nil {
				c.closeNow()
			}
		}
		return nil, firstErr
	}
	return slices.Clip(clients), nil
}
