package ws

import (
	"context"
	"sync"
)

// Group tracks the open connections of one or more handlers so that they can
// be shut down together. Give it to handlers with [WithGroup]. The zero value
// is ready to use; a Group is safe for concurrent use.
//
//	var conns ws.Group
//	mux.Handle("GET /chat", ws.Callback(chat.Connect, chat.Receive, chat.Disconnect, ws.WithGroup(&conns)))
//	...
//	srv.Shutdown(ctx)   // stops accepting; hijacked WebSocket connections are not its business
//	conns.Shutdown(ctx) // closes them with 1001 and waits for onDisconnect
type Group struct {
	mu      sync.Mutex
	conns   map[*Conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

// add tracks c; it reports false once Shutdown has begun.
func (g *Group) add(c *Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return false
	}
	if g.conns == nil {
		g.conns = make(map[*Conn]struct{})
	}
	g.conns[c] = struct{}{}
	g.wg.Add(1)
	return true
}

func (g *Group) remove(c *Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.conns[c]; ok {
		delete(g.conns, c)
		g.wg.Done()
	}
}

func (g *Group) isClosing() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closing
}

// Len returns the number of open connections.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.conns)
}

// Shutdown closes every connection of the group with 1001 (going away) and
// waits until each has ended and its onDisconnect has returned. A message
// being handled when Shutdown begins gets its reply first. New handshakes
// are refused with 503 from then on.
//
// If ctx is done first, Shutdown drops the connections still open without a
// close handshake, which cancels their contexts, and returns ctx's error at
// once, like [http.Server.Shutdown]: it does not wait for code that ignores
// its context. Their onDisconnect still runs, exactly once, when that code
// returns; [Group.Len] counts them until then. Shutdown is meant to run after
// [http.Server.Shutdown], or from [http.Server.RegisterOnShutdown].
func (g *Group) Shutdown(ctx context.Context) error {
	g.mu.Lock()
	g.closing = true
	conns := make([]*Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()

	for _, c := range conns {
		c.goAway()
	}
	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	for _, c := range conns {
		c.closeNow(errShutdown)
	}
	return ctx.Err()
}
