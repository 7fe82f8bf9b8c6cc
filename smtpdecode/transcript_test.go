package smtpdecode

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of the transcript tests")

// A transcript scripts one connection, one record per line:
//
//	C "EHLO x\r\n"        bytes the client sent (a Go-quoted string)
//	S "250 ok\r\n"        bytes the server sent
//	@+15ms                advance the clock before the next record
//	GAP C 120             bytes lost (GAP S 7; -1 when unknown)
//	CLOSE fin             the end: fin, rst or open
//	OPTIONS MaxLine=64    decoder Options, before the first record
//
// Blank lines and lines starting with # are ignored. Every record happens at
// the clock's time; the clock starts at the session start.
type transcript struct {
	opts    Options
	records []record
}

type recordKind uint8

const (
	recData recordKind = iota
	recGap
	recClose
)

type record struct {
	kind recordKind
	dir  Direction
	data []byte
	gap  int
	how  Closed
	at   time.Duration // since the session start
}

func parseTranscript(text string) (*transcript, error) {
	t := &transcript{}
	var clock time.Duration
	closed := false
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if closed {
			return nil, fmt.Errorf("line %d: record after CLOSE", i+1)
		}
		word, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		r := record{at: clock}
		switch {
		case word == "C" || word == "S":
			s, err := strconv.Unquote(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %q: %v", i+1, rest, err)
			}
			r.kind, r.dir, r.data = recData, dirOf(word), []byte(s)
		case strings.HasPrefix(word, "@+") && rest == "":
			dt, err := time.ParseDuration(word[2:])
			if err != nil || dt < 0 {
				return nil, fmt.Errorf("line %d: bad clock step %q", i+1, word)
			}
			clock += dt
			continue
		case word == "GAP":
			d, n, _ := strings.Cut(rest, " ")
			size, err := strconv.Atoi(strings.TrimSpace(n))
			if (d != "C" && d != "S") || err != nil {
				return nil, fmt.Errorf("line %d: want GAP C|S <bytes>: %q", i+1, line)
			}
			r.kind, r.dir, r.gap = recGap, dirOf(d), size
		case word == "CLOSE":
			r.kind = recClose
			switch rest {
			case "fin":
				r.how = ClosedFIN
			case "rst":
				r.how = ClosedRST
			case "open":
				r.how = ClosedOpen
			default:
				return nil, fmt.Errorf("line %d: want CLOSE fin|rst|open: %q", i+1, line)
			}
			closed = true
		case word == "OPTIONS":
			if len(t.records) > 0 {
				return nil, fmt.Errorf("line %d: OPTIONS after the first record", i+1)
			}
			if err := parseOptions(&t.opts, rest); err != nil {
				return nil, fmt.Errorf("line %d: %v", i+1, err)
			}
			continue
		default:
			return nil, fmt.Errorf("line %d: unknown record %q", i+1, line)
		}
		t.records = append(t.records, r)
	}
	if !closed {
		return nil, fmt.Errorf("no CLOSE record")
	}
	return t, nil
}

func dirOf(s string) Direction {
	if s == "S" {
		return FromServer
	}
	return FromClient
}

func parseOptions(o *Options, s string) error {
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("option %q: %v", f, err)
		}
		switch k {
		case "MaxLine":
			o.MaxLine = n
		case "MaxCommands":
			o.MaxCommands = n
		case "MaxPending":
			o.MaxPending = n
		case "MaxHold":
			o.MaxHold = n
		default:
			return fmt.Errorf("unknown option %q", k)
		}
	}
	return nil
}

// t0 is the start of every scripted session.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

var testConn = Conn{
	Client: netip.MustParseAddrPort("192.0.2.10:40000"),
	Server: netip.MustParseAddrPort("198.51.100.25:25"),
	Start:  t0,
}

// A splitter cuts one record's bytes into the pieces fed to the decoder.
type splitter func(p []byte) [][]byte

func splitWhole(p []byte) [][]byte { return [][]byte{p} }

func splitLines(p []byte) [][]byte {
	var out [][]byte
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n') + 1
		if i == 0 {
			i = len(p)
		}
		out = append(out, p[:i])
		p = p[i:]
	}
	return out
}

// splitEvery cuts p into n-byte pieces after a first piece of first bytes.
func splitEvery(first, n int) splitter {
	return func(p []byte) [][]byte {
		var out [][]byte
		size := first
		for len(p) > 0 {
			k := min(size, len(p))
			out = append(out, p[:k])
			p = p[k:]
			size = n
		}
		return out
	}
}

// splitRandom cuts at random places, mostly small pieces, sometimes large.
func splitRandom(seed uint64) splitter {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	return func(p []byte) [][]byte {
		var out [][]byte
		for len(p) > 0 {
			var k int
			if r.IntN(4) == 0 {
				k = 1 + r.IntN(64)
			} else {
				k = 1 + r.IntN(7)
			}
			k = min(k, len(p))
			out = append(out, p[:k])
			p = p[k:]
		}
		return out
	}
}

type splitMode struct {
	name  string
	split func() splitter // a fresh splitter per run: random ones keep state
}

var splitModes = []splitMode{
	{"whole", func() splitter { return splitWhole }},
	{"lines", func() splitter { return splitLines }},
	{"bytes", func() splitter { return splitEvery(1, 1) }},
	{"pairs-even", func() splitter { return splitEvery(2, 2) }},
	{"pairs-odd", func() splitter { return splitEvery(1, 2) }},
	{"random-1", func() splitter { return splitRandom(1) }},
	{"random-2", func() splitter { return splitRandom(2) }},
	{"random-3", func() splitter { return splitRandom(3) }},
	{"random-4", func() splitter { return splitRandom(4) }},
	{"random-5", func() splitter { return splitRandom(5) }},
}

// play feeds a transcript to a new Decoder, each record cut by split. Every
// piece is a fresh copy, scribbled over once Feed returns, so that a decoder
// keeping p after Feed shows up as a wrong result.
func play(t *transcript, split splitter) *Session {
	d := New(testConn, t.opts)
	for _, r := range t.records {
		ts := t0.Add(r.at)
		switch r.kind {
		case recData:
			for _, piece := range split(r.data) {
				p := bytes.Clone(piece)
				d.Feed(r.dir, p, ts)
				for i := range p {
					p[i] = 0xff
				}
			}
		case recGap:
			d.Gap(r.dir, r.gap, ts)
		case recClose:
			return d.Close(ts, r.how)
		}
	}
	panic("transcript without CLOSE")
}

// dump writes a Session compactly and deterministically, times relative to
// the session start.
func dump(s *Session) string {
	var b strings.Builder
	rel := func(ts time.Time) string {
		if ts.IsZero() {
			return "never"
		}
		return "+" + ts.Sub(s.Start).String()
	}
	reply := func(label string, r *Reply, from time.Time) {
		fmt.Fprintf(&b, "    %s %03d at %s", label, r.Code, rel(r.Time))
		if !from.IsZero() {
			fmt.Fprintf(&b, " (after %v)", r.Time.Sub(from))
		}
		b.WriteByte('\n')
		for _, l := range r.Lines {
			fmt.Fprintf(&b, "      %q\n", l)
		}
		if r.Decoded != "" {
			fmt.Fprintf(&b, "      decoded %q\n", r.Decoded)
		}
	}
	fmt.Fprintf(&b, "session %s..%s closed %s\n", rel(s.Start), rel(s.End), s.Closed)
	if s.Greeting != nil {
		reply("greeting", s.Greeting, time.Time{})
	} else {
		b.WriteString("    no greeting\n")
	}
	for i, c := range s.Commands {
		fmt.Fprintf(&b, "%d %s at %s", i+1, c.Kind, rel(c.Time))
		if c.Kind == KindCommand {
			fmt.Fprintf(&b, " verb %q arg %q", c.Verb, c.Arg)
		}
		if c.Kind == KindCommand || c.Kind == KindAuthResponse {
			fmt.Fprintf(&b, " line %q", c.Line)
		}
		if c.Secret {
			b.WriteString(" secret")
		}
		if c.LostReply {
			b.WriteString(" lost-reply")
		}
		if c.Decoded != "" {
			fmt.Fprintf(&b, " decoded %q", c.Decoded)
		}
		b.WriteByte('\n')
		if m := c.Message; m != nil {
			fmt.Fprintf(&b, "    message %d bytes %d lines %s..%s terminated %v missing %d\n",
				m.Bytes, m.Lines, rel(m.Start), rel(m.End), m.Terminated, m.Missing)
		}
		if c.Reply != nil {
			from := c.Time
			if c.Kind == KindUnmatched {
				from = time.Time{}
			}
			reply("reply", c.Reply, from)
		}
	}
	for _, g := range s.Gaps {
		fmt.Fprintf(&b, "gap %s %d at %s\n", dirName(g.Dir), g.Bytes, rel(g.Time))
	}
	fmt.Fprintf(&b, "tls %v implicit %v tls-bytes C %d S %d\n", s.TLS, s.ImplicitTLS, s.TLSBytes[FromClient], s.TLSBytes[FromServer])
	fmt.Fprintf(&b, "bytes C %d S %d missing C %d S %d\n", s.Bytes[FromClient], s.Bytes[FromServer], s.Missing[FromClient], s.Missing[FromServer])
	fmt.Fprintf(&b, "dropped commands %d\n", s.DroppedCommands)
	if s.Helo != nil {
		fmt.Fprintf(&b, "helo %s %q\n", s.Helo.Verb, s.Helo.Name)
	}
	for _, e := range s.Extensions {
		fmt.Fprintf(&b, "extension %s %q\n", e.Name, e.Params)
	}
	if a := s.Auth; a != nil {
		fmt.Fprintf(&b, "auth %s user %q authzid %q password %q code %d success %v decoded %v cancelled %v undecodable %v\n",
			a.Mechanism, a.Username, a.Authzid, a.Password, a.Code, a.Success, a.Decoded, a.Cancelled, a.Undecodable)
	}
	if s.StartTLS || s.TLSInfo.Version != "" || s.TLSInfo.SNI != "" {
		fmt.Fprintf(&b, "starttls %v version %q sni %q cipher %q\n", s.StartTLS, s.TLSInfo.Version, s.TLSInfo.SNI, s.TLSInfo.Cipher)
	}
	for i, t := range s.Transactions {
		fmt.Fprintf(&b, "transaction %d from %q %v mail %d data %d final %d queue %q outcome %s bytes %d 8bit %v\n",
			i+1, t.MailFrom, t.MailParams, t.MailCode, t.DataCode, t.FinalCode, t.QueueID, t.Outcome, t.MessageBytes, t.EightBit)
		for _, r := range t.Rcpts {
			fmt.Fprintf(&b, "    rcpt %q %v %d\n", r.Address, r.Params, r.Code)
		}
	}
	for _, a := range s.Anomalies {
		fmt.Fprintf(&b, "anomaly %s %s command %d count %d: %s\n", a.ID, dirName(a.Dir), a.Command+1, a.Count, a.Detail)
	}
	if s.DroppedAnomalies > 0 || s.DroppedTransactions > 0 {
		fmt.Fprintf(&b, "dropped anomalies %d transactions %d\n", s.DroppedAnomalies, s.DroppedTransactions)
	}
	return b.String()
}

func dirName(d Direction) string {
	if d == FromServer {
		return "S"
	}
	return "C"
}

func readTranscript(tb testing.TB, path string) *transcript {
	tb.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	tr, err := parseTranscript(string(text))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return tr
}

func transcriptFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "transcripts", "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no transcripts: %v", err)
	}
	return files
}

// TestTranscripts plays every transcript in every chunking and compares the
// Session with its golden file: TCP may cut a stream anywhere.
func TestTranscripts(t *testing.T) {
	for _, path := range transcriptFiles(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		t.Run(name, func(t *testing.T) {
			tr := readTranscript(t, path)
			golden := strings.TrimSuffix(path, ".txt") + ".golden"
			got := dump(play(tr, splitWhole))
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			for _, m := range splitModes {
				got := dump(play(tr, m.split()))
				if got != string(want) {
					t.Errorf("%s: session differs from %s:\n%s", m.name, golden, lineDiff(string(want), got))
				}
			}
		})
	}
}

// lineDiff shows the first differing lines of two dumps.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s\n--- got:\n%s", i+1, wl, gl, got)
		}
	}
	return "(equal)"
}

func TestParseTranscript(t *testing.T) {
	tr, err := parseTranscript(`
# a comment
OPTIONS MaxLine=64 MaxHold=10
S "220 x\r\n"
@+15ms
C "EHLO \x16\r\n"
@+1s
GAP C -1
GAP S 7
CLOSE rst
`)
	if err != nil {
		t.Fatal(err)
	}
	if o := tr.opts; o.MaxLine != 64 || o.MaxHold != 10 || o.MaxCommands != 0 || o.MaxPending != 0 || o.MaxData != 0 || o.MaxText != 0 || o.Content != nil {
		t.Errorf("options %+v", tr.opts)
	}
	want := []record{
		{kind: recData, dir: FromServer, data: []byte("220 x\r\n")},
		{kind: recData, dir: FromClient, data: []byte("EHLO \x16\r\n"), at: 15 * time.Millisecond},
		{kind: recGap, dir: FromClient, gap: -1, at: 1015 * time.Millisecond},
		{kind: recGap, dir: FromServer, gap: 7, at: 1015 * time.Millisecond},
		{kind: recClose, how: ClosedRST, at: 1015 * time.Millisecond},
	}
	if len(tr.records) != len(want) {
		t.Fatalf("got %d records, want %d", len(tr.records), len(want))
	}
	for i, r := range tr.records {
		w := want[i]
		if r.kind != w.kind || r.dir != w.dir || !bytes.Equal(r.data, w.data) || r.gap != w.gap || r.how != w.how || r.at != w.at {
			t.Errorf("record %d: got %+v, want %+v", i, r, w)
		}
	}
	for _, bad := range []string{
		`C EHLO`,
		`X "a"`,
		`GAP Q 1`,
		`GAP C x`,
		`CLOSE maybe`,
		`@+xs`,
		`C "a"`, // no CLOSE
		"CLOSE fin\nC \"a\"",
		"C \"a\"\nOPTIONS MaxLine=1\nCLOSE fin",
		"OPTIONS Max=1\nCLOSE fin",
	} {
		if _, err := parseTranscript(bad); err == nil {
			t.Errorf("parseTranscript(%q) succeeded", bad)
		}
	}
}

func TestSplitters(t *testing.T) {
	p := []byte("ab\ncd\r\nef")
	for _, m := range splitModes {
		for range 3 {
			pieces := m.split()(p)
			if got := bytes.Join(pieces, nil); !bytes.Equal(got, p) {
				t.Errorf("%s: pieces join to %q", m.name, got)
			}
			for _, piece := range pieces {
				if len(piece) == 0 {
					t.Errorf("%s: empty piece", m.name)
				}
			}
		}
	}
	if got := len(splitEvery(1, 2)(p)); got != 5 {
		t.Errorf("pairs-odd: %d pieces", got)
	}
	if got := len(splitLines(p)); got != 3 {
		t.Errorf("lines: %d pieces", got)
	}
}
