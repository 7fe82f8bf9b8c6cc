package smtpdecode

import (
	"bytes"
	"testing"
)

// BenchmarkDecoderMessage decodes a session whose message is 1 MB of
// 80-column lines, the client's bytes cut into 1460-byte segments.
func BenchmarkDecoderMessage(b *testing.B) {
	client := []byte("EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
	client = append(client, textLines(1<<20)...)
	client = append(client, "\r\n.\r\nQUIT\r\n"...)
	server := [][]byte{
		[]byte("220 mx.example.com ESMTP\r\n"),
		[]byte("250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n250 ok\r\n250 ok\r\n354 go ahead\r\n"),
		[]byte("250 queued\r\n221 bye\r\n"),
	}
	b.SetBytes(int64(len(client)))
	b.ReportAllocs()
	for b.Loop() {
		d := New(testConn, Options{})
		d.Feed(FromServer, server[0], t0)
		for i, p := 0, client; len(p) > 0; i++ {
			n := min(1460, len(p))
			d.Feed(FromClient, p[:n], t0)
			p = p[n:]
			if i == 0 {
				// The client pipelines: its bytes after DATA wait for the 354.
				d.Feed(FromServer, server[1], t0)
			}
		}
		d.Feed(FromServer, server[2], t0)
		s := d.Close(t0, ClosedFIN)
		if len(s.Commands) != 6 || s.Commands[4].Message == nil || !s.Commands[4].Message.Terminated {
			b.Fatalf("session:\n%s", dump(s))
		}
	}
}

// TestHasHighBit: an 8-bit byte is found wherever it is, in every length.
func TestHasHighBit(t *testing.T) {
	for n := range 70 {
		b := bytes.Repeat([]byte{'a'}, n)
		if hasHighBit(b) {
			t.Fatalf("ASCII of %d bytes taken for 8-bit", n)
		}
		for i := range n {
			b[i] = 0x80
			if !hasHighBit(b) {
				t.Fatalf("8-bit byte at %d of %d missed", i, n)
			}
			b[i] = 'a'
		}
	}
}

func BenchmarkHasHighBit(b *testing.B) {
	p := textLines(64 << 10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if hasHighBit(p) {
			b.Fatal("8-bit")
		}
	}
}
