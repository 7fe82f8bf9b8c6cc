package report

import "github.com/rivo/uniseg"

// Widths of text on a terminal or in a monospace font, counted by grapheme cluster: a CJK
// character takes two columns, an accent none.

// displayWidth is how many columns s takes.
func displayWidth(s string) int { return uniseg.StringWidth(s) }

// cutWidth cuts s to at most w terminal columns, the last one "…", between grapheme clusters
// (a CJK character takes two columns, an accent none); it returns the cut string and its width.
func cutWidth(s string, w int) (string, int) {
	if w <= 0 {
		return "", 0
	}
	i, n := 0, 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		cw := g.Width()
		if n+cw > w-1 {
			break
		}
		_, i = g.Positions()
		n += cw
	}
	return s[:i] + "…", n + 1
}

// fitWidth is s when it takes at most w columns, else s cut to w columns ending in "…".
func fitWidth(s string, w int) string {
	if displayWidth(s) <= w {
		return s
	}
	cut, _ := cutWidth(s, w)
	return cut
}

// fitWidthLeft is fitWidth keeping the end of s: "…" and its last columns.
func fitWidthLeft(s string, w int) string {
	if displayWidth(s) <= w || w <= 0 {
		return fitWidth(s, w)
	}
	var ends []int // the end of each grapheme cluster
	var widths []int
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		_, end := g.Positions()
		ends = append(ends, end)
		widths = append(widths, g.Width())
	}
	n, start := 0, len(s)
	for i := len(ends) - 1; i >= 0; i-- {
		if n+widths[i] > w-1 {
			break
		}
		n += widths[i]
		start = 0
		if i > 0 {
			start = ends[i-1]
		}
	}
	return "…" + s[start:]
}
