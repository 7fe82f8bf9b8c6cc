package report

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed" // the page's stylesheet and script
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// The page's stylesheet and script, written for it: the page loads nothing
// else.
var (
	//go:embed htmlassets/report.css
	htmlCSS string
	//go:embed htmlassets/report.js
	htmlJS string
)

// Bounds of the HTML report. Memory holds the overview's counters whatever
// the number of sessions; the rows and details wait on disk, and these
// bound them too, so that a browser can still open the page.
const (
	// htmlMaxDetails is how many sessions get a detail section (ladder,
	// envelope, message, transcript): the first ones in output order. Later
	// sessions get a table row only, and the page says so. A detail
	// section takes about 12 KB: 2,000 of them make a page of 25 MB.
	htmlMaxDetails = 2000
	// htmlMaxRows is how many sessions get a row in the table (about 700
	// bytes each): later ones count in the overview only, and the page
	// says so.
	htmlMaxRows = 100000
	// htmlMaxLadderRows bounds the rows of one ladder diagram; the
	// transcript below it still has every turn.
	htmlMaxLadderRows = 400
	// htmlMaxBars is the most sessions the timeline draws one bar each for;
	// with more it draws a histogram of session starts.
	htmlMaxBars = 60
	// htmlHistBuckets is the histogram's resolution.
	htmlHistBuckets = 100
	// htmlTopKept is how many servers and senders are counted
	// (space-saving: past it the least counted one gives way, and the
	// counts shown become upper bounds, marked "≤").
	htmlTopKept = 1000
	// htmlTopShown is how many of them the overview lists.
	htmlTopShown = 8
)

// HTMLInfo describes the report as a whole.
type HTMLInfo struct {
	Title string   // the page's title; "" for one made from Files
	Files []string // the captures read, as named on the command line
}

// HTML writes a self-contained HTML page: an overview of the capture, a
// sortable table of its sessions and, for each session, a ladder diagram of
// the conversation, its envelope and message, and its transcript. The page
// works offline: its only script and stylesheet are inline, and its Content
// Security Policy lets nothing else run or load.
//
// Session is called once per session, in output order; Close writes the
// page. Memory stays bounded whatever the number of sessions: no session is
// kept, table rows and detail sections wait in two temporary files until
// Close (which removes them), and the overview keeps only counters.
type HTML struct {
	w    io.Writer
	o    Options
	info HTMLInfo

	rows, details *os.File // temporary files, removed by Close
	rw, dw        *bufio.Writer
	err           error // the first error, returned from then on
	closed        bool

	fileTrim [2]int // bytes the captures' names share at their start and end

	n     int64 // sessions written
	stats htmlStats
	bars  []htmlBar // the first htmlMaxBars sessions, for the timeline
	hist  htmlHist
	top   [2]htmlTop // servers, senders

	text *Text // writes each transcript into tbuf
	tbuf bytes.Buffer
	buf  []byte      // a row or detail section on its way to its file
	evs  []htmlEvent // the ladder being drawn, reused
}

// htmlStats are the overview's counters.
type htmlStats struct {
	failed                    int64
	accepted, rejected, other int64 // transactions
	rcptOK, rcptRefused       int64
	auth, authFailed, tls     int64
	bytes, lost, anomalies    int64
	first, last               time.Time
}

// htmlBar is one session on the timeline.
type htmlBar struct {
	seq        int64
	id         int64
	start, end time.Time
	failed     bool
	title      string
}

// NewHTML returns an HTML writer on w. It creates the temporary files the
// page is gathered in; Close removes them.
func NewHTML(w io.Writer, o Options, info HTMLInfo) (*HTML, error) {
	h := &HTML{w: w, o: o, info: info}
	var err error
	if h.rows, err = os.CreateTemp("", "smtpscope-html-rows-*"); err != nil {
		return nil, fmt.Errorf("report: html: %w", err)
	}
	if h.details, err = os.CreateTemp("", "smtpscope-html-details-*"); err != nil {
		h.removeTemp()
		return nil, fmt.Errorf("report: html: %w", err)
	}
	// Unlinked at once where the system allows it (they hold mail): nothing is left behind
	// however the program ends. Elsewhere Close removes them.
	for _, f := range []*os.File{h.rows, h.details} {
		os.Remove(f.Name())
	}
	h.rw = bufio.NewWriterSize(h.rows, 64<<10)
	h.dw = bufio.NewWriterSize(h.details, 64<<10)
	h.text = NewText(&h.tbuf, Options{ShowSecrets: o.ShowSecrets, Data: o.Data})
	for i := range h.top {
		h.top[i].idx = make(map[string]int)
	}
	h.fileTrim = htmlFileTrim(info.Files)
	return h, nil
}

// errHTMLClosed is returned by Session after Close.
var errHTMLClosed = errors.New("report: html: session after Close")

// Session adds one session to the page.
func (h *HTML) Session(s *smtpdecode.Session) error {
	if h.closed {
		return errHTMLClosed
	}
	if h.err != nil {
		return h.err
	}
	h.n++
	sum := htmlSummarize(s)
	h.account(s, &sum)
	if h.n > htmlMaxRows {
		return nil
	}
	detail := h.n <= htmlMaxDetails
	h.buf = h.row(h.buf[:0], s, &sum, detail)
	if _, err := h.rw.Write(h.buf); err != nil {
		h.err = fmt.Errorf("report: html: %w", err)
		return h.err
	}
	if detail {
		h.buf = h.detail(h.buf[:0], s, &sum)
		if _, err := h.dw.Write(h.buf); err != nil {
			h.err = fmt.Errorf("report: html: %w", err)
			return h.err
		}
	}
	if cap(h.buf) > 4<<20 {
		h.buf = nil // one huge session keeps no huge buffer alive
	}
	return nil
}

// Close writes the page to w and removes the temporary files. Call it once,
// also after an error.
func (h *HTML) Close() error {
	if h.closed {
		return nil
	}
	h.closed = true
	defer h.removeTemp()
	if h.err != nil {
		return h.err
	}
	for _, f := range []*bufio.Writer{h.rw, h.dw} {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("report: html: %w", err)
		}
	}
	bw := bufio.NewWriterSize(h.w, 64<<10)
	b := h.head(h.buf[:0])
	b = h.overview(b)
	b = h.tableStart(b)
	bw.Write(b)
	if err := htmlCopy(bw, h.rows); err != nil {
		return err
	}
	b = append(b[:0], "</tbody>\n</table>\n</div>\n"...)
	if h.n == 0 {
		b = append(b, `<p class="empty">No SMTP session was found.</p>`+"\n"...)
	}
	if h.n > htmlMaxDetails {
		b = fmt.Appendf(b, `<p class="note">Only the first %s sessions have a detail section; the %s after them have their table row only.</p>`+"\n",
			htmlCount(htmlMaxDetails), htmlCount(min(h.n, htmlMaxRows)-htmlMaxDetails))
	}
	if h.n > htmlMaxRows {
		b = fmt.Appendf(b, `<p class="note">The table lists the first %s sessions; the %s after them count in the overview only.</p>`+"\n",
			htmlCount(htmlMaxRows), htmlCount(h.n-htmlMaxRows))
	}
	b = append(b, "</section>\n"...)
	if h.n > 0 {
		b = append(b, `<section id="details" aria-label="Sessions in detail">`+"\n"...)
	}
	bw.Write(b)
	if err := htmlCopy(bw, h.details); err != nil {
		return err
	}
	b = b[:0]
	if h.n > 0 {
		b = append(b, "</section>\n"...)
	}
	b = append(b, "</main>\n<footer>Made by smtpscope from "...)
	b = h.filesText(b)
	b = append(b, ". Secrets are "...)
	if h.o.ShowSecrets {
		b = append(b, "shown (--show-secrets)"...)
	} else {
		b = append(b, "masked"...)
	}
	b = append(b, ".</footer>\n<script>"...)
	b = append(b, htmlJS...)
	b = append(b, "</script>\n</body>\n</html>\n"...)
	bw.Write(b)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// htmlCopy copies f from its start to w.
func htmlCopy(w io.Writer, f *os.File) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

func (h *HTML) removeTemp() {
	for _, f := range []*os.File{h.rows, h.details} {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

// htmlSummary is what the table row and the overview take from a session.
type htmlSummary struct {
	sessionFacts
	status, statusClass string
	greetName           string
	anomalyIDs          string
}

// htmlSummarize sums up a session.
func htmlSummarize(s *smtpdecode.Session) htmlSummary {
	m := htmlSummary{sessionFacts: factsOf(s)}
	switch {
	case m.rejected > 0:
		m.status, m.statusClass = "rejected", "bad"
	case m.authFailed:
		m.status, m.statusClass = "auth failed", "bad"
	case m.accepted > 0:
		m.status, m.statusClass = "accepted", "ok"
	case s.TLS:
		m.status, m.statusClass = "encrypted", "tls"
	case s.Greeting != nil && s.Greeting.Code >= 400:
		m.status, m.statusClass = "refused", "bad"
	case len(s.Transactions) > 0:
		m.status, m.statusClass = "unfinished", "muted"
	default:
		m.status, m.statusClass = "no mail", "muted"
	}
	if g := s.Greeting; g != nil && g.Code == 220 && len(g.Lines) > 0 {
		m.greetName, _, _ = strings.Cut(strings.TrimSpace(g.Lines[0]), " ")
	}
	var ids []string
	for _, a := range s.Anomalies {
		if !slices.Contains(ids, string(a.ID)) {
			ids = append(ids, string(a.ID))
		}
	}
	m.anomalyIDs = strings.Join(ids, ", ")
	return m
}

// account adds a session to the overview.
func (h *HTML) account(s *smtpdecode.Session, m *htmlSummary) {
	st := &h.stats
	if m.failed {
		st.failed++
	}
	st.accepted += int64(m.accepted)
	st.rejected += int64(m.rejected)
	st.other += int64(len(s.Transactions) - m.accepted - m.rejected)
	st.rcptOK += int64(m.rcptOK)
	st.rcptRefused += int64(m.rcptRefused)
	if s.Auth != nil {
		st.auth++
		if m.authFailed {
			st.authFailed++
		}
	}
	if s.TLS {
		st.tls++
	}
	st.bytes += s.Bytes[0] + s.Bytes[1]
	st.lost += s.Missing[0] + s.Missing[1]
	st.anomalies += int64(m.anomalies)
	end := s.End
	if end.Before(s.Start) {
		end = s.Start
	}
	if st.first.IsZero() || s.Start.Before(st.first) {
		st.first = s.Start
	}
	if end.After(st.last) {
		st.last = end
	}
	h.hist.add(s.Start.UnixNano(), m.failed)
	if h.n <= htmlMaxBars {
		title := fmt.Sprintf("Session %d: %s → %s, %s · %s", s.ID, s.Client, s.Server, seconds(end.Sub(s.Start)), Outcome(s))
		h.bars = append(h.bars, htmlBar{seq: h.n, id: s.ID, start: s.Start, end: end, failed: m.failed, title: title})
	} else {
		h.bars = nil
	}
	h.top[0].add(s.Server.String(), m.greetName)
	for i := range s.Transactions {
		from := s.Transactions[i].MailFrom
		if from == "" {
			from = "<>"
		}
		h.top[1].add(from, "")
	}
}

// Text on the page.

// appendHTML appends s, text from a capture, escaped for HTML element
// content and double-quoted attribute values: first as Printable escapes
// it, so no control or invisible character reaches the page, then &, <, >,
// " and ' as character references.
func appendHTML(b []byte, s string) []byte {
	if needsEscape(s) {
		s = Printable(s)
	}
	return appendHTMLEscaped(b, s)
}

// appendHTMLEscaped appends s, text already made printable (Printable's
// output, or lines of it joined by newlines), escaped for HTML. Should it
// hold what Printable escapes other than a newline, tab or backslash — a
// control character, invalid UTF-8, an invisible character — that is
// escaped as Printable escapes it: nothing raw reaches the page.
func appendHTMLEscaped(b []byte, s string) []byte {
	start := 0 // s[start:i] is still to be copied as it is
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		switch {
		case c == '&':
			rep = "&amp;"
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '"':
			rep = "&quot;"
		case c == '\'':
			rep = "&#39;"
		case c == '\n' || c == '\t' || c == '\\' || (c >= 0x20 && c < 0x7f):
			i++
			continue
		default:
			n := 1
			if c >= utf8.RuneSelf {
				var r rune
				r, n = utf8.DecodeRuneInString(s[i:])
				if n > 1 && unicode.IsPrint(r) {
					i += n
					continue
				}
			}
			b = append(b, s[start:i]...)
			b = appendPrintable(b, s[i:i+n])
			i += n
			start = i
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, rep...)
		i++
		start = i
	}
	return append(b, s[start:]...)
}

// htmlCount is n with thousands separated: 12,345.
func htmlCount(n int64) string { return string(appendCount(nil, n)) }

func appendCount(b []byte, n int64) []byte {
	if n < 0 {
		b = append(b, '-')
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return b
}

// appendSize appends n bytes in B, KiB, MiB, GiB or TiB.
func appendSize(b []byte, n int64) []byte {
	if n < 1024 {
		return append(strconv.AppendInt(b, n, 10), " B"...)
	}
	const units = "KMGTPE"
	f, u := float64(n)/1024, 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	prec := 1
	if f >= 100 {
		prec = 0
	}
	b = strconv.AppendFloat(b, f, 'f', prec, 64)
	return append(append(append(b, ' '), units[u]), "iB"...)
}

// htmlDuration is d for people: 0.032 s, 12.5 s, 3 min 05 s, 2 h 04 min,
// 3 d 04 h.
func htmlDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return string(appendSeconds(nil, d, 3)) + " s"
	case d < time.Minute:
		return string(appendSeconds(nil, d, 1)) + " s"
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", d/time.Minute, d%time.Minute/time.Second)
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %02d min", d/time.Hour, d%time.Hour/time.Minute)
	}
	return fmt.Sprintf("%d d %02d h", d/(24*time.Hour), d%(24*time.Hour)/time.Hour)
}

// htmlCodeClass is the class of a reply code: ok, int(ermediate) or bad.
func htmlCodeClass(code int) string {
	switch {
	case code >= 400 || code == 0:
		return "bad"
	case code >= 300:
		return "int"
	}
	return "ok"
}

// appendCodeSpan appends a reply code with its meaning as a tooltip.
func appendCodeSpan(b []byte, code int) []byte {
	if code == 0 {
		return append(b, `<span class="code muted">—</span>`...)
	}
	b = append(b, `<span class="code `...)
	b = append(b, htmlCodeClass(code)...)
	b = append(b, '"')
	if m := smtpdecode.Meaning(code, ""); m != "" {
		b = append(b, ` title="`...)
		b = appendHTML(b, m)
		b = append(b, '"')
	}
	b = append(b, '>')
	b = appendCode(b, code)
	return append(b, "</span>"...)
}

// The page's parts.

// htmlCSP is the page's Content Security Policy: nothing loads, and only the
// page's own stylesheet and script, named by their hashes, apply and run.
func htmlCSP() string {
	css := sha256.Sum256([]byte(htmlCSS))
	js := sha256.Sum256([]byte(htmlJS))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(css[:]) +
		"'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(js[:]) +
		"'; img-src data:; base-uri 'none'; form-action 'none'"
}

// title is the page's title.
func (h *HTML) title() string {
	switch {
	case h.info.Title != "":
		return h.info.Title
	case len(h.info.Files) == 1:
		return "smtpscope: " + h.info.Files[0]
	case len(h.info.Files) > 1:
		return "smtpscope: " + strconv.Itoa(len(h.info.Files)) + " captures"
	}
	return "smtpscope report"
}

// filesText appends the captures read, escaped: at most 10, and how many
// more.
func (h *HTML) filesText(b []byte) []byte {
	if len(h.info.Files) == 0 {
		return append(b, "a capture"...)
	}
	for i, f := range h.info.Files {
		if i == 10 {
			return fmt.Appendf(b, " and %s more", htmlCount(int64(len(h.info.Files)-i)))
		}
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, "<code>"...)
		b = appendHTML(b, f)
		b = append(b, "</code>"...)
	}
	return b
}

func (h *HTML) head(b []byte) []byte {
	b = append(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"...)
	b = append(b, `<meta http-equiv="Content-Security-Policy" content="`...)
	b = append(b, htmlCSP()...)
	b = append(b, "\">\n"...)
	b = append(b, `<meta name="viewport" content="width=device-width, initial-scale=1">`+"\n"...)
	b = append(b, `<meta name="color-scheme" content="light dark">`+"\n"...)
	b = append(b, `<meta name="generator" content="smtpscope">`+"\n"...)
	b = append(b, `<link rel="icon" href="data:,">`+"\n<title>"...)
	b = appendHTML(b, h.title())
	b = append(b, "</title>\n<style>"...)
	b = append(b, htmlCSS...)
	b = append(b, "</style>\n</head>\n<body>\n<header class=\"page\">\n<h1>"...)
	b = appendHTML(b, h.title())
	b = append(b, "</h1>\n<p class=\"sub\">"...)
	b = appendCount(b, h.n)
	b = append(b, plural(int(min(h.n, 2)), " SMTP session", " SMTP sessions")...)
	b = append(b, " from "...)
	b = h.filesText(b)
	if st := &h.stats; h.n > 0 {
		b = append(b, " · "...)
		b = st.first.UTC().AppendFormat(b, timeLayout)
		b = append(b, " to "...)
		b = st.last.UTC().AppendFormat(b, timeLayout)
	}
	b = append(b, "</p>\n<nav><a href=\"#overview\">Overview</a> <a href=\"#sessions\">Sessions</a>"...)
	if h.n > 0 {
		b = append(b, " <a href=\"#details\">Details</a>"...)
	}
	return append(b, "</nav>\n</header>\n<main>\n"...)
}

// overview appends the cards of counts, the top lists and the timeline.
func (h *HTML) overview(b []byte) []byte {
	st := &h.stats
	b = append(b, "<section id=\"overview\" aria-label=\"Overview\">\n<div class=\"cards\">\n"...)
	card := func(label string, n int64, class string, sub string) {
		b = append(b, `<div class="card`...)
		if class != "" {
			b = append(b, ' ')
			b = append(b, class...)
		}
		b = append(b, `"><div class="n">`...)
		b = appendCount(b, n)
		b = append(b, `</div><div class="l">`...)
		b = append(b, label...)
		b = append(b, `</div>`...)
		if sub != "" {
			b = append(b, `<div class="s">`...)
			b = append(b, sub...) // built here, from numbers
			b = append(b, `</div>`...)
		}
		b = append(b, "</div>\n"...)
	}
	bad := func(n int64) string {
		if n > 0 {
			return "bad"
		}
		return ""
	}
	span := st.last.Sub(st.first)
	card("sessions", h.n, "", "over "+htmlDuration(span))
	card("messages accepted", st.accepted, "good", htmlCount(st.rcptOK)+plural(int(min(st.rcptOK, 2)), " recipient", " recipients")+" accepted")
	rejected := htmlCount(st.rcptRefused) + plural(int(min(st.rcptRefused, 2)), " recipient", " recipients") + " refused"
	if st.other > 0 {
		rejected += ", " + htmlCount(st.other) + plural(int(min(st.other, 2)), " transaction", " transactions") + " aborted or unfinished"
	}
	card("messages rejected", st.rejected, bad(st.rejected), rejected)
	card("sessions with failures", st.failed, bad(st.failed), "a 4xx/5xx reply or an anomaly")
	card("AUTH failures", st.authFailed, bad(st.authFailed), "of "+htmlCount(st.auth)+plural(int(min(st.auth, 2)), " AUTH exchange", " AUTH exchanges"))
	card("TLS sessions", st.tls, "tls", "STARTTLS or implicit TLS")
	card("anomalies", st.anomalies, bad(st.anomalies), "protocol rules broken")
	var sz []byte
	sz = appendSize(sz, st.bytes)
	lost := "none lost"
	if st.lost > 0 {
		lost = string(appendSize(nil, st.lost)) + " lost in gaps"
	}
	b = append(b, `<div class="card"><div class="n">`...)
	b = append(b, sz...)
	b = append(b, `</div><div class="l">bytes of SMTP</div><div class="s`...)
	if st.lost > 0 {
		b = append(b, ` bad`...)
	}
	b = append(b, `">`...)
	b = append(b, lost...)
	b = append(b, "</div></div>\n</div>\n"...)

	b = append(b, "<div class=\"tops\">\n"...)
	b = h.top[0].appendList(b, "Top servers", "server")
	b = h.top[1].appendList(b, "Top senders (MAIL FROM)", "sender")
	b = append(b, "</div>\n"...)
	if h.n > 0 {
		b = append(b, "<div class=\"panel timeline\">\n<h2>Timeline</h2>\n"...)
		if h.bars != nil {
			b = h.timelineBars(b)
		} else {
			b = h.hist.appendSVG(b, h.stats.first)
		}
		b = append(b, "</div>\n"...)
	}
	return append(b, "</section>\n"...)
}

// tableStart appends the sessions table's heading; the rows follow.
func (h *HTML) tableStart(b []byte) []byte {
	b = append(b, "<section id=\"sessions\" aria-label=\"Sessions\">\n<h2>Sessions</h2>\n"...)
	b = append(b, `<div class="tools" id="tools" hidden><input type="search" id="filter" placeholder="Filter sessions: address, name, subject, code…" aria-label="Filter sessions" autocomplete="off"> <span id="shown" class="muted"></span></div>`+"\n"...)
	b = append(b, "<div class=\"scroll\">\n<table id=\"table\" class=\"sessions\">\n<thead><tr>"...)
	cols := []struct{ name, sort, title string }{
		{"#", "num", "session number"},
		{"File", "text", "the capture it came from"},
		{"Start", "num", "when the connection started (UTC)"},
		{"Client", "text", ""},
		{"Server", "text", ""},
		{"HELO", "text", "the name the client gave in HELO or EHLO"},
		{"AUTH", "text", "the AUTH user and how it ended"},
		{"MAIL FROM", "text", "the first transaction's reverse-path (+ how many more)"},
		{"Rcpts", "num", "recipients accepted (and refused)"},
		{"Size", "num", "message bytes"},
		{"Subject", "text", "the first message's subject"},
		{"Outcome", "text", "hover for the whole outcome"},
		{"Duration", "num", ""},
		{"Anomalies", "num", ""},
	}
	for _, c := range cols {
		if c.name == "File" && len(h.info.Files) < 2 {
			continue
		}
		b = append(b, `<th scope="col" data-sort="`...)
		b = append(b, c.sort...)
		b = append(b, '"')
		if c.title != "" {
			b = append(b, ` title="`...)
			b = append(b, c.title...)
			b = append(b, '"')
		}
		b = append(b, '>')
		b = append(b, c.name...)
		b = append(b, "</th>"...)
	}
	return append(b, "</tr></thead>\n<tbody>\n"...)
}

// row appends a session's table row.
func (h *HTML) row(b []byte, s *smtpdecode.Session, m *htmlSummary, linked bool) []byte {
	b = append(b, `<tr`...)
	if m.failed {
		b = append(b, ` class="fail"`...)
	}
	b = append(b, `><td data-v="`...)
	b = strconv.AppendInt(b, h.n, 10)
	b = append(b, `">`...)
	if linked {
		b = append(b, `<a href="#s`...)
		b = strconv.AppendInt(b, h.n, 10)
		b = append(b, `">`...)
		b = strconv.AppendInt(b, s.ID, 10)
		b = append(b, `</a>`...)
	} else {
		b = strconv.AppendInt(b, s.ID, 10)
	}
	b = append(b, "</td>"...)
	if len(h.info.Files) > 1 {
		b = htmlFileCell(b, s.File, h.fileTrim)
	}
	// Start: the time of day, the whole time as a tooltip.
	b = append(b, `<td class="num" data-v="`...)
	b = strconv.AppendInt(b, s.Start.UnixNano(), 10)
	b = append(b, `" title="`...)
	b = s.Start.UTC().AppendFormat(b, timeLayout)
	b = append(b, `">`...)
	b = s.Start.UTC().AppendFormat(b, "15:04:05")
	b = append(b, `</td><td class="mono">`...)
	b = s.Client.AppendTo(b)
	b = append(b, `</td><td class="mono">`...)
	b = s.Server.AppendTo(b)
	b = append(b, `</td>`...)
	// HELO
	if s.Helo != nil {
		b = htmlCutCell(b, "mono", s.Helo.Name, 21)
	} else {
		b = append(b, `<td class="muted">—</td>`...)
	}
	// AUTH
	if a := s.Auth; a != nil {
		b = append(b, `<td>`...)
		if a.Username != "" {
			b = appendHTMLEscaped(b, fitWidth(Printable(a.Username), 24))
			b = append(b, ' ')
		}
		var word, class string
		switch {
		case a.Cancelled:
			word, class = "cancelled", "muted"
		case a.Success:
			word, class = "ok", "ok"
		case a.Code == 0:
			word, class = "unanswered", "muted"
		default:
			word, class = "failed", "bad"
		}
		b = append(b, `<span class="pill `...)
		b = append(b, class...)
		b = append(b, `" title="AUTH `...)
		b = appendHTML(b, a.Mechanism)
		if a.Code != 0 {
			b = append(b, ": "...)
			b = appendCode(b, a.Code)
		}
		b = append(b, `">`...)
		b = append(b, word...)
		b = append(b, `</span></td>`...)
	} else {
		b = append(b, `<td class="muted">—</td>`...)
	}
	// MAIL FROM
	switch {
	case len(s.Transactions) == 0:
		b = append(b, `<td class="muted">—</td>`...)
	default:
		from := m.mailFrom
		if from == "" {
			from = "<>"
		}
		b = append(b, `<td class="mono" data-v="`...)
		b = appendHTML(b, from)
		b = append(b, `" title="`...)
		b = appendHTML(b, from)
		b = append(b, `">`...)
		b = appendHTMLEscaped(b, fitWidth(Printable(from), 24))
		if len(s.Transactions) > 1 {
			b = append(b, ` <span class="more">+`...)
			b = strconv.AppendInt(b, int64(len(s.Transactions)-1), 10)
			b = append(b, ` more</span>`...)
		}
		b = append(b, `</td>`...)
	}
	// Recipients
	b = append(b, `<td class="num" data-v="`...)
	b = strconv.AppendInt(b, int64(m.rcptOK), 10)
	b = append(b, `">`...)
	if len(s.Transactions) == 0 {
		b = append(b, `<span class="muted">—</span>`...)
	} else {
		b = strconv.AppendInt(b, int64(m.rcptOK), 10)
	}
	if m.rcptRefused > 0 {
		b = append(b, ` <span class="refused">`...)
		b = strconv.AppendInt(b, int64(m.rcptRefused), 10)
		b = append(b, ` refused</span>`...)
	}
	b = append(b, `</td>`...)
	// Size
	b = append(b, `<td class="num" data-v="`...)
	b = strconv.AppendInt(b, m.size, 10)
	b = append(b, `">`...)
	if len(s.Transactions) == 0 {
		b = append(b, `<span class="muted">—</span>`...)
	} else {
		b = appendSize(b, m.size)
	}
	b = append(b, `</td>`...)
	// Subject
	if m.subjects > 0 {
		b = htmlCutCell(b, "subject", m.subject, 48)
	} else {
		b = append(b, `<td></td>`...)
	}
	// Outcome
	b = append(b, `<td data-v="`...)
	b = append(b, m.status...)
	b = append(b, `"><span class="pill `...)
	b = append(b, m.statusClass...)
	b = append(b, `" title="`...)
	b = appendHTMLEscaped(b, Outcome(s))
	b = append(b, `">`...)
	b = append(b, m.status...)
	b = append(b, `</span></td>`...)
	// Duration
	d := s.End.Sub(s.Start)
	b = append(b, `<td class="num" data-v="`...)
	b = strconv.AppendInt(b, int64(d), 10)
	b = append(b, `">`...)
	b = append(appendSeconds(b, d, 3), " s</td>"...)
	// Anomalies
	b = append(b, `<td class="num`...)
	if m.anomalies > 0 {
		b = append(b, ` bad" title="`...)
		b = appendHTML(b, m.anomalyIDs)
	}
	b = append(b, `" data-v="`...)
	b = strconv.AppendInt(b, int64(m.anomalies), 10)
	b = append(b, `">`...)
	if m.anomalies > 0 {
		b = strconv.AppendInt(b, int64(m.anomalies), 10)
	}
	return append(b, "</td></tr>\n"...)
}

// htmlFileTrim is how much of the start and end of the capture names the
// table leaves out, so that its file column shows what tells them apart:
// the directories all of them start with, and the end all of them share
// from a slash or dot on ("testdata/", "/input.pcap").
func htmlFileTrim(files []string) [2]int {
	if len(files) < 2 {
		return [2]int{}
	}
	pre, suf := files[0], files[0]
	for _, f := range files[1:] {
		n := 0
		for n < len(pre) && n < len(f) && pre[n] == f[n] {
			n++
		}
		pre = pre[:n]
		n = 0
		for n < len(suf) && n < len(f) && suf[len(suf)-1-n] == f[len(f)-1-n] {
			n++
		}
		suf = suf[len(suf)-n:]
	}
	pre = pre[:strings.LastIndexByte(pre, '/')+1]
	if i := strings.IndexAny(suf, "/."); i >= 0 {
		suf = suf[i:]
	} else {
		suf = ""
	}
	shortest := len(files[0])
	for _, f := range files {
		shortest = min(shortest, len(f))
	}
	if len(pre)+len(suf) >= shortest {
		return [2]int{}
	}
	return [2]int{len(pre), len(suf)}
}

// htmlFileCell appends the table cell naming the capture a session came
// from, trimmed as htmlFileTrim says, cut to 24 columns from the left (the
// end of a path tells most).
func htmlFileCell(b []byte, file string, trim [2]int) []byte {
	short := file
	if trim[0]+trim[1] < len(file) {
		short = file[trim[0] : len(file)-trim[1]]
	}
	p, ps := Printable(file), fitWidthLeft(Printable(short), 24)
	b = append(b, `<td class="file" data-v="`...)
	b = appendHTMLEscaped(b, p)
	b = append(b, '"')
	if ps != p {
		b = append(b, ` title="`...)
		b = appendHTMLEscaped(b, p)
		b = append(b, '"')
	}
	b = append(b, '>')
	b = appendHTMLEscaped(b, ps)
	return append(b, "</td>"...)
}

// htmlCutCell appends a table cell with captured text cut to n columns,
// the whole text its tooltip and sort key.
func htmlCutCell(b []byte, class, s string, n int) []byte {
	p := Printable(s)
	b = append(b, `<td class="`...)
	b = append(b, class...)
	b = append(b, `" data-v="`...)
	b = appendHTMLEscaped(b, p)
	b = append(b, '"')
	short := fitWidth(p, n)
	if short != p {
		b = append(b, ` title="`...)
		b = appendHTMLEscaped(b, p)
		b = append(b, '"')
	}
	b = append(b, '>')
	b = appendHTMLEscaped(b, short)
	return append(b, "</td>"...)
}

// The detail section of a session.

func (h *HTML) detail(b []byte, s *smtpdecode.Session, m *htmlSummary) []byte {
	b = append(b, `<section class="session`...)
	if m.failed {
		b = append(b, ` fail`...)
	}
	b = append(b, `" id="s`...)
	b = strconv.AppendInt(b, h.n, 10)
	b = append(b, "\">\n<h2><a href=\"#s"...)
	b = strconv.AppendInt(b, h.n, 10)
	b = append(b, `">Session `...)
	b = strconv.AppendInt(b, s.ID, 10)
	b = append(b, `</a> <span class="mono">`...)
	b = s.Client.AppendTo(b)
	b = append(b, ` → `...)
	b = s.Server.AppendTo(b)
	b = append(b, `</span> <span class="pill `...)
	b = append(b, m.statusClass...)
	b = append(b, `">`...)
	b = append(b, m.status...)
	b = append(b, "</span></h2>\n<p class=\"meta\">"...)
	if s.File != "" {
		b = append(b, `<code>`...)
		b = appendHTML(b, s.File)
		b = append(b, `</code> · `...)
	}
	b = s.Start.UTC().AppendFormat(b, timeLayout)
	b = append(b, " · "...)
	b = append(appendSeconds(b, s.End.Sub(s.Start), 3), " s · "...)
	b = appendCount(b, int64(s.Packets))
	b = append(b, " packets · "...)
	b = appendCount(b, s.Bytes[0])
	b = append(b, " bytes from client, "...)
	b = appendCount(b, s.Bytes[1])
	b = append(b, " from server"...)
	if lost := s.Missing[0] + s.Missing[1]; lost > 0 {
		b = append(b, ` · <span class="bad">`...)
		b = appendCount(b, lost)
		b = append(b, ` bytes lost</span>`...)
	}
	b = append(b, " · "...)
	b = append(b, closedText(s.Closed)...)
	if s.Sides != "" && s.Sides != "syn" {
		b = append(b, " · no SYN captured: the client side was decided by "...)
		b = appendHTML(b, s.Sides)
	}
	b = append(b, "</p>\n<p class=\"outcome-line"...)
	if m.failed {
		b = append(b, ` bad`...)
	}
	b = append(b, `">`...)
	b = appendHTMLEscaped(b, Outcome(s))
	b = append(b, "</p>\n"...)
	b = h.ladder(b, s, m)
	b = h.facts(b, s)
	b = h.envelope(b, s)
	// The transcript, as the text report writes it.
	h.tbuf.Reset()
	h.text.Session(s)
	b = append(b, "<details class=\"transcript\"><summary>Transcript</summary>\n<pre>"...)
	b = appendHTMLEscaped(b, strings.TrimRight(h.tbuf.String(), "\n"))
	b = append(b, "</pre></details>\n"...)
	if h.tbuf.Cap() > 4<<20 {
		h.tbuf = bytes.Buffer{}
	}
	return append(b, "<p class=\"back\"><a href=\"#sessions\">↑ Sessions</a></p>\n</section>\n"...)
}

// facts appends what the session settled: extensions, AUTH, TLS, anomalies.
func (h *HTML) facts(b []byte, s *smtpdecode.Session) []byte {
	b = append(b, "<dl class=\"facts\">\n"...)
	if s.Helo != nil {
		b = append(b, "<dt>"...)
		b = appendHTML(b, s.Helo.Verb)
		b = append(b, "</dt><dd class=\"mono\">"...)
		b = appendHTML(b, s.Helo.Name)
		b = append(b, "</dd>\n"...)
	}
	if len(s.Extensions) > 0 {
		b = append(b, "<dt>Extensions</dt><dd class=\"mono\">"...)
		for i, x := range s.Extensions {
			if i > 0 {
				b = append(b, " · "...)
			}
			b = appendHTML(b, x.Name)
			for _, p := range x.Params {
				b = append(b, ' ')
				b = appendHTML(b, p)
			}
		}
		b = append(b, "</dd>\n"...)
	}
	if a := s.Auth; a != nil {
		b = append(b, "<dt>AUTH</dt><dd>"...)
		b = appendHTML(b, a.Mechanism)
		if a.Username != "" {
			b = append(b, " as <code>"...)
			b = appendHTML(b, a.Username)
			b = append(b, "</code>"...)
		}
		if a.Authzid != "" {
			b = append(b, " for <code>"...)
			b = appendHTML(b, a.Authzid)
			b = append(b, "</code>"...)
		}
		if a.Password != "" {
			b = append(b, ", password "...)
			if h.o.ShowSecrets {
				b = append(b, "<code>"...)
				b = appendHTML(b, a.Password)
				b = append(b, "</code>"...)
			} else {
				b = append(b, "masked"...)
			}
		}
		switch {
		case a.Cancelled:
			b = append(b, ` <span class="pill muted">cancelled</span>`...)
		case a.Success:
			b = append(b, ` <span class="pill ok">succeeded</span>`...)
		case a.Code == 0:
			b = append(b, ` <span class="pill muted">unanswered</span>`...)
		default:
			b = append(b, ` <span class="pill bad">failed</span> `...)
			b = appendCodeSpan(b, a.Code)
		}
		if !a.Decoded {
			b = append(b, ` <span class="muted">(not decoded)</span>`...)
		}
		b = append(b, "</dd>\n"...)
	}
	if s.TLS {
		b = append(b, "<dt>TLS</dt><dd>"...)
		if s.ImplicitTLS {
			b = append(b, "implicit TLS"...)
		} else {
			b = append(b, "after STARTTLS"...)
		}
		ti := &s.TLSInfo
		for _, v := range []string{ti.Version, ti.Cipher} {
			if v != "" {
				b = append(b, ", "...)
				b = appendHTML(b, v)
			}
		}
		if ti.SNI != "" {
			b = append(b, ", SNI <code>"...)
			b = appendHTML(b, ti.SNI)
			b = append(b, "</code>"...)
		}
		b = append(b, "; encrypted: "...)
		b = appendCount(b, s.TLSBytes[0])
		b = append(b, " bytes from client, "...)
		b = appendCount(b, s.TLSBytes[1])
		b = append(b, " from server</dd>\n"...)
	}
	if len(s.Anomalies) > 0 || s.DroppedAnomalies > 0 {
		b = append(b, "<dt>Anomalies</dt><dd><ul class=\"anomalies\">"...)
		for i := range s.Anomalies {
			a := &s.Anomalies[i]
			b = append(b, `<li><code class="bad">`...)
			b = appendHTML(b, string(a.ID))
			b = append(b, `</code> `...)
			b = appendHTML(b, a.Detail)
			if a.Count > 1 {
				b = append(b, " ("...)
				b = appendCount(b, int64(a.Count))
				b = append(b, " times)"...)
			}
			b = append(b, ` <span class="muted">by the `...)
			b = append(b, fromJSON(a.Dir)...)
			if rfc := htmlAnomalyRFC(a.ID); rfc != "" {
				b = append(b, ", "...)
				b = append(b, rfc...)
			}
			b = append(b, "</span></li>"...)
		}
		if s.DroppedAnomalies > 0 {
			b = append(b, "<li>"...)
			b = appendCount(b, int64(s.DroppedAnomalies))
			b = append(b, " more not kept</li>"...)
		}
		b = append(b, "</ul></dd>\n"...)
	}
	if s.DroppedCommands > 0 || s.DroppedTransactions > 0 || s.DroppedGaps > 0 {
		b = append(b, "<dt>Not kept</dt><dd>"...)
		b = fmt.Appendf(b, "%d turns, %d transactions, %d gaps past the decoder's caps", s.DroppedCommands, s.DroppedTransactions, s.DroppedGaps)
		b = append(b, "</dd>\n"...)
	}
	return append(b, "</dl>\n"...)
}

// htmlAnomalyRFC is where the rule an anomaly breaks is written.
func htmlAnomalyRFC(id smtpdecode.AnomalyID) string {
	for _, k := range smtpdecode.Anomalies {
		if k.ID == id {
			return k.RFC
		}
	}
	return ""
}

// envelope appends each transaction: its envelope, the replies to it, and
// its message.
func (h *HTML) envelope(b []byte, s *smtpdecode.Session) []byte {
	for i := range s.Transactions {
		tx := &s.Transactions[i]
		b = append(b, "<div class=\"tx\">\n<h3>Transaction "...)
		b = strconv.AppendInt(b, int64(i+1), 10)
		b = append(b, ` <span class="pill `...)
		switch tx.Outcome {
		case smtpdecode.OutcomeAccepted:
			b = append(b, "ok"...)
		case smtpdecode.OutcomeRejected:
			b = append(b, "bad"...)
		default:
			b = append(b, "muted"...)
		}
		b = append(b, `">`...)
		b = appendHTML(b, string(tx.Outcome))
		b = append(b, `</span>`...)
		if tx.QueueID != "" {
			b = append(b, ` <span class="muted">queued as</span> <code>`...)
			b = appendHTML(b, tx.QueueID)
			b = append(b, `</code>`...)
		}
		b = append(b, "</h3>\n<table class=\"env\"><tbody>\n<tr><th>MAIL FROM</th><td class=\"mono\">"...)
		from := tx.MailFrom
		if from == "" {
			from = "<>"
		}
		b = appendHTML(b, from)
		b = htmlParams(b, tx.MailParams)
		b = append(b, "</td><td>"...)
		b = appendCodeSpan(b, tx.MailCode)
		b = append(b, "</td></tr>\n"...)
		for _, r := range tx.Rcpts {
			b = append(b, "<tr"...)
			if r.Code >= 400 {
				b = append(b, ` class="fail"`...)
			}
			b = append(b, "><th>RCPT TO</th><td class=\"mono\">"...)
			b = appendHTML(b, r.Address)
			b = htmlParams(b, r.Params)
			b = append(b, "</td><td>"...)
			b = appendCodeSpan(b, r.Code)
			b = append(b, "</td></tr>\n"...)
		}
		if tx.DataCode != 0 || tx.FinalCode != 0 || tx.MessageBytes > 0 {
			verb := "DATA"
			if tx.DataCode == 0 {
				verb = "BDAT"
			}
			b = append(b, "<tr><th>"...)
			b = append(b, verb...)
			b = append(b, "</th><td>"...)
			b = appendCount(b, tx.MessageBytes)
			b = append(b, " bytes"...)
			if tx.EightBit {
				b = append(b, ", 8-bit"...)
			}
			b = append(b, "</td><td>"...)
			if tx.DataCode != 0 {
				b = appendCodeSpan(b, tx.DataCode)
				b = append(b, " → "...)
			}
			b = appendCodeSpan(b, tx.FinalCode)
			b = append(b, "</td></tr>\n"...)
		}
		b = append(b, "</tbody></table>\n"...)
		if pm := parsedMessage(tx.Message); pm != nil {
			b = htmlMessage(b, pm)
		}
		b = append(b, "</div>\n"...)
	}
	return b
}

// htmlParams appends ESMTP parameters.
func htmlParams(b []byte, ps []smtpdecode.Param) []byte {
	for _, p := range ps {
		b = append(b, ` <span class="param">`...)
		b = appendHTML(b, p.Name)
		if p.Value != "" {
			b = append(b, '=')
			b = appendHTML(b, p.Value)
		}
		b = append(b, `</span>`...)
	}
	return b
}

// htmlMessage appends the headers that matter and the part tree of a
// parsed message.
func htmlMessage(b []byte, pm *message.Message) []byte {
	hd := &pm.Header
	b = append(b, "<div class=\"message\">\n<dl class=\"headers\">\n"...)
	field := func(name, v string) {
		if v != "" {
			b = append(b, "<dt>"...)
			b = append(b, name...)
			b = append(b, "</dt><dd>"...)
			b = appendHTML(b, v)
			b = append(b, "</dd>\n"...)
		}
	}
	field("From", strings.Join(hd.From, ", "))
	field("Sender", strings.Join(hd.Sender, ", "))
	field("Reply-To", strings.Join(hd.ReplyTo, ", "))
	field("To", strings.Join(hd.To, ", "))
	field("Cc", strings.Join(hd.Cc, ", "))
	field("Bcc", strings.Join(hd.Bcc, ", "))
	if hd.Subject != "" {
		b = append(b, "<dt>Subject</dt><dd class=\"subject\">"...)
		b = appendHTML(b, hd.Subject)
		b = append(b, "</dd>\n"...)
	}
	field("Date", hd.Date)
	field("Message-ID", hd.MessageID)
	field("In-Reply-To", hd.InReplyTo)
	field("User-Agent", hd.UserAgent)
	if hd.Received > 0 {
		field("Received", fmt.Sprintf("%d %s, last hop: %s", hd.Received, plural(hd.Received, "header", "headers"), hd.FirstReceived))
	}
	b = append(b, "</dl>\n"...)
	if len(pm.Parts) > 0 {
		b = append(b, "<table class=\"parts\">\n<thead><tr><th>Part</th><th>Type</th><th>Encoding</th><th>Filename</th><th class=\"num\">Size</th><th>SHA-256</th></tr></thead>\n<tbody>\n"...)
		for i := range pm.Parts {
			p := &pm.Parts[i]
			b = append(b, "<tr"...)
			if p.Attachment {
				b = append(b, ` class="att"`...)
			}
			b = append(b, "><td class=\"mono tree\">"...)
			for range min(p.Depth, 16) {
				b = append(b, "  "...)
			}
			b = appendHTML(b, p.Path)
			b = append(b, "</td><td class=\"mono\">"...)
			b = appendHTML(b, p.ContentType)
			if p.Charset != "" {
				b = append(b, "; charset="...)
				b = appendHTML(b, p.Charset)
			}
			b = append(b, "</td><td>"...)
			b = appendHTML(b, p.Encoding)
			b = append(b, "</td><td>"...)
			if p.Attachment {
				b = append(b, `<span class="pill att">attachment</span> `...)
			} else if p.Disposition != "" {
				b = appendHTML(b, p.Disposition)
				b = append(b, ' ')
			}
			if p.Filename != "" {
				b = append(b, `<span class="filename">`...)
				b = appendHTML(b, p.Filename)
				b = append(b, `</span>`...)
			}
			for _, pr := range p.Problems {
				b = append(b, ` <span class="bad">! `...)
				b = appendHTML(b, pr)
				b = append(b, `</span>`...)
			}
			b = append(b, "</td>"...)
			if strings.HasPrefix(p.ContentType, "multipart/") {
				b = append(b, "<td></td><td></td></tr>\n"...)
				continue
			}
			b = append(b, "<td class=\"num\">"...)
			b = appendCount(b, p.Size)
			b = append(b, "</td><td class=\"hash\">"...)
			b = appendHTML(b, p.SHA256)
			b = append(b, "</td></tr>\n"...)
		}
		b = append(b, "</tbody>\n</table>\n"...)
	}
	if pm.DroppedParts > 0 {
		b = append(b, "<p class=\"muted\">"...)
		b = appendCount(b, int64(pm.DroppedParts))
		b = append(b, " more parts not listed</p>\n"...)
	}
	if pm.Preview != "" {
		b = append(b, "<blockquote class=\"preview\">"...)
		b = appendHTML(b, pm.Preview)
		b = append(b, "</blockquote>\n"...)
	}
	if len(pm.Problems) > 0 {
		b = append(b, "<ul class=\"problems\">"...)
		for _, p := range pm.Problems {
			b = append(b, "<li>"...)
			b = appendHTML(b, p)
			b = append(b, "</li>"...)
		}
		b = append(b, "</ul>\n"...)
	}
	return append(b, "</div>\n"...)
}

// The top lists.

// htmlTop counts the most frequent keys in bounded memory: the
// space-saving algorithm over a min-heap of htmlTopKept counters. Past that
// many keys, a new key replaces the least counted one and inherits its
// count, so each count is an upper bound, exact when err is 0.
type htmlTop struct {
	idx     map[string]int // key → position in heap
	heap    []htmlTopEntry
	evicted bool
}

type htmlTopEntry struct {
	key, label string
	n, err     int64
}

// less orders the heap: the least counted first, the greatest key first
// among equals (so the one evicted does not depend on map order).
func (t *htmlTop) less(i, j int) bool {
	a, b := &t.heap[i], &t.heap[j]
	if a.n != b.n {
		return a.n < b.n
	}
	return a.key > b.key
}

func (t *htmlTop) swap(i, j int) {
	t.heap[i], t.heap[j] = t.heap[j], t.heap[i]
	t.idx[t.heap[i].key] = i
	t.idx[t.heap[j].key] = j
}

func (t *htmlTop) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(t.heap) {
			return
		}
		m := l
		if r := l + 1; r < len(t.heap) && t.less(r, l) {
			m = r
		}
		if !t.less(m, i) {
			return
		}
		t.swap(i, m)
		i = m
	}
}

func (t *htmlTop) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !t.less(i, p) {
			return
		}
		t.swap(i, p)
		i = p
	}
}

// add counts key once; label describes it (the first one given is kept).
func (t *htmlTop) add(key, label string) {
	if i, ok := t.idx[key]; ok {
		t.heap[i].n++
		if t.heap[i].label == "" {
			t.heap[i].label = label
		}
		t.down(i)
		return
	}
	if len(t.heap) < htmlTopKept {
		t.heap = append(t.heap, htmlTopEntry{key: key, label: label, n: 1})
		t.idx[key] = len(t.heap) - 1
		t.up(len(t.heap) - 1)
		return
	}
	t.evicted = true
	old := &t.heap[0]
	delete(t.idx, old.key)
	*old = htmlTopEntry{key: key, label: label, n: old.n + 1, err: old.n}
	t.idx[key] = 0
	t.down(0)
}

// appendList appends the most counted keys as a panel.
func (t *htmlTop) appendList(b []byte, heading, what string) []byte {
	b = append(b, "<div class=\"panel top\">\n<h2>"...)
	b = append(b, heading...)
	b = append(b, "</h2>\n"...)
	if len(t.heap) == 0 {
		return append(b, "<p class=\"muted\">None.</p>\n</div>\n"...)
	}
	es := slices.Clone(t.heap)
	slices.SortFunc(es, func(a, b htmlTopEntry) int {
		if a.n != b.n {
			if a.n > b.n {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	if len(es) > htmlTopShown {
		es = es[:htmlTopShown]
	}
	b = append(b, "<table class=\"toplist\"><tbody>\n"...)
	maxN := es[0].n
	for _, e := range es {
		b = append(b, "<tr><td class=\"k\"><span class=\"mono\" title=\""...)
		b = appendHTML(b, e.key)
		b = append(b, "\">"...)
		b = appendHTMLEscaped(b, fitWidth(Printable(e.key), 40))
		b = append(b, "</span>"...)
		if e.label != "" {
			b = append(b, ` <span class="muted">`...)
			b = appendHTMLEscaped(b, fitWidth(Printable(e.label), 30))
			b = append(b, `</span>`...)
		}
		b = append(b, "</td><td class=\"num\">"...)
		if e.err > 0 {
			b = append(b, "≤"...)
		}
		b = appendCount(b, e.n)
		b = append(b, "</td><td class=\"bar\"><svg width=\"120\" height=\"8\" viewBox=\"0 0 120 8\" aria-hidden=\"true\"><rect class=\"track\" width=\"120\" height=\"8\" rx=\"4\"/><rect width=\""...)
		b = strconv.AppendFloat(b, max(4, 120*float64(e.n)/float64(maxN)), 'f', 1, 64)
		b = append(b, "\" height=\"8\" rx=\"4\"/></svg></td></tr>\n"...)
	}
	b = append(b, "</tbody></table>\n"...)
	if t.evicted {
		b = fmt.Appendf(b, "<p class=\"muted small\">More than %s different %ss: counts marked ≤ are upper bounds.</p>\n", htmlCount(htmlTopKept), what)
	}
	return append(b, "</div>\n"...)
}

// The timeline.

// Geometry of the timeline.
const (
	tlWidth = 1000
	tlLeft  = 64 // room for session numbers
	tlRight = 16
	tlAxis  = 26 // room for the time axis below
)

// timelineBars appends one bar per session from its start to its end.
func (h *HTML) timelineBars(b []byte) []byte {
	n := len(h.bars)
	pitch := min(18, max(6, 360/n))
	barH := pitch - 3
	plotH := n * pitch
	height := plotH + tlAxis + 6
	t0 := h.stats.first
	span := max(h.stats.last.Sub(t0), time.Millisecond)
	x := func(t time.Time) float64 {
		return tlLeft + float64(tlWidth-tlLeft-tlRight)*float64(t.Sub(t0))/float64(span)
	}
	b = fmt.Appendf(b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Sessions over capture time">`+"\n",
		tlWidth, height, tlWidth, height)
	b = appendAxis(b, t0, span, plotH+4, 4)
	for i, bar := range h.bars {
		y := 4 + i*pitch
		x0, x1 := x(bar.start), x(bar.end)
		w := max(x1-x0, 4)
		linked := bar.seq <= htmlMaxDetails
		if linked {
			b = append(b, `<a href="#s`...)
			b = strconv.AppendInt(b, bar.seq, 10)
			b = append(b, `">`...)
		} else {
			b = append(b, `<g>`...)
		}
		b = append(b, `<title>`...)
		b = appendHTMLEscaped(b, bar.title)
		b = append(b, `</title>`...)
		if pitch >= 10 {
			b = fmt.Appendf(b, `<text class="lbl" x="%d" y="%d" text-anchor="end">#%d</text>`, tlLeft-8, y+barH-2, bar.id)
		}
		b = append(b, `<rect class="bar`...)
		if bar.failed {
			b = append(b, ` fail`...)
		}
		b = fmt.Appendf(b, `" x="%.1f" y="%d" width="%.1f" height="%d" rx="2"/>`, x0, y, w, barH)
		if linked {
			b = append(b, "</a>\n"...)
		} else {
			b = append(b, "</g>\n"...)
		}
	}
	b = append(b, "</svg>\n"...)
	return append(b, `<p class="legend"><span class="key ok"></span> session <span class="key bad"></span> with a failure (a 4xx/5xx reply or an anomaly) · a bar runs from the first packet to the last; click one for its details</p>`+"\n"...)
}

// appendAxis appends a time axis at y for a plot from t0 over span, with
// grid lines up from it to top.
func appendAxis(b []byte, t0 time.Time, span time.Duration, y, top int) []byte {
	plotW := float64(tlWidth - tlLeft - tlRight)
	step, unit, uname := htmlTickStep(span)
	prec := 0
	for u := unit; u > step && prec < 6; u /= 10 {
		prec++
	}
	b = fmt.Appendf(b, `<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>`, tlLeft, y, tlWidth-tlRight, y)
	for k := time.Duration(0); k <= span; k += step {
		x := tlLeft + plotW*float64(k)/float64(span)
		b = fmt.Appendf(b, `<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>`, x, top, x, y)
		b = fmt.Appendf(b, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">`, x, y+16)
		if k == 0 {
			b = t0.UTC().AppendFormat(b, "15:04:05")
		} else {
			b = append(b, '+')
			b = strconv.AppendFloat(b, float64(k)/float64(unit), 'f', prec, 64)
			b = append(b, uname...)
		}
		b = append(b, "</text>"...)
	}
	return append(b, '\n')
}

// htmlTickStep is a round step for about six ticks over span, with the unit
// to label them in.
func htmlTickStep(span time.Duration) (step, unit time.Duration, name string) {
	raw := float64(span) / 6
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	s := p
	for _, m := range []float64{1, 2, 5, 10} {
		if p*m >= raw {
			s = p * m
			break
		}
	}
	step = max(time.Duration(s), 1)
	switch {
	case step < time.Millisecond:
		return step, time.Microsecond, " µs"
	case step < time.Second:
		return step, time.Millisecond, " ms"
	case step < time.Minute:
		return step, time.Second, " s"
	case step < time.Hour:
		return step, time.Minute, " min"
	}
	return step, time.Hour, " h"
}

// htmlHist counts session starts in htmlHistBuckets buckets of equal width
// whose range grows as starts arrive outside it: bounded memory for any
// number of sessions in any order.
type htmlHist struct {
	lo    int64 // the start of bucket 0, in Unix nanoseconds
	w     int64 // bucket width
	all   [htmlHistBuckets]int64
	fail  [htmlHistBuckets]int64
	begun bool
}

func (hh *htmlHist) add(t int64, failed bool) {
	if !hh.begun {
		hh.begun, hh.lo, hh.w = true, t, int64(time.Millisecond)
	}
	for t < hh.lo {
		// Shift right by enough buckets, if they fit; else widen.
		k := (hh.lo - t + hh.w - 1) / hh.w
		last := htmlHistBuckets - 1
		for last >= 0 && hh.all[last] == 0 {
			last--
		}
		if int64(last)+k < htmlHistBuckets {
			copy(hh.all[k:], hh.all[:htmlHistBuckets-k])
			copy(hh.fail[k:], hh.fail[:htmlHistBuckets-k])
			clear(hh.all[:k])
			clear(hh.fail[:k])
			hh.lo -= k * hh.w
			break
		}
		hh.widen()
	}
	for (t-hh.lo)/hh.w >= htmlHistBuckets {
		hh.widen()
	}
	i := (t - hh.lo) / hh.w
	hh.all[i]++
	if failed {
		hh.fail[i]++
	}
}

// widen doubles the bucket width, merging pairs of buckets.
func (hh *htmlHist) widen() {
	for i := range htmlHistBuckets / 2 {
		hh.all[i] = hh.all[2*i] + hh.all[2*i+1]
		hh.fail[i] = hh.fail[2*i] + hh.fail[2*i+1]
	}
	clear(hh.all[htmlHistBuckets/2:])
	clear(hh.fail[htmlHistBuckets/2:])
	hh.w *= 2
}

// appendSVG draws the histogram: sessions started per bucket, the failed
// ones stacked on top in red.
func (hh *htmlHist) appendSVG(b []byte, first time.Time) []byte {
	lo, hi := 0, htmlHistBuckets-1
	for lo < hi && hh.all[lo] == 0 {
		lo++
	}
	for hi > lo && hh.all[hi] == 0 {
		hi--
	}
	n := hi - lo + 1
	var most int64 = 1
	for i := lo; i <= hi; i++ {
		most = max(most, hh.all[i])
	}
	const plotH = 160
	height := plotH + tlAxis + 10
	start := time.Unix(0, hh.lo+int64(lo)*hh.w)
	span := time.Duration(int64(n) * hh.w)
	plotW := float64(tlWidth - tlLeft - tlRight)
	bw := plotW / float64(n)
	b = fmt.Appendf(b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Sessions started over capture time">`+"\n",
		tlWidth, height, tlWidth, height)
	b = appendAxis(b, start, span, plotH+8, 8)
	b = fmt.Appendf(b, `<text class="lbl" x="%d" y="16" text-anchor="end">%s</text>`+"\n", tlLeft-8, htmlCount(most))
	for i := lo; i <= hi; i++ {
		if hh.all[i] == 0 {
			continue
		}
		x := tlLeft + bw*float64(i-lo)
		hAll := float64(plotH) * float64(hh.all[i]) / float64(most)
		hFail := float64(plotH) * float64(hh.fail[i]) / float64(most)
		t := time.Unix(0, hh.lo+int64(i)*hh.w).UTC()
		b = append(b, "<g><title>"...)
		b = t.AppendFormat(b, timeLayout)
		b = fmt.Appendf(b, " + %s: %s sessions started, %s with a failure</title>", time.Duration(hh.w), htmlCount(hh.all[i]), htmlCount(hh.fail[i]))
		b = fmt.Appendf(b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+0.5, 8+plotH-hAll, max(bw-1, 1), hAll)
		if hFail > 0 {
			b = fmt.Appendf(b, `<rect class="bar fail" x="%.1f" y="%.1f" width="%.1f" height="%.1f"/>`, x+0.5, 8+plotH-hAll, max(bw-1, 1), hFail)
		}
		b = append(b, "</g>\n"...)
	}
	b = append(b, "</svg>\n"...)
	return fmt.Appendf(b, `<p class="legend"><span class="key ok"></span> sessions started <span class="key bad"></span> of them with a failure, per %s</p>`+"\n", time.Duration(hh.w))
}

// The ladder diagram.

// Geometry of the ladder, in SVG user units (pixels at full width).
const (
	ldWidth  = 1180
	ldTimeX  = 90  // the right edge of the time column
	ldClient = 230 // the client's lane
	ldServer = 950 // the server's lane
	ldTop    = 74  // below the lane heads
	ldRow    = 26  // the height of a row
	// ldLabelCols is how many columns of 12px monospace text (7.3 units
	// a character) fit between the lanes.
	ldLabelCols = (ldServer - ldClient - 24) * 10 / 73
)

// htmlEventKind says what a row of the ladder shows.
type htmlEventKind uint8

const (
	evCommand htmlEventKind = iota
	evReply
	evGap
	evAnomaly
	evTLS
	evEnd
	evMore
)

// htmlEvent is a row of the ladder.
type htmlEvent struct {
	kind htmlEventKind
	t    time.Time
	idx  int // command index, or -1
	cmd  *smtpdecode.Command
	rep  *smtpdecode.Reply
	gap  *smtpdecode.Gap
	an   *smtpdecode.Anomaly
	y    int
	idle time.Duration // a long idle stretch squeezed out before this row
}

// ladderEvents puts the session's events in the order the ladder draws
// them: in time, each anomaly about a turn after it, TLS after the reply
// that began it.
func (h *HTML) ladderEvents(s *smtpdecode.Session) []htmlEvent {
	var byTurn map[int][]*smtpdecode.Anomaly
	evs := h.evs[:0]
	for i := range s.Anomalies {
		a := &s.Anomalies[i]
		if a.Command >= 0 && a.Command < len(s.Commands) {
			if byTurn == nil {
				byTurn = make(map[int][]*smtpdecode.Anomaly)
			}
			byTurn[a.Command] = append(byTurn[a.Command], a)
		} else {
			evs = append(evs, htmlEvent{kind: evAnomaly, t: a.Time, idx: -1, an: a})
		}
	}
	if s.Greeting != nil {
		evs = append(evs, htmlEvent{kind: evReply, t: s.Greeting.Time, idx: -1, rep: s.Greeting})
	}
	tlsAfter := -1 // the STARTTLS command whose 220 began TLS
	for i := range s.Commands {
		c := &s.Commands[i]
		if c.Kind != smtpdecode.KindUnmatched {
			evs = append(evs, htmlEvent{kind: evCommand, t: c.Time, idx: i, cmd: c})
		}
		if c.Reply != nil {
			evs = append(evs, htmlEvent{kind: evReply, t: c.Reply.Time, idx: i, cmd: c, rep: c.Reply})
			if c.Verb == "STARTTLS" && c.Reply.Code == 220 {
				tlsAfter = i
			}
		}
	}
	for i := range s.Gaps {
		g := &s.Gaps[i]
		evs = append(evs, htmlEvent{kind: evGap, t: g.Time, idx: -1, gap: g})
	}
	slices.SortStableFunc(evs, func(a, b htmlEvent) int { return a.t.Compare(b.t) })

	// Anomalies of a turn follow it (or its reply, when the server is at
	// fault), as in the text report; TLS follows its 220.
	n := len(evs)
	for i := range n {
		e := evs[i]
		evs = append(evs, e)
		if e.idx < 0 {
			continue
		}
		switch e.kind {
		case evReply:
			for _, a := range byTurn[e.idx] {
				if a.Dir == smtpdecode.FromServer {
					evs = append(evs, htmlEvent{kind: evAnomaly, t: e.t, idx: e.idx, an: a})
				}
			}
			if e.idx == tlsAfter && s.TLS {
				evs = append(evs, htmlEvent{kind: evTLS, t: e.t, idx: -1})
			}
		case evCommand:
			for _, a := range byTurn[e.idx] {
				if a.Dir == smtpdecode.FromClient || e.cmd.Reply == nil {
					evs = append(evs, htmlEvent{kind: evAnomaly, t: e.t, idx: e.idx, an: a})
				}
			}
		}
	}
	out := evs[n:]
	if s.TLS && s.ImplicitTLS {
		out = slices.Insert(out, 0, htmlEvent{kind: evTLS, t: s.Start, idx: -1})
	}
	if len(out) > htmlMaxLadderRows {
		more := len(out) - htmlMaxLadderRows
		out = append(out[:htmlMaxLadderRows], htmlEvent{kind: evMore, t: out[htmlMaxLadderRows-1].t, idx: more})
	}
	out = append(out, htmlEvent{kind: evEnd, t: s.End, idx: -1})
	h.evs = evs
	return out
}

// ldIdle is the vertical room given to dt of idle time: none under a
// millisecond, then 12 units per power of ten, at most 48.
func ldIdle(dt time.Duration) int {
	if dt < time.Millisecond {
		return 0
	}
	return min(48, int(12*math.Log10(float64(dt)/float64(time.Millisecond))))
}

// ladder appends the session's ladder diagram as inline SVG.
func (h *HTML) ladder(b []byte, s *smtpdecode.Session, m *htmlSummary) []byte {
	evs := h.ladderEvents(s)
	// Place the rows: time runs down, idle stretches squeezed.
	y := ldTop
	prev := s.Start
	tlsY := -1
	for i := range evs {
		e := &evs[i]
		dt := e.t.Sub(prev)
		y += ldRow + ldIdle(dt)
		if dt >= time.Second {
			e.idle = dt
			y += 18
		}
		e.y = y
		if e.t.After(prev) {
			prev = e.t
		}
		if e.kind == evTLS && tlsY < 0 {
			tlsY = y
		}
	}
	height := y + 14

	b = append(b, "<div class=\"ladder-wrap\">\n"...)
	b = fmt.Appendf(b, `<svg class="ladder" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Ladder diagram of session %d">`+"\n",
		ldWidth, height, ldWidth, height, s.ID)
	// Lane heads.
	helo := ""
	if s.Helo != nil {
		helo = s.Helo.Name
	}
	b = ldHead(b, ldClient, "client", s.Client.String(), helo)
	b = ldHead(b, ldServer, "server", s.Server.String(), m.greetName)
	// Lanes: solid, then dashed once encrypted.
	for _, x := range []int{ldClient, ldServer} {
		end := height - 8
		if tlsY >= 0 {
			b = fmt.Appendf(b, `<line class="lane" x1="%d" y1="62" x2="%d" y2="%d"/><line class="lane enc" x1="%d" y1="%d" x2="%d" y2="%d"/>`,
				x, x, tlsY, x, tlsY, x, end)
		} else {
			b = fmt.Appendf(b, `<line class="lane" x1="%d" y1="62" x2="%d" y2="%d"/>`, x, x, end)
		}
	}
	b = append(b, '\n')
	for i := range evs {
		b = h.ldRow(b, s, &evs[i])
	}
	b = append(b, "</svg>\n</div>\n"...)
	clear(h.evs) // keep no session alive through h.evs
	h.evs = h.evs[:0]
	return b
}

// ldHead appends the head of a lane.
func ldHead(b []byte, x int, role, addr, name string) []byte {
	b = fmt.Appendf(b, `<g class="head %s"><title>`, role)
	b = append(b, role...)
	b = append(b, ' ')
	b = appendHTML(b, addr)
	if name != "" {
		b = append(b, ' ')
		b = appendHTML(b, name)
	}
	b = fmt.Appendf(b, `</title><rect x="%d" y="6" width="260" height="56" rx="8"/>`, x-130)
	b = fmt.Appendf(b, `<text class="role" x="%d" y="22" text-anchor="middle">%s</text>`, x, strings.ToUpper(role))
	b = fmt.Appendf(b, `<text class="addr" x="%d" y="39" text-anchor="middle">`, x)
	b = appendHTML(b, addr)
	b = append(b, `</text>`...)
	if name != "" {
		b = fmt.Appendf(b, `<text class="name" x="%d" y="54" text-anchor="middle">`, x)
		b = appendHTMLEscaped(b, fitWidth(Printable(name), 32))
		b = append(b, `</text>`...)
	}
	return append(b, "</g>\n"...)
}

// ldRow appends one row of the ladder.
func (h *HTML) ldRow(b []byte, s *smtpdecode.Session, e *htmlEvent) []byte {
	y := e.y
	if e.idle > 0 {
		// Axis breaks on both lanes where idle time was squeezed out.
		yb := y - 32
		b = append(b, `<g class="idle">`...)
		for _, x := range []int{ldClient, ldServer} {
			b = fmt.Appendf(b, `<path d="M%d %d l14 -5 M%d %d l14 -5"/>`, x-7, yb-1, x-7, yb+4)
		}
		b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="middle">`, (ldClient+ldServer)/2, yb+4)
		b = append(appendSeconds(b, e.idle, 3), " s idle</text></g>\n"...)
	}
	switch e.kind {
	case evCommand, evReply:
		return h.ldArrow(b, s, e)
	case evGap:
		g := e.gap
		b = append(b, `<g class="row gap fail"><title>`...)
		b = appendHTMLEscaped(b, gapText(g.Bytes))
		b = append(b, " from the "...)
		b = append(b, fromJSON(g.Dir)...)
		b = append(b, `</title>`...)
		b = ldTime(b, s, e.t, y)
		x, anchor, dx := ldSide(g.Dir)
		b = fmt.Appendf(b, `<line class="cut" x1="%d" y1="%d" x2="%d" y2="%d"/>`, x, y-14, x, y+6)
		b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="%s">`, x+dx, y, anchor)
		b = appendHTMLEscaped(b, gapText(g.Bytes))
		return append(b, "</text></g>\n"...)
	case evAnomaly:
		a := e.an
		var text []byte
		text = append(text, "! "...)
		text = appendPrintable(text, string(a.ID))
		text = append(text, ": "...)
		text = appendPrintable(text, a.Detail)
		if a.Count > 1 {
			text = fmt.Appendf(text, " (%d times)", a.Count)
		}
		b = append(b, `<g class="row anomaly fail"><title>`...)
		b = appendHTMLEscaped(b, string(text))
		if rfc := htmlAnomalyRFC(a.ID); rfc != "" {
			b = append(b, " — "...)
			b = append(b, rfc...)
		}
		b = append(b, `</title>`...)
		if e.idx < 0 {
			b = ldTime(b, s, e.t, y)
		}
		x, anchor, dx := ldSide(a.Dir)
		b = fmt.Appendf(b, `<path class="mark" d="M%d %d l5 5 l-5 5 l-5 -5 z"/>`, x, y-9)
		b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="%s">`, x+dx, y, anchor)
		b = appendHTMLEscaped(b, fitWidth(string(text), ldLabelCols-2))
		return append(b, "</text></g>\n"...)
	case evTLS:
		var text []byte
		if s.ImplicitTLS {
			text = append(text, "implicit TLS"...)
		} else {
			text = append(text, "TLS begins"...)
		}
		for _, v := range []string{s.TLSInfo.Version, s.TLSInfo.Cipher} {
			if v != "" {
				text = append(text, " · "...)
				text = appendPrintable(text, v)
			}
		}
		text = append(text, " · "...)
		text = appendCount(text, s.TLSBytes[0])
		text = append(text, " + "...)
		text = appendCount(text, s.TLSBytes[1])
		text = append(text, " bytes encrypted"...)
		b = append(b, `<g class="row tls"><title>`...)
		b = appendHTMLEscaped(b, string(text))
		if s.TLSInfo.SNI != "" {
			b = append(b, ", SNI "...)
			b = appendHTML(b, s.TLSInfo.SNI)
		}
		b = fmt.Appendf(b, `</title><rect x="%d" y="%d" width="%d" height="20" rx="10"/>`, ldClient, y-15, ldServer-ldClient)
		b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="middle">`, (ldClient+ldServer)/2, y-1)
		b = appendHTMLEscaped(b, fitWidth(string(text), ldLabelCols))
		return append(b, "</text></g>\n"...)
	case evMore:
		b = fmt.Appendf(b, `<g class="row note"><text x="%d" y="%d" text-anchor="middle">… %s more rows not drawn: the transcript has them</text></g>`+"\n",
			(ldClient+ldServer)/2, y-4, htmlCount(int64(e.idx)))
		return b
	case evEnd:
		class := "end"
		if s.Closed == smtpdecode.ClosedRST && !s.TLS { // under TLS, QUIT cannot be seen
			class = "end fail"
		}
		b = fmt.Appendf(b, `<g class="row %s">`, class)
		b = ldTime(b, s, e.t, y)
		for _, x := range []int{ldClient, ldServer} {
			b = fmt.Appendf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d"/>`, x-10, y-4, x+10, y-4)
		}
		b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="middle">`, (ldClient+ldServer)/2, y)
		b = append(b, closedText(s.Closed)...)
		return append(b, "</text></g>\n"...)
	}
	return b
}

// ldSide is where a mark about one side goes: its lane, and how text
// beside it is anchored and offset, into the space between the lanes.
func ldSide(d smtpdecode.Direction) (x int, anchor string, dx int) {
	if d == smtpdecode.FromServer {
		return ldServer, "end", -12
	}
	return ldClient, "start", 12
}

// ldTime appends the time of a row, relative to the session's start.
func ldTime(b []byte, s *smtpdecode.Session, t time.Time, y int) []byte {
	b = fmt.Appendf(b, `<text class="t" x="%d" y="%d" text-anchor="end">+`, ldTimeX, y)
	return append(appendSeconds(b, t.Sub(s.Start), 6), "</text>"...)
}

// ldArrow appends a command (client to server) or reply (server to client).
func (h *HTML) ldArrow(b []byte, s *smtpdecode.Session, e *htmlEvent) []byte {
	y := e.y
	c := e.cmd
	var label, title []byte
	class := "row cmd"
	from, to := ldClient, ldServer
	if e.kind == evReply {
		r := e.rep
		class = "row rep"
		from, to = ldServer, ldClient
		if r.Code >= 400 || r.Code == 0 {
			class += " fail"
		}
		if c != nil && c.Kind == smtpdecode.KindUnmatched {
			class += " unmatched"
		}
		first := firstLine(r)
		if r.Code != 0 {
			label = appendCode(label, r.Code)
			if first != "" {
				label = append(label, ' ')
			}
		}
		label = appendPrintable(label, first)
		if r.Decoded != "" {
			label = append(label, "  → "...)
			label = appendPrintable(label, r.Decoded)
		}
		for i, l := range r.Lines {
			if i > 0 {
				title = append(title, '\n')
			}
			if r.Code != 0 {
				title = appendCode(title, r.Code)
				if i < len(r.Lines)-1 {
					title = append(title, '-')
				} else if l != "" {
					title = append(title, ' ')
				}
			}
			title = appendPrintable(title, l)
		}
		if len(r.Lines) == 0 && r.Code != 0 {
			title = appendCode(title, r.Code)
		}
		if r.Decoded != "" {
			title = append(title, "\n→ "...)
			title = appendPrintable(title, r.Decoded)
		}
		if m := smtpdecode.Meaning(r.Code, first); m != "" {
			title = append(title, "\n— "...)
			title = append(title, m...)
		}
		if c == nil {
			title = append(title, "\n(the greeting)"...)
		} else if c.Kind == smtpdecode.KindUnmatched {
			title = append(title, "\n(a reply no command was waiting for)"...)
		}
		if more := len(r.Lines) - 1; more > 0 {
			label = fmt.Appendf(label, "  (+%d %s)", more, plural(more, "line", "lines"))
		}
	} else {
		switch c.Kind {
		case smtpdecode.KindMessage:
			class = "row cmd msg"
			msg := c.Message
			label = fmt.Appendf(label, "<message: %s bytes, %s lines", htmlCount(msg.Bytes), htmlCount(msg.Lines))
			if msg.EightBit {
				label = append(label, ", 8-bit"...)
			}
			if msg.Missing > 0 {
				label = fmt.Appendf(label, ", %s bytes lost", htmlCount(msg.Missing))
				class += " fail"
			}
			if !msg.Terminated {
				label = append(label, ", not terminated"...)
			}
			label = append(label, '>')
			title = append(title, label...)
			if pm := parsedMessage(msg); pm != nil && pm.Header.Subject != "" {
				label = append(label, "  “"...)
				label = appendPrintable(label, pm.Header.Subject)
				label = append(label, "”"...)
				title = append(title, "\nSubject: "...)
				title = appendPrintable(title, pm.Header.Subject)
			}
		default:
			label = appendPrintable(label, MaskedLine(c, h.o.ShowSecrets))
			if msg := c.Message; msg != nil {
				label = fmt.Appendf(label, "  <chunk: %s bytes>", htmlCount(msg.Bytes))
			}
			title = append(title, label...)
			if c.Decoded != "" {
				label = append(label, "  → "...)
				label = appendPrintable(label, c.Decoded)
				title = append(title, "\n→ "...)
				title = appendPrintable(title, c.Decoded)
			}
			if c.Kind == smtpdecode.KindAuthResponse {
				class += " auth"
				title = append(title, "\n(an AUTH response)"...)
			}
			if c.Kind == smtpdecode.KindCommand && !smtpdecode.KnownVerb(c.Verb) {
				title = append(title, "\n(unknown command)"...)
			}
		}
		switch {
		case c.LostReply:
			label = append(label, "  <reply lost in a gap>"...)
			title = append(title, "\n(the reply was lost in a gap)"...)
		case c.Reply == nil && (c.Kind != smtpdecode.KindMessage || c.Message.Terminated):
			label = append(label, "  <no reply>"...)
			title = append(title, "\n(no reply)"...)
		}
	}
	b = append(b, `<g class="`...)
	b = append(b, class...)
	b = append(b, `"><title>`...)
	b = appendHTMLEscaped(b, string(title))
	b = append(b, `</title>`...)
	b = ldTime(b, s, e.t, y)
	// The arrow: a line, a head at its end.
	dir := 1
	if to < from {
		dir = -1
	}
	b = fmt.Appendf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d"/>`, from, y, to-dir*9, y)
	b = fmt.Appendf(b, `<path class="head" d="M%d %d l%d -4.5 v9 z"/>`, to, y, -dir*10)
	b = fmt.Appendf(b, `<text x="%d" y="%d" text-anchor="middle">`, (ldClient+ldServer)/2, y-6)
	b = appendHTMLEscaped(b, fitWidth(string(label), ldLabelCols))
	b = append(b, `</text>`...)
	if e.kind == evReply && c != nil && c.Kind != smtpdecode.KindUnmatched {
		b = fmt.Appendf(b, `<text class="lat" x="%d" y="%d">`, ldServer+14, y+4)
		b = append(b, h.text.latency(c.Latency())...)
		b = append(b, `</text>`...)
	}
	return append(b, "</g>\n"...)
}
