package smtpdecode

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// eachSplit plays tr in every chunking and runs check on each Session.
func eachSplit(t *testing.T, tr *transcript, check func(t *testing.T, s *Session)) {
	t.Helper()
	for _, m := range splitModes {
		t.Run(m.name, func(t *testing.T) { check(t, play(tr, m.split())) })
	}
}

// oneTx returns the session's only transaction.
func oneTx(t *testing.T, s *Session) *Transaction {
	t.Helper()
	if len(s.Transactions) != 1 {
		t.Fatalf("%d transactions, want 1:\n%s", len(s.Transactions), dump(s))
	}
	return &s.Transactions[0]
}

// txString shows a transaction's fields in one line.
func txString(tx *Transaction) string {
	var rcpts []string
	for _, r := range tx.Rcpts {
		rcpts = append(rcpts, fmt.Sprintf("%s=%d", r.Address, r.Code))
	}
	return fmt.Sprintf("from %q params %v mail %d rcpts [%s] data %d final %d queue %q bytes %d 8bit %v outcome %s command %d",
		tx.MailFrom, tx.MailParams, tx.MailCode, strings.Join(rcpts, " "), tx.DataCode, tx.FinalCode, tx.QueueID,
		tx.MessageBytes, tx.EightBit, tx.Outcome, tx.Command)
}

// wantTxs compares the session's transactions with txString forms.
func wantTxs(t *testing.T, s *Session, want ...string) {
	t.Helper()
	var got []string
	for i := range s.Transactions {
		got = append(got, txString(&s.Transactions[i]))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("transactions:\n  got  %q\n  want %q", got, want)
	}
}

var txStart = greet("PIPELINING", "SIZE 10240000", "8BITMIME", "CHUNKING")

func TestTransactionAccepted(t *testing.T) {
	tr := script(t, then(txStart,
		"C MAIL FROM:<a@example.org> SIZE=46 BODY=8BITMIME\r\nRCPT TO:<b@example.com> NOTIFY=FAILURE\r\nRCPT TO:<nobody@example.com>\r\nDATA\r\n",
		"S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
		"C Subject: hi\r\n\r\n..a stuffed dot\r\nd\xc3\xa9j\xc3\xa0\r\n.\r\n",
		"S 250 2.0.0 Ok: queued as 4ABC12DEF\r\n",
		"C QUIT\r\n", "S 221 2.0.0 Bye\r\n")...)
	eachSplit(t, tr, func(t *testing.T, s *Session) {
		// "Subject: hi\r\n\r\n" 15, ".a stuffed dot\r\n" 16, "déjà\r\n" 8.
		wantTxs(t, s, `from "a@example.org" params [{SIZE 46} {BODY 8BITMIME}] mail 250 rcpts [b@example.com=250 nobody@example.com=550] data 354 final 250 queue "4ABC12DEF" bytes 39 8bit true outcome accepted command 1`)
		tx := oneTx(t, s)
		if tx.Accepted() != 1 {
			t.Errorf("Accepted() = %d, want 1", tx.Accepted())
		}
		if want := []Param{{"NOTIFY", "FAILURE"}}; !reflect.DeepEqual(tx.Rcpts[0].Params, want) {
			t.Errorf("first recipient's params %v, want %v", tx.Rcpts[0].Params, want)
		}
		if c := s.Commands[tx.Command]; c.Verb != "MAIL" {
			t.Errorf("transaction's command is %q", c.Verb)
		}
		if len(s.Anomalies) != 0 {
			t.Errorf("anomalies: %v", anomalySet(s))
		}
	})
}

func TestTransactionOutcomes(t *testing.T) {
	// Raw lines; "C " + ... sends them.
	mail := "MAIL FROM:<a@example.org>\r\n"
	rcpt := "RCPT TO:<b@example.com>\r\n"
	tests := []struct {
		name  string
		lines []string
		want  []string
	}{
		{"RSET aborts", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C " + rcpt, "S 250 2.1.5 Ok\r\n", "C RSET\r\n", "S 250 2.0.0 Ok\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 0 final 0 queue "" bytes 0 8bit false outcome aborted command 1`}},
		{"QUIT aborts", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C " + rcpt, "S 250 2.1.5 Ok\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 0 final 0 queue "" bytes 0 8bit false outcome aborted command 1`}},
		{"MAIL refused", []string{"C " + mail, "S 550 5.7.1 Sender rejected\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 550 rcpts [] data 0 final 0 queue "" bytes 0 8bit false outcome rejected command 1`}},
		{"MAIL refused, RCPT pipelined after it", []string{"C " + mail + rcpt, "S 451 4.3.0 Try later\r\n503 5.5.1 Error: need MAIL command\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 451 rcpts [b@example.com=503] data 0 final 0 queue "" bytes 0 8bit false outcome rejected command 1`}},
		{"every RCPT refused, DATA refused", []string{"C " + mail + rcpt + "RCPT TO:<c@example.com>\r\nDATA\r\n",
			"S 250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n450 4.2.0 Greylisted\r\n554 5.5.1 Error: no valid recipients\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=550 c@example.com=450] data 554 final 554 queue "" bytes 0 8bit false outcome rejected command 1`}},
		{"every RCPT refused, then QUIT", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C " + rcpt, "S 550 5.1.1 No such user\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=550] data 0 final 0 queue "" bytes 0 8bit false outcome rejected command 1`}},
		{"every RCPT refused, RSET pipelined before the replies", []string{"C " + mail + rcpt + "RSET\r\nQUIT\r\n",
			"S 250 2.1.0 Ok\r\n550 5.1.1 No such user\r\n250 2.0.0 Ok\r\n221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=550] data 0 final 0 queue "" bytes 0 8bit false outcome rejected command 1`}},
		{"every RCPT refused, connection closed", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C " + rcpt, "S 550 5.1.1 No such user\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=550] data 0 final 0 queue "" bytes 0 8bit false outcome rejected command 1`}},
		{"one RCPT of two refused, then RSET", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C " + rcpt, "S 250 2.1.5 Ok\r\n", "C RCPT TO:<c@example.com>\r\n", "S 550 5.1.1 No such user\r\n", "C RSET\r\n", "S 250 2.0.0 Ok\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250 c@example.com=550] data 0 final 0 queue "" bytes 0 8bit false outcome aborted command 1`}},
		{"message refused", []string{"C " + mail + rcpt + "DATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n",
			"C Subject: spam\r\n\r\nbuy\r\n.\r\n", "S 554 5.7.1 Message rejected as spam\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 354 final 554 queue "" bytes 22 8bit false outcome rejected command 1`}},
		{"message deferred", []string{"C " + mail + rcpt + "DATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n",
			"C Subject: x\r\n\r\n.\r\n", "S 451 4.3.0 Error: queue file write error\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 354 final 451 queue "" bytes 14 8bit false outcome rejected command 1`}},
		{"closed in the middle of DATA", []string{"C " + mail + rcpt + "DATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n",
			"C Subject: cut\r\n\r\nthe conne"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 354 final 0 queue "" bytes 25 8bit false outcome unfinished command 1`}},
		{"closed awaiting the reply to the message", []string{"C " + mail + rcpt + "DATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n",
			"C Subject: x\r\n\r\n.\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 354 final 0 queue "" bytes 14 8bit false outcome unfinished command 1`}},
		{"a new MAIL aborts the open one", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C MAIL FROM:<>\r\n", "S 503 5.5.1 Error: nested MAIL command\r\n"},
			[]string{
				`from "a@example.org" params [] mail 250 rcpts [] data 0 final 0 queue "" bytes 0 8bit false outcome aborted command 1`,
				`from "" params [] mail 503 rcpts [] data 0 final 0 queue "" bytes 0 8bit false outcome rejected command 2`,
			}},
		{"EHLO aborts the open one", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C EHLO again\r\n", "S 250 mx.example.com\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [] data 0 final 0 queue "" bytes 0 8bit false outcome aborted command 1`}},
		{"two transactions", []string{
			"C " + mail + rcpt + "DATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n", "C Subject: one\r\n\r\n.\r\n", "S 250 2.0.0 Ok: queued as 1111AAAA\r\n",
			"C MAIL FROM:<>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n", "C Subject: two\r\n\r\nbody\r\n.\r\n", "S 250 2.0.0 Ok: queued as 2222BBBB\r\n",
			"C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{
				`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 354 final 250 queue "1111AAAA" bytes 16 8bit false outcome accepted command 1`,
				`from "" params [] mail 250 rcpts [c@example.com=250] data 354 final 250 queue "2222BBBB" bytes 22 8bit false outcome accepted command 5`,
			}},
		{"BDAT 10 and BDAT 5 LAST", []string{"C " + mail + rcpt, "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n",
			"C BDAT 10\r\nhi\r\n.\r\n\x00\xff!", "S 250 2.0.0 10 octets received\r\n",
			"C BDAT 5 LAST\r\nend\r\n", "S 250 2.0.0 Ok: queued as 3333CCCC\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 0 final 250 queue "3333CCCC" bytes 15 8bit true outcome accepted command 1`}},
		{"BDAT pipelined", []string{"C " + mail + rcpt + "BDAT 3\r\nabcBDAT 2 LAST\r\nde",
			"S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 3 octets\r\n250 2.0.0 Ok: queued as 4444DDDD\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 0 final 250 queue "4444DDDD" bytes 5 8bit false outcome accepted command 1`}},
		{"BDAT chunk refused", []string{"C " + mail + rcpt, "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n",
			"C BDAT 4\r\nabcd", "S 552 5.3.4 Message too big\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 0 final 552 queue "" bytes 4 8bit false outcome rejected command 1`}},
		{"STARTTLS in a transaction", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C STARTTLS\r\n", "S 220 2.0.0 Ready to start TLS\r\n", "C \x16\x03\x01\x00\x05hello"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [] data 0 final 0 queue "" bytes 0 8bit false outcome unfinished command 1`}},
		{"STARTTLS refused", []string{"C " + mail, "S 250 2.1.0 Ok\r\n", "C STARTTLS\r\n", "S 454 4.7.0 TLS not available\r\n", "C " + rcpt, "S 250 2.1.5 Ok\r\n", "C QUIT\r\n", "S 221 Bye\r\n"},
			[]string{`from "a@example.org" params [] mail 250 rcpts [b@example.com=250] data 0 final 0 queue "" bytes 0 8bit false outcome aborted command 1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachSplit(t, script(t, then(txStart, tt.lines...)...), func(t *testing.T, s *Session) {
				wantTxs(t, s, tt.want...)
			})
		})
	}
}

func TestTransactionUnterminated(t *testing.T) {
	tr := script(t, then(txStart,
		"C MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n", "S 250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n",
		"C Subject: cut\r\n\r\nthe conne")...)
	eachSplit(t, tr, func(t *testing.T, s *Session) {
		if got := oneTx(t, s).Outcome; got != OutcomeUnfinished {
			t.Errorf("outcome %s, want unfinished", got)
		}
		if got, want := anomalySet(s), []string{"message-unterminated C 1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("anomalies %q, want %q", got, want)
		}
		last := s.Commands[len(s.Commands)-1]
		if last.Kind != KindMessage || last.Message.Terminated || last.Message.Bytes != 25 {
			t.Errorf("last turn %v %+v, want an unterminated 25-byte message", last.Kind, last.Message)
		}
	})
}

// authTurns returns the session's AUTH command and the turns after it.
func authTurns(t *testing.T, s *Session) []Command {
	t.Helper()
	if s.Auth == nil {
		t.Fatalf("no AUTH result:\n%s", dump(s))
	}
	if s.Auth.Command < 0 || s.Commands[s.Auth.Command].Verb != "AUTH" {
		t.Fatalf("AUTH result points at command %d", s.Auth.Command)
	}
	turns := []Command{s.Commands[s.Auth.Command]}
	for _, c := range s.Commands[s.Auth.Command+1:] {
		if c.Kind != KindAuthResponse {
			break
		}
		turns = append(turns, c)
	}
	return turns
}

// turnString shows what an AUTH turn says and hides.
func turnString(c Command) string {
	s := fmt.Sprintf("%q secret %v decoded %q", c.Line, c.Secret, c.Decoded)
	if c.Reply != nil {
		s += fmt.Sprintf(" -> %d decoded %q", c.Reply.Code, c.Reply.Decoded)
	}
	return s
}

func TestAuth(t *testing.T) {
	authStart := greet("PIPELINING", "AUTH PLAIN LOGIN CRAM-MD5")
	tests := []struct {
		name  string
		lines []string
		// mechanism, user, password, code, success
		mech, user, pass string
		code             int
		success          bool
		turns            []string // turnString of the AUTH command and each response
	}{
		{"LOGIN", []string{
			"C AUTH LOGIN\r\n", "S 334 VXNlcm5hbWU6\r\n",
			"C " + authB64("alice@example.org") + "\r\n", "S 334 UGFzc3dvcmQ6\r\n",
			"C " + authB64("s3cr3t-password") + "\r\n", "S 235 2.7.0 Authentication successful\r\n"},
			"LOGIN", "alice@example.org", "s3cr3t-password", 235, true,
			[]string{
				`"AUTH LOGIN" secret false decoded "" -> 334 decoded "Username:"`,
				`"YWxpY2VAZXhhbXBsZS5vcmc=" secret false decoded "alice@example.org" -> 334 decoded "Password:"`,
				`"czNjcjN0LXBhc3N3b3Jk" secret true decoded "" -> 235 decoded ""`,
			}},
		{"LOGIN with the user name as initial response", []string{
			"C AUTH LOGIN " + authB64("alice") + "\r\n", "S 334 UGFzc3dvcmQ6\r\n",
			"C " + authB64("s3cr3t") + "\r\n", "S 235 2.7.0 Authentication successful\r\n"},
			"LOGIN", "alice", "s3cr3t", 235, true,
			[]string{
				`"AUTH LOGIN YWxpY2U=" secret false decoded "alice" -> 334 decoded "Password:"`,
				`"czNjcjN0" secret true decoded "" -> 235 decoded ""`,
			}},
		{"LOGIN refused", []string{
			"C AUTH LOGIN\r\n", "S 334 VXNlcm5hbWU6\r\n",
			"C " + authB64("alice") + "\r\n", "S 334 UGFzc3dvcmQ6\r\n",
			"C " + authB64("wrong") + "\r\n", "S 535 5.7.8 Error: authentication failed\r\n"},
			"LOGIN", "alice", "wrong", 535, false,
			[]string{
				`"AUTH LOGIN" secret false decoded "" -> 334 decoded "Username:"`,
				`"YWxpY2U=" secret false decoded "alice" -> 334 decoded "Password:"`,
				`"d3Jvbmc=" secret true decoded "" -> 535 decoded ""`,
			}},
		{"PLAIN initial response", []string{
			"C AUTH PLAIN " + authB64("\x00alice\x00s3cr3t") + "\r\n", "S 235 2.7.0 Authentication successful\r\n"},
			"PLAIN", "alice", "s3cr3t", 235, true,
			[]string{`"AUTH PLAIN AGFsaWNlAHMzY3IzdA==" secret true decoded "" -> 235 decoded ""`}},
		{"PLAIN after an empty challenge", []string{
			"C AUTH PLAIN\r\n", "S 334 \r\n",
			"C " + authB64("admin\x00alice\x00s3cr3t") + "\r\n", "S 535 5.7.8 Error: authentication failed\r\n"},
			"PLAIN", "alice", "s3cr3t", 535, false,
			[]string{
				`"AUTH PLAIN" secret false decoded "" -> 334 decoded ""`,
				`"YWRtaW4AYWxpY2UAczNjcjN0" secret true decoded "" -> 535 decoded ""`,
			}},
		{"CRAM-MD5", []string{
			// RFC 2195's example.
			"C AUTH CRAM-MD5\r\n", "S 334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n",
			"C dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\r\n", "S 235 2.7.0 Authentication successful\r\n"},
			"CRAM-MD5", "tim", "b913a602c7eda7a495b4e6e7334d3890", 235, true,
			[]string{
				`"AUTH CRAM-MD5" secret false decoded "" -> 334 decoded "<1896.697170952@postoffice.reston.mci.net>"`,
				`"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw" secret true decoded "" -> 235 decoded ""`,
			}},
		{"cancelled", []string{"C AUTH LOGIN\r\n", "S 334 VXNlcm5hbWU6\r\n", "C *\r\n", "S 501 5.7.0 Authentication aborted\r\n"},
			"LOGIN", "", "", 501, false,
			[]string{
				`"AUTH LOGIN" secret false decoded "" -> 334 decoded "Username:"`,
				`"*" secret false decoded "" -> 501 decoded ""`,
			}},
		{"unknown mechanism refused", []string{"C AUTH NTLM TlRMTVNTUAABAAAA\r\n", "S 504 5.5.4 Unrecognized authentication type\r\n"},
			"NTLM", "", "", 504, false,
			[]string{`"AUTH NTLM TlRMTVNTUAABAAAA" secret true decoded "" -> 504 decoded ""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachSplit(t, script(t, then(authStart, tt.lines...)...), func(t *testing.T, s *Session) {
				a := s.Auth
				turns := authTurns(t, s)
				if a.Mechanism != tt.mech || a.Username != tt.user || a.Password != tt.pass || a.Code != tt.code || a.Success != tt.success {
					t.Errorf("auth %s user %q password %q code %d success %v; want %s %q %q %d %v",
						a.Mechanism, a.Username, a.Password, a.Code, a.Success, tt.mech, tt.user, tt.pass, tt.code, tt.success)
				}
				var got []string
				for _, c := range turns {
					got = append(got, turnString(c))
				}
				if !reflect.DeepEqual(got, tt.turns) {
					t.Errorf("turns:\n  got  %q\n  want %q", got, tt.turns)
				}
				if len(s.Anomalies) != 0 {
					t.Errorf("anomalies %q", anomalySet(s))
				}
			})
		})
	}
}

// TestAuthLast checks that Session.Auth is the last exchange, and that a
// secret stays marked after a later one.
func TestAuthLast(t *testing.T) {
	tr := script(t, then(greet("AUTH PLAIN LOGIN"),
		"C AUTH PLAIN "+authB64("\x00alice\x00wrong")+"\r\n", "S 535 5.7.8 Error: authentication failed\r\n",
		"C AUTH PLAIN "+authB64("\x00alice\x00right")+"\r\n", "S 235 2.7.0 Authentication successful\r\n")...)
	eachSplit(t, tr, func(t *testing.T, s *Session) {
		if a := s.Auth; a.Password != "right" || !a.Success || a.Command != 2 {
			t.Errorf("auth %+v, want the second, successful one", *a)
		}
		for _, i := range []int{1, 2} {
			if !s.Commands[i].Secret {
				t.Errorf("command %d (%q) not secret", i+1, s.Commands[i].Line)
			}
		}
	})
}

// TestAuthUnfinished checks an exchange cut by the end of the connection.
func TestAuthUnfinished(t *testing.T) {
	tr := script(t, then(greet("AUTH LOGIN"),
		"C AUTH LOGIN\r\n", "S 334 VXNlcm5hbWU6\r\n", "C "+authB64("alice")+"\r\n", "S 334 UGFzc3dvcmQ6\r\n",
		"C "+authB64("s3cr3t")+"\r\n")...)
	eachSplit(t, tr, func(t *testing.T, s *Session) {
		a := s.Auth
		if a == nil || a.Code != 0 || a.Success || a.Username != "alice" || a.Password != "s3cr3t" {
			t.Fatalf("auth %+v", a)
		}
		if last := s.Commands[len(s.Commands)-1]; last.Kind != KindAuthResponse || !last.Secret {
			t.Errorf("password line %q: kind %v secret %v", last.Line, last.Kind, last.Secret)
		}
		if got, want := anomalySet(s), []string{"unanswered-command S 1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("anomalies %q, want %q", got, want)
		}
	})
}

func TestStartTLS(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		starttls bool
	}{
		{"accepted", "220 2.0.0 Ready to start TLS", true},
		{"refused", "454 4.7.0 TLS not available due to local problem", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := script(t, then(greet("PIPELINING", "STARTTLS"),
				"C MAIL FROM:<a@example.org>\r\n", "S 250 2.1.0 Ok\r\n",
				"C STARTTLS\r\n", "S "+tt.reply+"\r\n",
				"C \x16\x03\x01\x00\x02\x01\x00")...)
			eachSplit(t, tr, func(t *testing.T, s *Session) {
				if s.StartTLS != tt.starttls || s.TLS != tt.starttls {
					t.Errorf("StartTLS %v TLS %v, want %v", s.StartTLS, s.TLS, tt.starttls)
				}
				// After the 220 the client's bytes are TLS, not lines.
				if tls := s.TLSBytes[FromClient]; (tls == 7) != tt.starttls {
					t.Errorf("%d client TLS bytes", tls)
				}
			})
		})
	}
}

// TestStartTLSEndsTransaction checks that the transaction is over when the
// server says 220, not only when the connection ends.
func TestStartTLSEndsTransaction(t *testing.T) {
	tr := script(t, then(greet("PIPELINING", "STARTTLS"),
		"C MAIL FROM:<a@example.org>\r\n", "S 250 2.1.0 Ok\r\n",
		"C STARTTLS\r\n", "S 220 2.0.0 Ready to start TLS\r\n")...)
	eachSplit(t, tr, func(t *testing.T, s *Session) {
		if !s.StartTLS || oneTx(t, s).Outcome != OutcomeUnfinished {
			t.Errorf("StartTLS %v outcome %s", s.StartTLS, oneTx(t, s).Outcome)
		}
	})
	// After a refusal the transaction goes on and QUIT aborts it.
	tr = script(t, then(greet("PIPELINING", "STARTTLS"),
		"C MAIL FROM:<a@example.org>\r\n", "S 250 2.1.0 Ok\r\n",
		"C STARTTLS\r\n", "S 454 4.7.0 TLS not available\r\n",
		"C RCPT TO:<b@example.com>\r\n", "S 250 2.1.5 Ok\r\n", "C QUIT\r\n", "S 221 Bye\r\n")...)
	eachSplit(t, tr, func(t *testing.T, s *Session) {
		tx := oneTx(t, s)
		if s.StartTLS || s.TLS || tx.Outcome != OutcomeAborted || len(tx.Rcpts) != 1 {
			t.Errorf("StartTLS %v TLS %v: %s", s.StartTLS, s.TLS, txString(tx))
		}
	})
}

func TestHeloAndExtensions(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		helo  string // "VERB name", or "" for none
		exts  string // extension names, space-separated
		size  int64
	}{
		{"EHLO", greet("PIPELINING", "SIZE 10240000", "AUTH=LOGIN PLAIN", "AUTH LOGIN PLAIN CRAM-MD5"),
			"EHLO client.example.org", "PIPELINING SIZE AUTH", 10240000},
		{"HELO", []string{"S 220 mx ESMTP\r\n", "C HELO client\r\n", "S 250 mx\r\n"}, "HELO client", "", 0},
		{"EHLO refused", []string{"S 220 mx ESMTP\r\n", "C EHLO client\r\n", "S 502 5.5.2 Error: command not recognized\r\n"}, "", "", 0},
		{"EHLO refused, then HELO", []string{"S 220 mx ESMTP\r\n", "C EHLO client\r\n", "S 502 5.5.2 Error\r\n", "C HELO client\r\n", "S 250 mx\r\n"},
			"HELO client", "", 0},
		{"EHLO again after HELO", []string{"S 220 mx ESMTP\r\n", "C HELO one\r\n", "S 250 mx\r\n", "C EHLO two\r\n", "S 250-mx\r\n250 SIZE 1000\r\n"},
			"EHLO two", "SIZE", 1000},
		{"HELO after EHLO forgets the extensions", []string{"S 220 mx ESMTP\r\n", "C EHLO one\r\n", "S 250-mx\r\n250 SIZE 1000\r\n", "C HELO two\r\n", "S 250 mx\r\n"},
			"HELO two", "", 0},
		{"a refused EHLO keeps the earlier one", []string{"S 220 mx ESMTP\r\n", "C EHLO one\r\n", "S 250-mx\r\n250 SIZE 1000\r\n", "C EHLO two\r\n", "S 421 4.7.0 Too many\r\n"},
			"EHLO one", "SIZE", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachSplit(t, script(t, tt.lines...), func(t *testing.T, s *Session) {
				var helo string
				if s.Helo != nil {
					helo = s.Helo.Verb + " " + s.Helo.Name
				}
				var names []string
				for _, e := range s.Extensions {
					names = append(names, e.Name)
				}
				if helo != tt.helo || strings.Join(names, " ") != tt.exts || s.SizeLimit() != tt.size {
					t.Errorf("helo %q extensions %q size %d; want %q %q %d", helo, names, s.SizeLimit(), tt.helo, tt.exts, tt.size)
				}
			})
		})
	}
}
