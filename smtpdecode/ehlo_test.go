package smtpdecode

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParseExtensions(t *testing.T) {
	tests := []struct {
		name  string
		lines []string // the EHLO reply's lines after the first
		want  []Extension
	}{
		{
			"Postfix",
			[]string{"PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING"},
			[]Extension{{"PIPELINING", []string{}}, {"SIZE", []string{"10240000"}}, {"VRFY", []string{}}, {"ETRN", []string{}},
				{"STARTTLS", []string{}}, {"ENHANCEDSTATUSCODES", []string{}}, {"8BITMIME", []string{}}, {"DSN", []string{}},
				{"SMTPUTF8", []string{}}, {"CHUNKING", []string{}}},
		},
		{
			"aiosmtpd",
			[]string{"SIZE 33554432", "8BITMIME", "SMTPUTF8", "AUTH LOGIN PLAIN", "HELP"},
			[]Extension{{"SIZE", []string{"33554432"}}, {"8BITMIME", []string{}}, {"SMTPUTF8", []string{}},
				{"AUTH", []string{"LOGIN", "PLAIN"}}, {"HELP", []string{}}},
		},
		{
			"old AUTH= form after AUTH",
			[]string{"AUTH LOGIN PLAIN CRAM-MD5", "AUTH=LOGIN PLAIN"},
			[]Extension{{"AUTH", []string{"LOGIN", "PLAIN", "CRAM-MD5"}}},
		},
		{
			"old AUTH= form first, with a mechanism only it lists",
			[]string{"AUTH=LOGIN PLAIN XOAUTH2", "SIZE", "AUTH LOGIN PLAIN CRAM-MD5"},
			[]Extension{{"AUTH", []string{"LOGIN", "PLAIN", "XOAUTH2", "CRAM-MD5"}}, {"SIZE", []string{}}},
		},
		{
			"old AUTH= form alone",
			[]string{"AUTH=LOGIN"},
			[]Extension{{"AUTH", []string{"LOGIN"}}},
		},
		{
			"AUTH= without a mechanism",
			[]string{"AUTH="},
			[]Extension{{"AUTH", []string{}}},
		},
		{
			"lower-case keywords, words kept as sent",
			[]string{"pipelining", "size 1000", "auth login Plain", "auth=LOGIN plain", "8bitmime"},
			[]Extension{{"PIPELINING", []string{}}, {"SIZE", []string{"1000"}}, {"AUTH", []string{"login", "Plain"}}, {"8BITMIME", []string{}}},
		},
		{
			"SIZE without a value",
			[]string{"SIZE"},
			[]Extension{{"SIZE", []string{}}},
		},
		{
			"blank lines and extra spaces",
			[]string{"", "  ", "SIZE   2048 ", "\tDSN"},
			[]Extension{{"SIZE", []string{"2048"}}, {"DSN", []string{}}},
		},
		{
			"keyword with non-ASCII bytes kept",
			[]string{"x-ünï 1"},
			[]Extension{{"X-üNï", []string{"1"}}},
		},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		got := ParseExtensions(tt.lines)
		if !extensionsEqual(got, tt.want) {
			t.Errorf("%s: ParseExtensions(%q) =\n  %v\nwant\n  %v", tt.name, tt.lines, got, tt.want)
		}
	}
}

// extensionsEqual compares extensions, an empty Params the same as nil.
func extensionsEqual(a, b []Extension) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || len(a[i].Params) != len(b[i].Params) {
			return false
		}
		if len(a[i].Params) > 0 && !reflect.DeepEqual(a[i].Params, b[i].Params) {
			return false
		}
	}
	return true
}

func TestParseExtensionsCapped(t *testing.T) {
	var lines []string
	for i := range 100 {
		lines = append(lines, fmt.Sprintf("X-EXT%d %d", i, i))
	}
	// AUTH past the cap still merges into an AUTH kept before it.
	lines = append([]string{"AUTH LOGIN"}, append(lines, "AUTH=PLAIN")...)
	got := ParseExtensions(lines)
	if len(got) != maxExtensions {
		t.Fatalf("%d extensions kept, want %d", len(got), maxExtensions)
	}
	if got[0].Name != "AUTH" || !reflect.DeepEqual(got[0].Params, []string{"LOGIN", "PLAIN"}) {
		t.Errorf("first extension %v, want AUTH [LOGIN PLAIN]", got[0])
	}
	if last := got[maxExtensions-1]; last.Name != fmt.Sprintf("X-EXT%d", maxExtensions-2) {
		t.Errorf("last extension kept %v", last)
	}
}

// TestParseExtensionsKeepsInput checks that ParseExtensions does not write
// into the lines' words (the AUTH= form builds a new list).
func TestParseExtensionsKeepsInput(t *testing.T) {
	lines := []string{"AUTH=LOGIN PLAIN", "AUTH CRAM-MD5"}
	a := ParseExtensions(lines)
	b := ParseExtensions(lines)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a[0].Params, []string{"LOGIN", "PLAIN", "CRAM-MD5"}) {
		t.Errorf("ParseExtensions twice: %v, then %v", a, b)
	}
}

func TestSessionOffers(t *testing.T) {
	s := &Session{Extensions: ParseExtensions([]string{"pipelining", "AUTH=LOGIN", "SIZE 1000", "8BITMIME"})}
	for _, name := range []string{"PIPELINING", "AUTH", "SIZE", "8BITMIME"} {
		if !s.Offers(name) {
			t.Errorf("Offers(%q) = false", name)
		}
	}
	for _, name := range []string{"pipelining", "AUTH=LOGIN", "CHUNKING", "SMTPUTF8", ""} {
		if s.Offers(name) {
			t.Errorf("Offers(%q) = true", name)
		}
	}
	if (&Session{}).Offers("PIPELINING") {
		t.Error("a session without extensions offers PIPELINING")
	}
}

func TestSessionSizeLimit(t *testing.T) {
	tests := []struct {
		lines []string
		want  int64
	}{
		{[]string{"SIZE 10240000"}, 10240000},
		{[]string{"size 52428800"}, 52428800},
		{[]string{"PIPELINING", "SIZE 35882577", "8BITMIME"}, 35882577},
		{[]string{"SIZE"}, 0},
		{[]string{"SIZE 0"}, 0},
		{[]string{"SIZE -5"}, 0},
		{[]string{"SIZE ten"}, 0},
		{[]string{"SIZE 99999999999999999999999"}, 0},
		{[]string{"PIPELINING"}, 0},
		{nil, 0},
	}
	for _, tt := range tests {
		s := &Session{Extensions: ParseExtensions(tt.lines)}
		if got := s.SizeLimit(); got != tt.want {
			t.Errorf("SizeLimit of %q = %d, want %d", tt.lines, got, tt.want)
		}
	}
}

func TestQueueID(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"Postfix", "2.0.0 Ok: queued as 4ABC12DEF", "4ABC12DEF"},
		{"Postfix long id", "2.0.0 Ok: queued as 4Tx3Lb0MqFz1xyz", "4Tx3Lb0MqFz1xyz"},
		{"Exim", "OK id=1vXyZa-000Abc-1x", "1vXyZa-000Abc-1x"},
		{"Sendmail", "2.0.0 4AMCa1b2003456 Message accepted for delivery", "4AMCa1b2003456"},
		{"Gmail", "2.0.0 OK  1700000000 a1-20020a170902e80100b001c72f51b84csi123456plf.123 - gsmtp",
			"a1-20020a170902e80100b001c72f51b84csi123456plf.123"},
		{"Exchange", "2.6.0 <msgid@host> [InternalId=12345, Hostname=X] Queued mail for delivery", "12345"},
		{"queued with an id in parentheses", "Message Queued (5F3C1234-AB12-4C5D-9E8F-0123456789AB.1)", "5F3C1234-AB12-4C5D-9E8F-0123456789AB.1"},
		{"queued id", "2.0.0 queued (id 0004A1B2)", "0004A1B2"},
		{"aiosmtpd", "2.0.0 Ok: queued", ""},
		{"bare OK", "OK", ""},
		{"empty", "", ""},
		{"Message queued", "Message queued", ""},
		{"queued successfully", "2.0.0 Message queued successfully", ""},
		{"queued internally", "OK queued internally", ""},
		{"queued for delivery", "2.0.0 Message queued for delivery", ""},
		{"Exchange without InternalId", "2.6.0 <msgid@host> Queued mail for delivery", ""},
		{"accepted", "2.0.0 Message accepted", ""},
		{"Sendmail-like, too short", "2.0.0 abc Message accepted", ""},
		{"octets received", "2.0.0 10 octets received", ""},
		{"qmail", "ok 1700000000 qp 12345", ""},
		{"rejected", "5.7.1 Message rejected as spam", ""},
	}
	for _, tt := range tests {
		if got := QueueID(tt.text); got != tt.want {
			t.Errorf("%s: QueueID(%q) = %q, want %q", tt.name, tt.text, got, tt.want)
		}
	}
}

// TestQueueIDOrdinaryReplies checks that ordinary replies to the end of a
// message, which hold no queue id, give none, in any case.
func TestQueueIDOrdinaryReplies(t *testing.T) {
	for _, text := range []string{
		"Ok", "2.0.0 Ok", "2.0.0 OK", "Ok: queued", "2.0.0 Ok: queued", "queued", "Queued",
		"Message accepted for delivery", "2.0.0 Message accepted for delivery", "Requested mail action okay, completed",
		"2.0.0 Queued! (#2.0.0)", "Mail queued for delivery.", "2.6.0 Queued mail for delivery",
	} {
		if got := QueueID(text); got != "" {
			t.Errorf("QueueID(%q) = %q, want none", text, got)
		}
		if got := QueueID(strings.ToUpper(text)); got != "" {
			t.Errorf("QueueID(%q) = %q, want none", strings.ToUpper(text), got)
		}
	}
}

// TestQueueIDWords: every pattern has the word that lets it run, and the
// word is in what the pattern matches (lower-cased).
func TestQueueIDWords(t *testing.T) {
	if len(queueIDWords) != len(queueIDPatterns) {
		t.Fatalf("%d words for %d patterns", len(queueIDWords), len(queueIDPatterns))
	}
	for i, w := range queueIDWords {
		if w != strings.ToLower(w) || !strings.Contains(strings.ToLower(queueIDPatterns[i].String()), strings.TrimSpace(w)) {
			t.Errorf("word %q does not belong to pattern %s", w, queueIDPatterns[i])
		}
	}
}
