package report

import (
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
