package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// TestGoldenReports: the summary, the Zeek logs and the HTML report of every recorded capture.
func TestGoldenReports(t *testing.T) {
	for _, name := range cases(t) {
		t.Run(name, func(t *testing.T) {
			in := input(name)
			for _, f := range []struct {
				file string
				args []string
			}{
				{"want.summary.txt", []string{"--summary"}},
				{"want.zeek.log", []string{"--format", "zeek"}},
				{"want.zeek.json", []string{"--format", "zeek-json"}},
			} {
				stdout, stderr, code := runCLI(t, nil, append([]string{"-r", in}, f.args...)...)
				if code != 0 || stderr != "" {
					t.Fatalf("%v: exit %d, stderr %q", f.args, code, stderr)
				}
				golden(t, filepath.Join("../../testdata", name, f.file), strings.ReplaceAll(stdout, in, "input"))
			}
			html := filepath.Join(t.TempDir(), "report.html")
			stdout, stderr, code := runCLI(t, nil, "-r", in, "--html", html)
			if code != 0 || stdout != "" || !strings.Contains(stderr, "wrote "+html) {
				t.Fatalf("--html: exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			page, err := os.ReadFile(html)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("../../testdata", name, "want.html"), withoutAssets(strings.ReplaceAll(string(page), in, "input")))
		})
	}
}

// assetBlock matches the page's embedded style and script, and its CSP that names their hashes.
var assetBlock = regexp.MustCompile(`(?s)(<style[^>]*>).*?(</style>)|(<script[^>]*>).*?(</script>)|(content="default-src)[^"]*(")`)

// withoutAssets leaves the embedded CSS and JS out of a page (the same in every report, checked
// by report's own tests and in Chromium), so that the golden files hold what the capture made.
func withoutAssets(page string) string {
	return assetBlock.ReplaceAllString(page, "$1$3$5 …embedded… $2$4$6")
}

// jsonLines decodes JSON lines into maps.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var v []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Text())
		}
		v = append(v, m)
	}
	return v
}

// allInputs are the recorded captures, in sorted order.
func allInputs(t *testing.T) []string {
	var in []string
	for _, name := range cases(t) {
		in = append(in, input(name))
	}
	slices.Sort(in)
	return in
}

// TestSeveralInputs: several captures give each one's sessions, tagged with its file, in the
// order given, the same on every run, as a glob too; a bad one among them is reported (exit 2)
// and the others still are.
func TestSeveralInputs(t *testing.T) {
	inputs := allInputs(t)
	var args []string
	var want []string // each input's own JSON lines, with its file
	for _, in := range inputs {
		args = append(args, "-r", in)
		stdout, _, code := runCLI(t, nil, "-r", in, "--json")
		if code != 0 {
			t.Fatalf("%s: exit %d", in, code)
		}
		for _, m := range jsonLines(t, stdout) {
			m["file"] = in
			b, _ := json.Marshal(m)
			want = append(want, string(b))
		}
	}
	var first string
	for run := range 3 {
		stdout, stderr, code := runCLI(t, nil, append(args, "--json")...)
		if code != 0 || stderr != "" {
			t.Fatalf("exit %d, stderr %q", code, stderr)
		}
		var got []string
		for _, m := range jsonLines(t, stdout) {
			b, _ := json.Marshal(m)
			got = append(got, string(b))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("run %d: %d sessions, want %d; first lines:\n%s\nwant\n%s", run, len(got), len(want), strings.Join(got[:min(3, len(got))], "\n"), strings.Join(want[:3], "\n"))
		}
		if run == 0 {
			first = stdout
		} else if stdout != first {
			t.Fatalf("run %d differs from run 0", run)
		}
	}
	glob, _, code := runCLI(t, nil, "-r", "../../testdata/*/input.pcap*", "--json")
	if code != 0 || glob != first {
		t.Errorf("the glob gives other output (exit %d)", code)
	}

	// A broken capture in the middle.
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(bad, []byte("not a capture at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	mixed := []string{"-r", inputs[0], "-r", bad, "-r", inputs[1], "--json"}
	stdout, stderr, code := runCLI(t, nil, mixed...)
	if code != exitBadInput || !strings.Contains(stderr, bad) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("bad input: exit %d, stderr %q", code, stderr)
	}
	files := map[string]bool{}
	for _, m := range jsonLines(t, stdout) {
		files[m["file"].(string)] = true
	}
	if !files[inputs[0]] || !files[inputs[1]] {
		t.Errorf("sessions of the good captures missing beside the bad one: %v", files)
	}

	if _, stderr, code := runCLI(t, nil, "-r", "../../testdata/*/nothing-here*"); code != exitBadInput || !strings.Contains(stderr, "no file matches") {
		t.Errorf("a glob matching nothing: exit %d, %q", code, stderr)
	}
}

// TestSeveralInputsExtract: with several captures, each one's messages go to a folder of its own.
func TestSeveralInputsExtract(t *testing.T) {
	a, b := input("multi-rcpt"), input("mime-attachments")
	dir := t.TempDir()
	if _, stderr, code := runCLI(t, nil, "-r", a, "-r", b, "--extract", dir, "--json"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, sub := range []string{"1-" + filepath.Base(a), "2-" + filepath.Base(b)} {
		emls, _ := filepath.Glob(filepath.Join(dir, sub, "*.eml"))
		if len(emls) == 0 {
			t.Errorf("no .eml in %s", sub)
		}
	}

	// The filters choose what is written out too: only b's client here.
	stdout, _, _ := runCLI(t, nil, "-r", b, "--json")
	client := jsonLines(t, stdout)[0]["client"].(string)
	dir = t.TempDir()
	mbox := filepath.Join(dir, "mail.mbox")
	if _, stderr, code := runCLI(t, nil, "-r", a, "-r", b, "--extract", dir, "--mbox", mbox, "--client", client, "--json"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if emls, _ := filepath.Glob(filepath.Join(dir, "1-*", "*.eml")); len(emls) != 0 {
		t.Errorf("a message of a session the filter leaves out was extracted: %v", emls)
	}
	if emls, _ := filepath.Glob(filepath.Join(dir, "2-*", "*.eml")); len(emls) != 1 {
		t.Errorf("%d messages of the selected session extracted, want 1", len(emls))
	}
	m, err := os.ReadFile(mbox)
	if err != nil || strings.Count(string(m), "\nFrom ")+boolInt(strings.HasPrefix(string(m), "From ")) != 1 {
		t.Errorf("mbox holds other than the one selected message (%v):\n%.300s", err, m)
	}
}

// TestFilters: each filter selects the sessions an independent reading of the JSON says it
// should, over every recorded capture, and every output applies it.
func TestFilters(t *testing.T) {
	inputs := allInputs(t)
	// And a capture of three sessions, for --session.
	var segs []pcapgen.Segment
	for i := range 3 {
		segs = append(segs, session(netip.AddrPortFrom(client.Addr(), uint16(30000+i)), server)...)
	}
	inputs = append(inputs, writeTemp(t, "three.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...))))
	var args []string
	for _, in := range inputs {
		args = append(args, "-r", in)
	}
	stdout, _, _ := runCLI(t, nil, append(args, "--json")...)
	all := jsonLines(t, stdout)
	key := func(m map[string]any) string { return fmt.Sprintf("%v#%v", m["file"], m["id"]) }

	failed := func(m map[string]any) bool {
		if a, _ := m["anomalies"].([]any); len(a) > 0 {
			return true
		}
		if g, _ := m["greeting"].(map[string]any); g != nil && g["code"].(float64) >= 400 {
			return true
		}
		for _, c := range m["commands"].([]any) {
			if r, _ := c.(map[string]any)["reply"].(map[string]any); r != nil && r["code"].(float64) >= 400 {
				return true
			}
		}
		return false
	}
	mailFrom := func(want string) func(map[string]any) bool {
		return func(m map[string]any) bool {
			txs, _ := m["transactions"].([]any)
			for _, tx := range txs {
				if strings.EqualFold(tx.(map[string]any)["mail_from"].(string), want) {
					return true
				}
			}
			return false
		}
	}
	authUser := func(want string) func(map[string]any) bool {
		return func(m map[string]any) bool {
			a, _ := m["auth"].(map[string]any)
			return a != nil && a["username"] == want
		}
	}
	// Values that occur in the captures.
	var someFrom, someUser string
	for _, m := range all {
		if txs, _ := m["transactions"].([]any); len(txs) > 0 && someFrom == "" {
			someFrom = txs[0].(map[string]any)["mail_from"].(string)
		}
		if a, _ := m["auth"].(map[string]any); a != nil && someUser == "" {
			someUser, _ = a["username"].(string)
		}
	}
	if someFrom == "" || someUser == "" {
		t.Fatal("no MAIL FROM or AUTH user in the captures")
	}
	for _, c := range []struct {
		args []string
		want func(map[string]any) bool
	}{
		{[]string{"--failed"}, failed},
		{[]string{"--from", someFrom}, mailFrom(someFrom)},
		{[]string{"--auth-user", someUser}, authUser(someUser)},
		{[]string{"--session", "2,3"}, func(m map[string]any) bool { return m["id"].(float64) == 2 || m["id"].(float64) == 3 }},
		{[]string{"--client", "127.0.0.0/8"}, func(m map[string]any) bool { return strings.HasPrefix(m["client"].(string), "127.") }},
		{[]string{"--server", "::/0"}, func(m map[string]any) bool { return strings.HasPrefix(m["server"].(string), "[") }},
		{[]string{"--failed", "--from", someFrom}, func(m map[string]any) bool { return failed(m) && mailFrom(someFrom)(m) }},
	} {
		var want []string
		for _, m := range all {
			if c.want(m) {
				want = append(want, key(m))
			}
		}
		if len(want) == 0 || len(want) == len(all) {
			t.Errorf("%v: selects %d of %d sessions: not a useful test", c.args, len(want), len(all))
		}
		stdout, stderr, code := runCLI(t, nil, append(append(args, "--json"), c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, stderr)
		}
		var got []string
		for _, m := range jsonLines(t, stdout) {
			got = append(got, key(m))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%v: selected %v, want %v", c.args, got, want)
		}
		// The other outputs select the same sessions.
		text, _, _ := runCLI(t, nil, append(args, c.args...)...)
		if n := strings.Count(text, "\nSession ") + boolInt(strings.HasPrefix(text, "Session ")); n != len(want) {
			t.Errorf("%v: text shows %d sessions, want %d", c.args, n, len(want))
		}
		if !strings.Contains(text, fmt.Sprintf("%d of ", len(want))) {
			t.Errorf("%v: text does not say how many were shown: %q", c.args, text[max(0, len(text)-200):])
		}
		sum, _, _ := runCLI(t, nil, append(append(args, "--summary"), c.args...)...)
		if !strings.Contains(sum, fmt.Sprintf("\n%d session", len(want))) {
			t.Errorf("%v: summary totals do not count %d sessions:\n%s", c.args, len(want), sum)
		}
	}
	for _, bad := range [][]string{{"--session", "x"}, {"--client", "example.com"}, {"--from", "[x"}, {"--format", "xml"}, {"--json", "--summary"},
		{"--from", ""}, {"--rcpt", ""}, {"--auth-user", ""}, {"--rcpt", "a@x,,b@x"}, {"--client", ""}} {
		if _, stderr, code := runCLI(t, nil, append([]string{"-r", inputs[0]}, bad...)...); code != exitBadInput || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestScriptInSubject: a capture whose subject, HELO and sender carry markup shows it as text in
// every report: escaped in the HTML page (no element of its own), printable in the summary,
// and as data in the Zeek log.
func TestScriptInSubject(t *testing.T) {
	c := pcapgen.NewConn(client, server, t0)
	segs := c.Handshake()
	segs = append(segs,
		c.FromServer([]byte("220 mx <b>ESMTP</b>\r\n")),
		c.FromClient([]byte("EHLO <img src=x onerror=alert(1)>\r\n")),
		c.FromServer([]byte("250 mx\r\n")),
		c.FromClient([]byte("MAIL FROM:<\"<script>\"@x.test>\r\n")),
		c.FromServer([]byte("250 ok\r\n")),
		c.FromClient([]byte("RCPT TO:<bob@x.test>\r\n")),
		c.FromServer([]byte("250 ok\r\n")),
		c.FromClient([]byte("DATA\r\n")),
		c.FromServer([]byte("354 go\r\n")),
		c.FromClient([]byte("Subject: <script>alert(1)</script>\r\nFrom: a@x.test\r\n\r\nhi\r\n.\r\n")),
		c.FromServer([]byte("250 queued\r\n")),
		c.FromClient([]byte("QUIT\r\n")),
		c.FromServer([]byte("221 bye\r\n")),
		c.ClientFIN(), c.ServerFIN())
	path := writeTemp(t, "script.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...)))

	html := filepath.Join(t.TempDir(), "r.html")
	if _, stderr, code := runCLI(t, nil, "-r", path, "--html", html); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	p := string(page)
	if n := strings.Count(p, "<script"); n != 1 { // the report's own script only
		t.Errorf("%d <script elements in the page", n)
	}
	for _, bad := range []string{"<img", "<b>", "alert(1)</script>"} {
		if strings.Contains(p, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	if !strings.Contains(p, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the subject is not in the page as text")
	}
	sum, _, _ := runCLI(t, nil, "-r", path, "--summary")
	if !strings.Contains(sum, "<script>alert(1)</script>") {
		t.Errorf("the summary does not show the subject as it is:\n%s", sum)
	}
	zeek, _, _ := runCLI(t, nil, "-r", path, "--format", "zeek-json")
	var rec map[string]any
	if err := json.Unmarshal([]byte(zeek), &rec); err != nil || rec["subject"] != "<script>alert(1)</script>" {
		t.Errorf("zeek-json subject %v (%v): %s", rec["subject"], err, zeek)
	}
}

// TestHTMLNotOverInput: --html naming a capture being read is refused, and the capture is kept.
func TestHTMLNotOverInput(t *testing.T) {
	orig, err := os.ReadFile(input("auth-plain"))
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, "v.pcap", orig)
	if _, stderr, code := runCLI(t, nil, "-r", path, "--html", path); code != exitFailure || !strings.Contains(stderr, "also a capture") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if got, _ := os.ReadFile(path); len(got) != len(orig) {
		t.Errorf("the capture is now %d bytes, was %d", len(got), len(orig))
	}
}

// TestHTMLFailedRun: a run that fails (here its stdout) leaves an older report as it was and no
// partial file beside it; a run that succeeds replaces it.
func TestHTMLFailedRun(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "r.html")
	if err := os.WriteFile(report, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-r", input("auth-plain"), "--html", report, "--json"}, nil, &failingWriter{n: 10}, &stderr)
	if code != exitFailure {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if b, _ := os.ReadFile(report); string(b) != "old" {
		t.Errorf("the older report changed: %.50q", b)
	}
	if files, _ := os.ReadDir(dir); len(files) != 1 {
		t.Errorf("files left beside the report: %v", files)
	}
	if _, stderr, code := runCLI(t, nil, "-r", input("auth-plain"), "--html", report); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if b, _ := os.ReadFile(report); !strings.Contains(string(b), "</html>") {
		t.Error("the report was not replaced")
	}
	if fi, err := os.Stat(report); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("report mode %v (%v), want 0600", fi.Mode(), err)
	}
}

// TestInputNamesEscaped: capture names, which a glob may bring in unseen, reach the terminal
// escaped; a missing capture is named even when output fails too; a long list is cut.
func TestInputNamesEscaped(t *testing.T) {
	dir := t.TempDir()
	empty := pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, nil)
	evil := filepath.Join(dir, "a\x1b[2J\x1b]0;pwn\a.pcap")
	if err := os.WriteFile(evil, empty, 0o600); err != nil {
		t.Skip("the file system takes no such name:", err)
	}
	stdout, stderr, code := runCLI(t, nil, "-r", filepath.Join(dir, "*.pcap"))
	if code != 0 || strings.ContainsAny(stdout+stderr, "\x1b\a") || !strings.Contains(stdout, `a\x1b[2J`) {
		t.Errorf("exit %d; stdout %q; stderr %q", code, stdout, stderr)
	}
	missing := filepath.Join(dir, "gone\x1b.pcap")
	var errb bytes.Buffer
	code = run(context.Background(), []string{"-r", missing, "-r", input("auth-plain"), "--json"}, nil, &failingWriter{n: 10}, &errb)
	if code != exitFailure || !strings.Contains(errb.String(), `gone\x1b.pcap`) || strings.Contains(errb.String(), "\x1b") {
		t.Errorf("exit %d, stderr %q: the missing capture must be named, escaped", code, errb.String())
	}
	var many []string
	for i := range 10 {
		p := filepath.Join(dir, fmt.Sprintf("e%d.pcap", i))
		os.WriteFile(p, empty, 0o600)
		many = append(many, "-r", p)
	}
	stdout, _, _ = runCLI(t, nil, many...)
	if !strings.Contains(stdout, "and 7 more") || strings.Contains(stdout, "e9.pcap") {
		t.Errorf("a long list of captures is not cut: %q", stdout)
	}
}

// TestSeveralInputsOddCases: a glob's match named "-" is that file, not standard input; an
// extract folder that cannot be made is an output failure (exit 1), not a bad capture.
func TestSeveralInputsOddCases(t *testing.T) {
	dir := t.TempDir()
	capture, err := os.ReadFile(input("auth-plain"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "-"), capture, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.pcap"), capture, 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, nil, "-r", filepath.Join(dir, "*"), "--json")
	if code != 0 || strings.Count(stdout, "\n") != 2 {
		t.Errorf("exit %d, %d sessions, stderr %q", code, strings.Count(stdout, "\n"), stderr)
	}

	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "1-b.pcap"), nil, 0o600); err != nil { // where a folder must go
		t.Fatal(err)
	}
	_, stderr, code = runCLI(t, nil, "-r", filepath.Join(dir, "b.pcap"), "-r", input("auth-plain"), "--extract", out, "--json")
	if code != exitFailure || !strings.Contains(stderr, "--extract") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
