package pcapgen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// MSS is the largest payload SMTPSession puts in one segment.
const MSS = 1448

// SMTPOptions shape a generated SMTP session.
type SMTPOptions struct {
	Recipients   int // default 1
	MessageBytes int // approximate size of the message; default 1024
	Handshake    bool
}

// SMTPSession returns the segments of one complete, well-behaved ESMTP
// session on c: greeting, EHLO, MAIL, RCPT for each recipient, DATA, a
// message of about MessageBytes in 80-column lines cut into MSS-sized
// segments, QUIT, and FIN both ways. rng varies the message text.
func SMTPSession(c *Conn, rng *rand.Rand, o SMTPOptions) []Segment {
	if o.Recipients <= 0 {
		o.Recipients = 1
	}
	if o.MessageBytes <= 0 {
		o.MessageBytes = 1024
	}
	var segs []Segment
	if o.Handshake {
		segs = append(segs, c.Handshake()...)
	}
	client := func(s string) { segs = append(segs, c.FromClient([]byte(s))) }
	server := func(s string) { segs = append(segs, c.FromServer([]byte(s))) }
	server("220 mail.example.test ESMTP\r\n")
	client("EHLO client.example.test\r\n")
	server("250-mail.example.test\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n")
	client("MAIL FROM:<sender@example.test>\r\n")
	server("250 2.1.0 Ok\r\n")
	for i := range o.Recipients {
		client(fmt.Sprintf("RCPT TO:<rcpt%d@example.test>\r\n", i))
		server("250 2.1.5 Ok\r\n")
	}
	client("DATA\r\n")
	server("354 End data with <CR><LF>.<CR><LF>\r\n")
	msg := Message(rng, o.MessageBytes)
	for len(msg) > 0 {
		n := min(len(msg), MSS)
		segs = append(segs, c.FromClient(msg[:n]))
		msg = msg[n:]
	}
	server("250 2.0.0 Ok: queued as 4ABCDEF\r\n")
	client("QUIT\r\n")
	server("221 2.0.0 Bye\r\n")
	segs = append(segs, c.ClientFIN(), c.ServerFIN(), c.Ack(true))
	return segs
}

// Message returns a message of about n bytes in 80-column lines with CRLF
// endings, dot-stuffed, ending with the "." line.
func Message(rng *rand.Rand, n int) []byte {
	var b strings.Builder
	b.WriteString("From: sender@example.test\r\nTo: rcpt0@example.test\r\nSubject: generated\r\n\r\n")
	const letters = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,"
	line := make([]byte, 78)
	for b.Len() < n {
		for i := range line {
			line[i] = letters[rng.IntN(len(letters))]
		}
		if line[0] == '.' {
			b.WriteByte('.')
		}
		b.Write(line)
		b.WriteString("\r\n")
	}
	b.WriteString(".\r\n")
	return []byte(b.String())
}
