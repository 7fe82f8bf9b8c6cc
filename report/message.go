package report

import (
	"strings"
	"unicode/utf8"

	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// parsedMessage returns what message parsing made of m, or nil.
func parsedMessage(m *smtpdecode.Message) *message.Message {
	if m == nil {
		return nil
	}
	pm, _ := m.Parsed.(*message.Message)
	return pm
}

// message writes the headers that matter and the part tree of a parsed
// message under its turn.
func (t *Text) message(pm *message.Message) {
	h := &pm.Header
	w := t.w
	start := func() {
		t.lineStart(nil, nil)
		w.WriteString("M| ")
	}
	field := func(name string, v string) {
		if v != "" {
			start()
			w.WriteString(name)
			w.WriteString(": ")
			t.printable(v)
			w.WriteByte('\n')
		}
	}
	list := func(name string, vs []string) {
		if len(vs) == 1 {
			field(name, vs[0]) // as common as it is cheap
		} else {
			field(name, strings.Join(vs, ", "))
		}
	}
	list("From", h.From)
	list("Sender", h.Sender)
	list("Reply-To", h.ReplyTo)
	list("To", h.To)
	list("Cc", h.Cc)
	list("Bcc", h.Bcc)
	field("Subject", h.Subject)
	field("Date", h.Date)
	field("Message-ID", h.MessageID)
	field("In-Reply-To", h.InReplyTo)
	field("User-Agent", h.UserAgent)
	if h.Received > 0 {
		start()
		w.WriteString("Received: ")
		t.int(int64(h.Received))
		w.WriteString(plural(h.Received, " header", " headers"))
		w.WriteString(", last hop ")
		t.printable(cut(h.FirstReceived, 100))
		w.WriteByte('\n')
	}
	for i := range pm.Parts {
		start()
		for range pm.Parts[i].Depth {
			w.WriteString("  ")
		}
		t.part(&pm.Parts[i])
		w.WriteByte('\n')
	}
	if pm.DroppedParts > 0 {
		start()
		w.WriteString("<")
		t.int(int64(pm.DroppedParts))
		w.WriteString(" more parts not listed>\n")
	}
	if pm.Preview != "" {
		start()
		t.styleOn(dim)
		w.WriteString("“")
		t.printable(cut(pm.Preview, 100))
		w.WriteString("”")
		t.styleOff()
		w.WriteByte('\n')
	}
	for _, p := range pm.Problems {
		start()
		t.styleOn(red)
		w.WriteString("! ")
		t.printable(p)
		t.styleOff()
		w.WriteByte('\n')
	}
}

// part describes one MIME part on a line.
func (t *Text) part(p *message.Part) {
	w := t.w
	w.WriteString(p.Path)
	w.WriteByte(' ')
	t.printable(p.ContentType)
	if p.Charset != "" {
		w.WriteString("; charset=")
		t.printable(p.Charset)
	}
	if p.Encoding != "" {
		w.WriteString(", ")
		t.printable(p.Encoding)
	}
	if p.Attachment {
		w.WriteString(", attachment")
	} else if p.Disposition != "" {
		w.WriteString(", ")
		t.printable(p.Disposition)
	}
	if p.Filename != "" {
		w.WriteByte(' ')
		w.WriteString(quoted(p.Filename))
	}
	if !strings.HasPrefix(p.ContentType, "multipart/") {
		w.WriteString(", ")
		t.int(p.Size)
		w.WriteString(" bytes, sha256 ")
		if len(p.SHA256) > 16 && isASCII(p.SHA256) {
			w.WriteString(p.SHA256[:16]) // what cut makes of it, without the copy
			w.WriteString("…")
		} else {
			w.WriteString(cut(p.SHA256, 16))
		}
	}
	for _, pr := range p.Problems {
		w.WriteString(" ! ")
		t.printable(pr)
	}
}

// quoted is s escaped and in double quotes.
func quoted(s string) string { return `"` + strings.ReplaceAll(Printable(s), `"`, `\"`) + `"` }

// cut shortens s to n runes with an ellipsis.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s) // invalid UTF-8 in what is kept becomes U+FFFD
	return string(r[:n]) + "…"
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// messageJSON writes what parsing made of a transaction's message.
func messageJSON(e *jsonEnc, pm *message.Message) {
	h := &pm.Header
	e.open("message", '{')
	e.strs("from", h.From)
	if len(h.Sender) > 0 {
		e.strs("sender", h.Sender)
	}
	if len(h.ReplyTo) > 0 {
		e.strs("reply_to", h.ReplyTo)
	}
	e.strs("to", h.To)
	e.strs("cc", h.Cc)
	if len(h.Bcc) > 0 {
		e.strs("bcc", h.Bcc)
	}
	e.str("subject", h.Subject)
	e.str("date", h.Date)
	e.str("message_id", h.MessageID)
	if h.InReplyTo != "" {
		e.str("in_reply_to", h.InReplyTo)
	}
	e.str("user_agent", h.UserAgent)
	e.num("received", int64(h.Received))
	if h.FirstReceived != "" {
		e.str("first_received", h.FirstReceived)
	}
	if h.LastReceived != "" {
		e.str("last_received", h.LastReceived)
	}
	e.str("content_type", h.ContentType)
	e.num("size", pm.Size)
	if pm.SHA256 != "" {
		e.str("sha256", pm.SHA256)
	}
	e.open("parts", '[')
	for i := range pm.Parts {
		partJSON(e, &pm.Parts[i])
	}
	e.close(']')
	e.open("attachments", '[')
	for i := range pm.Parts {
		if pm.Parts[i].Attachment {
			partJSON(e, &pm.Parts[i])
		}
	}
	e.close(']')
	e.count("dropped_parts", int64(pm.DroppedParts))
	e.str("preview", pm.Preview)
	if len(pm.Problems) > 0 {
		e.strs("problems", pm.Problems)
	}
	e.close('}')
}

// partJSON writes one MIME part.
func partJSON(e *jsonEnc, p *message.Part) {
	e.open("", '{')
	e.str("path", p.Path)
	e.str("content_type", p.ContentType)
	e.str("charset", p.Charset)
	e.str("encoding", p.Encoding)
	e.str("disposition", p.Disposition)
	e.str("filename", p.Filename)
	e.num("size", p.Size)
	e.str("sha256", p.SHA256)
	if len(p.Problems) > 0 {
		e.strs("problems", p.Problems)
	}
	e.close('}')
}
