package tsgen

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestQuote: a string becomes one JavaScript string literal that is JSON,
// and holds nothing that ends a line, a script element or opens a markup
// comment.
func TestQuote(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{``, `""`},
		{`chat.send`, `"chat.send"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"1.0.0\nglobalThis.PWNED=1;//", `"1.0.0\nglobalThis.PWNED=1;//"`},
		{"a\r\u2028\u2029b", `"a\r\u2028\u2029b"`},
		{"\x00\x1f\x7f\u0085", `"\u0000\u001f\u007f\u0085"`},
		{"</script><!-- <b>&", `"<\/script>\u003c!-- <b>&"`},
		{"<\\/", `"<\\/"`},
		{"`${globalThis.PWNED=1}`", "\"`${globalThis.PWNED=1}`\""},
		{"'", `"'"`},
		{"a\u202eb\u2066c\u200fd", `"a\u202eb\u2066c\u200fd"`},
		{"é☃😀", `"é☃😀"`},
		{"\xff\xfe", `"\ufffd\ufffd"`},
	} {
		if got := quote(tt.in); got != tt.want {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
		checkLiteral(t, tt.in, quote(tt.in))
	}
}

// TestCommentLine: a string becomes the text of one line of a comment,
// which it cannot end.
func TestCommentLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{`The chat.send event.`, `The chat.send event.`},
		{"1.0.0\nglobalThis.PWNED=1;//", `1.0.0 globalThis.PWNED=1;//`},
		{"a\r\nb\rc\u2028d\u2029e\u0085f", `a b c d e f`},
		{"ends */ here", `ends *\/ here`},
		{"**/", `**\/`},
		{"</script> <!-- <b>", `<\/script> <\!-- <b>`},
		{"tab\tnul\x00esc\x1bdel\x7fc1\u0090", `tab` + "\t" + `nul\u0000esc\u001bdel\u007fc1\u0090`},
		{"a\u202eb\u2067c", `a\u202eb\u2067c`},
		{"`${x}` 'q' \"q\"", "`${x}` 'q' \"q\""},
		{"\xff", "\ufffd"},
	} {
		if got := commentLine(tt.in); got != tt.want {
			t.Errorf("commentLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
		checkCommentLine(t, tt.in, commentLine(tt.in))
	}
}

// TestWriteDoc: a JSDoc comment has a line per line of its text, and ends
// where it is meant to.
func TestWriteDoc(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"One line.", "  /** One line. */\n"},
		{"a */ b", "  /** a *\\/ b */\n"},
		{"Two\u2028lines */", "  /**\n   * Two\n   * lines *\\/\n   */\n"},
		{"x\r\n\ny", "  /**\n   * x\n   *\n   * y\n   */\n"},
	} {
		var b strings.Builder
		writeDoc(&b, "  ", tt.in)
		if got := b.String(); got != tt.want {
			t.Errorf("writeDoc(%q) = %q, want %q", tt.in, got, tt.want)
		}
		checkDoc(t, tt.in, b.String())
	}
}

// TestNameRules: the names the generator makes from keys are identifiers,
// with a "_" after a keyword; property names are quoted unless they are
// identifiers.
func TestNameRules(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ key, typ, channel string }{
		{"chat.Message", "chatMessage", "ChatMessage"},
		{"delete", "delete_", "Delete"},
		{"enum", "enum_", "Enum"},
		{"let", "let_", "Let"},
		{"constructor", "constructor", "Constructor"},
		{"9lives", "T9lives", "Channel9lives"},
		{"", "Schema", "Channel"},
		{"\n*/</script>", "Script", "Script"},
		{"${x}`", "$X", "X"},
		{"é", "Schema", "Channel"},
	} {
		if got := typeName(tt.key); got != tt.typ {
			t.Errorf("typeName(%q) = %q, want %q", tt.key, got, tt.typ)
		}
		if got := pascal(tt.key); got != tt.channel {
			t.Errorf("pascal(%q) = %q, want %q", tt.key, got, tt.channel)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"message", "message"},
		{"delete", "delete"}, // a property may be a keyword
		{"__proto__", "__proto__"},
		{"a b", `"a b"`},
		{"chat.send", `"chat.send"`},
		{"x\n*/", `"x\n*/"`},
		{"</script>", `"<\/script>"`},
	} {
		if got := propertyName(tt.in); got != tt.want {
			t.Errorf("propertyName(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzQuote: whatever the string, quote writes one JSON string that
// decodes to it, with no raw line terminator and nothing that ends a
// script element.
func FuzzQuote(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkLiteral(t, s, quote(s))
	})
}

// FuzzComment: whatever the string, commentLine writes one line of text
// that cannot end its comment, and writeDoc one JSDoc comment.
func FuzzComment(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkCommentLine(t, s, commentLine(s))
		var b strings.Builder
		writeDoc(&b, "", s)
		checkDoc(t, s, b.String())
	})
}

// FuzzNames: whatever the key, the names made of it are identifiers and
// not keywords.
func FuzzNames(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range []string{typeName(s), pascal(s)} {
			if !identifier.MatchString(name) || keywords[name] {
				t.Fatalf("%q gives the name %q", s, name)
			}
		}
		if p := propertyName(s); !identifier.MatchString(p) {
			checkLiteral(t, s, p)
		}
	})
}

// hostile are strings a document could hold to break out of what the
// generator writes them into.
var hostile = []string{
	"1.0.0\nglobalThis.PWNED=1;//",
	"1.0.0\u2028globalThis.PWNED=1;//",
	"1.0.0\u2029globalThis.PWNED=1;//",
	"1.0.0\rglobalThis.PWNED=1;//",
	"*/ globalThis.PWNED=1; /*",
	"</script><script>globalThis.PWNED=1</script>",
	"<!--<script>",
	"\"; globalThis.PWNED=1; \"",
	"'; globalThis.PWNED=1; '",
	"`${globalThis.PWNED=1}`",
	"\\\"",
	"\u202egnp.exe",
	"\x00\x7f\u0085",
	"delete",
	"\xff\xfe\xfd",
}

// checkLiteral fails unless lit is one JSON string that decodes to s
// (invalid UTF-8 as U+FFFD), whose text has no line terminator, no
// bidirectional control, and no "</" or "<!".
func checkLiteral(t *testing.T, s, lit string) {
	t.Helper()
	var got string
	if err := json.Unmarshal([]byte(lit), &got); err != nil {
		t.Fatalf("quote(%q) = %s: not one JSON string: %v", s, lit, err)
	}
	if want := string([]rune(s)); got != want {
		t.Fatalf("quote(%q) = %s, which decodes to %q", s, lit, got)
	}
	if !strings.HasPrefix(lit, `"`) || !strings.HasSuffix(lit, `"`) {
		t.Fatalf("quote(%q) = %s: not in double quotes", s, lit)
	}
	if i := strings.IndexFunc(lit, func(r rune) bool { return lineBreak(r) || hidden(r) }); i >= 0 {
		t.Fatalf("quote(%q) = %q holds %q", s, lit, []rune(lit[i:])[0])
	}
	if strings.Contains(lit, "</") || strings.Contains(lit, "<!") {
		t.Fatalf("quote(%q) = %s: could end a script element", s, lit)
	}
}

// checkCommentLine fails unless line is one line that cannot end a
// comment or a script element.
func checkCommentLine(t *testing.T, s, line string) {
	t.Helper()
	if i := strings.IndexFunc(line, func(r rune) bool { return lineBreak(r) || hidden(r) || r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
		t.Fatalf("commentLine(%q) = %q holds %q", s, line, []rune(line[i:])[0])
	}
	for _, bad := range []string{"*/", "</", "<!"} {
		if strings.Contains(line, bad) {
			t.Fatalf("commentLine(%q) = %q holds %q", s, line, bad)
		}
	}
}

// checkDoc fails unless doc is empty (for an empty text) or one JSDoc
// comment: "/**" first, "*/" only at its very end, and no line
// terminator but the "\n" that ends each of its lines.
func checkDoc(t *testing.T, s, doc string) {
	t.Helper()
	if s == "" {
		if doc != "" {
			t.Fatalf("writeDoc(%q) = %q, want nothing", s, doc)
		}
		return
	}
	body := strings.TrimSpace(doc)
	if !strings.HasPrefix(body, "/**") || !strings.HasSuffix(doc, "*/\n") || strings.Count(doc, "*/") != 1 {
		t.Fatalf("writeDoc(%q) = %q: not one comment", s, doc)
	}
	if i := strings.IndexFunc(strings.ReplaceAll(doc, "\n", ""), lineBreak); i >= 0 {
		t.Fatalf("writeDoc(%q) = %q holds a line terminator other than \\n", s, doc)
	}
}

// lineBreak reports whether r ends a line in JavaScript (or for U+0085,
// in some editors).
func lineBreak(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\u0085'
}
