package jsonschema

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/go-playground/validator/v10"
)

// Mode says which side of the wire a root type is on.
type Mode uint8

const (
	// Input describes a message the server decodes with encoding/json and,
	// when the type is a struct or a pointer to one, validates with
	// validator: what a message must be to be accepted.
	Input Mode = iota
	// Output describes a value the server encodes with encoding/json:
	// what a client receives. Validate tags play no part.
	Output
)

// Root is one type to describe.
type Root struct {
	Type reflect.Type
	Mode Mode

	// Validator, when set, replaces the Options' validator for this root
	// (an Input root: validating is what it is for).
	Validator *validator.Validate
}

// Options configure [Generate]. The zero Options are ready to use.
type Options struct {
	// RefPrefix is put before a definition's name in $ref, such as
	// "#/components/schemas/". The default is "#/definitions/".
	RefPrefix string

	// Validator is the validator whose verdicts the schemas mirror: it
	// decides which properties are required (by validating zero values) and
	// knows the custom tags. The default is
	// validator.New(validator.WithRequiredStructEnabled()).
	Validator *validator.Validate

	// NameStructs makes every named struct type a definition, also one
	// used once, which is otherwise written in place: code generators then
	// name its type after the Go type.
	NameStructs bool
}

// Result holds the schemas of the roots, in order, and the definitions
// their $refs point to.
type Result struct {
	Schemas     []*Schema
	Definitions map[string]*Schema
}

// mode is the internal mode of a sub-schema.
type mode uint8

const (
	modeCheck mode = iota // decoded and validated
	modeShape             // decoded, not validated (no dive, validate:"-")
	modeOut               // encoded
)

type key struct {
	t reflect.Type
	m mode
	v *validator.Validate // modeCheck only: whose verdicts
}

// def is a named type that may become a definition.
type def struct {
	key       key
	body      *Schema
	uses      int
	root      bool
	recursive bool
	building  bool
	class     *class
}

// class groups the definitions of one type whose schemas are the same.
type class struct {
	t       reflect.Type
	members []*def
	name    string
	inline  bool
	done    bool // body resolved
}

type gen struct {
	prefix    string
	allNamed  bool                // Options.NameStructs
	v         *validator.Validate // the validator of the root being described
	defs      map[key]*def
	order     []*def
	zeros     map[zeroKey]zeroFailures
	recursing map[key]bool // named slices, maps and arrays being built inline
	recursive map[key]bool // named slices, maps and arrays found recursive
}

var defaultValidator = sync.OnceValue(func() *validator.Validate {
	return validator.New(validator.WithRequiredStructEnabled())
})

// Generate describes the root types with JSON Schema. A named struct type
// that is a root, or is used in more than one place, or is recursive (or
// any, with NameStructs), is described once in the result's Definitions
// and referenced with $ref; other types are written in place. Definitions are named after their Go
// type, qualified with the package name only when two types share a name,
// and suffixed -Input, -Output or -Unvalidated when one type needs
// different schemas for different uses (see the package documentation).
//
// Generate is safe for concurrent use when the Options' validator is not
// being changed.
func Generate(opts Options, roots ...Root) *Result {
	g := &gen{
		prefix:    opts.RefPrefix,
		allNamed:  opts.NameStructs,
		v:         opts.Validator,
		defs:      map[key]*def{},
		zeros:     map[zeroKey]zeroFailures{},
		recursing: map[key]bool{},
		recursive: map[key]bool{},
	}
	if g.prefix == "" {
		g.prefix = "#/definitions/"
	}
	if opts.Validator == nil {
		opts.Validator = defaultValidator()
	}
	res := &Result{Definitions: map[string]*Schema{}}
	for _, r := range roots {
		if r.Type == nil {
			panic("jsonschema: Generate needs a type")
		}
		g.v = opts.Validator
		if r.Validator != nil {
			g.v = r.Validator
		}
		res.Schemas = append(res.Schemas, g.root(r))
	}
	g.finish(res)
	return res
}

func (g *gen) root(r Root) *Schema {
	t := r.Type
	if r.Mode == Output {
		return g.markRoot(g.typeSchema(t, modeOut))
	}
	// The server validates a struct or a pointer to one, and refuses null
	// for them; anything else is only decoded.
	if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && !g.isSpecial(t.Elem()) {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct && !g.isSpecial(t) {
		return g.markRoot(g.typeSchema(t, modeCheck))
	}
	return g.markRoot(g.typeSchema(t, modeShape))
}

func (g *gen) markRoot(s *Schema) *Schema {
	if s.def != nil && s.def.key.t.Kind() == reflect.Struct {
		s.def.root = true
	}
	return s
}

// placeholder returns a reference to the definition of the named type t
// in mode m, building it on first use.
func (g *gen) placeholder(t reflect.Type, m mode) *Schema {
	k := g.key(t, m)
	d := g.defs[k]
	if d == nil {
		d = &def{key: k, building: true}
		g.defs[k] = d
		g.order = append(g.order, d)
		if t.Kind() == reflect.Struct {
			d.body = g.structBody(t, m)
		} else {
			d.body = g.containerSchema(t, m)
		}
		d.building = false
	} else if d.building {
		d.recursive = true
	}
	d.uses++
	return &Schema{def: d}
}

// named returns the schema of a named slice, map or array type: written in
// place unless it is recursive, which needs a definition.
func (g *gen) named(t reflect.Type, m mode) *Schema {
	k := g.key(t, m)
	if g.recursive[k] {
		return g.placeholder(t, m)
	}
	if g.recursing[k] {
		g.recursive[k] = true
		return g.placeholder(t, m)
	}
	g.recursing[k] = true
	s := g.containerSchema(t, m)
	delete(g.recursing, k)
	if g.recursive[k] {
		return g.placeholder(t, m)
	}
	return s
}

func (g *gen) key(t reflect.Type, m mode) key {
	if m == modeCheck {
		return key{t, m, g.v}
	}
	return key{t: t, m: m}
}

// finish groups the definitions into classes of equal schemas, decides
// which are written in place, names the others and resolves every
// reference.
func (g *gen) finish(res *Result) {
	classes := g.classify()
	for _, c := range classes {
		uses, root, recursive := 0, false, false
		for _, d := range c.members {
			uses += d.uses
			root = root || d.root
			recursive = recursive || d.recursive
		}
		c.inline = !recursive && !(c.t.Kind() == reflect.Struct && (uses > 1 || root || g.allNamed))
	}
	g.name(classes)
	seen := map[*Schema]bool{}
	for _, s := range res.Schemas {
		g.resolve(s, seen)
	}
	for _, c := range classes {
		if !c.inline {
			res.Definitions[c.name] = g.body(c, seen)
		}
	}
}

// classify partitions the definitions: two definitions of one type share a
// class when their schemas, with references replaced by classes, are the
// same. It refines the partition until it is stable.
func (g *gen) classify() []*class {
	id := make(map[*def]int, len(g.order))
	byType := map[reflect.Type]int{}
	for _, d := range g.order {
		if _, ok := byType[d.key.t]; !ok {
			byType[d.key.t] = len(byType)
		}
		id[d] = byType[d.key.t]
	}
	n := len(byType)
	for {
		sigs := map[string]int{}
		next := make(map[*def]int, len(id))
		for _, d := range g.order {
			var b bytes.Buffer
			_ = d.body.encode(&b, func(r *def) string { return strconv.Itoa(id[r]) })
			sig := strconv.Itoa(id[d]) + " " + b.String()
			if _, ok := sigs[sig]; !ok {
				sigs[sig] = len(sigs)
			}
			next[d] = sigs[sig]
		}
		id = next
		if len(sigs) == n {
			break
		}
		n = len(sigs)
	}
	var classes []*class
	byID := map[int]*class{}
	for _, d := range g.order {
		c := byID[id[d]]
		if c == nil {
			c = &class{t: d.key.t}
			byID[id[d]] = c
			classes = append(classes, c)
		}
		c.members = append(c.members, d)
		d.class = c
	}
	return classes
}

// name gives each class written as a definition a unique name.
func (g *gen) name(classes []*class) {
	perType := map[reflect.Type][]*class{}
	for _, c := range classes {
		if !c.inline {
			perType[c.t] = append(perType[c.t], c)
		}
	}
	// Types whose base names clash are qualified with their package.
	byBase := map[string][]reflect.Type{}
	for t := range perType {
		b := baseName(t)
		if !slices.Contains(byBase[b], t) {
			byBase[b] = append(byBase[b], t)
		}
	}
	typeName := map[reflect.Type]string{}
	taken := map[string]bool{}
	for b, ts := range byBase {
		if len(ts) == 1 {
			typeName[ts[0]] = b
			taken[b] = true
		}
	}
	for _, b := range sortedKeys(byBase) {
		ts := byBase[b]
		if len(ts) == 1 {
			continue
		}
		slices.SortFunc(ts, func(x, y reflect.Type) int { return strings.Compare(x.PkgPath(), y.PkgPath()) })
		for _, t := range ts {
			n := sanitize(path.Base(t.PkgPath())) + "." + b
			if taken[n] {
				n = sanitize(strings.ReplaceAll(t.PkgPath(), "/", ".")) + "." + b
			}
			for i := 2; taken[n]; i++ {
				n = fmt.Sprintf("%s.%s_%d", sanitize(path.Base(t.PkgPath())), b, i)
			}
			typeName[t] = n
			taken[n] = true
		}
	}
	for t, cs := range perType {
		if len(cs) == 1 {
			cs[0].name = typeName[t]
			continue
		}
		for _, c := range cs {
			c.name = typeName[t] + "-" + c.suffix()
		}
		// Two classes with the same suffix: number them in order.
		counts := map[string]int{}
		for _, c := range cs {
			counts[c.name]++
			if n := counts[c.name]; n > 1 {
				c.name += strconv.Itoa(n)
			}
		}
	}
}

func (c *class) suffix() string {
	var check, out bool
	for _, d := range c.members {
		check = check || d.key.m == modeCheck
		out = out || d.key.m == modeOut
	}
	switch {
	case check:
		return "Input"
	case out:
		return "Output"
	}
	return "Unvalidated"
}

// baseName is the name of t as a definition: its Go name, with the type
// arguments of a generic type written after underscores.
func baseName(t reflect.Type) string {
	name := t.Name()
	i := strings.IndexByte(name, '[')
	if i < 0 {
		return sanitize(name)
	}
	args := splitArgs(name[i+1 : len(name)-1])
	parts := []string{name[:i]}
	for _, a := range args {
		a = a[strings.LastIndexByte(a, '/')+1:]
		if j := strings.IndexByte(a, '['); j >= 0 {
			a = a[:j]
		}
		a = a[strings.LastIndexByte(a, '.')+1:]
		parts = append(parts, a)
	}
	return sanitize(strings.Join(parts, "_"))
}

func splitArgs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// sanitize keeps the characters AsyncAPI allows in a component name.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// body returns the resolved schema of a class.
func (g *gen) body(c *class, seen map[*Schema]bool) *Schema {
	b := c.members[0].body
	if !c.done {
		c.done = true
		g.resolve(b, seen)
	}
	return b
}

// resolve replaces, in s and below, each reference to a definition by a
// $ref or, for a class written in place, by its schema.
func (g *gen) resolve(s *Schema, seen map[*Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.def != nil {
		c := s.def.class
		if c.inline {
			*s = *g.body(c, seen)
		} else {
			*s = Schema{Ref: g.prefix + c.name}
		}
		return
	}
	for _, sub := range []*Schema{s.Items, s.PropertyNames, s.AdditionalProperties, s.Not, s.If, s.Then} {
		g.resolve(sub, seen)
	}
	for _, p := range s.Properties {
		g.resolve(p.Schema, seen)
	}
	for _, l := range [][]*Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for _, sub := range l {
			g.resolve(sub, seen)
		}
	}
}

// zeroFailures lists where validating the zero value of a struct type
// fails, as validator's struct namespaces without the type's name.
type zeroFailures struct {
	paths   []string
	unknown []string // fields the validator could not check (a tag it does not know)
}

type zeroKey struct {
	t reflect.Type
	v *validator.Validate
}

func (g *gen) zeroFails(t reflect.Type) zeroFailures {
	zk := zeroKey{t, g.v}
	if z, ok := g.zeros[zk]; ok {
		return z
	}
	z, ok := g.validateZero(t, t.Name())
	if !ok {
		// Check the fields one by one, so that a tag the validator does
		// not know leaves only its own field unknown.
		z = zeroFailures{}
		for i := range t.NumField() {
			sf := t.Field(i)
			if !sf.IsExported() && !sf.Anonymous {
				continue
			}
			one := reflect.StructOf([]reflect.StructField{{Name: "F", Type: sf.Type, Tag: sf.Tag}})
			fz, ok := g.validateZero(one, "")
			if !ok {
				z.unknown = append(z.unknown, sf.Name)
				continue
			}
			for _, p := range fz.paths {
				z.paths = append(z.paths, sf.Name+strings.TrimPrefix(p, "F"))
			}
		}
	}
	g.zeros[zk] = z
	return z
}

// validateZero validates the zero value of t, a struct type whose
// validator namespace starts with name.
func (g *gen) validateZero(t reflect.Type, name string) (z zeroFailures, ok bool) {
	defer func() {
		if recover() != nil {
			z, ok = zeroFailures{}, false
		}
	}()
	err := g.v.Struct(reflect.New(t).Interface())
	if err == nil {
		return z, true
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return z, false
	}
	for _, fe := range verrs {
		ns := fe.StructNamespace()
		if name != "" {
			ns = strings.TrimPrefix(ns, name+".")
		}
		z.paths = append(z.paths, ns)
	}
	return z, true
}

// fails reports whether the field at the dotted Go path p, or something
// inside it, fails; known is false when the validator could not tell.
func (z zeroFailures) fails(p string) (fails, known bool) {
	for _, u := range z.unknown {
		if under(p, u) {
			return false, false
		}
	}
	for _, f := range z.paths {
		if under(f, p) {
			return true, true
		}
	}
	return false, true
}

// under reports whether the namespace p is prefix or inside it.
func under(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+".") || strings.HasPrefix(p, prefix+"[")
}
