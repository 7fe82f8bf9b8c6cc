package replay

import (
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/smtpdecode"
)

// FuzzGenerate: whatever a session holds, the send program and the
// fixture parse, type-check, and declare nothing but their runtime's
// functions and the expected data: no captured byte becomes code.
func FuzzGenerate(f *testing.F) {
	huge := strings.Repeat("x", 10000) // past every line limit (512, 1000, 4096)
	f.Add("EHLO", "client.example.com", "PLAIN AHdoYgBzM2NyZXQtcGFzcw==", "Subject: hi\r\n\r\nbody\r\n", uint8(0))
	f.Add("`*/", "\"quoted\" \\ `backtick` */ /*", "\x00\xff\xfe", "\u202e\x1b[31m\r\n.\r\n..\r\n", uint8(1))
	f.Add("EH\r\nLO", "a\nb\rc", "LOGIN d2hi", ".\r\n", uint8(2))
	f.Add(huge, huge+"\n", "CRAM-MD5", huge, uint8(3))
	f.Add("MAIL", "FROM:<a@b> BODY=8BITMIME", "XOAUTH2 =", "*/ }\nfunc init() { panic(1) } /*", uint8(4))
	f.Add("220 mail ESMTP\r\n", "EHLO x\r\nAUTH LOGIN\r\nd2hi\r\ncGFzcw==\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n.x\r\n.\r\nQUIT\r\n",
		"250-mail\r\n250 AUTH LOGIN\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n221 bye\r\n", "", uint8(5))
	f.Add("220 x\r\n", "EHLO x\r\nSTARTTLS\r\n\x16\x03\x01", "250 STARTTLS\r\n220 go\r\n", "", uint8(6))
	f.Add("220 x\r\n", "EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nBDAT 3\r\nabcBDAT 2 LAST\r\nde", "250 x\r\n250 a\r\n250 b\r\n250 c\r\n250 d\r\n", "", uint8(7))
	f.Fuzz(func(t *testing.T, a, b, c, d string, n uint8) {
		if len(a)+len(b)+len(c)+len(d) > 64<<10 {
			t.Skip("too large to check quickly")
		}
		sessions := []*smtpdecode.Session{fuzzSession(a, b, c, d, n), fuzzDecoded(a, b, c, n)}
		for _, s := range sessions {
			Describe(s)
			for _, o := range []Options{
				{Capture: a, Addr: b, EmbedSecrets: n&1 != 0},
				{Capture: d, Fixture: true, Package: "fx", EmbedSecrets: n&2 != 0},
			} {
				var src bytes.Buffer
				if err := Generate(&src, s, o); err != nil {
					t.Fatalf("Generate(%+v): %v", o, err)
				}
				checkSource(t, src.Bytes(), o.Fixture, "")
			}
		}
	})
}

// fuzzSession builds a session by hand, fuzz strings in every field the
// generator reads (the decoder would never put a CR or LF in a line).
func fuzzSession(a, b, c, d string, n uint8) *smtpdecode.Session {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(k int) time.Time {
		if n&4 != 0 {
			return t0 // everything at once: one batch
		}
		return t0.Add(time.Duration(k) * time.Millisecond)
	}
	reply := func(k, code int, lines ...string) *smtpdecode.Reply {
		if n&8 != 0 && k%3 == 0 {
			return nil
		}
		return &smtpdecode.Reply{Time: at(k), Code: code, Lines: lines}
	}
	msg := func(data string) *smtpdecode.Message {
		m := &smtpdecode.Message{Data: []byte(data), Bytes: int64(len(data)), Terminated: n&16 == 0}
		if n&32 != 0 {
			m.Bytes++
		}
		return m
	}
	authArg := b + " " + c
	cmds := []smtpdecode.Command{
		{Time: at(1), Verb: a, Arg: b, Line: a + " " + b, Reply: reply(1, int(n)*4, c, d)},
		{Time: at(2), Verb: "EHLO", Arg: c, Line: "EHLO " + c, Reply: reply(2, 250, a, "AUTH "+b)},
		{Time: at(3), Verb: "AUTH", Arg: authArg, Line: "AUTH " + authArg, Secret: true, Reply: reply(3, 334, d)},
		{Time: at(4), Kind: smtpdecode.KindAuthResponse, Line: d, Secret: true, Reply: reply(4, 334, a)},
		{Time: at(5), Kind: smtpdecode.KindAuthResponse, Line: a, Reply: reply(5, 235, b)},
		{Time: at(6), Verb: "MAIL", Arg: "FROM:<" + a + ">", Line: "MAIL FROM:<" + a + ">", Reply: reply(6, 250, b)},
		{Time: at(7), Verb: "RCPT", Arg: "TO:<" + b + ">", Line: "RCPT TO:<" + b + ">", Reply: reply(7, 550, c)},
		{Time: at(8), Verb: "DATA", Line: "DATA", Reply: reply(8, 354, d)},
		{Time: at(9), Kind: smtpdecode.KindMessage, Message: msg(d), Reply: reply(9, 250, a)},
		{Time: at(10), Kind: smtpdecode.KindUnmatched, Reply: reply(10, 421, b)},
		{Time: at(11), Verb: "BDAT", Arg: c, Line: "BDAT " + c, Message: msg(a), Reply: reply(11, 250)},
		{Time: at(12), Kind: smtpdecode.KindAuthResponse, Line: c, Secret: n&64 != 0},
		{Time: at(13), Verb: "STARTTLS", Line: "STARTTLS", Reply: reply(13, 220, a)},
	}
	s := &smtpdecode.Session{
		ID:              int64(n),
		Client:          netip.MustParseAddrPort("[fe80::1%eth0]:1"),
		Server:          netip.AddrPortFrom(netip.MustParseAddr("fe80::2").WithZone(a), 25),
		Start:           t0,
		Greeting:        reply(0, 220, a, b),
		Commands:        cmds[:int(n)%(len(cmds)+1)],
		TLS:             n%3 == 0,
		ImplicitTLS:     n%5 == 0,
		StartTLS:        n%3 == 0,
		TLSInfo:         smtpdecode.TLSInfo{SNI: b},
		DroppedCommands: int(n % 4),
		Helo:            &smtpdecode.Helo{Verb: "EHLO", Name: c},
		Sides:           a,
		Missing:         [2]int64{int64(n % 2), 0},
	}
	if len(s.Commands) > 2 {
		s.Auth = &smtpdecode.AuthResult{Auth: smtpdecode.DecodeAuth(authArg, []smtpdecode.AuthTurn{{FromServer: true, Text: d}, {Text: d}}), Command: 2, Code: 235}
	}
	s.Transactions = []smtpdecode.Transaction{{MailFrom: a, Rcpts: []smtpdecode.Recipient{{Address: b, Code: 550}}, Command: 5, Message: msg(d), MessageBytes: int64(len(d)), Outcome: smtpdecode.OutcomeRejected}}
	return s
}

// fuzzDecoded decodes greeting, client and server bytes, interleaved line by
// line, the way the lead decodes captures.
func fuzzDecoded(greeting, fromClient, fromServer string, n uint8) *smtpdecode.Session {
	pieces := []piece{server(0, greeting)}
	cl := strings.SplitAfter(fromClient, "\n")
	sv := strings.SplitAfter(fromServer, "\n")
	for i := 0; i < len(cl) || i < len(sv); i++ {
		at := time.Duration(i+1) * time.Millisecond
		if n&1 != 0 {
			at = 0
		}
		if i < len(cl) {
			pieces = append(pieces, client(at, cl[i]))
		}
		if i < len(sv) {
			pieces = append(pieces, server(at, sv[i]))
		}
	}
	return decodeTranscript(pieces...)
}

var (
	checkMu  sync.Mutex
	checkImp types.Importer // shared: it caches the standard library
	runtimes = map[bool]map[string]bool{}
)

// checkSource parses and type-checks generated source, and checks that it
// declares only the runtime's functions and types and the data's names.
func checkSource(t *testing.T, src []byte, fixture bool, pkg string) {
	t.Helper()
	checkMu.Lock()
	defer checkMu.Unlock()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "gen.go", src, parser.ParseComments)
	if err != nil {
		t.Fatalf("the generated source does not parse: %v\n%s", err, head(src))
	}
	if checkImp == nil {
		checkImp = importer.Default()
	}
	conf := types.Config{Importer: checkImp}
	if _, err := conf.Check(f.Name.Name, fset, []*ast.File{f}, nil); err != nil {
		t.Fatalf("the generated source does not type-check: %v\n%s", err, head(src))
	}
	want := runtimeDecls(t, fixture)
	data := regexp.MustCompile(`^(summary|capturedServer|capturedSNI|implicitTLS|greeting|script|content\d+|csImplicitTLS|csSNI|csGreeting|csEhlo|csSteps|csContent\d+)$`)
	for _, d := range f.Decls {
		for _, name := range declNames(d) {
			if _, isFunc := d.(*ast.FuncDecl); isFunc && !want[name] {
				t.Fatalf("the generated source declares a function the runtime does not: %s", name)
			}
			if !want[name] && !data.MatchString(name) {
				t.Fatalf("the generated source declares %s", name)
			}
		}
	}
	// The header comment stays a comment: it is the package's doc, and the
	// package clause is the expected one.
	if pkg == "" {
		pkg = "main"
		if fixture {
			pkg = "fx"
		}
	}
	if f.Name.Name != pkg || f.Doc == nil || !strings.HasPrefix(f.Doc.Text(), "This ") && !strings.HasPrefix(f.Doc.Text(), "WARNING: ") {
		t.Fatalf("the header is not the package comment of package %s:\n%s", pkg, head(src))
	}
	if rawLiteral(f) {
		t.Fatalf("a raw string literal in the generated source")
	}
}

// runtimeDecls are the names a runtime template declares.
func runtimeDecls(t *testing.T, fixture bool) map[string]bool {
	if m, ok := runtimes[fixture]; ok {
		return m
	}
	rt := sendRuntime
	if fixture {
		rt = fixtureRuntime
	}
	f, err := parser.ParseFile(token.NewFileSet(), "rt.go", "package p\n"+strings.Replace(rt, dataMarker, "", 1), 0)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, d := range f.Decls {
		for _, n := range declNames(d) {
			m[n] = true
		}
	}
	runtimes[fixture] = m
	return m
}

func declNames(d ast.Decl) []string {
	var names []string
	switch d := d.(type) {
	case *ast.FuncDecl:
		if d.Recv == nil {
			names = append(names, d.Name.Name)
		} else {
			names = append(names, "method "+d.Name.Name)
		}
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.ValueSpec:
				for _, n := range s.Names {
					names = append(names, n.Name)
				}
			case *ast.TypeSpec:
				names = append(names, s.Name.Name)
			}
		}
	}
	return names
}

// rawLiteral reports whether f holds a raw (backquoted) string literal.
func rawLiteral(f *ast.File) bool {
	raw := false
	ast.Inspect(f, func(n ast.Node) bool {
		if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.STRING && strings.HasPrefix(l.Value, "`") {
			raw = true
		}
		return !raw
	})
	return raw
}

func head(b []byte) []byte {
	if len(b) > 4000 {
		return b[:4000]
	}
	return b
}
