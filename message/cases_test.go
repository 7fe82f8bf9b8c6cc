package message

import (
	"strings"
	"testing"
)

// testCase is one hand-built message, the options it is parsed with, and what must hold of the
// result beyond its golden dump (testdata/NAME.golden).
type testCase struct {
	name  string
	msg   []byte
	opts  Options
	check func(t *testing.T, m *Message, ex *extracted)
}

// pdfBytes stands in for an attachment: not text, with every kind of byte.
var pdfBytes = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" + strings.Repeat("stream \x00\x01\xfe\xff endstream\n", 40) + "%%EOF\n")

// pngBytes stands in for an image.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

var mixedMsg = []byte(crlf(`Received: from relay.example.net (relay.example.net [192.0.2.7])
	by mx.example.com with ESMTPS id 4ABC
	for <bob@example.com>; Mon, 23 Nov 2026 10:00:02 +0000
Received: from client.example.org ([198.51.100.3])
	by relay.example.net with ESMTPSA; Mon, 23 Nov 2026 10:00:01 +0000
From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.org>
To: "Doe, Jane" <jane@example.com>, bob@example.com (Bob Smith),
 Undisclosed recipients:;
Cc: <carol@example.com>
Subject: =?UTF-8?Q?Quarterly_report_=E2=80=93_caf=C3=A9?=
Date: Mon, 23 Nov 2026 10:00:00 +0000
Message-ID: <20261123100000.1@example.org>
User-Agent: Mutt/2.2.12
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_mixed_1"

This is a multi-part message in MIME format.

--=_mixed_1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Jane,
this line is long and is continued with a soft line break right he=
re, then ends.   =20
Caf=C3=A9 =3D coffee.
--=_mixed_1
Content-Type: application/octet-stream; name="bytes.bin"
Content-Disposition: attachment; filename="bytes.bin"
Content-Transfer-Encoding: base64

`) + base64Lines(allBytes) + crlf(`--=_mixed_1
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=utf-8''%E2%82%AC;
 filename*1="-report.pdf"
Content-Transfer-Encoding: base64

`) + base64Lines(pdfBytes) + crlf(`--=_mixed_1--

An epilogue nobody reads.
`))

const mixedText = "Hello Jane,\r\nthis line is long and is continued with a soft line break right here, then ends.    \r\nCafé = coffee."

var alternativeMsg = []byte(crlf(`From: "Müller, Jörg" <joerg@example.org>
To: jane@example.com
Subject: Photo
Content-Type: multipart/mixed; boundary=outer

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Gr=FC=DFe aus K=F6ln
--inner
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: base64

PHA+SGFsbG8gPGI+V2VsdDwvYj4gJmFtcDsgR3LDvMOfZTwvcD4=
--inner--

--outer
Content-Type: image/png; name="=?UTF-8?B?5YaZ55yfLnBuZw==?="
Content-Transfer-Encoding: base64

`) + base64Lines(pngBytes) + crlf(`--outer--
`))

var relatedMsg = []byte(crlf(`From: news@example.com
To: jane@example.com
Subject: Newsletter
Content-Type: multipart/related; type="text/html"; boundary="rel"

--rel
Content-Type: text/html; charset=windows-1252
Content-Transfer-Encoding: 8bit

<html><head><title>Ignored title</title>
<style>p { color: red; }</style><script>var a = "<b>no</b>";</script></head>
<body><!-- a comment <p>hidden</p> -->
<p>`) + "\x93Quoted\x94 price: 5\x80 &amp; more&nbsp;text &lt;tag&gt;</p><div>Second<br>line</div>" +
	crlf(`
<img src="cid:logo@example.com">
</body></html>
--rel
Content-Type: image/png
Content-ID: <logo@example.com>
Content-Disposition: inline; filename=logo.png
Content-Transfer-Encoding: base64

`+base64Lines(pngBytes)+`--rel--
`))

var rfc822Msg = []byte(crlf(`From: Outer <outer@example.com>
To: jane@example.com
Subject: Fwd: Inner subject
Content-Type: multipart/mixed; boundary="m1"

--m1
Content-Type: text/plain

See the forwarded message.
--m1
Content-Type: message/rfc822
Content-Disposition: inline

From: Inner <inner@example.net>
To: someone@example.net
Subject: Inner subject
Content-Type: multipart/alternative; boundary="m2"

--m2
Content-Type: text/plain; charset=us-ascii

Inner text.
--m2
Content-Type: text/html

<p>Inner html</p>
--m2--

--m1--
`))

var signedMsg = []byte(crlf(`From: alice@example.org
To: bob@example.com
Subject: Signed
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature"; boundary="sig"

This is an OpenPGP/MIME signed message (RFC 4880 and 3156)
--sig
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: 7bit

Signed text.
--sig
Content-Type: application/pgp-signature; name="signature.asc"
Content-Description: OpenPGP digital signature
Content-Disposition: attachment; filename="signature.asc"

-----BEGIN PGP SIGNATURE-----

iQEzBAEBCAAdFiEE
-----END PGP SIGNATURE-----

--sig--
`))

// single builds a one-part message.
func single(header, body string) []byte {
	return []byte(crlf("From: a@example.com\nTo: b@example.com\n" + header + "\n\n" + body))
}

var cases = []testCase{
	{name: "mixed", msg: mixedMsg, check: func(t *testing.T, m *Message, ex *extracted) {
		h := m.Header
		eq(t, "From", h.From, []string{"Jörg Müller <joerg@example.org>"})
		eq(t, "To", h.To, []string{`"Doe, Jane" <jane@example.com>`, "Bob Smith <bob@example.com>"})
		eq(t, "Cc", h.Cc, []string{"carol@example.com"})
		eqs(t, "Subject", h.Subject, "Quarterly report – café")
		eqs(t, "UserAgent", h.UserAgent, "Mutt/2.2.12")
		eqs(t, "MessageID", h.MessageID, "<20261123100000.1@example.org>")
		if h.Received != 2 || !strings.HasPrefix(h.FirstReceived, "from relay.example.net") ||
			!strings.HasPrefix(h.LastReceived, "from client.example.org") || strings.ContainsAny(h.FirstReceived, "\r\n") {
			t.Errorf("Received = %d %q %q", h.Received, h.FirstReceived, h.LastReceived)
		}
		if len(m.Parts) != 4 {
			t.Fatalf("%d parts", len(m.Parts))
		}
		checkPart(t, m.Parts[1], "1.1", "text/plain", []byte(mixedText))
		checkPart(t, m.Parts[2], "1.2", "application/octet-stream", allBytes)
		checkPart(t, m.Parts[3], "1.3", "application/pdf", pdfBytes)
		eqs(t, "filename", m.Parts[3].Filename, "€-report.pdf")
		if !m.Parts[2].Attachment || !m.Parts[3].Attachment || m.Parts[1].Attachment {
			t.Error("Attachment flags wrong")
		}
		checkExtracted(t, ex, "1.1", []byte(mixedText))
		checkExtracted(t, ex, "1.2", allBytes)
		checkExtracted(t, ex, "1.3", pdfBytes)
		eqs(t, "Preview", m.Preview, "Hello Jane, this line is long and is continued with a soft line break right here, then ends. Café = coffee.")
		noProblems(t, m)
	}},
	{name: "alternative", msg: alternativeMsg, check: func(t *testing.T, m *Message, ex *extracted) {
		eq(t, "From", m.Header.From, []string{`"Müller, Jörg" <joerg@example.org>`})
		paths(t, m, "1", "1.1", "1.1.1", "1.1.2", "1.2")
		checkPart(t, m.Parts[2], "1.1.1", "text/plain", []byte("Gr\xfc\xdfe aus K\xf6ln"))
		checkPart(t, m.Parts[3], "1.1.2", "text/html", []byte("<p>Hallo <b>Welt</b> &amp; Grüße</p>"))
		checkPart(t, m.Parts[4], "1.2", "image/png", pngBytes)
		eqs(t, "filename", m.Parts[4].Filename, "写真.png")
		if !m.Parts[4].Attachment {
			t.Error("named image not an attachment")
		}
		eqs(t, "Preview", m.Preview, "Grüße aus Köln")
		noProblems(t, m)
	}},
	{name: "related", msg: relatedMsg, check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.2")
		eqs(t, "Preview", m.Preview, "“Quoted” price: 5€ & more text <tag> Second line")
		p := m.Parts[2]
		if p.Disposition != "inline" || p.Filename != "logo.png" || !p.Attachment {
			t.Errorf("inline image: %+v", p)
		}
		checkExtracted(t, ex, "1.2", pngBytes)
		noProblems(t, m)
	}},
	{name: "rfc822", msg: rfc822Msg, check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.2", "1.2.1", "1.2.1.1", "1.2.1.2")
		eqs(t, "Subject", m.Header.Subject, "Fwd: Inner subject")
		eq(t, "From", m.Header.From, []string{"Outer <outer@example.com>"})
		if p := m.Parts[2]; p.ContentType != "message/rfc822" || p.Size != 0 || p.SHA256 != "" {
			t.Errorf("message/rfc822 part: %+v", p)
		}
		if p := m.Parts[3]; p.ContentType != "multipart/alternative" || p.Depth != 2 {
			t.Errorf("enclosed root: %+v", p)
		}
		checkPart(t, m.Parts[4], "1.2.1.1", "text/plain", []byte("Inner text."))
		if _, ok := ex.bodies["1.2"]; ok {
			t.Error("a descended message/rfc822 was offered as a leaf")
		}
		eqs(t, "Preview", m.Preview, "See the forwarded message.")
		noProblems(t, m)
	}},
	{name: "signed", msg: signedMsg, check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.2")
		eqs(t, "type", m.Parts[0].ContentType, "multipart/signed")
		checkPart(t, m.Parts[1], "1.1", "text/plain", []byte("Signed text."))
		sig := "-----BEGIN PGP SIGNATURE-----\r\n\r\niQEzBAEBCAAdFiEE\r\n-----END PGP SIGNATURE-----\r\n"
		checkPart(t, m.Parts[2], "1.2", "application/pgp-signature", []byte(sig))
		noProblems(t, m)
	}},
	{name: "subject-gb2312", msg: single("Subject: =?GB2312?B?1tDOxNPKvP6y4srU?=\nContent-Type: text/plain; charset=GB2312\nContent-Transfer-Encoding: base64",
		"1tDOxNPKvP7V/c7ExNrI3Q==\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "中文邮件测试")
		eqs(t, "Preview", m.Preview, "中文邮件正文内容")
		eqs(t, "Charset", m.Parts[0].Charset, "gb2312")
		checkExtracted(t, ex, "1", []byte("\xd6\xd0\xce\xc4\xd3\xca\xbc\xfe\xd5\xfd\xce\xc4\xc4\xda\xc8\xdd"))
		noProblems(t, m)
	}},
	{name: "subject-iso-2022-jp", msg: single("Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiU5JUgbKEI=?=\nContent-Type: text/plain; charset=\"ISO-2022-JP\"\nContent-Transfer-Encoding: 7bit",
		"\x1b$BF|K\\8l$N%a!<%k$G$9!#\x1b(B\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "日本語のテスト")
		eqs(t, "Preview", m.Preview, "日本語のメールです。")
		noProblems(t, m)
	}},
	{name: "subject-koi8-r", msg: single("Subject: =?KOI8-R?Q?=F0=D2=C9=D7=C5=D4_=CD=C9=D2?=\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: quoted-printable",
		"=F0=D2=C9=D7=C5=D4, =CD=C9=D2! =FC=D4=CF =D4=C5=D3=D4.\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "Привет мир")
		eqs(t, "Preview", m.Preview, "Привет, мир! Это тест.")
		noProblems(t, m)
	}},
	{name: "subject-big5", msg: single("Subject: =?Big5?B?wWPF6aSkpOW0+rjV?=\nContent-Type: text/html; charset=big5\nContent-Transfer-Encoding: 8bit",
		"<p>\xc1c\xc5\xe9\xa4\xa4\xa4\xe5\xb6l\xa5\xf3</p>\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "繁體中文測試")
		eqs(t, "Preview", m.Preview, "繁體中文郵件")
		noProblems(t, m)
	}},
	{name: "subject-utf8-q", msg: single("Subject: =?utf-8?q?Caf=C3=A9_au_lait_=5Fnot_a_space=5F?=", "x\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "Café au lait _not a space_")
	}},
	{name: "subject-adjacent-words", msg: single("Subject: Re: =?UTF-8?B?R3LDvMOf?=\n =?UTF-8?B?ZSDigqw=?= and =?ISO-8859-1?Q?caf=E9?=\t=?KOI8-R?Q?=CD=C9=D2?=", "x\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "Re: Grüße € and caféмир")
	}},
	{name: "subject-unknown-charset", msg: single("Subject: =?x-klingon?Q?Qapla=21?= and =?utf-8?q?ok?=", "x\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "=?x-klingon?Q?Qapla=21?= and ok")
		eq(t, "Problems", m.Problems, []string{"unknown charset x-klingon"})
	}},
	{name: "8bit-headers", msg: single("Subject: Grüße aus Köln \xff\xfe end\nCc: \"Jörg Müller\" <jörg@bücher.example>\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit",
		"Grüße\xff!\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "Grüße aus Köln \xff\xfe end")
		eq(t, "Cc", m.Header.Cc, []string{"Jörg Müller <jörg@bücher.example>"})
		eqs(t, "Preview", m.Preview, "Grüße\ufffd!")
		noProblems(t, m)
	}},
	{name: "filenames", msg: bcrlf(`Subject: names
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=iso-8859-1''caf%E9.txt

a
--b
Content-Type: application/octet-stream; name="=?utf-8?Q?r=C3=A9sum=C3=A9?= =?utf-8?Q?.pdf?="

b
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=my report (final).pdf

c
--b
Content-Type: text/plain; name="notes.txt"

d
--b
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*0="../../etc/"; filename*1="passwd"

e
--b--
`), check: func(t *testing.T, m *Message, ex *extracted) {
		names := []string{}
		for _, p := range m.Parts[1:] {
			names = append(names, p.Filename)
		}
		eq(t, "filenames", names, []string{"café.txt", "résumé.pdf", "my report (final).pdf", "notes.txt", "../../etc/passwd"})
		if m.Parts[4].Attachment {
			t.Error("a named text part without disposition is not an attachment")
		}
		if len(m.Parts[3].Problems) == 0 {
			t.Error("no problem for an unquoted filename with spaces")
		}
	}},
	{name: "qp-soft-breaks", msg: single("Content-Type: text/plain; charset=us-ascii\nContent-Transfer-Encoding: Quoted-Printable",
		"soft=\nbreak=  \nwith spaces after the =3D, trailing space   \nhard=0D=0Aend=\n"+strings.Repeat("long", 2000)+"=\n=41 =ZZ lower =e9 end"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			want := "softbreakwith spaces after the =, trailing space\r\nhard\r\nend" + strings.Repeat("long", 2000) + "A =ZZ lower \xe9 end"
			checkExtracted(t, ex, "1", []byte(want))
			eqs(t, "Encoding", m.Parts[0].Encoding, "quoted-printable")
			if len(m.Parts[0].Problems) != 1 || !strings.Contains(m.Parts[0].Problems[0], "quoted-printable") {
				t.Errorf("problems %q", m.Parts[0].Problems)
			}
		}},
	{name: "bad-base64", msg: bcrlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQF
BgcICQ!oLDA0ODxAR
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

QUJD
RA
--b--
`), check: func(t *testing.T, m *Message, ex *extracted) {
		checkPart(t, m.Parts[1], "1.1", "application/octet-stream", allBytes[:9])
		if len(m.Parts[1].Problems) != 1 || !strings.Contains(m.Parts[1].Problems[0], "bad base64") {
			t.Errorf("problems %q", m.Parts[1].Problems)
		}
		checkPart(t, m.Parts[2], "1.2", "application/octet-stream", []byte("ABCD"))
		if len(m.Parts[2].Problems) != 1 {
			t.Errorf("problems %q", m.Parts[2].Problems)
		}
	}},
	{name: "missing-final-boundary", msg: bcrlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

first
--b
Content-Type: multipart/alternative; boundary=c

--c
Content-Type: text/plain

inner
--b
Content-Type: text/plain

last, and the message ends here
`), check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.2", "1.2.1", "1.3")
		checkPart(t, m.Parts[3], "1.2.1", "text/plain", []byte("inner"))
		checkPart(t, m.Parts[4], "1.3", "text/plain", []byte("last, and the message ends here\r\n"))
		if len(m.Parts[0].Problems) != 1 || len(m.Parts[2].Problems) != 1 {
			t.Errorf("problems %q %q", m.Parts[0].Problems, m.Parts[2].Problems)
		}
	}},
	{name: "nested-prefix-boundary", msg: bcrlf(`Content-Type: multipart/mixed; boundary=b

--b
Content-Type: multipart/alternative; boundary=b-inner

--b-inner
Content-Type: text/plain

one
--b-inner--
--b
Content-Type: text/plain

two
--b--
`), check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.1.1", "1.2")
		checkPart(t, m.Parts[2], "1.1.1", "text/plain", []byte("one"))
		noProblems(t, m)
	}},
	{name: "long-header", opts: Options{MaxHeaderBytes: 1024}, msg: bcrlf("Subject: many hops\n" +
		strings.Repeat("Received: from host.example.net by relay.example.net; Mon, 23 Nov 2026 10:00:00 +0000\n", 40) +
		"To: lost@example.com\nContent-Type: multipart/mixed; boundary=b\n\n--b\nX-Long: " + strings.Repeat("y", 3000) +
		"\nContent-Type: text/plain\n\npart body\n--b--\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			if m.Header.Received == 0 || m.Header.Received >= 40 || len(m.Header.To) != 0 {
				t.Errorf("Received %d To %q", m.Header.Received, m.Header.To)
			}
			eqs(t, "Subject", m.Header.Subject, "many hops")
			// The root's Content-Type was past the limit: its body is one text/plain leaf.
			if len(m.Parts) != 1 || m.Parts[0].ContentType != "text/plain" || m.Problems[0] != "header block over 1024 bytes: the rest was skipped" {
				t.Errorf("parts %d, problems %q", len(m.Parts), m.Problems)
			}
		}},
	{name: "long-part-header", opts: Options{MaxHeaderBytes: 1024}, msg: bcrlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nX-Long: " +
		strings.Repeat("y", 3000) + "\nX-After: z\n\npart body\n--b--\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			checkPart(t, m.Parts[1], "1.1", "text/plain", []byte("part body"))
			eq(t, "problems", m.Parts[1].Problems, []string{"header block over 1024 bytes: the rest was skipped"})
		}},
	{name: "malformed-headers", msg: bcrlf(` leading continuation
From: a@example.com
this line has no colon
Bad Key: value
Subject: still
 read
: empty key
To: b@example.com

body
`), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "still read")
		eq(t, "From", m.Header.From, []string{"a@example.com"})
		eq(t, "To", m.Header.To, []string{"b@example.com"})
		if len(m.Problems) != 3 {
			t.Errorf("problems %q", m.Problems)
		}
	}},
	{name: "deep-nesting", opts: Options{MaxDepth: 2}, msg: bcrlf(`Content-Type: multipart/mixed; boundary=l0

--l0
Content-Type: multipart/mixed; boundary=l1

--l1
Content-Type: multipart/mixed; boundary=l2

--l2
Content-Type: text/plain

deep
--l2--
--l1--
--l0--
`), check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.1.1")
		p := m.Parts[2]
		if p.ContentType != "multipart/mixed" || p.Size == 0 || len(p.Problems) != 1 {
			t.Errorf("deepest part: %+v", p)
		}
	}},
	{name: "many-parts", opts: Options{MaxParts: 4}, msg: bcrlf("Content-Type: multipart/mixed; boundary=b\n\n" +
		strings.Repeat("--b\nContent-Type: text/plain\n\npart\n", 8) + "--b--\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			if len(m.Parts) != 4 || m.DroppedParts != 5 {
				t.Errorf("parts %d dropped %d", len(m.Parts), m.DroppedParts)
			}
			if len(ex.bodies) != 3 {
				t.Errorf("%d parts offered", len(ex.bodies))
			}
		}},
	{name: "unknown-encoding", msg: single("Content-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode", "begin 644 x\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			checkPart(t, m.Parts[0], "1", "application/octet-stream", []byte("begin 644 x\r\n"))
			eq(t, "problems", m.Parts[0].Problems, []string{`unknown transfer encoding "x-uuencode": body taken as binary`})
		}},
	{name: "digest", msg: bcrlf(`Content-Type: multipart/digest; boundary=d

--d

From: one@example.com
Subject: first

one
--d
Content-Type: text/plain

not a message
--d--
`), check: func(t *testing.T, m *Message, ex *extracted) {
		paths(t, m, "1", "1.1", "1.1.1", "1.2")
		eqs(t, "type", m.Parts[1].ContentType, "message/rfc822")
		checkPart(t, m.Parts[2], "1.1.1", "text/plain", []byte("one"))
	}},
	{name: "bare-lf", msg: []byte("From: a@example.com\nSubject: =?utf-8?q?bare?=\n =?utf-8?q?_lf?=\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nline one\nline two\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" +
		strings.ReplaceAll(base64Lines(allBytes), "\r\n", "\n") + "--b--\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			eqs(t, "Subject", m.Header.Subject, "bare lf")
			checkPart(t, m.Parts[1], "1.1", "text/plain", []byte("line one\nline two"))
			checkPart(t, m.Parts[2], "1.2", "application/octet-stream", allBytes)
			noProblems(t, m)
		}},
	{name: "bad-content-type", msg: single("Content-Type: text/plain; charset=\"utf-8\" format=flowed; charset=latin1\nContent-Disposition: form-data; name=x",
		"text\n"), check: func(t *testing.T, m *Message, ex *extracted) {
		p := m.Parts[0]
		if p.ContentType != "text/plain" || p.Charset != "utf-8" || p.Disposition != "attachment" || len(p.Problems) != 2 {
			t.Errorf("part %+v", p)
		}
	}},
	{name: "invalid-media-type", msg: single("Content-Type: garbage\nContent-Transfer-Encoding: BASE64", "aGVsbG8=\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			checkPart(t, m.Parts[0], "1", "text/plain", []byte("hello"))
			eqs(t, "Preview", m.Preview, "hello")
		}},
	{name: "no-boundary-found", msg: bcrlf("Content-Type: multipart/mixed; boundary=nowhere\n\njust text\n--elsewhere--\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			if len(m.Parts) != 1 || len(m.Parts[0].Problems) != 1 {
				t.Errorf("parts %d problems %q", len(m.Parts), m.Problems)
			}
		}},
	{name: "truncated", msg: []byte(crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n") +
		base64Lines(pdfBytes)[:101]),
		check: func(t *testing.T, m *Message, ex *extracted) {
			// 101 bytes: 76 characters, CRLF, 23 characters (5 whole groups and 3 characters).
			checkPart(t, m.Parts[1], "1.1", "application/pdf", pdfBytes[:57+17])
			checkExtracted(t, ex, "1.1", pdfBytes[:57+17])
			if ex.closed["1.1"] != 1 {
				t.Error("the writer of a cut part was not closed")
			}
		}},
	{name: "empty", msg: nil, check: func(t *testing.T, m *Message, ex *extracted) {
		if len(m.Parts) != 1 || m.Parts[0].Size != 0 || m.Size != 0 {
			t.Errorf("parts %+v", m.Parts)
		}
		eqs(t, "SHA256", m.SHA256, sha(nil))
	}},
	{name: "header-only", msg: []byte("Subject: no body\r\nFrom: a@example.com"), check: func(t *testing.T, m *Message, ex *extracted) {
		eqs(t, "Subject", m.Header.Subject, "no body")
		eq(t, "From", m.Header.From, []string{"a@example.com"})
	}},
	{name: "addresses", msg: single(`Reply-To: "Quoted \"Name\"" <q@example.com>, =?utf-8?b?R3LDvMOfZQ==?= <g@example.com>
Sender: <@route.example,@r2.example:real@example.com>
Bcc: Team: x@example.com, "Y" <y@example.com>;, not an address, <>, broken <unclosed@example.com`, "x\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			eq(t, "Reply-To", m.Header.ReplyTo, []string{`"Quoted \"Name\"" <q@example.com>`, "Grüße <g@example.com>"})
			eq(t, "Sender", m.Header.Sender, []string{"real@example.com"})
			eq(t, "Bcc", m.Header.Bcc, []string{"x@example.com", "Y <y@example.com>", "not an address", "<>", "broken <unclosed@example.com"})
			if len(m.Problems) != 2 {
				t.Errorf("problems %q", m.Problems)
			}
		}},
	{name: "x-mailer", msg: single("X-Mailer: PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)\nIn-Reply-To: <a@b>\nContent-Type: text/plain; charset=x-unknown", "text\n"),
		check: func(t *testing.T, m *Message, ex *extracted) {
			eqs(t, "UserAgent", m.Header.UserAgent, "PHPMailer 6.9.1 (https://github.com/PHPMailer/PHPMailer)")
			eqs(t, "InReplyTo", m.Header.InReplyTo, "<a@b>")
			eq(t, "problems", m.Parts[0].Problems, []string{"unknown charset x-unknown"})
			eqs(t, "Preview", m.Preview, "text")
		}},
}

func eq(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func eqs(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func paths(t *testing.T, m *Message, want ...string) {
	t.Helper()
	var got []string
	for _, p := range m.Parts {
		got = append(got, p.Path)
	}
	eq(t, "paths", got, want)
}

func checkPart(t *testing.T, p Part, path, typ string, body []byte) {
	t.Helper()
	if p.Path != path || p.ContentType != typ || p.Size != int64(len(body)) || p.SHA256 != sha(body) {
		t.Errorf("part %s %s size %d sha %s, want %s %s size %d sha %s", p.Path, p.ContentType, p.Size, p.SHA256, path, typ, len(body), sha(body))
	}
}

func checkExtracted(t *testing.T, ex *extracted, path string, want []byte) {
	t.Helper()
	got, ok := ex.bodies[path]
	if !ok {
		t.Errorf("part %s not offered", path)
		return
	}
	if got.String() != string(want) {
		t.Errorf("part %s extracted %q, want %q", path, got.String(), want)
	}
	if ex.closed[path] != 1 {
		t.Errorf("part %s closed %d times", path, ex.closed[path])
	}
}

func noProblems(t *testing.T, m *Message) {
	t.Helper()
	if len(m.Problems) > 0 {
		t.Errorf("problems %q", m.Problems)
	}
}

func bcrlf(s string) []byte { return []byte(crlf(s)) }
