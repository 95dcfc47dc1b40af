package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

var dialer = websocket.Dialer{HandshakeTimeout: 10 * time.Second}

// client is one WebSocket connection of the load generator.
type client struct {
	conn *websocket.Conn
	buf  bytes.Buffer
}

// read returns the next frame; the slice is valid until the next read.
func (c *client) read() ([]byte, error) {
	_, r, err := c.conn.NextReader()
	if err != nil {
		return nil, err
	}
	c.buf.Reset()
	if _, err := c.buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

func (c *client) write(b []byte) error {
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// close says goodbye with a normal closure and closes the connection.
func (c *client) close() {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.conn.Close()
}

func dial(ctx context.Context, url string) (*client, error) {
	conn, resp, err := dialer.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	return &client{conn: conn}, nil
}

// dialAll opens n connections, at most parallel at a time.
func dialAll(ctx context.Context, url string, n, parallel int) ([]*client, error) {
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
				c, err := dial(ctx, url)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("connection %d of %d: %w", i+1, n, err)
						cancel()
					}
					mu.Unlock()
					continue
				}
				clients[i] = c
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
				c.conn.Close()
			}
		}
		return nil, firstErr
	}
	return clients, nil
}

// waitReady dials url until the server completes a handshake.
func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		c, err := dial(ctx, url)
		if err == nil {
			c.close()
			return nil
		}
		if errors.Is(err, websocket.ErrBadHandshake) {
			return fmt.Errorf("%s: %w", url, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready after %v: %w", url, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
