package tsgen

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// document is what the generator reads of an AsyncAPI document.
type document struct {
	root     *object
	title    string
	version  string
	schemas  *object // components.schemas, in their order
	channels []*channel
}

type channelKind uint8

const (
	untyped  channelKind = iota // messages not described
	router                      // events, streams and pushes
	callback                    // one request type, replies in order
)

// channel is one endpoint.
type channel struct {
	id, address string
	params      []string // the {parameters} of the address, in order
	kind        channelKind

	events []*event // router: what clients send
	pushes []*push  // router: what the server sends unasked

	request, reply any // callback: the request's schema, the reply body's
}

// event is a client event of a router: a request or a stream.
type event struct {
	name, summary string
	data          any  // the schema of "data"; nil: anything
	dataOptional  bool // a message may leave "data" out
	stream        bool
	reply         any // the schema of the reply's body, or of the stream's items
}

// push is an event the server sends.
type push struct {
	name, summary string
	body          any
}

var parameter = regexp.MustCompile(`\{([^{}]+)\}`)

// isPath reports whether a channel's address is a path that stays on the
// origin it is resolved against: it starts with one "/" (not "//", a host
// of its own), and holds no backslash, which a browser reads as "/", nor
// control character, which a URL parser drops ("/\t/host" is "//host").
func isPath(address string) bool {
	return strings.HasPrefix(address, "/") && !strings.HasPrefix(address, "//") &&
		!strings.ContainsFunc(address, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f })
}

// read reads an AsyncAPI 3 document made by github.com/cafeto-go/ws.
func read(data []byte) (*document, error) {
	v, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("the document is not JSON: %w", err)
	}
	root, ok := v.(*object)
	if !ok {
		return nil, errors.New("the document is not a JSON object")
	}
	if ver := root.str("asyncapi"); !strings.HasPrefix(ver, "3.") {
		return nil, fmt.Errorf("an AsyncAPI 3 document is needed, not version %q", ver)
	}
	d := &document{
		root:    root,
		title:   root.obj("info").str("title"),
		version: root.obj("info").str("version"),
		schemas: root.obj("components").obj("schemas"),
	}
	byObject := map[*object]*channel{}
	chans := root.obj("channels")
	if chans != nil {
		for _, id := range chans.keys {
			c := chans.obj(id)
			if c == nil {
				continue
			}
			ch := &channel{id: id, address: c.str("address")}
			if ch.address == "" {
				ch.address = "/" + id
			}
			if !isPath(ch.address) {
				return nil, fmt.Errorf("%q: the address %q is not a path such as \"/chat\": a client connects to its page's own origin, or to the URL it is given",
					"#/channels/"+pointerEscape(id)+"/address", ch.address)
			}
			for _, m := range parameter.FindAllStringSubmatch(ch.address, -1) {
				if !slices.Contains(ch.params, m[1]) { // declared once: the value fills in both
					ch.params = append(ch.params, m[1])
				}
			}
			byObject[c] = ch
			d.channels = append(d.channels, ch)
		}
	}
	ops := root.obj("operations")
	if ops == nil {
		return d, nil
	}
	for _, key := range ops.keys {
		op := ops.obj(key)
		if op == nil {
			continue
		}
		c, err := deref(root, op.get("channel"))
		if err != nil {
			return nil, fmt.Errorf("operation %q: channel: %w", key, err)
		}
		ch := byObject[c]
		if ch == nil {
			return nil, fmt.Errorf("operation %q: its channel is not under channels", key)
		}
		if err := d.operation(ch, op); err != nil {
			return nil, fmt.Errorf("operation %q: %w", key, err)
		}
	}
	return d, nil
}

// payloads returns the messages of a list of references, with their
// payloads as written (a $ref stays one) and followed.
func (d *document) payloads(refs []any) (raw []any, followed []*object, summaries []string, err error) {
	for _, r := range refs {
		m, err := deref(d.root, r)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("message: %w", err)
		}
		p := m.get("payload")
		f, err := deref(d.root, p)
		if err != nil {
			f = &object{m: map[string]any{}} // a boolean schema: nothing to read in it
		}
		raw = append(raw, p)
		followed = append(followed, f)
		summaries = append(summaries, m.str("summary"))
	}
	return raw, followed, summaries, nil
}

// constString returns the string a schema is the const of.
func constString(s any) (string, bool) {
	o, ok := s.(*object)
	if !ok {
		return "", false
	}
	v, ok := o.get("const").(string)
	return v, ok
}

func required(o *object, name string) bool {
	for _, r := range o.list("required") {
		if r == name {
			return true
		}
	}
	return false
}

// operation adds what op says of ch.
func (d *document) operation(ch *channel, op *object) error {
	raw, msgs, summaries, err := d.payloads(op.list("messages"))
	if err != nil || len(msgs) == 0 {
		return err
	}
	p := msgs[0]
	props := p.obj("properties")
	name, isEvent := constString(props.get("event"))
	switch op.str("action") {
	case "send":
		if isEvent {
			ch.kind = router
			if !slices.ContainsFunc(ch.pushes, func(p *push) bool { return p.name == name }) { // the first is declared
				ch.pushes = append(ch.pushes, &push{name: name, summary: summaries[0], body: props.get("body")})
			}
		}
		return nil
	case "receive":
	default:
		return nil
	}
	_, rmsgs, _, err := d.payloads(op.obj("reply").list("messages"))
	if err != nil {
		return err
	}
	if !isEvent {
		// A callback: the message is the request itself.
		ch.kind = callback
		ch.request = raw[0]
		ch.reply = replyBody(rmsgs)
		return nil
	}
	ch.kind = router
	if name == "$cancel" || slices.ContainsFunc(ch.events, func(e *event) bool { return e.name == name }) {
		return nil // the first operation of an event is declared
	}
	ev := &event{name: name, summary: summaries[0], data: props.get("data"), dataOptional: !required(p, "data")}
	for _, r := range rmsgs {
		if rp := r.obj("properties"); rp.has("more") {
			ev.stream, ev.reply = true, rp.get("body")
		}
	}
	if !ev.stream {
		ev.reply = replyBody(rmsgs)
	}
	ch.events = append(ch.events, ev)
	return nil
}

// replyBody returns the body's schema of the first reply that is not an
// error.
func replyBody(replies []*object) any {
	for _, r := range replies {
		if status, ok := replyStatus(r); ok && status < 400 {
			return r.obj("properties").get("body")
		}
	}
	return nil
}

// replyStatus returns the status of a reply's schema: its const, or 200
// when the handler chooses it.
func replyStatus(reply *object) (int, bool) {
	s := reply.obj("properties").obj("statusCode")
	if s == nil {
		return 0, false
	}
	if n, ok := s.get("const").(json.Number); ok {
		v, err := n.Int64()
		return int(v), err == nil
	}
	if s.get("type") == "integer" {
		return 200, true
	}
	return 0, false
}
