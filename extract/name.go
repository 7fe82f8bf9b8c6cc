// Package extract writes what a capture carried to disk: messages and
// attachments as files in one folder, and messages appended to an mbox.
// Everything named by the capture is attacker-controlled, so names are made
// safe before they touch the file system and files never land outside the
// folder.
package extract

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// SafeName turns text from a capture into one safe file-name component of at
// most max bytes (valid UTF-8, cut on a rune boundary): path separators (/ and
// \), NUL and every control character (C0, DEL, C1), Unicode format characters
// (bidi overrides etc.) and characters invalid in Windows names (<>:"|?*)
// become '_'; runs of '_' and spaces collapse; leading and trailing dots and
// spaces are removed (so "." and ".." can never come out); Windows reserved
// device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, also with an extension
// like "con.txt", any case) get a '_' prefix; an empty result becomes
// "unnamed".
//
// Also replaced by '_': invalid UTF-8, line and paragraph separators, and
// every other rune that is not printable (unassigned, private use); other
// Unicode spaces (such as U+00A0) count as spaces. A run of spaces collapses
// to one space, a run of spaces and '_' holding at least one '_' to one '_'.
// COM0, LPT0, COM¹²³, LPT¹²³, CONIN$ and CONOUT$, which Windows reserves
// too, are prefixed like the others. A max below 1 counts as 1.
func SafeName(s string, max int) string {
	if max < 1 {
		max = 1
	}
	name := cutTrim(clean(s), max)
	if name == "" {
		return cutTrim("unnamed", max)
	}
	if reserved(name) {
		name = cutTrim("_"+name, max)
	}
	return name
}

// clean replaces what may not appear in a name, collapses runs of spaces and
// '_', and trims dots and spaces from both ends. Its result may be empty.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	run := 0       // length of the current run of spaces and '_'
	under := false // the current run holds a '_'
	flush := func() {
		if run > 0 {
			if under {
				b.WriteByte('_')
			} else {
				b.WriteByte(' ')
			}
		}
		run, under = 0, false
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == ' ' || unicode.Is(unicode.Zs, r):
			run++
		case r == '_', r == utf8.RuneError && size == 1, forbidden(r):
			run++
			under = true
		default:
			flush()
			b.WriteRune(r)
		}
	}
	flush()
	return strings.Trim(b.String(), ". ")
}

// forbidden reports whether r may not appear in a name.
func forbidden(r rune) bool {
	switch r {
	case '/', '\\', '<', '>', ':', '"', '|', '?', '*':
		return true
	}
	// unicode.IsPrint is false for C0, DEL, C1, format characters (Cf),
	// line and paragraph separators, private use and unassigned runes, and
	// for spaces other than U+0020.
	return !unicode.IsPrint(r)
}

// cutTrim cuts s to at most max bytes on a rune boundary and removes the
// trailing dots and spaces the cut may have exposed.
func cutTrim(s string, max int) string {
	if len(s) > max {
		n := max
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return strings.TrimRight(s, ". ")
}

// reserved reports whether Windows takes name for a device: the part before
// the first dot, without trailing spaces, is a device name in any case.
func reserved(name string) bool {
	base, _, _ := strings.Cut(name, ".")
	base = strings.TrimRight(base, " ")
	if len(base) < 3 || len(base) > 7 {
		return false
	}
	up := asciiUpper(base)
	switch up {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(up) < 4 || up[:3] != "COM" && up[:3] != "LPT" {
		return false
	}
	switch suffix := up[3:]; suffix {
	case "¹", "²", "³":
		return true
	default:
		return len(suffix) == 1 && suffix[0] >= '0' && suffix[0] <= '9'
	}
}

// asciiUpper upper-cases ASCII letters only, as Windows compares device names.
func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
