package ws

// Observer watches connections from outside the application's callbacks:
// metrics count live connections and bytes with it without touching
// onConnect or onDisconnect. Every field may be nil. Give it to
// [WithObserver].
//
// The functions are called from the connection's goroutines, several
// connections at once: they must be safe for concurrent use, and quick. A
// panic in one is recovered and logged, and the connection goes on.
type Observer struct {
	// Start runs once the handshake has succeeded, before onConnect.
	Start func(conn *Conn)
	// End runs once for every connection Start saw, when it is released:
	// after onDisconnect, or for a connection onConnect refused, after
	// that. err says why it ended: the error onDisconnect gets
	// (websocket.CloseStatus reads its close code).
	End func(conn *Conn, err error)
	// Read runs for each message read, with its length in bytes.
	Read func(conn *Conn, n int)
	// Write runs for each frame written (replies, pushes, stream items,
	// broadcasts), with its length in bytes, while the connection's other
	// writers wait.
	Write func(conn *Conn, n int)
}

// WithObserver adds o to the observers of the connections of a [Callback],
// [Router], [Handler] or [Accept]. It may be given several times; the
// observers run in the order given. The default is none.
func WithObserver(o Observer) Option {
	return option(func(c *config) {
		c.observers = append(c.observers, o)
		if o.Read != nil || o.Write != nil {
			c.observeIO = true
		}
	})
}

// start tells the observers that c has started.
func (c *Conn) start() {
	for _, o := range c.cfg.observers {
		if o.Start != nil {
			c.guard("Observer.Start", func() error { o.Start(c); return nil })
		}
	}
}

// finish gives back what the connection's rate limits hold and tells the
// observers that c has ended, once.
func (c *Conn) finish() {
	if !c.gone.CompareAndSwap(false, true) {
		return
	}
	if c.rate != nil {
		c.rate.stop()
	}
	if len(c.cfg.observers) == 0 {
		return
	}
	err := c.endErr()
	for _, o := range c.cfg.observers {
		if o.End != nil {
			c.guard("Observer.End", func() error { o.End(c, err); return nil })
		}
	}
}

// observeRead tells the observers that a message of n bytes was read.
func (c *Conn) observeRead(n int) {
	for _, o := range c.cfg.observers {
		if o.Read != nil {
			c.guard("Observer.Read", func() error { o.Read(c, n); return nil })
		}
	}
}

// observeWrite tells the observers that a frame of n bytes was written.
func (c *Conn) observeWrite(n int) {
	for _, o := range c.cfg.observers {
		if o.Write != nil {
			c.guard("Observer.Write", func() error { o.Write(c, n); return nil })
		}
	}
}
