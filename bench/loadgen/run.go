package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadConfig describes one load run against one server.
type loadConfig struct {
	url      string
	pid      int // server process, for CPU and memory; 0 to skip
	conns    int
	inflight int           // requests in flight per connection; 1 is a closed loop
	warmup   time.Duration // not measured
	duration time.Duration // measured
	count    int           // when > 0: send this many requests in all, measure them all, no time window
	timeout  time.Duration // give up when a count run takes longer
	seed     uint64
	echo     bool   // the server sends each request back unchanged
	event    string // when set: requests go in a ws.Router event envelope of this event
	shape    shape  // of the messages
	// compression, when set, is a key of compressionModes: the clients are
	// coder/websocket's, offering that mode.
	compression string
}

// scenario names a connection count, an in-flight depth and, when it is
// not the chat workload's, the shape of the messages.
func scenario(conns, inflight int, sh shape) string {
	s := fmt.Sprintf("c%d-i%d", conns, inflight)
	if name := sh.String(); name != "" {
		s += "-" + name
	}
	return s
}

// poolSize is the number of distinct requests; each connection starts at
// its own offset.
const poolSize = 1024

// maxLogged bounds the failures printed in full.
const maxLogged = 5

// run is the shared state of one load run.
type run struct {
	cfg  loadConfig
	pool []payload
	hist histogram

	replies   atomic.Int64 // verified replies
	invalid   atomic.Int64 // of which were 400s
	failures  atomic.Int64 // wrong or missing replies
	reordered atomic.Int64 // replies that overtook an earlier request
	measuring atomic.Bool
	stop      atomic.Bool

	logMu  sync.Mutex
	logged int
}

// window is what is counted at one edge of the measured window.
type window struct {
	at        time.Time
	replies   int64
	invalid   int64
	serverCPU time.Duration
	clientCPU time.Duration
	busy      time.Duration // all CPUs of the machine
	serverIO  ioCounts
}

func (r *run) snapshot() (window, error) {
	w := window{at: time.Now(), replies: r.replies.Load(), invalid: r.invalid.Load()}
	var err error
	if w.clientCPU, err = cpuTime(0); err != nil {
		return w, err
	}
	if w.busy, err = machineBusy(); err != nil {
		return w, err
	}
	if r.cfg.pid > 0 {
		if w.serverCPU, err = cpuTime(r.cfg.pid); err != nil {
			return w, fmt.Errorf("server process: %w", err)
		}
		if w.serverIO, err = ioOf(r.cfg.pid); err != nil {
			return w, fmt.Errorf("server process: %w", err)
		}
	}
	return w, nil
}

func (r *run) next(conn, seq int) *payload {
	return &r.pool[(conn*97+seq)%len(r.pool)]
}

func (r *run) done(p *payload, rtt time.Duration) {
	r.replies.Add(1)
	if !p.valid {
		r.invalid.Add(1)
	}
	if r.measuring.Load() {
		r.hist.record(rtt)
	}
}

func (r *run) mismatch(conn int, p *payload, got []byte) {
	r.failures.Add(1)
	r.logMu.Lock()
	defer r.logMu.Unlock()
	if r.logged < maxLogged {
		r.logged++
		log.Printf("connection %d: wrong reply to %s\n  want %s\n  got  %s", conn, p.req, p.want, got)
	}
}

// runLoad drives cfg.conns connections and measures the server.
func runLoad(ctx context.Context, cfg loadConfig) (Result, error) {
	res := Result{Kind: "load", Scenario: scenario(cfg.conns, cfg.inflight, cfg.shape), Conns: cfg.conns, Inflight: cfg.inflight,
		Message: cfg.shape.String(), Compression: cfg.compression}
	if err := waitReady(ctx, cfg.url, 30*time.Second); err != nil {
		return res, err
	}
	clients, err := dialAll(ctx, cfg.url, cfg.compression, cfg.conns, 64)
	if err != nil {
		return res, err
	}
	res.Extensions = clients[0].ext
	r := &run{cfg: cfg, pool: newPool(poolSize, cfg.seed, cfg.echo, cfg.shape)}
	if cfg.event != "" {
		withEvent(r.pool, cfg.event)
	}

	limit := cfg.timeout
	if cfg.count == 0 {
		limit = cfg.warmup + cfg.duration + 30*time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	var w0, w1 window
	if cfg.count > 0 {
		r.measuring.Store(true)
		if w0, err = r.snapshot(); err != nil {
			return res, err
		}
	}

	errs := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		quota := -1
		if cfg.count > 0 {
			quota = cfg.count / cfg.conns
			if i < cfg.count%cfg.conns {
				quota++
			}
		}
		wg.Go(func() {
			if cfg.inflight <= 1 {
				errs[i] = r.closedLoop(i, c, quota)
			} else {
				errs[i] = r.pipelined(ctx, i, c, quota)
			}
		})
	}
	allDone := make(chan struct{})
	go func() {
		wg.Wait()
		close(allDone)
	}()

	if cfg.count == 0 {
		if !sleep(ctx, allDone, cfg.warmup) {
			r.measuring.Store(true)
			if w0, err = r.snapshot(); err != nil {
				return res, err
			}
			if !sleep(ctx, allDone, cfg.duration) {
				if w1, err = r.snapshot(); err != nil {
					return res, err
				}
			}
			r.measuring.Store(false)
		}
		r.stop.Store(true)
	}

	select {
	case <-allDone:
	case <-ctx.Done():
		for _, c := range clients {
			c.closeNow()
		}
		<-allDone
	}
	if cfg.count > 0 {
		if w1, err = r.snapshot(); err != nil {
			return res, err
		}
	}
	if cfg.pid > 0 {
		m, err := memoryOf(cfg.pid)
		if err != nil {
			return res, fmt.Errorf("server process: %w", err)
		}
		res.RSSKiB, res.PeakKiB = m.RSS, m.Peak
	}

	res.Failures = r.failures.Load()
	res.Reordered = r.reordered.Load()
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("connection %d: %w", i, err))
		}
	}
	if ctx.Err() != nil {
		failed = append([]error{fmt.Errorf("gave up after %v", limit)}, failed...)
	}
	if len(failed) > 0 {
		res.Failures += int64(len(failed))
		return res, errors.Join(failed[:min(len(failed), maxLogged)]...)
	}
	if w1.at.IsZero() {
		return res, errors.New("the run ended before its measured window did")
	}

	elapsed := w1.at.Sub(w0.at)
	res.Seconds = elapsed.Seconds()
	res.Replies = w1.replies - w0.replies
	res.Invalid = w1.invalid - w0.invalid
	res.Rate = float64(res.Replies) / elapsed.Seconds()
	res.P50us = float64(r.hist.quantile(0.50)) / 1e3
	res.P99us = float64(r.hist.quantile(0.99)) / 1e3
	res.ClientCPUPct = 100 * (w1.clientCPU - w0.clientCPU).Seconds() / elapsed.Seconds()
	if cfg.pid > 0 {
		res.ServerCPUSec = (w1.serverCPU - w0.serverCPU).Seconds()
		res.ServerWrites = w1.serverIO.Writes - w0.serverIO.Writes
		res.ServerReads = w1.serverIO.Reads - w0.serverIO.Reads
		if res.Replies > 0 {
			res.CPUPer100k = res.ServerCPUSec * 1e5 / float64(res.Replies)
			res.WritesPerReply = float64(res.ServerWrites) / float64(res.Replies)
			res.ReadsPerReply = float64(res.ServerReads) / float64(res.Replies)
			res.BytesPerReply = float64(w1.serverIO.WriteBytes-w0.serverIO.WriteBytes) / float64(res.Replies)
		}
		other := (w1.busy - w0.busy) - (w1.serverCPU - w0.serverCPU) - (w1.clientCPU - w0.clientCPU)
		res.OtherCPUPct = max(0, 100*other.Seconds()/elapsed.Seconds())
	}
	return res, nil
}

// sleep waits for d and reports whether the run ended before that.
func sleep(ctx context.Context, allDone <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-allDone:
		return true
	case <-ctx.Done():
		return true
	}
}

// closedLoop sends a request and waits for its reply, quota times or, when
// quota is negative, until the run stops.
func (r *run) closedLoop(id int, c *client, quota int) error {
	defer c.close()
	for seq := 0; (quota < 0 || seq < quota) && !r.stop.Load(); seq++ {
		p := r.next(id, seq)
		start := time.Now()
		if err := c.write(p.req); err != nil {
			return err
		}
		b, err := c.read()
		if err != nil {
			return err
		}
		rtt := time.Since(start)
		if rep := (reply{raw: b}); rep.matches(p) {
			r.done(p, rtt)
		} else {
			r.mismatch(id, p, b)
		}
	}
	return nil
}

// sentRequest is a request that waits for its reply.
type sentRequest struct {
	p    *payload
	sent time.Time
}

// pipe keeps up to cap(slots) requests in flight on one connection: one
// goroutine writes, another reads and verifies.
type pipe struct {
	r       *run
	id      int
	c       *client
	slots   chan struct{}
	closing atomic.Bool

	mu      sync.Mutex
	waiting []sentRequest // in the order sent
}

func (r *run) pipelined(ctx context.Context, id int, c *client, quota int) error {
	pp := &pipe{r: r, id: id, c: c, slots: make(chan struct{}, r.cfg.inflight)}
	readErr := make(chan error, 1)
	go func() { readErr <- pp.readLoop() }()

	readerDone, err := pp.writeLoop(ctx, quota, readErr)
	pp.closing.Store(true)
	c.close()
	if !readerDone {
		if rerr := <-readErr; err == nil {
			err = rerr
		}
	}
	return err
}

// writeLoop sends requests while a slot is free, then waits until every
// reply is in. readerDone reports whether it consumed the reader's result.
func (pp *pipe) writeLoop(ctx context.Context, quota int, readErr <-chan error) (readerDone bool, err error) {
	acquire := func() (bool, error) {
		select {
		case pp.slots <- struct{}{}:
			return false, nil
		case err := <-readErr:
			if err == nil {
				err = errors.New("connection closed")
			}
			return true, err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	for seq := 0; (quota < 0 || seq < quota) && !pp.r.stop.Load(); seq++ {
		if done, err := acquire(); err != nil {
			return done, err
		}
		p := pp.r.next(pp.id, seq)
		pp.mu.Lock()
		pp.waiting = append(pp.waiting, sentRequest{p: p, sent: time.Now()})
		pp.mu.Unlock()
		if err := pp.c.write(p.req); err != nil {
			return false, err
		}
	}
	for range cap(pp.slots) {
		if done, err := acquire(); err != nil {
			return done, fmt.Errorf("waiting for the last replies: %w", err)
		}
	}
	return false, nil
}

// readLoop matches each reply with the oldest waiting request it answers.
// Replies that come out of order are accepted and counted.
func (pp *pipe) readLoop() error {
	for {
		b, err := pp.c.read()
		if err != nil {
			if pp.closing.Load() {
				return nil
			}
			return err
		}
		now := time.Now()
		rep := reply{raw: b}

		pp.mu.Lock()
		if len(pp.waiting) == 0 {
			pp.mu.Unlock()
			return fmt.Errorf("reply to no request: %s", b)
		}
		k := slices.IndexFunc(pp.waiting, func(s sentRequest) bool { return rep.matches(s.p) })
		matched := k >= 0
		if !matched {
			k = 0 // a wrong reply takes the place of the oldest request
		} else if k > 0 {
			pp.r.reordered.Add(1)
		}
		req := pp.waiting[k]
		pp.waiting = slices.Delete(pp.waiting, k, k+1)
		pp.mu.Unlock()

		if matched {
			pp.r.done(req.p, now.Sub(req.sent))
		} else {
			pp.r.mismatch(pp.id, req.p, b)
		}
		<-pp.slots
	}
}
