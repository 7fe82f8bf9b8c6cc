package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rivo/uniseg"

	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// summaryOf writes the summary of sessions.
func summaryOf(t testing.TB, o Options, so SummaryOptions, sessions ...*smtpdecode.Session) []string {
	t.Helper()
	var b bytes.Buffer
	sum := NewSummary(&b, o, so)
	for _, s := range sessions {
		if err := sum.Session(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := sum.Close(); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
}

func TestSummaryCells(t *testing.T) {
	s := newSession(authCommand("AUTH PLAIN AGFsaWNlAHNlY3JldA=="))
	s.Helo = &smtpdecode.Helo{Verb: "EHLO", Name: "client.example"}
	s.Auth = &smtpdecode.AuthResult{Auth: smtpdecode.Auth{Mechanism: "PLAIN", Username: "alice", Password: "secret"}, Code: 235, Success: true}
	s.End = s.Start.Add(1500 * time.Millisecond)
	s.Transactions = []smtpdecode.Transaction{
		{MailFrom: "alice@example.com", MailCode: 250, Rcpts: []smtpdecode.Recipient{{Address: "b@x", Code: 250}, {Address: "c@x", Code: 550}},
			DataCode: 354, FinalCode: 250, MessageBytes: 12345, Outcome: smtpdecode.OutcomeAccepted,
			Message: &smtpdecode.Message{Bytes: 12345, Parsed: &message.Message{Header: message.Header{Subject: "Quarterly report"}}}},
		{MailFrom: "alice@example.com", MailCode: 250, Rcpts: []smtpdecode.Recipient{{Address: "d@x", Code: 550}}, Outcome: smtpdecode.OutcomeRejected},
	}
	lines := summaryOf(t, Options{}, SummaryOptions{}, s)
	row := lines[1]
	for _, want := range []string{"2026-03-01 12:00:00", "192.0.2.10:40001", "198.51.100.25:25", "client.example", "alice ok",
		"<alice@example.com> (+1)", "1/2", "12K", "Quarterly report", "sent, rejected 550", "1.500s"} {
		if !strings.Contains(row, want) {
			t.Errorf("row lacks %q:\n%s\n%s", want, lines[0], row)
		}
	}
	if strings.Contains(strings.Join(lines, "\n"), "secret") {
		t.Error("the password shows")
	}
	total := lines[2]
	for _, want := range []string{"1 session over 1.500s", "2 transactions (1 accepted, 1 rejected), 1 message of 12K", "recipients 1 accepted, 2 refused", "AUTH 1 ok, 0 failed", "1 with failures"} {
		if !strings.Contains(total, want) {
			t.Errorf("totals lack %q: %s", want, total)
		}
	}
}

// TestSummaryHostile: what a capture puts in a cell cannot act on the terminal, and a cut keeps
// the line's width with wide characters.
func TestSummaryHostile(t *testing.T) {
	s := newSession()
	s.Helo = &smtpdecode.Helo{Verb: "HELO", Name: "evil\x1b[31m\r\n\u202e"}
	s.Transactions = []smtpdecode.Transaction{{MailFrom: "a\x00b@x", Outcome: smtpdecode.OutcomeAccepted,
		Message: &smtpdecode.Message{Parsed: &message.Message{Header: message.Header{Subject: strings.Repeat("件名", 40) + "\x1b]0;title\x07"}}}}}
	lines := summaryOf(t, Options{}, SummaryOptions{}, s)
	out := strings.Join(lines, "\n")
	for _, bad := range []string{"\x1b", "\r", "\x00", "\u202e", "\x07"} {
		if strings.Contains(out, bad) {
			t.Errorf("output holds %q:\n%s", bad, out)
		}
	}
	if uniseg.StringWidth(lines[0]) != uniseg.StringWidth(lines[1]) {
		t.Errorf("widths differ:\n%s\n%s", lines[0], lines[1])
	}
	if !strings.Contains(lines[1], "件…") && !strings.Contains(lines[1], "名…") {
		t.Errorf("subject not cut with …: %s", lines[1])
	}
}

// TestSummaryManySessions: past the probe, lines are written as sessions come, in the widths
// the first ones set.
func TestSummaryManySessions(t *testing.T) {
	var sessions []*smtpdecode.Session
	for i := range summaryProbe + 50 {
		s := newSession()
		s.ID = int64(i + 1)
		if i == summaryProbe+10 {
			s.Client = netip.MustParseAddrPort("[2001:db8:ffff:ffff:ffff:ffff:ffff:ffff]:65535") // wider than sized
		}
		sessions = append(sessions, s)
	}
	var b bytes.Buffer
	sum := NewSummary(&b, Options{}, SummaryOptions{})
	for i, s := range sessions {
		sum.Session(s)
		if i == summaryProbe-2 && b.Len() != 0 {
			t.Fatal("lines written before the columns were sized")
		}
		if i == summaryProbe && !strings.Contains(b.String(), "\n  101  ") && !strings.Contains(b.String(), " 101 ") {
			t.Fatalf("session %d not written at once:\n%s", s.ID, b.String())
		}
	}
	sum.Close()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(sessions)+2 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	if !strings.Contains(lines[summaryProbe+11], "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff") {
		t.Errorf("a long address was cut: %s", lines[summaryProbe+11])
	}
}

func TestCutWidth(t *testing.T) {
	for _, c := range []struct {
		s    string
		w    int
		want string
	}{
		{"abcdef", 4, "abc…"},
		{"件名件名", 4, "件…"}, // two columns each: 件 + … = 3 ≤ 4, 件名 + … = 5 > 4
		{"e\u0301e\u0301e\u0301", 2, "e\u0301…"},
		{"abc", 1, "…"},
	} {
		got, n := cutWidth(c.s, c.w)
		if got != c.want || n != uniseg.StringWidth(got) || n > c.w {
			t.Errorf("cutWidth(%q, %d) = %q, %d; want %q", c.s, c.w, got, n, c.want)
		}
	}
}

// TestFitWidthLeft: the end of the text is kept, within the columns.
func TestFitWidthLeft(t *testing.T) {
	for _, c := range []struct {
		s    string
		w    int
		want string
	}{
		{"relay-2026-11-22.pcap", 30, "relay-2026-11-22.pcap"},
		{"relay-2026-11-22.pcap", 10, "…1-22.pcap"},
		{"件名件名.pcap", 8, "…名.pcap"},
	} {
		if got := fitWidthLeft(c.s, c.w); got != c.want || uniseg.StringWidth(got) > c.w {
			t.Errorf("fitWidthLeft(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		43 * time.Millisecond:       "0.043s",
		12500 * time.Millisecond:    "12.5s",
		185 * time.Second:           "3m05s",
		2*time.Hour + 4*time.Minute: "2h04m",
		100 * time.Hour:             "4d04h",
		-time.Second:                "-",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0B", 1023: "1023B", 1024: "1.0K", 12345: "12K", 5 << 20: "5.0M", 3 << 30: "3.0G"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// FuzzSummary: whatever a capture puts in its strings, the summary holds no control byte and
// no line is wider than the header but by an address.
func FuzzSummary(f *testing.F) {
	f.Add("client.example", "alice@example.com", "Hello", "alice")
	f.Add("\x1b[2J", "\x00@\r\n", "\u202e件名\t", "")
	f.Fuzz(func(t *testing.T, helo, from, subject, user string) {
		s := newSession()
		s.Helo = &smtpdecode.Helo{Name: helo}
		s.Auth = &smtpdecode.AuthResult{Auth: smtpdecode.Auth{Mechanism: "LOGIN", Username: user}, Code: 535}
		s.Transactions = []smtpdecode.Transaction{{MailFrom: from, Outcome: smtpdecode.OutcomeRejected, FinalCode: 554,
			Message: &smtpdecode.Message{Parsed: &message.Message{Header: message.Header{Subject: subject}}}}}
		for _, width := range []int{0, 60} {
			lines := summaryOf(t, Options{Color: width == 0}, SummaryOptions{Width: width}, s)
			out := strings.Join(lines, "")
			out = strings.ReplaceAll(strings.ReplaceAll(out, red, ""), reset, "")
			for _, r := range out {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
					t.Fatalf("control %U in %q", r, out)
				}
			}
			row := strings.ReplaceAll(strings.ReplaceAll(lines[1], red, ""), reset, "")
			if width == 0 && uniseg.StringWidth(row) > uniseg.StringWidth(lines[0]) {
				t.Fatalf("row wider than header:\n%s\n%s", lines[0], lines[1])
			}
			// The last column is not padded: its title may be narrower than its values.
			if width > 0 && (uniseg.StringWidth(row) > width || uniseg.StringWidth(lines[0]) > width) {
				t.Fatalf("wider than %d:\n%s\n%s", width, lines[0], lines[1])
			}
		}
	})
}

// TestSummaryStream: with Stream, each line reaches the writer as its session is given; write
// errors come back from Session.
func TestSummaryStream(t *testing.T) {
	var b bytes.Buffer
	sum := NewSummary(&b, Options{}, SummaryOptions{Stream: true})
	for i := range 3 {
		s := newSession()
		s.ID = int64(i + 1)
		if err := sum.Session(s); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(b.String(), "\n"); n != i+2 { // the header and each line so far
			t.Fatalf("after session %d, %d lines written:\n%s", i+1, n, b.String())
		}
	}
	failing := NewSummary(failWriter{}, Options{}, SummaryOptions{Stream: true})
	if err := failing.Session(newSession()); err == nil {
		t.Error("a write error was not returned")
	}
	if err := failing.Close(); err == nil {
		t.Error("Close did not return the write error")
	}
}
