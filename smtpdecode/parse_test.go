package smtpdecode

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseReplyLine(t *testing.T) {
	tests := []struct {
		line string
		code int
		more bool
		text string
		ok   bool
	}{
		{"250 ok", 250, false, "ok", true},
		{"250-mail.example.com", 250, true, "mail.example.com", true},
		{"250", 250, false, "", true},
		{"250 ", 250, false, "", true},
		{"250-", 250, true, "", true},
		{"354 End data with <CR><LF>.<CR><LF>", 354, false, "End data with <CR><LF>.<CR><LF>", true},
		{"000 zero", 0, false, "zero", true},
		{"999-x", 999, true, "x", true},
		{"220  two spaces", 220, false, " two spaces", true},
		{"", 0, false, "", false},
		{"25", 0, false, "25", false},
		{"25O PIPELINING", 0, false, "25O PIPELINING", false},
		{"2500 x", 0, false, "2500 x", false},
		{"250x", 0, false, "250x", false},
		{"250\tx", 0, false, "250\tx", false},
		{"OK fine", 0, false, "OK fine", false},
		{" 250 ok", 0, false, " 250 ok", false},
		{"-250 ok", 0, false, "-250 ok", false},
	}
	for _, tt := range tests {
		code, more, text, ok := ParseReplyLine([]byte(tt.line))
		if code != tt.code || more != tt.more || string(text) != tt.text || ok != tt.ok {
			t.Errorf("ParseReplyLine(%q) = %d, %v, %q, %v; want %d, %v, %q, %v",
				tt.line, code, more, text, ok, tt.code, tt.more, tt.text, tt.ok)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line, verb, arg string
	}{
		{"EHLO client.example.org", "EHLO", "client.example.org"},
		{"ehlo client", "EHLO", "client"},
		{"Mail From:<a@example.org> SIZE=100", "MAIL", "From:<a@example.org> SIZE=100"},
		{"QUIT", "QUIT", ""},
		{"quit", "QUIT", ""},
		{"DATA ", "DATA", ""},
		{"RCPT  TO:<b@example.com>", "RCPT", " TO:<b@example.com>"},
		{"", "", ""},
		{" NOOP", "", "NOOP"},
		{"AUTH PLAIN AGFsaWNlAHMzY3IzdA==", "AUTH", "PLAIN AGFsaWNlAHMzY3IzdA=="},
		{"starttls", "STARTTLS", ""},
		{"x\xffy z", "X\xffY", "z"},
		{"héLO x", "HéLO", "x"}, // only ASCII letters change case
		{"NOOP\tx", "NOOP", "x"},
	}
	for _, tt := range tests {
		verb, arg := ParseCommand([]byte(tt.line))
		if verb != tt.verb || arg != tt.arg {
			t.Errorf("ParseCommand(%q) = %q, %q; want %q, %q", tt.line, verb, arg, tt.verb, tt.arg)
		}
	}
}

func TestIsGreeting(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"220 mail.example.com ESMTP\r\n", true},
		{"220-mail.example.com\r\n", true},
		{"220 ", true},
		{"220", false},
		{"220\r\n", false},
		{"2200 x", false},
		{"250 ok\r\n", false},
		{"554 no service\r\n", false},
		{"", false},
		{"\x16\x03\x01", false},
	}
	for _, tt := range tests {
		if got := IsGreeting([]byte(tt.p)); got != tt.want {
			t.Errorf("IsGreeting(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestStartsLikeCommand(t *testing.T) {
	tests := []struct {
		p    string
		want bool
	}{
		{"EHLO x\r\n", true},
		{"helo x\r\n", true},
		{"QUIT\r\n", true},
		{"quit\n", true},
		{"STARTTLS\r\n", true},
		{"MAIL FROM:<a@example.org>\r\n", true},
		{"BDAT 10 LAST\r\n", true},
		{"QUIT", false}, // the verb's end is not known yet
		{"QUITE\r\n", false},
		{"GET / HTTP/1.1\r\n", false},
		{"Subject: hi\r\n", false},
		{"\x16\x03\x01\x00", false},
		{"", false},
		{" EHLO x\r\n", false},
	}
	for _, tt := range tests {
		if got := StartsLikeCommand([]byte(tt.p)); got != tt.want {
			t.Errorf("StartsLikeCommand(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		client, server string
		smtp, decided  bool
		comment        string
	}{
		{"EHLO x\r\n", "220 mx ESMTP\r\n", true, true, "greeting then EHLO"},
		{"helo x\r\n", "220-mx\r\n", true, true, "lower-case HELO, multi-line greeting"},
		{"EHLO\r\n", "220 mx\r\n", true, true, "EHLO without a name"},
		{"", "220 mx ESMTP\r\n", false, false, "client has not spoken yet"},
		{"EHLO x\r\n", "", false, false, "server has not spoken yet"},
		{"EHL", "220 mx\r\n", false, false, "too few client bytes"},
		{"EHLO x\r\n", "220", false, false, "too few server bytes"},
		{"", "HTTP/1.1 200 OK\r\n", false, true, "not a greeting"},
		{"GET / HTTP/1.1\r\n", "", false, true, "not HELO or EHLO"},
		{"EHLOX\r\n", "220 mx\r\n", false, true, "verb not followed by space or line end"},
		{"MAIL FROM:<a@b>\r\n", "220 mx\r\n", false, true, "mid-session command"},
		{"\x16\x03\x01\x00\x05", "", false, true, "TLS client hello"},
		{"EHLO x\r\n", "250 ok\r\n", false, true, "server reply is not a greeting"},
	}
	for _, tt := range tests {
		smtp, decided := Detect([]byte(tt.client), []byte(tt.server))
		if smtp != tt.smtp || decided != tt.decided {
			t.Errorf("%s: Detect(%q, %q) = %v, %v; want %v, %v", tt.comment, tt.client, tt.server, smtp, decided, tt.smtp, tt.decided)
		}
	}
}

func FuzzParseReplyLine(f *testing.F) {
	for _, s := range []string{"250 ok", "250-x", "250", "25", "", "25O x", "999 \xff", "354 go ahead"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		code, more, text, ok := ParseReplyLine(line)
		if !ok {
			if code != 0 || more || !bytes.Equal(text, line) {
				t.Fatalf("not ok but %d, %v, %q", code, more, text)
			}
			return
		}
		if code < 0 || code > 999 {
			t.Fatalf("code %d", code)
		}
		// The line is the code, a separator and the text.
		var sep string
		switch {
		case more:
			sep = "-"
		case len(line) > 3:
			sep = " "
		}
		var want []byte
		want = append(want, line[:3]...)
		want = append(want, sep...)
		want = append(want, text...)
		if !bytes.Equal(want, line) {
			t.Fatalf("%q reassembles as %q", line, want)
		}
		if c := int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0'); c != code {
			t.Fatalf("code %d, want %d", code, c)
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"EHLO x", "mail from:<a@b>", "QUIT", "", " ", "AUTH PLAIN =", "x\xff y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		verb, arg := ParseCommand(line)
		if strings.Contains(verb, " ") {
			t.Fatalf("verb %q holds a space", verb)
		}
		if len(verb) > len(line) || len(arg) > len(line) {
			t.Fatalf("verb %q, arg %q longer than the line", verb, arg)
		}
		// The verb is the line's first word, upper-cased, and the argument
		// the rest after one space.
		head, rest, found := bytes.Cut(line, []byte{' '})
		if len(verb) != len(head) || arg != string(rest) || (!found && arg != "") {
			t.Fatalf("ParseCommand(%q) = %q, %q", line, verb, arg)
		}
		for i, c := range head {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if verb[i] != c {
				t.Fatalf("ParseCommand(%q) = verb %q", line, verb)
			}
		}
	})
}
