package message

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestMessages parses every hand-built message whole, byte by byte, at odd and even 2-byte
// splits and at random splits: all must give the same Message (the golden dump) and the same
// extracted parts; then the case's own checks run.
func TestMessages(t *testing.T) {
	base := liveGoroutines()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want string
			var wantEx *extracted
			for _, s := range splitters {
				ex := newExtracted()
				o := c.opts
				o.Part = ex.part
				m := parse(o, s.cut(c.msg))
				got := dump(m)
				if s.name == "whole" {
					want, wantEx = got, ex
					checkGolden(t, c.name, got)
					checkInvariants(t, c.msg, m, o.withDefaults())
					if c.check != nil {
						c.check(t, m, ex)
					}
					continue
				}
				if got != want {
					t.Errorf("%s: dump differs from whole:\n%s\nwant:\n%s", s.name, got, want)
				}
				if fmt.Sprint(ex.closed) != fmt.Sprint(wantEx.closed) || len(ex.bodies) != len(wantEx.bodies) {
					t.Errorf("%s: extracted parts differ", s.name)
				}
				for path, b := range ex.bodies {
					if w, ok := wantEx.bodies[path]; !ok || !bytes.Equal(b.Bytes(), w.Bytes()) {
						t.Errorf("%s: extracted part %s differs", s.name, path)
					}
				}
			}
		})
	}
	waitGoroutines(t, base)
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./message -run TestMessages -update)", err)
	}
	if got != string(want) {
		t.Errorf("dump differs from %s:\n%s\nwant:\n%s", path, got, want)
	}
}

// checkInvariants checks what holds of every Message.
func checkInvariants(t testing.TB, msg []byte, m *Message, o Options) {
	t.Helper()
	if m.Size != int64(len(msg)) || m.SHA256 != sha(msg) {
		t.Errorf("Size %d SHA256 %s, want %d %s", m.Size, m.SHA256, len(msg), sha(msg))
	}
	if len(m.Parts) == 0 || len(m.Parts) > o.MaxParts {
		t.Errorf("%d parts, limit %d", len(m.Parts), o.MaxParts)
	}
	if len(m.Parts) > 0 && m.Parts[0].Path != "1" {
		t.Errorf("root path %q", m.Parts[0].Path)
	}
	for _, p := range m.Parts {
		if p.Depth > o.MaxDepth+1 || strings.Count(p.Path, ".") != p.Depth {
			t.Errorf("part %s at depth %d", p.Path, p.Depth)
		}
		if len(p.Problems) > maxPartProblems+1 {
			t.Errorf("part %s: %d problems", p.Path, len(p.Problems))
		}
	}
	if n := utf8.RuneCountInString(m.Preview); n > o.PreviewRunes {
		t.Errorf("preview of %d runes", n)
	}
	if len(m.Problems) > maxMessageProblems+1 {
		t.Errorf("%d problems", len(m.Problems))
	}
	for _, p := range m.Problems {
		if strings.HasPrefix(p, "internal error") {
			t.Errorf("problem %q", p)
		}
	}
}

// TestLargeAttachmentStreams checks that a large attachment streams through bounded memory: it
// is generated as it is written, so what the parse allocates shows in TotalAlloc.
func TestLargeAttachmentStreams(t *testing.T) {
	const size = 8 << 20
	head := bcrlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
	tail := bcrlf("\n--b--\n")
	var got int64
	p := NewParser(Options{Part: func(*Part) io.WriteCloser { return countWriter{&got} }})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p.Write(head)
	line := []byte(base64Lines(bytes.Repeat([]byte{0xa5}, 57*64))) // 64 lines of 76 characters
	for written := 0; written < size; written += 57 * 64 {
		p.Write(line)
	}
	p.Write(tail)
	p.Close()
	runtime.ReadMemStats(&after)
	m := p.Message()
	if m.Parts[1].Size != got || got < size || len(m.Problems) > 0 {
		t.Errorf("size %d extracted %d problems %q", m.Parts[1].Size, got, m.Problems)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 && !raceEnabled {
		t.Errorf("parsing %d bytes allocated %d bytes", m.Size, alloc)
	}
}

type countWriter struct{ n *int64 }

func (w countWriter) Write(b []byte) (int, error) { *w.n += int64(len(b)); return len(b), nil }
func (w countWriter) Close() error                { return nil }

// TestHostileHeaderBounded feeds an endless header line, then endless part header lines.
func TestHostileHeaderBounded(t *testing.T) {
	for _, head := range []string{
		"X-Endless: ",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX-Endless: ",
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("preamble ", 10),
	} {
		p := NewParser(Options{})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		p.Write([]byte(head))
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for range 128 { // 8 MiB without a line end
			p.Write(chunk)
		}
		p.Close()
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 && !raceEnabled {
			t.Errorf("%q: parsing %d bytes allocated %d bytes", head, p.Message().Size, alloc)
		}
	}
}

// TestStopsEarly checks that Write neither blocks nor fails once the parse needs no more input
// (after the root's closing boundary), and that no goroutine outlives Close.
func TestStopsEarly(t *testing.T) {
	base := liveGoroutines()
	p := NewParser(Options{})
	head := bcrlf("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n")
	p.Write(head)
	chunk := bytes.Repeat([]byte("epilogue\r\n"), 1000)
	for range 100 {
		if n, err := p.Write(chunk); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	if m := p.Message(); m.Size != int64(len(chunk)*100+len(head)) || len(m.Parts) != 2 {
		t.Errorf("size %d parts %d", m.Size, len(m.Parts))
	}
	waitGoroutines(t, base)
}

// TestPartWriterErrors checks that a failing Part writer becomes a problem and the parse goes on.
func TestPartWriterErrors(t *testing.T) {
	o := Options{Part: func(p *Part) io.WriteCloser {
		if p.Path == "1.1" {
			return failWriter{}
		}
		return nil
	}}
	m := parse(o, [][]byte{mixedMsg})
	eq(t, "problems", m.Parts[1].Problems, []string{"part writer: disk full"})
	checkPart(t, m.Parts[2], "1.2", "application/octet-stream", allBytes)
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
func (failWriter) Close() error              { return nil }

// TestProblemsBounded checks the caps on problems.
func TestProblemsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 300 {
		fmt.Fprintf(&b, "bad line %d\n", i)
	}
	b.WriteString("Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ\n")
	m := parse(Options{}, [][]byte{bcrlf(b.String())})
	if len(m.Problems) != maxMessageProblems+1 || m.Problems[maxMessageProblems] != "201 more problems not listed" {
		t.Errorf("%d problems, last %q", len(m.Problems), m.Problems[len(m.Problems)-1])
	}
}

func TestDecodeHeader(t *testing.T) {
	for _, c := range []struct {
		in, want string
		problems int
	}{
		{"plain text", "plain text", 0},
		{"=?UTF-8?B?R3LDvMOfZSwg5LiW55WM?=", "Grüße, 世界", 0},
		{"=?UTF-8?Q?Gr=C3=BC=C3=9Fe=2C_=E4=B8=96=E7=95=8C?=", "Grüße, 世界", 0},
		{"=?GB2312?B?1tDOxNPKvP6y4srU?=", "中文邮件测试", 0},
		{"=?GBK?Q?=D6=D0=CE=C4=D3=CA=BC=FE=B2=E2=CA=D4?=", "中文邮件测试", 0},
		{"=?GB18030?B?1tDOxNPKvP6y4srUlTKCNg==?=", "中文邮件测试𠀀", 0},
		{"=?Big5?B?wWPF6aSkpOW0+rjV?=", "繁體中文測試", 0},
		{"=?ISO-2022-JP?B?GyRCRnxLXDhsJE4lRiU5JUgbKEI=?=", "日本語のテスト", 0},
		{"=?ISO-2022-JP?Q?=1B=24BF=7CK=5C8l=24N=25F=259=25H=1B=28B?=", "日本語のテスト", 0},
		{"=?Shift_JIS?B?k/qWe4zqgsyDZYNYg2c=?=", "日本語のテスト", 0},
		{"=?EUC-KR?B?x9Gxub7uIL3Dx+g=?=", "한국어 시험", 0},
		{"=?ks_c_5601-1987?B?x9Gxub7uIL3Dx+g=?=", "한국어 시험", 0},
		{"=?ISO-8859-1?Q?Caf=E9_d=E9j=E0_vu?=", "Café déjà vu", 0},
		{"=?ISO-8859-2?B?WmG/87PmIGfqtmyx?=", "Zażółć gęślą", 0},
		{"=?ISO-8859-5?B?v+DY0tXiINzY4A==?=", "Привет мир", 0},
		{"=?ISO-8859-15?Q?Prix=3A_5=A4_=BDuvre?=", "Prix: 5€ œuvre", 0},
		{"=?Windows-1251?B?z/Do4uXyIOzo8A==?=", "Привет мир", 0},
		{"=?Windows-1252?Q?=93Smart=94_quotes_=96_5=80?=", "“Smart” quotes – 5€", 0},
		{"=?KOI8-R?Q?=F0=D2=C9=D7=C5=D4_=CD=C9=D2?=", "Привет мир", 0},
		{"=?us-ascii?q?plain?=", "plain", 0},
		{"=?utf-8*en?q?with_language?=", "with language", 0},
		// Adjacent words: the white space between them goes; text between them stays.
		{"=?utf-8?q?a?= =?utf-8?q?b?=", "ab", 0},
		{"=?utf-8?q?a?=\r\n\t=?utf-8?q?b?=", "ab", 0},
		{"=?utf-8?q?a?= x =?utf-8?q?b?=", "a x b", 0},
		{"=?utf-8?q?a_?= =?iso-8859-1?q?=E9?=", "a é", 0},
		// A character split across two words survives.
		{"=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=", "€", 0},
		// Unknown charsets and broken words are kept as written.
		{"=?x-unknown?q?abc?= =?x-unknown?q?def?= ok", "=?x-unknown?q?abc?= =?x-unknown?q?def?= ok", 1},
		{"=?utf-8?b?!!!?=", "=?utf-8?b?!!!?=", 1},
		{"=?utf-8?x?abc?=", "=?utf-8?x?abc?=", 0},
		{"=?utf-8?q?unterminated", "=?utf-8?q?unterminated", 0},
		{"=??q?nocharset?=", "=??q?nocharset?=", 0},
		{"=?utf-8?b?R3LDvMOfZQ?=", "Grüße", 0}, // padding missing
		{"=?utf-8?q?bad=ZZhex=4?=", "bad=ZZhex=4", 0},
		{"raw 8-bit \xc3\xa9 \xff kept", "raw 8-bit é \xff kept", 0},
		{"=?utf-8?q?invalid_=FF?=", "invalid \ufffd", 0},
	} {
		got, probs := decodeHeader(c.in)
		if got != c.want || len(probs) != c.problems {
			t.Errorf("decodeHeader(%q) = %q %q, want %q and %d problems", c.in, got, probs, c.want, c.problems)
		}
	}
}

// TestCharsetLookup checks that lookupCharset (for streaming previews) knows exactly the charsets
// go-message/charset converts (for headers).
func TestCharsetLookup(t *testing.T) {
	for _, name := range []string{"utf-8", "UTF8", "us-ascii", "gb2312", "gbk", "gb18030", "big5", "iso-2022-jp",
		"shift_jis", "euc-kr", "ks_c_5601-1987", "iso-8859-1", "latin1", "iso-8859-2", "iso-8859-5", "iso-8859-15",
		"windows-1251", "windows-1252", "cp1252", "koi8-r", "koi8-u", "utf-16", "ansi_x3.110-1983", "x-utf_8j",
		"x-unknown", "unknown-8bit", "", "utf-7"} {
		_, ok := convertCharset(strings.ToLower(name), []byte("a"))
		if found := lookupCharset(name) != nil; found != ok {
			t.Errorf("%q: lookupCharset %v, convertCharset %v", name, found, ok)
		}
	}
}

func TestParseParams(t *testing.T) {
	for _, c := range []struct {
		in, token, params string
		problems          int
	}{
		{`attachment; filename*0*=utf-8''%E2%82%AC; filename*1=".pdf"`, "attachment", "filename=€.pdf", 0},
		{`attachment; filename*=utf-8''%E2%82%AC.pdf`, "attachment", "filename=€.pdf", 0},
		{`attachment; filename*=iso-8859-1'fr'caf%E9.txt`, "attachment", "filename=café.txt", 0},
		{`attachment; filename*=x-unknown''a%41`, "attachment", "filename=aA", 1},
		{`attachment; filename="a.pdf"; filename="b.pdf"`, "attachment", "filename=a.pdf", 1},
		{`attachment; filename=my file.pdf`, "attachment", "filename=my file.pdf", 1},
		{`attachment; filename="unterminated`, "attachment", "filename=unterminated", 1},
		{`multipart/mixed; boundary=----=_Part_0_1`, "multipart/mixed", "boundary=----=_Part_0_1", 1},
		{`Multipart/Mixed; BOUNDARY="a;b"`, "multipart/mixed", "boundary=a;b", 0},
		{`inline`, "inline", "", 0},
	} {
		token, params, probs := parseParams("Content-Disposition", c.in)
		var ps []string
		for _, k := range []string{"boundary", "filename"} {
			if v, ok := params[k]; ok {
				ps = append(ps, k+"="+v)
			}
		}
		if token != c.token || strings.Join(ps, ";") != c.params || len(probs) != c.problems {
			t.Errorf("parseParams(%q) = %q %q %q, want %q %q and %d problems", c.in, token, ps, probs, c.token, c.params, c.problems)
		}
	}
}

// TestQuotedPrintableSplits checks the quoted-printable decoder against every two-piece split.
func TestDecodersSplits(t *testing.T) {
	inputs := map[string]string{
		"quoted-printable": "a=3Db =\r\nc  \r\nd=\ne=4\r\n=zz=4x =  \r\nend  \r\n=",
		"base64":           "QUJD REVG\r\nR0g=\r\n",
	}
	for enc, in := range inputs {
		var whole bytes.Buffer
		d, _ := newBodyDecoder(enc, &whole)
		d.Write([]byte(in))
		wantProbs := fmt.Sprint(d.finish())
		for i := 0; i <= len(in); i++ {
			var got bytes.Buffer
			d, _ := newBodyDecoder(enc, &got)
			d.Write([]byte(in[:i]))
			d.Write([]byte(in[i:]))
			if probs := fmt.Sprint(d.finish()); got.String() != whole.String() || probs != wantProbs {
				t.Errorf("%s split at %d: %q %s, want %q %s", enc, i, got.String(), probs, whole.String(), wantProbs)
			}
		}
	}
}

// TestPreviewUTF8Direct: UTF-8 text skips the charset transformer; invalid and cut-off
// sequences still become U+FFFD as the transformer makes them, in every chunking, and a long
// part stops being decoded once the preview is full.
func TestPreviewUTF8Direct(t *testing.T) {
	for _, cs := range []string{"utf-8", "us-ascii", ""} {
		body := "caf\xc3\xa9 \xff ok \xe2\x82"
		msg := []byte("Content-Type: text/plain" + map[bool]string{true: "; charset=" + cs}[cs != ""] + "\r\n\r\n" + body)
		for _, split := range []func([]byte) [][]byte{
			func(b []byte) [][]byte { return [][]byte{b} },
			func(b []byte) [][]byte { return pieces(b, func(int) int { return 1 }) },
			randomSplit(int64(len(cs))),
		} {
			m := parse(Options{}, split(msg))
			if want := "café \uFFFD ok \uFFFD"; m.Preview != want {
				t.Errorf("charset %q: preview %q, want %q", cs, m.Preview, want)
			}
		}
	}
	long := append([]byte("Subject: x\r\n\r\n"), bytes.Repeat([]byte("word "), 1<<20)...)
	m := parse(Options{PreviewRunes: 10}, [][]byte{long})
	if m.Preview != "word word" {
		t.Errorf("preview %q", m.Preview)
	}
	// A charset converter is given no more than a step past a full preview.
	conv := &countingConv{}
	p := &preview{conv: conv, text: &previewText{limit: 10}}
	conv.to = p.text
	p.Write(bytes.Repeat([]byte("word "), 1<<20))
	if p.String() != "word word" || conv.n > 10+previewStep {
		t.Errorf("preview %q after converting %d bytes", p.String(), conv.n)
	}
}

// countingConv stands for a charset converter: it counts what it is given.
type countingConv struct {
	to *previewText
	n  int
}

func (c *countingConv) Write(b []byte) (int, error) { c.n += len(b); return c.to.Write(b) }
func (c *countingConv) Close() error                { return nil }

// TestHashMessageOff: without HashMessage the whole message is counted, not hashed; its parts
// are hashed all the same.
func TestHashMessageOff(t *testing.T) {
	msg := single("Subject: x", "body\n")
	p := NewParser(Options{})
	p.Write(msg)
	p.Close()
	m := p.Message()
	if m.SHA256 != "" || m.Size != int64(len(msg)) || len(m.Parts) != 1 || m.Parts[0].SHA256 != sha([]byte("body\r\n")) || m.Parts[0].Size != 6 {
		t.Errorf("size %d sha256 %q, parts %+v", m.Size, m.SHA256, m.Parts)
	}
}
