package smtpdecode

import "strings"

// Param is an ESMTP parameter of MAIL or RCPT ("SIZE=1024", "BODY=8BITMIME").
type Param struct {
	Name  string // upper-cased
	Value string // empty for a parameter without "="
}

// ParsePath parses the argument of MAIL ("FROM:<a@b> SIZE=10") or RCPT
// ("TO:<a@b> NOTIFY=NEVER"), keyword being "FROM" or "TO". It returns the
// address without angle brackets ("" for the null path "<>"), the ESMTP
// parameters, and what in it breaks RFC 5321 4.1.2 while still being
// readable (no angle brackets, spaces after the colon, no "@"). ok is false
// when the argument does not start with the keyword and a colon.
//
// It is lenient: a display name before the path ("FROM:Ann <a@b>") and
// doubled brackets ("FROM:<<a@b>>") are read past, with a problem. The
// address never holds '<' or '>' outside a quoted string: stray ones are
// dropped, with a problem. A '>' or a space inside a quoted local part
// ("<\"a> b\"@c>") does not end the path.
func ParsePath(arg, keyword string) (addr string, params []Param, problems []string, ok bool) {
	if len(arg) < len(keyword)+1 || !strings.EqualFold(arg[:len(keyword)], keyword) || arg[len(keyword)] != ':' {
		return "", nil, nil, false
	}
	rest := arg[len(keyword)+1:]
	if trimmed := strings.TrimLeft(rest, " \t"); len(trimmed) != len(rest) {
		problems = append(problems, "space after the colon")
		rest = trimmed
	}
	if !strings.HasPrefix(rest, "<") {
		// "Ann <a@b>": a display name, as in a header, before the path.
		if i := indexUnquoted(rest, "<"); i > 0 && indexUnquoted(rest[i:], ">") > 0 {
			problems = append(problems, "text before the angle bracket")
			rest = rest[i:]
		}
	}
	var path string
	if strings.HasPrefix(rest, "<") {
		s := strings.TrimLeft(rest, "<")
		extra := len(rest)-len(s) > 1
		end := indexUnquoted(s, ">")
		if end < 0 {
			problems = append(problems, "no closing angle bracket")
			path, rest = cutPath(s)
		} else {
			path, rest = s[:end], s[end+1:]
			if r := strings.TrimLeft(rest, ">"); len(r) != len(rest) {
				extra, rest = true, r
			}
		}
		if extra {
			problems = append(problems, "extra angle brackets")
		}
	} else {
		problems = append(problems, "no angle brackets")
		path, rest = cutPath(rest)
	}
	// A source route (<@a,@b:user@c>) is obsolete but allowed: drop it.
	if strings.HasPrefix(path, "@") {
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[i+1:]
		}
	}
	addr = dropBrackets(path)
	if len(addr) != len(path) {
		problems = append(problems, "stray angle bracket in the address")
	}
	if addr != "" || keyword != "FROM" {
		if p := addressProblem(addr); p != "" {
			problems = append(problems, p)
		}
	}
	for _, f := range strings.Fields(rest) {
		name, value, _ := strings.Cut(f, "=")
		// esmtp-keyword is ASCII: upper-case only ASCII letters, so that
		// other bytes are kept as sent.
		params = append(params, Param{Name: upperASCII([]byte(name)), Value: value})
	}
	return addr, params, problems, true
}

// quotedEnd returns the index just past the quoted string (RFC 5321
// Quoted-string, with backslash escapes) that starts at s[i] == '"', or -1
// when it is not closed.
func quotedEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// indexUnquoted returns the index of the first byte of s in chars that is
// not inside a quoted string, or -1. A '"' that is never closed starts no
// quoted string.
func indexUnquoted(s, chars string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			if e := quotedEnd(s, i); e > 0 {
				i = e - 1
				continue
			}
			// Not closed: neither is any later '"' (each is escaped in
			// the scan that just failed), so the rest is unquoted.
			if j := strings.IndexAny(s[i+1:], chars); j >= 0 {
				return i + 1 + j
			}
			return -1
		}
		if strings.IndexByte(chars, s[i]) >= 0 {
			return i
		}
	}
	return -1
}

// cutPath splits a path not closed by '>' at the first space or tab
// outside a quoted string.
func cutPath(s string) (path, rest string) {
	if i := indexUnquoted(s, " \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// dropBrackets removes '<' and '>' outside quoted strings, in one pass.
func dropBrackets(s string) string {
	if indexUnquoted(s, "<>") < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	unclosed := false // a '"' was not closed: the rest is unquoted
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '"' && !unclosed {
			if e := quotedEnd(s, i); e > 0 {
				b = append(b, s[i:e]...)
				i = e - 1
				continue
			}
			unclosed = true
		}
		if c != '<' && c != '>' {
			b = append(b, c)
		}
	}
	return string(b)
}

// addressProblem says what is wrong with a mailbox, or "".
func addressProblem(a string) string {
	if a == "" {
		return "empty address"
	}
	if strings.EqualFold(a, "postmaster") {
		return ""
	}
	at := strings.LastIndexByte(a, '@')
	switch {
	case at < 0:
		return "no @ in the address"
	case at == 0:
		return "empty local part"
	case at == len(a)-1:
		return "empty domain"
	}
	local := a[:at]
	quoted := len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"'
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c < 0x20 || c == 0x7f || ((c == ' ' || c == '<' || c == '>' || c == ',') && !(quoted && i < at)) {
			return "invalid character in the address"
		}
	}
	return ""
}

// paramValue returns the value of a parameter and whether it is present.
func paramValue(ps []Param, name string) (string, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}
