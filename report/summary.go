package report

import (
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Summary writes one aligned line per session and totals at the end: the overview of a capture
// with thousands of sessions.
//
// Columns are aligned without holding every session: the first summaryProbe sessions are held
// back to size the columns (each within its limits), then every line is written as its session
// comes, longer values cut with "…". Addresses are never cut; one wider than its column pushes
// the rest of its line. With Width set (a terminal's), the subject, then MAIL FROM, HELO and AUTH
// give up space until a line fits; on a terminal too narrow for every column at its smallest,
// the start shows the time of day only and the columns that matter least are left out.
type Summary struct {
	w     io.Writer
	err   error // the first write error
	o     Options
	width int // the line width to fit, or 0

	held   []summaryRow  // sessions waiting for the column widths
	cols   []int         // the widths, once set
	hidden [numCols]bool // columns left out to fit the width
	short  bool          // start shows the time of day only, to fit the width
	totals summaryTotals
	buf    []byte
	file   string // the capture of the last line
	probe  int    // how many sessions size the columns
}

// SummaryOptions are the Summary's own options.
type SummaryOptions struct {
	// Width is the width lines must fit (the terminal's), or 0 for no limit.
	Width int
	// Stream sizes the columns from the first session instead of the first summaryProbe, so
	// that each line shows as its session ends (a live capture).
	Stream bool
}

// NewSummary returns a Summary writer on w.
func NewSummary(w io.Writer, o Options, so SummaryOptions) *Summary {
	probe := summaryProbe
	if so.Stream {
		probe = 1
	}
	return &Summary{w: w, o: o, width: so.Width, probe: probe}
}

// summaryProbe is how many sessions size the columns.
const summaryProbe = 100

// The columns, in order.
const (
	colID = iota
	colStart
	colClient
	colServer
	colHelo
	colAuth
	colFrom
	colRcpt
	colSize
	colSubject
	colOutcome
	colDuration
	colAnomalies
	numCols
)

// summaryColumns: title, smallest and largest width, whether values are right-aligned, and
// whether they may be cut (addresses and numbers are not).
var summaryColumns = [numCols]struct {
	title    string
	min, max int
	right    bool
	cut      bool
}{
	colID:        {"#", 1, 10, true, false},
	colStart:     {"start (UTC)", 19, 19, false, false},
	colClient:    {"client", 6, 47, false, false},
	colServer:    {"server", 6, 47, false, false},
	colHelo:      {"helo", 4, 24, false, true},
	colAuth:      {"auth", 4, 24, false, true},
	colFrom:      {"mail from", 9, 32, false, true},
	colRcpt:      {"rcpt", 3, 11, true, false}, // accepted/refused
	colSize:      {"size", 4, 7, true, false},
	colSubject:   {"subject", 7, 48, false, true},
	colOutcome:   {"outcome", 7, 22, false, true},
	colDuration:  {"duration", 6, 9, true, false},
	colAnomalies: {"anom", 4, 6, true, false},
}

// summaryDrop lists the columns left out, first to last, when a terminal is too narrow.
var summaryDrop = []int{colHelo, colDuration, colAuth, colSize, colServer, colAnomalies, colRcpt, colSubject}

// summaryRow is one session's cells, already escaped for the terminal.
type summaryRow struct {
	cells  [numCols]string
	failed bool
	file   string // the capture, when several are read
}

// summaryTotals counts what the totals line says.
type summaryTotals struct {
	sessions, failed                                  int
	messages, accepted, rejected, aborted, unfinished int
	rcptOK, rcptNo                                    int
	bytes                                             int64
	authOK, authFailed                                int
	anomalies, anomalous                              int
	start, end                                        time.Time
}

// Session writes the session's line (or holds it while the columns are sized).
func (s *Summary) Session(sess *smtpdecode.Session) error {
	r := s.row(sess)
	if s.cols == nil {
		s.held = append(s.held, r)
		if len(s.held) == s.probe {
			s.size() // writes the held lines, this one too
		}
		return s.err
	}
	if s.short {
		r.cells[colStart] = r.cells[colStart][len("2006-01-02 "):]
	}
	s.line(&r)
	return s.err
}

// Close writes the lines still held and the totals, and flushes.
func (s *Summary) Close() error {
	if s.cols == nil {
		s.size()
	}
	s.totalsLine()
	return s.err
}

// Line writes a line of text after the table (the capture's statistics).
func (s *Summary) Line(text string) error {
	if s.cols == nil {
		s.size()
	}
	s.write([]byte(text + "\n"))
	return s.err
}

// write writes b, keeping the first error.
func (s *Summary) write(b []byte) {
	if s.err == nil {
		_, s.err = s.w.Write(b)
	}
}

// size sets the column widths from the held rows and writes the header and those rows.
func (s *Summary) size() {
	s.cols = make([]int, numCols)
	for c := range numCols {
		w := max(summaryColumns[c].min, displayWidth(summaryColumns[c].title))
		for i := range s.held {
			w = max(w, displayWidth(s.held[i].cells[c]))
		}
		s.cols[c] = min(w, max(summaryColumns[c].max, summaryColumns[c].min))
	}
	if s.width > 0 {
		s.fit()
	}
	var head summaryRow
	for c := range numCols {
		head.cells[c] = summaryColumns[c].title
	}
	if s.short {
		head.cells[colStart] = "UTC"
		for i := range s.held {
			s.held[i].cells[colStart] = s.held[i].cells[colStart][len("2006-01-02 "):]
		}
	}
	s.line(&head)
	for i := range s.held {
		s.line(&s.held[i])
	}
	s.held = nil
}

// summaryCut lists the columns that may be cut.
var summaryCut = []int{colSubject, colFrom, colHelo, colAuth, colOutcome}

// fit makes a line fit s.width. With the columns that may be cut at their narrowest, it decides
// whether the start shows the time of day only and which columns are left out; then the room
// left is shared out among the cut columns, up to their natural widths.
func (s *Summary) fit() {
	over := func() int {
		n := 1 // a space before the first column, two between the others
		for c, w := range s.cols {
			if !s.hidden[c] {
				n += w + 2
			}
		}
		return n - 2 - s.width
	}
	natural := slices.Clone(s.cols)
	for _, c := range summaryCut {
		s.cols[c] = min(s.cols[c], max(summaryColumns[c].min, displayWidth(summaryColumns[c].title)))
	}
	if over() > 0 {
		s.short = true
		s.cols[colStart] = len("15:04:05")
	}
	for _, c := range summaryDrop {
		if over() <= 0 {
			break
		}
		s.hidden[c] = true
	}
	// A column at a time, so that each cut column gets a share.
	for room, grew := -over(), true; room > 0 && grew; {
		grew = false
		for _, c := range summaryCut {
			if room > 0 && !s.hidden[c] && s.cols[c] < natural[c] {
				s.cols[c]++
				room--
				grew = true
			}
		}
	}
}

// line writes one row in the columns.
func (s *Summary) line(r *summaryRow) {
	b := s.buf[:0]
	if r.file != s.file {
		// Several captures: each one's sessions under its name.
		b = appendPrintable(append(b, "== "...), r.file)
		b = append(b, " ==\n"...)
		s.file = r.file
	}
	b = append(b, ' ')
	last := numCols - 1
	for s.hidden[last] {
		last--
	}
	first := true
	for c := range numCols {
		if s.hidden[c] {
			continue
		}
		if !first {
			b = append(b, ' ', ' ')
		}
		first = false
		v := r.cells[c]
		w := s.cols[c]
		n := displayWidth(v)
		if n > w && summaryColumns[c].cut {
			v, n = cutWidth(v, w)
		}
		paint := c == colOutcome && r.failed && s.o.Color
		if summaryColumns[c].right {
			b = appendSpaces(b, w-n)
		}
		if paint {
			b = append(b, red...)
		}
		b = append(b, v...)
		if paint {
			b = append(b, reset...)
		}
		if !summaryColumns[c].right && c < last {
			b = appendSpaces(b, w-n)
		}
	}
	b = append(b, '\n')
	s.write(b)
	s.buf = b
}

func appendSpaces(b []byte, n int) []byte {
	for ; n > 0; n-- {
		b = append(b, ' ')
	}
	return b
}

// row makes the cells of a session's line and counts it in the totals.
func (s *Summary) row(sess *smtpdecode.Session) summaryRow {
	r := summaryRow{file: sess.File}
	t := &s.totals
	t.sessions++
	if t.start.IsZero() || sess.Start.Before(t.start) {
		t.start = sess.Start
	}
	if sess.End.After(t.end) {
		t.end = sess.End
	}
	f := factsOf(sess)
	r.failed = f.failed
	if r.failed {
		t.failed++
	}
	r.cells[colID] = strconv.FormatInt(sess.ID, 10)
	r.cells[colStart] = sess.Start.UTC().Format("2006-01-02 15:04:05")
	r.cells[colClient] = sess.Client.String()
	r.cells[colServer] = sess.Server.String()
	r.cells[colHelo] = "-"
	if sess.Helo != nil {
		r.cells[colHelo] = Printable(sess.Helo.Name)
	}
	r.cells[colAuth] = "-"
	if a := sess.Auth; a != nil {
		who := a.Username
		if who == "" {
			who = a.Mechanism
		}
		switch {
		case a.Success:
			r.cells[colAuth] = Printable(who) + " ok"
			t.authOK++
		case a.Cancelled:
			r.cells[colAuth] = Printable(who) + " cancelled"
		case a.Code == 0:
			r.cells[colAuth] = Printable(who) + " ?"
		default:
			r.cells[colAuth] = Printable(who) + " " + strconv.Itoa(a.Code)
			t.authFailed++
		}
	}
	t.rcptOK += f.rcptOK
	t.rcptNo += f.rcptRefused
	t.bytes += f.size
	t.messages += f.messages
	t.accepted += f.accepted
	t.rejected += f.rejected
	t.aborted += f.aborted
	t.unfinished += f.unfinished
	r.cells[colFrom] = "-"
	r.cells[colRcpt] = "-"
	if n := len(sess.Transactions); n > 0 {
		r.cells[colFrom] = "<" + Printable(f.mailFrom) + ">"
		if n > 1 {
			r.cells[colFrom] += " (+" + strconv.Itoa(n-1) + ")"
		}
		r.cells[colRcpt] = strconv.Itoa(f.rcptOK) + "/" + strconv.Itoa(f.rcptRefused)
	}
	r.cells[colSize] = "-"
	if f.size > 0 {
		r.cells[colSize] = humanBytes(f.size)
	}
	r.cells[colSubject] = "-"
	if f.subjects > 0 {
		r.cells[colSubject] = Printable(f.subject)
		if f.subjects > 1 {
			r.cells[colSubject] = "(+" + strconv.Itoa(f.subjects-1) + ") " + r.cells[colSubject]
		}
	}
	r.cells[colOutcome] = shortOutcome(sess, &f)
	r.cells[colDuration] = shortDuration(sess.End.Sub(sess.Start))
	r.cells[colAnomalies] = strconv.Itoa(f.anomalies)
	if f.anomalies > 0 {
		t.anomalous++
		t.anomalies += f.anomalies
	}
	return r
}

// shortOutcome is a few words on how a session went: what became of its mail, else of its
// AUTH, else that it sent none.
func shortOutcome(s *smtpdecode.Session, f *sessionFacts) string {
	count := func(n int, what string) string {
		if n == 1 {
			return what
		}
		return strconv.Itoa(n) + " " + what
	}
	var parts []string
	if f.accepted > 0 {
		parts = append(parts, count(f.accepted, "sent"))
	}
	if f.rejected > 0 {
		w := count(f.rejected, "rejected")
		if f.rejectCode != 0 {
			w += " " + strconv.Itoa(f.rejectCode)
		}
		parts = append(parts, w)
	}
	if f.aborted > 0 {
		parts = append(parts, count(f.aborted, "aborted"))
	}
	if f.unfinished > 0 {
		parts = append(parts, count(f.unfinished, "unfinished"))
	}
	if len(parts) > 0 {
		return strings.Join(parts, ", ")
	}
	switch {
	case f.authFailed:
		return "auth failed " + strconv.Itoa(s.Auth.Code)
	case s.TLS:
		return "encrypted"
	case s.Greeting != nil && s.Greeting.Code >= 400:
		return "refused " + strconv.Itoa(s.Greeting.Code)
	}
	return "no mail"
}

// Failed reports whether a session had a failure: any 4xx or 5xx reply (greeting, command,
// recipient, message) or an anomaly. It is what --failed selects and what the reports mark.
func Failed(s *smtpdecode.Session) bool {
	if anomalyCount(s) > 0 {
		return true
	}
	if g := s.Greeting; g != nil && g.Code >= 400 {
		return true
	}
	for i := range s.Commands {
		if r := s.Commands[i].Reply; r != nil && r.Code >= 400 {
			return true
		}
	}
	// Commands may have been dropped past the decoder's cap: the transactions keep their codes.
	for i := range s.Transactions {
		tx := &s.Transactions[i]
		if tx.MailCode >= 400 || tx.DataCode >= 400 || tx.FinalCode >= 400 {
			return true
		}
		for _, r := range tx.Rcpts {
			if r.Code >= 400 {
				return true
			}
		}
	}
	return s.Auth != nil && s.Auth.Code >= 400
}

// humanBytes is n in B, K, M or G (powers of 1024), at most 5 characters.
func humanBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	f := float64(n)
	u := -1
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if f < 10 {
		return strconv.FormatFloat(f, 'f', 1, 64) + string(units[u])
	}
	return strconv.FormatFloat(f, 'f', 0, 64) + string(units[u])
}

// shortDuration is d in at most 9 characters: 0.043s, 12.5s, 3m05s, 2h04m, 3d04h.
func shortDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "-"
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		s := int(d / time.Second)
		return strconv.Itoa(s/60) + "m" + pad2(s%60) + "s"
	case d < 100*time.Hour:
		m := int(d / time.Minute)
		return strconv.Itoa(m/60) + "h" + pad2(m%60) + "m"
	}
	h := int(d / time.Hour)
	return strconv.Itoa(h/24) + "d" + pad2(h%24) + "h"
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// totalsLine writes the totals.
func (s *Summary) totalsLine() {
	t := &s.totals
	var b strings.Builder
	b.WriteString(strconv.Itoa(t.sessions))
	b.WriteString(plural(t.sessions, " session", " sessions"))
	if t.sessions > 0 {
		b.WriteString(" over ")
		b.WriteString(shortDuration(t.end.Sub(t.start)))
	}
	if tx := t.accepted + t.rejected + t.aborted + t.unfinished; tx == 0 {
		b.WriteString(" · no mail · ")
	} else {
		// Transactions by outcome, then the messages (transactions that sent content).
		b.WriteString(" · ")
		b.WriteString(strconv.Itoa(tx))
		b.WriteString(plural(tx, " transaction (", " transactions ("))
		b.WriteString(strconv.Itoa(t.accepted))
		b.WriteString(" accepted, ")
		b.WriteString(strconv.Itoa(t.rejected))
		b.WriteString(" rejected")
		for _, o := range []struct {
			n    int
			what string
		}{{t.aborted, " aborted"}, {t.unfinished, " unfinished"}} {
			if o.n > 0 {
				b.WriteString(", ")
				b.WriteString(strconv.Itoa(o.n))
				b.WriteString(o.what)
			}
		}
		b.WriteString("), ")
		b.WriteString(strconv.Itoa(t.messages))
		b.WriteString(plural(t.messages, " message of ", " messages of "))
		b.WriteString(humanBytes(t.bytes))
		b.WriteString(" · ")
	}
	b.WriteString("recipients ")
	b.WriteString(strconv.Itoa(t.rcptOK))
	b.WriteString(" accepted, ")
	b.WriteString(strconv.Itoa(t.rcptNo))
	b.WriteString(" refused")
	if t.authOK+t.authFailed > 0 {
		b.WriteString(" · AUTH ")
		b.WriteString(strconv.Itoa(t.authOK))
		b.WriteString(" ok, ")
		b.WriteString(strconv.Itoa(t.authFailed))
		b.WriteString(" failed")
	}
	b.WriteString(" · ")
	b.WriteString(strconv.Itoa(t.failed))
	b.WriteString(" with failures")
	if t.anomalies > 0 {
		b.WriteString(" · ")
		b.WriteString(strconv.Itoa(t.anomalies))
		b.WriteString(plural(t.anomalies, " anomaly in ", " anomalies in "))
		b.WriteString(strconv.Itoa(t.anomalous))
		b.WriteString(plural(t.anomalous, " session", " sessions"))
	}
	line := b.String()
	if t.failed > 0 && s.o.Color {
		line = strings.Replace(line, strconv.Itoa(t.failed)+" with failures", red+strconv.Itoa(t.failed)+" with failures"+reset, 1)
	}
	s.write([]byte(line + "\n"))
}
