package jsonschema

import (
	"strings"
)

// rule is one element of a validate tag, as validator parses it.
type rule struct {
	name  string
	param string
	or    []rule // for name "|": the alternatives of a "a|b" group
	keys  []rule // for name "keys": the rules of the map keys
}

// parseRules splits a validate tag into its rules: comma-separated, "|"
// between alternatives, "keys" up to "endkeys" for map keys. 0x2C and 0x7C
// in a parameter stand for "," and "|", as in validator.
func parseRules(tag string) []rule {
	if tag == "" {
		return nil
	}
	parts := strings.Split(tag, ",")
	var out []rule
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		if p == "keys" {
			j := i + 1
			for j < len(parts) && parts[j] != "endkeys" {
				j++
			}
			out = append(out, rule{name: "keys", keys: parseRules(strings.Join(parts[i+1:min(j, len(parts))], ","))})
			i = j
			continue
		}
		alts := strings.Split(p, "|")
		if len(alts) == 1 {
			out = append(out, one(p))
			continue
		}
		r := rule{name: "|"}
		for _, a := range alts {
			r.or = append(r.or, one(a))
		}
		out = append(out, r)
	}
	return out
}

func one(s string) rule {
	name, param, _ := strings.Cut(s, "=")
	param = strings.ReplaceAll(strings.ReplaceAll(param, "0x2C", ","), "0x7C", "|")
	return rule{name: name, param: param}
}

// omits reports whether r skips the rest of the chain for an empty value.
func (r rule) omits() bool {
	switch r.name {
	case "omitempty", "omitzero", "omitnil":
		return true
	}
	return false
}

// nilPasses reports whether a nil pointer passes chain: it does when the
// chain is empty or starts with a rule that skips nil, and fails on any
// other first rule, as validator does for a nil pointer or interface.
func nilPasses(chain []rule) bool {
	return len(chain) == 0 || chain[0].omits() || chain[0].name == "isdefault"
}
