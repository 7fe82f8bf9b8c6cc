package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// htmlCaptures lists the recorded captures in testdata.
func htmlCaptures(t testing.TB) []string {
	t.Helper()
	files, _ := filepath.Glob("../testdata/*/input.pcap*")
	if len(files) < 20 {
		t.Fatalf("%d captures in testdata", len(files))
	}
	return files
}

// htmlDecode decodes a capture, messages parsed, as the command does.
func htmlDecode(t testing.TB, file string) []*smtpdecode.Session {
	t.Helper()
	r, err := capture.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sessions []*smtpdecode.Session
	_, err = pipeline.Run(context.Background(), r, pipeline.Options{Messages: pipeline.Messages{Parse: true}},
		func(s *smtpdecode.Session) { sessions = append(sessions, s) })
	if err != nil {
		t.Fatal(err)
	}
	return sessions
}

// htmlCaseName is the testdata directory a capture is in.
func htmlCaseName(file string) string { return filepath.Base(filepath.Dir(file)) }

// renderHTML writes sessions as a page.
func renderHTML(t testing.TB, o Options, info HTMLInfo, sessions ...*smtpdecode.Session) string {
	t.Helper()
	var b bytes.Buffer
	h, err := NewHTML(&b, o, info)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sessions {
		if err := h.Session(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The elements and attributes the writer uses: anything else on a page was
// made from captured text, and the escaping failed.
var (
	htmlElements = strings.Fields(`html head meta link title style body header h1 h2 h3 p nav a main section
		div span input table thead tbody tr th td code dl dt dd ul li details summary pre blockquote
		footer script svg g rect line path text`)
	htmlAttributes = strings.Fields(`lang charset http-equiv content name rel href class id hidden type placeholder
		aria-label aria-hidden autocomplete scope data-sort data-v title width height viewbox role
		x y x1 y1 x2 y2 rx d text-anchor`)
	// Elements HTML closes by themselves.
	htmlVoid = strings.Fields(`area base br col embed hr img input link meta source track wbr`)
	// Elements a <p> cannot hold (the parser would close it first).
	htmlBlocks = strings.Fields(`div table ul ol dl p section header footer nav main h1 h2 h3 pre blockquote details`)
)

// checkPage checks what every page must be: UTF-8 without a control
// character, well-formed (every element closed where it was opened, nothing
// the parser would move), made of the writer's own elements and attributes
// only, one script (the page's), no URL leaving the page, every SVG
// well-formed XML. It returns the parsed page.
func checkPage(t testing.TB, page string) *html.Node {
	t.Helper()
	if !utf8.ValidString(page) {
		t.Fatal("page is not UTF-8")
	}
	for i := 0; i < len(page); i++ {
		if c := page[i]; (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
			t.Fatalf("control byte %#x at %d: %q", c, i, around(page, i))
		}
	}
	if n := strings.Count(strings.ToLower(page), "<script"); n != 1 {
		t.Fatalf("%d <script in the page", n)
	}
	if !strings.Contains(page, "<script>"+htmlJS+"</script>") {
		t.Fatal("the page's script is not the embedded one")
	}
	if !strings.Contains(page, "<style>"+htmlCSS+"</style>") {
		t.Fatal("the page's stylesheet is not the embedded one")
	}

	z := html.NewTokenizer(strings.NewReader(page))
	var stack []string
	inSVG := 0
	ids := map[string]bool{}
	var links []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if !errors.Is(z.Err(), io.EOF) {
				t.Fatal(z.Err())
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			name := tok.Data
			if !slices.Contains(htmlElements, name) {
				t.Fatalf("element <%s> in the page, inside %v", name, stack)
			}
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			checkNesting(t, name, parent, stack)
			for _, a := range tok.Attr {
				if !slices.Contains(htmlAttributes, a.Key) || strings.HasPrefix(a.Key, "on") {
					t.Fatalf("attribute %s=%q on <%s>", a.Key, a.Val, name)
				}
				if a.Key == "href" && !strings.HasPrefix(a.Val, "#") && a.Val != "data:," {
					t.Fatalf("<%s href=%q>: a URL leaving the page", name, a.Val)
				}
				if a.Key == "href" && strings.HasPrefix(a.Val, "#") {
					links = append(links, a.Val[1:])
				}
				if a.Key == "id" {
					if ids[a.Val] {
						t.Fatalf("id %q twice", a.Val)
					}
					ids[a.Val] = true
				}
			}
			if tt == html.SelfClosingTagToken {
				if inSVG == 0 && !slices.Contains(htmlVoid, name) {
					t.Fatalf("<%s/> outside SVG", name)
				}
				continue
			}
			if name == "svg" {
				inSVG++
			}
			if !slices.Contains(htmlVoid, name) {
				stack = append(stack, name)
			}
		case html.EndTagToken:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Data {
				t.Fatalf("</%s> closes %v", tok.Data, stack)
			}
			stack = stack[:len(stack)-1]
			if tok.Data == "svg" {
				inSVG--
			}
		case html.TextToken:
			if len(stack) > 0 && strings.TrimSpace(tok.Data) != "" {
				switch stack[len(stack)-1] {
				case "table", "thead", "tbody", "tr", "dl", "ul", "svg", "g", "head", "html":
					t.Fatalf("text %q directly in <%s>", tok.Data, stack[len(stack)-1])
				}
			}
		case html.DoctypeToken:
			if tok.Data != "html" {
				t.Fatalf("doctype %q", tok.Data)
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("not closed: %v", stack)
	}
	for _, l := range links {
		if !ids[l] {
			t.Fatalf("a link to #%s, which is not on the page", l)
		}
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n<html lang=\"en\">") {
		t.Fatalf("page starts %q", page[:min(len(page), 40)])
	}
	if strings.Contains(htmlCSS, "url(") || strings.Contains(htmlCSS, "@import") ||
		strings.Contains(htmlJS, "http") || strings.Contains(htmlJS, "fetch") || strings.Contains(htmlJS, "XMLHttpRequest") {
		t.Fatal("the stylesheet or the script reaches out of the page")
	}

	for rest := page; ; {
		i := strings.Index(rest, "<svg ")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "</svg>")
		frag := rest[i : i+j+len("</svg>")]
		d := xml.NewDecoder(strings.NewReader(frag))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("SVG is not well-formed XML: %v\n%s", err, frag)
			}
		}
		rest = rest[i+j:]
	}

	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// checkNesting fails where the HTML parser would not keep an element
// where it was written.
func checkNesting(t testing.TB, name, parent string, stack []string) {
	t.Helper()
	want := map[string][]string{
		"tr":    {"thead", "tbody", "table"},
		"td":    {"tr"},
		"th":    {"tr"},
		"thead": {"table"},
		"tbody": {"table"},
		"li":    {"ul"},
		"dt":    {"dl"},
		"dd":    {"dl"},
	}[name]
	if want != nil && !slices.Contains(want, parent) {
		t.Fatalf("<%s> in <%s>", name, parent)
	}
	if parent == "table" && name != "thead" && name != "tbody" {
		t.Fatalf("<%s> directly in <table>", name)
	}
	if slices.Contains(htmlBlocks, name) && slices.Contains(stack, "p") {
		t.Fatalf("<%s> in a <p>: %v", name, stack)
	}
	if name == "a" && slices.Contains(stack, "a") {
		t.Fatalf("<a> in an <a>: %v", stack)
	}
}

func around(s string, i int) string { return s[max(0, i-40):min(len(s), i+40)] }

// Walking the parsed page.

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return n.Type == html.ElementNode && slices.Contains(strings.Fields(attr(n, "class")), class)
}

// find returns the elements named name (any, if "") with the class.
func find(doc *html.Node, name, class string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && (name == "" || n.Data == name) && (class == "" || hasClass(n, class)) {
			out = append(out, n)
		}
	})
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return b.String()
}

// TestHTMLRecorded: the page of every recorded capture is well-formed and
// self-contained, has a table row, a detail section and a ladder for each
// session, masks secrets, and is the same each time it is written.
func TestHTMLRecorded(t *testing.T) {
	for _, file := range htmlCaptures(t) {
		t.Run(htmlCaseName(file), func(t *testing.T) {
			sessions := htmlDecode(t, file)
			info := HTMLInfo{Files: []string{file}}
			page := renderHTML(t, Options{}, info, sessions...)
			doc := checkPage(t, page)
			if n := len(find(doc, "section", "session")); n != len(sessions) {
				t.Errorf("%d detail sections, want %d", n, len(sessions))
			}
			if n := len(find(doc, "svg", "ladder")); n != len(sessions) {
				t.Errorf("%d ladders, want %d", n, len(sessions))
			}
			if n := len(find(find(doc, "table", "sessions")[0], "tr", "")) - 1; n != len(sessions) {
				t.Errorf("%d table rows, want %d", n, len(sessions))
			}
			for _, s := range sessions {
				for _, c := range s.Commands {
					if c.Secret && len(c.Line) >= 8 && strings.Contains(page, c.Line) {
						t.Errorf("secret line %q shown", c.Line)
					}
				}
				if s.Auth != nil && s.Auth.Password != "" && strings.Contains(page, s.Auth.Password) {
					t.Errorf("password %q shown", s.Auth.Password)
				}
				if s.Auth != nil && s.Auth.Password != "" {
					shown := renderHTML(t, Options{ShowSecrets: true}, info, sessions...)
					if !strings.Contains(shown, s.Auth.Password) {
						t.Errorf("password %q not shown with ShowSecrets", s.Auth.Password)
					}
				}
			}
			if again := renderHTML(t, Options{}, info, sessions...); again != page {
				t.Error("a second page of the same sessions differs")
			}
		})
	}
}

// TestHTMLLadder: the ladder of a recorded session has an arrow for each
// command and each reply, AUTH steps decoded, failed replies and anomalies
// marked, and the lanes named.
func TestHTMLLadder(t *testing.T) {
	for _, c := range []struct {
		capture string
		want    []string // in the ladder, in order
		fail    []string // in a row marked failed
	}{
		{"auth-failed", []string{"CLIENT", "127.0.0.1:56208", "client.smtpscope.test", "SERVER", "127.0.0.1:587", "mail.smtpscope.test",
			"220 mail.smtpscope.test Python SMTP 1.4.3", "EHLO client.smtpscope.test", "250 mail.smtpscope.test  (+5 lines)", "AUTH LOGIN",
			"334 VXNlciBOYW1lAA==  → User Name\\x00", "d2hi  → whb", "<secret: 16 bytes, --show-secrets shows it>", "535 5.7.8 Authentication credentials invalid",
			"QUIT", "221 Bye", "closed by FIN"}, []string{"535 5.7.8 Authentication credentials invalid"}},
		{"starttls", []string{"STARTTLS", "220 2.0.0 Ready to start TLS", "TLS begins · TLS 1.3 · TLS_AES_256_GCM_SHA384", "reset (RST)"}, nil},
		{"lowercase-barelf", []string{"helo client.smtpscope.test", "! bare-lf: line ended with LF alone (10 times)"}, []string{"! bare-lf"}},
		{"rset-multi", []string{"rcpt TO:<nobody@smtpscope.test>", "550 5.1.1 <nobody@smtpscope.test>: Recipient address rejected"}, []string{"550 5.1.1"}},
		{"mime-attachments", []string{"<message: 5,480 bytes, 90 lines>  “smtpscope test mime-attachments”", "250 2.0.0 Ok: queued as EE233BA13A"}, nil},
	} {
		t.Run(c.capture, func(t *testing.T) {
			sessions := htmlDecode(t, "../testdata/"+c.capture+"/input.pcap")
			doc := checkPage(t, renderHTML(t, Options{}, HTMLInfo{}, sessions...))
			ladder := find(doc, "svg", "ladder")[0]
			var texts []string
			for _, n := range find(ladder, "text", "") {
				texts = append(texts, textOf(n))
			}
			all := strings.Join(texts, "\n")
			at := 0
			for _, w := range c.want {
				i := strings.Index(all[at:], w)
				if i < 0 {
					t.Fatalf("ladder lacks %q after position %d:\n%s", w, at, all)
				}
				at += i
			}
			for _, w := range c.fail {
				found := false
				for _, g := range find(ladder, "g", "fail") {
					found = found || strings.Contains(textOf(g), w)
				}
				if !found {
					t.Errorf("%q is not in a row marked failed", w)
				}
			}
			// Every reply to a command shows its latency.
			reps, lats := len(find(ladder, "g", "rep")), len(find(ladder, "text", "lat"))
			if lats != reps-1 { // the greeting answers no command
				t.Errorf("%d latencies for %d replies", lats, reps)
			}
		})
	}
}

// htmlHostile is text a capture may hold that a page must show as text.
const htmlHostile = "\x1b[1m\x00<script>alert(1)</script>\"><img src=x onerror=alert(2)>'</script><svg onload=alert(3)>\x1b[31mred\x00nul\u202e&amp;\r\n<!--"

// hostileSession is a session with s in every field that comes from a
// capture.
func hostileSession(s string) *smtpdecode.Session {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	reply := func(ms, code int, lines ...string) *smtpdecode.Reply {
		return &smtpdecode.Reply{Time: at(ms), Code: code, Lines: lines}
	}
	pm := &message.Message{
		Size: 10,
		Header: message.Header{From: []string{s}, To: []string{s, "b@example.test"}, Cc: []string{s}, Subject: s, Date: s,
			MessageID: s, InReplyTo: s, UserAgent: s, Received: 2, FirstReceived: s, ContentType: s},
		Parts: []message.Part{
			{Path: "1", ContentType: "multipart/mixed"},
			{Path: "1.1", Depth: 1, ContentType: s, Charset: s, Encoding: s, Disposition: s, Size: 3, SHA256: s},
			{Path: "1.2", Depth: 1, ContentType: "application/octet-stream", Filename: s, Attachment: true, Size: 3, SHA256: s, Problems: []string{s}},
		},
		Preview:  s,
		Problems: []string{s},
	}
	msg := &smtpdecode.Message{Bytes: 10, Lines: 1, Terminated: true, Parsed: pm}
	cmds := []smtpdecode.Command{
		{Time: at(1), Verb: "EHLO", Arg: s, Line: "EHLO " + s, Reply: reply(2, 250, s, "AUTH LOGIN", s)},
		{Time: at(3), Verb: "AUTH", Arg: "LOGIN", Line: "AUTH LOGIN", Reply: &smtpdecode.Reply{Time: at(4), Code: 334, Lines: []string{"VXNlcm5hbWU6"}, Decoded: s}},
		{Time: at(5), Kind: smtpdecode.KindAuthResponse, Line: "dXNlcg==", Decoded: s, Reply: reply(6, 334, s)},
		{Time: at(7), Kind: smtpdecode.KindAuthResponse, Line: "aHVudGVyMg==", Secret: true, Reply: reply(8, 535, s)},
		{Time: at(9), Verb: "MAIL", Arg: "FROM:<" + s + ">", Line: "MAIL FROM:<" + s + ">", Reply: reply(10, 250, s)},
		{Time: at(11), Verb: "RCPT", Arg: "TO:<" + s + ">", Line: "RCPT TO:<" + s + ">", Reply: reply(12, 550, s)},
		{Time: at(13), Verb: "RCPT", Arg: "TO:<b@example.test>", Line: "RCPT TO:<b@example.test>", Reply: reply(14, 250, "ok")},
		{Time: at(15), Verb: "DATA", Line: "DATA", Reply: reply(16, 354, s)},
		{Time: at(17), Kind: smtpdecode.KindMessage, Message: msg, Reply: reply(18, 250, "queued as "+s)},
		{Time: at(19), Verb: strings.ToUpper(s), Line: s, Reply: reply(20, 500, s)},
		{Time: at(21), Kind: smtpdecode.KindUnmatched, Reply: &smtpdecode.Reply{Time: at(21), Lines: []string{s}}},
		{Time: at(1500), Verb: "QUIT", Line: "QUIT", LostReply: true},
	}
	return &smtpdecode.Session{
		ID: 7, Packets: 40, Sides: s, File: s,
		Client:   netip.MustParseAddrPort("192.0.2.10:40001"),
		Server:   netip.MustParseAddrPort("[2001:db8::25]:25"),
		Start:    t0,
		End:      at(1600),
		Closed:   smtpdecode.ClosedRST,
		Greeting: reply(0, 220, s),
		Commands: cmds,
		Gaps:     []smtpdecode.Gap{{Time: at(1501), Dir: smtpdecode.FromServer, Bytes: 7}},
		Bytes:    [2]int64{300, 400}, Missing: [2]int64{0, 7},
		Helo:       &smtpdecode.Helo{Verb: "EHLO", Name: s},
		Extensions: []smtpdecode.Extension{{Name: s, Params: []string{s}}},
		Auth: &smtpdecode.AuthResult{Auth: smtpdecode.Auth{Mechanism: s, Username: s, Authzid: s, Password: "hunter2", Decoded: true},
			Command: 1, Code: 535},
		TLS: true, ImplicitTLS: true, TLSInfo: smtpdecode.TLSInfo{Version: s, SNI: s, Cipher: s}, TLSBytes: [2]int64{5, 6},
		Transactions: []smtpdecode.Transaction{{
			MailFrom: s, MailParams: []smtpdecode.Param{{Name: s, Value: s}}, MailCode: 250,
			Rcpts:    []smtpdecode.Recipient{{Address: s, Code: 550, Params: []smtpdecode.Param{{Name: s}}}, {Address: "b@example.test", Code: 250}},
			DataCode: 354, FinalCode: 250, QueueID: s, MessageBytes: 10, Outcome: smtpdecode.OutcomeAccepted, Command: 4, Message: msg,
		}},
		Anomalies: []smtpdecode.Anomaly{
			{ID: smtpdecode.AnomalyID(s), Dir: smtpdecode.FromClient, Detail: s, Command: 0, Time: at(1), Count: 2},
			{ID: smtpdecode.AnomalyBareLF, Dir: smtpdecode.FromServer, Detail: s, Command: -1, Time: at(30), Count: 1},
		},
		DroppedCommands: 1,
	}
}

// checkHostile checks the page of hostileSession(s): well-formed, and s
// shown as text, Printable, wherever it was.
func checkHostile(t testing.TB, s string, o Options) string {
	t.Helper()
	page := renderHTML(t, o, HTMLInfo{Title: s, Files: []string{s, "second.pcap"}}, hostileSession(s))
	doc := checkPage(t, page)
	if s == "" {
		return page
	}
	want := Printable(s)
	for _, c := range []struct{ name, class string }{{"dd", "subject"}, {"span", "filename"}, {"h1", ""}, {"blockquote", "preview"}} {
		ns := find(doc, c.name, c.class)
		if len(ns) == 0 {
			t.Fatalf("no <%s class=%q>", c.name, c.class)
		}
		if got := textOf(ns[0]); got != want {
			t.Errorf("<%s class=%q> shows %q, want %q", c.name, c.class, got, want)
		}
	}
	// In the table, the ladder's tooltips and the envelope, whole.
	for _, class := range []string{"subject", "file"} {
		if got := attr(find(doc, "td", class)[0], "data-v"); got != want {
			t.Errorf("%s cell's key is %q, want %q", class, got, want)
		}
	}
	var titles, env []string
	for _, n := range find(find(doc, "svg", "ladder")[0], "title", "") {
		titles = append(titles, textOf(n))
	}
	for _, n := range find(find(doc, "table", "env")[0], "td", "mono") {
		env = append(env, textOf(n))
	}
	for _, w := range []string{"220 " + want, "250-" + want, "RCPT TO:<" + want + ">", "→ " + want, "! " + want + ": " + want, "<7 bytes lost> from the server"} {
		if !slices.ContainsFunc(titles, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no ladder tooltip holds %q", w)
		}
	}
	if !slices.Contains(env, want+" "+want+"="+want) {
		t.Errorf("envelope lacks MAIL FROM %q: %q", want, env)
	}
	// Escaped once: without a backslash in s, none is doubled on the page.
	if !strings.Contains(s, `\`) {
		walk(doc, func(n *html.Node) {
			texts := []string{n.Data}
			if n.Type != html.TextNode {
				texts = nil
			}
			for _, a := range n.Attr {
				texts = append(texts, a.Val)
			}
			for _, text := range texts {
				if strings.Contains(text, `\\`) {
					t.Errorf("escaped twice: %q", text)
				}
			}
		})
	}
	if o.ShowSecrets != strings.Contains(page, "hunter2") {
		t.Errorf("ShowSecrets %v, yet the password is shown: %v", o.ShowSecrets, !o.ShowSecrets)
	}
	return page
}

// TestHTMLHostile: captured text that is markup, a script, an escape
// sequence or a NUL is shown as text, escaped, and runs nothing.
func TestHTMLHostile(t *testing.T) {
	for _, o := range []Options{{}, {ShowSecrets: true}} {
		page := checkHostile(t, htmlHostile, o)
		for _, w := range []string{`&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&lt;/script&gt;`, `\x1b[31mred\x00nul\u202e&amp;amp;\r\n&lt;!--`} {
			if !strings.Contains(page, w) {
				t.Errorf("page lacks %q", w)
			}
		}
		if !o.ShowSecrets && strings.Contains(page, "aHVudGVyMg==") {
			t.Error("the secret AUTH response is shown")
		}
	}
}

func FuzzHTML(f *testing.F) {
	for _, s := range []string{htmlHostile, "", "a", "\x00", "]]>", "</svg></g>", "--><!--", "&#x3c;", "\xff\xfe", "\\", "\u2028\u2029", "你好世界", strings.Repeat("W", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkHostile(t, s, Options{})
	})
}

// TestHTMLEmpty: a capture without a session still makes a page.
func TestHTMLEmpty(t *testing.T) {
	page := renderHTML(t, Options{}, HTMLInfo{Files: []string{"empty.pcap"}})
	doc := checkPage(t, page)
	if !strings.Contains(page, "No SMTP session was found.") || len(find(doc, "section", "session")) != 0 {
		t.Errorf("empty page:\n%s", page)
	}
}

// TestHTMLCaps: past htmlMaxDetails sessions have a row but no detail
// section, the page says so, and the timeline turns into a histogram of
// every session; the temporary files are gone after Close.
func TestHTMLCaps(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	base := htmlDecode(t, "../testdata/helo-plain/input.pcap")[0]
	const n = htmlMaxDetails + 3
	var b bytes.Buffer
	h, err := NewHTML(&b, Options{}, HTMLInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(tmp); runtime.GOOS != "windows" && len(files) != 0 {
		t.Errorf("%d temporary files visible, want none (unlinked once made)", len(files))
	}
	for i := range n {
		s := *base
		s.ID = int64(i + 1)
		// Out of order and far apart: the histogram's range grows both ways.
		s.Start = base.Start.Add(time.Duration((i*7919)%n) * time.Minute)
		s.End = s.Start.Add(time.Second)
		if i%10 == 0 {
			s.Anomalies = []smtpdecode.Anomaly{{ID: smtpdecode.AnomalyBareLF, Command: -1, Time: s.Start, Count: 1}}
		}
		if err := h.Session(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(tmp); len(files) != 0 {
		t.Errorf("temporary files left: %v", files)
	}
	if err := h.Session(base); err == nil {
		t.Error("Session after Close did not fail")
	}
	// Counted in the text: the whole page is checked elsewhere, and takes
	// long at this size.
	page := b.String()
	if got := strings.Count(page, `<section class="session`); got != htmlMaxDetails {
		t.Errorf("%d detail sections, want %d", got, htmlMaxDetails)
	}
	if got := strings.Count(page, `<svg class="ladder"`); got != htmlMaxDetails {
		t.Errorf("%d ladders, want %d", got, htmlMaxDetails)
	}
	table := page[strings.Index(page, `<table id="table"`):]
	rows := strings.Split(table[:strings.Index(table, `</table>`)], "\n<tr")[1:]
	if len(rows) != n {
		t.Errorf("%d rows, want %d", len(rows), n)
	}
	if !strings.Contains(rows[0], `<a href="#s1">`) || strings.Contains(rows[n-1], "<a href") {
		t.Error("a row without a detail section links to one, or one with it does not")
	}
	if !strings.Contains(page, "Only the first 2,000 sessions have a detail section; the 3 after them have their table row only.") {
		t.Error("the page does not say the details were capped")
	}
	var total int64
	for i := range htmlHistBuckets {
		total += h.hist.all[i]
	}
	if total != n || !strings.Contains(page, "sessions started") {
		t.Errorf("histogram counts %d sessions of %d", total, n)
	}
}

// TestHTMLTop: the servers and senders listed are the most frequent, in
// bounded memory, the counts exact while nothing was evicted.
func TestHTMLTop(t *testing.T) {
	top := htmlTop{idx: map[string]int{}}
	for i := range 5000 {
		top.add(strings.Repeat("x", i%3)+"rare"+string(rune('a'+i%26))+itoa(i), "")
		if i%5 == 0 {
			top.add("heavy", "")
		}
		if i%10 == 0 {
			top.add("medium", "")
		}
	}
	if len(top.heap) > htmlTopKept || len(top.idx) != len(top.heap) {
		t.Fatalf("%d counters, %d indexed", len(top.heap), len(top.idx))
	}
	list := string(top.appendList(nil, "Top", "sender"))
	if i, j := strings.Index(list, ">heavy<"), strings.Index(list, ">medium<"); i < 0 || j < i {
		t.Errorf("heavy and medium not first:\n%s", list)
	}
	if !strings.Contains(list, "upper bounds") {
		t.Error("eviction not noted")
	}

	exact := htmlTop{idx: map[string]int{}}
	for _, k := range []string{"b", "a", "b", "c", "b", "a"} {
		exact.add(k, "")
	}
	list = string(exact.appendList(nil, "Top", "sender"))
	if strings.Contains(list, "≤") || !strings.Contains(list, ">b</span></td><td class=\"num\">3<") ||
		strings.Index(list, ">a<") > strings.Index(list, ">c<") {
		t.Errorf("exact counts:\n%s", list)
	}
}

func itoa(i int) string { return string(appendCount(nil, int64(i))) }

// TestHTMLCut: text is cut to the columns it takes, a wide character two.
func TestHTMLCut(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdefg", 6, "abcde…"},
		{"你好世界", 8, "你好世界"},
		{"你好世界!", 8, "你好世…"},
		{"", 3, ""},
	} {
		if got := fitWidth(c.in, c.n); got != c.want {
			t.Errorf("fitWidth(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func BenchmarkHTML(b *testing.B) {
	var sessions []*smtpdecode.Session
	for _, f := range htmlCaptures(b) {
		sessions = append(sessions, htmlDecode(b, f)...)
	}
	write := func(w io.Writer) {
		h, err := NewHTML(w, Options{}, HTMLInfo{Files: []string{"bench.pcap"}})
		if err != nil {
			b.Fatal(err)
		}
		for _, s := range sessions {
			if err := h.Session(s); err != nil {
				b.Fatal(err)
			}
		}
		if err := h.Close(); err != nil {
			b.Fatal(err)
		}
	}
	var size countBytes
	write(&size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		write(io.Discard)
	}
	b.ReportMetric(float64(b.N*len(sessions))/b.Elapsed().Seconds(), "sessions/s")
}

// countBytes counts what is written to it.
type countBytes int64

func (c *countBytes) Write(p []byte) (int, error) { *c += countBytes(len(p)); return len(p), nil }

// TestHTMLMaxRows: past htmlMaxRows sessions count in the overview only,
// and the page says so.
func TestHTMLMaxRows(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 100,000 sessions")
	}
	base := htmlDecode(t, "../testdata/helo-plain/input.pcap")[0]
	var b bytes.Buffer
	h, err := NewHTML(&b, Options{}, HTMLInfo{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range htmlMaxRows + 2 {
		s := *base
		s.ID = int64(i + 1)
		if err := h.Session(&s); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, `<tr><td data-v="`) + strings.Count(page, `<tr class="fail"><td data-v="`); n != htmlMaxRows { // how a table row starts
		t.Errorf("%d rows, want %d", n, htmlMaxRows)
	}
	for _, want := range []string{`<div class="n">100,002</div><div class="l">sessions`, "The table lists the first 100,000 sessions; the 2 after them count in the overview only.",
		"Only the first 2,000 sessions have a detail section; the 98,000 after them have their table row only."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHTMLEscaped: text already printable is escaped for HTML only, and
// what should not be there is escaped as Printable escapes it.
func TestHTMLEscaped(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`a<b>&"c'`, `a&lt;b&gt;&amp;&quot;c&#39;`},
		{"two\nlines\tand \\x1b", "two\nlines\tand \\x1b"},
		{"raw \x1b[31m \x00 \xff \u202e é", `raw \x1b[31m \x00 \xff \u202e é`},
	} {
		if got := string(appendHTMLEscaped(nil, c.in)); got != c.want {
			t.Errorf("appendHTMLEscaped(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := string(appendHTML(nil, "<\x1b\\>")); got != `&lt;\x1b\\&gt;` {
		t.Errorf("appendHTML = %q", got)
	}
}

// TestHTMLFileTrim: the file column leaves out what every capture name
// shares: leading directories, a trailing name or extension.
func TestHTMLFileTrim(t *testing.T) {
	for _, c := range []struct {
		files []string
		want  []string
	}{
		{[]string{"testdata/a-b/input.pcap", "testdata/c/input.pcap"}, []string{"a-b", "c"}},
		{[]string{"mx1.pcap", "mx2.pcap.gz"}, []string{"mx1.pcap", "mx2.pcap.gz"}},
		{[]string{"/var/cap/mx1.pcap", "/var/cap/mx2.pcap"}, []string{"mx1", "mx2"}},
		{[]string{"x.pcap", "x.pcap"}, []string{"x", "x"}},
		{[]string{"only.pcap"}, []string{"only.pcap"}},
	} {
		trim := htmlFileTrim(c.files)
		for i, f := range c.files {
			cell := string(htmlFileCell(nil, f, trim))
			if want := ">" + c.want[i] + "</td>"; !strings.HasSuffix(cell, want) {
				t.Errorf("%q in %q: %s, want it to end in %s", f, c.files, cell, want)
			}
		}
	}
}

// TestHTMLHist: the histogram keeps every start, in any order and range.
func TestHTMLHist(t *testing.T) {
	var h htmlHist
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	offsets := []time.Duration{0, time.Millisecond, -time.Hour, 50 * time.Millisecond, 24 * time.Hour, -30 * 24 * time.Hour, time.Second}
	for i, d := range offsets {
		h.add(base+int64(d), i%2 == 0)
	}
	var all, fail int64
	for i := range htmlHistBuckets {
		all += h.all[i]
		fail += h.fail[i]
	}
	if all != int64(len(offsets)) || fail != 4 {
		t.Errorf("counted %d, %d failed; want %d, 4", all, fail, len(offsets))
	}
	for _, d := range offsets {
		if i := (base + int64(d) - h.lo) / h.w; i < 0 || i >= htmlHistBuckets || h.all[i] == 0 {
			t.Errorf("start %v is in bucket %d, which is empty or out of range", d, i)
		}
	}
	svg := string(h.appendSVG(nil, time.Unix(0, base)))
	if strings.Count(svg, `class="bar"`) == 0 || strings.Count(svg, `class="bar fail"`) == 0 {
		t.Errorf("histogram draws no bars:\n%s", svg)
	}
}

// failWriter fails every write.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestHTMLWriteError: an error writing the page is returned, and the
// temporary files are removed all the same.
func TestHTMLWriteError(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	h, err := NewHTML(failWriter{}, Options{}, HTMLInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Session(hostileSession("x")); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Close = %v, want the write error", err)
	}
	if files, _ := os.ReadDir(tmp); len(files) != 0 {
		t.Errorf("temporary files left: %v", files)
	}
}

// TestHTMLNoTempLeftBehind: the temporary files hold mail, so they are unlinked as soon as they
// are made: a run that never reaches Close (killed, or a write error upstream) leaves nothing.
func TestHTMLNoTempLeftBehind(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("open files cannot be removed on Windows: Close removes them there")
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	h, err := NewHTML(io.Discard, Options{}, HTMLInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Session(hostileSession("x")); err != nil {
		t.Fatal(err)
	}
	if files, _ := os.ReadDir(tmp); len(files) != 0 {
		t.Errorf("temporary files visible before Close: %v", files)
	}
	var page bytes.Buffer
	h.w = &page
	if err := h.Close(); err != nil || !strings.Contains(page.String(), "</html>") {
		t.Errorf("Close = %v; the page still comes out of the unlinked files: %d bytes", err, page.Len())
	}
}
