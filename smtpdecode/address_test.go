package smtpdecode

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		name     string
		arg, kw  string
		addr     string
		params   []Param
		problems []string
		ok       bool
	}{
		{"plain", "FROM:<a@b.c>", "FROM", "a@b.c", nil, nil, true},
		{"lower-case keyword", "from:<a@b.c>", "FROM", "a@b.c", nil, nil, true},
		{"mixed-case keyword", "To:<a@b.c>", "TO", "a@b.c", nil, nil, true},
		{"space after the colon", "FROM: <a@b.c>", "FROM", "a@b.c", nil, []string{"space after the colon"}, true},
		{"tab after the colon", "FROM:\t<a@b.c>", "FROM", "a@b.c", nil, []string{"space after the colon"}, true},
		{"no brackets", "FROM:a@b.c", "FROM", "a@b.c", nil, []string{"no angle brackets"}, true},
		{"no brackets, params", "FROM:a@b.c SIZE=5", "FROM", "a@b.c", []Param{{"SIZE", "5"}}, []string{"no angle brackets"}, true},
		{"null path", "FROM:<>", "FROM", "", nil, nil, true},
		{"null path with params", "FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8", "FROM", "",
			[]Param{{"SIZE", "100"}, {"BODY", "8BITMIME"}, {"SMTPUTF8", ""}}, nil, true},
		{"param names upper-cased, values kept", "FROM:<a@b.c> size=100 body=8bitmime ret=hdrs envid=QQ314159",
			"FROM", "a@b.c", []Param{{"SIZE", "100"}, {"BODY", "8bitmime"}, {"RET", "hdrs"}, {"ENVID", "QQ314159"}}, nil, true},
		{"params after several spaces", "FROM:<a@b.c>   SIZE=1", "FROM", "a@b.c", []Param{{"SIZE", "1"}}, nil, true},
		{"param with = in its value", "FROM:<a@b.c> AUTH=<a=b>", "FROM", "a@b.c", []Param{{"AUTH", "<a=b>"}}, nil, true},
		{"source route dropped", "FROM:<@relay,@relay2:a@b.c>", "FROM", "a@b.c", nil, nil, true},
		{"no closing bracket", "FROM:<a@b.c", "FROM", "a@b.c", nil, []string{"no closing angle bracket"}, true},
		{"no closing bracket, params", "FROM:<a@b.c SIZE=10", "FROM", "a@b.c", []Param{{"SIZE", "10"}}, []string{"no closing angle bracket"}, true},
		{"space in the address", "FROM:<a b@c>", "FROM", "a b@c", nil, []string{"invalid character in the address"}, true},
		{"comma in the address", "FROM:<a,b@c>", "FROM", "a,b@c", nil, []string{"invalid character in the address"}, true},
		{"control byte in the address", "FROM:<a\x01b@c>", "FROM", "a\x01b@c", nil, []string{"invalid character in the address"}, true},
		{"quoted local part", `FROM:<"a b"@c.d>`, "FROM", `"a b"@c.d`, nil, nil, true},
		{"quoted local part with > and space", `FROM:<"a> b"@c.d> SIZE=1`, "FROM", `"a> b"@c.d`, []Param{{"SIZE", "1"}}, nil, true},
		{"quoted local part with escaped quote", `FROM:<"a\"b"@c.d>`, "FROM", `"a\"b"@c.d`, nil, nil, true},
		{"quoted local part with @", `TO:<"a@b"@c.d>`, "TO", `"a@b"@c.d`, nil, nil, true},
		{"quoted local part, no closing bracket", `FROM:<"a b"@c.d SIZE=1`, "FROM", `"a b"@c.d`, []Param{{"SIZE", "1"}}, []string{"no closing angle bracket"}, true},
		{"unclosed quote", `FROM:<"a@b.c>`, "FROM", `"a@b.c`, nil, nil, true},
		{"postmaster", "TO:<postmaster>", "TO", "postmaster", nil, nil, true},
		{"Postmaster", "TO:<Postmaster>", "TO", "Postmaster", nil, nil, true},
		{"postmaster at a domain", "TO:<postmaster@b.c>", "TO", "postmaster@b.c", nil, nil, true},
		{"other local part alone", "TO:<root>", "TO", "root", nil, []string{"no @ in the address"}, true},
		{"empty recipient", "TO:<>", "TO", "", nil, []string{"empty address"}, true},
		{"empty domain", "TO:<a@>", "TO", "a@", nil, []string{"empty domain"}, true},
		{"empty local part", "TO:<@b>", "TO", "@b", nil, []string{"empty local part"}, true},
		{"address literal", "TO:<a@[192.0.2.1]>", "TO", "a@[192.0.2.1]", nil, nil, true},
		{"RCPT params", "TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b", "TO", "a@b",
			[]Param{{"NOTIFY", "SUCCESS,FAILURE"}, {"ORCPT", "rfc822;a@b"}}, nil, true},
		{"UTF-8 address", "FROM:<用户@例子.广告> SMTPUTF8", "FROM", "用户@例子.广告", []Param{{"SMTPUTF8", ""}}, nil, true},
		{"UTF-8 recipient", "TO:<δοκιμή@παράδειγμα.δοκιμή>", "TO", "δοκιμή@παράδειγμα.δοκιμή", nil, nil, true},
		{"param name keeps non-ASCII bytes", "FROM:<a@b> sïze=1", "FROM", "a@b", []Param{{"SïZE", "1"}}, nil, true},
		{"display name", "FROM:Ann <a@b.c> SIZE=1", "FROM", "a@b.c", []Param{{"SIZE", "1"}}, []string{"text before the angle bracket"}, true},
		{"quoted display name", `FROM:"Ann <x>" <a@b.c>`, "FROM", "a@b.c", nil, []string{"text before the angle bracket"}, true},
		{"doubled brackets", "FROM:<<a@b.c>> SIZE=1", "FROM", "a@b.c", []Param{{"SIZE", "1"}}, []string{"extra angle brackets"}, true},
		{"stray bracket inside", "FROM:<a<b@c>", "FROM", "ab@c", nil, []string{"stray angle bracket in the address"}, true},
		{"stray bracket, no brackets", "FROM:a>b@c", "FROM", "ab@c", nil, []string{"no angle brackets", "stray angle bracket in the address"}, true},
		{"space and no brackets", "FROM: a@b.c", "FROM", "a@b.c", nil, []string{"space after the colon", "no angle brackets"}, true},
		{"space, no brackets, no @", "FROM: abc", "FROM", "abc", nil, []string{"space after the colon", "no angle brackets", "no @ in the address"}, true},
		{"missing keyword", "<a@b>", "FROM", "", nil, nil, false},
		{"missing keyword for RCPT", "<a@b>", "TO", "", nil, nil, false},
		{"keyword run on", "FROMX:<a@b>", "FROM", "", nil, nil, false},
		{"space before the colon", "FROM :<a@b>", "FROM", "", nil, nil, false},
		{"keyword alone", "FROM", "FROM", "", nil, nil, false},
		{"wrong keyword", "TO:<a@b>", "FROM", "", nil, nil, false},
		{"empty", "", "TO", "", nil, nil, false},
		{"keyword and colon only", "FROM:", "FROM", "", nil, []string{"no angle brackets"}, true},
		{"keyword and colon only, RCPT", "TO:", "TO", "", nil, []string{"no angle brackets", "empty address"}, true},
	}
	for _, tt := range tests {
		addr, params, problems, ok := ParsePath(tt.arg, tt.kw)
		if addr != tt.addr || !reflect.DeepEqual(params, tt.params) || !reflect.DeepEqual(problems, tt.problems) || ok != tt.ok {
			t.Errorf("%s: ParsePath(%q, %q) = %q, %v, %q, %v; want %q, %v, %q, %v",
				tt.name, tt.arg, tt.kw, addr, params, problems, ok, tt.addr, tt.params, tt.problems, tt.ok)
		}
	}
}

// quotedStrings matches RFC 5321 quoted strings, backslash escapes included.
var quotedStrings = regexp.MustCompile(`(?s)"(?:[^"\\]|\\.)*"`)

// FuzzParsePath checks that ParsePath never panics, that the address holds
// no angle bracket outside a quoted string, that parameter names are
// upper-case, and that what it returns comes from the argument.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"FROM:<a@b.c>", "from:<a@b.c>", "FROM: <a@b.c>", "FROM:a@b.c", "FROM:<>",
		"FROM:<> SIZE=100 BODY=8BITMIME SMTPUTF8", "FROM:<@relay,@relay2:a@b.c>", "FROM:<a@b.c",
		"FROM:<a b@c>", `FROM:<"a b"@c.d>`, `FROM:<"a> b"@c.d> x=y`, `FROM:<"a\"b>"@c>`, `FROM:<"a@b.c>`,
		"TO:<postmaster>", "TO:<>", "TO:<a@>", "TO:<@b>", "TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b",
		"<a@b>", "FROMX:<a@b>", "FROM:<用户@例子.广告> SMTPUTF8", "FROM:Ann <a@b>", "FROM:<<a@b>>",
		"FROM:<a<b@c>", "FROM:a>b", `FROM:"<" <a>`, `FROM:<"\`, "FROM:<\"\\\xff\">", "FROM:\xff<a@b> k\xff=v",
		"TO:", "FROM:<<<>>>",
	} {
		f.Add(s, strings.HasPrefix(strings.ToUpper(s), "TO"))
	}
	f.Fuzz(func(t *testing.T, arg string, rcpt bool) {
		kw := "FROM"
		if rcpt {
			kw = "TO"
		}
		addr, params, problems, ok := ParsePath(arg, kw)
		if !ok {
			if addr != "" || params != nil || problems != nil {
				t.Fatalf("ParsePath(%q) not ok but %q, %v, %q", arg, addr, params, problems)
			}
			if len(arg) > len(kw) && strings.EqualFold(arg[:len(kw)], kw) && arg[len(kw)] == ':' {
				t.Fatalf("ParsePath(%q) not ok", arg)
			}
			return
		}
		if bare := quotedStrings.ReplaceAllString(addr, ""); strings.ContainsAny(bare, "<>") {
			t.Fatalf("ParsePath(%q): address %q holds an angle bracket outside quotes", arg, addr)
		}
		if len(addr) > len(arg) {
			t.Fatalf("ParsePath(%q): address %q longer than the argument", arg, addr)
		}
		for _, p := range params {
			if strings.ContainsAny(p.Name, "abcdefghijklmnopqrstuvwxyz") {
				t.Fatalf("ParsePath(%q): parameter name %q not upper-case", arg, p.Name)
			}
			if !strings.Contains(strings.ToUpper(arg), strings.ToUpper(p.Name)) || !strings.Contains(arg, p.Value) {
				t.Fatalf("ParsePath(%q): parameter %v not in the argument", arg, p)
			}
		}
		for _, p := range problems {
			if p == "" {
				t.Fatalf("ParsePath(%q): empty problem in %q", arg, problems)
			}
		}
		// A well-formed path has no problems, and reads back the same.
		if strings.HasPrefix(arg, kw+":<") && len(problems) == 0 {
			rest := arg[len(kw)+1:]
			if !strings.Contains(rest, addr) {
				t.Fatalf("ParsePath(%q): address %q not in the argument", arg, addr)
			}
		}
	})
}
