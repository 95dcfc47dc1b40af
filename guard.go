// The guard every call into user code runs under: a panic is logged with
// its stack and becomes an error, never a lost connection.

package ws

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// errPanic marks the error guard returns for a recovered panic.
var errPanic = errors.New("ws: panic")

// guard runs fn, turning a panic into an error wrapping errPanic. The
// panic is logged with its stack; nothing of it reaches the client.
func (c *Conn) guard(where string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.cfg.logger.ErrorContext(c.ctx, "ws: panic in "+where,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()),
				"remote", c.req.RemoteAddr, "path", c.req.URL.Path)
			err = fmt.Errorf("%w in %s: %v", errPanic, where, r)
		}
	}()
	return fn()
}

// log logs an error with the connection's attributes.
func (c *Conn) log(msg string, err error) {
	c.cfg.logger.ErrorContext(c.ctx, msg, "error", err, "remote", c.req.RemoteAddr, "path", c.req.URL.Path)
}

// logEvent logs an error of an event's function.
func (c *Conn) logEvent(msg, event string, err error) {
	c.cfg.logger.ErrorContext(c.ctx, msg, "event", event, "error", err, "remote", c.req.RemoteAddr, "path", c.req.URL.Path)
}
