// Package tsgen writes a typed TypeScript client for the endpoints that an
// AsyncAPI document made by github.com/cafeto-go/ws describes: an ES module,
// client.js, that runs in a browser with no build step (and in Node with
// the ws package), and its declarations, client.d.ts, which type-check
// under tsc --strict.
//
// The declarations hold a type per schema of the document (named after
// its key under components.schemas, references resolved to those names),
// and per endpoint: for a router, an interface of its events (the data
// each sends and the body of its reply), of its streams (data and item)
// and of its pushes (body), a client type and a connect function; for a
// callback, the request and reply types of a CallbackClient. The runtime
// they share is fixed: see [RuntimeJS].
//
// The document may come from anywhere: none of its strings is written as
// code. Each is a JSON string literal, comment text that cannot end its
// comment, or part of a name made of ASCII letters, digits, "_" and "$"
// (a keyword, such as delete, gets a "_" after it); see escape.go. A
// channel address must be a path, which the runtime resolves only on the
// page's own origin (or on options.base's).
package tsgen

import (
	_ "embed"
	"fmt"
	"regexp"
	"strings"
)

//go:embed runtime.js
var runtimeJS string

//go:embed runtime.d.ts
var runtimeDTS string

// RuntimeJS returns the client's runtime: an ES module that exports
// Client (a router's client), CallbackClient, Stream, WsError,
// ConnectionError and channelURL.
func RuntimeJS() string { return runtimeJS }

// Files are a generated client.
type Files struct {
	JS  []byte // client.js: the runtime and a connect function per endpoint
	DTS []byte // client.d.ts: its declarations, with the document's types
}

// Generate returns the client of the AsyncAPI document doc. It fails when
// doc is not an AsyncAPI 3 document in JSON, its references lead nowhere,
// a channel's address is not a path ("//host/ws", "wss://host/ws"), or it
// nests deeper than a document of Go types does (256 levels of JSON, 64
// of types) or its references, followed inline, multiply its types
// beyond its size.
func Generate(doc []byte) (*Files, error) {
	d, err := read(doc)
	if err != nil {
		return nil, fmt.Errorf("tsgen: %w", err)
	}
	g := &generator{doc: d, n: newNamer(), maxSteps: 4*len(doc) + 1<<12}
	files := g.generate()
	if g.c.err != nil {
		return nil, fmt.Errorf("tsgen: %w", g.c.err)
	}
	return files, nil
}

type generator struct {
	doc      *document
	n        *namer
	c        *converter
	maxSteps int // see converter
}

// names the runtime exports, and the global names it relies on: a type
// of the document named the same gets a number after its name.
var reserved = []string{
	"ErrorDetail", "WsError", "ConnectionError", "WebSocketLike", "WebSocketConstructor", "ReconnectOptions",
	"ClientOptions", "Recovery", "PresenceMeta", "Presence", "PresenceChange", "ConnectionState", "EventSpec", "StreamSpec", "DataArg", "Stream", "Client", "CallbackClient",
	"channelURL",
	"Error", "Promise", "Record", "AsyncIterable", "IteratorResult", "Symbol", "URL", "WebSocket", "TextDecoder",
	"Array", "Object", "String", "Number", "Boolean", "Math", "JSON", "Map", "Set", "TypeError", "globalThis",
	"setTimeout", "clearTimeout", "encodeURIComponent",
}

type namer struct{ taken map[string]bool }

func newNamer() *namer {
	n := &namer{taken: map[string]bool{}}
	for _, r := range reserved {
		n.taken[r] = true
	}
	return n
}

// free reports whether every name is free.
func (n *namer) free(names ...string) bool {
	for _, s := range names {
		if n.taken[s] {
			return false
		}
	}
	return true
}

// take returns name, or name with a number after it, whichever is free,
// and takes it.
func (n *namer) take(name string) string {
	s := name
	for i := 2; n.taken[s]; i++ {
		s = fmt.Sprintf("%s%d", name, i)
	}
	n.taken[s] = true
	return s
}

// notIdent matches what cannot be in a name.
var notIdent = regexp.MustCompile(`[^A-Za-z0-9_$]+`)

// typeName turns a schema's key ("Tag-Input", "chat.Message") into a type
// name ("TagInput", "chatMessage"): its ASCII letters, digits, "_" and
// "$", a "T" before a leading digit, a "_" after a keyword ("delete_").
func typeName(key string) string {
	parts := notIdent.Split(key, -1)
	var b strings.Builder
	for i, p := range parts {
		if p == "" {
			continue
		}
		if i > 0 {
			p = strings.ToUpper(p[:1]) + p[1:]
		}
		b.WriteString(p)
	}
	s := b.String()
	if s == "" {
		return "Schema"
	}
	if s[0] >= '0' && s[0] <= '9' {
		s = "T" + s
	}
	return checkedName(s)
}

// pascal turns a channel's id ("rooms.room") into the stem of its names
// ("RoomsRoom").
func pascal(id string) string {
	var b strings.Builder
	for _, p := range notIdent.Split(strings.ReplaceAll(id, "$", " "), -1) {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	s := b.String()
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		s = "Channel" + s
	}
	return checkedName(s)
}

// channelNames are the names of what the declarations say of a channel.
type channelNames struct {
	events, streams, pushes, client, connect string
}

func (g *generator) channelNames(ch *channel) channelNames {
	stem := pascal(ch.id)
	for i := 1; ; i++ {
		s := stem
		if i > 1 {
			s = fmt.Sprintf("%s%d", stem, i)
		}
		cn := channelNames{s + "Events", s + "Streams", s + "Pushes", s + "Client", "connect" + s}
		if g.n.free(cn.events, cn.streams, cn.pushes, cn.client, cn.connect) {
			for _, name := range []string{cn.events, cn.streams, cn.pushes, cn.client, cn.connect} {
				g.n.take(name)
			}
			return cn
		}
	}
}

func (g *generator) generate() *Files {
	d := g.doc
	g.c = &converter{root: d.root, names: map[string]string{}, maxSteps: g.maxSteps}
	var keys []string
	if d.schemas != nil {
		keys = d.schemas.keys
	}
	for _, k := range keys {
		g.c.names["#/components/schemas/"+pointerEscape(k)] = g.n.take(typeName(k))
	}
	names := make([]channelNames, len(d.channels))
	for i, ch := range d.channels {
		if ch.kind != untyped {
			names[i] = g.channelNames(ch)
		}
	}

	header := "// Code generated by wsgen-ts from the AsyncAPI document " + commentLine(describeDoc(d)) + ". DO NOT EDIT.\n"
	var js, dts strings.Builder
	js.WriteString(header + "\n" + runtimeJS)
	dts.WriteString(header + "\n" + runtimeDTS)

	if len(keys) > 0 {
		dts.WriteString("\n// The document's schemas.\n")
	}
	for _, k := range keys {
		s := d.schemas.get(k)
		name := g.c.names["#/components/schemas/"+pointerEscape(k)]
		dts.WriteString("\n")
		writeDoc(&dts, "", schemaDoc(s))
		t := g.c.convert(s)
		if o, ok := t.(*tsObject); ok {
			dts.WriteString("export interface " + name + " " + render(o, "") + "\n")
		} else {
			dts.WriteString("export type " + name + " = " + render(t, "") + ";\n")
		}
	}

	for i, ch := range d.channels {
		dts.WriteString("\n// The endpoint " + commentLine(ch.address) + " (channel " + commentLine(quote(ch.id)) + ").\n")
		switch ch.kind {
		case untyped:
			dts.WriteString("// Its messages are not described: no client.\n")
		case router:
			g.routerDecl(&dts, &js, ch, names[i])
		case callback:
			g.callbackDecl(&dts, &js, ch, names[i])
		}
	}
	return &Files{JS: []byte(js.String()), DTS: []byte(dts.String())}
}

func describeDoc(d *document) string {
	s := quote(d.title)
	if d.version != "" {
		s += " " + d.version
	}
	return s
}

// routerDecl writes the declarations of a router's channel and its
// connect function.
func (g *generator) routerDecl(dts, js *strings.Builder, ch *channel, n channelNames) {
	events, streams, pushes := &tsObject{}, &tsObject{}, &tsObject{}
	for _, ev := range ch.events {
		data := g.c.convert(ev.data)
		if ev.data == nil {
			data = tsUnknown
		}
		if ev.dataOptional {
			data = union(data, tsUndefined)
		}
		spec := &tsObject{props: []tsProp{{name: "data", t: data}}}
		if ev.stream {
			spec.props = append(spec.props, tsProp{name: "item", t: g.convertOrUnknown(ev.reply)})
			streams.props = append(streams.props, tsProp{name: ev.name, t: spec, doc: ev.summary})
		} else {
			spec.props = append(spec.props, tsProp{name: "reply", t: g.convertOrUnknown(ev.reply)})
			events.props = append(events.props, tsProp{name: ev.name, t: spec, doc: ev.summary})
		}
	}
	for _, p := range ch.pushes {
		pushes.props = append(pushes.props, tsProp{name: p.name, t: g.convertOrUnknown(p.body), doc: p.summary})
	}
	dts.WriteString("\n")
	writeDoc(dts, "", "The requests a client of "+ch.address+" sends: the data of each and the body of its reply.")
	dts.WriteString("export interface " + n.events + " " + render(events, "") + "\n\n")
	writeDoc(dts, "", "The server streams of "+ch.address+": the data of each and its items.")
	dts.WriteString("export interface " + n.streams + " " + render(streams, "") + "\n\n")
	writeDoc(dts, "", "The events the server pushes on "+ch.address+", and their bodies.")
	dts.WriteString("export interface " + n.pushes + " " + render(pushes, "") + "\n\n")
	writeDoc(dts, "", "A client of "+ch.address+".")
	dts.WriteString(fmt.Sprintf("export type %s = Client<%s, %s, %s>;\n", n.client, n.events, n.streams, n.pushes))
	g.connectDecl(dts, js, ch, n, "Client")
}

// callbackDecl writes the declarations of a callback's channel and its
// connect function.
func (g *generator) callbackDecl(dts, js *strings.Builder, ch *channel, n channelNames) {
	dts.WriteString("\n")
	writeDoc(dts, "", "A client of "+ch.address+": one reply per request, in order.")
	dts.WriteString(fmt.Sprintf("export type %s = CallbackClient<%s, %s>;\n", n.client,
		render(g.convertOrUnknown(ch.request), ""), render(g.convertOrUnknown(ch.reply), "")))
	g.connectDecl(dts, js, ch, n, "CallbackClient")
}

func (g *generator) convertOrUnknown(s any) tsType {
	if s == nil {
		return tsUnknown
	}
	return g.c.convert(s)
}

// connectDecl writes the connect function of a channel, declared and
// defined.
func (g *generator) connectDecl(dts, js *strings.Builder, ch *channel, n channelNames, class string) {
	doc := fmt.Sprintf("%s opens a client of %s: at options.url, or at that path on the origin of options.base or of the page.", n.connect, ch.address)
	params, jsParams, args := "", "", "undefined"
	if len(ch.params) > 0 {
		var fields []string
		for _, p := range ch.params {
			fields = append(fields, propertyName(p)+": string | number")
		}
		params = "params: { " + strings.Join(fields, "; ") + " }, "
		jsParams, args = "params, ", "params"
		doc += " params fill in the path's parameters."
	}
	dts.WriteString("\n")
	writeDoc(dts, "", doc)
	dts.WriteString(fmt.Sprintf("export declare function %s(%soptions?: ClientOptions<%s>): %s;\n", n.connect, params, n.client, n.client))
	js.WriteString("\n")
	writeDoc(js, "", doc)
	js.WriteString(fmt.Sprintf("export function %s(%soptions = {}) {\n  return new %s(channelURL(%s, %s, options), options);\n}\n",
		n.connect, jsParams, class, quote(ch.address), args))
}

// pointerEscape escapes a JSON Pointer token.
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
