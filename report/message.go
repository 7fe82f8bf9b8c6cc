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

type jsonMessageInfo struct {
	From          []string   `json:"from"`
	Sender        []string   `json:"sender,omitempty"`
	ReplyTo       []string   `json:"reply_to,omitempty"`
	To            []string   `json:"to"`
	Cc            []string   `json:"cc"`
	Bcc           []string   `json:"bcc,omitempty"`
	Subject       string     `json:"subject"`
	Date          string     `json:"date"`
	MessageID     string     `json:"message_id"`
	InReplyTo     string     `json:"in_reply_to,omitempty"`
	UserAgent     string     `json:"user_agent"`
	Received      int        `json:"received"`
	FirstReceived string     `json:"first_received,omitempty"`
	LastReceived  string     `json:"last_received,omitempty"`
	ContentType   string     `json:"content_type"`
	Size          int64      `json:"size"`
	SHA256        string     `json:"sha256,omitempty"`
	Parts         []jsonPart `json:"parts"`
	Attachments   []jsonPart `json:"attachments"`
	DroppedParts  int        `json:"dropped_parts,omitempty"`
	Preview       string     `json:"preview"`
	Problems      []string   `json:"problems,omitempty"`
}

type jsonPart struct {
	Path        string   `json:"path"`
	ContentType string   `json:"content_type"`
	Charset     string   `json:"charset"`
	Encoding    string   `json:"encoding"`
	Disposition string   `json:"disposition"`
	Filename    string   `json:"filename"`
	Size        int64    `json:"size"`
	SHA256      string   `json:"sha256"`
	Problems    []string `json:"problems,omitempty"`
}

// messageJSON is the JSON form of a parsed message.
func messageJSON(pm *message.Message) *jsonMessageInfo {
	h := &pm.Header
	j := &jsonMessageInfo{
		From: nonNil(h.From), Sender: h.Sender, ReplyTo: h.ReplyTo, To: nonNil(h.To), Cc: nonNil(h.Cc), Bcc: h.Bcc,
		Subject: h.Subject, Date: h.Date, MessageID: h.MessageID, InReplyTo: h.InReplyTo, UserAgent: h.UserAgent,
		Received: h.Received, FirstReceived: h.FirstReceived, LastReceived: h.LastReceived, ContentType: h.ContentType,
		Size: pm.Size, SHA256: pm.SHA256, Parts: []jsonPart{}, Attachments: []jsonPart{},
		DroppedParts: pm.DroppedParts, Preview: pm.Preview, Problems: pm.Problems,
	}
	for _, p := range pm.Parts {
		jp := jsonPart{Path: p.Path, ContentType: p.ContentType, Charset: p.Charset, Encoding: p.Encoding,
			Disposition: p.Disposition, Filename: p.Filename, Size: p.Size, SHA256: p.SHA256, Problems: p.Problems}
		j.Parts = append(j.Parts, jp)
		if p.Attachment {
			j.Attachments = append(j.Attachments, jp)
		}
	}
	return j
}
