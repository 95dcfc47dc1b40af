package asyncapi

import (
	"bytes"
	"net/http"
	"sync"

	"github.com/cafeto-go/ws/internal/docspage"
	"github.com/cafeto-go/ws/internal/tsgen"
)

// DocsPage returns a handler that serves a page describing the endpoints
// of doc, with a console to try them: one HTML page, built into the binary
// (no CDN, no build step), its style, script and document inline.
//
// The page lists each endpoint, each event with the fields of its request
// and reply (types, whether required, the rules of the validate tags) and
// an example made from the schemas, the streams, the pushes and the
// schemas. Its console connects to an endpoint (the WebSocket URL is the
// page's own host and the channel's address), sends an event with data
// pre-filled from its schema, and shows the replies, stream items and
// pushes as they arrive, with the fields a 400's errorList names marked in
// the form. It talks through the same client runtime as the TypeScript
// client that cmd/wsgen-ts generates.
//
// Mount it next to the endpoints and the document:
//
//	mux.Handle("GET /asyncapi.json", doc)
//	mux.Handle("GET /docs", asyncapi.DocsPage(doc))
//
// The handler answers GET and HEAD, with a Content-Security-Policy that
// allows the page's own script and style and WebSocket connections; other
// methods get a 405. The page follows the document: it is built on first
// use, and again after an [Document.Add]. It is safe for concurrent use.
// DocsPage panics when doc is nil.
func DocsPage(doc *Document) http.Handler {
	if doc == nil {
		panic("asyncapi: DocsPage needs a document")
	}
	return &docsPage{doc: doc}
}

type docsPage struct {
	doc *Document

	mu   sync.Mutex
	src  []byte // the document the page was built from
	page docspage.Page
}

func (p *docsPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	doc, err := p.doc.MarshalJSON()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	page := p.build(doc)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", page.CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	w.Write(page.HTML)
}

// build returns the page of doc, built again only when doc has changed.
func (p *docsPage) build(doc []byte) docspage.Page {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.page.HTML == nil || !bytes.Equal(p.src, doc) {
		p.src = doc
		p.page = docspage.Build(doc, tsgen.RuntimeJS())
	}
	return p.page
}
