package chatapp

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/cafeto-go/ws"
)

// maxName is the longest name, in characters (code points), once
// normalised.
const maxName = 24

// A name is normalised, then checked, with package unicode only: the root
// module takes no dependency beyond its two, so golang.org/x/text's NFKC
// is not at hand. The rule is strict instead (docs/demo.md says what it
// leaves out):
//
//   - fullwidth ASCII (U+FF01–U+FF5E) becomes ASCII and U+3000 a space;
//     every white space becomes one space, runs of them one, none at
//     either end;
//   - allowed: letters, combining marks, the digits 0–9, space and - _ . '
//     (and ー, the Japanese long vowel mark); anything else is refused:
//     format and control characters (U+200B, U+200D, U+202E, …), the
//     other default-ignorable code points (Hangul fillers, variation
//     selectors), U+2800, symbols, emoji, private use, other digits,
//     letters of no script (mathematical letters), and the compatibility
//     blocks NFKC would rewrite (ligatures, letterlike symbols,
//     halfwidth forms, conjoining Hangul jamo);
//   - a combining mark needs a letter before it, at most 2 on one letter,
//     and none on a Latin, Greek or Cyrillic letter: those are typed
//     precomposed (é, not e and U+0301), so that two names that look the
//     same are the same;
//   - the letters are of one script, except Han with Hiragana and
//     Katakana (Japanese), with Hangul (Korean) or with Bopomofo;
//   - 1 to 24 characters, at least one of them a letter or a digit.
//
// Two names are one when their normal forms are equal after simple case
// folding (each character taken to the smallest of its case-folding
// orbit: "Ana", "ANA", "ａｎａ" and "Ana " are one name).

// normalName returns the name as the room shows it and the key that two
// names that may not both be taken share, or why name is refused: the
// errorList entry at loc.
func normalName(name, loc string) (display, key string, refused *ws.ErrorDetail) {
	refuse := func(typ, msg string) (string, string, *ws.ErrorDetail) {
		return "", "", &ws.ErrorDetail{Loc: []any{loc}, Type: typ, Msg: msg}
	}
	var out []rune
	var scripts []string
	marks, base := 0, "" // marks on the last letter, and its script; "" after anything else
	visible := false     // a letter or a digit
	for _, r := range name {
		switch {
		case 0xff01 <= r && r <= 0xff5e:
			r -= 0xfee0
		case r == 0x3000:
			r = ' '
		}
		switch {
		case unicode.IsSpace(r):
			if len(out) > 0 && out[len(out)-1] != ' ' {
				out = append(out, ' ')
			}
			base = ""
			continue
		case invisible(r):
			return refuse("name_invisible", fmt.Sprintf("Name should not hold invisible or control characters: %U", r))
		case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc):
			if base == "" {
				return refuse("name_mark", fmt.Sprintf("Name should not hold a combining mark (%U) that is not on a letter", r))
			}
			if base == "Latin" || base == "Greek" || base == "Cyrillic" {
				return refuse("name_mark", fmt.Sprintf("Name should use precomposed letters: %U on a %s letter", r, base))
			}
			if marks++; marks > 2 {
				return refuse("name_mark", "Name should have at most 2 combining marks on a letter")
			}
		case '0' <= r && r <= '9':
			visible, base = true, ""
		case r == 0x30fc || unicode.IsLetter(r) && !compatibility(r):
			s := script(r)
			if s == "" {
				return refuse("name_character", fmt.Sprintf("Name should not hold %U, a letter of no script", r))
			}
			if !contains(scripts, s) {
				scripts = append(scripts, s)
			}
			visible, base, marks = true, s, 0
		case strings.ContainsRune("-_.'", r):
			base = ""
		default:
			return refuse("name_character", fmt.Sprintf("Name may hold letters, the digits 0-9, spaces and - _ . ' only, not %U", r))
		}
		out = append(out, r)
	}
	if len(out) > 0 && out[len(out)-1] == ' ' {
		out = out[:len(out)-1]
	}
	switch {
	case !visible:
		return refuse("name_blank", "Name should hold a letter or a digit")
	case len(out) > maxName:
		return refuse("string_too_long", fmt.Sprintf("String should have at most %d characters", maxName))
	case !oneScript(scripts):
		return refuse("name_mixed_scripts", "Name should be written in one script, not "+strings.Join(scripts, " and "))
	}
	folded := make([]rune, len(out))
	for i, r := range out {
		folded[i] = fold(r)
	}
	return string(out), string(folded), nil
}

// invisible reports whether r shows nothing, or may change how the text
// around it shows: a control or format character (Cc, Cf: U+200B, U+200D,
// U+202E, U+2066, U+FEFF, …), another default-ignorable code point (U+115F,
// U+3164, U+FFA0, U+034F, …), a variation selector, the braille blank
// U+2800, private use, a surrogate or U+FFFD.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		r == 0x2800 || r == unicode.ReplacementChar
}

// compatibility reports whether r is in a block NFKC rewrites and the
// rule refuses whole: letterlike symbols (ℌ, ℓ; K and Å fold), ligatures
// and presentation forms, halfwidth forms, conjoining Hangul jamo (a
// name uses the precomposed syllables) and modifier letters of the
// Latin, Greek and Cyrillic scripts (ᵃ, ª).
func compatibility(r rune) bool {
	switch {
	case r == 0x212a || r == 0x212b: // Kelvin and Ångström signs: folded
		return false
	case 0x2100 <= r && r <= 0x214f, 0xfb00 <= r && r <= 0xfdff, 0xfe70 <= r && r <= 0xfeff,
		0xff00 <= r && r <= 0xffef, 0x1100 <= r && r <= 0x11ff, 0xa960 <= r && r <= 0xa97f,
		0xd7b0 <= r && r <= 0xd7ff:
		return true
	}
	return unicode.Is(unicode.Lm, r) && unicode.In(r, unicode.Latin, unicode.Greek, unicode.Cyrillic)
}

// scriptOrder lists the scripts looked at first; the others follow.
var scriptOrder = []string{"Latin", "Cyrillic", "Greek", "Han", "Hiragana", "Katakana", "Hangul", "Arabic", "Hebrew", "Devanagari", "Thai"}

// script returns the name of r's script, "" for Common and Inherited.
func script(r rune) string {
	if r == 0x30fc { // ー: Common, but Japanese
		return "Katakana"
	}
	for _, s := range scriptOrder {
		if unicode.Is(unicode.Scripts[s], r) {
			return s
		}
	}
	for s, t := range unicode.Scripts {
		if s != "Common" && s != "Inherited" && unicode.Is(t, r) {
			return s
		}
	}
	return ""
}

// oneScript reports whether the letters' scripts may go together.
func oneScript(scripts []string) bool {
	if len(scripts) <= 1 {
		return true
	}
	for _, group := range [][]string{{"Han", "Hiragana", "Katakana"}, {"Han", "Hangul"}, {"Han", "Bopomofo"}} {
		all := true
		for _, s := range scripts {
			all = all && contains(group, s)
		}
		if all {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fold returns the smallest character of r's simple case-folding orbit:
// A for a and A, K for k, K and the Kelvin sign, S for s and ſ.
func fold(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}
