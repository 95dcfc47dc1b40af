package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// runIdle opens cfg.conns connections, makes one verified round trip on
// each, leaves them idle for settle and reports how much the server's
// resident memory grew per connection.
func runIdle(ctx context.Context, cfg loadConfig, settle time.Duration) (Result, error) {
	res := Result{Kind: "idle", Conns: cfg.conns, Message: cfg.shape.String(), Compression: cfg.compression}
	if cfg.pid <= 0 {
		return res, errors.New("idle needs -pid")
	}
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

	clients, err := dialAll(ctx, cfg.url, cfg.compression, cfg.conns, 64)
	if err != nil {
		return res, err
	}
	defer closeAll(clients)
	res.Extensions = clients[0].ext

	pool := newPool(poolSize, cfg.seed, cfg.echo, cfg.shape)
	if cfg.event != "" {
		withEvent(pool, cfg.event)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range min(64, len(clients)) {
		wg.Go(func() {
			for i := range next {
				if err := roundTrip(clients[i], &pool[i%len(pool)]); err != nil {
					mu.Lock()
					res.Failures++
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d: %w", i, err)
					}
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
	if firstErr != nil {
		return res, firstErr
	}
	// Keep reading so that the servers' keepalive pings get their pongs.
	for _, c := range clients {
		go c.drain()
	}

	select {
	case <-time.After(settle):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	m, err := memoryOf(cfg.pid)
	if err != nil {
		return res, err
	}
	res.RSSKiB, res.PeakKiB = m.RSS, m.Peak
	res.PerConnKiB = float64(m.RSS-base.RSS) / float64(cfg.conns)
	return res, nil
}

func roundTrip(c *client, p *payload) error {
	if err := c.write(p.req); err != nil {
		return err
	}
	b, err := c.read()
	if err != nil {
		return err
	}
	if rep := (reply{raw: b}); !rep.matches(p) {
		return fmt.Errorf("wrong reply to %s: got %s, want %s", p.req, b, p.want)
	}
	return nil
}

func closeAll(clients []*client) {
	var wg sync.WaitGroup
	next := make(chan *client)
	for range min(64, len(clients)) {
		wg.Go(func() {
			for c := range next {
				c.close()
			}
		})
	}
	for _, c := range clients {
		next <- c
	}
	close(next)
	wg.Wait()
}
