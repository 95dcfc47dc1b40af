package ws

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
)

// validator/v10 has no fail-fast mode: it validates every item of every
// `dive` collection and builds an error for each one that fails, so a
// message of invalid items costs far more than a valid one. The walk in this
// file validates such collections itself, item by item, with the same
// validator, the same tags and the same namespaces, and stops as soon as the
// errorList is full. What it does not walk it hands to the validator whole,
// so the entries and their order are the validator's own.
//
// A struct is walked when the validator would only run its fields' tags on
// it (no struct-level validation, no map rules, no custom type or Valuer in
// the way); a field is walked when it is a slice or map whose tag dives, or
// a struct field without tags that leads to one. Everything else, including
// the fields between walked ones, goes to [validator.Validate.StructFilteredCtx]
// in runs, in field order.

// walkConfig is what the planner needs of a validator's configuration, which
// validator/v10 keeps in unexported fields without accessors. They are read
// with reflection, at construction, by their v10.30 names; when one is not
// there nothing is walked, and validation is the validator's alone.
type walkConfig struct {
	tagName                                  string
	structLevel, rules, customTypes, aliases reflect.Value // maps
}

func readWalkConfig(v *validator.Validate) (walkConfig, bool) {
	rv := reflect.ValueOf(v).Elem()
	field := func(name string, typ reflect.Type) reflect.Value {
		f := rv.FieldByName(name)
		if !f.IsValid() || f.Type() != typ {
			return reflect.Value{}
		}
		return f
	}
	typeKeyed := func(name string) reflect.Value {
		f := rv.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Map || f.Type().Key() != reflect.TypeFor[reflect.Type]() {
			return reflect.Value{}
		}
		return f
	}
	c := walkConfig{
		structLevel: typeKeyed("structLevelFuncs"),
		rules:       typeKeyed("rules"),
		customTypes: typeKeyed("customFuncs"),
		aliases:     field("aliases", reflect.TypeFor[map[string]string]()),
	}
	tagName := field("tagName", reflect.TypeFor[string]())
	if !tagName.IsValid() || !c.structLevel.IsValid() || !c.rules.IsValid() || !c.customTypes.IsValid() || !c.aliases.IsValid() {
		return walkConfig{}, false
	}
	c.tagName = tagName.String()
	return c, true
}

func has(m reflect.Value, t reflect.Type) bool { return m.MapIndex(reflect.ValueOf(t)).IsValid() }

func (c walkConfig) alias(name string) (string, bool) {
	v := c.aliases.MapIndex(reflect.ValueOf(name))
	if !v.IsValid() {
		return "", false
	}
	return v.String(), true
}

// A structWalk validates the fields of one struct type in order.
type structWalk struct {
	strip int // length of the type's name and its dot, which the validator puts before a top-level struct's namespace
	steps []walkStep
}

// A walkStep is a run of fields validated by the validator in one call
// (filter set), or one field walked here.
type walkStep struct {
	filter validator.FilterFunc

	index  int    // the field's index
	name   string // the field's Go name, as in the validator's namespace
	coll   *collWalk
	nested *structWalk // a struct, or a pointer to one (ptr), without tags but presence tags (tags)
	ptr    bool
	tags   string
}

type itemKind uint8

const (
	itemNone   itemKind = iota // nothing to check on an item
	itemVar                    // post's tags, on the item
	itemStruct                 // a struct item, or a pointer to one
	itemColl                   // a collection that dives again
)

// A collWalk validates a slice or map whose tag dives: pre's tags on the
// whole, then each item.
type collWalk struct {
	pre, post string // the tags before and after "dive"
	isMap     bool
	item      itemKind
	ptr       bool        // itemStruct: items are pointers
	strip     int         // itemStruct: length of the item type's name and its dot
	walk      *structWalk // itemStruct: walk the item's fields; nil: the validator checks each item whole
	inner     *collWalk   // itemColl
}

// A planner builds the walk of a request type once, at construction.
type planner struct {
	cfg  walkConfig
	v    *validator.Validate
	done map[reflect.Type]*structWalk
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	valuerType = reflect.TypeFor[validator.Valuer]()
)

// newWalk returns the walk of struct type t, or nil when the validator
// should validate t whole.
func newWalk(v *validator.Validate, t reflect.Type) *structWalk {
	cfg, ok := readWalkConfig(v)
	if !ok {
		return nil
	}
	p := &planner{cfg: cfg, v: v, done: make(map[reflect.Type]*structWalk)}
	return p.structWalk(t)
}

// opaque reports whether the validator may see something other than a
// value of type t: an interface, a [validator.Valuer], a type with a custom
// type function.
func (p *planner) opaque(t reflect.Type) bool {
	for {
		if t.Kind() == reflect.Interface || t.Implements(valuerType) {
			return true
		}
		if t.Kind() != reflect.Pointer {
			return has(p.cfg.customTypes, t)
		}
		t = t.Elem()
	}
}

func isStruct(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && !t.ConvertibleTo(timeType)
}

func typeStrip(t reflect.Type) int {
	if t.Name() == "" {
		return 0
	}
	return len(t.Name()) + 1
}

// structWalk returns the walk of struct type t, or nil when no field of t is
// worth walking or the validator must see t whole.
func (p *planner) structWalk(t reflect.Type) *structWalk {
	if w, ok := p.done[t]; ok {
		return w
	}
	p.done[t] = nil
	if has(p.cfg.structLevel, t) || has(p.cfg.rules, t) {
		return nil
	}
	w := &structWalk{strip: typeStrip(t)}
	p.done[t] = w // for recursive types
	var run []int
	walked := false
	for i := range t.NumField() {
		if s, ok := p.step(t, i); ok {
			w.steps = p.appendRun(w.steps, t, run)
			w.steps = append(w.steps, s)
			run, walked = run[:0], true
			continue
		}
		run = append(run, i)
	}
	w.steps = p.appendRun(w.steps, t, run)
	if !walked {
		p.done[t] = nil
		return nil
	}
	return w
}

// appendRun appends a step that validates t's fields run, when one of them
// may fail, with the validator.
func (p *planner) appendRun(steps []walkStep, t reflect.Type, run []int) []walkStep {
	needed := false
	in := make(map[int]bool, len(run))
	for _, i := range run {
		in[i] = true
		sf := t.Field(i)
		tag := sf.Tag.Get(p.cfg.tagName)
		if tag != "" && tag != "-" || isStruct(deref(sf.Type)) || p.opaque(sf.Type) {
			needed = true
		}
	}
	if !needed {
		return steps
	}
	skip := make(map[string]bool)
	for i := range t.NumField() {
		if !in[i] {
			skip[t.Field(i).Name] = true
		}
	}
	strip := typeStrip(t)
	// The validator asks about every field it reaches, nested ones
	// included ("Req.Room.Name"); only the struct's own fields are skipped.
	filter := func(ns []byte) bool { return len(ns) > strip && skip[string(ns[strip:])] }
	return append(steps, walkStep{filter: filter})
}

// step returns the walk of field i of t, when it is worth walking.
func (p *planner) step(t reflect.Type, i int) (walkStep, bool) {
	sf := t.Field(i)
	tag := sf.Tag.Get(p.cfg.tagName)
	if !sf.IsExported() || tag == "-" || p.opaque(sf.Type) {
		return walkStep{}, false
	}
	ft := sf.Type
	s := walkStep{index: i, name: sf.Name}
	switch {
	case ft.Kind() == reflect.Slice || ft.Kind() == reflect.Map:
		pre, post, ok := p.splitDive(tag)
		if !ok {
			return walkStep{}, false
		}
		s.coll = p.collWalk(t, ft, pre, post)
		return s, s.coll != nil
	case isStruct(ft) && tag == "", ft.Kind() == reflect.Pointer && isStruct(ft.Elem()) && presenceOnly(tag):
		s.ptr, s.tags = ft.Kind() == reflect.Pointer, tag
		s.nested = p.structWalk(deref(ft))
		return s, s.nested != nil && p.parses(t, ft, tag)
	}
	return walkStep{}, false
}

// collWalk returns the walk of a collection of type ct, a field of parent
// (or an item of one) tagged pre,dive,post; nil when it is not worth walking.
func (p *planner) collWalk(parent, ct reflect.Type, pre, post string) *collWalk {
	et := ct.Elem()
	if p.opaque(et) || !p.parses(parent, ct, pre) || !p.parses(parent, et, post) {
		return nil
	}
	c := &collWalk{pre: pre, post: post, isMap: ct.Kind() == reflect.Map}
	switch {
	case isStruct(deref(et)):
		// The validator runs the tags after dive on a struct item, then
		// validates its fields. On a pointer, presence tags pass unless it
		// is nil; other tags on a struct stay the validator's.
		c.ptr = et.Kind() == reflect.Pointer
		if c.ptr && et.Elem().Kind() != reflect.Struct || post != "" && (!c.ptr || !presenceOnly(post)) {
			return nil
		}
		c.item, c.strip, c.walk = itemStruct, typeStrip(deref(et)), p.structWalk(deref(et))
	case et.Kind() == reflect.Slice || et.Kind() == reflect.Map:
		pre2, post2, ok := p.splitDive(post)
		if !ok {
			c.item = itemVar
			break
		}
		if c.inner = p.collWalk(parent, et, pre2, post2); c.inner == nil {
			return nil
		}
		c.item = itemColl
	case post != "":
		c.item = itemVar
	}
	return c
}

// splitDive splits tag at its first "dive": the tags for the collection,
// and those for each item. It reports false when tag does not dive or uses
// what the walk leaves to the validator (keys, structonly, nostructlevel,
// or an alias for one of them or for dive).
func (p *planner) splitDive(tag string) (pre, post string, ok bool) {
	tokens := strings.Split(tag, ",")
	for i, tok := range tokens {
		if tok == "dive" {
			pre, post = strings.Join(tokens[:i], ","), strings.Join(tokens[i+1:], ",")
			return pre, post, p.plain(pre, 0) && p.plain(post, 0)
		}
	}
	return "", "", false
}

// plain reports whether tag holds none of the tags the walk leaves to the
// validator, aliases expanded. A nested dive is allowed: the walk splits it
// again.
func (p *planner) plain(tag string, depth int) bool {
	if depth > 8 {
		return false
	}
	for _, tok := range strings.Split(tag, ",") {
		switch tok {
		case "keys", "endkeys", "structonly", "nostructlevel":
			return false
		}
		for _, alt := range strings.Split(tok, "|") {
			name, _, _ := strings.Cut(alt, "=")
			if expanded, ok := p.cfg.alias(name); ok {
				if !p.plain(expanded, depth+1) || slicesContains(strings.Split(expanded, ","), "dive") {
					return false
				}
			}
		}
	}
	return true
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// presenceOnly reports whether tag checks no more than that a pointer is
// set: on a pointer that is set, the validator runs it and it passes.
func presenceOnly(tag string) bool {
	if tag == "" {
		return true
	}
	for _, tok := range strings.Split(tag, ",") {
		switch tok {
		case "required", "omitempty", "omitnil":
		default:
			return false
		}
	}
	return true
}

// parses reports whether the validator takes tag on its own, as the walk
// will give it: on a zero value of t, with a zero parent.
func (p *planner) parses(parent, t reflect.Type, tag string) (ok bool) {
	if tag == "" {
		return true
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	_ = p.v.VarWithValue(reflect.Zero(t).Interface(), reflect.Zero(parent).Interface(), tag)
	return true
}

// A walker carries one validation: the collector of its errors and the
// namespace of where it is, as the validator would write it.
type walker struct {
	ctx context.Context
	v   *validator.Validate
	c   collector
	ns  []byte
}

// report adds the errors of one validator call, whose namespaces are
// relative to x.ns once their first strip bytes are cut. It reports false
// once the errorList is full.
func (x *walker) report(err error, strip int) bool {
	return err == nil || x.c.report(err, string(x.ns), strip)
}

// run validates the struct sv, which is addressable; x.ns is its namespace
// with its final dot. It reports false once the errorList is full.
func (w *structWalk) run(x *walker, sv reflect.Value) bool {
	var parent any // sv, for the tags that look at sibling fields
	for i := range w.steps {
		s := &w.steps[i]
		if s.filter != nil {
			if !x.report(x.v.StructFilteredCtx(x.ctx, sv.Addr().Interface(), s.filter), w.strip) {
				return false
			}
			continue
		}
		fv := sv.Field(s.index)
		mark := len(x.ns)
		x.ns = append(x.ns, s.name...)
		ok := true
		switch {
		case s.coll != nil:
			if parent == nil {
				parent = sv.Interface()
			}
			ok = s.coll.run(x, fv, parent)
		case s.ptr && fv.IsNil():
			if s.tags != "" {
				if parent == nil {
					parent = sv.Interface()
				}
				ok = x.report(x.v.VarWithValueCtx(x.ctx, fv.Interface(), parent, s.tags), 0)
			}
		default:
			x.ns = append(x.ns, '.')
			ok = s.nested.run(x, reflect.Indirect(fv))
		}
		x.ns = x.ns[:mark]
		if !ok {
			return false
		}
	}
	return true
}

// run validates the collection cv, a field of parent or an item of one;
// x.ns is its namespace. It reports false once the errorList is full.
func (c *collWalk) run(x *walker, cv reflect.Value, parent any) bool {
	if c.pre != "" {
		// The validator dives only when every tag before dive passed.
		if err := x.v.VarWithValueCtx(x.ctx, cv.Interface(), parent, c.pre); err != nil {
			return x.report(err, 0)
		}
	}
	if c.item == itemNone {
		return true
	}
	mark := len(x.ns)
	defer func() { x.ns = x.ns[:mark] }()
	if c.isMap {
		for it := cv.MapRange(); it.Next(); {
			x.ns = fmt.Appendf(append(x.ns[:mark], '['), "%v", it.Key())
			x.ns = append(x.ns, ']')
			if !c.one(x, it.Value(), parent) {
				return false
			}
		}
		return true
	}
	for i := range cv.Len() {
		x.ns = append(strconv.AppendInt(append(x.ns[:mark], '['), int64(i), 10), ']')
		if !c.one(x, cv.Index(i), parent) {
			return false
		}
	}
	return true
}

// one validates the item iv, whose namespace is x.ns.
func (c *collWalk) one(x *walker, iv reflect.Value, parent any) bool {
	switch c.item {
	case itemVar:
		return x.report(x.v.VarWithValueCtx(x.ctx, iv.Interface(), parent, c.post), 0)
	case itemColl:
		return c.inner.run(x, iv, parent)
	}
	if c.ptr {
		if iv.IsNil() {
			return c.post == "" || x.report(x.v.VarWithValueCtx(x.ctx, iv.Interface(), parent, c.post), 0)
		}
		iv = iv.Elem()
	}
	if !iv.CanAddr() { // a map's value
		cp := reflect.New(iv.Type()).Elem()
		cp.Set(iv)
		iv = cp
	}
	x.ns = append(x.ns, '.')
	if c.walk != nil {
		return c.walk.run(x, iv)
	}
	// Given a struct, Var validates its fields and struct-level rules with
	// parent as their parent, as a dive does; its tag ("omitnil", which
	// passes on anything set) is not run on a struct.
	return x.report(x.v.VarWithValueCtx(x.ctx, iv.Addr().Interface(), parent, "omitnil"), c.strip)
}
