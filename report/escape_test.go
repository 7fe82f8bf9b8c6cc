package report

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"EHLO client.example", "EHLO client.example"},
		{"a\r\nb\tc", `a\r\nb\tc`},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"\x00\x07\x7f", `\x00\x07\x7f`},
		{"back\\slash", `back\\slash`},
		{"bad \xff\xfe utf8", `bad \xff\xfe utf8`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"c1 \u009b", `c1 \u009b`},
		{"zero width \u200b", `zero width \u200b`},
		{"Grüße, 你好", "Grüße, 你好"},
		{"", ""},
	} {
		if got := Printable(c.in); got != c.want {
			t.Errorf("Printable(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzPrintable: whatever goes in, nothing that acts on a terminal comes out.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"plain", "\x1b]0;title\x07", "\r\n", "\xff", "\u202e", "\\x1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Printable(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", s)
		}
		for _, r := range out {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Fatalf("Printable(%q) holds %U", s, r)
			}
		}
		if !strings.Contains(s, "\\") && strings.Count(out, "\\") < strings.Count(s, "\\") {
			t.Fatalf("backslashes lost")
		}
	})
}

// printableFmt is Printable as it was written with fmt, kept as the
// reference the faster one is checked against.
func printableFmt(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || (r < 0x7f):
			b.WriteRune(r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// FuzzPrintableSame: Printable spells everything as printableFmt does, and
// returns its input when nothing needs escaping.
func FuzzPrintableSame(f *testing.F) {
	for _, s := range []string{"plain", "Grüße, 你好", "\x1b]0;title\x07", "\r\n\t\\", "\xff\xc3", "\u202e\u009b\u200b", "\U000e0020\U0010ffff", "\ufffd\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, want := Printable(s), printableFmt(s)
		if got != want {
			t.Fatalf("Printable(%q) = %q, want %q", s, got, want)
		}
		if needsEscape(s) != (want != s) {
			t.Fatalf("needsEscape(%q) = %v", s, needsEscape(s))
		}
	})
}
