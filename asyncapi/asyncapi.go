// Package asyncapi describes the endpoints that [ws.Callback] and
// [ws.NewRouter] make in an AsyncAPI 3 document, and serves a page that
// documents them with a console to try them ([DocsPage]). It reads the
// endpoints through [ws.Describe] only: any tool can do what it does.
package asyncapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/cafeto-go/ws"
	"github.com/cafeto-go/ws/internal/jsonschema"
	"github.com/go-playground/validator/v10"
)

// Info is what a [Document] says of itself: its info object
// (Title and Version are required) and the version of AsyncAPI it is
// written in.
type Info struct {
	Title       string
	Version     string // the version of your API, such as "1.0.0"
	Description string // CommonMark

	// AsyncAPI is the version of the AsyncAPI specification the document
	// declares: "3.0.0", the default, which the code generators in use
	// read (Modelina 5 reads no later version), or "3.1.0". What the
	// document says is the same in both.
	AsyncAPI string
}

// Document is an AsyncAPI 3.0.0 (or 3.1.0) document that describes
// endpoints made by [ws.Callback] and [ws.NewRouter] (and [ws.Handler], as
// an endpoint whose messages it cannot know): one channel per endpoint, with the ws binding. A
// callback has a receive operation whose reply is the 200 envelope, the
// 400 errorList or the 500. A router has a receive operation per client
// event, replied to with its envelope (and, for a [ws.Stream], its items),
// correlated by id; a receive operation for $cancel when it streams; and a
// send operation per event declared with [ws.Emits]. Message payloads are JSON
// Schemas derived from the Go types and their validate tags: a request's
// schema says what passes validation, with the rules that have no JSON
// Schema equivalent kept in an x-validate extension. Replies an [*ws.Error]
// makes, with the status and body of your choice, are not described.
//
// Every schema a code generator makes a type of has a name, under
// components/schemas and as its title: a named struct, its Go name
// (ChatRequest); the message around an event's data or body, the event's
// name in PascalCase and its role (ChatSendRequest, ChatSendReply,
// ChatWatchItem, ChatWatchEnd, ChatMessagePush); a callback's reply, the
// channel's name and Reply (ChatReply), or BadRequest and InternalError;
// a router's errors, BadRequest, InternalError and TooManyStreams, and
// CancelRequest. A name already taken (compared without case and
// punctuation, as generators compare them) gets a number: 2, 3, … in the
// order Go types, then endpoints as added, events as registered.
//
// Serve it as JSON, or encode it with [encoding/json]:
//
//	doc := asyncapi.New(asyncapi.Info{Title: "Chat", Version: "1.0.0"})
//	doc.Add("/chat", chat)
//	mux.Handle("GET /chat", chat)
//	mux.Handle("GET /asyncapi.json", doc)
//
// Add the endpoints before serving the document; after that, a Document is
// safe for concurrent use. The document is built once, on first use, and
// again after an Add.
type Document struct {
	info Info // AsyncAPI set

	mu        sync.Mutex
	endpoints []addedEndpoint
	doc       []byte // built on demand; nil after an Add
}

type addedEndpoint struct {
	address string
	h       http.Handler
}

// New returns a document with no endpoints yet. It panics when
// info has no title or version, or asks for an AsyncAPI version other than
// 3.0.0 and 3.1.0.
func New(info Info) *Document {
	if info.Title == "" || info.Version == "" {
		panic("asyncapi: New needs a title and a version")
	}
	switch info.AsyncAPI {
	case "":
		info.AsyncAPI = "3.0.0"
	case "3.0.0", "3.1.0":
	default:
		panic(fmt.Sprintf("asyncapi: New writes AsyncAPI 3.0.0 or 3.1.0, not %q", info.AsyncAPI))
	}
	return &Document{info: info}
}

// Add describes the endpoint h served at address: a path such as "/chat",
// or a [http.ServeMux] pattern such as "GET /rooms/{room}", whose wildcards
// become channel parameters. h is a handler made by [ws.Callback] or a
// [ws.Router] (read with [ws.Describe]); any other handler, such as one
// made by [ws.Handler], is listed as
// an endpoint whose messages are not described. A Router is described with
// the events registered when the document is first encoded or served.
// Add panics when address is not a path or h is nil.
func (a *Document) Add(address string, h http.Handler) {
	if h == nil {
		panic("asyncapi: Document.Add needs a handler")
	}
	path, err := channelAddress(address)
	if err != nil {
		panic(err.Error())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.endpoints = append(a.endpoints, addedEndpoint{address: path, h: h})
	a.doc = nil
}

// MarshalJSON returns the document.
func (a *Document) MarshalJSON() ([]byte, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doc == nil {
		doc, err := json.Marshal(a.build())
		if err != nil {
			return nil, fmt.Errorf("asyncapi: document: %w", err)
		}
		a.doc = doc
	}
	return a.doc, nil
}

// ServeHTTP answers GET and HEAD with the document, as application/json.
func (a *Document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	w.Header().Set("Content-Type", "application/json")
	w.Write(doc)
}

var (
	methodPrefix = regexp.MustCompile(`^[A-Z]+\s+`)
	wildcard     = regexp.MustCompile(`\{([^{}]*)\}`)
)

// channelAddress turns a path or ServeMux pattern into a channel address:
// no method or host, "{name...}" as "{name}", no "{$}".
func channelAddress(pattern string) (string, error) {
	p := methodPrefix.ReplaceAllString(strings.TrimSpace(pattern), "")
	if i := strings.IndexByte(p, '/'); i > 0 {
		p = p[i:] // a host
	}
	// A URL parser reads "//host/…" and "/\host/…" as naming a host, and
	// drops tabs and newlines: such an address would send a client to
	// another origin.
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") ||
		strings.ContainsFunc(p, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return "", fmt.Errorf("asyncapi: Document.Add needs a path such as /chat, not %q", pattern)
	}
	p = strings.ReplaceAll(p, "{$}", "")
	return wildcard.ReplaceAllStringFunc(p, func(w string) string {
		return "{" + strings.TrimSuffix(w[1:len(w)-1], "...") + "}"
	}), nil
}

// The document, in the order AsyncAPI writes it.
type (
	apiDoc struct {
		AsyncAPI           string                   `json:"asyncapi"`
		Info               apiInfo                  `json:"info"`
		DefaultContentType string                   `json:"defaultContentType"`
		Channels           map[string]*apiChannel   `json:"channels,omitempty"`
		Operations         map[string]*apiOperation `json:"operations,omitempty"`
		Components         *apiComponents           `json:"components,omitempty"`
	}
	apiInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description,omitempty"`
	}
	apiChannel struct {
		Address     string                   `json:"address"`
		Description string                   `json:"description,omitempty"`
		Messages    map[string]*apiMessage   `json:"messages,omitempty"`
		Parameters  map[string]*apiParameter `json:"parameters,omitempty"`
		Bindings    apiBindings              `json:"bindings"`
	}
	apiParameter struct {
		Description string `json:"description,omitempty"`
	}
	apiBindings struct {
		WS apiWSBinding `json:"ws"`
	}
	apiWSBinding struct {
		Method         string `json:"method"`
		BindingVersion string `json:"bindingVersion"`
	}
	apiMessage struct {
		Name          string             `json:"name"`
		Summary       string             `json:"summary,omitempty"`
		Payload       *jsonschema.Schema `json:"payload"`
		CorrelationID *apiCorrelationID  `json:"correlationId,omitempty"`
	}
	apiCorrelationID struct {
		Description string `json:"description,omitempty"`
		Location    string `json:"location"`
	}
	apiOperation struct {
		Action   string    `json:"action"`
		Channel  apiRef    `json:"channel"`
		Summary  string    `json:"summary,omitempty"`
		Messages []apiRef  `json:"messages"`
		Reply    *apiReply `json:"reply,omitempty"`
	}
	apiReply struct {
		Channel  apiRef   `json:"channel"`
		Messages []apiRef `json:"messages"`
	}
	apiRef struct {
		Ref string `json:"$ref"`
	}
	apiComponents struct {
		Schemas map[string]*jsonschema.Schema `json:"schemas,omitempty"`
	}
)

// roots collects the types to describe, so that one generation shares
// their definitions.
type roots struct {
	list []jsonschema.Root
	res  *jsonschema.Result
}

func (r *roots) add(t reflect.Type, m jsonschema.Mode, v *validator.Validate) int {
	r.list = append(r.list, jsonschema.Root{Type: t, Mode: m, Validator: v})
	return len(r.list) - 1
}

func (r *roots) schema(i int) *jsonschema.Schema { return r.res.Schemas[i] }

var (
	errorListType  = reflect.TypeFor[ws.ErrorList]()
	correlateByID  = &apiCorrelationID{Description: "A reply, or a stream item, carries the id of its request.", Location: "$message.payload#/id"}
	eventIDSchema  = &jsonschema.Schema{Type: []string{"string", "number"}, Description: "Chosen by the client; echoed in the reply."}
	wsBinding      = apiBindings{WS: apiWSBinding{Method: http.MethodGet, BindingVersion: "0.1.0"}}
	handlerChannel = "Messages are not described: the handler reads and writes JSON itself."
)

// build assembles the document from the endpoints.
func (a *Document) build() *apiDoc {
	doc := &apiDoc{
		AsyncAPI:           a.info.AsyncAPI,
		Info:               apiInfo{Title: a.info.Title, Version: a.info.Version, Description: a.info.Description},
		DefaultContentType: "application/json",
		Channels:           map[string]*apiChannel{},
		Operations:         map[string]*apiOperation{},
	}
	// First the types, all at once; then the channels that use them.
	var r roots
	errIdx := r.add(errorListType, jsonschema.Output, nil)
	type plan func(*schemaNames)
	var plans []plan
	used := map[string]bool{}
	for _, e := range a.endpoints {
		id := channelID(e.address, used)
		ch := &apiChannel{Address: e.address, Bindings: wsBinding, Parameters: parameters(e.address)}
		doc.Channels[id] = ch
		events, ok := ws.Describe(e.h)
		switch {
		case ok && len(events) == 1 && events[0].Name == "":
			ev := events[0]
			req := r.add(ev.Request, jsonschema.Input, ev.Validator)
			resp := r.add(ev.Reply, jsonschema.Output, nil)
			plans = append(plans, func(n *schemaNames) {
				describeCallback(doc, n, id, ch, r.schema(req), r.schema(resp), ev.AnyStatus, r.schema(errIdx))
			})
		case ok:
			// Per client event: the request, and the reply's body or
			// the stream's item; per push, its body.
			schemas := make([][2]int, len(events))
			for i, ev := range events {
				if ev.Push {
					schemas[i][1] = r.add(ev.Reply, jsonschema.Output, nil)
					continue
				}
				schemas[i][0] = r.add(ev.Request, jsonschema.Input, ev.Validator)
				out := ev.Item
				if out == nil {
					out = ev.Reply
				}
				schemas[i][1] = r.add(out, jsonschema.Output, nil)
			}
			plans = append(plans, func(n *schemaNames) {
				describeRouter(doc, n, id, ch, events, schemas, &r, r.schema(errIdx))
			})
		default:
			ch.Description = handlerChannel
		}
	}
	r.res = jsonschema.Generate(jsonschema.Options{RefPrefix: schemaPrefix, NameStructs: true}, r.list...)
	n := newSchemaNames(slices.Sorted(maps.Keys(doc.Channels)), r.res.Definitions)
	for _, p := range plans {
		p(n)
	}
	n.titleInner()
	if len(n.schemas) > 0 {
		doc.Components = &apiComponents{Schemas: n.schemas}
	}
	return doc
}

const schemaPrefix = "#/components/schemas/"

// schemaNames holds the document's named schemas, components/schemas, and
// hands out their names, which are also their titles. Two names clash when
// they are the same once case and all but letters and digits are dropped:
// code generators make one type name of them.
type schemaNames struct {
	schemas map[string]*jsonschema.Schema
	taken   map[string]bool               // folded names
	shared  map[string]*jsonschema.Schema // references to the schemas routers share, by name
}

// newSchemaNames starts with the names of the channels, taken, and the
// definitions of the Go types, titled with their name as an identifier
// (Tag-Input is TagInput). Names that are identifiers already go first, so
// that a Go type keeps its name when another's title would be the same.
func newSchemaNames(channels []string, defs map[string]*jsonschema.Schema) *schemaNames {
	n := &schemaNames{schemas: map[string]*jsonschema.Schema{}, taken: map[string]bool{}, shared: map[string]*jsonschema.Schema{}}
	// Modelina names the union of an operation's replies after its
	// channel, with . and - spelled Dot and Minus.
	modelina := strings.NewReplacer(".", "Dot", "-", "Minus")
	for _, id := range channels {
		n.taken[foldName(id)] = true
		n.taken[foldName(modelina.Replace(id))] = true
	}
	keys := slices.Sorted(maps.Keys(defs))
	slices.SortStableFunc(keys, func(a, b string) int {
		return cmpBool(identifier(a) != a, identifier(b) != b)
	})
	for _, k := range keys {
		s := *defs[k]
		s.Title = n.take(identifier(k))
		n.schemas[k] = &s
	}
	return n
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// take returns name, or name with the first number from 2 that makes it
// clash with no name taken, and takes it.
func (n *schemaNames) take(name string) string {
	c := name
	for i := 2; n.taken[foldName(c)]; i++ {
		c = name + strconv.Itoa(i)
	}
	n.taken[foldName(c)] = true
	return c
}

// add names s after name, or the name take gives, and returns a reference
// to it.
func (n *schemaNames) add(name string, s *jsonschema.Schema) *jsonschema.Schema {
	name = n.take(name)
	c := *s
	c.Title = name
	n.schemas[name] = &c
	return &jsonschema.Schema{Ref: schemaPrefix + name}
}

// share returns the reference to the schema every router shares under
// name, adding it the first time.
func (n *schemaNames) share(name string, build func() *jsonschema.Schema) *jsonschema.Schema {
	if ref := n.shared[name]; ref != nil {
		return ref
	}
	ref := n.add(name, build())
	n.shared[name] = ref
	return ref
}

// titleInner titles the schemas inside the named ones that code
// generators make a type of, when they have no name: objects with
// properties and enums, such as the values of a field tagged oneof. Each
// is named after where it is: its schema's name and the property's
// (EverythingColor), Item for an array's items, Value for a map's values.
func (n *schemaNames) titleInner() {
	for _, k := range slices.Sorted(maps.Keys(n.schemas)) {
		s := n.schemas[k]
		n.schemas[k] = n.titled(s.Title, s, true)
	}
}

// titled returns s with titles inside; s itself is not changed, as
// generated schemas share parts.
func (n *schemaNames) titled(stem string, s *jsonschema.Schema, named bool) *jsonschema.Schema {
	if s == nil || s.Ref != "" {
		return s
	}
	c := *s
	if !named && c.Title == "" && (c.Enum != nil || len(c.Properties) > 0) {
		c.Title = n.take(stem)
		stem = c.Title
	}
	if c.Properties != nil {
		c.Properties = slices.Clone(c.Properties)
		for i, p := range c.Properties {
			c.Properties[i].Schema = n.titled(stem+pascal(p.Name), p.Schema, false)
		}
	}
	c.Items = n.titled(stem+"Item", c.Items, false)
	c.AdditionalProperties = n.titled(stem+"Value", c.AdditionalProperties, false)
	for _, list := range []*[]*jsonschema.Schema{&c.AllOf, &c.AnyOf, &c.OneOf} {
		if *list != nil {
			l := slices.Clone(*list)
			for i, sub := range l {
				l[i] = n.titled(stem, sub, false)
			}
			*list = l
		}
	}
	return &c
}

// foldName is what two names that clash have in common.
func foldName(s string) string {
	return strings.Map(func(r rune) rune {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}

var notAlnum = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// identifier joins the words of a name, each after the first capitalized:
// Tag-Input is TagInput.
func identifier(name string) string {
	words := notAlnum.Split(name, -1)
	for i, w := range words {
		if i > 0 && w != "" {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, "")
}

// pascal is a name in PascalCase, the stem of the names of an event's or a
// channel's schemas: chat.send is ChatSend, rooms.room is RoomsRoom.
func pascal(name string) string {
	s := identifier(name)
	if s == "" {
		return "Event"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// replySchema is the schema of a reply's body; an envelope's may be null.
func replySchema(body *jsonschema.Schema, envelope bool) *jsonschema.Schema {
	if !envelope {
		return body
	}
	return &jsonschema.Schema{AnyOf: []*jsonschema.Schema{body, {Type: []string{"null"}}}}
}

// describeCallback adds the messages and the receive operation of a
// [Callback] endpoint. Its schemas are named after the channel.
func describeCallback(doc *apiDoc, n *schemaNames, id string, ch *apiChannel, req, body *jsonschema.Schema, anyStatus bool, errorList *jsonschema.Schema) {
	stem := pascal(id)
	if req.Ref == "" {
		req = n.add(stem+"Request", req) // not a struct: no Go name to go by
	}
	ch.Messages = map[string]*apiMessage{
		"request": {Name: "request", Summary: "A request: decoded and validated.", Payload: req},
		"reply": {Name: "reply", Summary: "The receive function's result.",
			Payload: n.add(stem+"Reply", envelope(nil, nil, status(200, anyStatus), replySchema(body, anyStatus)))},
		"badRequest": {Name: "badRequest", Summary: "The request does not decode or does not validate.",
			Payload: n.add(stem+"BadRequest", envelope(nil, nil, status(400, false), errorList))},
		"internalError": {Name: "internalError", Summary: "The receive function failed or panicked.",
			Payload: n.add(stem+"InternalError", envelope(nil, nil, status(500, false), errorList))},
	}
	doc.Operations[id+".receive"] = &apiOperation{
		Action:   "receive",
		Channel:  channelRef(id),
		Summary:  "Every message is answered with one reply, in order.",
		Messages: []apiRef{messageRef(id, "request")},
		Reply: &apiReply{Channel: channelRef(id), Messages: []apiRef{
			messageRef(id, "reply"), messageRef(id, "badRequest"), messageRef(id, "internalError"),
		}},
	}
}

// describeRouter adds the messages and operations of a router: a receive
// operation per client event, with its reply (and stream items), a send
// operation per push, and the $cancel message when an event streams. The
// schemas of an event's messages are named after the event; the errors
// and $cancel are the same for every router.
func describeRouter(doc *apiDoc, n *schemaNames, id string, ch *apiChannel, events []ws.Event, schemas [][2]int, r *roots, errorList *jsonschema.Schema) {
	// A message's id, chosen by the client, is a string or a number: one
	// named schema, which generators make one type of.
	eventID := n.share("EventID", func() *jsonschema.Schema { return eventIDSchema })
	// An error reply carries the event and id of the message when it
	// could read them.
	failure := func(code int) func() *jsonschema.Schema {
		return func() *jsonschema.Schema {
			s := envelope(eventID, &jsonschema.Schema{Type: []string{"string"}}, status(code, false), errorList)
			s.Required = []string{"statusCode", "body"}
			return s
		}
	}
	ch.Messages = map[string]*apiMessage{
		"badRequest": {Name: "badRequest", Summary: "The message does not decode or does not validate.",
			Payload: n.share("BadRequest", failure(400)), CorrelationID: correlateByID},
		"internalError": {Name: "internalError", Summary: "The handler failed or panicked.",
			Payload: n.share("InternalError", failure(500)), CorrelationID: correlateByID},
	}
	// message adds m under a name not yet taken, and returns its reference.
	message := func(name string, m *apiMessage) apiRef {
		name = unique(name, func(n string) bool { return ch.Messages[n] != nil })
		m.Name = name
		ch.Messages[name] = m
		return messageRef(id, name)
	}
	operation := func(name string, op *apiOperation) {
		doc.Operations[unique(id+"."+name, func(n string) bool { return doc.Operations[n] != nil })] = op
	}
	errs := []apiRef{messageRef(id, "badRequest"), messageRef(id, "internalError")}
	streams := false
	for i, ev := range events {
		if ev.Push {
			continue
		}
		name, stem := messageName(ev.Name), pascal(ev.Name)
		event := constString(ev.Name)
		data := r.schema(schemas[i][0])
		req := message(name, &apiMessage{Summary: "The " + ev.Name + " event.",
			Payload:       n.add(stem+"Request", request(eventID, event, data, ev.Item != nil, acceptsEmptyObject(data, r.res.Definitions))),
			CorrelationID: correlateByID})
		var replies []apiRef
		if ev.Item == nil {
			anyStatus := ev.AnyStatus
			replies = append(replies, message(name+".reply", &apiMessage{Summary: "The reply to " + ev.Name + ".",
				Payload:       n.add(stem+"Reply", envelope(eventID, event, status(200, anyStatus), replySchema(r.schema(schemas[i][1]), anyStatus))),
				CorrelationID: correlateByID}))
		} else {
			streams = true
			item := envelope(eventID, event, status(200, false), r.schema(schemas[i][1]))
			item.Properties = append(item.Properties, jsonschema.Property{Name: "more", Schema: &jsonschema.Schema{Const: json.RawMessage("true")}})
			item.Required = append(item.Required, "more")
			replies = append(replies,
				message(name+".item", &apiMessage{Summary: "One item of the " + ev.Name + " stream.",
					Payload: n.add(stem+"Item", item), CorrelationID: correlateByID}),
				message(name+".end", &apiMessage{Summary: "The end of the " + ev.Name + " stream: the function returned, or the client cancelled it.",
					Payload:       n.add(stem+"End", envelope(eventID, event, status(200, false), &jsonschema.Schema{Type: []string{"null"}})),
					CorrelationID: correlateByID}),
				messageRef(id, "tooManyStreams"))
		}
		operation(name, &apiOperation{
			Action: "receive", Channel: channelRef(id),
			Messages: []apiRef{req},
			Reply:    &apiReply{Channel: channelRef(id), Messages: append(replies, errs...)},
		})
	}
	if streams {
		ch.Messages["tooManyStreams"] = &apiMessage{Name: "tooManyStreams", Summary: "The connection has as many streams open as it may.",
			Payload: n.share("TooManyStreams", failure(429)), CorrelationID: correlateByID}
		cancel := message("cancel", &apiMessage{Summary: "Stops the stream started by the request with this id.",
			Payload: n.share("CancelRequest", func() *jsonschema.Schema {
				return &jsonschema.Schema{Type: []string{"object"}, Properties: []jsonschema.Property{
					{Name: "event", Schema: constString("$cancel")},
					{Name: "id", Schema: eventID},
				}, Required: []string{"event", "id"}}
			}),
			CorrelationID: correlateByID})
		operation("cancel", &apiOperation{Action: "receive", Channel: channelRef(id), Messages: []apiRef{cancel}})
	}
	for i, p := range events {
		if !p.Push {
			continue
		}
		name := messageName(p.Name)
		ref := message(name, &apiMessage{Summary: "The " + p.Name + " event, sent by the server.",
			Payload: n.add(pascal(p.Name)+"Push", push(constString(p.Name), r.schema(schemas[i][1])))})
		operation(name, &apiOperation{Action: "send", Channel: channelRef(id), Messages: []apiRef{ref}})
	}
}

// unique returns name, or name with a number after it, whichever is not
// taken.
func unique(name string, taken func(string) bool) string {
	n := name
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s_%d", name, i)
	}
	return n
}

// envelope is the schema of a reply: {"statusCode":…,"body":…}, with "id"
// and "event" first when event is not nil.
func envelope(id, event, status, body *jsonschema.Schema) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: []string{"object"}}
	if event != nil {
		s.Properties = append(s.Properties, jsonschema.Property{Name: "id", Schema: id}, jsonschema.Property{Name: "event", Schema: event})
		s.Required = append(s.Required, "event")
	}
	s.Properties = append(s.Properties, jsonschema.Property{Name: "statusCode", Schema: status}, jsonschema.Property{Name: "body", Schema: body})
	s.Required = append(s.Required, "statusCode", "body")
	return s
}

// request is the schema of a client event: {"event":…,"id":…,"data":…}.
// A stream's must carry an id; data may be left out (it counts as {})
// when {} is a valid request.
func request(id, event, data *jsonschema.Schema, needsID, dataOptional bool) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: []string{"object"}, Properties: []jsonschema.Property{
		{Name: "event", Schema: event},
		{Name: "id", Schema: id},
		{Name: "data", Schema: data},
	}, Required: []string{"event"}}
	if needsID {
		s.Required = append(s.Required, "id")
	}
	if !dataOptional {
		s.Required = append(s.Required, "data")
	}
	return s
}

// acceptsEmptyObject reports whether {} surely passes s: an object schema
// that requires nothing and asks nothing more of the object itself.
func acceptsEmptyObject(s *jsonschema.Schema, defs map[string]*jsonschema.Schema) bool {
	if name, ok := strings.CutPrefix(s.Ref, schemaPrefix); ok {
		s = defs[name]
	}
	if s == nil || len(s.Type) != 1 || s.Type[0] != "object" || len(s.Required) > 0 || s.Not != nil ||
		s.AnyOf != nil || s.OneOf != nil || s.MinProperties != nil || s.Const != nil || s.Enum != nil {
		return false
	}
	for _, sub := range s.AllOf {
		if sub.If == nil || sub.Then == nil {
			return false // only the conditions of embedded pointers, which {} does not trigger
		}
	}
	return true
}

// push is the schema of a server event: {"event":…,"statusCode":200,"body":…}.
func push(event, body *jsonschema.Schema) *jsonschema.Schema {
	return &jsonschema.Schema{Type: []string{"object"}, Properties: []jsonschema.Property{
		{Name: "event", Schema: event},
		{Name: "statusCode", Schema: status(200, false)},
		{Name: "body", Schema: body},
	}, Required: []string{"event", "statusCode", "body"}}
}

func status(code int, anyStatus bool) *jsonschema.Schema {
	if anyStatus {
		return &jsonschema.Schema{Type: []string{"integer"}, Description: "An HTTP status code, chosen by the handler."}
	}
	return &jsonschema.Schema{Const: json.RawMessage(fmt.Sprint(code))}
}

func constString(s string) *jsonschema.Schema {
	raw, _ := json.Marshal(s)
	return &jsonschema.Schema{Const: raw}
}

var notName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// channelID names a channel after its address: "/rooms/{room}" is
// "rooms.room", "/" is "root".
func channelID(address string, used map[string]bool) string {
	id := strings.Trim(notName.ReplaceAllString(strings.ReplaceAll(address, "/", "."), ""), ".")
	if id == "" {
		id = "root"
	}
	base := id
	for i := 2; used[id]; i++ {
		id = fmt.Sprintf("%s_%d", base, i)
	}
	used[id] = true
	return id
}

// messageName is an event's name as a message or operation name.
func messageName(event string) string {
	n := strings.Trim(notName.ReplaceAllString(event, "_"), "_")
	if n == "" {
		return "event"
	}
	return n
}

func parameters(address string) map[string]*apiParameter {
	ps := map[string]*apiParameter{}
	for _, m := range wildcard.FindAllStringSubmatch(address, -1) {
		ps[m[1]] = &apiParameter{Description: "A path parameter."}
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}

func channelRef(id string) apiRef { return apiRef{Ref: "#/channels/" + pointerEscape(id)} }

func messageRef(channel, message string) apiRef {
	return apiRef{Ref: "#/channels/" + pointerEscape(channel) + "/messages/" + pointerEscape(message)}
}

// pointerEscape escapes a JSON Pointer token.
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}
