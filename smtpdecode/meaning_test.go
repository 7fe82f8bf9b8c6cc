package smtpdecode

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestEnhancedCodeString(t *testing.T) {
	tests := []struct {
		code EnhancedCode
		want string
	}{
		{EnhancedCode{5, 7, 8}, "5.7.8"},
		{EnhancedCode{2, 0, 0}, "2.0.0"},
		{EnhancedCode{4, 7, 30}, "4.7.30"},
		{EnhancedCode{5, 999, 999}, "5.999.999"},
		{EnhancedCode{}, "0.0.0"},
	}
	for _, tt := range tests {
		if got := tt.code.String(); got != tt.want {
			t.Errorf("%v.String() = %q, want %q", [3]int(tt.code), got, tt.want)
		}
	}
}

func TestParseEnhancedCode(t *testing.T) {
	tests := []struct {
		text string
		code EnhancedCode
		rest string
		ok   bool
	}{
		{"5.7.8 Authentication credentials invalid", EnhancedCode{5, 7, 8}, "Authentication credentials invalid", true},
		{"2.1.5 Ok", EnhancedCode{2, 1, 5}, "Ok", true},
		{"4.7.0", EnhancedCode{4, 7, 0}, "", true},
		{"5.7.8 ", EnhancedCode{5, 7, 8}, "", true},
		{"5.7.8  two spaces", EnhancedCode{5, 7, 8}, " two spaces", true},
		{"4.7.30 REQUIRETLS support required", EnhancedCode{4, 7, 30}, "REQUIRETLS support required", true},
		{"5.999.999 x", EnhancedCode{5, 999, 999}, "x", true},
		{"5.007.010 leading zeros", EnhancedCode{5, 7, 10}, "leading zeros", true},
		{"2.0.0 5.7.8", EnhancedCode{2, 0, 0}, "5.7.8", true},

		// Malformed.
		{"", EnhancedCode{}, "", false},
		{"5", EnhancedCode{}, "5", false},
		{"5.7", EnhancedCode{}, "5.7", false},
		{"5.7.", EnhancedCode{}, "5.7.", false},
		{"5.7. x", EnhancedCode{}, "5.7. x", false},
		{"5.7.8x", EnhancedCode{}, "5.7.8x", false},
		{"5.7.8.", EnhancedCode{}, "5.7.8.", false},
		{"5.7.8-x", EnhancedCode{}, "5.7.8-x", false},
		{"5.7.8\tx", EnhancedCode{}, "5.7.8\tx", false},
		{"6.0.0", EnhancedCode{}, "6.0.0", false},
		{"3.0.0 x", EnhancedCode{}, "3.0.0 x", false},
		{"0.0.0", EnhancedCode{}, "0.0.0", false},
		{"1.0.0", EnhancedCode{}, "1.0.0", false},
		{"55.7.8", EnhancedCode{}, "55.7.8", false},
		{"5.1000.1", EnhancedCode{}, "5.1000.1", false},
		{"5.1.1000", EnhancedCode{}, "5.1.1000", false},
		{"5..8 x", EnhancedCode{}, "5..8 x", false},
		{"5.7..8", EnhancedCode{}, "5.7..8", false},
		{".5.7.8", EnhancedCode{}, ".5.7.8", false},
		{" 5.7.8", EnhancedCode{}, " 5.7.8", false},
		{"5,7,8 x", EnhancedCode{}, "5,7,8 x", false},
		{"5.-1.0 x", EnhancedCode{}, "5.-1.0 x", false},
		{"5.7.+8 x", EnhancedCode{}, "5.7.+8 x", false},
		{"5.a.8 x", EnhancedCode{}, "5.a.8 x", false},
		{"Authentication credentials invalid", EnhancedCode{}, "Authentication credentials invalid", false},
		{"dXNlcm5hbWU6", EnhancedCode{}, "dXNlcm5hbWU6", false},
		{"５.7.8 x", EnhancedCode{}, "５.7.8 x", false},
	}
	for _, tt := range tests {
		code, rest, ok := ParseEnhancedCode(tt.text)
		if code != tt.code || rest != tt.rest || ok != tt.ok {
			t.Errorf("ParseEnhancedCode(%q) = %v, %q, %v; want %v, %q, %v",
				tt.text, [3]int(code), rest, ok, [3]int(tt.code), tt.rest, tt.ok)
		}
	}
}

// meaningListedReplyCodes are the basic codes ReplyMeaning documents.
var meaningListedReplyCodes = []int{
	211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421, 432, 450, 451,
	452, 454, 455, 500, 501, 502, 503, 504, 521, 523, 530, 534, 535, 538,
	550, 551, 552, 553, 554, 555, 556,
}

func TestReplyMeaning(t *testing.T) {
	tests := []struct {
		code int
		want string
	}{
		{211, "system status"},
		{214, "help message"},
		{220, "service ready"},
		{221, "service closing connection"},
		{235, "authentication succeeded"},
		{250, "requested action completed"},
		{251, "user not local, will forward"},
		{252, "cannot verify user, will try delivery"},
		{334, "server challenge"},
		{354, "start mail input"},
		{421, "service not available, closing connection"},
		{432, "password transition needed"},
		{450, "mailbox temporarily unavailable"},
		{451, "requested action aborted: local error"},
		{452, "insufficient system storage"},
		{454, "temporary authentication or tls failure"},
		{455, "cannot accommodate parameters"},
		{500, "syntax error, command unrecognized"},
		{501, "syntax error in arguments"},
		{502, "command not implemented"},
		{503, "bad sequence of commands"},
		{504, "command parameter not implemented"},
		{521, "host does not accept mail"},
		{523, "encryption needed"},
		{530, "authentication or starttls required"},
		{534, "authentication mechanism too weak"},
		{535, "authentication credentials invalid"},
		{538, "encryption required for authentication mechanism"},
		{550, "mailbox unavailable"},
		{551, "user not local"},
		{552, "exceeded storage allocation"},
		{553, "mailbox name not allowed"},
		{554, "transaction failed"},
		{555, "mail from/rcpt to parameters unrecognized"},
		{556, "domain does not accept mail"},

		// Unknown.
		{0, ""},
		{-250, ""},
		{200, ""},
		{299, ""},
		{300, ""},
		{333, ""},
		{449, ""},
		{559, ""},
		{600, ""},
		{999, ""},
		{2500, ""},
	}
	for _, tt := range tests {
		if got := ReplyMeaning(tt.code); got != tt.want {
			t.Errorf("ReplyMeaning(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// TestReplyMeaningListed checks that the codes with a meaning are exactly the
// documented ones, and that each is a valid reply code.
func TestReplyMeaningListed(t *testing.T) {
	var have []int
	for code := range meaningReply {
		have = append(have, code)
	}
	sort.Ints(have)
	if got, want := meaningFmtInts(have), meaningFmtInts(meaningListedReplyCodes); got != want {
		t.Errorf("codes with a meaning = %s, documented %s", got, want)
	}
	for _, code := range meaningListedReplyCodes {
		if ReplyMeaning(code) == "" {
			t.Errorf("ReplyMeaning(%d) is empty", code)
		}
		if !CodeValid(code) {
			t.Errorf("CodeValid(%d) = false for a code with a meaning", code)
		}
	}
}

func meaningFmtInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

func TestEnhancedMeaning(t *testing.T) {
	tests := []struct {
		code EnhancedCode
		want string
	}{
		{EnhancedCode{5, 7, 8}, "authentication credentials invalid"},
		{EnhancedCode{4, 7, 8}, "authentication credentials invalid"},
		{EnhancedCode{2, 7, 8}, "authentication credentials invalid"},
		{EnhancedCode{5, 1, 1}, "bad destination mailbox address"},
		{EnhancedCode{4, 1, 1}, "bad destination mailbox address"},
		{EnhancedCode{2, 0, 0}, "other undefined status"},
		{EnhancedCode{5, 0, 0}, "other undefined status"},
		{EnhancedCode{2, 1, 0}, "other address status"},
		{EnhancedCode{2, 1, 5}, "destination address valid"},
		{EnhancedCode{5, 1, 10}, "recipient address has null mx"},
		{EnhancedCode{4, 2, 2}, "mailbox full"},
		{EnhancedCode{5, 3, 4}, "message too big for system"},
		{EnhancedCode{4, 4, 1}, "no answer from host"},
		{EnhancedCode{5, 5, 1}, "invalid command"},
		{EnhancedCode{5, 5, 6}, "authentication exchange line too long"},
		{EnhancedCode{5, 6, 7}, "non-ascii addresses not permitted"},
		{EnhancedCode{5, 6, 10}, EnhancedMeaning(EnhancedCode{5, 6, 8})},
		{EnhancedCode{2, 7, 0}, "other or undefined security status"},
		{EnhancedCode{5, 7, 1}, "delivery not authorized, message refused"},
		{EnhancedCode{5, 7, 9}, "authentication mechanism is too weak"},
		{EnhancedCode{5, 7, 10}, "encryption needed"},
		{EnhancedCode{5, 7, 11}, "encryption required for authentication mechanism"},
		{EnhancedCode{4, 7, 12}, "password transition needed"},
		{EnhancedCode{5, 7, 26}, "multiple authentication checks failed"},
		{EnhancedCode{5, 7, 30}, "requiretls support required"},

		// Unknown pairs.
		{EnhancedCode{5, 0, 1}, ""},
		{EnhancedCode{5, 1, 11}, ""},
		{EnhancedCode{5, 2, 5}, ""},
		{EnhancedCode{5, 7, 31}, ""},
		{EnhancedCode{5, 8, 0}, ""},
		{EnhancedCode{5, 999, 999}, ""},
		{EnhancedCode{5, -1, 0}, ""},
		// Classes other than 2, 4 and 5 are not enhanced codes.
		{EnhancedCode{3, 7, 8}, ""},
		{EnhancedCode{6, 0, 0}, ""},
		{EnhancedCode{0, 7, 8}, ""},
		{EnhancedCode{}, ""},
	}
	for _, tt := range tests {
		if got := EnhancedMeaning(tt.code); got != tt.want {
			t.Errorf("EnhancedMeaning(%v) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// TestEnhancedMeaningRegistry checks that every subject.detail pair of the
// IANA registry has a meaning, for each class, and that no other pair has one.
func TestEnhancedMeaningRegistry(t *testing.T) {
	// Highest registered detail for each subject 0-7.
	last := []int{0, 10, 4, 6, 7, 6, 10, 30}
	n := 0
	for subject, top := range last {
		for detail := 0; detail <= top; detail++ {
			n++
			for _, class := range []int{2, 4, 5} {
				if EnhancedMeaning(EnhancedCode{class, subject, detail}) == "" {
					t.Errorf("EnhancedMeaning(%d.%d.%d) is empty", class, subject, detail)
				}
			}
		}
	}
	if len(meaningEnhanced) != n {
		t.Errorf("%d subject.detail pairs have a meaning, want %d", len(meaningEnhanced), n)
	}
}

// TestMeaningStyle checks that every meaning is short, lowercase and has no
// trailing period.
func TestMeaningStyle(t *testing.T) {
	check := func(what, m string) {
		t.Helper()
		if words := len(strings.Fields(m)); words < 2 || words > 6 {
			t.Errorf("%s: %q has %d words, want 2-6", what, m, words)
		}
		if strings.ToLower(m) != m {
			t.Errorf("%s: %q is not lowercase", what, m)
		}
		if strings.TrimSpace(m) != m || strings.HasSuffix(m, ".") {
			t.Errorf("%s: %q has surrounding space or a trailing period", what, m)
		}
	}
	for code, m := range meaningReply {
		check(strconv.Itoa(code), m)
	}
	for k, m := range meaningEnhanced {
		check("X."+strconv.Itoa(k[0])+"."+strconv.Itoa(k[1]), m)
	}
}

func TestMeaning(t *testing.T) {
	tests := []struct {
		code int
		text string
		want string
	}{
		// A specific enhanced code wins over the basic code.
		{535, "5.7.8 Authentication credentials invalid", "authentication credentials invalid"},
		{550, "5.1.1 <nobody@example.com>: Recipient address rejected", "bad destination mailbox address"},
		{250, "2.1.5 Ok", "destination address valid"},
		{452, "4.5.3 Too many recipients", "too many recipients"},
		{554, "5.7.1 Relay access denied", "delivery not authorized, message refused"},
		{530, "5.7.0 Must issue a STARTTLS command first", "authentication or starttls required"},
		{553, "5.6.7 non-ASCII address", "non-ascii addresses not permitted"},
		// Enhanced code only on the first line given; text after it is free.
		{550, "5.2.2 5.7.1 mailbox full", "mailbox full"},

		// A generic X.Y.0 code says less than a known basic code.
		{250, "2.0.0 Ok: queued as 4F2A1", "requested action completed"},
		{221, "2.0.0 Bye", "service closing connection"},
		{250, "2.1.0 Ok", "requested action completed"},
		{235, "2.7.0 Authentication successful", "authentication succeeded"},
		{451, "4.3.0 Error: queue file write error", "requested action aborted: local error"},
		// ... but is used when the basic code is unknown.
		{559, "5.7.0 Blocked by policy", "other or undefined security status"},
		{259, "2.0.0 something", "other undefined status"},

		// No enhanced code, or an unknown or malformed one: the basic code.
		{220, "mx.example.com ESMTP Postfix", "service ready"},
		{354, "End data with <CR><LF>.<CR><LF>", "start mail input"},
		{334, "VXNlcm5hbWU6", "server challenge"},
		{535, "", "authentication credentials invalid"},
		{550, "5.1.99 unknown detail", "mailbox unavailable"},
		{550, "5.9.1 unknown subject", "mailbox unavailable"},
		{535, "5.7", "authentication credentials invalid"},
		{535, "5.7.8x", "authentication credentials invalid"},
		{550, "6.0.0 bad class", "mailbox unavailable"},
		{550, "5.1000.1 too long", "mailbox unavailable"},
		{550, " 5.1.1 leading space", "mailbox unavailable"},

		// The enhanced code's class must agree with the reply's.
		{550, "4.2.2 mailbox full", "mailbox unavailable"},
		{250, "5.7.8 odd", "requested action completed"},
		{354, "2.0.0 go ahead", "start mail input"},
		{334, "5.7.8 x", "server challenge"},

		// Nothing known.
		{559, "no code here", ""},
		{559, "5.9.9 unknown", ""},
		{0, "5.7.8 not a reply code", ""},
		{999, "5.7.8 invalid reply code", ""},
		{-535, "5.7.8", ""},
	}
	for _, tt := range tests {
		if got := Meaning(tt.code, tt.text); got != tt.want {
			t.Errorf("Meaning(%d, %q) = %q, want %q", tt.code, tt.text, got, tt.want)
		}
	}
}

func TestCodeValid(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{200, true},
		{211, true},
		{250, true},
		{259, true},
		{334, true},
		{354, true},
		{421, true},
		{459, true},
		{500, true},
		{535, true},
		{550, true},
		{559, true},
		{599, false}, // second digit 9
		{260, false},
		{361, false},
		{470, false},
		{580, false},
		{199, false},
		{100, false},
		{600, false},
		{650, false},
		{0, false},
		{-250, false},
		{25, false},
		{2500, false},
		{5550, false},
	}
	for _, tt := range tests {
		if got := CodeValid(tt.code); got != tt.want {
			t.Errorf("CodeValid(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
	// Exhaustively against the RFC 5321 grammar:
	// Reply-code = %x32-35 %x30-35 %x30-39.
	re := regexp.MustCompile(`^[2-5][0-5][0-9]$`)
	for code := -10; code < 1100; code++ {
		if got, want := CodeValid(code), re.MatchString(strconv.Itoa(code)); got != want {
			t.Errorf("CodeValid(%d) = %v, want %v", code, got, want)
		}
	}
}

// meaningEnhancedRE is RFC 3463's status-code grammar (class "2"/"4"/"5",
// subject and detail 1*3digit) followed by a space or the end of the text.
var meaningEnhancedRE = regexp.MustCompile(`^([245])\.([0-9]{1,3})\.([0-9]{1,3})(?: |$)`)

func FuzzParseEnhancedCode(f *testing.F) {
	for _, s := range []string{
		"5.7.8 Authentication credentials invalid",
		"2.1.5 Ok",
		"4.7.0",
		"5.7.8 ",
		"5.999.999 x",
		"5.007.010 y",
		"",
		"5.7",
		"5.7.8x",
		"6.0.0",
		"5.1000.1",
		"5.1.1000",
		"5..8 x",
		" 5.7.8",
		"5.7.8\tx",
		"５.7.8",
		"dXNlcm5hbWU6",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		code, rest, ok := ParseEnhancedCode(text)
		m := meaningEnhancedRE.FindStringSubmatch(text)
		if ok != (m != nil) {
			t.Fatalf("ParseEnhancedCode(%q) ok = %v, grammar says %v", text, ok, m != nil)
		}
		if !ok {
			if code != (EnhancedCode{}) || rest != text {
				t.Fatalf("ParseEnhancedCode(%q) = %v, %q on failure", text, [3]int(code), rest)
			}
			return
		}
		var want EnhancedCode
		for i := range want {
			want[i], _ = strconv.Atoi(m[i+1])
		}
		if code != want || rest != text[len(m[0]):] {
			t.Fatalf("ParseEnhancedCode(%q) = %v, %q; want %v, %q", text, [3]int(code), rest, [3]int(want), text[len(m[0]):])
		}
		// The code prints in a form that parses back to itself.
		again, rest2, ok2 := ParseEnhancedCode(code.String() + " " + rest)
		if !ok2 || again != code || rest2 != rest {
			t.Fatalf("round trip of %v, %q = %v, %q, %v", [3]int(code), rest, [3]int(again), rest2, ok2)
		}
		if s := EnhancedMeaning(code); s != "" && s != strings.ToLower(s) {
			t.Fatalf("EnhancedMeaning(%v) = %q is not lowercase", code, s)
		}
	})
}
