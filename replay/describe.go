package replay

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Describe says in one line what Generate would replay for s, for listing
// the sessions of a capture: "EHLO, AUTH LOGIN as whb, 1 message from
// alice@example.com to 2 recipients (3.2 KB), QUIT". Text from the capture
// is escaped (control characters, invalid UTF-8, invisible characters);
// credentials other than the user name never appear.
func Describe(s *smtpdecode.Session) string {
	if s == nil {
		return "nothing"
	}
	var items []string
	add := func(item string) {
		if n := len(items); n > 0 {
			// Repeats collapse: "NOOP ×3".
			prev, count := items[n-1], 1
			if base, c, ok := strings.Cut(prev, " ×"); ok {
				if k, err := strconv.Atoi(c); err == nil {
					prev, count = base, k
				}
			}
			if prev == item {
				items[n-1] = fmt.Sprintf("%s ×%d", item, count+1)
				return
			}
		}
		items = append(items, item)
	}
	txs := map[int]*smtpdecode.Transaction{}
	for i := range s.Transactions {
		if t := &s.Transactions[i]; t.Command >= 0 {
			txs[t.Command] = t
		}
	}
	var run *messageRun // consecutive messages, told as one item
	flush := func() {
		if run != nil {
			add(run.String())
			run = nil
		}
	}
	if s.ImplicitTLS {
		add("TLS from the start (nothing readable)")
	}
	for i := range s.Commands {
		c := &s.Commands[i]
		if c.Kind != smtpdecode.KindCommand {
			continue
		}
		switch c.Verb {
		case "MAIL":
			t := txs[i]
			if t == nil {
				flush()
				add("MAIL")
				continue
			}
			if t.Message == nil {
				flush()
				add(fmt.Sprintf("MAIL from %s to %s, no message (%s)", addr(t.MailFrom), rcpts(t), t.Outcome))
				continue
			}
			if run == nil {
				run = &messageRun{}
			}
			run.add(t)
			continue
		case "RCPT", "DATA", "BDAT":
			continue // told with their transaction
		}
		flush()
		switch c.Verb {
		case "AUTH":
			add(describeAuth(s, i, c))
		case "STARTTLS":
			item := "STARTTLS"
			if c.Reply != nil && c.Reply.Code == 220 && s.TLS {
				item += ", then TLS (the rest cannot be read)"
			}
			add(item)
		case "":
			add("an empty line")
		default:
			add(report.Printable(c.Verb))
		}
	}
	flush()
	if len(s.Commands) == 0 && !s.ImplicitTLS {
		return "nothing (the client sent no command)"
	}
	if s.DroppedCommands > 0 {
		add(fmt.Sprintf("%d more turns not kept", s.DroppedCommands))
	}
	return strings.Join(items, ", ")
}

// messageRun is consecutive transactions that sent a message.
type messageRun struct {
	n, rcpts, accepted int
	bytes              int64
	from               []string
	rejected           int
}

func (m *messageRun) add(t *smtpdecode.Transaction) {
	m.n++
	m.rcpts += len(t.Rcpts)
	m.accepted += t.Accepted()
	m.bytes += t.MessageBytes
	f := addr(t.MailFrom)
	if len(m.from) == 0 || m.from[len(m.from)-1] != f {
		m.from = append(m.from, f)
	}
	if t.Outcome != smtpdecode.OutcomeAccepted {
		m.rejected++
	}
}

func (m *messageRun) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s", m.n, plural(m.n, "message", "messages"))
	if len(m.from) == 1 {
		fmt.Fprintf(&b, " from %s", m.from[0])
	} else {
		fmt.Fprintf(&b, " from %d senders", len(m.from))
	}
	if m.accepted == m.rcpts {
		fmt.Fprintf(&b, " to %d %s", m.rcpts, plural(m.rcpts, "recipient", "recipients"))
	} else {
		fmt.Fprintf(&b, " to %d of %d %s", m.accepted, m.rcpts, plural(m.rcpts, "recipient", "recipients"))
	}
	fmt.Fprintf(&b, " (%s", byteSize(m.bytes))
	if m.rejected > 0 {
		fmt.Fprintf(&b, ", %d not accepted", m.rejected)
	}
	b.WriteString(")")
	return b.String()
}

func rcpts(t *smtpdecode.Transaction) string {
	n := len(t.Rcpts)
	return fmt.Sprintf("%d %s", n, plural(n, "recipient", "recipients"))
}

func addr(a string) string {
	if a == "" {
		return "<>"
	}
	return report.Printable(a)
}

// describeAuth tells an AUTH command: its mechanism, user and how it ended.
func describeAuth(s *smtpdecode.Session, i int, c *smtpdecode.Command) string {
	mech, _ := smtpdecode.SplitAuthArg(c.Arg)
	item := "AUTH " + report.Printable(mech)
	var a *smtpdecode.Auth
	code := 0
	if s.Auth != nil && s.Auth.Command == i {
		a, code = &s.Auth.Auth, s.Auth.Code
	} else {
		// An earlier exchange: decode it alone.
		p := newPlan(&smtpdecode.Session{Commands: s.Commands[i:]})
		if len(p.turns) > 0 && p.turns[0].auth != nil {
			x := p.turns[0].auth
			a = &x.decoded
			if x.final != nil {
				code = x.final.Code
			}
		}
	}
	if a != nil && a.Username != "" {
		item += " as " + report.Printable(a.Username)
	}
	switch {
	case a != nil && a.Cancelled:
		item += " (cancelled)"
	case code == 0:
		item += " (no reply)"
	case code/100 != 2:
		item += fmt.Sprintf(" (refused: %d)", code)
	}
	return item
}

// byteSize tells a size: "146 bytes", "3.2 KB", "12.0 MB".
func byteSize(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d %s", n, plural(int(n), "byte", "bytes"))
	case n < 1<<20:
		return fmt.Sprintf("%.1f KB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

func plural(n int, one, more string) string {
	if n == 1 {
		return one
	}
	return more
}
