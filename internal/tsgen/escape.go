package tsgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Every string of the document that reaches client.js or client.d.ts goes
// through one of the functions of this file, chosen by where it lands: a
// string literal (quote), a comment (commentLine, writeDoc) or a name
// (checkedName, propertyName). A document can come from another server
// (wsgen-ts -in https://…): its strings are hostile until escaped.

// quote returns s as a string literal of JavaScript and TypeScript that is
// also JSON: every control character and line terminator (U+2028 and
// U+2029 too) escaped, DEL, the C1 controls and the bidirectional
// controls too (see hidden), and no "</" or
// "<!" that could end a script element the code is inlined into or open a
// markup comment in it. Bytes that are not UTF-8 become U+FFFD.
func quote(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // escapes controls, quotes, backslashes, U+2028 and U+2029; a string always encodes
	lit := strings.TrimSuffix(buf.String(), "\n")
	// A "<" of the literal is never part of an escape, nor a hidden
	// character: each is written as it is, so both replace safely.
	lit = strings.NewReplacer("</", `<\/`, "<!", `\u003c!`).Replace(lit)
	if !strings.ContainsFunc(lit, hidden) {
		return lit
	}
	var b strings.Builder
	for _, r := range lit {
		if hidden(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hidden reports whether r is a character that does not show itself
// and that JSON leaves as it is: DEL, the C1 controls (U+0085 ends a line
// in some editors) and the bidirectional controls, which change how the
// text around them reads (U+061C, U+200E, U+200F, U+202A–U+202E,
// U+2066–U+2069).
func hidden(r rune) bool {
	switch {
	case r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// lineBreaks are the line terminators of JavaScript (LF, CR, U+2028,
// U+2029), CR LF first, and the next line character U+0085, which some
// editors break lines on.
var lineBreaks = regexp.MustCompile("\r\n|[\n\r\u2028\u2029\u0085]")

// commentLine returns s as the text of one line of a comment, // or /**:
// line terminators become a space, "*/" becomes "*\/", and a "<" that
// could end a script element ("</", "<!--") becomes "<\"; other control
// and bidirectional characters are written as \uXXXX.
func commentLine(s string) string {
	s = lineBreaks.ReplaceAllString(s, " ")
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			b.WriteRune(utf8.RuneError)
		case r == '*' && strings.HasPrefix(s[i:], "*/"):
			b.WriteString(`*\`)
		case r == '<' && (strings.HasPrefix(s[i:], "</") || strings.HasPrefix(s[i:], "<!")):
			b.WriteString(`<\`)
		case r < 0x20 && r != '\t', hidden(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeDoc writes a JSDoc comment, if doc says something: a line of the
// comment per line of doc, each through commentLine.
func writeDoc(b *strings.Builder, indent, doc string) {
	if doc == "" {
		return
	}
	lines := lineBreaks.Split(doc, -1)
	if len(lines) == 1 {
		b.WriteString(indent + "/** " + commentLine(doc) + " */\n")
		return
	}
	b.WriteString(indent + "/**\n")
	for _, l := range lines {
		b.WriteString(strings.TrimRight(indent+" * "+commentLine(l), " \t") + "\n")
	}
	b.WriteString(indent + " */\n")
}

// identifier is the pattern of the names the generator writes itself,
// and of property names it writes unquoted.
var identifier = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// keywords are the names that are not usable as the name of an exported
// type in a module: JavaScript's reserved words (strict mode's and a
// module's too, as the names are imported), TypeScript's predefined
// types, and the words a type declaration or a type reads as an operator.
// A name of the document that is one of them gets a "_" after it.
var keywords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		break case catch class const continue debugger default delete do else enum export extends
		false finally for function if import in instanceof new null return super switch this throw
		true try typeof var void while with
		implements interface let package private protected public static yield await
		any unknown number bigint boolean string symbol never object undefined
		as infer keyof readonly unique`) {
		keywords[w] = true
	}
}

// checkedName returns name, with a "_" after it when it is a keyword. It
// panics when name is not an identifier: the generator makes every name
// it writes out of the letters, digits, "_" and "$" of the document's
// keys, so that would be its own mistake.
func checkedName(name string) string {
	if !identifier.MatchString(name) {
		panic(fmt.Sprintf("tsgen: %q is not an identifier", name))
	}
	if keywords[name] {
		return name + "_"
	}
	return name
}

// propertyName returns name as a property name of a TypeScript object
// type: as it is when it is an identifier, else a string literal.
func propertyName(name string) string {
	if identifier.MatchString(name) {
		return name
	}
	return quote(name)
}
