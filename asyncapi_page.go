package ws

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
)

//go:embed asyncapi_page.html
var pageHTML string

// hostName is a host[:port] safe to write in a header.
var hostName = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// pageCSP allows the page's own script and style, found by their hashes,
// and nothing from elsewhere. The connections are added per request.
var pageCSP = func() string {
	hash := func(re string) string {
		m := regexp.MustCompile(re).FindStringSubmatch(pageHTML)
		sum := sha256.Sum256([]byte(m[1]))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	return "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'" +
		"; script-src " + hash(`(?s)<script>(.*?)</script>`) +
		"; style-src " + hash(`(?s)<style>(.*?)</style>`)
}()

// Page returns an [http.Handler] that serves the document as a web page:
// the channels, their operations and the schemas of their messages, and for
// each channel a console that connects to it on the same server and sends
// messages, starting from an example built from the request's schema. The
// page is one HTML file with its script and style inside; it loads nothing
// from elsewhere (its Content-Security-Policy says so), so it works offline
// and behind any firewall.
//
//	mux.Handle("GET /docs", doc.Page())
//
// The console connects as the page's origin: [WithOriginPatterns] is not
// needed when the page and the endpoints share a host. Like the document,
// the page shows what the endpoints accept to anyone who can load it: mount
// it where that is fine.
func (a *AsyncAPI) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		doc, err := a.MarshalJSON()
		if err != nil {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		// Inside a script element, "</" could end it: JSON may write it "<\/".
		doc = bytes.ReplaceAll(doc, []byte("</"), []byte(`<\/`))
		page := strings.Replace(pageHTML, "{{DOCUMENT}}", string(doc), 1)
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		csp := pageCSP + "; connect-src 'self'"
		if hostName.MatchString(r.Host) {
			csp += " ws://" + r.Host + " wss://" + r.Host
		}
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		w.Write([]byte(page))
	})
}
