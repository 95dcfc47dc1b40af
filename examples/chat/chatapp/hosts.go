package chatapp

import (
	"net"
	"net/http"
	"strings"
)

// LocalHosts are the names of this machine that [NewServer] always serves.
var LocalHosts = []string{"localhost", "127.0.0.1", "::1"}

// PinHosts serves next only to requests whose Host header names one of
// hosts, on any port, compared without regard to case; others get 421
// (Misdirected Request), before any upgrade. It keeps DNS rebinding away
// (docs/connections.md): a hostile page whose name now points at this
// server sends its own name as Host, and the same-origin check of the
// WebSocket handshake, which compares Origin with Host, would pass. A
// host is a name or an IP address without port and brackets, such as
// "chat.example.com" or "::1".
func PinHosts(next http.Handler, hosts ...string) http.Handler {
	allowed := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		allowed[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowed[hostName(r.Host)] {
			http.Error(w, "unknown host", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostName returns the name or IP address of a Host header, without port
// and brackets, in lower case.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

// SplitHosts splits a comma-separated list of hosts, such as a flag's
// value, dropping spaces and empty entries.
func SplitHosts(list string) []string {
	var hosts []string
	for _, h := range strings.Split(list, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}
