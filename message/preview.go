package message

import (
	"bytes"
	"html"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	textunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// preview keeps the start of a text part as it streams: converted from its charset to UTF-8,
// for HTML with tags (and script, style and title contents) stripped and entities decoded, white
// space runs collapsed, at most limit runes. It stops taking input once full.
type preview struct {
	conv io.WriteCloser // charset decoder writing to text; nil for UTF-8, taken as it is
	text *previewText
}

func newPreview(charset string, isHTML bool, limit int) *preview {
	t := &previewText{limit: limit, html: isHTML}
	enc := lookupCharset(charset)
	if enc == nil || enc == textunicode.UTF8 {
		// previewText decodes UTF-8 itself (an invalid byte becomes U+FFFD, as the decoder
		// would make it), so the common case needs no transformer and its buffers.
		return &preview{text: t}
	}
	return &preview{conv: transform.NewWriter(t, enc.NewDecoder()), text: t}
}

// previewStep is how much is converted at a time, so that converting stops soon after the
// preview is full rather than at the end of a 32 KiB read.
const previewStep = 1 << 10

// Write takes decoded body bytes, still in the part's charset.
func (p *preview) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 && !p.text.full {
		k := min(len(b), previewStep)
		if p.conv != nil {
			p.conv.Write(b[:k])
		} else {
			p.text.Write(b[:k])
		}
		b = b[k:]
	}
	return n, nil
}

// finish flushes the charset decoder, and what is left of a rune cut at the end.
func (p *preview) finish() {
	if p.text.full {
		return
	}
	if p.conv != nil {
		p.conv.Close()
	}
	p.text.finish()
}

func (p *preview) String() string {
	if p == nil {
		return ""
	}
	return p.text.b.String()
}

// previewText collects UTF-8 text (in pieces cut anywhere) into a collapsed, bounded preview.
type previewText struct {
	limit   int
	html    bool
	b       strings.Builder
	n       int // runes in b
	space   bool
	full    bool
	partial []byte // the start of a rune cut by the previous Write

	// HTML stripping.
	state   int
	name    []byte // tag name so far, or entity name
	skipTag string // inside <script>, <style> or <title> until its end tag
	dashes  int    // '-' seen in a row inside a comment
}

const (
	htmlText = iota
	htmlTag
	htmlTagName
	htmlComment
	htmlEntity
)

func (t *previewText) Write(b []byte) (int, error) {
	n := len(b)
	// A rune cut by the previous Write: completed with the first bytes of b. When the bytes held
	// turn out not to start a rune, the first is U+FFFD and the others are taken again, as
	// they would have been in one piece.
	for len(t.partial) > 0 && len(b) > 0 && !t.full {
		var buf [utf8.UTFMax]byte
		k := copy(buf[:], t.partial)
		k += copy(buf[k:], b)
		if !utf8.FullRune(buf[:k]) {
			t.partial = append(t.partial, b...)
			return n, nil
		}
		r, size := utf8.DecodeRune(buf[:k])
		if held := len(t.partial); size >= held {
			t.partial = t.partial[:0]
			b = b[size-held:]
		} else {
			t.partial = t.partial[:copy(t.partial, t.partial[size:])]
		}
		t.rune(r)
	}
	for len(b) > 0 && !t.full {
		if t.html {
			if k := t.skip(b); k > 0 {
				b = b[k:]
				continue
			}
		}
		if c := b[0]; c < utf8.RuneSelf {
			t.rune(rune(c))
			b = b[1:]
			continue
		}
		if !utf8.FullRune(b) {
			t.partial = append(t.partial, b...)
			break
		}
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		t.rune(r)
	}
	return n, nil
}

// skip returns how many bytes at the start of b are passed over in the state of HTML stripping
// without effect: inside a tag up to its '>', inside script, style or title up to the next '<'
// (an entity there has no effect either), inside a comment up to the next '>' (counting the
// dashes before it). These are ASCII, never part of a longer UTF-8 sequence, so bytes can be
// passed over rather than runes: a style sheet or a tag's attributes cost one IndexByte.
func (t *previewText) skip(b []byte) int {
	switch {
	case t.state == htmlTag:
		return indexOrLen(b, '>')
	case t.state == htmlText && t.skipTag != "":
		return indexOrLen(b, '<')
	case t.state == htmlComment:
		i := indexOrLen(b, '>')
		d := 0
		for d < i && b[i-1-d] == '-' {
			d++
		}
		if d == i {
			t.dashes += d
		} else {
			t.dashes = d
		}
		return i
	}
	return 0
}

func indexOrLen(b []byte, c byte) int {
	if i := bytes.IndexByte(b, c); i >= 0 {
		return i
	}
	return len(b)
}

// finish takes the start of a rune the text ended in as U+FFFD, as the UTF-8 decoder does.
func (t *previewText) finish() {
	if len(t.partial) > 0 {
		t.partial = t.partial[:0]
		t.rune(utf8.RuneError)
	}
}

func (t *previewText) rune(r rune) {
	if !t.html {
		t.emit(r)
		return
	}
	switch t.state {
	case htmlText:
		switch r {
		case '<':
			t.state = htmlTagName
			t.name = t.name[:0]
		case '&':
			t.state = htmlEntity
			t.name = t.name[:0]
		default:
			if t.skipTag == "" {
				t.emit(r)
			}
		}
	case htmlTagName:
		if r < utf8.RuneSelf && (r == '/' || r == '!' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) && len(t.name) < 16 {
			t.name = append(t.name, byte(unicode.ToLower(r)))
			if string(t.name) == "!--" {
				t.state = htmlComment
				t.dashes = 0
			}
			return
		}
		t.state = htmlTag
		t.rune(r)
	case htmlTag:
		if r == '>' {
			t.state = htmlText
			t.endTag(string(t.name))
		}
	case htmlComment:
		switch {
		case r == '-':
			t.dashes++
		case r == '>' && t.dashes >= 2:
			t.state = htmlText
		default:
			t.dashes = 0
		}
	case htmlEntity:
		if r < utf8.RuneSelf && (r == '#' || unicode.IsLetter(r) || unicode.IsDigit(r)) && len(t.name) < 32 {
			t.name = append(t.name, byte(r))
			return
		}
		t.state = htmlText
		if t.skipTag != "" {
			if r != ';' {
				t.rune(r)
			}
			return
		}
		if r == ';' {
			for _, e := range html.UnescapeString("&" + string(t.name) + ";") {
				t.emit(e)
			}
			return
		}
		for _, e := range html.UnescapeString("&" + string(t.name)) {
			t.emit(e)
		}
		t.rune(r)
	}
}

// endTag handles the end of a tag named name ("p", "/div", "!doctype").
func (t *previewText) endTag(name string) {
	if t.skipTag != "" {
		if name == "/"+t.skipTag {
			t.skipTag = ""
		}
		return
	}
	switch strings.TrimPrefix(name, "/") {
	case "script", "style", "title":
		if !strings.HasPrefix(name, "/") {
			t.skipTag = name
		}
	case "br", "p", "div", "tr", "td", "th", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
		"blockquote", "hr", "pre", "body", "html", "head":
		t.emit(' ')
	}
}

// emit adds a rune of text, collapsing white space.
func (t *previewText) emit(r rune) {
	if t.full || r == '\uFEFF' {
		return
	}
	if unicode.IsSpace(r) {
		t.space = t.n > 0
		return
	}
	if t.n == 0 {
		t.b.Grow(min(t.limit, 1024)) // room for the preview at once, not grown rune by rune
	}
	if t.space {
		if t.n+2 > t.limit {
			t.full = true
			return
		}
		t.b.WriteByte(' ')
		t.n++
		t.space = false
	}
	t.b.WriteRune(r)
	t.n++
	if t.n >= t.limit {
		t.full = true
	}
}
