package message

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-message/textproto"
)

// field is one header field: its canonical key and its value unfolded.
type field struct {
	key, value string
}

// readHeaderBlock reads a header block from r up to and including the blank line that ends it
// (or the end of input). It keeps at most max bytes of it, in whole lines; when the block is
// longer, the rest is read and dropped, and over is true. Memory is bounded by max and r's buffer
// whatever the input: go-message/textproto.ReadHeader is only given the kept bytes, since it
// would otherwise grow a line or a block without limit.
func readHeaderBlock(r *bufio.Reader, max int) (block []byte, over bool) {
	lineStart := true // the next fragment begins a line
	cur := 0          // where the current line begins in block
	for {
		frag, err := r.ReadSlice('\n')
		if len(frag) > 0 {
			if lineStart && (string(frag) == "\n" || string(frag) == "\r\n") {
				return block, over
			}
			if lineStart {
				cur = len(block)
			}
			if !over {
				if len(block)+len(frag) <= max {
					block = append(block, frag...)
				} else {
					over = true
					block = block[:cur]
				}
			}
			lineStart = frag[len(frag)-1] == '\n'
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return block, over
		}
	}
}

// headerReaders recycles the buffered readers parseHeaderBlock reads blocks through: one per
// header block was most of what a message's parse allocated.
var headerReaders = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// parseHeaderBlock splits a header block into its fields with go-message/textproto.ReadHeader,
// which unfolds them. A malformed line (no colon, a bad key, a continuation without a field)
// is recorded as a problem and skipped; the fields after it are kept.
func parseHeaderBlock(block []byte) (fields []field, problems []string) {
	src := bytes.NewReader(block)
	br := headerReaders.Get().(*bufio.Reader)
	br.Reset(src)
	defer func() {
		br.Reset(nil)
		headerReaders.Put(br)
	}()
	// Each round consumes at least one line, so len(block)+1 rounds always suffice.
	for range len(block) + 1 {
		h, err := textproto.ReadHeader(br)
		for fs := h.Fields(); fs.Next(); {
			fields = append(fields, field{fs.Key(), fs.Value()})
		}
		if err != nil && !errors.Is(err, io.EOF) {
			problems = append(problems, headerLineProblem(err))
		}
		if _, perr := br.Peek(1); perr != nil {
			break
		}
	}
	return fields, problems
}

// headerLineProblem turns a textproto.ReadHeader error into a short problem quoting the line.
func headerLineProblem(err error) string {
	msg := strings.TrimPrefix(err.Error(), "message: ")
	kind, text, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	kind = strings.Replace(kind, "MIME header", "header", 1)
	text = strings.TrimRight(text, "\r\n")
	return kind + " skipped: " + quoteShort(text)
}

// quoteShort quotes s, cut to 64 bytes.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// get returns the first value of key (canonical), and whether there was one.
func get(fields []field, key string) (string, bool) {
	for _, f := range fields {
		if f.key == key {
			return f.value, true
		}
	}
	return "", false
}

// topHeader fills a Header from the fields of the top header block.
func topHeader(fields []field, problem func(string)) Header {
	var h Header
	decode := func(s string) string {
		v, probs := decodeHeader(s)
		for _, p := range probs {
			problem(p)
		}
		return v
	}
	addresses := func(s string) []string {
		list, probs := parseAddressList(s)
		for _, p := range probs {
			problem(p)
		}
		return list
	}
	seen := map[string]bool{}
	for _, f := range fields {
		first := !seen[f.key]
		seen[f.key] = true
		switch f.key {
		case "From":
			h.From = append(h.From, addresses(f.value)...)
		case "Sender":
			h.Sender = append(h.Sender, addresses(f.value)...)
		case "Reply-To":
			h.ReplyTo = append(h.ReplyTo, addresses(f.value)...)
		case "To":
			h.To = append(h.To, addresses(f.value)...)
		case "Cc":
			h.Cc = append(h.Cc, addresses(f.value)...)
		case "Bcc":
			h.Bcc = append(h.Bcc, addresses(f.value)...)
		case "Subject":
			if first {
				h.Subject = decode(f.value)
			}
		case "Date":
			if first {
				h.Date = f.value
			}
		case "Message-Id":
			if first {
				h.MessageID = f.value
			}
		case "In-Reply-To":
			if first {
				h.InReplyTo = f.value
			}
		case "Received":
			if h.Received == 0 {
				h.FirstReceived = f.value
			}
			h.Received++
			h.SecondLastReceived = h.LastReceived
			h.LastReceived = f.value
		case "Content-Type":
			if first {
				h.ContentType = f.value
			}
		}
	}
	if ip, ok := get(fields, "X-Originating-Ip"); ok {
		h.XOriginatingIP = ip
	}
	if ua, ok := get(fields, "User-Agent"); ok {
		h.UserAgent = decode(ua)
	} else if xm, ok := get(fields, "X-Mailer"); ok {
		h.UserAgent = decode(xm)
	}
	return h
}

// parseAddressList parses an address list field (RFC 5322 3.4) leniently: each mailbox becomes
// "Name <addr>" with the display name unquoted and decoded to UTF-8, or "addr" without a name;
// an old-style "addr (Name)" comment is taken as the name; group names are dropped and their
// members kept. An entry that cannot be parsed is kept as its raw text, with a problem.
func parseAddressList(s string) (list []string, problems []string) {
	for _, item := range splitAddressList(s) {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		a, probs, ok := parseMailbox(item)
		problems = append(problems, probs...)
		if !ok {
			problems = append(problems, "unparsable address "+quoteShort(item))
			a = item
		}
		list = append(list, a)
	}
	return list, problems
}

// splitAddressList cuts an address list at the commas (and the semicolons ending groups) that are
// outside quoted strings, comments and angle brackets, and drops group names ("name:").
func splitAddressList(s string) []string {
	items := make([]string, 0, strings.Count(s, ",")+1)
	start := 0
	inQuote, inAngle := false, false
	comment := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote:
			if c == '\\' {
				i++
			} else if c == '"' {
				inQuote = false
			}
			continue
		case comment > 0:
			if c == '\\' {
				i++
			} else if c == '(' {
				comment++
			} else if c == ')' {
				comment--
			}
			continue
		}
		switch c {
		case '"':
			inQuote = true
		case '(':
			comment = 1
		case '<':
			inAngle = true
		case '>':
			inAngle = false
		case ',', ';':
			if !inAngle {
				items = append(items, s[start:i])
				start = i + 1
			}
		case ':':
			if !inAngle && !strings.ContainsAny(s[start:i], "@<") {
				start = i + 1 // a group name
			}
		}
	}
	if start < len(s) {
		items = append(items, s[start:])
	}
	return items
}

// parseMailbox parses one "name <addr>" or "addr (comment)" entry.
func parseMailbox(item string) (string, []string, bool) {
	lt := indexOutside(item, '<')
	if lt >= 0 {
		gt := strings.IndexByte(item[lt:], '>')
		if gt < 0 {
			return "", nil, false
		}
		addr := strings.TrimSpace(item[lt+1 : lt+gt])
		if i := strings.LastIndexByte(addr, ':'); i >= 0 && strings.HasPrefix(addr, "@") {
			addr = strings.TrimSpace(addr[i+1:]) // an obsolete route
		}
		name, ok := unquotePhrase(item[:lt])
		if !ok {
			return "", nil, false
		}
		name, probs := decodeHeader(name)
		return formatAddress(name, addr), probs, true
	}
	// addr-spec, maybe with comments holding the name.
	var addr, comments strings.Builder
	inQuote := false
	for i := 0; i < len(item); i++ {
		c := item[i]
		switch {
		case inQuote:
			addr.WriteByte(c)
			if c == '\\' && i+1 < len(item) {
				i++
				addr.WriteByte(item[i])
			} else if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
			addr.WriteByte(c)
		case c == '(':
			end, text, ok := readComment(item, i)
			if !ok {
				return "", nil, false
			}
			if comments.Len() > 0 {
				comments.WriteByte(' ')
			}
			comments.WriteString(text)
			i = end
		case c == ' ' || c == '\t':
		default:
			addr.WriteByte(c)
		}
	}
	if inQuote || !strings.Contains(addr.String(), "@") {
		return "", nil, false
	}
	name, probs := decodeHeader(strings.TrimSpace(comments.String()))
	return formatAddress(name, addr.String()), probs, true
}

func formatAddress(name, addr string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		if addr == "" {
			return "<>"
		}
		return addr
	}
	if strings.ContainsAny(name, "()<>[]:;@\\,.\"") {
		// Quoted as RFC 5322 says, so a name cannot pass for an address
		// ("CEO <ceo@corp.example>, Bob" <attacker@evil.test>).
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + addr + ">"
}

// indexOutside returns the index of the first c outside quoted strings and comments, or -1.
func indexOutside(s string, c byte) int {
	inQuote := false
	comment := 0
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case inQuote:
			if b == '\\' {
				i++
			} else if b == '"' {
				inQuote = false
			}
		case comment > 0:
			if b == '\\' {
				i++
			} else if b == '(' {
				comment++
			} else if b == ')' {
				comment--
			}
		case b == '"':
			inQuote = true
		case b == '(':
			comment = 1
		case b == c:
			return i
		}
	}
	return -1
}

// readComment reads the comment opening at s[i] == '(' and returns the index of its closing
// parenthesis and its text, unescaped.
func readComment(s string, i int) (end int, text string, ok bool) {
	var b strings.Builder
	depth := 0
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
			continue
		case c == '(':
			depth++
			if depth == 1 {
				continue
			}
		case c == ')':
			depth--
			if depth == 0 {
				return i, b.String(), true
			}
		}
		b.WriteByte(c)
	}
	return 0, "", false
}

// unquotePhrase turns a display name into its text: quoted strings lose their quotes and
// escapes, runs of white space become one space. Encoded words are left for DecodeHeader.
func unquotePhrase(s string) (string, bool) {
	var b strings.Builder
	space := false
	inQuote := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inQuote {
			switch {
			case c == '\\' && i+1 < len(s):
				i++
				b.WriteByte(s[i])
			case c == '"':
				inQuote = false
			default:
				b.WriteByte(c)
			}
			continue
		}
		switch c {
		case ' ', '\t', '\r', '\n':
			space = b.Len() > 0
			continue
		case '"':
			inQuote = true
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		if c != '"' {
			b.WriteByte(c)
		}
	}
	if inQuote {
		return "", false
	}
	return b.String(), true
}
