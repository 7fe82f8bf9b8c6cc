package message

import (
	"bufio"
	"bytes"
	"io"
)

// maxBoundaryLen bounds the boundary parameter followed (RFC 2046 allows 70 characters). A longer
// one makes the multipart a leaf, so that the look-ahead a delimiter needs fits in the buffers.
const maxBoundaryLen = 200

// maxPadding bounds the spaces and tabs accepted after a delimiter before its line end.
const maxPadding = 256

// sectionBufSize is the size of the buffered reader of each part; it must hold a delimiter line
// ("\r\n--" boundary, padding, "\r\n") with room to spare.
const sectionBufSize = 8 << 10

// multipartReader splits the body of a multipart entity, read from br, into its parts (RFC 2046
// 5.1.1). Unlike mime/multipart and go-message/textproto it reads part headers through the same
// bounded path as every header, accepts lines of any length in the preamble and epilogue, and
// only takes "--boundary" as a delimiter when the rest of its line is "--" or padding, so that a
// nested boundary that extends an outer one is not mistaken for it.
type multipartReader struct {
	br     *bufio.Reader
	nlDash []byte // "\n--" + boundary
	dash   []byte // "--" + boundary

	sec     section
	started bool // the preamble has been read
	final   bool // the close delimiter was seen
	eof     bool // the body ended before the close delimiter
}

func newMultipartReader(br *bufio.Reader, boundary string) *multipartReader {
	nlDash := []byte("\n--" + boundary)
	mr := &multipartReader{br: br, nlDash: nlDash, dash: nlDash[1:]}
	mr.sec = section{mr: mr}
	return mr
}

// next skips the rest of the preamble or of the current part and the delimiter after it. It
// reports whether a part follows; then sec reads its header and body.
func (mr *multipartReader) next() bool {
	if mr.final || mr.eof {
		return false
	}
	// Skip what is left of the current section.
	for !mr.sec.done {
		if mr.sec.n > 0 {
			mr.br.Discard(mr.sec.n)
			mr.sec.total += int64(mr.sec.n)
			mr.sec.n = 0
			continue
		}
		mr.sec.scan()
	}
	mr.started = true
	if !mr.sec.delim {
		mr.eof = true
		return false
	}
	// Consume the delimiter: [CR] LF (unless at the section start) "--" boundary, then "--" for the
	// close delimiter, or padding and the line end.
	if b, _ := mr.br.Peek(1); len(b) == 1 && b[0] == '\r' {
		mr.br.Discard(1)
	}
	if b, _ := mr.br.Peek(1); len(b) == 1 && b[0] == '\n' {
		mr.br.Discard(1)
	}
	mr.br.Discard(len(mr.dash))
	if b, _ := mr.br.Peek(2); len(b) == 2 && b[0] == '-' && b[1] == '-' {
		mr.final = true
		return false
	}
	for {
		b, err := mr.br.Peek(1)
		if err != nil || (b[0] != ' ' && b[0] != '\t') {
			break
		}
		mr.br.Discard(1)
	}
	if b, _ := mr.br.Peek(1); len(b) == 1 && b[0] == '\r' {
		mr.br.Discard(1)
	}
	if b, _ := mr.br.Peek(1); len(b) == 1 && b[0] == '\n' {
		mr.br.Discard(1)
	}
	mr.sec = section{mr: mr}
	return true
}

// section reads one part (or the preamble) of a multipart body: the bytes up to the next
// delimiter, which is left unread in mr.br.
type section struct {
	mr      *multipartReader
	n       int   // bytes known to belong to the section, waiting in mr.br
	total   int64 // bytes of the section read so far
	done    bool  // no more bytes after the n waiting
	delim   bool  // the section ended at a delimiter (not at the end of the input)
	readErr error
}

func (s *section) Read(p []byte) (int, error) {
	for s.n == 0 && !s.done {
		s.scan()
	}
	if s.n == 0 {
		return 0, io.EOF
	}
	if len(p) > s.n {
		p = p[:s.n]
	}
	n, _ := s.mr.br.Read(p)
	s.n -= n
	s.total += int64(n)
	return n, nil
}

// take returns the next bytes of the section in place, in mr.br's buffer, and consumes them;
// nil at its end.
func (s *section) take() []byte {
	for s.n == 0 && !s.done {
		s.scan()
	}
	if s.n == 0 {
		return nil
	}
	b, _ := s.mr.br.Peek(s.n) // buffered already: no read
	s.mr.br.Discard(s.n)
	s.total += int64(s.n)
	s.n = 0
	return b
}

// scan looks at the buffered input and sets n (bytes that belong to the section) or done; when it
// can decide neither it reads more.
func (s *section) scan() {
	br := s.mr.br
	buf, _ := br.Peek(br.Buffered())
	atEOF := s.readErr != nil
	n, delim, more := s.mr.scanDelimiter(buf, s.total == 0, atEOF)
	switch {
	case n > 0:
		s.n = n
	case delim:
		s.done, s.delim = true, true
	case more:
		// The buffer can always take one more byte here: scanDelimiter never asks for more
		// with a full buffer (see sectionBufSize).
		if _, err := br.Peek(len(buf) + 1); err != nil {
			s.readErr = err
		}
	default:
		s.done = true // the input ended
	}
}

// scanDelimiter looks for a delimiter line in buf, the unread input of a section; atStart says
// that buf begins the section, where a delimiter needs no line break before it. It returns how
// many bytes of buf surely belong to the section (n > 0), or delim when buf begins with a
// delimiter, or more when it needs more input to decide. With none of these the input ended.
func (mr *multipartReader) scanDelimiter(buf []byte, atStart, atEOF bool) (n int, delim, more bool) {
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
	// "--boundary" is looked for, then the LF before it: bytes.Index finds candidates for its
	// first byte with IndexByte, and a LF begins every line of a body while '-' is rare (never
	// in base64), so this is one fast scan of the buffer rather than a call per line.
	for from := 1; from <= len(buf); {
		j := bytes.Index(buf[from:], mr.dash)
		if j < 0 {
			break
		}
		j += from
		from = j + 1
		if buf[j-1] != '\n' {
			continue
		}
		i := j - 1
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
		// Not a delimiter: "--boundary" goes on.
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

// delimiterEnd decides whether what follows "--boundary" (rest) makes it a delimiter line: "--"
// (the close delimiter), or padding then a line end or the end of input. It returns +1 for yes, -1
// for no and 0 when it needs more input.
func (mr *multipartReader) delimiterEnd(rest []byte, atEOF bool) int {
	if len(rest) == 0 {
		if atEOF {
			return +1
		}
		return 0
	}
	if rest[0] == '-' {
		if len(rest) == 1 {
			if atEOF {
				return -1
			}
			return 0
		}
		if rest[1] == '-' {
			return +1
		}
		return -1
	}
	i := 0
	for i < len(rest) && (rest[i] == ' ' || rest[i] == '\t') {
		i++
		if i > maxPadding {
			return -1
		}
	}
	if i == len(rest) {
		if atEOF {
			return +1
		}
		return 0
	}
	switch rest[i] {
	case '\n':
		return +1
	case '\r':
		if i+1 == len(rest) {
			if atEOF {
				return +1
			}
			return 0
		}
		if rest[i+1] == '\n' {
			return +1
		}
	}
	return -1
}
