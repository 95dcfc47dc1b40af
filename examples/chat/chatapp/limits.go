package chatapp

import (
	"net"

	"github.com/cafeto-go/ws"
)

// The chat's rate limits. Every message a client sends counts against one
// of them at least, on every endpoint; each message that reaches others
// (chat.send and a /chat message, pushed to the room; chat.typing, pushed
// to /ws) is also limited per client address, across that address's
// connections, so that opening more connections does not buy more
// messages. Over a limit a message gets a 429 and reaches nobody; a client
// that keeps sending (50 refused messages since it last paused) is closed
// with 1008.
//
//	GET /ws    every message     20/s, bursts of 40, per connection
//	           chat.send          2/s, bursts of 10, per address
//	           chat.typing        1/s, bursts of 5, per address
//	GET /chat  every message      2/s, bursts of 10, per address
//	GET /echo  every message     20/s, bursts of 40, per connection
//
// The address is the peer's IP address: behind a reverse proxy, every
// client has the proxy's, and the limits per address become limits for
// everyone together; key them by the authenticated user, or by the
// address the proxy reports, instead.
type limits struct {
	live, send, typing ws.Option // GET /ws
	post               ws.Option // GET /chat
	echo               ws.Option // GET /echo
}

// newLimits returns the limits with buckets of their own: two muxes do not
// share them.
func newLimits() limits {
	return limits{
		live:   ws.WithRateLimit(ws.RateLimit{Rate: 20, Burst: 40}),
		send:   ws.WithRateLimit(ws.RateLimit{Rate: 2, Burst: 10, Key: clientAddr, Events: []string{"chat.send"}}),
		typing: ws.WithRateLimit(ws.RateLimit{Rate: 1, Burst: 5, Key: clientAddr, Events: []string{"chat.typing"}}),
		post:   ws.WithRateLimit(ws.RateLimit{Rate: 2, Burst: 10, Key: clientAddr}),
		echo:   ws.WithRateLimit(ws.RateLimit{Rate: 20, Burst: 40}),
	}
}

// clientAddr is the IP address of the peer of conn.
func clientAddr(conn *ws.Conn) string {
	host, _, err := net.SplitHostPort(conn.Request().RemoteAddr)
	if err != nil {
		return conn.Request().RemoteAddr
	}
	return host
}
