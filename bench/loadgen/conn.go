package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	cws "github.com/coder/websocket"
	"github.com/gorilla/websocket"
)

var dialer = websocket.Dialer{HandshakeTimeout: 10 * time.Second}

// compressionModes are the values of -compression: each selects the
// coder/websocket client with that permessage-deflate mode. Without
// -compression the client is gorilla/websocket, which offers none.
var compressionModes = map[string]cws.CompressionMode{
	"disabled":            cws.CompressionDisabled,
	"no-context-takeover": cws.CompressionNoContextTakeover,
	"context-takeover":    cws.CompressionContextTakeover,
}

// client is one WebSocket connection of the load generator: gorilla's, or
// coder's when a compression mode is asked for.
type client struct {
	conn  *websocket.Conn // gorilla
	coder *cws.Conn
	buf   bytes.Buffer
	// ext is the Sec-WebSocket-Extensions header of the handshake's reply:
	// what the server agreed to.
	ext string
}

// read returns the next frame; the slice is valid until the next read.
func (c *client) read() ([]byte, error) {
	var r io.Reader
	var err error
	if c.coder != nil {
		_, r, err = c.coder.Reader(context.Background())
	} else {
		_, r, err = c.conn.NextReader()
	}
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
	if c.coder != nil {
		return c.coder.Write(context.Background(), cws.MessageText, b)
	}
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

// drain reads and drops frames until the connection fails, so that the
// server's keepalive pings get their pongs.
func (c *client) drain() {
	for {
		if _, err := c.read(); err != nil {
			return
		}
	}
}

// close says goodbye with a normal closure and closes the connection.
func (c *client) close() {
	if c.coder != nil {
		// Close waits for the server's close frame, which a reader still
		// running would take; a second is plenty on loopback.
		done := make(chan struct{})
		go func() {
			c.coder.Close(cws.StatusNormalClosure, "")
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Second):
			c.coder.CloseNow()
		}
		return
	}
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	c.conn.Close()
}

// closeNow drops the connection without a closing handshake.
func (c *client) closeNow() {
	if c.coder != nil {
		c.coder.CloseNow()
		return
	}
	c.conn.Close()
}

// dial connects to url with gorilla's client, or with coder's in the
// permessage-deflate mode compression names when it is not "".
func dial(ctx context.Context, url, compression string) (*client, error) {
	if compression != "" {
		mode, ok := compressionModes[compression]
		if !ok {
			return nil, fmt.Errorf("unknown compression mode %q", compression)
		}
		conn, resp, err := cws.Dial(ctx, url, &cws.DialOptions{
			CompressionMode: mode,
			HTTPClient:      &http.Client{Timeout: 10 * time.Second},
		})
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			return nil, err
		}
		conn.SetReadLimit(1 << 20)
		return &client{coder: conn, ext: resp.Header.Get("Sec-WebSocket-Extensions")}, nil
	}
	conn, resp, err := dialer.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	return &client{conn: conn, ext: resp.Header.Get("Sec-WebSocket-Extensions")}, nil
}

// dialAll opens n connections, at most parallel at a time.
func dialAll(ctx context.Context, url, compression string, n, parallel int) ([]*client, error) {
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
				c, err := dial(ctx, url, compression)
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
				c.closeNow()
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
		c, err := dial(ctx, url, "")
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
