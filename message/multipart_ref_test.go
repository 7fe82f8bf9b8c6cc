package message

import (
	"bytes"
	"math/rand"
	"testing"
)

// refScanDelimiter is scanDelimiter as it was before it looked for "--boundary" rather than
// "\n--boundary" (see TestScanDelimiterMatchesReference). It looks for a delimiter line in buf, the unread input of a section; atStart says
// that buf begins the section, where a delimiter needs no line break before it. It returns how
// many bytes of buf surely belong to the section (n > 0), or delim when buf begins with a
// delimiter, or more when it needs more input to decide. With none of these the input ended.
func refScanDelimiter(mr *multipartReader, buf []byte, atStart, atEOF bool) (n int, delim, more bool) {
	if atStart {
		if bytes.HasPrefix(buf, mr.dash) {
			switch mr.delimiterEnd(buf[len(mr.dash):], atEOF) {
			case +1:
				return 0, true, false
			case 0:
				return 0, false, true
			}
		} else if len(buf) < len(mr.dash) && bytes.HasPrefix(mr.dash, buf) && !atEOF {
			return 0, false, true
		}
	}
	from := 0
	for {
		i := bytes.Index(buf[from:], mr.nlDash)
		if i < 0 {
			break
		}
		i += from
		start := i
		if i > 0 && buf[i-1] == '\r' {
			start = i - 1
		}
		switch mr.delimiterEnd(buf[i+len(mr.nlDash):], atEOF) {
		case +1:
			if start > 0 {
				return start, false, false
			}
			return 0, true, false
		case 0:
			if start > 0 {
				return start, false, false
			}
			return 0, false, true
		}
		from = i + 1 // not a delimiter: "--boundary" goes on
	}
	// A delimiter may begin in the last bytes: keep them back until more input comes.
	keep := len(buf)
	if !atEOF {
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 && bytes.HasPrefix(mr.nlDash, buf[i:]) {
			keep = i
			if i > 0 && buf[i-1] == '\r' {
				keep = i - 1
			}
		} else if len(buf) > 0 && buf[len(buf)-1] == '\r' {
			keep = len(buf) - 1
		}
	}
	if keep > 0 {
		return keep, false, false
	}
	if atEOF {
		return 0, false, false
	}
	return 0, false, true
}

// TestScanDelimiterMatchesReference compares scanDelimiter with its reference on random buffers
// made of line ends, dashes, spaces and pieces of the boundary.
func TestScanDelimiterMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, boundary := range []string{"b", "=_mixed_1", "----=_Part_0_1", "-"} {
		mr := newMultipartReader(nil, boundary)
		atoms := []string{"\r", "\n", "-", "--", " ", "\t", "x", "AAAA", boundary, boundary[:len(boundary)/2], "\r\n--" + boundary, "--" + boundary + "--"}
		for range 20000 {
			var buf []byte
			for range r.Intn(12) {
				buf = append(buf, atoms[r.Intn(len(atoms))]...)
			}
			for _, atStart := range []bool{false, true} {
				for _, atEOF := range []bool{false, true} {
					n, delim, more := mr.scanDelimiter(buf, atStart, atEOF)
					rn, rdelim, rmore := refScanDelimiter(mr, buf, atStart, atEOF)
					if n != rn || delim != rdelim || more != rmore {
						t.Fatalf("boundary %q buf %q atStart %v atEOF %v: %d %v %v, want %d %v %v", boundary, buf, atStart, atEOF, n, delim, more, rn, rdelim, rmore)
					}
				}
			}
		}
	}
}
