package extract

import (
	"strings"
	"testing"
)

// FuzzSafeName checks SafeName's promises on any text and budget: never a
// path separator, NUL, control or format character, never "." or "..",
// never over max bytes, always valid UTF-8, never a Windows device name, and
// the same name again when passed through once more.
func FuzzSafeName(f *testing.F) {
	for _, s := range []string{
		"", ".", "..", "...", "../../etc/passwd", "/abs/path", "a\\b", "con.txt", "CON", "Lpt9.doc",
		"nul", "com¹", "con .txt", "\x1b[31mred\x1b[0m", "report\u202egnp.exe", "a\x00b", "   ",
		"a<b>c:d\"e|f?g*h", "x\xffy\xe4\xb8", "\u00a0 _ \u3000", strings.Repeat("中文", 80),
		strings.Repeat("a.", 150), "_con", "._.", "a\u0301\u0301",
	} {
		for _, max := range []int{0, 1, 3, 7, 16, 200, 255} {
			f.Add(s, max)
		}
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 1000 || max < -1000 {
			max %= 1000
		}
		name := SafeName(s, max)
		checkSafeName(t, s, max, name)
		if again := SafeName(name, max); again != name {
			t.Errorf("SafeName(%q, %d) = %q, but SafeName of that = %q", s, max, name, again)
		}
	})
}
