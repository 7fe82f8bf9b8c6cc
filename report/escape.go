package report

import (
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Printable returns s with everything that could act on a terminal escaped:
// control bytes (`\r`, `\x1b`), C1 controls, invalid UTF-8 (`\xff`), and
// Unicode format characters such as bidirectional overrides (`\u202e`).
// A backslash is doubled, so the escaped form is unambiguous.
func Printable(s string) string {
	if !needsEscape(s) {
		return s
	}
	return string(appendPrintable(make([]byte, 0, len(s)+8), s))
}

// needsEscape reports whether Printable would change s.
func needsEscape(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f || c == '\\' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if size == 1 || !unicode.IsPrint(r) { // invalid UTF-8, C1 control, format character
			return true
		}
		i += size
	}
	return false
}

// appendPrintable appends s to b escaped as Printable escapes it.
func appendPrintable(b []byte, s string) []byte {
	if !needsEscape(s) {
		return append(b, s...)
	}
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&0xf])
		case r == '\\':
			b = append(b, '\\', '\\')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == 0x7f:
			b = append(b, '\\', 'x', hex[r>>4], hex[r&0xf])
		case r < 0x7f:
			b = append(b, byte(r))
		case !unicode.IsPrint(r):
			b = append(b, '\\', 'u')
			for d := rune(0x1000); d > 1 && r < d; d >>= 4 { // at least four digits
				b = append(b, '0')
			}
			b = strconv.AppendUint(b, uint64(r), 16)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return b
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
