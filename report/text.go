// Package report turns decoded sessions into what people and programs read:
// a text transcript and JSON lines. Writers take an io.Writer and options and
// never reach back into decoding. Everything taken from a capture is escaped
// before it is written (see Printable).
package report

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Options are shared by the writers. The zero value masks secrets.
type Options struct {
	// ShowSecrets prints AUTH credentials instead of masking them.
	ShowSecrets bool
}

// Text writes sessions as C:/S: conversations.
type Text struct {
	w *bufio.Writer
	o Options
}

// NewText returns a Text writer on w.
func NewText(w io.Writer, o Options) *Text {
	return &Text{w: bufio.NewWriter(w), o: o}
}

// timeLayout is how absolute capture times are shown.
const timeLayout = "2006-01-02 15:04:05.000000 MST"

// event is one line-group of the transcript, placed in time.
type event struct {
	t    time.Time
	dir  string // "C" or "S"
	cmd  *smtpdecode.Command
	rep  *smtpdecode.Reply
	gap  *smtpdecode.Gap
	note string
}

// Session writes one session.
func (t *Text) Session(s *smtpdecode.Session) error {
	w := t.w
	fmt.Fprintf(w, "Session %d: %s -> %s at %s\n", s.ID, s.Client, s.Server, s.Start.UTC().Format(timeLayout))
	fmt.Fprintf(w, "  %s, %d packets, %d bytes from client, %d from server", seconds(s.End.Sub(s.Start)), s.Packets, s.Bytes[0], s.Bytes[1])
	if lost := s.Missing[0] + s.Missing[1]; lost > 0 {
		fmt.Fprintf(w, ", %d bytes lost", lost)
	}
	fmt.Fprintf(w, ", %s\n", closedText(s.Closed))
	if s.Sides != "" && s.Sides != "syn" {
		fmt.Fprintf(w, "  (no SYN captured: the client side was decided by %s)\n", s.Sides)
	}

	var evs []event
	if s.Greeting != nil {
		evs = append(evs, event{t: s.Greeting.Time, dir: "S", rep: s.Greeting})
	}
	for i := range s.Commands {
		c := &s.Commands[i]
		if c.Kind != smtpdecode.KindUnmatched {
			evs = append(evs, event{t: c.Time, dir: "C", cmd: c})
		}
		if c.Reply != nil {
			evs = append(evs, event{t: c.Reply.Time, dir: "S", cmd: c, rep: c.Reply})
		}
	}
	for i := range s.Gaps {
		g := &s.Gaps[i]
		dir := "C"
		if g.Dir == smtpdecode.FromServer {
			dir = "S"
		}
		evs = append(evs, event{t: g.Time, dir: dir, gap: g})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return a.t.Compare(b.t) })

	for _, e := range evs {
		rel := fmt.Sprintf("+%.6f", e.t.Sub(s.Start).Seconds())
		switch {
		case e.gap != nil:
			t.line(rel, "", e.dir, gapText(e.gap.Bytes))
		case e.rep != nil:
			lat := ""
			if e.cmd != nil && e.cmd.Kind != smtpdecode.KindUnmatched {
				lat = latency(e.cmd.Latency())
			}
			t.reply(rel, lat, e.rep, e.cmd != nil && e.cmd.Kind == smtpdecode.KindUnmatched)
		default:
			t.line(rel, "", "C", t.commandText(e.cmd))
		}
	}
	if s.TLS {
		what := "after STARTTLS"
		if s.ImplicitTLS {
			what = "implicit TLS"
		}
		fmt.Fprintf(w, "  <encrypted (%s): %d bytes from client, %d from server>\n", what, s.TLSBytes[0], s.TLSBytes[1])
	}
	if s.DroppedCommands > 0 {
		fmt.Fprintf(w, "  <%d more turns not kept>\n", s.DroppedCommands)
	}
	fmt.Fprintln(w)
	return w.Flush()
}

// Line writes one free-form line, such as the final count.
func (t *Text) Line(s string) error {
	t.w.WriteString(s)
	t.w.WriteByte('\n')
	return t.w.Flush()
}

func (t *Text) line(rel, lat, dir, text string) {
	fmt.Fprintf(t.w, "  %11s %9s  %s: %s\n", rel, lat, dir, text)
}

func (t *Text) reply(rel, lat string, r *smtpdecode.Reply, unmatched bool) {
	for i, l := range r.Lines {
		text := l
		if r.Code != 0 {
			sep := "-"
			if i == len(r.Lines)-1 {
				sep = " "
			}
			text = fmt.Sprintf("%03d%s%s", r.Code, sep, l)
			if l == "" && sep == " " {
				text = fmt.Sprintf("%03d", r.Code)
			}
		}
		text = Printable(text)
		if unmatched && i == len(r.Lines)-1 {
			text += "  <no command was waiting for this reply>"
		}
		if i == 0 {
			t.line(rel, lat, "S", text)
		} else {
			t.line("", "", "S", text)
		}
	}
}

func (t *Text) commandText(c *smtpdecode.Command) string {
	var text string
	switch {
	case c.Kind == smtpdecode.KindMessage:
		m := c.Message
		text = fmt.Sprintf("<message: %d bytes, %d lines", m.Bytes, m.Lines)
		if m.Missing > 0 {
			text += fmt.Sprintf(", %d bytes lost", m.Missing)
		}
		if !m.Terminated {
			text += ", not terminated"
		}
		text += ">"
	case c.Secret && !t.o.ShowSecrets:
		text = Printable(maskedLine(c))
	default:
		text = Printable(c.Line)
		if m := c.Message; m != nil {
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
	switch {
	case c.LostReply:
		text += "  <reply lost in a gap>"
	case c.Reply == nil && (c.Kind != smtpdecode.KindMessage || c.Message.Terminated):
		text += "  <no reply>"
	}
	return text
}

// maskedLine is a command line with its credential replaced by a note.
func maskedLine(c *smtpdecode.Command) string {
	if c.Kind == smtpdecode.KindAuthResponse {
		return fmt.Sprintf("<secret: %d bytes, --show-secrets shows it>", len(c.Line))
	}
	mech, ir, _ := strings.Cut(c.Arg, " ")
	verb, _, _ := strings.Cut(c.Line, " ")
	return fmt.Sprintf("%s %s <secret: %d bytes, --show-secrets shows it>", verb, mech, len(ir))
}

// MaskedLine is the command line as reports show it: the credential of an
// AUTH exchange masked unless showSecrets.
func MaskedLine(c *smtpdecode.Command, showSecrets bool) string {
	if c.Secret && !showSecrets {
		return maskedLine(c)
	}
	return c.Line
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
