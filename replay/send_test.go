package replay

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// tlsMessage is what --message sends where the capture is encrypted.
const tlsMessage = "From: alice@smtpscope.test\nTo: bob@smtpscope.test\nSubject: sent inside TLS\n\n.a line with a leading dot\nbye\n"

func messageFile(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "message.eml")
	if err := os.WriteFile(f, []byte(tlsMessage), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func crlfOf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// TestSendRecordedCaptures replays the client side of every recorded
// capture against go-smtp's server and checks that it takes each reply
// code the capture shows and receives each message byte for byte. go-smtp
// answers with the same codes as the recorded servers (aiosmtpd, Postfix)
// for everything these captures do, rset-multi's 550 included (the backend
// refuses nobody@ as Postfix did), so no capture needs --lenient.
func TestSendRecordedCaptures(t *testing.T) {
	for _, c := range recordedCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, withTLS(testTLS(t)))
			env := map[string]string{"SMTP_PASSWORD": testPassword}
			args := []string{"--addr", ts.addr, "--timeout", "20s"}
			want := expectedMessages(c.s)
			switch c.name {
			case "auth-failed":
				env["SMTP_PASSWORD"] = "wrong-pass" // the capture's 535 is expected
			case "starttls":
				args = append(args, "--insecure", "--from", "alice@smtpscope.test", "--to", "bob@smtpscope.test", "--message", messageFile(t))
				want = [][]byte{[]byte(crlfOf(tlsMessage))}
			}
			r := runProgram(t, c.name, env, args...)
			if r.code != 0 {
				t.Fatalf("the replay failed:\n%s", r)
			}
			got := ts.received()
			if len(got) != len(want) {
				t.Fatalf("the server received %d messages, want %d\n%s", len(got), len(want), r)
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("message %d differs from the captured one:\n got %q\nwant %q", i+1, got[i], want[i])
				}
			}
			if c.s.Auth != nil && c.s.Auth.Success {
				if a := ts.authenticated(); len(a) != 1 || a[0] != c.s.Auth.Mechanism+" "+testUser {
					t.Errorf("the server saw AUTH %q, want %s as %s", a, c.s.Auth.Mechanism, testUser)
				}
			}
		})
	}
}

// TestSendStartTLSWithoutFlags: inside TLS the capture shows nothing; the
// program says so and stops after EHLO.
func TestSendStartTLSWithoutFlags(t *testing.T) {
	ts := startServer(t, withTLS(testTLS(t)))
	r := runProgram(t, "starttls", nil, "--addr", ts.addr, "--insecure", "--verbose")
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{"replay: stopped: the capture is encrypted after STARTTLS", "give --from, --to and --message"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
	for _, want := range []string{"C: STARTTLS\n", "S: 220 ", "# TLS: TLS 1.3", "C: EHLO client.smtpscope.test\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
}

// TestSendStartTLSChecksCertificate: without --insecure the self-signed
// certificate is refused.
func TestSendStartTLSChecksCertificate(t *testing.T) {
	ts := startServer(t, withTLS(testTLS(t)))
	r := runProgram(t, "starttls", nil, "--addr", ts.addr, "--from", "a@b", "--to", "c@d", "--message", messageFile(t))
	if r.code != 1 || !strings.Contains(r.stderr, "TLS handshake") || !strings.Contains(r.stderr, "certificate") {
		t.Fatalf("want a certificate error:\n%s", r)
	}
}

// TestSendImplicitTLS: a session encrypted from the start.
func TestSendImplicitTLS(t *testing.T) {
	cfg := testTLS(t)
	ts := startServer(t, withTLS(cfg))
	// Serve TLS from the start on a second listener.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	startServerOn(t, ts, ln)
	r := runProgram(t, "implicit-tls", nil, "--addr", ln.Addr().String(), "--insecure", "--from", "alice@smtpscope.test", "--to", "bob@smtpscope.test", "--message", messageFile(t))
	if r.code != 0 {
		t.Fatalf("the replay failed:\n%s", r)
	}
	if got := ts.received(); len(got) != 1 || string(got[0]) != crlfOf(tlsMessage) {
		t.Fatalf("received %q", got)
	}
}

// implicitTLSSession is what the decoder makes of a port-465 session: TLS
// from the start, nothing readable.
func implicitTLSSession() *smtpdecode.Session {
	return &smtpdecode.Session{
		ID:          4,
		Client:      netip.MustParseAddrPort("192.0.2.7:50000"),
		Server:      netip.MustParseAddrPort("192.0.2.25:465"),
		Start:       time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		TLS:         true,
		ImplicitTLS: true,
		TLSInfo:     smtpdecode.TLSInfo{SNI: "mail.smtpscope.test"},
	}
}

// TestSendMismatch: a reply that differs stops the replay with the
// command, the captured and the received reply; --lenient goes on.
func TestSendMismatch(t *testing.T) {
	ts := startServer(t, withRejected("bob@smtpscope.test"))
	r := runProgram(t, "pipelining", nil, "--addr", ts.addr)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	for _, want := range []string{
		"replay: stopped: the reply to RCPT TO:<bob@smtpscope.test> differs from the capture",
		"  sent:     RCPT TO:<bob@smtpscope.test>\n",
		"  captured: 250 2.1.5 Ok\n",
		"  received: 550 5.1.1 <bob@smtpscope.test>: Recipient address rejected",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
	if got := ts.received(); len(got) != 0 {
		t.Errorf("a message was sent after the mismatch")
	}

	ts = startServer(t, withRejected("bob@smtpscope.test"))
	r = runProgram(t, "pipelining", nil, "--addr", ts.addr, "--lenient")
	if r.code != 0 {
		t.Fatalf("--lenient: want exit 0:\n%s", r)
	}
	if !strings.Contains(r.stderr, "received: 550") || !strings.Contains(r.stderr, "replay: 1 reply differed from the capture (--lenient)") {
		t.Errorf("--lenient does not report the mismatch:\n%s", r)
	}
	if got, rc := ts.received(), ts.recipients(); len(got) != 1 || len(rc[0]) != 1 || rc[0][0] != "carol@smtpscope.test" {
		t.Errorf("--lenient: the message did not go to carol alone: %q %q", got, rc)
	}
}

// TestSendLenientSkipsRefusedData: with --lenient, message content is not
// sent when the server refused DATA.
func TestSendLenientSkipsRefusedData(t *testing.T) {
	ts := startServer(t, withRejected("bob@smtpscope.test"))
	r := runProgram(t, "auth-login-nc", map[string]string{"SMTP_PASSWORD": testPassword}, "--addr", ts.addr, "--lenient")
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	for _, want := range []string{"received: 550", "received: 502", "replay: not sending the message: the server answered 502, not 354", "replay: 2 replies differed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r)
		}
	}
}

// TestSendDryRun prints what would be sent without connecting, credentials
// masked.
func TestSendDryRun(t *testing.T) {
	r := runProgram(t, "leading-dot", nil, "--dry-run", "--addr", "192.0.2.1:25")
	if r.code != 0 {
		t.Fatalf("the dry run failed:\n%s", r)
	}
	for _, want := range []string{
		"# dry run: what would be sent to 192.0.2.1:25\n",
		"C: ehlo client.smtpscope.test\n   expects 250-mail.smtpscope.test\n",
		`C: ..The first body line starts with a dot.\r\n` + "\n",
		`C: ....\r\n` + "\n",
		`C: > .\r\n` + "\n",
		`C: The last line of this body is a lone dot.\r\n` + "\nC: ..\\r\\n\nC: .\\r\\n\n   expects 250 2.0.0 Ok: queued as",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	r = runProgram(t, "auth-plain", nil, "--dry-run")
	if r.code != 0 {
		t.Fatalf("the dry run failed:\n%s", r)
	}
	if !strings.Contains(r.stdout, "C: AUTH PLAIN <AUTH PLAIN credentials, not shown>\n   expects 235 2.7.0") {
		t.Errorf("AUTH PLAIN is not shown masked:\n%s", r)
	}
	if !strings.Contains(r.stdout, "to 127.0.0.1:587") {
		t.Errorf("the default --addr is not the captured server:\n%s", r)
	}
}

// TestSendVerbose prints the conversation, credentials masked.
func TestSendVerbose(t *testing.T) {
	ts := startServer(t)
	r := runProgram(t, "auth-login-nc", map[string]string{"SMTP_PASSWORD": testPassword}, "--addr", ts.addr, "--verbose")
	if r.code != 0 {
		t.Fatalf("the replay failed:\n%s", r)
	}
	for _, want := range []string{
		"S: 220 mail.smtpscope.test ESMTP Service Ready\n",
		"C: EHLO client.smtpscope.test\nS: 250-Hello client.smtpscope.test\n",
		"C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\n",
		`C: <user name: "whb">` + "\nS: 334 UGFzc3dvcmQ6\n",
		"C: <password, not shown>\nS: 235 2.0.0 Authentication succeeded\n",
		"C: <message: 149 bytes>\nS: 250 2.0.0 OK: queued\n",
		"C: QUIT\nS: 221 2.0.0 Bye\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "czNjcmV0") || strings.Contains(r.stdout+r.stderr, testPassword) {
		t.Errorf("the password is shown:\n%s", r)
	}
}

// TestSendCredentialsFromEnvironment: without SMTP_PASSWORD the program
// does not start; SMTP_USERNAME replaces the captured user name.
func TestSendCredentialsFromEnvironment(t *testing.T) {
	for _, name := range []string{"auth-plain", "auth-login-nc", "auth-cram-md5"} {
		r := runProgram(t, name, nil, "--addr", "127.0.0.1:1")
		if r.code != 2 || !strings.Contains(r.stderr, `set SMTP_PASSWORD: the captured AUTH`) || !strings.Contains(r.stderr, `(default "whb")`) {
			t.Errorf("%s without SMTP_PASSWORD: want exit 2 and a clear message:\n%s", name, r)
		}
		ts := startServer(t)
		r = runProgram(t, name, map[string]string{"SMTP_USERNAME": "mallory", "SMTP_PASSWORD": testPassword}, "--addr", ts.addr)
		if r.code != 1 || !strings.Contains(r.stderr, "received: 535") {
			t.Errorf("%s with another user: want the server's 535:\n%s", name, r)
		}
	}
}

// TestSendEmbeddedSecrets: generated with the secrets, the program sends
// them as captured; a CRAM-MD5 response is sent as captured only to the
// captured challenge.
func TestSendEmbeddedSecrets(t *testing.T) {
	for _, name := range []string{"auth-plain-embedded", "auth-login-nc-embedded"} {
		ts := startServer(t)
		if r := runProgram(t, name, nil, "--addr", ts.addr); r.code != 0 {
			t.Errorf("%s: %s", name, r)
		}
	}
	ts := startServer(t, withChallenge("<1896.697170952@mail.smtpscope.test>"))
	if r := runProgram(t, "auth-cram-md5-embedded", nil, "--addr", ts.addr); r.code != 0 {
		t.Errorf("CRAM-MD5, captured challenge: %s", r)
	}
	ts = startServer(t)
	r := runProgram(t, "auth-cram-md5-embedded", nil, "--addr", ts.addr)
	if r.code != 1 || !strings.Contains(r.stderr, "the server's CRAM-MD5 challenge differs from the captured one: set SMTP_PASSWORD") {
		t.Errorf("CRAM-MD5, another challenge: want a clear stop: %s", r)
	}
	ts = startServer(t)
	if r := runProgram(t, "auth-cram-md5-embedded", map[string]string{"SMTP_PASSWORD": testPassword}, "--addr", ts.addr); r.code != 0 {
		t.Errorf("CRAM-MD5, another challenge, SMTP_PASSWORD: %s", r)
	}
}

// TestSendOtherMechanism: XOAUTH2 cannot be computed again: the program
// stops there, unless generated with the secrets, which it then sends.
func TestSendOtherMechanism(t *testing.T) {
	ts := startServer(t)
	r := runProgram(t, "xoauth2", nil, "--addr", ts.addr)
	if r.code != 1 || !strings.Contains(r.stderr, "replay: stopped: cannot compute the AUTH XOAUTH2 response: only LOGIN, PLAIN and CRAM-MD5") {
		t.Errorf("want a clear stop:\n%s", r)
	}
	ts = startServer(t)
	r = runProgram(t, "xoauth2-embedded", nil, "--addr", ts.addr)
	if a := ts.authenticated(); r.code != 0 || len(a) != 1 || a[0] != "XOAUTH2 whb" {
		t.Errorf("embedded: want the captured XOAUTH2 response accepted (%q):\n%s", a, r)
	}
}

// TestSendAllAtOnce: a client that wrote everything at once is replayed as
// one batch: every line is written before any reply is read.
func TestSendAllAtOnce(t *testing.T) {
	r := runProgram(t, "nc-all-at-once", nil, "--dry-run")
	want := "C: HELO nc.example.com\nC: MAIL FROM:<alice@example.com>\nC: RCPT TO:<bob@example.com>\nC: DATA\n" +
		`C: Subject: all at once\r\n` + "\n" + `C: \r\n` + "\n" + `C: hi\r\n` + "\n" + `C: .\r\n` + "\nC: QUIT\n   expects 250 mail.example.com\n"
	if !strings.Contains(r.stdout, want) {
		t.Errorf("not one batch:\n%s", r)
	}
	ts := startServer(t)
	r = runProgram(t, "nc-all-at-once", nil, "--addr", ts.addr)
	if got := ts.received(); r.code != 0 || len(got) != 1 || string(got[0]) != "Subject: all at once\r\n\r\nhi\r\n" {
		t.Errorf("received %q:\n%s", got, r)
	}
}

// TestSendFreshHeaders: --fresh-headers changes only the Date and
// Message-ID lines (and BDAT's chunk size with them).
func TestSendFreshHeaders(t *testing.T) {
	dateRE := regexp.MustCompile(`(?m)^Date: .*\r$`)
	idRE := regexp.MustCompile(`(?mi)^Message-Id: .*\r$`)
	blank := func(b []byte) string {
		s := dateRE.ReplaceAllString(string(b), "Date: -\r")
		return idRE.ReplaceAllString(s, "Message-ID: -\r")
	}
	for _, name := range []string{"auth-plain", "bdat", "leading-dot"} {
		c := recordedByName(t, name)
		ts := startServer(t)
		r := runProgram(t, name, map[string]string{"SMTP_PASSWORD": testPassword}, "--addr", ts.addr, "--fresh-headers")
		got, want := ts.received(), expectedMessages(c.s)
		if r.code != 0 || len(got) != 1 {
			t.Fatalf("%s: %s", name, r)
		}
		if bytes.Equal(got[0], want[0]) {
			t.Errorf("%s: the headers are not new", name)
		}
		if blank(got[0]) != blank(want[0]) {
			t.Errorf("%s: more than Date and Message-ID changed:\n got %q\nwant %q", name, got[0], want[0])
		}
		if !regexp.MustCompile(`(?mi)^Message-Id: <[0-9a-f]{24}@client\.smtpscope\.test>\r$`).Match(got[0]) {
			t.Errorf("%s: the new Message-ID is not in the old one's domain: %q", name, got[0])
		}
	}
}

// startServerOn serves ts's backend on another listener too.
func startServerOn(t *testing.T, ts *testServer, ln net.Listener) {
	t.Helper()
	srv := newGoSMTP(ts)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}
