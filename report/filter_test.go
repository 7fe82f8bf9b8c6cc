package report

import (
	"net/netip"
	"testing"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

func TestMatchAddress(t *testing.T) {
	for _, c := range []struct {
		pattern, addr string
		want          bool
	}{
		{"alice@example.com", "alice@example.com", true},
		{"<Alice@Example.COM>", "alice@example.com", true},
		{"alice@example.com", "bob@example.com", false},
		{"example.com", "alice@example.com", true},
		{"@example.com", "alice@example.com", true},
		{"example.com", "alice@mx.example.com", true},
		{"example.com", "alice@badexample.com", false},
		{"example.com", "example.com", false}, // not an address
		{"*@example.*", "carol@example.org", true},
		{"a?ice@*", "alice@x", true},
		{"*/x@y", "a/b/x@y", true}, // / is an ordinary character
		{"<>", "", true},
		{"", "", true},
		{"<>", "alice@example.com", false},
		{"example.com", "", false},
	} {
		if got := MatchAddress(c.pattern, c.addr); got != c.want {
			t.Errorf("MatchAddress(%q, %q) = %v, want %v", c.pattern, c.addr, got, c.want)
		}
	}
}

func TestParseAddrPattern(t *testing.T) {
	for _, c := range []struct {
		pattern string
		addr    string
		want    bool
	}{
		{"192.0.2.10", "192.0.2.10:40001", true},
		{"192.0.2.0/24", "192.0.2.10:40001", true},
		{"192.0.2.10/24", "192.0.2.99:1", true}, // masked
		{"192.0.3.0/24", "192.0.2.10:40001", false},
		{"192.0.2.10:40001", "192.0.2.10:40001", true},
		{"192.0.2.10:40002", "192.0.2.10:40001", false},
		{"2001:db8::/32", "[2001:db8::1]:25", true},
		{"[2001:db8::1]:25", "[2001:db8::1]:25", true},
		{"192.0.2.10", "[::ffff:192.0.2.10]:25", true},  // mapped
		{"::ffff:192.0.2.0/120", "192.0.2.10:25", true}, // a mapped prefix
		{"::ffff:192.0.2.0/120", "192.0.3.10:25", false},
	} {
		p, err := ParseAddrPattern(c.pattern)
		if err != nil {
			t.Fatalf("ParseAddrPattern(%q): %v", c.pattern, err)
		}
		if got := p.Match(netip.MustParseAddrPort(c.addr)); got != c.want {
			t.Errorf("%q matches %s = %v, want %v", c.pattern, c.addr, got, c.want)
		}
	}
	for _, bad := range []string{"", "example.com", "192.0.2.1:0", "192.0.2.1/99", "1.2.3"} {
		if _, err := ParseAddrPattern(bad); err == nil {
			t.Errorf("ParseAddrPattern(%q) accepted", bad)
		}
	}
}

func TestFilter(t *testing.T) {
	ok := newSession()
	ok.ID = 3
	ok.Transactions = []smtpdecode.Transaction{{MailFrom: "alice@example.com", MailCode: 250,
		Rcpts: []smtpdecode.Recipient{{Address: "bob@example.org", Code: 250}}, Outcome: smtpdecode.OutcomeAccepted}}
	ok.Auth = &smtpdecode.AuthResult{Auth: smtpdecode.Auth{Mechanism: "PLAIN", Username: "alice"}, Code: 235, Success: true}
	failed := newSession()
	failed.ID = 4
	failed.Transactions = []smtpdecode.Transaction{{MailFrom: "", MailCode: 250,
		Rcpts: []smtpdecode.Recipient{{Address: "nobody@example.org", Code: 550}}, Outcome: smtpdecode.OutcomeRejected}}
	anomalous := newSession()
	anomalous.ID = 5
	anomalous.Anomalies = []smtpdecode.Anomaly{{ID: "bare-lf", Count: 1}}
	all := []*smtpdecode.Session{ok, failed, anomalous}

	mustAddr := func(s string) AddrPattern {
		p, err := ParseAddrPattern(s)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"none", Filter{}, []int64{3, 4, 5}},
		{"session", Filter{Sessions: []int64{3, 5}}, []int64{3, 5}},
		{"client", Filter{Clients: []AddrPattern{mustAddr("192.0.2.0/24")}}, []int64{3, 4, 5}},
		{"client other", Filter{Clients: []AddrPattern{mustAddr("203.0.113.0/24")}}, nil},
		{"server port", Filter{Servers: []AddrPattern{mustAddr("198.51.100.25:25")}}, []int64{3, 4, 5}},
		{"from", Filter{From: []string{"example.com"}}, []int64{3}},
		{"null sender", Filter{From: []string{"<>"}}, []int64{4}},
		{"rcpt", Filter{Rcpt: []string{"*@example.org"}}, []int64{3, 4}},
		{"rcpt one", Filter{Rcpt: []string{"bob@example.org"}}, []int64{3}},
		{"auth user", Filter{AuthUser: []string{"ALICE"}}, []int64{3}},
		{"failed", Filter{Failed: true}, []int64{4, 5}},
		{"and", Filter{Failed: true, Rcpt: []string{"example.org"}}, []int64{4}},
		{"or", Filter{Sessions: []int64{3, 4}, From: []string{"alice@example.com", "<>"}}, []int64{3, 4}},
	} {
		var got []int64
		for _, s := range all {
			if c.f.Match(s) {
				got = append(got, s.ID)
			}
		}
		if len(got) != len(c.want) || (len(got) > 0 && !equalIDs(got, c.want)) {
			t.Errorf("%s: selected %v, want %v", c.name, got, c.want)
		}
		if c.name == "none" != c.f.Empty() {
			t.Errorf("%s: Empty() = %v", c.name, c.f.Empty())
		}
	}
}

func equalIDs(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFailed: every kind of failure counts, and a clean session does not.
func TestFailed(t *testing.T) {
	clean := newSession()
	if Failed(clean) {
		t.Error("a clean session counts as failed")
	}
	for name, mod := range map[string]func(*smtpdecode.Session){
		"greeting 554": func(s *smtpdecode.Session) { s.Greeting.Code = 554 },
		"command 421": func(s *smtpdecode.Session) {
			s.Commands = []smtpdecode.Command{{Verb: "HELO", Reply: &smtpdecode.Reply{Code: 421}}}
		},
		"rcpt 450 (commands dropped)": func(s *smtpdecode.Session) {
			s.Transactions = []smtpdecode.Transaction{{Rcpts: []smtpdecode.Recipient{{Code: 450}}}}
		},
		"final 554":         func(s *smtpdecode.Session) { s.Transactions = []smtpdecode.Transaction{{FinalCode: 554}} },
		"anomaly":           func(s *smtpdecode.Session) { s.Anomalies = []smtpdecode.Anomaly{{ID: "x", Count: 1}} },
		"dropped anomalies": func(s *smtpdecode.Session) { s.DroppedAnomalies = 3 },
		"auth 535":          func(s *smtpdecode.Session) { s.Auth = &smtpdecode.AuthResult{Code: 535} },
	} {
		s := newSession()
		mod(s)
		if !Failed(s) {
			t.Errorf("%s: not counted as failed", name)
		}
	}
}
