package smtpdecode

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestPendingOverflowKeepsPairing: past MaxPending the replies to the turns
// beyond it are not kept, but every reply still goes to its own turn.
func TestPendingOverflowKeepsPairing(t *testing.T) {
	d := New(testConn, Options{MaxPending: 3})
	d.Feed(FromServer, []byte("220 mx ESMTP\r\n"), t0)
	d.Feed(FromClient, []byte("EHLO c\r\n"), t0)
	d.Feed(FromServer, []byte("250-mx\r\n250 PIPELINING\r\n"), t0)
	var cmds, replies strings.Builder
	cmds.WriteString("MAIL FROM:<a@b.c>\r\n")
	replies.WriteString("250 mail\r\n")
	for i := range 6 {
		fmt.Fprintf(&cmds, "RCPT TO:<r%d@b.c>\r\n", i)
		fmt.Fprintf(&replies, "250 rcpt%d\r\n", i)
	}
	cmds.WriteString("DATA\r\n")
	replies.WriteString("354 go\r\n")
	d.Feed(FromClient, []byte(cmds.String()), t0)
	d.Feed(FromServer, []byte(replies.String()), t0)
	// The client waited for 354: the message and QUIT are tracked again.
	d.Feed(FromClient, []byte("hi\r\n.\r\n"), t0)
	d.Feed(FromServer, []byte("250 queued as X1\r\n"), t0)
	d.Feed(FromClient, []byte("QUIT\r\n"), t0)
	d.Feed(FromServer, []byte("221 bye\r\n"), t0)
	s := d.Close(t0, ClosedFIN)
	for _, c := range s.Commands {
		if c.Kind == KindUnmatched {
			t.Errorf("unmatched reply %+v", c.Reply)
		}
	}
	got := []string{}
	for _, c := range s.Commands[1:4] {
		got = append(got, c.Reply.Lines[0])
	}
	if want := "mail rcpt0 rcpt1"; strings.Join(got, " ") != want {
		t.Errorf("replies %q, want %q", got, want)
	}
	last := s.Commands[len(s.Commands)-1]
	if last.Verb != "QUIT" || last.Reply == nil || last.Reply.Code != 221 {
		t.Errorf("QUIT got %+v", last.Reply)
	}
	if len(s.Transactions) != 1 || s.Transactions[0].Outcome != OutcomeAccepted || s.Transactions[0].MessageBytes != 4 {
		t.Errorf("transactions %+v", s.Transactions)
	}
}

// TestAuthInitialResponseAfterTab: a tab between mechanism and initial
// response still makes the AUTH line a secret.
func TestAuthInitialResponseAfterTab(t *testing.T) {
	d := New(testConn, Options{})
	d.Feed(FromServer, []byte("220 mx\r\n"), t0)
	d.Feed(FromClient, []byte("AUTH PLAIN\tAHVzZXIAaHVudGVyMg==\r\n"), t0)
	d.Feed(FromServer, []byte("235 ok\r\n"), t0)
	s := d.Close(t0, ClosedFIN)
	if c := s.Commands[0]; !c.Secret {
		t.Errorf("AUTH line not secret: %+v", c)
	}
	if mech, ir := SplitAuthArg(s.Commands[0].Arg); mech != "PLAIN" || ir != "AHVzZXIAaHVudGVyMg==" {
		t.Errorf("SplitAuthArg: %q %q", mech, ir)
	}
}

// TestEHLOAuthFloodBounded: an EHLO reply with thousands of AUTH mechanisms
// keeps a bounded list and costs linear work.
func TestEHLOAuthFloodBounded(t *testing.T) {
	var lines []string
	for i := range 250 {
		var b strings.Builder
		b.WriteString("AUTH")
		for j := range 800 {
			fmt.Fprintf(&b, " M%d", i*800+j)
		}
		lines = append(lines, b.String())
	}
	exts := ParseExtensions(lines)
	if len(exts) != 1 || len(exts[0].Params) != maxExtensionParams {
		t.Errorf("%d extensions, %d mechanisms", len(exts), len(exts[0].Params))
	}
}

// TestHeldBytesCopiedOnce: DATA after DATA in one-byte pieces, each refused:
// every refusal releases the held bytes and the next DATA holds the rest
// again. The rest must not be copied again each time (that was quadratic).
func TestHeldBytesCopiedOnce(t *testing.T) {
	feed := func(n int) uint64 {
		d := New(testConn, Options{})
		d.Feed(FromServer, []byte("220 mx\r\n"), t0)
		in := bytes.Repeat([]byte("DATA\r\n"), n)
		return allocated(func() {
			for i := range in {
				d.Feed(FromClient, in[i:i+1], t0)
			}
			for range n {
				d.Feed(FromServer, []byte("554 no valid recipients\r\n"), t0)
			}
		})
	}
	small, large := feed(500), feed(4000)
	if large > 16*small {
		t.Errorf("%d bytes allocated for 4000 DATA, %d for 500: not linear", large, small)
	}
}

// TestAuthAfterTab: a tab after the verb still makes an AUTH command, so its
// initial response is a secret.
func TestAuthAfterTab(t *testing.T) {
	d := New(testConn, Options{})
	d.Feed(FromServer, []byte("220 mx\r\n"), t0)
	d.Feed(FromClient, []byte("AUTH\tPLAIN AHVzZXIAaHVudGVyMg==\r\n"), t0)
	d.Feed(FromServer, []byte("235 ok\r\n"), t0)
	s := d.Close(t0, ClosedFIN)
	if c := s.Commands[0]; c.Verb != "AUTH" || !c.Secret || c.Arg != "PLAIN AHVzZXIAaHVudGVyMg==" {
		t.Errorf("%+v", c)
	}
}

// contentRecorder collects what Options.Content is given, message by message.
type contentRecorder struct {
	msgs   []*bytes.Buffer
	closed int
}

func (r *contentRecorder) open(ContentStart) io.Writer {
	b := new(bytes.Buffer)
	r.msgs = append(r.msgs, b)
	return closer{b, &r.closed}
}

type closer struct {
	*bytes.Buffer
	n *int
}

func (c closer) Close() error { *c.n++; return nil }

// TestContentStreams: the Content writer gets each message's content as
// the server reads it (dot-unstuffed DATA; BDAT chunks joined), whatever
// the chunking, and is closed once per message.
func TestContentStreams(t *testing.T) {
	script := []string{
		"S 220 mx\r\n", "C EHLO c\r\n", "S 250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
		"C MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n", "S 250 ok\r\n250 ok\r\n354 go\r\n",
		"C Subject: one\r\n\r\n..dot\r\n.\r\n", "S 250 queued\r\n",
		"C MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nBDAT 9\r\nSubject: BDAT 7 LAST\r\n\r\ntwo\r\n", "S 250 ok\r\n250 ok\r\n250 9\r\n250 queued\r\n",
		"C QUIT\r\n", "S 221 bye\r\n",
	}
	for _, piece := range []int{1000, 1, 2, 7} {
		var r contentRecorder
		d := New(testConn, Options{Content: r.open})
		for _, rec := range script {
			dir, data := FromClient, []byte(rec[2:])
			if rec[0] == 'S' {
				dir = FromServer
			}
			for len(data) > 0 {
				n := min(piece, len(data))
				d.Feed(dir, data[:n], t0)
				data = data[n:]
			}
		}
		d.Close(t0, ClosedFIN)
		var got []string
		for _, b := range r.msgs {
			got = append(got, b.String())
		}
		want := []string{"Subject: one\r\n\r\n.dot\r\n", "Subject: \r\ntwo\r\n"} // "BDAT 7 LAST" is a command between the chunks
		if strings.Join(got, "|") != strings.Join(want, "|") || r.closed != 2 {
			t.Errorf("pieces of %d: content %q, closed %d; want %q, 2", piece, got, r.closed, want)
		}
	}
}
