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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

	// Reused from line to line and session to session.
	rel, lat []byte  // the time and latency columns of the line being written
	buf      []byte  // numbers and escaped text on their way to w
	evs      []event // the events of the session being written
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

// paint wraps s in a style when colour is on.
func (t *Text) paint(style, s string) string {
	if !t.o.Color || s == "" {
		return s
	}
	return style + s + reset
}

// styleOn starts a style when colour is on; styleOff ends it.
func (t *Text) styleOn(style string) {
	if t.o.Color {
		t.w.WriteString(style)
	}
}

func (t *Text) styleOff() {
	if t.o.Color {
		t.w.WriteString(reset)
	}
}

// printable writes s escaped (see Printable).
func (t *Text) printable(s string) {
	if !needsEscape(s) {
		t.w.WriteString(s)
		return
	}
	t.buf = appendPrintable(t.buf[:0], s)
	t.w.Write(t.buf)
}

// int writes n in decimal.
func (t *Text) int(n int64) {
	t.buf = strconv.AppendInt(t.buf[:0], n, 10)
	t.w.Write(t.buf)
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
	t.styleOn(bold)
	t.buf = appendSessionTitle(t.buf[:0], s)
	w.Write(t.buf)
	t.styleOff()
	w.WriteString("\n  ")
	t.buf = append(appendSeconds(t.buf[:0], s.End.Sub(s.Start), 3), "s, "...)
	t.buf = append(strconv.AppendInt(t.buf, int64(s.Packets), 10), " packets, "...)
	t.buf = append(strconv.AppendInt(t.buf, s.Bytes[0], 10), " bytes from client, "...)
	t.buf = append(strconv.AppendInt(t.buf, s.Bytes[1], 10), " from server"...)
	if lost := s.Missing[0] + s.Missing[1]; lost > 0 {
		t.buf = append(strconv.AppendInt(append(t.buf, ", "...), lost, 10), " bytes lost"...)
	}
	w.Write(t.buf)
	w.WriteString(", ")
	w.WriteString(closedText(s.Closed))
	w.WriteByte('\n')
	if s.Sides != "" && s.Sides != "syn" {
		fmt.Fprintf(w, "  (no SYN captured: the client side was decided by %s)\n", Printable(s.Sides))
	}

	// Anomalies about one turn follow it (or its reply, when the server is
	// at fault); the others take their place in time.
	var byTurn map[int][]*smtpdecode.Anomaly // made when needed
	evs := t.evs[:0]
	for i := range s.Anomalies {
		a := &s.Anomalies[i]
		if a.Command >= 0 && a.Command < len(s.Commands) {
			if byTurn == nil {
				byTurn = make(map[int][]*smtpdecode.Anomaly)
			}
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
		rel := t.relTime(e.t.Sub(s.Start))
		switch {
		case e.anomaly != nil:
			t.anomaly(e.anomaly)
		case e.gap != nil:
			t.line(rel, nil, side(e.gap.Dir), t.paint(red, gapText(e.gap.Bytes)))
		case e.rep != nil:
			var lat []byte
			if e.cmd != nil && e.cmd.Kind != smtpdecode.KindUnmatched {
				lat = t.latency(e.cmd.Latency())
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
	clear(evs) // keep no session alive through t.evs
	t.evs = evs[:0]
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
	t.buf = appendOutcome(append(t.buf[:0], "  outcome: "...), s, t.o.Color)
	t.buf = append(t.buf, "\n\n"...)
	w.Write(t.buf)
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

// lineStart writes what starts a conversation line: the prefix, the time
// relative to the session's start and the latency of a reply, each
// right-aligned in its column; either may be empty.
func (t *Text) lineStart(rel, lat []byte) {
	t.w.WriteString(t.prefix)
	t.w.WriteString("  ")
	t.column(rel, 11)
	t.w.WriteByte(' ')
	t.column(lat, 9)
	t.w.WriteString("  ")
}

// column writes b right-aligned in width runes, as fmt's %*s does.
func (t *Text) column(b []byte, width int) {
	const spaces = "           "
	if n := width - utf8.RuneCount(b); n > 0 {
		t.w.WriteString(spaces[:n])
	}
	t.w.Write(b)
}

// line writes a whole conversation line: dir is "C" or "S".
func (t *Text) line(rel, lat []byte, dir, text string) {
	t.lineStart(rel, lat)
	t.w.WriteString(dir)
	t.w.WriteString(": ")
	t.w.WriteString(text)
	t.w.WriteByte('\n')
}

func (t *Text) anomaly(a *smtpdecode.Anomaly) {
	t.lineStart(nil, nil)
	t.styleOn(red)
	t.w.WriteString("! ")
	t.w.WriteString(string(a.ID))
	t.w.WriteString(": ")
	t.printable(a.Detail)
	if a.Count > 1 {
		t.w.WriteString(" (")
		t.int(int64(a.Count))
		t.w.WriteString(" times)")
	}
	t.styleOff()
	t.w.WriteByte('\n')
}

func (t *Text) reply(rel, lat []byte, r *smtpdecode.Reply) {
	failed := r.Code >= 400 || r.Code == 0
	for i, l := range r.Lines {
		last := i == len(r.Lines)-1
		if i == 0 {
			t.lineStart(rel, lat)
		} else {
			t.lineStart(nil, nil)
		}
		t.w.WriteString("S: ")
		painted := failed && (r.Code != 0 || l != "") // nothing to paint in an empty line
		if painted {
			t.styleOn(red)
		}
		if r.Code != 0 {
			t.buf = appendCode(t.buf[:0], r.Code)
			if !last {
				t.buf = append(t.buf, '-')
			} else if l != "" {
				t.buf = append(t.buf, ' ')
			}
			t.w.Write(t.buf)
		}
		t.printable(l)
		if painted {
			t.styleOff()
		}
		if i == 0 && r.Decoded != "" {
			t.styleOn(dim)
			t.w.WriteString("  → ")
			t.printable(r.Decoded)
			t.styleOff()
		}
		if last && r.Code >= 300 {
			// Meanings of intermediate and failure replies; every reply's is in JSON.
			if m := smtpdecode.Meaning(r.Code, firstLine(r)); m != "" {
				t.styleOn(dim)
				t.w.WriteString("  — ")
				t.w.WriteString(m)
				t.styleOff()
			}
		}
		t.w.WriteByte('\n')
	}
}

// appendCode appends a reply code as fmt's %03d spells it.
func appendCode(b []byte, code int) []byte {
	if code < 0 {
		return fmt.Appendf(b, "%03d", code)
	}
	for d := 100; d > 1 && code < d; d /= 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(code), 10)
}

func firstLine(r *smtpdecode.Reply) string {
	if len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[0]
}

func (t *Text) command(rel []byte, c *smtpdecode.Command) {
	t.lineStart(rel, nil)
	t.w.WriteString("C: ")
	switch {
	case c.Kind == smtpdecode.KindMessage:
		m := c.Message
		b := strconv.AppendInt(append(t.buf[:0], "<message: "...), m.Bytes, 10)
		b = strconv.AppendInt(append(b, " bytes, "...), int64(m.Lines), 10)
		b = append(b, " lines"...)
		if m.EightBit {
			b = append(b, ", 8-bit"...)
		}
		if m.Missing > 0 {
			b = append(strconv.AppendInt(append(b, ", "...), m.Missing, 10), " bytes lost"...)
		}
		if !m.Terminated {
			b = append(b, ", not terminated"...)
		}
		t.buf = append(b, '>')
		t.w.Write(t.buf)
	default:
		t.printable(MaskedLine(c, t.o.ShowSecrets))
		if m := c.Message; m != nil && !t.live {
			b := append(strconv.AppendInt(append(t.buf[:0], "  <chunk: "...), m.Bytes, 10), " bytes"...)
			if m.Missing > 0 {
				b = append(strconv.AppendInt(append(b, ", "...), m.Missing, 10), " lost"...)
			}
			if !m.Terminated {
				b = append(b, ", cut short"...)
			}
			t.buf = append(b, '>')
			t.w.Write(t.buf)
		}
	}
	if c.Decoded != "" {
		t.styleOn(dim)
		t.w.WriteString("  → ")
		t.printable(c.Decoded)
		t.styleOff()
	}
	if c.Kind == smtpdecode.KindCommand && !smtpdecode.KnownVerb(c.Verb) {
		t.styleOn(dim)
		t.w.WriteString("  (unknown command)")
		t.styleOff()
	}
	switch {
	case c.LostReply:
		t.w.WriteString("  <reply lost in a gap>")
	case c.Reply == nil && !t.live && (c.Kind != smtpdecode.KindMessage || c.Message.Terminated):
		t.w.WriteString("  <no reply>")
	}
	t.w.WriteByte('\n')
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
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		t.lineStart(nil, nil)
		t.w.WriteString("C| ")
		t.printable(string(bytes.TrimSuffix(line, []byte{'\r'})))
		t.w.WriteByte('\n')
		data = rest
	}
	if more := m.Bytes - int64(len(m.Data)); more > 0 {
		t.lineStart(nil, nil)
		t.w.WriteString("C| ")
		t.styleOn(dim)
		t.w.WriteString("<")
		t.int(more)
		t.w.WriteString(" more bytes not shown>")
		t.styleOff()
		t.w.WriteByte('\n')
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
func Outcome(s *smtpdecode.Session) string {
	return string(appendOutcome(make([]byte, 0, 128), s, false))
}

// appendOutcome appends Outcome, with failures in red when color.
func appendOutcome(b []byte, s *smtpdecode.Session, color bool) []byte {
	o := outcomeLine{b: b, color: color}
	if a := s.Auth; a != nil {
		failed := !a.Cancelled && !a.Success && a.Code != 0
		o.part(failed)
		o.str("AUTH ")
		o.printable(a.Mechanism)
		if a.Username != "" {
			o.str(" as ")
			o.printable(a.Username)
		}
		switch {
		case a.Cancelled:
			o.str(" cancelled")
		case a.Success:
			o.str(" ok")
		case a.Code == 0:
			o.str(" unanswered")
		default:
			o.str(" failed (")
			o.int(a.Code)
			o.str(")")
		}
		o.done(failed)
	}
	if s.StartTLS || s.ImplicitTLS {
		o.part(false)
		if s.ImplicitTLS {
			o.str("implicit TLS")
		} else {
			o.str("STARTTLS")
		}
		if v := s.TLSInfo.Version; v != "" {
			o.str(" (")
			o.printable(v)
			o.str(")")
		}
	}
	transactions(&o, s)
	if n := anomalyCount(s); n > 0 {
		o.part(true)
		o.int(n)
		o.str(plural(n, " anomaly", " anomalies"))
		o.done(true)
	}
	return o.b
}

// outcomeLine is an outcome being written: parts separated by " · ",
// failures in red when colour is on.
type outcomeLine struct {
	b     []byte
	color bool
	parts int
}

// part starts a part; done ends it.
func (o *outcomeLine) part(failed bool) {
	if o.parts > 0 {
		o.b = append(o.b, " · "...)
	}
	o.parts++
	if failed && o.color {
		o.b = append(o.b, red...)
	}
}

func (o *outcomeLine) done(failed bool) {
	if failed && o.color {
		o.b = append(o.b, reset...)
	}
}

func (o *outcomeLine) str(s string)       { o.b = append(o.b, s...) }
func (o *outcomeLine) printable(s string) { o.b = appendPrintable(o.b, s) }
func (o *outcomeLine) int(n int)          { o.b = strconv.AppendInt(o.b, int64(n), 10) }

func anomalyCount(s *smtpdecode.Session) int {
	n := s.DroppedAnomalies
	for _, a := range s.Anomalies {
		n += a.Count
	}
	return n
}

// transactions summarises the mail transactions of a session.
func transactions(o *outcomeLine, s *smtpdecode.Session) {
	var accepted, rejected, aborted, unfinished, rcptOK, rcptAll int
	var queued, coded bool
	for i := range s.Transactions {
		tx := &s.Transactions[i]
		switch tx.Outcome {
		case smtpdecode.OutcomeAccepted:
			accepted++
			rcptOK += tx.Accepted()
			rcptAll += len(tx.Rcpts)
			queued = queued || tx.QueueID != ""
		case smtpdecode.OutcomeRejected:
			rejected++
			coded = coded || rejectCode(tx) != 0
		case smtpdecode.OutcomeAborted:
			aborted++
		case smtpdecode.OutcomeUnfinished:
			unfinished++
		}
	}
	if accepted > 0 {
		o.part(false)
		o.int(accepted)
		o.str(plural(accepted, " message", " messages"))
		o.str(" accepted for ")
		o.int(rcptOK)
		o.str(" of ")
		o.int(rcptAll)
		o.str(plural(rcptAll, " recipient", " recipients"))
		if queued {
			o.str(" (queued as ")
			sep := ""
			for i := range s.Transactions {
				if tx := &s.Transactions[i]; tx.Outcome == smtpdecode.OutcomeAccepted && tx.QueueID != "" {
					o.str(sep)
					o.printable(tx.QueueID)
					sep = ", "
				}
			}
			o.str(")")
		}
	}
	if rejected > 0 {
		o.part(true)
		o.int(rejected)
		o.str(plural(rejected, " message", " messages"))
		o.str(" rejected")
		if coded {
			o.str(" (")
			sep := ""
			for i := range s.Transactions {
				if tx := &s.Transactions[i]; tx.Outcome == smtpdecode.OutcomeRejected && rejectCode(tx) != 0 {
					o.str(sep)
					o.int(rejectCode(tx))
					sep = ", "
				}
			}
			o.str(")")
		}
		o.done(true)
	}
	if aborted > 0 {
		o.part(false)
		o.int(aborted)
		o.str(plural(aborted, " transaction", " transactions"))
		o.str(" aborted")
	}
	if unfinished > 0 {
		o.part(false)
		o.int(unfinished)
		o.str(plural(unfinished, " transaction", " transactions"))
		o.str(" unfinished")
	}
	if len(s.Transactions) == 0 && !s.TLS {
		o.part(false)
		o.str("no mail sent")
	}
}

// rejectCode is the code a rejected transaction is summed up by, or 0.
// rejectCode is the reply that refused a rejected transaction: to the
// message's end, to DATA, to MAIL, or else to its first refused recipient
// (when every recipient was refused); 0 when none is known.
func rejectCode(tx *smtpdecode.Transaction) int {
	for _, c := range []int{tx.FinalCode, tx.DataCode, tx.MailCode} {
		if c >= 400 {
			return c
		}
	}
	for _, r := range tx.Rcpts {
		if r.Code >= 400 {
			return r.Code
		}
	}
	return 0
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
	return string(append(appendSeconds(nil, d, 3), 's'))
}

// appendSeconds appends d in seconds with prec decimals, as fmt's %.*f
// spells them.
func appendSeconds(b []byte, d time.Duration, prec int) []byte {
	return strconv.AppendFloat(b, d.Seconds(), 'f', prec, 64)
}

// relTime sets the time column to d past the session's start and returns it.
func (t *Text) relTime(d time.Duration) []byte {
	t.rel = appendSeconds(append(t.rel[:0], '+'), d, 6)
	return t.rel
}

// latency sets the latency column to d and returns it.
func (t *Text) latency(d time.Duration) []byte {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d < time.Millisecond:
		t.lat = append(strconv.AppendFloat(t.lat[:0], ms, 'f', 3, 64), "ms"...)
	case d < time.Second:
		t.lat = append(strconv.AppendFloat(t.lat[:0], ms, 'f', 1, 64), "ms"...)
	default:
		t.lat = append(appendSeconds(t.lat[:0], d, 3), 's')
	}
	return t.lat
}

// appendSessionTitle appends the line that names a session: its number,
// its ends and when it started.
func appendSessionTitle(b []byte, s *smtpdecode.Session) []byte {
	b = strconv.AppendInt(append(b, "Session "...), s.ID, 10)
	b = s.Client.AppendTo(append(b, ": "...))
	b = s.Server.AppendTo(append(b, " -> "...))
	b = s.Start.UTC().AppendFormat(append(b, " at "...), timeLayout)
	if s.File != "" {
		b = appendPrintable(append(b, ", in "...), s.File)
	}
	return b
}
