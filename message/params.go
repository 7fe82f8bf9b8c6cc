package message

import (
	"mime"
	"sort"
	"strconv"
	"strings"
)

// parseParams parses a Content-Type or Content-Disposition value into its lower-case first token
// and its parameters (lower-case names). mime.ParseMediaType is tried first (it handles RFC 2231
// continuations and UTF-8 values); when it fails, a lenient parse reads what it can and a problem
// is returned. Parameters mime.ParseMediaType drops (RFC 2231 values in other charsets) are
// taken from the lenient parse.
func parseParams(key, v string) (token string, params map[string]string, problems []string) {
	token, params, err := mime.ParseMediaType(v)
	lt, lp, lprobs := parseParamsLenient(v)
	if err != nil {
		problems = append(problems, key+": "+strings.TrimPrefix(err.Error(), "mime: ")+" in "+quoteShort(v))
		problems = append(problems, lprobs...)
		return lt, lp, problems
	}
	added := false
	for k, val := range lp {
		if _, ok := params[k]; !ok {
			params[k] = val
			added = true
		}
	}
	if added {
		problems = append(problems, lprobs...)
	}
	return token, params, problems
}

// parseParamsLenient reads "token; name=value; ..." as far as it can: unquoted values may hold
// spaces and special characters, duplicates keep the first, RFC 2231 continuations and charsets
// ("name*0*=utf-8'en'%E2%82%AC", in any charset golang.org/x/text knows) are joined and decoded.
func parseParamsLenient(v string) (token string, params map[string]string, problems []string) {
	items := splitParams(v)
	params = map[string]string{}
	if len(items) == 0 {
		return "", params, nil
	}
	token = strings.ToLower(strings.TrimSpace(items[0]))
	type piece struct {
		n     int
		ext   bool
		value string
	}
	pieces := map[string][]piece{}
	var order []string
	for _, it := range items[1:] {
		name, value, ok := strings.Cut(it, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if name == "" {
			continue
		}
		if len(value) >= 1 && value[0] == '"' {
			value = unquoteParam(value)
		}
		base, rest, cont := strings.Cut(name, "*")
		if !cont {
			if _, dup := params[base]; !dup {
				params[base] = value
			}
			continue
		}
		p := piece{ext: strings.HasSuffix(name, "*"), value: value}
		num := strings.TrimSuffix(rest, "*")
		if num != "" {
			n, err := strconv.Atoi(num)
			if err != nil || n < 0 || n > 999 {
				continue
			}
			p.n = n
		}
		if _, seen := pieces[base]; !seen {
			order = append(order, base)
		}
		pieces[base] = append(pieces[base], p)
	}
	for _, base := range order {
		ps := pieces[base]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].n < ps[j].n })
		var raw []byte
		cs := ""
		for i, p := range ps {
			if !p.ext {
				raw = append(raw, p.value...)
				continue
			}
			val := p.value
			if i == 0 {
				// charset'language'value
				if c, restv, ok := strings.Cut(val, "'"); ok {
					if _, v2, ok := strings.Cut(restv, "'"); ok {
						cs, val = strings.ToLower(c), v2
					}
				}
			}
			raw = append(raw, percentDecode(val)...)
		}
		text, ok := convertCharset(cs, raw)
		if !ok {
			problems = append(problems, "unknown charset "+cs)
			text = string(raw)
		}
		// An RFC 2231 value wins over a plain one of the same name.
		params[base] = text
	}
	return token, params, problems
}

// splitParams cuts v at the semicolons outside quoted strings.
func splitParams(v string) []string {
	var items []string
	start := 0
	inQuote := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			items = append(items, v[start:i])
			start = i + 1
		}
	}
	return append(items, v[start:])
}

// unquoteParam removes the quotes and escapes of a quoted value (or of an unterminated one).
func unquoteParam(v string) string {
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// percentDecode decodes %XX escapes, keeping a "%" without two hex digits.
func percentDecode(s string) []byte {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, s[i])
	}
	return b
}

// validMediaType reports whether t is "type/subtype" made of token characters.
func validMediaType(t string) bool {
	typ, sub, ok := strings.Cut(t, "/")
	return ok && isToken(typ) && isToken(sub)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?=`, c) >= 0 {
			return false
		}
	}
	return true
}
