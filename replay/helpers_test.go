package replay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// The account the recorded captures used (testdata/record).
const (
	testUser     = "whb"
	testPassword = "s3cret-pass"
)

// decoderOptions are what the lead's `smtpscope replay` decodes with: every
// line and message whole.
var decoderOptions = smtpdecode.Options{MaxData: 64 << 20, MaxText: 16 << 20}

// A recorded is one recorded capture, decoded.
type recorded struct {
	name string // its folder in testdata
	path string
	s    *smtpdecode.Session
}

var (
	capturesOnce sync.Once
	captures     []recorded
	capturesErr  error
)

// recordedCaptures decodes every testdata/*/input.pcap with the real
// pipeline; each holds one session.
func recordedCaptures(t testing.TB) []recorded {
	t.Helper()
	capturesOnce.Do(func() {
		files, err := filepath.Glob("../testdata/*/input.pcap")
		if err != nil || len(files) == 0 {
			capturesErr = fmt.Errorf("no captures: %v", err)
			return
		}
		sort.Strings(files)
		for _, f := range files {
			ss, err := decodeFile(f)
			if err != nil {
				capturesErr = err
				return
			}
			if len(ss) != 1 {
				capturesErr = fmt.Errorf("%s: %d sessions, want 1", f, len(ss))
				return
			}
			captures = append(captures, recorded{name: filepath.Base(filepath.Dir(f)), path: f, s: ss[0]})
		}
	})
	if capturesErr != nil {
		t.Fatal(capturesErr)
	}
	return captures
}

func decodeFile(path string) ([]*smtpdecode.Session, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	r, err := capture.NewReader(fh, path)
	if err != nil {
		return nil, err
	}
	var ss []*smtpdecode.Session
	_, err = pipeline.Run(context.Background(), r, pipeline.Options{Decoder: decoderOptions}, func(s *smtpdecode.Session) {
		ss = append(ss, s)
	})
	return ss, err
}

func recordedByName(t testing.TB, name string) recorded {
	t.Helper()
	for _, c := range recordedCaptures(t) {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no capture %q", name)
	return recorded{}
}

// A piece is bytes one side sent, at a time after the session's start.
type piece struct {
	dir  smtpdecode.Direction
	data string
	at   time.Duration
}

func client(at time.Duration, data string) piece {
	return piece{smtpdecode.FromClient, data, at}
}
func server(at time.Duration, data string) piece {
	return piece{smtpdecode.FromServer, data, at}
}

// decodeTranscript decodes a conversation written by hand, with the options
// the lead decodes with.
func decodeTranscript(pieces ...piece) *smtpdecode.Session {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d := smtpdecode.New(smtpdecode.Conn{
		Client: netip.MustParseAddrPort("192.0.2.7:50000"),
		Server: netip.MustParseAddrPort("127.0.0.1:25"),
		Start:  t0,
	}, decoderOptions)
	end := t0
	for _, p := range pieces {
		end = t0.Add(p.at)
		d.Feed(p.dir, []byte(p.data), end)
	}
	s := d.Close(end.Add(time.Millisecond), smtpdecode.ClosedFIN)
	s.ID = 1
	return s
}

// expectedMessages are the messages a server must receive when the
// session's client side is replayed: those the captured server accepted,
// as captured (BDAT chunks joined).
func expectedMessages(s *smtpdecode.Session) [][]byte {
	var out [][]byte
	var chunks []byte
	for _, c := range s.Commands {
		switch {
		case c.Kind == smtpdecode.KindMessage:
			if c.Reply != nil && c.Reply.Code/100 == 2 {
				out = append(out, c.Message.Data)
			}
		case c.Verb == "MAIL" || c.Verb == "RSET":
			chunks = nil
		case c.Verb == "BDAT" && c.Message != nil:
			chunks = append(chunks, c.Message.Data...)
			if strings.Contains(strings.ToUpper(c.Arg), "LAST") {
				if c.Reply != nil && c.Reply.Code/100 == 2 {
					out = append(out, chunks)
				}
				chunks = nil
			}
		}
	}
	return out
}

// ---- building generated programs ----

// A program is a generated send program to build.
type program struct {
	name string // its directory in the build module
	s    *smtpdecode.Session
	o    Options
}

// buildModule is a temporary module holding generated sources.
type buildModule struct {
	dir string
	bin string // where the built programs are
}

var (
	buildOnce sync.Once
	built     *buildModule
	buildErr  error
	buildTime time.Duration
)

// testPrograms are every program the tests run: one per recorded capture,
// and some made from transcripts.
func testPrograms(t testing.TB) []program {
	var ps []program
	for _, c := range recordedCaptures(t) {
		ps = append(ps, program{name: c.name, s: c.s, o: Options{Capture: c.path}})
		switch c.name {
		case "auth-plain", "auth-login-nc", "auth-cram-md5":
			ps = append(ps, program{name: c.name + "-embedded", s: c.s, o: Options{Capture: c.path, EmbedSecrets: true}})
		}
	}
	ps = append(ps,
		program{name: "xoauth2", s: xoauth2Session()},
		program{name: "xoauth2-embedded", s: xoauth2Session(), o: Options{EmbedSecrets: true}},
		program{name: "hostile", s: hostileSession()},
		program{name: "nc-all-at-once", s: allAtOnceSession()},
		program{name: "implicit-tls", s: implicitTLSSession()},
	)
	return ps
}

// builtPrograms generates every test program into one module and builds
// them all with one `go build`, once per test binary.
func builtPrograms(t testing.TB) *buildModule {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		built, buildErr = buildPrograms(testPrograms(t))
		buildTime = time.Since(start)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func buildPrograms(ps []program) (*buildModule, error) {
	dir, err := os.MkdirTemp(tempRoot, "send")
	if err != nil {
		return nil, err
	}
	m := &buildModule{dir: dir, bin: filepath.Join(dir, "bin")}
	if err := writeModule(dir); err != nil {
		return nil, err
	}
	for _, p := range ps {
		var b bytes.Buffer
		if err := Generate(&b, p.s, p.o); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		pd := filepath.Join(dir, "cmd", p.name)
		if err := os.MkdirAll(pd, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(pd, "main.go"), b.Bytes(), 0o644); err != nil {
			return nil, err
		}
	}
	if out, err := goTool(dir, "vet", "./..."); err != nil {
		return nil, fmt.Errorf("go vet of the generated programs: %v\n%s", err, out)
	}
	if out, err := goTool(dir, "build", "-o", m.bin+string(filepath.Separator), "./cmd/..."); err != nil {
		return nil, fmt.Errorf("go build of the generated programs: %v\n%s", err, out)
	}
	return m, nil
}

func writeModule(dir string) error {
	return os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module replaytest\n\ngo 1.25\n"), 0o644)
}

// goTool runs the go command in dir, on a module of its own that needs
// nothing but the standard library.
func goTool(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOPROXY=off")
	return cmd.CombinedOutput()
}

// tempRoot holds what the tests build; TestMain removes it.
var tempRoot string

func TestMain(m *testing.M) {
	var err error
	tempRoot, err = os.MkdirTemp("", "replay-test")
	if err != nil {
		log.Fatal(err)
	}
	code := m.Run()
	os.RemoveAll(tempRoot)
	os.Exit(code)
}

// A result is how a program run ended.
type result struct {
	code           int
	stdout, stderr string
}

// runProgram runs a built program with the given SMTP_* environment
// (nothing else of the kind is inherited).
func runProgram(t testing.TB, name string, env map[string]string, args ...string) result {
	t.Helper()
	m := builtPrograms(t)
	cmd := exec.Command(filepath.Join(m.bin, name), args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SMTP_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// ---- a real SMTP server: go-smtp in process ----

// testServer is go-smtp's server with a backend that records what it
// receives and answers the way the captured servers did.
type testServer struct {
	addr string

	// rejectRcpt are recipients refused with 550 5.1.1, as Postfix
	// refused nobody@ in rset-multi.
	rejectRcpt map[string]bool
	// challenge is the CRAM-MD5 challenge; "" makes a new one each time.
	challenge string

	mu       sync.Mutex
	messages [][]byte
	rcpts    [][]string
	auths    []string // "MECH user" of each successful AUTH
}

type serverOption func(*testServer, *smtp.Server)

func withTLS(cfg *tls.Config) serverOption {
	return func(_ *testServer, s *smtp.Server) { s.TLSConfig = cfg }
}

func withChallenge(c string) serverOption {
	return func(ts *testServer, _ *smtp.Server) { ts.challenge = c }
}

func withRejected(addrs ...string) serverOption {
	return func(ts *testServer, _ *smtp.Server) {
		for _, a := range addrs {
			ts.rejectRcpt[a] = true
		}
	}
}

func startServer(t testing.TB, opts ...serverOption) *testServer {
	t.Helper()
	ts := &testServer{rejectRcpt: map[string]bool{"nobody@smtpscope.test": true}}
	s := newGoSMTP(ts)
	for _, o := range opts {
		o(ts, s)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.addr = ln.Addr().String()
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return ts
}

// newGoSMTP is a go-smtp server for ts's backend.
func newGoSMTP(ts *testServer) *smtp.Server {
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &testSession{ts: ts}, nil
	}))
	s.Domain = "mail.smtpscope.test"
	s.AllowInsecureAuth = true
	s.ReadTimeout = 20 * time.Second
	s.WriteTimeout = 20 * time.Second
	s.MaxMessageBytes = 64 << 20
	s.ErrorLog = log.New(io.Discard, "", 0)
	return s
}

func (ts *testServer) received() [][]byte {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([][]byte(nil), ts.messages...)
}

func (ts *testServer) recipients() [][]string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([][]string(nil), ts.rcpts...)
}

func (ts *testServer) authenticated() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.auths...)
}

type testSession struct {
	ts    *testServer
	rcpts []string
}

func (s *testSession) Reset()        { s.rcpts = nil }
func (s *testSession) Logout() error { return nil }
func (s *testSession) Mail(from string, _ *smtp.MailOptions) error {
	s.rcpts = nil
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.ts.rejectRcpt[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "<" + to + ">: Recipient address rejected: No such user here"}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.ts.mu.Lock()
	s.ts.messages = append(s.ts.messages, b)
	s.ts.rcpts = append(s.ts.rcpts, s.rcpts)
	s.ts.mu.Unlock()
	return nil
}

func (s *testSession) AuthMechanisms() []string {
	return []string{"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	ok := func(user, pass string) error {
		if user != testUser || pass != testPassword {
			return smtp.ErrAuthFailed
		}
		s.ts.mu.Lock()
		s.ts.auths = append(s.ts.auths, mech+" "+user)
		s.ts.mu.Unlock()
		return nil
	}
	switch mech {
	case "PLAIN":
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return ok(user, pass)
		}), nil
	case "LOGIN":
		return &loginServer{check: ok}, nil
	case "CRAM-MD5":
		ch := s.ts.challenge
		if ch == "" {
			var p [8]byte
			rand.Read(p[:])
			ch = fmt.Sprintf("<%x@mail.smtpscope.test>", p)
		}
		return &cramServer{challenge: ch, check: func(user, digest string) error {
			m := hmac.New(md5.New, []byte(testPassword))
			m.Write([]byte(ch))
			if user != testUser || digest != hex.EncodeToString(m.Sum(nil)) {
				return smtp.ErrAuthFailed
			}
			return ok(testUser, testPassword)
		}}, nil
	case "XOAUTH2":
		return saslFunc(func(resp []byte) ([]byte, bool, error) {
			if string(resp) != "user=whb\x01auth=Bearer ya29.token\x01\x01" {
				return nil, true, smtp.ErrAuthFailed
			}
			return nil, true, ok(testUser, testPassword)
		}), nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// saslFunc is a one-step SASL server.
type saslFunc func(resp []byte) ([]byte, bool, error)

func (f saslFunc) Next(resp []byte) ([]byte, bool, error) { return f(resp) }

// loginServer is AUTH LOGIN's server side (go-sasl has only the client).
type loginServer struct {
	step  int
	user  string
	check func(user, pass string) error
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 1
		if resp == nil {
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(resp), 2
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(l.user, string(resp))
}

// cramServer is CRAM-MD5's server side (RFC 2195).
type cramServer struct {
	challenge string
	sent      bool
	check     func(user, digest string) error
}

func (c *cramServer) Next(resp []byte) ([]byte, bool, error) {
	if !c.sent {
		c.sent = true
		return []byte(c.challenge), false, nil
	}
	s := string(resp)
	i := strings.LastIndexByte(s, ' ')
	if i < 0 {
		return nil, true, smtp.ErrAuthFailed
	}
	return nil, true, c.check(s[:i], s[i+1:])
}

// testTLS is a server TLS configuration with a self-signed certificate.
func testTLS(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mail.smtpscope.test"},
		DNSNames:     []string{"mail.smtpscope.test"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// ---- sessions made from transcripts ----

// xoauth2Session authenticates with XOAUTH2, which the program cannot
// compute again.
func xoauth2Session() *smtpdecode.Session {
	return decodeTranscript(
		server(0, "220 mail.example.com ESMTP\r\n"),
		client(1*time.Millisecond, "EHLO laptop.example.com\r\n"),
		server(2*time.Millisecond, "250-mail.example.com\r\n250 AUTH XOAUTH2 PLAIN\r\n"),
		// user=whb\x01auth=Bearer ya29.token\x01\x01
		client(3*time.Millisecond, "AUTH XOAUTH2 dXNlcj13aGIBYXV0aD1CZWFyZXIgeWEyOS50b2tlbgEB\r\n"),
		server(4*time.Millisecond, "235 2.7.0 Accepted\r\n"),
		client(5*time.Millisecond, "QUIT\r\n"),
		server(6*time.Millisecond, "221 2.0.0 Bye\r\n"),
	)
}

// hostileSession carries every kind of text that must not change the
// generated source: quotes, backticks, comment ends, NUL, invalid UTF-8,
// control characters, a bidi override.
func hostileSession() *smtpdecode.Session {
	body := "Subject: `go` */ /* \"quoted\" \\ \x00 \xff\xfe \u202e \x1b[31m\r\n" +
		"\r\n" +
		".leading dot\r\n" +
		"*/ }\n func init() { panic(1) } /*\r\n" +
		"..\r\n"
	return decodeTranscript(
		server(0, "220 mail.example.com ESMTP */ `\x00\r\n"),
		client(1*time.Millisecond, "EHLO `*/\"\\\x00\xff\r\n"),
		server(2*time.Millisecond, "250-mail.example.com\r\n250 PIPELINING\r\n"),
		client(3*time.Millisecond, "MAIL FROM:<\"a*/b\"@example.com>\r\n"),
		server(4*time.Millisecond, "250 2.1.0 Ok\r\n"),
		client(5*time.Millisecond, "RCPT TO:<`bob`@example.com>\r\n"),
		server(6*time.Millisecond, "250 2.1.5 Ok\r\n"),
		client(7*time.Millisecond, "DATA\r\n"),
		server(8*time.Millisecond, "354 go on\r\n"),
		client(9*time.Millisecond, body+".\r\n"),
		server(10*time.Millisecond, "250 2.0.0 Ok: queued\r\n"),
		client(11*time.Millisecond, "QUIT\r\n"),
		server(12*time.Millisecond, "221 2.0.0 Bye\r\n"),
	)
}

// hostileBody is the message hostileSession sends.
func hostileBody() []byte {
	return expectedMessages(hostileSession())[0]
}

// allAtOnceSession is a shell mailer that sends everything in one write
// (the decoder holds the bytes after DATA until the 354 says what they are).
func allAtOnceSession() *smtpdecode.Session {
	return decodeTranscript(
		server(0, "220 mail.example.com ESMTP\r\n"),
		client(1*time.Millisecond, "HELO nc.example.com\r\nMAIL FROM:<alice@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\nSubject: all at once\r\n\r\nhi\r\n.\r\nQUIT\r\n"),
		server(2*time.Millisecond, "250 mail.example.com\r\n250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go on\r\n250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n"),
	)
}
