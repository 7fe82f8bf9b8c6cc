package replay

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

//go:embed testdata/fixturedriver/driver_test.go.txt
var fixtureDriver []byte

// driverCase is testdata/fixturedriver's testCase.
type driverCase struct {
	Name     string
	Program  string
	Env      map[string]string
	Args     []string
	Password string
	Messages [][]byte
	Ops      []driverOp
	Skip     string
}

type driverOp struct {
	Op   string
	Arg  string `json:",omitempty"`
	Data []byte `json:",omitempty"`
	Mech string `json:",omitempty"`
	User string `json:",omitempty"`
	Pass string `json:",omitempty"`
	Fail bool   `json:",omitempty"`
}

// TestFixtures generates the fixture of every recorded capture (and of the
// hostile session) into a module, with a driver test that plays each
// against net/smtp and against the generated send program, checks that a
// wrong recipient fails with a diff naming it, and exercises the options;
// then runs `go vet` and `go test` on that module.
func TestFixtures(t *testing.T) {
	m := builtPrograms(t) // the send programs the driver runs
	dir, err := os.MkdirTemp(tempRoot, "fixtures")
	if err != nil {
		t.Fatal(err)
	}
	if err := writeModule(dir); err != nil {
		t.Fatal(err)
	}
	msgFile := filepath.Join(dir, "driver", "message.eml")
	var cases []driverCase
	var registry bytes.Buffer
	registry.WriteString("package driver\n\nimport (\n\t\"testing\"\n\n")
	var entries bytes.Buffer
	add := func(name string, s *smtpdecode.Session, c driverCase) {
		pkg := "fx" + regexp.MustCompile(`[^a-z0-9]`).ReplaceAllString(name, "")
		var src bytes.Buffer
		o := Options{Capture: name, Fixture: true, Package: pkg, EmbedSecrets: strings.HasSuffix(name, "-embedded")}
		if err := Generate(&src, s, o); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, pkg, "fixture.go"), src.Bytes())
		fmt.Fprintf(&registry, "\t%s %q\n", pkg, "replaytest/"+pkg)
		fmt.Fprintf(&entries, `	%q: func(t testing.TB, o fixtureOpts) server {
		var opts []%[2]s.FixtureOption
		if o.ignoreHelo {
			opts = append(opts, %[2]s.IgnoreHeloName())
		}
		if o.ignoreHeaders {
			opts = append(opts, %[2]s.IgnoreDateAndMessageID())
		}
		if o.ignoreRcptOrder {
			opts = append(opts, %[2]s.IgnoreRcptOrder())
		}
		if o.ignoreParams {
			opts = append(opts, %[2]s.IgnoreParams())
		}
		if o.password != "" {
			opts = append(opts, %[2]s.WithPassword(o.password))
		}
		s := %[2]s.StartCapturedServer(t, opts...)
		return server{addr: s.Addr, tls: s.ClientTLSConfig, wait: func() transcript {
			tr := s.Wait()
			return transcript{commands: tr.Commands, messages: tr.Messages, diff: tr.Diff}
		}}
	},
`, name, pkg)
		c.Name = name
		cases = append(cases, c)
	}
	for _, rc := range recordedCaptures(t) {
		c := driverCase{Program: rc.name, Password: testPassword, Messages: expectedMessages(rc.s)}
		if rc.name == "auth-failed" {
			c.Password = "wrong-pass"
		}
		if rc.s.Auth != nil {
			c.Env = map[string]string{"SMTP_PASSWORD": c.Password}
		} else {
			c.Password = ""
		}
		if rc.s.TLS {
			c.Args = []string{"--insecure", "--from", "alice@smtpscope.test", "--to", "bob@smtpscope.test", "--message", msgFile}
			c.Messages = [][]byte{[]byte(crlfOf(tlsMessage))}
		}
		c.Ops, c.Skip = netSMTPOps(rc.s, c.Password)
		add(rc.name, rc.s, c)
		switch rc.name {
		case "auth-plain", "auth-login-nc", "auth-cram-md5":
			// The fixture holds the captured password (or digest) and
			// checks it without WithPassword.
			c.Password = ""
			add(rc.name+"-embedded", rc.s, c)
		}
	}
	add("hostile", hostileSession(), driverCase{Program: "hostile", Messages: [][]byte{hostileBody()}, Skip: "its EHLO name and message need bytes net/smtp refuses or rewrites"})
	add("implicit-tls", implicitTLSSession(), driverCase{Program: "implicit-tls",
		Args:     []string{"--insecure", "--from", "alice@smtpscope.test", "--to", "bob@smtpscope.test", "--message", msgFile},
		Messages: [][]byte{[]byte(crlfOf(tlsMessage))}, Skip: "net/smtp does not dial TLS"})
	add("xoauth2", xoauth2Session(), driverCase{Program: "xoauth2-embedded", Skip: "net/smtp has no XOAUTH2"})
	registry.WriteString(")\n\nvar fixtures = map[string]func(testing.TB, fixtureOpts) server{\n")
	registry.Write(entries.Bytes())
	registry.WriteString("}\n")
	writeFile(t, filepath.Join(dir, "driver", "fixtures_test.go"), registry.Bytes())
	writeFile(t, filepath.Join(dir, "driver", "driver_test.go"), fixtureDriver)
	writeFile(t, msgFile, []byte(tlsMessage))
	js, err := json.MarshalIndent(cases, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "driver", "cases.json"), js)

	// The default package name, as a _test.go helper beside a test that
	// uses it.
	plain := recordedByName(t, "auth-plain")
	var src bytes.Buffer
	if err := Generate(&src, plain.s, Options{Capture: plain.path, Fixture: true}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "fixture", "captured_test.go"), src.Bytes())
	writeFile(t, filepath.Join(dir, "fixture", "message.eml"), expectedMessages(plain.s)[0])
	writeFile(t, filepath.Join(dir, "fixture", "sendmail_test.go"), []byte(sendMailTest))

	if out, err := goTool(dir, "vet", "./..."); err != nil {
		t.Fatalf("go vet of the generated fixtures: %v\n%s", err, out)
	}
	cmd := exec.Command("go", "test", "-count=1", "-v", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOPROXY=off", "REPLAY_BIN="+m.bin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the fixtures' tests failed: %v\n%s", err, out)
	}
	// Every case ran (a vacuous pass is a failure).
	for _, c := range cases {
		for _, sub := range []string{"program", "net-smtp", "wrong-recipient"} {
			want := fmt.Sprintf("--- PASS: TestFixtures/%s/%s ", c.Name, sub)
			if c.Skip != "" && sub != "program" || c.Name == "starttls" && sub == "wrong-recipient" {
				want = fmt.Sprintf("--- SKIP: TestFixtures/%s/%s ", c.Name, sub)
			}
			if !bytes.Contains(out, []byte(want)) {
				t.Errorf("%q did not run as expected", want)
			}
		}
	}
	for _, want := range []string{"--- PASS: TestRcptOrder", "--- PASS: TestHeloName", "--- PASS: TestPassword", "--- PASS: TestEmbeddedPassword", "--- PASS: TestFreshHeaders", "--- PASS: TestNeverConnected", "--- PASS: TestSendMail"} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("%q did not run", want)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("%s", out)
	}
}

const sendMailTest = `package fixture

import (
	"net/smtp"
	"os"
	"testing"
)

// TestSendMail uses the fixture as a test helper would: net/smtp's SendMail
// says EHLO localhost and adds BODY=8BITMIME, hence the options.
func TestSendMail(t *testing.T) {
	msg, err := os.ReadFile("message.eml")
	if err != nil {
		t.Fatal(err)
	}
	srv := StartCapturedServer(t, IgnoreHeloName(), IgnoreParams(), WithPassword("s3cret-pass"))
	auth := smtp.PlainAuth("", "whb", "s3cret-pass", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr, auth, "alice@smtpscope.test", []string{"bob@smtpscope.test"}, msg); err != nil {
		t.Fatal(err)
	}
	sent := srv.Wait()
	if len(sent.Messages) != 1 || string(sent.Messages[0]) != string(msg) {
		t.Errorf("sent %q", sent.Messages)
	}
	if len(sent.Auth) != 1 || sent.Auth[0].Username != "whb" || sent.Auth[0].Password != "s3cret-pass" {
		t.Errorf("auth %+v", sent.Auth)
	}
	if sent.Commands[0] != "EHLO localhost" || sent.Commands[1] != "AUTH PLAIN" {
		t.Errorf("commands %q", sent.Commands)
	}
}
`

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// netSMTPOps says how net/smtp plays the captured client, or why it cannot.
func netSMTPOps(s *smtpdecode.Session, password string) ([]driverOp, string) {
	var ops []driverOp
	failed := func(r *smtpdecode.Reply) bool { return r == nil || r.Code >= 400 }
	cmds := s.Commands
	for i := 0; i < len(cmds); i++ {
		c := &cmds[i]
		if c.Kind != smtpdecode.KindCommand {
			continue
		}
		switch c.Verb {
		case "EHLO":
			ops = append(ops, driverOp{Op: "hello", Arg: c.Arg})
		case "HELO":
			return nil, "the captured client said HELO; net/smtp says EHLO"
		case "STARTTLS":
			ops = append(ops, driverOp{Op: "starttls"})
			if s.TLS {
				ops = append(ops,
					driverOp{Op: "mail", Arg: "alice@smtpscope.test"},
					driverOp{Op: "rcpt", Arg: "bob@smtpscope.test"},
					driverOp{Op: "data", Data: []byte(tlsMessage)},
					driverOp{Op: "quit"})
			}
		case "AUTH":
			x := newPlan(&smtpdecode.Session{Commands: cmds[i:]}).turns[0].auth
			fail := x.final == nil || x.final.Code/100 != 2
			if fail {
				return nil, `net/smtp answers a refused AUTH with "*" and QUIT, which the captured client did not send`
			}
			ops = append(ops, driverOp{Op: "auth", Mech: x.mech, User: x.decoded.Username, Pass: password, Fail: fail})
		case "MAIL", "RCPT":
			kw := "FROM"
			if c.Verb == "RCPT" {
				kw = "TO"
			}
			addr, _, _, ok := smtpdecode.ParsePath(c.Arg, kw)
			if !ok {
				return nil, "an address net/smtp cannot send"
			}
			ops = append(ops, driverOp{Op: strings.ToLower(c.Verb), Arg: addr, Fail: failed(c.Reply)})
		case "DATA":
			if i+1 >= len(cmds) || cmds[i+1].Kind != smtpdecode.KindMessage {
				return nil, "DATA without content"
			}
			m := cmds[i+1].Message.Data
			if bytes.Contains(bytes.ReplaceAll(m, []byte("\r\n"), nil), []byte("\n")) {
				return nil, "the message has lines ended by LF alone, which net/smtp's writer turns into CRLF"
			}
			ops = append(ops, driverOp{Op: "data", Data: m, Fail: failed(cmds[i+1].Reply)})
			i++
		case "BDAT":
			return nil, "net/smtp has no BDAT"
		case "RSET", "NOOP", "QUIT":
			ops = append(ops, driverOp{Op: strings.ToLower(c.Verb)})
		default:
			return nil, "net/smtp cannot send " + c.Verb
		}
	}
	return ops, ""
}
