package report

import (
	"fmt"
	"strings"

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
	line := func(format string, args ...any) {
		fmt.Fprintf(t.w, "%s  %11s %9s  M| %s\n", t.prefix, "", "", fmt.Sprintf(format, args...))
	}
	field := func(name string, v string) {
		if v != "" {
			line("%s: %s", name, Printable(v))
		}
	}
	list := func(name string, vs []string) { field(name, strings.Join(vs, ", ")) }
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
		line("Received: %d %s, last hop %s", h.Received, plural(h.Received, "header", "headers"), Printable(cut(h.FirstReceived, 100)))
	}
	for _, p := range pm.Parts {
		line("%s%s", strings.Repeat("  ", p.Depth), partText(&p))
	}
	if pm.DroppedParts > 0 {
		line("<%d more parts not listed>", pm.DroppedParts)
	}
	if pm.Preview != "" {
		line("%s", t.paint(dim, "“"+Printable(cut(pm.Preview, 100))+"”"))
	}
	for _, p := range pm.Problems {
		line("%s", t.paint(red, "! "+Printable(p)))
	}
}

// partText describes one MIME part on a line.
func partText(p *message.Part) string {
	var b strings.Builder
	b.WriteString(p.Path)
	b.WriteByte(' ')
	b.WriteString(Printable(p.ContentType))
	if p.Charset != "" {
		b.WriteString("; charset=" + Printable(p.Charset))
	}
	if p.Encoding != "" {
		b.WriteString(", " + Printable(p.Encoding))
	}
	if p.Attachment {
		b.WriteString(", attachment")
	} else if p.Disposition != "" {
		b.WriteString(", " + Printable(p.Disposition))
	}
	if p.Filename != "" {
		b.WriteString(" " + quoted(p.Filename))
	}
	if !strings.HasPrefix(p.ContentType, "multipart/") {
		fmt.Fprintf(&b, ", %d bytes, sha256 %s", p.Size, cut(p.SHA256, 16))
	}
	for _, pr := range p.Problems {
		b.WriteString(" ! " + Printable(pr))
	}
	return b.String()
}

// quoted is s escaped and in double quotes.
func quoted(s string) string { return `"` + strings.ReplaceAll(Printable(s), `"`, `\"`) + `"` }

// cut shortens s to n runes with an ellipsis.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
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
