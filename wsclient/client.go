package wsclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Client is a connection to a WebSocket endpoint of github.com/cafeto-go/ws:
// a [ws.Router] ([Call], [Stream], [On]) or a [ws.Callback] ([Send]). Make
// one with [Dial], or with [New] and [Client.Connect] to register push
// handlers before the first frame arrives.
//
// A Client is safe for concurrent use: any number of calls may be in
// flight, from any goroutines; each carries an id and its reply is matched
// by it, whatever the order replies come in. One goroutine reads the
// connection; pushes are handed to another (see [On]), so a slow push
// handler never holds up replies.
type Client struct {
	url    string
	o      *options
	ctx    context.Context // done at Close: the push handlers' ctx
	cancel context.CancelFunc

	hmu      sync.RWMutex
	handlers map[string]func(context.Context, []byte) error

	ids     atomic.Uint64
	pushq   chan push
	closing atomic.Bool // Close has been called

	pmu       sync.Mutex
	positions map[string]position // of the rooms with history, by the last push handed over

	prmu     sync.Mutex
	presence map[string]Presence // of the rooms with presence, by the pushes handed over

	mu      sync.Mutex
	cn      *conn // the live connection; nil while there is none
	started bool
	closed  bool
	last    error         // why the last connection ended
	err     error         // why the client ended, once done is closed
	done    chan struct{} // closed when the client has ended for good
	wg      sync.WaitGroup
}

// New returns a Client for url ("ws://…", "wss://…"; "http://…" and
// "https://…" are taken as such) that is not connected yet: register push
// handlers with [On], then call [Client.Connect].
func New(url string, opts ...Option) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		url:       url,
		o:         newOptions(opts),
		ctx:       ctx,
		cancel:    cancel,
		handlers:  make(map[string]func(context.Context, []byte) error),
		positions: make(map[string]position),
		presence:  make(map[string]Presence),
		done:      make(chan struct{}),
	}
	c.pushq = make(chan push, c.o.buffer)
	return c
}

// Dial connects to url and returns the connected Client: [New] and
// [Client.Connect]. ctx bounds the handshake (and the hook of
// [WithOnConnect]); it does not end the connection. Close the client when
// done.
func Dial(ctx context.Context, url string, opts ...Option) (*Client, error) {
	c := New(url, opts...)
	if err := c.Connect(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// errConnectTwice is returned by a second Connect.
var errConnectTwice = errors.New("wsclient: Connect called twice")

// Connect makes the handshake, starts the reader and runs the hook of
// [WithOnConnect]. ctx bounds the handshake and the hook; it does not end
// the connection. When Connect fails, the client has ended: its error is
// also [Client.Err]. Connect may be called once; a server refusing the
// handshake gives a [*HandshakeError], whether or not [WithReconnect] is
// set.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return ErrClosed
	case c.started:
		c.mu.Unlock()
		return errConnectTwice
	}
	c.started = true
	c.mu.Unlock()

	c.wg.Add(1)
	go c.dispatch()
	cn, err := c.dial(ctx)
	if err != nil {
		c.end(err)
		c.Close()
		return err
	}
	if !c.install(cn) {
		cn.ws.CloseNow()
		return ErrClosed
	}
	c.wg.Add(1)
	go c.run(cn)
	if fn := c.o.onConnect; fn != nil {
		if err := fn(ctx, c); err != nil {
			c.end(err)
			c.Close()
			return err
		}
	}
	return nil
}

// dial makes one handshake, with the resume parameter of the rooms with
// history the client has had pushes of.
func (c *Client) dial(ctx context.Context) (*conn, error) {
	u, asked := c.dialURL()
	ws, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader: c.o.header,
		HTTPClient: c.o.httpClient,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &HandshakeError{StatusCode: resp.StatusCode, Err: err}
		}
		return nil, err
	}
	ws.SetReadLimit(c.o.readLimit)
	return newConn(c, ws, asked), nil
}

// install makes cn the live connection; it reports false when the client
// was closed meanwhile.
func (c *Client) install(cn *conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.cn = cn
	return true
}

// run reads the connection until it ends, then reconnects if the client
// should, and reads the next one: the client's one reader goroutine.
func (c *Client) run(cn *conn) {
	defer c.wg.Done()
	for {
		err := cn.read()
		c.mu.Lock()
		if c.cn == cn {
			c.cn = nil
		}
		c.last = err
		closed := c.closed
		c.mu.Unlock()
		if closed || !c.o.reconnect {
			c.end(err)
			return
		}
		c.o.logger.WarnContext(c.ctx, "wsclient: connection lost, reconnecting", "url", c.url, "error", err)
		if cn = c.reconnect(); cn == nil {
			return
		}
	}
}

// reconnect dials until it gets a connection, with backoff; it returns nil
// when the client was closed or the server refused it for good.
func (c *Client) reconnect() *conn {
	delay := c.o.minDelay
	for {
		wait := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(wait)
		select {
		case <-c.ctx.Done():
			t.Stop()
			c.end(ErrClosed)
			return nil
		case <-t.C:
		}
		delay = min(delay*2, c.o.maxDelay)

		ctx, cancel := context.WithTimeout(c.ctx, c.o.maxDelay+10*time.Second)
		cn, err := c.dial(ctx)
		cancel()
		var he *HandshakeError
		switch {
		case err == nil:
		case errors.As(err, &he) && (he.StatusCode == http.StatusUnauthorized || he.StatusCode == http.StatusForbidden):
			c.o.logger.ErrorContext(c.ctx, "wsclient: server refused the handshake, not reconnecting", "url", c.url, "status", he.StatusCode)
			c.end(err)
			return nil
		default:
			c.o.logger.WarnContext(c.ctx, "wsclient: reconnect failed", "url", c.url, "error", err)
			c.mu.Lock()
			c.last = err
			c.mu.Unlock()
			continue
		}
		if !c.install(cn) {
			cn.ws.CloseNow()
			c.end(ErrClosed)
			return nil
		}
		c.o.logger.InfoContext(c.ctx, "wsclient: reconnected", "url", c.url)
		if fn := c.o.onConnect; fn != nil {
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				if err := fn(c.ctx, c); err != nil {
					c.o.logger.ErrorContext(c.ctx, "wsclient: on connect hook failed, reconnecting", "url", c.url, "error", err)
					cn.close(websocket.StatusNormalClosure, "")
				}
			}()
		}
		return cn
	}
}

// end records why the client has ended for good, once.
func (c *Client) end(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return
	default:
	}
	if c.closed {
		err = ErrClosed
	}
	c.err = err
	close(c.done)
}

// current returns the live connection, or the error a call gets without
// one.
func (c *Client) current() (*conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.cn != nil:
		return c.cn, nil
	case c.closed:
		return nil, ErrClosed
	case c.err != nil:
		return nil, c.err
	case !c.started:
		return nil, ErrNotConnected
	}
	return nil, &notConnected{last: c.last}
}

// Done returns a channel that is closed when the client has ended for
// good: after [Client.Close], when its connection is lost without
// [WithReconnect], or when a reconnecting client was refused with 401 or
// 403. [Client.Err] then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the client has ended once [Client.Done] is closed:
// [ErrClosed] after Close, an error wrapping [ErrConnectionLost] (read its
// close code with [websocket.CloseStatus]), or a [*HandshakeError]. It returns nil
// while the client is running.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection with 1000 (normal closure), stops
// reconnecting, fails the calls and streams under way with [ErrClosed],
// and waits for the reader and for the push handler that is running, if
// any: no handler runs once Close has returned. The close handshake waits
// up to 5 s for the server's answer (coder/websocket's bound). It must not be called from
// a push handler or the hook of [WithOnConnect]. Calling it again does
// nothing more.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.wg.Wait()
		return nil
	}
	c.closed = true
	c.closing.Store(true)
	cn := c.cn
	c.mu.Unlock()
	c.cancel()
	if cn != nil {
		cn.close(websocket.StatusNormalClosure, "")
	}
	c.wg.Wait()
	c.end(ErrClosed)
	return nil
}
