package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// decodeHeader decodes the RFC 2047 encoded words of an unfolded header value to UTF-8. Text
// outside encoded words is kept as it is (raw 8-bit bytes included). White space between two
// encoded words is dropped, and adjacent words in one charset are converted together, so that a
// character split across them survives. An encoded word whose charset is unknown, or whose
// base64 is broken, is kept as written, with a problem.
//
// mime.WordDecoder.DecodeHeader is not used: it fails the whole value when one charset is
// unknown, and converts each word alone.
func decodeHeader(s string) (string, []string) {
	if !strings.Contains(s, "=?") {
		return s, nil
	}
	var (
		out      strings.Builder
		problems []string
		group    wordGroup // adjacent words waiting to be converted
	)
	flush := func() {
		if group.n == 0 {
			return
		}
		if text, ok := convertCharset(group.charset, group.data); ok {
			out.WriteString(text)
		} else {
			out.WriteString(group.raw.String())
			problems = appendOnce(problems, "unknown charset "+group.charset)
		}
		group.reset()
	}
	for {
		start := strings.Index(s, "=?")
		if start < 0 {
			break
		}
		w, end, ok := parseWord(s[start:])
		if !ok && end < 0 {
			break // no encoded word can follow
		}
		if !ok {
			flush()
			out.WriteString(s[:start+2])
			s = s[start+2:]
			continue
		}
		data, ok := w.decode()
		if !ok {
			flush()
			out.WriteString(s[:start+end])
			problems = appendOnce(problems, "bad encoded word "+quoteShort(s[start:start+end]))
			s = s[start+end:]
			continue
		}
		between := s[:start]
		switch {
		case group.n > 0 && isLWSP(between) && group.charset == w.charset:
			// One run of text: joined without the white space.
		case group.n > 0 && isLWSP(between):
			flush()
		default:
			flush()
			out.WriteString(between)
		}
		group.add(w.charset, data, s[start:start+end], between)
		s = s[start+end:]
	}
	flush()
	out.WriteString(s)
	return out.String(), problems
}

// wordGroup collects adjacent encoded words in one charset.
type wordGroup struct {
	n       int
	charset string
	data    []byte
	raw     strings.Builder // the words as written, with the white space between them
}

func (g *wordGroup) add(charset string, data []byte, raw, between string) {
	if g.n > 0 {
		g.raw.WriteString(between)
	}
	g.n++
	g.charset = charset
	g.data = append(g.data, data...)
	g.raw.WriteString(raw)
}

func (g *wordGroup) reset() {
	g.n = 0
	g.data = g.data[:0]
	g.raw.Reset()
}

// encodedWord is a parsed "=?charset?B?text?=".
type encodedWord struct {
	charset  string // lower-cased, without an RFC 2231 language ("utf-8*en")
	encoding byte   // 'b' or 'q'
	text     string
}

// parseWord parses the encoded word at the start of s and returns its length. When s holds no
// "?=" to end it, no later encoded word can be complete either: n is then -1, so that a value full
// of "=?" is not searched again and again.
func parseWord(s string) (w encodedWord, n int, ok bool) {
	cur := len("=?")
	q := strings.IndexByte(s[cur:], '?')
	if q <= 0 || q > 64 {
		return w, 0, false
	}
	cs := s[cur : cur+q]
	for i := 0; i < len(cs); i++ {
		if cs[i] <= ' ' || cs[i] >= 0x7f {
			return w, 0, false
		}
	}
	cur += q + 1
	if len(s) < cur+2 || s[cur+1] != '?' {
		return w, 0, false
	}
	switch s[cur] {
	case 'B', 'b':
		w.encoding = 'b'
	case 'Q', 'q':
		w.encoding = 'q'
	default:
		return w, 0, false
	}
	cur += 2
	e := strings.Index(s[cur:], "?=")
	if e < 0 {
		return w, -1, false
	}
	w.text = s[cur : cur+e]
	cs, _, _ = strings.Cut(cs, "*")
	w.charset = strings.ToLower(cs)
	return w, cur + e + 2, true
}

// decode returns the bytes of the word, not yet converted from its charset.
func (w encodedWord) decode() ([]byte, bool) {
	if w.encoding == 'q' {
		return qDecode(w.text), true
	}
	t := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, w.text)
	if b, err := base64.StdEncoding.DecodeString(t); err == nil {
		return b, true
	}
	// Missing or partial padding is common and harmless.
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(t, "=")); err == nil {
		return b, true
	}
	return nil, false
}

// qDecode decodes the Q encoding (RFC 2047 4.2): "_" is a space, "=XX" a byte; a "=" without two
// hex digits is kept.
func qDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '_':
			b = append(b, ' ')
		case '=':
			if i+2 < len(s) {
				hi, ok1 := unhex(s[i+1])
				lo, ok2 := unhex(s[i+2])
				if ok1 && ok2 {
					b = append(b, hi<<4|lo)
					i += 2
					continue
				}
			}
			b = append(b, c)
		default:
			b = append(b, c)
		}
	}
	return b
}

func isLWSP(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
		default:
			return false
		}
	}
	return true
}

// isUTF8Charset reports whether text in cs (lower-case) is taken as UTF-8: UTF-8 itself, and
// US-ASCII, whose 8-bit bytes in the wild are mostly UTF-8.
func isUTF8Charset(cs string) bool {
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

// convertCharset converts b from the charset cs (lower-case) to UTF-8, with go-message/charset
// (golang.org/x/text); invalid sequences become U+FFFD. It reports false for an unknown charset.
func convertCharset(cs string, b []byte) (string, bool) {
	if isUTF8Charset(cs) && utf8.Valid(b) {
		return string(b), true
	}
	if isUTF8Charset(cs) {
		cs = "utf-8"
	}
	r, err := charset.Reader(cs, bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return string(out), true
	}
	return string(out), true
}

// charsetQuirks mirrors the table of go-message/charset for names golang.org/x/text lacks.
var charsetQuirks = map[string]encoding.Encoding{
	"ansi_x3.110-1983": charmap.ISO8859_1,
	"x-utf_8j":         unicode.UTF8,
}

// lookupCharset returns the encoding of a charset name, looked up as go-message/charset.Reader
// does (which does not expose the encoding a streaming conversion needs), or nil.
func lookupCharset(name string) encoding.Encoding {
	name = strings.ToLower(name)
	if isUTF8Charset(name) {
		return unicode.UTF8
	}
	if enc, ok := charsetQuirks[name]; ok {
		return enc
	}
	enc, err := ianaindex.MIME.Encoding(name)
	if enc == nil {
		enc, err = ianaindex.MIME.Encoding("cs" + name)
	}
	if enc == nil {
		enc, err = htmlindex.Get(name)
	}
	if err != nil {
		return nil
	}
	return enc
}

// maxValueProblems is how many problems one header value reports.
const maxValueProblems = 8

// appendOnce appends s to list unless it is already there.
func appendOnce(list []string, s string) []string {
	if len(list) >= maxValueProblems {
		return list // a hostile value's thousand words cost one look each, not a thousand
	}
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
