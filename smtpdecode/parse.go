package smtpdecode

import "bytes"

// ParseReplyLine splits one reply line (without its line ending) into its
// code, whether more lines follow ("250-"), and its text. ok is false when the
// line does not start with three digits followed by a space, a hyphen or the
// end of the line.
func ParseReplyLine(line []byte) (code int, more bool, text []byte, ok bool) {
	if len(line) < 3 {
		return 0, false, line, false
	}
	for _, c := range line[:3] {
		if c < '0' || c > '9' {
			return 0, false, line, false
		}
		code = code*10 + int(c-'0')
	}
	switch {
	case len(line) == 3:
		return code, false, nil, true
	case line[3] == ' ':
		return code, false, line[4:], true
	case line[3] == '-':
		return code, true, line[4:], true
	}
	return 0, false, line, false
}

// ParseCommand splits a command line (without its line ending) into its verb,
// upper-cased, and the argument after the first space (or tab, which some
// clients send and some servers accept).
func ParseCommand(line []byte) (verb, arg string) {
	v, a := line, []byte(nil)
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		v, a = line[:i], line[i+1:]
	}
	return upperASCII(v), string(a)
}

// upperASCII upper-cases ASCII letters only; other bytes are kept as they are.
func upperASCII(b []byte) string {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			u := make([]byte, len(b))
			copy(u, b)
			for j := i; j < len(u); j++ {
				if 'a' <= u[j] && u[j] <= 'z' {
					u[j] -= 'a' - 'A'
				}
			}
			return string(u)
		}
	}
	return string(b)
}

// trimEOL removes a trailing LF or CRLF.
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	return bytes.TrimSuffix(line, []byte{'\r'})
}
