package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// newSession returns a hand-built session holding the given turns.
func newSession(cmds ...smtpdecode.Command) *smtpdecode.Session {
	return &smtpdecode.Session{
		ID:       1,
		Sides:    "syn",
		Client:   netip.MustParseAddrPort("192.0.2.10:40001"),
		Server:   netip.MustParseAddrPort("198.51.100.25:25"),
		Start:    t0,
		End:      t0.Add(time.Second),
		Closed:   smtpdecode.ClosedFIN,
		Greeting: &smtpdecode.Reply{Time: t0, Code: 220, Lines: []string{"mail.example.test"}},
		Commands: cmds,
	}
}

// authCommand is the AUTH command line as the decoder keeps it.
func authCommand(line string) smtpdecode.Command {
	verb, arg := smtpdecode.ParseCommand([]byte(line))
	return smtpdecode.Command{Time: t0.Add(time.Millisecond), Kind: smtpdecode.KindCommand, Verb: verb, Arg: arg, Line: line, Secret: true,
		Reply: &smtpdecode.Reply{Time: t0.Add(2 * time.Millisecond), Code: 235, Lines: []string{"2.7.0 Authentication successful"}}}
}

// render returns what the text and JSON writers make of s.
func render(t *testing.T, s *smtpdecode.Session, o Options) (text, js string) {
	t.Helper()
	var tb, jb bytes.Buffer
	if err := NewText(&tb, o).Session(s); err != nil {
		t.Fatal(err)
	}
	if err := NewJSON(&jb, o).Session(s); err != nil {
		t.Fatal(err)
	}
	return tb.String(), jb.String()
}

func decode(t *testing.T, js string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, js)
	}
	return v
}

// TestMaskedAuthInitialResponse: an AUTH initial response is masked whatever
// blanks separate it from the mechanism; the mechanism stays visible and no
// piece of the response is shown.
func TestMaskedAuthInitialResponse(t *testing.T) {
	const ir = "AHVzZXIAcGFzcw==" // base64 of "\x00user\x00pass"
	for _, c := range []struct{ line, want string }{
		{"AUTH PLAIN " + ir, "AUTH PLAIN <secret: 16 bytes, --show-secrets shows it>"},
		{"AUTH PLAIN\t" + ir, "AUTH PLAIN <secret: 16 bytes, --show-secrets shows it>"},
		{"AUTH PLAIN \t " + ir + " \t", "AUTH PLAIN <secret: 16 bytes, --show-secrets shows it>"},
		{"AUTH  PLAIN\t\t" + ir, "AUTH PLAIN <secret: 16 bytes, --show-secrets shows it>"},
		{"AUTH XOAUTH2 " + ir + "\t" + ir, "AUTH XOAUTH2 <secret: 33 bytes, --show-secrets shows it>"},
	} {
		cmd := authCommand(c.line)
		if got := MaskedLine(&cmd, false); got != c.want {
			t.Errorf("MaskedLine(%q) = %q, want %q", c.line, got, c.want)
		}
		if got := MaskedLine(&cmd, true); got != c.line {
			t.Errorf("MaskedLine(%q, showSecrets) = %q", c.line, got)
		}
		s := newSession(cmd)
		text, js := render(t, s, Options{})
		for i := 0; i+4 <= len(ir); i++ {
			if piece := ir[i : i+4]; strings.Contains(text, piece) || strings.Contains(js, piece) {
				t.Errorf("%q: output shows %q of the initial response:\n%s%s", c.line, piece, text, js)
			}
		}
		mech := strings.Fields(c.want)[1]
		if !strings.Contains(text, "C: "+c.want) {
			t.Errorf("%q: text lacks %q:\n%s", c.line, c.want, text)
		}
		arg := decode(t, js)["commands"].([]any)[0].(map[string]any)["argument"]
		if want := mech + " <secret: "; !strings.HasPrefix(arg.(string), want) {
			t.Errorf("%q: JSON argument %q, want it to start with %q", c.line, arg, want)
		}
		text, js = render(t, s, Options{ShowSecrets: true})
		if !strings.Contains(text, Printable(c.line)) || !strings.Contains(js, ir) {
			t.Errorf("%q --show-secrets: the initial response is not shown:\n%s%s", c.line, text, js)
		}
	}
}

// TestDroppedCounts: what a session did not keep past the caps is counted in
// both outputs, and left out when nothing was dropped.
func TestDroppedCounts(t *testing.T) {
	s := newSession()
	s.DroppedCommands, s.DroppedTransactions, s.DroppedAnomalies = 4, 2, 3
	text, js := render(t, s, Options{})
	for _, want := range []string{"  <4 more turns not kept>\n", "  <2 more transactions not kept>\n", "  <3 more anomalies not kept>\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	v := decode(t, js)
	for field, want := range map[string]float64{"dropped_commands": 4, "dropped_transactions": 2, "dropped_anomalies": 3} {
		if v[field] != want {
			t.Errorf("%s = %v, want %v", field, v[field], want)
		}
	}

	text, js = render(t, newSession(), Options{})
	if strings.Contains(text, "not kept") || strings.Contains(js, "dropped_") {
		t.Errorf("nothing dropped, yet:\n%s%s", text, js)
	}
}

// TestJSONTLS: what the ClientHello offered is in "tls", and left out when
// it was not seen.
func TestJSONTLS(t *testing.T) {
	s := newSession()
	s.TLS, s.StartTLS = true, true
	s.TLSInfo = smtpdecode.TLSInfo{Version: "TLS 1.3", ALPN: []string{"smtp", "h2"}, ClientVersions: []string{"TLS 1.3", "TLS 1.2"}}
	_, js := render(t, s, Options{})
	tls := decode(t, js)["tls"].(map[string]any)
	if got, _ := json.Marshal([]any{tls["alpn"], tls["client_versions"]}); string(got) != `[["smtp","h2"],["TLS 1.3","TLS 1.2"]]` {
		t.Errorf("alpn, client_versions = %s", got)
	}

	s.TLSInfo = smtpdecode.TLSInfo{}
	_, js = render(t, s, Options{})
	if strings.Contains(js, `"alpn"`) || strings.Contains(js, `"client_versions"`) {
		t.Errorf("empty alpn or client_versions shown: %s", js)
	}
}

// TestOutcome: JSON's outcome is the text's outcome line without colour.
func TestOutcome(t *testing.T) {
	s := newSession()
	s.Auth = &smtpdecode.AuthResult{Auth: smtpdecode.Auth{Mechanism: "LOGIN", Username: "whb"}, Code: 535}
	s.Transactions = []smtpdecode.Transaction{{MailCode: 250, FinalCode: 554, Outcome: smtpdecode.OutcomeRejected}}
	s.Anomalies = []smtpdecode.Anomaly{{ID: "bare-lf", Detail: "x", Command: -1, Time: t0, Count: 2}}
	const want = "AUTH LOGIN as whb failed (535) · 1 message rejected (554) · 2 anomalies"
	if got := Outcome(s); got != want {
		t.Errorf("Outcome = %q, want %q", got, want)
	}
	text, js := render(t, s, Options{Color: true})
	if got := decode(t, js)["outcome"]; got != want {
		t.Errorf("JSON outcome = %q, want %q", got, want)
	}
	if !strings.Contains(text, "outcome: "+red+"AUTH LOGIN as whb failed (535)"+reset) {
		t.Errorf("coloured text lacks a red failure in its outcome:\n%q", text)
	}
}

// TestOutcomeRejectCode: a rejected transaction shows the reply that refused
// it, also when that was its recipients', not MAIL's 250.
func TestOutcomeRejectCode(t *testing.T) {
	for _, tc := range []struct {
		tx   smtpdecode.Transaction
		want string
	}{
		{smtpdecode.Transaction{MailCode: 250, Rcpts: []smtpdecode.Recipient{{Code: 550}}}, "1 message rejected (550)"},
		{smtpdecode.Transaction{MailCode: 553}, "1 message rejected (553)"},
		{smtpdecode.Transaction{MailCode: 250, Rcpts: []smtpdecode.Recipient{{Code: 250}}, DataCode: 554}, "1 message rejected (554)"},
		{smtpdecode.Transaction{MailCode: 250, Rcpts: []smtpdecode.Recipient{{Code: 250}}, DataCode: 354, FinalCode: 552}, "1 message rejected (552)"},
	} {
		s := newSession()
		tc.tx.Outcome = smtpdecode.OutcomeRejected
		s.Transactions = []smtpdecode.Transaction{tc.tx}
		if got := Outcome(s); got != tc.want {
			t.Errorf("%+v: Outcome = %q, want %q", tc.tx, got, tc.want)
		}
	}
}
