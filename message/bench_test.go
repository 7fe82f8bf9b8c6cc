package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand"
	"mime/quotedprintable"
	"strings"
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
	benchParse(b, benchMessage(), 3)
}

// BenchmarkParserBase64 parses a 330 KB message with two base64 attachments, in 64 KiB pieces.
func BenchmarkParserBase64(b *testing.B) {
	benchParse(b, benchBase64Message(), 4)
}

// BenchmarkParserQuotedPrintableHTML parses a 390 KB multipart/alternative message whose text and
// HTML parts are quoted-printable, in 64 KiB pieces.
func BenchmarkParserQuotedPrintableHTML(b *testing.B) {
	benchParse(b, benchQPMessage(), 3)
}

func benchParse(b *testing.B, msg []byte, parts int) {
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
		if m := p.Message(); len(m.Parts) != parts || len(m.Problems) > 0 {
			b.Fatalf("parts %d problems %q", len(m.Parts), m.Problems)
		}
	}
}

// benchBase64Message is a multipart/mixed message with a short text part, a 200 KB image and a
// 40 KB document, both base64 in lines of 76 characters.
func benchBase64Message() []byte {
	r := rand.New(rand.NewSource(2))
	img := make([]byte, 200<<10)
	r.Read(img)
	doc := bytes.Repeat([]byte("%PDF-1.7 stream \x00\x01 some text endstream\n"), 40<<10/44)
	var b bytes.Buffer
	b.WriteString(crlf(`From: alice@example.org
To: bob@example.com
Subject: Photos
Content-Type: multipart/mixed; boundary="----=_Part_1_2"

------=_Part_1_2
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Here they are.
------=_Part_1_2
Content-Type: image/jpeg; name="IMG_0001.jpg"
Content-Disposition: attachment; filename="IMG_0001.jpg"
Content-Transfer-Encoding: base64

`))
	b.WriteString(base64Lines(img))
	b.WriteString(crlf(`------=_Part_1_2
Content-Type: application/pdf; name="notes.pdf"
Content-Disposition: attachment; filename="notes.pdf"
Content-Transfer-Encoding: base64

`))
	b.WriteString(base64Lines(doc))
	b.WriteString(crlf("------=_Part_1_2--\n"))
	return b.Bytes()
}

// benchQPMessage is a multipart/alternative newsletter: a 64 KB text part and a 257 KB HTML part
// (styles, tables, attributes, accented words), both quoted-printable as mailers write them.
func benchQPMessage() []byte {
	r := rand.New(rand.NewSource(3))
	words := strings.Fields("we are pleased to announce the new quarterly report for your account please click here more information about our services and offers of to in for with on café résumé naïve über déjà vu € – “quoted”")
	sentence := func() string {
		var s strings.Builder
		for i := range 8 + r.Intn(12) {
			if i > 0 {
				s.WriteByte(' ')
			}
			s.WriteString(words[r.Intn(len(words))])
		}
		return s.String() + "."
	}
	var text, html strings.Builder
	html.WriteString("<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n<title>Newsletter</title>\n<style type=\"text/css\">\n")
	for i := range 60 {
		fmt.Fprintf(&html, ".c%d { font-family: Arial, sans-serif; font-size: %dpx; color: #%06x; margin: 0 0 %dpx 0; }\n", i, 10+i%8, r.Intn(1<<24), i%12)
	}
	html.WriteString("</style></head>\n<body style=\"margin:0; padding:0;\">\n<table width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" border=\"0\">\n")
	for html.Len() < 250<<10 {
		s := sentence()
		text.WriteString(s + "\n")
		fmt.Fprintf(&html, "<tr><td class=\"c%d\" style=\"padding: 8px 16px; line-height: 1.4;\" align=\"left\"><a href=\"https://example.com/t?id=%d&amp;u=%x\">%s</a> %s</td></tr>\n",
			r.Intn(60), r.Intn(1e6), r.Int63(), s, sentence())
	}
	html.WriteString("</table></body></html>\n")
	qp := func(s string) string {
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	return []byte(crlf(`From: "News" <news@example.org>
To: bob@example.com
Subject: =?UTF-8?Q?This_week?=
Content-Type: multipart/alternative; boundary="b1_alt"

--b1_alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

`) + qp(strings.ReplaceAll(text.String(), "\n", "\r\n")) + crlf(`
--b1_alt
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

`) + qp(strings.ReplaceAll(html.String(), "\n", "\r\n")) + crlf("\n--b1_alt--\n"))
}

// BenchmarkBase64Groups decodes a block of base64 without line ends, as the base64 decoder
// gathers it, with decodeBase64Groups and with encoding/base64.
func BenchmarkBase64Groups(b *testing.B) {
	data := make([]byte, base64Block/4*3)
	rand.New(rand.NewSource(4)).Read(data)
	in := []byte(base64.StdEncoding.EncodeToString(data))
	out := make([]byte, len(data))
	b.Run("table", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, ok := decodeBase64Groups(out, in); !ok {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("encoding-base64", func(b *testing.B) {
		b.SetBytes(int64(len(in)))
		for b.Loop() {
			if _, err := base64.StdEncoding.Decode(out, in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
