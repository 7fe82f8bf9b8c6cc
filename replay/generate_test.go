package replay

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

func generate(t *testing.T, s *smtpdecode.Session, o Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, s, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGenerateKeepsSecrets: without EmbedSecrets no credential of the
// capture is in either source, in any form; with it they are, under a
// warning.
func TestGenerateKeepsSecrets(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	secrets := map[string][]string{
		"auth-plain":    {testPassword, b64([]byte(testPassword)), "AHdoYgBzM2NyZXQtcGFzcw==", b64([]byte("\x00whb\x00" + testPassword))},
		"auth-login-nc": {testPassword, b64([]byte(testPassword))},
		"auth-failed":   {"wrong-pass", b64([]byte("wrong-pass"))},
		"auth-cram-md5": {"09e29da779fc3f5e67a992d726ef095b", "d2hiIDA5ZTI5ZGE3NzlmYzNmNWU2N2E5OTJkNzI2ZWYwOTVi"},
	}
	for name, ss := range secrets {
		c := recordedByName(t, name)
		for _, fixture := range []bool{false, true} {
			src := generate(t, c.s, Options{Capture: c.path, Fixture: fixture})
			for _, secret := range ss {
				if strings.Contains(src, secret) {
					t.Errorf("%s (fixture %v): the source holds %q", name, fixture, secret)
				}
			}
			if strings.Contains(src, "WARNING") {
				t.Errorf("%s: a warning without secrets", name)
			}
			if !strings.Contains(src, `"whb"`) {
				t.Errorf("%s: the user name, the default for SMTP_USERNAME, is missing", name)
			}
			src = generate(t, c.s, Options{Capture: c.path, Fixture: fixture, EmbedSecrets: true})
			if !strings.HasPrefix(src, "// WARNING: this file holds the AUTH credentials captured in this session\n") {
				t.Errorf("%s: embedded secrets without the warning at the top:\n%.300s", name, src)
			}
			found := false
			for _, secret := range ss {
				found = found || strings.Contains(src, secret)
			}
			if !found {
				t.Errorf("%s (fixture %v): EmbedSecrets left the secret out", name, fixture)
			}
		}
	}
	// A session without AUTH has nothing to warn about.
	c := recordedByName(t, "pipelining")
	if src := generate(t, c.s, Options{EmbedSecrets: true}); strings.Contains(src, "WARNING") {
		t.Error("a warning for a session without credentials")
	}
}

// TestGenerateHeader: the source starts with a comment naming the capture,
// the session and what it replays; the capture's name cannot end it.
func TestGenerateHeader(t *testing.T) {
	c := recordedByName(t, "auth-login-nc")
	src := generate(t, c.s, Options{Capture: "x.pcap"})
	want := `// This program replays session 1 of capture "x.pcap":
// 127.0.0.1:60920 -> 127.0.0.1:587, begun 2026-11-22 00:26:42.707335 UTC.
// It replays: "EHLO, AUTH LOGIN as whb, 1 message from alice@smtpscope.test to 1 recipient (146 bytes), QUIT"
`
	if !strings.HasPrefix(src, want) {
		t.Errorf("header:\n%.400s\nwant prefix:\n%s", src, want)
	}
	src = generate(t, c.s, Options{Capture: "evil */\npackage x\n`", Fixture: true})
	if !strings.HasPrefix(src, "// This test fixture plays the server side of session 1 of capture \"evil */\\npackage x\\n`\":\n") {
		t.Errorf("header:\n%.300s", src)
	}
	checkSource(t, []byte(src), true, "fixture")
}

func TestGeneratePackage(t *testing.T) {
	c := recordedByName(t, "auth-plain")
	if src := generate(t, c.s, Options{Fixture: true}); !strings.Contains(src, "\npackage fixture\n") {
		t.Error("the default package is not fixture")
	}
	if src := generate(t, c.s, Options{Fixture: true, Package: "mail_test"}); !strings.Contains(src, "\npackage mail_test\n") {
		t.Error("the package option is not used")
	}
	for _, bad := range []string{"a-b", "func", "_", "1x", "a b", "x\n"} {
		err := Generate(&bytes.Buffer{}, c.s, Options{Fixture: true, Package: bad})
		if !errors.Is(err, ErrPackageName) {
			t.Errorf("Package %q: %v", bad, err)
		}
	}
	if src := generate(t, c.s, Options{Package: "ignored"}); !strings.Contains(src, "\npackage main\n") {
		t.Error("the send program is not package main")
	}
	if err := Generate(&bytes.Buffer{}, nil, Options{}); err == nil {
		t.Error("no error for a nil session")
	}
}

// TestGenerateAddr: Options.Addr replaces the captured server as the
// default --addr; an IPv6 server is bracketed.
func TestGenerateAddr(t *testing.T) {
	c := recordedByName(t, "ipv6-swaks")
	if src := generate(t, c.s, Options{}); !strings.Contains(src, `capturedServer = "[::1]:25"`) {
		t.Error("the captured IPv6 server is not the default")
	}
	if src := generate(t, c.s, Options{Addr: "mx.example.com:2525"}); !strings.Contains(src, `capturedServer = "mx.example.com:2525"`) {
		t.Error("Options.Addr is not the default")
	}
}

func TestGenerateDeterministic(t *testing.T) {
	for _, c := range recordedCaptures(t) {
		for _, fx := range []bool{false, true} {
			o := Options{Capture: c.path, Fixture: fx}
			first, second := generate(t, c.s, o), generate(t, c.s, o)
			if first != second {
				t.Errorf("%s: two runs differ", c.name)
			}
		}
	}
}

// TestGenerateNoRawStrings: captured bytes enter only as quoted literals:
// there is no raw string literal in any generated source (checkSource),
// and the hostile session declares nothing.
func TestGenerateNoRawStrings(t *testing.T) {
	for _, s := range []*smtpdecode.Session{hostileSession(), allAtOnceSession(), xoauth2Session()} {
		for _, fx := range []bool{false, true} {
			src := generate(t, s, Options{Fixture: fx, EmbedSecrets: true})
			pkg := "main"
			if fx {
				pkg = "fixture"
			}
			checkSource(t, []byte(src), fx, pkg)
		}
	}
}

// TestPlanBatches: pipelined turns (same time, no reply between) are one
// batch; a CRAM-MD5 response never joins one.
func TestPlanBatches(t *testing.T) {
	for _, tc := range []struct {
		capture string
		want    string // each turn: kind and batch flag
	}{
		{"pipelining", "command command command+ command+ command+ message command"},
		{"any-sll2", "command command command command+ message command"},
		{"auth-cram-md5", "command command authCRAM command command command message command"},
		{"auth-plain", "command authPlain command command command message command"},
		{"auth-login-nc", "command command authUser authPass command command command message command"},
		{"bdat", "command command command chunk chunk command"},
		{"starttls", "command startTLS command unknown"},
	} {
		p := newPlan(recordedByName(t, tc.capture).s)
		var got []string
		for _, tu := range p.turns {
			k := tu.kind.String()
			if tu.batch {
				k += "+"
			}
			got = append(got, k)
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.capture, g, tc.want)
		}
	}
	p := newPlan(allAtOnceSession())
	for i, tu := range p.turns {
		if tu.batch != (i > 0) {
			t.Errorf("all at once: turn %d batch %v", i, tu.batch)
		}
	}
}

// TestPlanIncomplete: what the capture does not hold is not replayed.
func TestPlanIncomplete(t *testing.T) {
	// A message cut by the end of the capture.
	s := decodeTranscript(
		server(0, "220 x\r\n"),
		client(time.Millisecond, "EHLO a\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n"),
		server(2*time.Millisecond, "250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		client(3*time.Millisecond, "Subject: cut\r\n\r\nand the capture end"),
	)
	p := newPlan(s)
	last := p.turns[len(p.turns)-1]
	if last.kind != kindUnknownMessage || last.why != "the capture ends before this message does" {
		t.Errorf("last turn %v %q", last.kind, last.why)
	}
	// A message kept only in part (decoded with a small MaxData).
	m := &smtpdecode.Message{Data: []byte("abc"), Bytes: 10, Terminated: true}
	if got := partialWhy(m); got != "the capture kept 3 of this message's 10 bytes (decode it with a larger MaxData)" {
		t.Errorf("partialWhy: %q", got)
	}
	// Turns past MaxCommands.
	s = recordedByName(t, "auth-plain").s
	cut := *s
	cut.Commands = cut.Commands[:3]
	cut.DroppedCommands = 4
	p = newPlan(&cut)
	if last := p.turns[len(p.turns)-1]; last.kind != kindUnknown || !strings.Contains(last.why, "not the 4 after them") {
		t.Errorf("dropped: %v %q", last.kind, last.why)
	}
}

func TestDescribe(t *testing.T) {
	want := map[string]string{
		"auth-failed":      "EHLO, AUTH LOGIN as whb (refused: 535), QUIT",
		"auth-cram-md5":    "EHLO, AUTH CRAM-MD5 as whb, 1 message from alice@smtpscope.test to 1 recipient (231 bytes), QUIT",
		"multi-rcpt":       "EHLO, 1 message from alice@smtpscope.test to 3 recipients (273 bytes), QUIT",
		"rset-multi":       "EHLO, MAIL from alice@smtpscope.test to 1 recipient, no message (aborted), RSET, 1 message from alice@smtpscope.test to 2 of 3 recipients (295 bytes), QUIT",
		"starttls":         "EHLO, STARTTLS, then TLS (the rest cannot be read)",
		"mime-attachments": "EHLO, 1 message from alice@smtpscope.test to 1 recipient (5.4 KB), QUIT",
		"helo-plain":       "HELO, 1 message from alice@smtpscope.test to 1 recipient (272 bytes), QUIT",
	}
	for _, c := range recordedCaptures(t) {
		if w, ok := want[c.name]; ok {
			if got := Describe(c.s); got != w {
				t.Errorf("%s:\n got %s\nwant %s", c.name, got, w)
			}
		}
	}
	for _, tc := range []struct {
		s    *smtpdecode.Session
		want string
	}{
		{nil, "nothing"},
		{&smtpdecode.Session{}, "nothing (the client sent no command)"},
		{implicitTLSSession(), "TLS from the start (nothing readable)"},
		{xoauth2Session(), "EHLO, AUTH XOAUTH2 as whb, QUIT"},
		{hostileSession(), `EHLO, 1 message from "a*/b"@example.com to 1 recipient (100 bytes), QUIT`},
		{decodeTranscript(server(0, "220 x\r\n"), client(time.Millisecond, "NOOP\r\nNOOP\r\nNOOP\r\nX\x1b[2J\r\n"), server(2*time.Millisecond, "250 a\r\n250 b\r\n250 c\r\n500 no\r\n")),
			`NOOP ×3, X\x1b[2J`},
		{twoMessages(), "EHLO, 2 messages from alice@example.com to 3 recipients (10 bytes), QUIT"},
	} {
		if got := Describe(tc.s); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func twoMessages() *smtpdecode.Session {
	return decodeTranscript(
		server(0, "220 x\r\n"),
		client(1*time.Millisecond, "EHLO a\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<a@example.com>\r\nDATA\r\n"),
		server(2*time.Millisecond, "250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		client(3*time.Millisecond, "one\r\n.\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n"),
		server(4*time.Millisecond, "250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n"),
		client(5*time.Millisecond, "two\r\n.\r\nQUIT\r\n"),
		server(6*time.Millisecond, "250 ok\r\n221 bye\r\n"),
	)
}

func ExampleDescribe() {
	s := decodeTranscript(
		server(0, "220 mail.example.com ESMTP\r\n"),
		client(1*time.Millisecond, "EHLO laptop\r\n"),
		server(2*time.Millisecond, "250-mail.example.com\r\n250 AUTH PLAIN\r\n"),
		client(3*time.Millisecond, "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"),
		server(4*time.Millisecond, "235 2.7.0 ok\r\n"),
		client(5*time.Millisecond, "MAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<carol@example.com>\r\nDATA\r\n"),
		server(6*time.Millisecond, "250 ok\r\n250 ok\r\n550 no such user\r\n354 go on\r\n"),
		client(7*time.Millisecond, "Subject: hi\r\n\r\nHello.\r\n.\r\nQUIT\r\n"),
		server(8*time.Millisecond, "250 queued\r\n221 bye\r\n"),
	)
	fmt.Println(Describe(s))
	// Output: EHLO, AUTH PLAIN as alice, 1 message from alice@example.com to 1 of 2 recipients (23 bytes), QUIT
}
