package chatapp

import (
	"fmt"
	"testing"
	"time"
)

// The key of a name: one for names that differ in case, width and spaces
// only, and for the letters NFKC or case folding make one.
func TestNameKey(t *testing.T) {
	for _, names := range [][]string{
		{"Ana", "ANA", "ana", " Ana ", "ａｎａ", "Ａｎａ"},
		{"Kim", "\u212aim", "kIM"}, // Kelvin sign
		{"Ångström", "\u212bngström", "åNGSTRÖM"},
		{"Ana María", "ana  maría", "ANA\u3000MARÍA"},
		{"Sasha", "ſasha"}, // long s
	} {
		_, want, refused := normalName(names[0], "user")
		if refused != nil {
			t.Fatalf("%q refused: %v", names[0], refused)
		}
		for _, n := range names[1:] {
			if _, key, refused := normalName(n, "user"); refused != nil || key != want {
				t.Errorf("%q: key %q, %v; want %q, the key of %q", n, key, refused, want, names[0])
			}
		}
	}
	_, a, _ := normalName("Ana", "user")
	_, b, _ := normalName("Anna", "user")
	if a == b {
		t.Error("Ana and Anna share a key")
	}
}

// FuzzNormalName: a name that is taken is taken in its normal form, which
// is a name of its own, with the same key; it holds no invisible
// character and at most 24 characters.
func FuzzNormalName(f *testing.F) {
	for _, s := range []string{"Ana", "Ana\u200b", "\u0410na", "ａｎａ", "  a  b  ", "\u0915\u093c\u093c", "山田ルーシー", "\u2800"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		display, key, refused := normalName(name, "user")
		if refused != nil {
			return
		}
		again, key2, refused := normalName(display, "user")
		if refused != nil || again != display || key2 != key {
			t.Fatalf("%q → %q: normal again %q %q %v", name, display, again, key2, refused)
		}
		n := 0
		for _, r := range display {
			if invisible(r) {
				t.Fatalf("%q → %q holds %U", name, display, r)
			}
			n++
		}
		if n == 0 || n > maxName {
			t.Fatalf("%q → %q: %d characters", name, display, n)
		}
	})
}

// A name left on /ws is reserved for ReserveFor, and at most maxReserved
// names are: the oldest goes first.
func TestReservations(t *testing.T) {
	at := time.Unix(0, 0)
	c := &Chat{clock: func() time.Time { return at }, reserved: make(map[string]time.Time)}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reserveLocked("ANA")
	at = at.Add(ReserveFor - time.Second)
	c.reserveLocked("BEN")
	if !c.reservedLocked("ANA") || !c.reservedLocked("BEN") {
		t.Fatal("reservations ended early")
	}
	at = at.Add(time.Second)
	if c.reservedLocked("ANA") || !c.reservedLocked("BEN") {
		t.Fatal("Ana's reservation did not end after ReserveFor")
	}
	// Reserved again: the first reservation's end does not end it.
	c.reserveLocked("BEN")
	at = at.Add(ReserveFor - time.Second)
	if !c.reservedLocked("BEN") {
		t.Fatal("Ben's second reservation ended with his first")
	}
	for i := range maxReserved + 10 {
		c.reserveLocked(fmt.Sprint("U", i))
	}
	if len(c.reserved) != maxReserved || c.reservedLocked("BEN") || c.reservedLocked("U9") || !c.reservedLocked("U10") {
		t.Fatalf("%d reservations: want %d, the oldest dropped", len(c.reserved), maxReserved)
	}
	if len(c.expiry) > maxReserved+2 {
		t.Fatalf("%d entries in the expiry queue", len(c.expiry))
	}
}
