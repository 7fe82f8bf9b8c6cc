package message

import (
	"bytes"
	"math/rand"
	"testing"
)

// benchMessage is a 1 MB multipart/mixed message: a text part and a base64 attachment.
func benchMessage() []byte {
	att := make([]byte, 750<<10)
	rand.New(rand.NewSource(1)).Read(att)
	var b bytes.Buffer
	b.WriteString(crlf(`From: "Jörg" <joerg@example.org>
To: jane@example.com
Subject: =?UTF-8?Q?Quarterly_report?=
Content-Type: multipart/mixed; boundary="=_bench"

--=_bench
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Jane, the report is attached. Caf=C3=A9.
--=_bench
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename="report.pdf"
Content-Transfer-Encoding: base64

`))
	b.WriteString(base64Lines(att))
	b.WriteString(crlf("--=_bench--\n"))
	return b.Bytes()
}

// BenchmarkParser parses a 1 MB message written in 64 KiB pieces, as DATA content arrives.
func BenchmarkParser(b *testing.B) {
	msg := benchMessage()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser(Options{})
		for rest := msg; len(rest) > 0; {
			n := min(len(rest), 64<<10)
			p.Write(rest[:n])
			rest = rest[n:]
		}
		p.Close()
		if m := p.Message(); len(m.Parts) != 3 || len(m.Problems) > 0 {
			b.Fatalf("parts %d problems %q", len(m.Parts), m.Problems)
		}
	}
}
