package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Printable returns s with everything that could act on a terminal escaped:
// control bytes (`\r`, `\x1b`), C1 controls, invalid UTF-8 (`\xff`), and
// Unicode format characters such as bidirectional overrides (`\u202e`).
// A backslash is doubled, so the escaped form is unambiguous.
func Printable(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
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

// appendJSONString appends s to b as a JSON string, spelled as encoding/json
// spells it without HTML escaping — `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
// other control bytes as `\u00XX`, invalid UTF-8 as `\ufffd`, U+2028 and
// U+2029 as `\u2028` and `\u2029` — and with what a terminal may act on or
// hide escaped too: DEL, C1 controls and Unicode format characters such as
// bidirectional overrides (`\u202e`). The value is the same; only its
// spelling changes.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0 // s[start:i] is still to be copied as it is
	for i := 0; i < len(s); {
		c := s[i]
		if ' ' <= c && c < 0x7f && c != '"' && c != '\\' {
			i++
			continue
		}
		r, n := rune(c), 1
		if c >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(s[i:])
			if n > 1 && r > 0x9f && r != '\u2028' && r != '\u2029' && !unicode.Is(unicode.Cf, r) {
				i += n
				continue
			}
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			if n == 1 && c >= utf8.RuneSelf {
				b = append(b, `\ufffd`...) // invalid UTF-8
			} else {
				b = appendUnicodeEscape(b, r)
			}
		}
		i += n
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendUnicodeEscape appends r as JSON's `\u` and four lower-case hex
// digits; a rune past U+FFFF (such as the tags U+E0020-U+E007F of flag
// emoji) as its UTF-16 surrogate pair.
func appendUnicodeEscape(b []byte, r rune) []byte {
	if r > 0xffff {
		hi, lo := utf16.EncodeRune(r)
		return appendUnicodeEscape(appendUnicodeEscape(b, hi), lo)
	}
	b = append(b, '\\', 'u')
	for d := rune(0x1000); d > 1 && r < d; d >>= 4 {
		b = append(b, '0')
	}
	return strconv.AppendUint(b, uint64(r), 16)
}
