package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// cases lists the recorded captures under testdata/ (each folder holds
// input.pcap, a README.md saying what it shows, want.txt and want.json).
func cases(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("../../testdata/*/input.pcap*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no captures in testdata: %v", err)
	}
	var names []string
	for _, d := range dirs {
		names = append(names, filepath.Base(filepath.Dir(d)))
	}
	return names
}

func input(name string) string {
	m, _ := filepath.Glob(filepath.Join("../../testdata", name, "input.pcap*"))
	return m[0]
}

// runCLI runs the command in process.
func runCLI(t *testing.T, stdin []byte, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/smtpscope -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/smtpscope -update rewrites it; review the diff):\n got:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestGolden(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			in := input(name)
			for _, f := range []struct {
				file string
				args []string
			}{
				{"want.txt", []string{"-r", in}},
				{"want.json", []string{"-r", in, "--json"}},
			} {
				stdout, stderr, code := runCLI(t, nil, f.args...)
				if code != 0 || stderr != "" {
					t.Fatalf("%v: exit %d, stderr %q", f.args, code, stderr)
				}
				golden(t, filepath.Join("../../testdata", name, f.file), strings.ReplaceAll(stdout, in, "input"))
			}
		})
	}
}

// jsonSession is the part of the JSON output the conversation checks read.
type jsonSession struct {
	ID       int    `json:"id"`
	Client   string `json:"client"`
	Server   string `json:"server"`
	Close    string `json:"close"`
	Sides    string `json:"sides"`
	Missing  int    `json:"missing_bytes"`
	Greeting *struct {
		Code int `json:"code"`
	} `json:"greeting"`
	Commands []struct {
		Kind     string `json:"kind"`
		Verb     string `json:"verb"`
		Argument string `json:"argument"`
		Line     string `json:"line"`
		Message  *struct {
			Bytes      int  `json:"bytes"`
			Terminated bool `json:"terminated"`
		} `json:"message"`
		Reply *struct {
			Code int `json:"code"`
		} `json:"reply"`
	} `json:"commands"`
	TLS *struct {
		StartTLS bool   `json:"starttls"`
		Version  string `json:"version"`
		Cipher   string `json:"cipher"`
	} `json:"tls"`
	Helo *struct {
		Verb string `json:"verb"`
		Name string `json:"name"`
	} `json:"helo"`
	Auth *struct {
		Mechanism string  `json:"mechanism"`
		Username  string  `json:"username"`
		Password  *string `json:"password"`
		Success   bool    `json:"success"`
		Code      int     `json:"code"`
	} `json:"auth"`
	Transactions []struct {
		MailFrom string `json:"mail_from"`
		RcptTo   []struct {
			Address string `json:"address"`
			Code    int    `json:"code"`
		} `json:"rcpt_to"`
		FinalCode    int    `json:"final_code"`
		QueueID      string `json:"queue_id"`
		Outcome      string `json:"outcome"`
		MessageBytes int    `json:"message_bytes"`
	} `json:"transactions"`
	Anomalies []struct {
		ID    string `json:"id"`
		From  string `json:"from"`
		Count int    `json:"count"`
	} `json:"anomalies"`
}

func decodeJSON(t *testing.T, out string) []jsonSession {
	t.Helper()
	var ss []jsonSession
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var s jsonSession
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("not a JSON line: %v: %q", err, line)
		}
		ss = append(ss, s)
	}
	return ss
}

// TestConversations checks that each recorded capture decodes to the
// conversation its recording script (testdata/record/) had the client send,
// with the codes the server answered: turn by turn, "VERB code" for commands,
// "message code" for DATA content and "auth code" for AUTH responses.
func TestConversations(t *testing.T) {
	want := map[string]string{
		"helo-plain":        "HELO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"auth-login-nc":     "EHLO 250, AUTH 334, auth 334, auth 235, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"multi-rcpt":        "EHLO 250, MAIL 250, RCPT 250, RCPT 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"any-sll2":          "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"ipv6-swaks":        "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"auth-plain":        "EHLO 250, AUTH 235, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"auth-cram-md5":     "EHLO 250, AUTH 334, auth 235, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"auth-failed":       "EHLO 250, AUTH 334, auth 334, auth 535, QUIT 221",
		"pipelining":        "EHLO 250, MAIL 250, RCPT 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"starttls":          "EHLO 250, STARTTLS 220",
		"bdat":              "EHLO 250, MAIL 250, RCPT 250, BDAT 250, BDAT 250, QUIT 221",
		"rset-multi":        "EHLO 250, MAIL 250, RCPT 250, RSET 250, MAIL 250, RCPT 250, RCPT 550, RCPT 250, DATA 354, message 250, QUIT 221",
		"lowercase-barelf":  "HELO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"mime-attachments":  "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"gb2312-subject":    "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"iso2022jp-subject": "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"koi8r-subject":     "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"rfc2231-filename":  "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"leading-dot":       "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
		"hostile-filename":  "EHLO 250, MAIL 250, RCPT 250, DATA 354, message 250, QUIT 221",
	}
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expected conversation for testdata/%s: add it here", name)
			}
			stdout, _, code := runCLI(t, nil, "-r", input(name), "--json")
			if code != 0 {
				t.Fatalf("exit %d", code)
			}
			ss := decodeJSON(t, stdout)
			if len(ss) != 1 {
				t.Fatalf("%d sessions, want 1", len(ss))
			}
			s := ss[0]
			if s.ID != 1 || s.Greeting == nil || s.Greeting.Code != 220 || s.Sides != "syn" || s.Missing != 0 {
				t.Errorf("id %d, greeting %+v, sides %q, missing %d", s.ID, s.Greeting, s.Sides, s.Missing)
			}
			var turns []string
			for _, c := range s.Commands {
				what := c.Verb
				switch c.Kind {
				case "message":
					what = "message"
					if c.Message == nil || !c.Message.Terminated || c.Message.Bytes == 0 {
						t.Errorf("message %+v", c.Message)
					}
				case "auth-response":
					what = "auth"
				case "unmatched":
					what = "unmatched"
				}
				code := 0
				if c.Reply != nil {
					code = c.Reply.Code
				}
				turns = append(turns, what+" "+strconv.Itoa(code))
			}
			if got := strings.Join(turns, ", "); got != w {
				t.Errorf("conversation\n got: %s\nwant: %s", got, w)
			}
			if (name == "starttls") != (s.TLS != nil) {
				t.Errorf("tls %+v", s.TLS)
			}
			if s.Helo == nil || s.Helo.Name != "client.smtpscope.test" {
				t.Errorf("helo %+v", s.Helo)
			}
		})
	}
}

// TestMeaning checks, for each recorded capture, what the session meant: the
// AUTH outcome, each transaction's envelope, recipients' codes and outcome,
// and the anomalies — none for the well-behaved clients, the right ones for
// the others.
func TestMeaning(t *testing.T) {
	type want struct {
		auth         string // "MECH user success"
		transactions string // "from>rcpt:code,rcpt:code final outcome; ..."
		anomalies    string // "id/from×count ..."
	}
	const ok = "alice@smtpscope.test>bob@smtpscope.test:250 250 accepted"
	wants := map[string]want{
		"helo-plain":        {"", ok, ""},
		"auth-login-nc":     {"LOGIN whb true", ok, ""},
		"multi-rcpt":        {"", "alice@smtpscope.test>bob@smtpscope.test:250,carol@smtpscope.test:250,dave@smtpscope.test:250 250 accepted", ""},
		"any-sll2":          {"", ok, ""},
		"ipv6-swaks":        {"", ok, ""},
		"auth-plain":        {"PLAIN whb true", ok, ""},
		"auth-cram-md5":     {"CRAM-MD5 whb true", ok, ""},
		"auth-failed":       {"LOGIN whb false", "", ""},
		"pipelining":        {"", "alice@smtpscope.test>bob@smtpscope.test:250,carol@smtpscope.test:250 250 accepted", ""},
		"starttls":          {"", "", ""},
		"bdat":              {"", ok, ""},
		"rset-multi":        {"", "alice@smtpscope.test>bob@smtpscope.test:250 0 aborted; alice@smtpscope.test>carol@smtpscope.test:250,nobody@smtpscope.test:550,dave@smtpscope.test:250 250 accepted", ""},
		"lowercase-barelf":  {"", ok, "bare-lf/client×10"},
		"mime-attachments":  {"", ok, ""},
		"gb2312-subject":    {"", ok, ""},
		"iso2022jp-subject": {"", ok, ""},
		"koi8r-subject":     {"", ok, ""},
		"rfc2231-filename":  {"", ok, ""},
		"leading-dot":       {"", ok, ""},
		"hostile-filename":  {"", ok, ""},
	}
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			w, found := wants[name]
			if !found {
				t.Fatalf("no expectations for testdata/%s: add them here", name)
			}
			stdout, _, _ := runCLI(t, nil, "-r", input(name), "--json")
			s := decodeJSON(t, stdout)[0]
			var got want
			if a := s.Auth; a != nil {
				got.auth = fmt.Sprintf("%s %s %v", a.Mechanism, a.Username, a.Success)
				if a.Password != nil && *a.Password != "********" {
					t.Errorf("password shown: %q", *a.Password)
				}
			}
			var txs []string
			for _, tx := range s.Transactions {
				var rcpts []string
				for _, r := range tx.RcptTo {
					rcpts = append(rcpts, fmt.Sprintf("%s:%d", r.Address, r.Code))
				}
				txs = append(txs, fmt.Sprintf("%s>%s %d %s", tx.MailFrom, strings.Join(rcpts, ","), tx.FinalCode, tx.Outcome))
				if tx.Outcome == "accepted" && (tx.MessageBytes == 0 || tx.FinalCode != 250) {
					t.Errorf("accepted transaction with %d bytes, final %d", tx.MessageBytes, tx.FinalCode)
				}
			}
			got.transactions = strings.Join(txs, "; ")
			var an []string
			for _, a := range s.Anomalies {
				an = append(an, fmt.Sprintf("%s/%s×%d", a.ID, a.From, a.Count))
			}
			got.anomalies = strings.Join(an, " ")
			if got != w {
				t.Errorf("\n got: %+v\nwant: %+v", got, w)
			}
			if name == "starttls" && (s.TLS == nil || s.TLS.Version != "TLS 1.3" || s.TLS.Cipher != "TLS_AES_256_GCM_SHA384") {
				t.Errorf("tls %+v", s.TLS)
			}
		})
	}
}

// TestSecretsMasked checks that AUTH credentials in the shipped captures
// appear in no output unless --show-secrets is given.
func TestSecretsMasked(t *testing.T) {
	secrets := []string{
		"czNjcmV0LXBhc3M=",             // base64 of the password (AUTH LOGIN)
		"AHdoYgBzM2NyZXQtcGFzcw==",     // AUTH PLAIN initial response
		"d3JvbmctcGFzcw==",             // the wrong password of auth-failed
		"d2hiIDA5ZTI5ZGE3NzlmYzNmNWU2", // CRAM-MD5 response (user and digest)
		"s3cret-pass",                  // the password, decoded
		"wrong-pass",
		"09e29da779fc3f5e67a992d726ef095b", // the CRAM-MD5 digest, decoded
	}
	// An initial response after a tab, which no recorded client sends.
	c := pcapgen.NewConn(client, server, t0)
	segs := append(c.Handshake(),
		c.FromServer([]byte("220 mail.example.test ESMTP\r\n")),
		c.FromClient([]byte("EHLO client.example.test\r\n")),
		c.FromServer([]byte("250-mail.example.test\r\n250 AUTH PLAIN\r\n")),
		c.FromClient([]byte("AUTH PLAIN\tAHdoYgBzM2NyZXQtcGFzcw==\r\n")),
		c.FromServer([]byte("235 2.7.0 Authentication successful\r\n")),
		c.FromClient([]byte("QUIT\r\n")),
		c.FromServer([]byte("221 2.0.0 Bye\r\n")),
		c.ClientFIN(), c.ServerFIN())
	tab := writeTemp(t, "auth-plain-tab.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...)))
	inputs := [][2]string{{"auth-plain-tab", tab}}
	for _, name := range []string{"auth-login-nc", "auth-plain", "auth-failed", "auth-cram-md5"} {
		inputs = append(inputs, [2]string{name, input(name)})
	}
	for _, ni := range inputs {
		name, in := ni[0], ni[1]
		for _, args := range [][]string{{"-r", in}, {"-r", in, "--json"}} {
			stdout, _, _ := runCLI(t, nil, args...)
			for _, s := range secrets {
				if strings.Contains(stdout, s) {
					t.Errorf("%s %v: output shows the secret %q", name, args, s)
				}
			}
			if name == "auth-plain-tab" && !strings.Contains(stdout, "PLAIN <secret: 24 bytes, --show-secrets shows it>") {
				t.Errorf("%s %v: no masked initial response:\n%s", name, args, stdout)
			}
			shown, _, _ := runCLI(t, nil, append(args, "--show-secrets")...)
			found := false
			for _, s := range secrets {
				found = found || strings.Contains(shown, s)
			}
			if !found {
				t.Errorf("%s %v --show-secrets: no secret shown", name, args)
			}
		}
	}
}

// TestAnomaliesDocumented keeps README's anomaly table in step with the code.
func TestAnomaliesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range smtpdecode.Anomalies {
		row := fmt.Sprintf("| `%s` | %s | %s |", a.ID, a.What, a.RFC)
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row %s", row)
		}
	}
}
