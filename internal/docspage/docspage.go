// Package docspage builds the HTML page that describes an AsyncAPI
// document of github.com/cafeto-go/ws endpoints and holds a console to try
// them: one self-contained page, its style, script and document inline,
// with a Content-Security-Policy that allows exactly those.
package docspage

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"html"
	"strings"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed page.css
	pageCSS string
	//go:embed page.js
	pageJS string
)

// Page is a built page.
type Page struct {
	HTML []byte
	// CSP is the Content-Security-Policy to serve it with: the inline
	// style and script by their hashes, WebSocket connections to any host.
	CSP string
}

// Build returns the page of doc, an AsyncAPI document in JSON, whose
// console runs the client runtime (an ES module, see
// [github.com/cafeto-go/ws/internal/tsgen.RuntimeJS]).
func Build(doc []byte, runtime string) Page {
	var info struct {
		Info struct{ Title string } `json:"info"`
	}
	json.Unmarshal(doc, &info)
	title := info.Info.Title
	if title == "" {
		title = "WebSocket API"
	}
	// The runtime's exports become plain declarations: the page's script
	// is one module, and uses them directly.
	script := strings.ReplaceAll("\n"+runtime, "\nexport ", "\n") + "\n" + pageJS
	page := strings.NewReplacer(
		"{{title}}", html.EscapeString(title),
		"{{style}}", pageCSS,
		"{{document}}", scriptSafe(doc),
		"{{script}}", script,
	).Replace(pageHTML)
	csp := "default-src 'none'; script-src " + hash(script) + "; style-src " + hash(pageCSS) +
		"; img-src data:; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return Page{HTML: []byte(page), CSP: csp}
}

// scriptSafe returns JSON that cannot end the script element it is in.
func scriptSafe(doc []byte) string {
	var b strings.Builder
	for _, r := range string(doc) {
		switch r {
		case '<':
			b.WriteString(`\u003c`)
		case '>':
			b.WriteString(`\u003e`)
		case '&':
			b.WriteString(`\u0026`)
		case '\u2028':
			b.WriteString(`\u2028`)
		case '\u2029':
			b.WriteString(`\u2029`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
