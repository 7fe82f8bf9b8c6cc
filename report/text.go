// Package report turns decoded sessions into what people and programs read:
// a text transcript and JSON lines. Writers take an io.Writer and options and
// never reach back into decoding. Everything taken from a capture is escaped
// before it is written (see Printable).
package report

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Options are shared by the writers. The zero value masks secrets, uses no
// colour and summarises message content.
type Options struct {
	// ShowSecrets prints AUTH credentials instead of masking them.
	ShowSecrets bool
	// Color highlights failures and anomalies with ANSI colours (text only).
	Color bool
	// Data prints the message content kept by the decoder (text only).
	Data bool
}

// Text writes sessions as C:/S: conversations.
type Text struct {
	w      *bufio.Writer
	o      Options
	prefix string // put before each conversation line (the session, when sessions interleave)
	live   bool   // lines are written as turns complete: no reply can be known missing yet
}

// NewText returns a Text writer on w.
func NewText(w io.Writer, o Options) *Text {
	return &Text{w: bufio.NewWriter(w), o: o}
}

// timeLayout is how absolute capture times are shown.
const timeLayout = "2006-01-02 15:04:05.000000 MST"

// ANSI styles.
const (
	red   = "\x1b[31m"
	bold  = "\x1b[1m"
	dim   = "\x1b[2m"
	reset = "\x1b[0m"
)

// A painter styles a piece of text: Text.paint, or noPaint for output
// without colour.
type painter func(style, s string) string

func noPaint(_, s string) string { return s }

// paint wraps s in a style when colour is on.
func (t *Text) paint(style, s string) string {
	if !t.o.Color || s == "" {
		return s
	}
	return style + s + reset
}

// event is one line-group of the transcript, placed in time.
type event struct {
	t       time.Time
	idx     int // command index, or -1
	cmd     *smtpdecode.Command
	rep     *smtpdecode.Reply
	gap     *smtpdecode.Gap
	anomaly *smtpdecode.Anomaly
}

// Session writes one session.
func (t *Text) Session(s *smtpdecode.Session) error {
	w := t.w
	fmt.Fprintf(w, "%s\n", t.paint(bold, fmt.Sprintf("Session %d: %s -> %s at %s", s.ID, s.Client, s.Server, s.Start.UTC().Format(timeLayout))))
	fmt.Fprintf(w, "  %s, %d packets, %d bytes from client, %d from server", seconds(s.End.Sub(s.Start)), s.Packets, s.Bytes[0], s.Bytes[1])
	if lost := s.Missing[0] + s.Missing[1]; lost > 0 {
		fmt.Fprintf(w, ", %d bytes lost", lost)
	}
	fmt.Fprintf(w, ", %s\n", closedText(s.Closed))
	if s.Sides != "" && s.Sides != "syn" {
		fmt.Fprintf(w, "  (no SYN captured: the client side was decided by %s)\n", s.Sides)
	}

	// Anomalies about one turn follow it (or its reply, when the server is
	// at fault); the others take their place in time.
	byTurn := make(map[int][]*smtpdecode.Anomaly)
	var evs []event
	for i := range s.Anomalies {
		a := &s.Anomalies[i]
		if a.Command >= 0 && a.Command < len(s.Commands) {
			byTurn[a.Command] = append(byTurn[a.Command], a)
		} else {
			evs = append(evs, event{t: a.Time, idx: -1, anomaly: a})
		}
	}
	if s.Greeting != nil {
		evs = append(evs, event{t: s.Greeting.Time, idx: -1, rep: s.Greeting})
	}
	for i := range s.Commands {
		c := &s.Commands[i]
		if c.Kind != smtpdecode.KindUnmatched {
			evs = append(evs, event{t: c.Time, idx: i, cmd: c})
		}
		if c.Reply != nil {
			evs = append(evs, event{t: c.Reply.Time, idx: i, cmd: c, rep: c.Reply})
		}
	}
	for i := range s.Gaps {
		g := &s.Gaps[i]
		evs = append(evs, event{t: g.Time, idx: -1, gap: g})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.t.Compare(b.t) })

	for _, e := range evs {
		rel := fmt.Sprintf("+%.6f", e.t.Sub(s.Start).Seconds())
		switch {
		case e.anomaly != nil:
			t.anomaly(e.anomaly)
		case e.gap != nil:
			t.line(rel, "", side(e.gap.Dir), t.paint(red, gapText(e.gap.Bytes)))
		case e.rep != nil:
			lat := ""
			if e.cmd != nil && e.cmd.Kind != smtpdecode.KindUnmatched {
				lat = latency(e.cmd.Latency())
			}
			t.reply(rel, lat, e.rep)
			for _, a := range byTurn[e.idx] {
				if a.Dir == smtpdecode.FromServer {
					t.anomaly(a)
				}
			}
		default:
			t.command(rel, e.cmd)
			for _, a := range byTurn[e.idx] {
				if a.Dir == smtpdecode.FromClient || e.cmd.Reply == nil {
					t.anomaly(a)
				}
			}
		}
	}
	if s.TLS {
		t.tls(s)
	}
	if s.DroppedCommands > 0 {
		fmt.Fprintf(w, "  <%d more turns not kept>\n", s.DroppedCommands)
	}
	if s.DroppedTransactions > 0 {
		fmt.Fprintf(w, "  <%d more transactions not kept>\n", s.DroppedTransactions)
	}
	if s.DroppedAnomalies > 0 {
		fmt.Fprintf(w, "  <%d more anomalies not kept>\n", s.DroppedAnomalies)
	}
	if s.DroppedGaps > 0 {
		fmt.Fprintf(w, "  <%d more gaps not listed>\n", s.DroppedGaps)
	}
	fmt.Fprintf(w, "  outcome: %s\n\n", outcome(s, t.paint))
	return w.Flush()
}

// Line writes one free-form line, such as the final count.
func (t *Text) Line(s string) error {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
	return t.w.Flush()
}

func side(d smtpdecode.Direction) string {
	if d == smtpdecode.FromServer {
		return "S"
	}
	return "C"
}

func (t *Text) line(rel, lat, dir, text string) {
	fmt.Fprintf(t.w, "%s  %11s %9s  %s: %s\n", t.prefix, rel, lat, dir, text)
}

func (t *Text) anomaly(a *smtpdecode.Anomaly) {
	text := fmt.Sprintf("! %s: %s", a.ID, Printable(a.Detail))
	if a.Count > 1 {
		text += fmt.Sprintf(" (%d times)", a.Count)
	}
	fmt.Fprintf(t.w, "%s  %11s %9s  %s\n", t.prefix, "", "", t.paint(red, text))
}

func (t *Text) reply(rel, lat string, r *smtpdecode.Reply) {
	failed := r.Code >= 400 || r.Code == 0
	for i, l := range r.Lines {
		last := i == len(r.Lines)-1
		text := l
		if r.Code != 0 {
			sep := "-"
			if last {
				sep = " "
			}
			text = fmt.Sprintf("%03d%s%s", r.Code, sep, l)
			if l == "" && last {
				text = fmt.Sprintf("%03d", r.Code)
			}
		}
		text = Printable(text)
		if failed {
			text = t.paint(red, text)
		}
		if i == 0 && r.Decoded != "" {
			text += t.paint(dim, "  → "+Printable(r.Decoded))
		}
		if last && r.Code >= 300 {
			// Meanings of intermediate and failure replies; every reply's is in JSON.
			if m := smtpdecode.Meaning(r.Code, firstLine(r)); m != "" {
				text += t.paint(dim, "  — "+m)
			}
		}
		if i == 0 {
			t.line(rel, lat, "S", text)
		} else {
			t.line("", "", "S", text)
		}
	}
}

func firstLine(r *smtpdecode.Reply) string {
	if len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[0]
}

func (t *Text) command(rel string, c *smtpdecode.Command) {
	var text string
	switch {
	case c.Kind == smtpdecode.KindMessage:
		m := c.Message
		text = fmt.Sprintf("<message: %d bytes, %d lines", m.Bytes, m.Lines)
		if m.EightBit {
			text += ", 8-bit"
		}
		if m.Missing > 0 {
			text += fmt.Sprintf(", %d bytes lost", m.Missing)
		}
		if !m.Terminated {
			text += ", not terminated"
		}
		text += ">"
	default:
		text = Printable(MaskedLine(c, t.o.ShowSecrets))
		if m := c.Message; m != nil && !t.live {
			text += fmt.Sprintf("  <chunk: %d bytes", m.Bytes)
			if m.Missing > 0 {
				text += fmt.Sprintf(", %d lost", m.Missing)
			}
			if !m.Terminated {
				text += ", cut short"
			}
			text += ">"
		}
	}
	if c.Decoded != "" {
		text += t.paint(dim, "  → "+Printable(c.Decoded))
	}
	if c.Kind == smtpdecode.KindCommand && !smtpdecode.KnownVerb(c.Verb) {
		text += t.paint(dim, "  (unknown command)")
	}
	switch {
	case c.LostReply:
		text += "  <reply lost in a gap>"
	case c.Reply == nil && !t.live && (c.Kind != smtpdecode.KindMessage || c.Message.Terminated):
		text += "  <no reply>"
	}
	t.line(rel, "", "C", text)
	if pm := parsedMessage(c.Message); pm != nil {
		t.message(pm)
	}
	if t.o.Data && c.Message != nil {
		t.content(c.Message)
	}
}

// content prints the kept start of a message, line by line.
func (t *Text) content(m *smtpdecode.Message) {
	data := m.Data
	for len(data) > 0 {
		line, rest, found := bytes.Cut(data, []byte{'\n'})
		if found {
			line = append(line, '\n')
		}
		fmt.Fprintf(t.w, "%s  %11s %9s  C| %s\n", t.prefix, "", "", Printable(string(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte{'\n'}), []byte{'\r'}))))
		data = rest
	}
	if more := m.Bytes - int64(len(m.Data)); more > 0 {
		fmt.Fprintf(t.w, "%s  %11s %9s  C| %s\n", t.prefix, "", "", t.paint(dim, fmt.Sprintf("<%d more bytes not shown>", more)))
	}
}

func (t *Text) tls(s *smtpdecode.Session) {
	what := "after STARTTLS"
	if s.ImplicitTLS {
		what = "implicit TLS"
	}
	var info []string
	for _, v := range []string{s.TLSInfo.Version, s.TLSInfo.Cipher} {
		if v != "" {
			info = append(info, Printable(v))
		}
	}
	if s.TLSInfo.SNI != "" {
		info = append(info, "SNI "+Printable(s.TLSInfo.SNI))
	}
	if len(info) > 0 {
		what += ", " + strings.Join(info, ", ")
	}
	fmt.Fprintf(t.w, "  <encrypted (%s): %d bytes from client, %d from server>\n", what, s.TLSBytes[0], s.TLSBytes[1])
}

// Outcome is the one-line summary of a session the text output ends it with
// (JSON's "outcome"), without colour.
func Outcome(s *smtpdecode.Session) string { return outcome(s, noPaint) }

// outcome is Outcome with failures styled by paint.
func outcome(s *smtpdecode.Session, paint painter) string {
	var parts []string
	if a := s.Auth; a != nil {
		p := "AUTH " + Printable(a.Mechanism)
		if a.Username != "" {
			p += " as " + Printable(a.Username)
		}
		switch {
		case a.Cancelled:
			p += " cancelled"
		case a.Success:
			p += " ok"
		case a.Code == 0:
			p += " unanswered"
		default:
			p = paint(red, fmt.Sprintf("%s failed (%d)", p, a.Code))
		}
		parts = append(parts, p)
	}
	if s.StartTLS || s.ImplicitTLS {
		p := "STARTTLS"
		if s.ImplicitTLS {
			p = "implicit TLS"
		}
		if v := s.TLSInfo.Version; v != "" {
			p += " (" + Printable(v) + ")"
		}
		parts = append(parts, p)
	}
	parts = append(parts, transactions(s, paint)...)
	if n := anomalyCount(s); n > 0 {
		parts = append(parts, paint(red, fmt.Sprintf("%d %s", n, plural(n, "anomaly", "anomalies"))))
	}
	return strings.Join(parts, " · ")
}

func anomalyCount(s *smtpdecode.Session) int {
	n := s.DroppedAnomalies
	for _, a := range s.Anomalies {
		n += a.Count
	}
	return n
}

// transactions summarises the mail transactions of a session.
func transactions(s *smtpdecode.Session, paint painter) []string {
	var accepted, rcptOK, rcptAll int
	var queued []string
	count := make(map[smtpdecode.Outcome]int)
	codes := make(map[smtpdecode.Outcome][]string)
	for i := range s.Transactions {
		tx := &s.Transactions[i]
		count[tx.Outcome]++
		switch tx.Outcome {
		case smtpdecode.OutcomeAccepted:
			accepted++
			rcptOK += tx.Accepted()
			rcptAll += len(tx.Rcpts)
			if tx.QueueID != "" {
				queued = append(queued, Printable(tx.QueueID))
			}
		case smtpdecode.OutcomeRejected:
			code := tx.FinalCode
			if code == 0 {
				code = tx.MailCode
			}
			if code != 0 {
				codes[tx.Outcome] = append(codes[tx.Outcome], fmt.Sprint(code))
			}
		}
	}
	var parts []string
	if accepted > 0 {
		p := fmt.Sprintf("%d %s accepted for %d of %d %s", accepted, plural(accepted, "message", "messages"), rcptOK, rcptAll, plural(rcptAll, "recipient", "recipients"))
		if len(queued) > 0 {
			p += " (queued as " + strings.Join(queued, ", ") + ")"
		}
		parts = append(parts, p)
	}
	if n := count[smtpdecode.OutcomeRejected]; n > 0 {
		p := fmt.Sprintf("%d %s rejected", n, plural(n, "message", "messages"))
		if c := codes[smtpdecode.OutcomeRejected]; len(c) > 0 {
			p += " (" + strings.Join(c, ", ") + ")"
		}
		parts = append(parts, paint(red, p))
	}
	if n := count[smtpdecode.OutcomeAborted]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s aborted", n, plural(n, "transaction", "transactions")))
	}
	if n := count[smtpdecode.OutcomeUnfinished]; n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s unfinished", n, plural(n, "transaction", "transactions")))
	}
	if len(s.Transactions) == 0 && !s.TLS {
		parts = append(parts, "no mail sent")
	}
	return parts
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// MaskedLine is a command line as reports show it: unless showSecrets, the
// credential of an AUTH exchange is replaced by a note of its length. An AUTH
// command keeps its verb and mechanism; no byte of its initial response is
// shown.
func MaskedLine(c *smtpdecode.Command, showSecrets bool) string {
	switch {
	case !c.Secret || showSecrets:
		return c.Line
	case c.Kind == smtpdecode.KindAuthResponse:
		return secretNote(len(c.Line))
	}
	verb := c.Line[:len(c.Line)-len(c.Arg)]    // as sent, with its separator
	mech, ir := smtpdecode.SplitAuthArg(c.Arg) // the decoder's own split
	return strings.TrimRight(verb, " \t") + " " + mech + " " + secretNote(len(ir))
}

func secretNote(n int) string {
	return fmt.Sprintf("<secret: %d bytes, --show-secrets shows it>", n)
}

func gapText(n int) string {
	if n < 0 {
		return "<bytes lost: how many is unknown>"
	}
	return fmt.Sprintf("<%d bytes lost>", n)
}

func closedText(c smtpdecode.Closed) string {
	switch c {
	case smtpdecode.ClosedFIN:
		return "closed by FIN"
	case smtpdecode.ClosedRST:
		return "reset (RST)"
	case smtpdecode.ClosedEvicted:
		return "still open, flushed: too many connections open at once (--max-connections)"
	}
	return "still open at the end"
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

func latency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.3fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3fs", d.Seconds())
}
