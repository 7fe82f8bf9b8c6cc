package message

import (
	"math/rand"
	"testing"
	"unicode/utf8"
)

// refPreviewText is the preview of in taken whole, rune by rune, a cut-off rune at its end
// being U+FFFD.
func refPreviewText(in []byte, html bool, limit int) string {
	t := &previewText{limit: limit, html: html}
	for len(in) > 0 && !t.full {
		if !utf8.FullRune(in) {
			t.rune(utf8.RuneError)
			break
		}
		r, size := utf8.DecodeRune(in)
		in = in[size:]
		t.rune(r)
	}
	return t.b.String()
}

// TestPreviewTextSplits checks that the preview of text and HTML (tags and comments passed over
// in one step, runes and invalid UTF-8 cut anywhere) is what it is of the text taken whole.
func TestPreviewTextSplits(t *testing.T) {
	atoms := []string{"<p>", "</p>", "<style>", "a{b:c}", "</style>", "<script>", "</script>", "<title>", "</title>",
		"<!--", "-->", "--", "-", ">", "<", "<br/>", "<td class=\"x\">", "&amp;", "&#233;", "&", ";", "&lt",
		"text", " ", "\n", "é", "€", "😀", "\xe2\x82", "\xf0\x9f", "\xff", "\xe2", "\x82", "\xc3"}
	r := rand.New(rand.NewSource(1))
	for i := range 5000 {
		var in []byte
		for range r.Intn(40) {
			in = append(in, atoms[r.Intn(len(atoms))]...)
		}
		html := i%2 == 0
		limit := []int{5, 40, 1000}[i%3]
		want := refPreviewText(in, html, limit)
		for _, size := range []int{1, 2, 3, 7, 1000} {
			p := &previewText{limit: limit, html: html}
			for _, piece := range pieces(in, func(int) int { return 1 + r.Intn(size) }) {
				p.Write(piece)
			}
			p.finish()
			if got := p.b.String(); got != want {
				t.Fatalf("html %v limit %d, %q in pieces of up to %d: %q, want %q", html, limit, in, size, got, want)
			}
		}
	}
}
