package main

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"mime/quotedprintable"
)

// Message bodies are generated once per run and shared by the sessions:
// each session only writes its own header fields in front of one. A body
// starts with the fields that describe it (MIME-Version, Content-Type...),
// so a header block of trace and address fields followed by a body is a
// complete message.
//
// Sizes come in classes half an octave wide, from 1 KiB up to the largest
// message; a class holds a few dozen bodies (fewer for large sizes, so that
// the pool stays within a few tens of megabytes), each of a size drawn
// within the class and of a kind that suits it. A body is made the first
// time a session needs it, from a generator seeded by the run's seed, its
// class and its index only, so that the pool is the same whatever order
// the bodies are made in.

// body is one pooled message body.
type body struct {
	stuffed  []byte // dot-stuffed, followed by the "." line: what DATA sends
	raw      []byte // as written, without the "." line: what BDAT sends
	eightBit bool   // it holds bytes over 127
}

// Sizes of the pool.
const (
	minMessage     = 1 << 10 // the smallest message
	classesPerOct  = 2       // size classes per doubling
	poolBytesClass = 4 << 20 // bodies of one class hold about this much...
	maxVariants    = 32      // ...in at most this many bodies,
	minVariants    = 4       // and at least this many up to 16 MiB,
	largeBytes     = 64 << 20
	headerEstimate = 450 // bytes of the per-session header fields
	minBody        = 800
)

// pool holds the bodies of a run.
type pool struct {
	seed    uint64
	maxSize int
	classes [][]*body
	pcg     *rand.PCG
	rng     *rand.Rand
	qp      bytes.Buffer
}

func newPool(seed uint64, maxSize int) *pool {
	maxSize = max(maxSize, minMessage)
	n := int(math.Ceil(math.Log2(float64(maxSize)/minMessage)*classesPerOct - 1e-9))
	p := &pool{seed: seed, maxSize: maxSize, classes: make([][]*body, max(n, 1))}
	p.pcg = rand.NewPCG(0, 0)
	p.rng = rand.New(p.pcg)
	return p
}

// class returns the class of messages of about size bytes.
func (p *pool) class(size int) int {
	if size <= minMessage {
		return 0
	}
	c := int(math.Log2(float64(size)/minMessage) * classesPerOct)
	return min(c, len(p.classes)-1)
}

// bounds returns the smallest and the largest size of class c.
func (p *pool) bounds(c int) (lo, hi float64) {
	lo = minMessage * math.Exp2(float64(c)/classesPerOct)
	hi = min(minMessage*math.Exp2(float64(c+1)/classesPerOct), float64(p.maxSize))
	return lo, max(lo, hi)
}

// variants returns how many bodies class c holds.
func (p *pool) variants(c int) int {
	_, hi := p.bounds(c)
	n := max(minVariants, min(maxVariants, int(poolBytesClass/hi)))
	// Fewer past 16 MiB, so that a huge -max-message does not take
	// gigabytes of memory.
	return min(n, max(1, int(largeBytes/hi)))
}

// pick returns a body of class c; with sevenBit, one without 8-bit bytes.
func (p *pool) pick(rng *rand.Rand, c int, sevenBit bool) *body {
	n := p.variants(c)
	v := rng.IntN(n)
	for range n {
		if b := p.get(c, v); !sevenBit || !b.eightBit {
			return b
		}
		v = (v + 1) % n
	}
	// Every body of the class is 8-bit (cannot happen with the kinds'
	// weights, but stay correct): make a 7-bit one outside the pool.
	return p.make(c, n, true)
}

// get returns body v of class c, making it the first time.
func (p *pool) get(c, v int) *body {
	if p.classes[c] == nil {
		p.classes[c] = make([]*body, p.variants(c))
	}
	b := p.classes[c][v]
	if b == nil {
		b = p.make(c, v, false)
		p.classes[c][v] = b
	}
	return b
}

// make generates body v of class c.
func (p *pool) make(c, v int, sevenBit bool) *body {
	p.pcg.Seed(p.seed^0x626f6479, uint64(c)<<32|uint64(v))
	rng := p.rng
	lo, hi := p.bounds(c)
	n := p.variants(c)
	// Spread the sizes of the class evenly, with some jitter.
	f := (float64(v) + rng.Float64()) / float64(n)
	size := int(lo * math.Pow(hi/lo, f))
	target := max(minBody, size-headerEstimate)
	g := bodyGen{rng: rng, qp: &p.qp, sevenBit: sevenBit}
	raw := g.message(target)
	return finish(raw)
}

// finish dot-stuffs raw and adds the "." line.
func finish(raw []byte) *body {
	b := &body{}
	dots := 0
	if len(raw) > 0 && raw[0] == '.' {
		dots++
	}
	dots += bytes.Count(raw, []byte("\n."))
	for _, c := range raw {
		if c >= 0x80 {
			b.eightBit = true
			break
		}
	}
	if dots == 0 {
		// Share the bytes: raw is stuffed without its "." line.
		s := make([]byte, 0, len(raw)+3)
		s = append(append(s, raw...), ".\r\n"...)
		b.stuffed, b.raw = s, s[:len(raw):len(raw)]
		return b
	}
	s := make([]byte, 0, len(raw)+dots+3)
	start := 0
	for i := range raw {
		if raw[i] == '.' && (i == 0 || raw[i-1] == '\n') {
			s = append(s, raw[start:i]...)
			s = append(s, '.')
			start = i
		}
	}
	s = append(s, raw[start:]...)
	b.stuffed, b.raw = append(s, ".\r\n"...), raw
	return b
}

// bodyGen writes one body.
type bodyGen struct {
	rng      *rand.Rand
	qp       *bytes.Buffer
	sevenBit bool
	b        []byte
}

func (g *bodyGen) str(s string) { g.b = append(g.b, s...) }

// message writes a body of about n bytes of a kind that suits its size.
func (g *bodyGen) message(n int) []byte {
	g.b = make([]byte, 0, n+n/8+1024)
	g.str("MIME-Version: 1.0\r\n")
	r := g.rng.IntN(100)
	switch {
	case n < 4<<10 && r < 45, n < 16<<10 && r < 25:
		g.plain(n)
	case n < 4<<10 || n < 16<<10 && r < 70 || n < 128<<10 && r < 20:
		g.alternative(n)
	default:
		g.mixed(n)
	}
	return g.b
}

// plain writes a text/plain body: 7-bit ASCII, 8-bit UTF-8 or
// quoted-printable UTF-8 or ISO-8859-1.
func (g *bodyGen) plain(n int) {
	r := g.rng.IntN(10)
	if g.sevenBit && r >= 4 && r < 6 {
		r = 6
	}
	switch {
	case r < 4:
		if r == 0 {
			g.str("Content-Type: text/plain; charset=\"us-ascii\"; format=flowed\r\n")
		} else {
			g.str("Content-Type: text/plain; charset=us-ascii\r\n")
		}
		g.str("Content-Transfer-Encoding: 7bit\r\n\r\n")
		g.text(n-len(g.b), 0)
	case r < 6:
		g.str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		g.text(n-len(g.b), 8)
	case r < 8:
		g.str("Content-Type: text/plain; charset=\"iso-8859-1\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		g.qpText(n-len(g.b), 1)
	default:
		g.str("Content-Type: text/plain; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		g.qpText(n-len(g.b), 8)
	}
}

// alternative writes a multipart/alternative body, text and HTML, the HTML
// sometimes inside a multipart/related with an inline image.
func (g *bodyGen) alternative(n int) {
	outer := g.boundary()
	related := n >= 8<<10 && g.rng.IntN(3) == 0
	if related {
		g.str("Content-Type: multipart/related;\r\n\tboundary=\"" + outer + "\";\r\n\ttype=\"multipart/alternative\"\r\n\r\n")
		g.str("--" + outer + "\r\n")
		inner := g.boundary()
		img := n / 3
		g.alternativePart(inner, n-img-len(g.b))
		g.str("\r\n--" + outer + "\r\n")
		g.str("Content-Type: image/png; name=\"image001.png\"\r\nContent-Description: image001.png\r\n")
		g.str("Content-Disposition: inline; filename=\"image001.png\"\r\nContent-ID: <image001.png@01DC7E3A.5B8C1F20>\r\n")
		g.str("Content-Transfer-Encoding: base64\r\n\r\n")
		g.base64(attachments[7].magic, n-len(g.b)-len(outer)-8)
		g.str("--" + outer + "--\r\n")
		return
	}
	g.alternativePart(g.boundary(), n-len(g.b))
}

// alternativePart writes the Content-Type field and body of a
// multipart/alternative of about n bytes with boundary bd.
func (g *bodyGen) alternativePart(bd string, n int) {
	start := len(g.b)
	g.str("Content-Type: multipart/alternative;\r\n\tboundary=\"" + bd + "\"\r\n\r\n")
	g.str("--" + bd + "\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	g.qpText(n/3, 8)
	g.str("\r\n--" + bd + "\r\nContent-Type: text/html; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	g.qpHTML(n - (len(g.b) - start) - len(bd) - 8)
	g.str("\r\n--" + bd + "--\r\n")
}

// mixed writes a multipart/mixed body: a text or alternative part and one
// to three base64 attachments.
func (g *bodyGen) mixed(n int) {
	bd := g.boundary()
	g.str("Content-Type: multipart/mixed;\r\n\tboundary=\"" + bd + "\"\r\n\r\n")
	g.str("This is a multi-part message in MIME format.\r\n--" + bd + "\r\n")
	textLen := min(n/4, 300+g.rng.IntN(3000))
	if g.rng.IntN(2) == 0 {
		g.alternativePart(g.boundary(), textLen)
	} else {
		g.str("Content-Type: text/plain; charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
		g.qpText(textLen, 8)
	}
	k := 1
	if rest := n - len(g.b); rest > 24<<10 {
		k += g.rng.IntN(3)
	}
	for i := range k {
		a := &attachments[g.rng.IntN(len(attachments))]
		g.str("\r\n--" + bd + "\r\nContent-Type: " + a.ctype + "; name=" + a.name + "\r\n")
		g.str("Content-Disposition: attachment;" + a.disposition + "\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		rest := n - len(g.b) - len(bd) - 8
		g.base64(a.magic, rest/(k-i)-100)
	}
	g.str("\r\n--" + bd + "--\r\n")
}

// boundary returns a multipart boundary in the style of one mail program.
func (g *bodyGen) boundary() string {
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	rnd := func(n int, set string) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = set[g.rng.IntN(len(set))]
		}
		return string(b)
	}
	switch g.rng.IntN(5) {
	case 0: // Thunderbird
		return "------------" + rnd(24, alnum)
	case 1: // Outlook
		return "_000_" + rnd(36, "0123456789ABCDEF") + "_"
	case 2: // JavaMail
		return "----=_Part_" + rnd(6, "0123456789") + "_" + rnd(9, "0123456789") + "." + rnd(13, "0123456789")
	case 3: // Apple Mail
		return "Apple-Mail=_" + rnd(8, "0123456789ABCDEF") + "-" + rnd(4, "0123456789ABCDEF") + "-" + rnd(4, "0123456789ABCDEF") + "-" + rnd(12, "0123456789ABCDEF")
	}
	return "===============" + rnd(19, "0123456789") + "==" // Python email
}

// text writes about n bytes of text in lines of at most 76 characters and
// paragraphs; charset 8 mixes in UTF-8 words, 1 ISO-8859-1 ones (as UTF-8,
// for qpText to convert). Now and then a line starts with a dot, which
// DATA must stuff. It ends with CRLF.
func (g *bodyGen) text(n, charset int) {
	g.b = appendText(g.b, g.rng, n, charset)
}

func appendText(b []byte, rng *rand.Rand, n, charset int) []byte {
	end := len(b) + max(n, 16)
	line := len(b)
	lines := 0
	for len(b) < end {
		var w string
		switch r := rng.IntN(100); {
		case charset == 8 && r < 8:
			w = words8[rng.IntN(len(words8))]
		case charset == 1 && r < 8:
			w = words1[rng.IntN(len(words1))]
		default:
			w = words[rng.IntN(len(words))]
		}
		if len(b)-line+1+len(w) > 72 {
			b = append(b, ".,;:!?"[rng.IntN(6)], '\r', '\n')
			line = len(b)
			lines++
			switch r := rng.IntN(40); {
			case r < 5:
				b = append(b, '\r', '\n')
				line = len(b)
			case r == 5:
				b = append(b, "...\r\n"...)
				line = len(b)
			case r == 6:
				b = append(b, ".NET and .profile notes follow"...)
			}
		}
		if len(b) > line {
			b = append(b, ' ')
		}
		b = append(b, w...)
	}
	return append(b, ".\r\n"...)
}

// qpText writes about n bytes of quoted-printable text.
func (g *bodyGen) qpText(n, charset int) {
	t := appendText(nil, g.rng, n*9/10, charset)
	if charset == 1 {
		l, _ := latin1(string(t))
		t = []byte(l)
	}
	g.quotedPrintable(t)
}

// qpHTML writes about n bytes of quoted-printable HTML, in long lines as
// mail programs write it.
func (g *bodyGen) qpHTML(n int) {
	n = max(n, 200) * 9 / 10
	h := make([]byte, 0, n+1024)
	h = append(h, "<!DOCTYPE html>\r\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\"><style>p{margin:0 0 12px 0;font-family:Arial,Helvetica,sans-serif;font-size:14px}</style></head>\r\n<body>"...)
	for len(h) < n {
		switch g.rng.IntN(4) {
		case 0:
			h = append(h, "<table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\"><tr><td style=\"padding:8px;border-bottom:1px solid #e0e0e0\">"...)
			h = appendWords(h, g.rng, 12)
			h = append(h, "</td><td align=\"right\">"...)
			h = appendWords(h, g.rng, 3)
			h = append(h, "</td></tr></table>"...)
		case 1:
			h = append(h, "<p>"...)
			h = appendWords(h, g.rng, 10)
			h = append(h, " <a href=\"https://www.example.com/track?id="...)
			for range 16 {
				h = append(h, "0123456789abcdef"[g.rng.IntN(16)])
			}
			h = append(h, "&amp;utm_source=newsletter\">"...)
			h = appendWords(h, g.rng, 3)
			h = append(h, "</a></p>\r\n"...)
		default:
			h = append(h, "<p>"...)
			h = appendWords(h, g.rng, 20+g.rng.IntN(60))
			h = append(h, "</p>"...)
		}
	}
	h = append(h, "</body></html>\r\n"...)
	g.quotedPrintable(h)
}

func appendWords(b []byte, rng *rand.Rand, n int) []byte {
	for i := range n {
		if i > 0 {
			b = append(b, ' ')
		}
		if rng.IntN(30) == 0 {
			b = append(b, words8[rng.IntN(len(words8))]...)
		} else {
			b = append(b, words[rng.IntN(len(words))]...)
		}
	}
	return b
}

// quotedPrintable writes t quoted-printable encoded, ending with CRLF.
func (g *bodyGen) quotedPrintable(t []byte) {
	g.qp.Reset()
	w := quotedprintable.NewWriter(g.qp)
	_, _ = w.Write(t) // writes to a bytes.Buffer cannot fail
	_ = w.Close()
	g.b = append(g.b, g.qp.Bytes()...)
	if !bytes.HasSuffix(g.b, []byte("\r\n")) {
		g.str("\r\n")
	}
}

// base64 writes about n bytes of base64 in 76-column lines: the encoding
// of content starting with magic and going on at random.
func (g *bodyGen) base64(magic string, n int) {
	lines := max(1, n/78)
	raw := make([]byte, lines*57-g.rng.IntN(57))
	copy(raw, magic)
	for i := len(magic); i < len(raw); {
		x := g.rng.Uint64()
		for k := 0; k < 8 && i < len(raw); k++ {
			raw[i] = byte(x)
			x >>= 8
			i++
		}
	}
	for len(raw) > 0 {
		k := min(57, len(raw))
		start := len(g.b)
		g.b = append(g.b, make([]byte, base64.StdEncoding.EncodedLen(k))...)
		base64.StdEncoding.Encode(g.b[start:], raw[:k])
		g.str("\r\n")
		raw = raw[k:]
	}
}
