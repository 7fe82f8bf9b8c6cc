package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// safeBuffer is a bytes.Buffer written by the command while the test reads it.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sink is a go-smtp backend that takes any mail.
type sink struct{ got chan []byte }

func (k *sink) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return k, nil }
func (k *sink) Mail(string, *gosmtp.MailOptions) error          { return nil }
func (k *sink) Rcpt(string, *gosmtp.RcptOptions) error          { return nil }
func (k *sink) Reset()                                          {}
func (k *sink) Logout() error                                   { return nil }
func (k *sink) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	k.got <- b
	return err
}

// liveMail captures on lo while net/smtp sends a mail to an in-process
// go-smtp server, with extra command-line args, and returns what the command
// printed. It skips where live capture is not permitted.
func liveMail(t *testing.T, args ...string) (stdout string, port int) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root or CAP_NET_RAW: skipped (CI runs it as root)")
	}
	k := &sink{got: make(chan []byte, 1)}
	srv := gosmtp.NewServer(k)
	srv.Domain = "mail.smtpscope.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()
	port = ln.Addr().(*net.TCPAddr).Port

	var out, errb safeBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan int)
	go func() {
		done <- run(ctx, append([]string{"-i", "lo", "--port", strconv.Itoa(port), "-c", "1"}, args...), nil, &out, &errb)
	}()
	for !strings.Contains(errb.String(), "capturing on lo") {
		select {
		case code := <-done:
			if strings.Contains(errb.String(), "CAP_NET_RAW") {
				t.Skipf("live capture not permitted here: %s", errb.String())
			}
			t.Fatalf("exit %d before capturing: %s", code, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	msg := "From: alice@smtpscope.test\r\nTo: bob@smtpscope.test\r\nSubject: live\r\n\r\nsent while smtpscope -i lo watched\r\n"
	if err := smtp.SendMail(ln.Addr().String(), nil, "alice@smtpscope.test", []string{"bob@smtpscope.test"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	<-k.got
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("-c 1 did not stop the capture; stderr: %s", errb.String())
	}
	if !strings.Contains(errb.String(), "packets received by filter") {
		t.Errorf("no kernel counts on stderr: %q", errb.String())
	}
	return out.String(), port
}

// TestLiveJSONAndWrite: the session decoded live is the one net/smtp sent,
// and the file -w wrote decodes to exactly the same JSON.
func TestLiveJSONAndWrite(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "live.pcapng")
	live, _ := liveMail(t, "--json", "-w", saved)
	var s struct {
		Close        string `json:"close"`
		Transactions []struct {
			MailFrom string `json:"mail_from"`
			Outcome  string `json:"outcome"`
			Message  *struct {
				Subject string `json:"subject"`
			} `json:"message"`
		} `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(live), &s); err != nil {
		t.Fatalf("%v: %q", err, live)
	}
	if len(s.Transactions) != 1 || s.Transactions[0].MailFrom != "alice@smtpscope.test" || s.Transactions[0].Outcome != "accepted" ||
		s.Transactions[0].Message == nil || s.Transactions[0].Message.Subject != "live" {
		t.Errorf("decoded live: %s", live)
	}
	if info, err := os.Stat(saved); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("-w file: %v", err)
	}
	fromFile, stderr, code := runCLI(t, nil, "-r", saved, "--json", "--port", strconv.Itoa(portOf(t, live)))
	if code != 0 || fromFile != live {
		t.Errorf("the saved capture decodes differently (exit %d, %s):\n live: %s\n file: %s", code, stderr, live, fromFile)
	}
}

// TestLiveStream: without --json every turn is printed as it happens,
// prefixed with its session.
func TestLiveStream(t *testing.T) {
	out, _ := liveMail(t)
	for _, want := range []string{"[1] Session 1: 127.0.0.1:", "[1]  ", "C: EHLO ", "S: 250", "C: MAIL FROM:<alice@smtpscope.test>", "M| Subject: live", "C: QUIT", "[1] closed by FIN"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

func portOf(t *testing.T, js string) int {
	var s struct {
		Server string `json:"server"`
	}
	json.Unmarshal([]byte(js), &s)
	_, p, err := net.SplitHostPort(s.Server)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}
