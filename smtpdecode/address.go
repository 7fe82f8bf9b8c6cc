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
func ParsePath(arg, keyword string) (addr string, params []Param, problems []string, ok bool) {
	if len(arg) < len(keyword)+1 || !strings.EqualFold(arg[:len(keyword)], keyword) || arg[len(keyword)] != ':' {
		return "", nil, nil, false
	}
	rest := arg[len(keyword)+1:]
	if trimmed := strings.TrimLeft(rest, " \t"); len(trimmed) != len(rest) {
		problems = append(problems, "space after the colon")
		rest = trimmed
	}
	var path string
	if strings.HasPrefix(rest, "<") {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			problems = append(problems, "no closing angle bracket")
			path, rest = rest[1:], ""
			if i := strings.IndexByte(path, ' '); i >= 0 {
				path, rest = path[:i], path[i:]
			}
		} else {
			path, rest = rest[1:end], rest[end+1:]
		}
	} else {
		problems = append(problems, "no angle brackets")
		path, rest, _ = strings.Cut(rest, " ")
		rest = " " + rest
	}
	// A source route (<@a,@b:user@c>) is obsolete but allowed: drop it.
	if strings.HasPrefix(path, "@") {
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[i+1:]
		}
	}
	addr = path
	if addr != "" || keyword != "FROM" {
		if p := addressProblem(addr); p != "" {
			problems = append(problems, p)
		}
	}
	for _, f := range strings.Fields(rest) {
		name, value, _ := strings.Cut(f, "=")
		params = append(params, Param{Name: strings.ToUpper(name), Value: value})
	}
	return addr, params, problems, true
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
