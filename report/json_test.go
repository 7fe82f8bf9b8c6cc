package report

import (
	"bytes"
	"encoding/json"
	"math"
	"net/netip"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// trickyStrings are spelt in every way JSON text can spell a character.
var trickyStrings = []string{
	"",
	"plain ASCII, spaces and punctuation: !#$%'()*+,-./:;=?@[]^_`{|}~",
	"\x00\x01\x07\x1b\x1f",
	"\b\f\n\r\t",
	"\x1b[31mred\x1b[0m \x1b]0;title\x07",
	"del\x7f",
	"c1 \u0080\u0085\u009b\u009f, nbsp \u00a0, soft hyphen \u00ad",
	"invalid \xff\xfe, cut \xe2\x80, overlong \xc0\xaf, surrogate \xed\xa0\x80, \xf4\x90\x80\x80",
	"\xe2\x80",
	"line sep \u2028 paragraph sep \u2029",
	"bidi \u202egnp.exe\u202c, \u2066isolate\u2069, zero width \u200b\u200d, bom \ufeff",
	"<script>&amp;</script>",
	`"quoted" and back\slash \u0041 \\`,
	"Grüße, 你好, Привет",
	"non-BMP 😀 𝄞 \U0010ffff",
	"tags \U000e0067\U000e0062\U000e007f, musical \U0001d173, \U000110bd",
	"replacement \ufffd",
	"a\u0301 combining",
}

// oldString is s as the JSON writer spelt it when encoding/json wrote it.
func oldString(t testing.TB, s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(escapeInvisible(b.Bytes()), []byte("\n")))
}

func TestJSONString(t *testing.T) {
	for _, s := range trickyStrings {
		if got, want := string(appendJSONString(nil, s)), oldString(t, s); got != want {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	}
	// The value stays the same (but for invalid UTF-8, made U+FFFD, and
	// runes past U+FFFF that are format characters: see appendUnicodeEscape).
	in := "del\x7f c1\u009b bidi\u202e plain é \x1b\u2028 😀"
	got := appendJSONString(nil, in)
	if want := `"del\u007f c1\u009b bidi\u202e plain é \u001b\u2028 😀"`; string(got) != want {
		t.Errorf("appendJSONString = %s, want %s", got, want)
	}
	var back string
	if err := json.Unmarshal(got, &back); err != nil || back != in {
		t.Errorf("decodes to %q, %v", back, err)
	}
}

func FuzzJSONString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, s)), oldString(t, s); got != want {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func TestJSONFloat(t *testing.T) {
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e-6, 9.99e-7, -1e-7, 1.5e-9, 1e20, 1e21, -1e21, 1.2345e22,
		123.456789, 1e-3, 5e-324, math.MaxFloat64, float64(math.MaxInt64) / 1e6, float64(math.MinInt64) / 1e6} {
		checkFloat(t, f)
	}
}

func FuzzJSONFloat(f *testing.F) {
	f.Add(1.5)
	f.Add(1e-7)
	f.Fuzz(func(t *testing.T, v float64) {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			checkFloat(t, v)
		}
	})
}

func checkFloat(t *testing.T, f float64) {
	t.Helper()
	want, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	e := jsonEnc{b: []byte("[")}
	e.float("", f)
	if got := string(e.b[1:]); got != string(want) {
		t.Errorf("float %v = %s, want %s", f, got, want)
	}
}

// fullSession is a session with every member the JSON can hold, its strings
// taken from str in turn and its numbers from n, which also picks which
// optional members are left out; each turn is dt after the last.
func fullSession(str func() string, n int64, dt time.Duration) *smtpdecode.Session {
	at := t0
	k := int(uint64(n) % 420) // picks what is in or out
	next := func() time.Time { at = at.Add(dt); return at }
	m := k % 3
	lines := func() []string { // nil, empty or not, in turn
		switch m++; m % 3 {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		return []string{str(), str()}
	}
	rep := func(code int) *smtpdecode.Reply {
		return &smtpdecode.Reply{Time: next(), Code: code, Lines: append(lines(), str()), Decoded: str()}
	}
	cmd := func(line string, secret bool) smtpdecode.Command {
		verb, arg := smtpdecode.ParseCommand([]byte(line))
		return smtpdecode.Command{Time: next(), Kind: smtpdecode.KindCommand, Verb: verb, Arg: arg, Line: line, Secret: secret, Reply: rep(250)}
	}
	pm := &message.Message{
		Size: n, SHA256: str(), DroppedParts: int(n % 5), Preview: str(), Problems: lines(),
		Header: message.Header{From: lines(), Sender: lines(), ReplyTo: lines(), To: lines(), Cc: lines(), Bcc: lines(),
			Subject: str(), Date: str(), MessageID: str(), InReplyTo: str(), UserAgent: str(), Received: int(n % 7),
			FirstReceived: str(), LastReceived: str(), ContentType: str()},
		Parts: []message.Part{
			{Path: "1", ContentType: "multipart/mixed", Problems: lines()},
			{Path: str(), Depth: 1, ContentType: str(), Charset: str(), Encoding: str(), Disposition: str(), Filename: str(), Size: n, SHA256: str(), Attachment: true, Problems: lines()},
			{Path: str(), Depth: 1, ContentType: str(), Charset: str(), Size: -n},
		},
	}
	msg := &smtpdecode.Message{Bytes: n, Lines: n / 2, Terminated: k%2 == 0, Missing: n % 4, Parsed: pm}
	cmds := []smtpdecode.Command{
		cmd("EHLO "+str(), false),
		cmd(str(), false),
		cmd("XYZZY "+str(), false),
		cmd("AUTH PLAIN "+str(), true),
		cmd("AUTH LOGIN", false),
		{Time: next(), Kind: smtpdecode.KindAuthResponse, Line: str(), Secret: true, Reply: rep(334)},
		{Time: next(), Kind: smtpdecode.KindAuthResponse, Line: str(), Decoded: str(), Reply: rep(535)},
		cmd("MAIL FROM:<"+str()+"> SIZE=10", false),
		cmd("DATA", false),
		{Time: next(), Kind: smtpdecode.KindMessage, Message: msg, Reply: rep(250), LostReply: k%2 == 1},
		{Time: next(), Kind: smtpdecode.KindMessage, Message: &smtpdecode.Message{Bytes: n}},
		{Time: next(), Kind: smtpdecode.KindUnmatched, Reply: rep(421)},
		{Time: next(), Kind: smtpdecode.KindCommand, Verb: "QUIT", Line: "QUIT", LostReply: true},
	}
	cmds[1].Reply.Lines = []string{"2.1.0 " + str()}
	cmds[2].Reply = &smtpdecode.Reply{Time: cmds[2].Time.Add(-dt), Code: 550, Lines: []string{"5.7.1 " + str(), str()}}
	cmds[6].Reply.Lines = []string{"5.7.8", str()}
	s := newSession(cmds...)
	s.ID, s.Packets, s.Sides = n, int(n%1000), str()
	s.Client = netip.MustParseAddrPort("[2001:db8::1]:40001")
	s.Greeting.Lines, s.Greeting.Time = lines(), next()
	s.Gaps = []smtpdecode.Gap{{Time: next(), Dir: smtpdecode.FromServer, Bytes: int(n)}, {Time: next(), Bytes: -1}}[:k%3]
	s.TLS, s.ImplicitTLS, s.StartTLS = k%2 == 0, k%4 == 0, k%4 == 2
	s.TLSInfo = smtpdecode.TLSInfo{Version: str(), SNI: str(), Cipher: str(), ALPN: lines(), ClientVersions: lines()}
	s.TLSBytes = [2]int64{n, 2 * n}
	s.Bytes, s.Missing = [2]int64{n, n + 1}, [2]int64{n % 3, n % 5}
	s.DroppedCommands, s.DroppedAnomalies, s.DroppedTransactions, s.DroppedGaps = k%2, k%3, k%4, k%5
	s.End = next()
	s.Helo = &smtpdecode.Helo{Verb: "EHLO", Name: str()}
	s.Extensions = []smtpdecode.Extension{{Name: str(), Params: lines()}, {Name: "AUTH", Params: []string{str(), str()}}}
	s.Auth = &smtpdecode.AuthResult{Code: int(n % 600), Success: k%2 == 0, Command: 3, Auth: smtpdecode.Auth{
		Mechanism: str(), Username: str(), Authzid: str(), Password: str(), Decoded: k%3 == 0, Cancelled: k%5 == 0,
		Steps: []smtpdecode.AuthStep{{Raw: str(), Decoded: str()}, {FromServer: true, Raw: str(), Decoded: str(), Undecodable: true},
			{Raw: str(), Decoded: str(), Secret: true}}}}
	s.Transactions = []smtpdecode.Transaction{
		{MailFrom: str(), MailParams: []smtpdecode.Param{{Name: str(), Value: str()}}, MailCode: 250,
			Rcpts:    []smtpdecode.Recipient{{Address: str(), Code: 250}, {Address: str(), Params: []smtpdecode.Param{{Name: str()}}, Code: 550}},
			DataCode: 354, FinalCode: 250, QueueID: str(), MessageBytes: n, Outcome: smtpdecode.OutcomeAccepted, Message: msg},
		{MailFrom: str(), Outcome: smtpdecode.OutcomeRejected, FinalCode: 554, Message: &smtpdecode.Message{}},
	}
	s.Anomalies = []smtpdecode.Anomaly{
		{ID: smtpdecode.AnomalyID(str()), Detail: str(), Command: 3, Count: int(n)},
		{ID: smtpdecode.AnomalyBareLF, Dir: smtpdecode.FromServer, Detail: str(), Command: 9, Count: 1},
		{ID: smtpdecode.AnomalyBareCR, Detail: str(), Command: 11},
		{ID: smtpdecode.AnomalyLineTooLong, Detail: str(), Command: -1},
		{ID: smtpdecode.AnomalyLineTooLong, Detail: str(), Command: 99},
	}
	if k%7 == 0 {
		s.Greeting, s.Helo, s.Auth, s.Commands, s.Extensions = nil, nil, nil, nil, nil
	}
	return s
}

// checkJSON checks that the JSON writer writes s as it did when
// encoding/json wrote it.
func checkJSON(t *testing.T, s *smtpdecode.Session) {
	t.Helper()
	for _, o := range []Options{{}, {ShowSecrets: true}} {
		want, err := oldJSON(s, o)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := NewJSON(&got, o).Session(s); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("%+v:\n got %s\nwant %s", o, got.Bytes(), want)
		}
	}
}

// TestJSONAsBefore: every tricky string in every string member, and the
// optional members both in and out.
func TestJSONAsBefore(t *testing.T) {
	for i := range len(trickyStrings) + 7 {
		k := i
		str := func() string { k++; return trickyStrings[k%len(trickyStrings)] }
		checkJSON(t, fullSession(str, int64(i*(i-1)), time.Duration(i*i*i)*123457))
	}
}

func FuzzJSON(f *testing.F) {
	for i, s := range trickyStrings {
		f.Add(s, trickyStrings[(i+1)%len(trickyStrings)], int64(i), int64(i)*1e6+7)
	}
	f.Fuzz(func(t *testing.T, a, b string, n, dt int64) {
		k := 0
		str := func() string {
			k++
			if k%2 == 0 {
				return a
			}
			return b
		}
		checkJSON(t, fullSession(str, n, time.Duration(dt)))
	})
}

// TestJSONSessionWritten: a session is one line of valid JSON, whatever
// the session before it.
func TestJSONSessionWritten(t *testing.T) {
	var b bytes.Buffer
	j := NewJSON(&b, Options{})
	long := newSession()
	for range 100 {
		long.Commands = append(long.Commands, smtpdecode.Command{Time: t0, Verb: "NOOP", Line: "NOOP"})
	}
	for _, s := range []*smtpdecode.Session{long, newSession(), long} {
		b.Reset()
		if err := j.Session(s); err != nil {
			t.Fatal(err)
		}
		line := b.Bytes()
		if !json.Valid(line) || bytes.IndexByte(line, '\n') != len(line)-1 || !utf8.Valid(line) {
			t.Errorf("not one line of JSON: %s", line)
		}
	}
}

// TestJSONNonBMPEscape: an escaped rune past U+FFFF (a flag emoji's tag
// characters) reads back as itself.
func TestJSONNonBMPEscape(t *testing.T) {
	in := "flag \U0001F3F4\U000E0067\U000E0062\U000E007F end"
	var out string
	if err := json.Unmarshal(appendJSONString(nil, in), &out); err != nil || out != in {
		t.Errorf("%q read back as %q (%v)", appendJSONString(nil, in), out, err)
	}
}
