package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

var (
	client = netip.MustParseAddrPort("192.0.2.10:40001")
	server = netip.MustParseAddrPort("198.51.100.25:25")
	t0     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

// writeTemp writes b to a file in the test's temp dir and returns its path.
func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func pcapOf(t *testing.T, o pcapgen.PcapOptions, pkts []pcapgen.Packet) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pcapgen.WritePcap(&b, o, pkts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readPackets reads a capture file back into pcapgen packets.
func readPackets(t *testing.T, path string) ([]pcapgen.Packet, capture.LinkType) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pkts []pcapgen.Packet
	var link capture.LinkType
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return pkts, link
		}
		if err != nil {
			t.Fatal(err)
		}
		link = p.LinkType
		pkts = append(pkts, pcapgen.Packet{Time: p.Time, Data: bytes.Clone(p.Data), OrigLen: p.Length})
	}
}

// TestInputFormats reads one recorded capture rewritten in every container
// the reader accepts: the conversation must not change.
func TestInputFormats(t *testing.T) {
	orig := input("helo-plain")
	want, _, code := runCLI(t, nil, "-r", orig)
	if code != 0 {
		t.Fatal("exit", code)
	}
	pkts, link := readPackets(t, orig)
	ng := func(be bool) []byte {
		var b bytes.Buffer
		err := pcapgen.WritePcapng(&b, pcapgen.Section{BigEndian: be, Extra: true,
			Interfaces: []pcapgen.Interface{{LinkType: uint32(link), Snaplen: 262144, TsResol: 9}}, Packets: pkts})
		if err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"pcap-nano-big-endian", pcapOf(t, pcapgen.PcapOptions{LinkType: uint32(link), Nano: true, BigEndian: true}, pkts)},
		{"pcapng", ng(false)},
		{"pcapng-big-endian", ng(true)},
		{"pcapng.gz", pcapgen.Gzip(ng(false))},
		{"pcap.gz", pcapgen.Gzip(pcapOf(t, pcapgen.PcapOptions{LinkType: uint32(link)}, pkts))},
	} {
		t.Run(f.name, func(t *testing.T) {
			path := writeTemp(t, "capture", f.data)
			got, stderr, code := runCLI(t, nil, "-r", path)
			if code != 0 || got != strings.ReplaceAll(want, orig, path) {
				t.Errorf("exit %d, stderr %q, output:\n%s\nwant:\n%s", code, stderr, got, want)
			}
			got, _, code = runCLI(t, f.data, "-r", "-")
			if code != 0 || got != strings.ReplaceAll(want, orig, "-") {
				t.Errorf("from stdin: exit %d, output:\n%s", code, got)
			}
		})
	}
}

// session returns a small generated SMTP session with its handshake.
func session(c, s netip.AddrPort) []pcapgen.Segment {
	conn := pcapgen.NewConn(c, s, t0)
	return pcapgen.SMTPSession(conn, rand.New(rand.NewPCG(1, 2)), pcapgen.SMTPOptions{Recipients: 2, MessageBytes: 3000, Handshake: true})
}

// TestLinkTypes runs the same generated session framed in every link type
// and checks it against one golden transcript.
func TestLinkTypes(t *testing.T) {
	v4 := session(client, server)
	v6 := session(netip.MustParseAddrPort("[2001:db8::10]:40001"), netip.MustParseAddrPort("[2001:db8::25]:25"))
	links := []struct {
		name string
		link pcapgen.Link
	}{
		{"ethernet", pcapgen.Link{Type: pcapgen.LinkEthernet}},
		{"vlan", pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{100}}},
		{"qinq", pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{100, 200}}},
		{"sll", pcapgen.Link{Type: pcapgen.LinkLinuxSLL}},
		{"sll2", pcapgen.Link{Type: pcapgen.LinkLinuxSLL2}},
		{"null", pcapgen.Link{Type: pcapgen.LinkNull}},
		{"loop", pcapgen.Link{Type: pcapgen.LinkLoop}},
		{"raw", pcapgen.Link{Type: pcapgen.LinkRaw}},
	}
	for _, l := range links {
		for _, fam := range []struct {
			name string
			segs []pcapgen.Segment
		}{{"ipv4", v4}, {"ipv6", v6}} {
			t.Run(l.name+"-"+fam.name, func(t *testing.T) {
				path := writeTemp(t, "c.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: l.link.Type}, pcapgen.Packets(l.link, fam.segs...)))
				got, stderr, code := runCLI(t, nil, "-r", path)
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				got = strings.ReplaceAll(got, path, "input")
				golden(t, filepath.Join("testdata", "generated-"+fam.name+".txt"), got)
			})
		}
	}
}

// TestMangledSegments reorders, duplicates and fragments the segments of a
// session: the transcript must stay the one of the clean session.
func TestMangledSegments(t *testing.T) {
	segs := session(client, server)
	link := pcapgen.Link{Type: pcapgen.LinkEthernet}
	clean := writeTemp(t, "clean.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(link, segs...)))
	want, _, _ := runCLI(t, nil, "-r", clean)
	want = strings.ReplaceAll(want, clean, "input")

	// Swap neighbouring data segments of the same direction, keeping times
	// in capture order, and repeat some of them.
	swapped := make([]pcapgen.Segment, len(segs))
	copy(swapped, segs)
	for i := 3; i+1 < len(swapped); i += 3 {
		if swapped[i].Src == swapped[i+1].Src && len(swapped[i].Payload) > 0 && len(swapped[i+1].Payload) > 0 {
			swapped[i].Time, swapped[i+1].Time = swapped[i+1].Time, swapped[i].Time
			swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
		}
	}
	var dup []pcapgen.Segment
	for i, s := range swapped {
		dup = append(dup, s)
		if i%4 == 0 && len(s.Payload) > 0 {
			dup = append(dup, s) // a retransmission
		}
	}
	var frags []pcapgen.Packet
	for _, s := range segs {
		for _, f := range pcapgen.FragmentIPv4(pcapgen.IPPacket(s), 576) {
			frags = append(frags, pcapgen.Packet{Time: s.Time, Data: pcapgen.Frame(link, f)})
		}
	}
	for _, c := range []struct {
		name string
		pkts []pcapgen.Packet
	}{
		{"reordered-and-retransmitted", pcapgen.Packets(link, dup...)},
		{"ipv4-fragments", frags},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "m.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, c.pkts))
			got, _, code := runCLI(t, nil, "-r", path)
			got = strings.ReplaceAll(got, path, "input")
			// Packet counts differ from the clean capture; the conversation may not.
			re := regexp.MustCompile(`\d+ packets`)
			if code != 0 || re.ReplaceAllString(got, "N packets") != re.ReplaceAllString(want, "N packets") {
				t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, got, want)
			}
		})
	}
}

// TestBadInput checks what a user sees for inputs that are not captures or
// are broken: one line naming the file and offset, exit status 2, and the
// sessions decoded before the fault still printed.
func TestBadInput(t *testing.T) {
	good, err := os.ReadFile(input("helo-plain"))
	if err != nil {
		t.Fatal(err)
	}
	absurd := bytes.Clone(good)
	binary.LittleEndian.PutUint32(absurd[24+8:], 0x7fffffff) // first record's incl_len
	for _, c := range []struct {
		name   string
		data   []byte
		stderr string // regexp
		stdout string // must contain
	}{
		{"text-file", []byte("hello, this is not a capture\n"), `^smtpscope: \S+: offset 0: .*not a pcap or pcapng file \(starts with "hello, t.*"\)\n$`, ""},
		{"empty-file", nil, `^smtpscope: \S+: offset 0: .*not a pcap or pcapng file.*\n$`, ""},
		{"truncated", good[:1500], `^smtpscope: \S+: offset 1428: truncated packet record: 56 of 341 bytes\n$`, "C: data"},
		{"absurd-length", absurd, `^smtpscope: \S+: offset 24: packet record claims 2147483647 bytes.*\n$`, "no SMTP sessions"},
		{"truncated-gzip", pcapgen.Gzip(good)[:900], `^smtpscope: \S+: offset \d+ \(decompressed\): truncated gzip stream.*\n$`, "S: 220 mail.smtpscope.test"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeTemp(t, "in.pcap", c.data)
			stdout, stderr, code := runCLI(t, nil, "-r", path)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d", code, exitBadInput)
			}
			if !regexp.MustCompile(c.stderr).MatchString(stderr) {
				t.Errorf("stderr %q does not match %q", stderr, c.stderr)
			}
			if !strings.Contains(stdout, c.stdout) {
				t.Errorf("stdout lacks %q:\n%s", c.stdout, stdout)
			}
		})
	}
	t.Run("missing-file", func(t *testing.T) {
		_, stderr, code := runCLI(t, nil, "-r", filepath.Join(t.TempDir(), "nope.pcap"))
		if code != exitBadInput || !strings.Contains(stderr, "no such file") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestNoSMTP(t *testing.T) {
	web := session(client, netip.MustParseAddrPort("198.51.100.80:80"))
	path := writeTemp(t, "web.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, web...)))
	stdout, stderr, code := runCLI(t, nil, "-r", path)
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "no SMTP sessions in "+path+" (") {
		t.Errorf("text: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, nil, "-r", path, "--json")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "no SMTP sessions") {
		t.Errorf("json: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestPorts checks --port and --any-port on a session on port 2526.
func TestPorts(t *testing.T) {
	segs := session(client, netip.MustParseAddrPort("198.51.100.25:2526"))
	path := writeTemp(t, "p.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...)))
	for _, c := range []struct {
		args     []string
		sessions int
	}{
		{nil, 0},
		{[]string{"--port", "2526"}, 1},
		{[]string{"--port=587,2526"}, 1},
		{[]string{"--any-port"}, 1},
	} {
		stdout, _, code := runCLI(t, nil, append([]string{"-r", path, "--json"}, c.args...)...)
		if n := strings.Count(stdout, "\n"); code != 0 || n != c.sessions {
			t.Errorf("%v: exit %d, %d sessions, want %d", c.args, code, n, c.sessions)
		}
	}
	if _, stderr, code := runCLI(t, nil, "-r", path, "--port", "http"); code != exitBadInput || !strings.Contains(stderr, "not a TCP port") {
		t.Errorf("--port http: exit %d, %q", code, stderr)
	}
}

// TestMidStream starts the capture in the middle of a session on a port that
// is not selected by default: the side that sends "220" is the server.
func TestMidStream(t *testing.T) {
	srv := netip.MustParseAddrPort("198.51.100.25:40000")
	cli := netip.MustParseAddrPort("192.0.2.10:1025")
	segs := session(cli, srv)[3:] // no handshake
	path := writeTemp(t, "m.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...)))
	stdout, _, code := runCLI(t, nil, "-r", path, "--port", "1025,40000", "--json")
	ss := decodeJSON(t, stdout)
	if code != 0 || len(ss) != 1 {
		t.Fatalf("exit %d, %d sessions", code, len(ss))
	}
	if s := ss[0]; s.Client != cli.String() || s.Server != srv.String() || s.Sides != "content" || s.Greeting == nil {
		t.Errorf("client %s server %s sides %s greeting %v", s.Client, s.Server, s.Sides, s.Greeting)
	}
}

// TestImplicitTLS: on port 465 the client speaks TLS first.
func TestImplicitTLS(t *testing.T) {
	c := pcapgen.NewConn(client, netip.MustParseAddrPort("198.51.100.25:465"), t0)
	segs := c.Handshake()
	segs = append(segs,
		c.FromClient([]byte("\x16\x03\x01\x00\x05hello")),
		c.FromServer([]byte("\x16\x03\x03\x00\x07welcome")),
		c.ClientFIN(), c.ServerFIN())
	path := writeTemp(t, "tls.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...)))
	stdout, _, code := runCLI(t, nil, "-r", path)
	if code != 0 || !strings.Contains(stdout, "<encrypted (implicit TLS): 10 bytes from client, 12 from server>") || strings.Contains(stdout, "C: ") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestHostileText: control bytes and escape sequences from a capture never
// reach the terminal.
func TestHostileText(t *testing.T) {
	c := pcapgen.NewConn(client, server, t0)
	segs := c.Handshake()
	segs = append(segs,
		c.FromServer([]byte("220 evil\x1b[2J\x1b]0;owned\x07 \u202eexe.txt\xff\r\n")),
		c.FromClient([]byte("EHLO \x1b[31mred\x7f\r\n")),
		c.FromServer([]byte("250 ok\x00\x9b\u009b\r\n")),
		c.ClientFIN(), c.ServerFIN())
	path := writeTemp(t, "h.pcap", pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...)))
	stdout, _, code := runCLI(t, nil, "-r", path)
	if code != 0 {
		t.Fatal("exit", code)
	}
	for _, b := range []string{"\x1b", "\x07", "\x00", "\x7f", "\u202e", "\xff", "\u009b"} {
		if strings.Contains(stdout, b) {
			t.Errorf("output holds %q:\n%s", b, stdout)
		}
	}
	for _, s := range []string{`S: 220 evil\x1b[2J\x1b]0;owned\x07 \u202eexe.txt\xff`, `C: EHLO \x1b[31mred\x7f`, `S: 250 ok\x00\x9b\u009b`} {
		if !strings.Contains(stdout, s) {
			t.Errorf("output lacks %s:\n%s", s, stdout)
		}
	}
	js, _, _ := runCLI(t, nil, "-r", path, "--json")
	for _, b := range []string{"\x1b", "\x07", "\x00", "\x7f", "\u202e", "\u009b"} {
		if strings.Contains(js, b) {
			t.Errorf("JSON holds %q raw:\n%s", b, js)
		}
	}
	if !strings.Contains(js, `"argument":"\u001b[31mred\u007f"`) {
		t.Errorf("JSON lacks the EHLO argument with DEL escaped:\n%s", js)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	greeting := v["greeting"].(map[string]any)["text"].(string)
	if greeting != "evil\x1b[2J\x1b]0;owned\x07 \u202eexe.txt\ufffd" {
		t.Errorf("greeting decodes to %q", greeting)
	}
}

func TestUsage(t *testing.T) {
	stdout, stderr, code := runCLI(t, nil, "--help")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "Examples:") || !strings.Contains(stderr, "--any-port") {
		t.Errorf("--help: exit %d, stderr %q", code, stderr)
	}
	for _, args := range [][]string{{"--bogus"}, {}, {"-r", "a.pcap", "extra"}} {
		_, stderr, code := runCLI(t, nil, args...)
		if code != exitBadInput || !strings.Contains(stderr, "Examples:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

func TestColor(t *testing.T) {
	in := input("auth-failed")
	plain, _, _ := runCLI(t, nil, "-r", in)
	if strings.Contains(plain, "\x1b") {
		t.Error("colour without a terminal")
	}
	colored, _, code := runCLI(t, nil, "-r", in, "--color=always")
	if code != 0 || !strings.Contains(colored, "\x1b[31m535 5.7.8") {
		t.Errorf("--color=always: no red 535:\n%q", colored)
	}
	if _, stderr, code := runCLI(t, nil, "-r", in, "--color=sometimes"); code != exitBadInput || !strings.Contains(stderr, "auto, always or never") {
		t.Errorf("--color=sometimes: exit %d %q", code, stderr)
	}
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	tty, err := os.Open("/dev/tty")
	if err == nil {
		defer tty.Close()
		if !useColor("auto", tty, env(nil)) {
			t.Error("auto on a terminal: no colour")
		}
		if useColor("auto", tty, env(map[string]string{"NO_COLOR": "1"})) {
			t.Error("NO_COLOR set: colour")
		}
	}
	if useColor("auto", &bytes.Buffer{}, env(nil)) || !useColor("always", &bytes.Buffer{}, env(map[string]string{"NO_COLOR": "1"})) {
		t.Error("auto on a buffer, or always with NO_COLOR, decided wrong")
	}
}

func TestDataShown(t *testing.T) {
	stdout, _, code := runCLI(t, nil, "-r", input("helo-plain"), "--data")
	if code != 0 || !strings.Contains(stdout, "C| Subject: ") || !strings.Contains(stdout, "C| From: ") {
		t.Errorf("exit %d, no message content:\n%s", code, stdout)
	}
	stdout, _, _ = runCLI(t, nil, "-r", input("helo-plain"))
	if strings.Contains(stdout, "C| ") {
		t.Errorf("content shown without --data:\n%s", stdout)
	}
}

// failingWriter takes n bytes, then fails every write as a closed pipe does.
type failingWriter struct {
	n      int
	failed bool
	late   int // writes tried after one failed
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.failed {
		w.late++
		return 0, syscall.EPIPE
	}
	if len(p) > w.n {
		w.failed = true
		return w.n, syscall.EPIPE
	}
	w.n -= len(p)
	return len(p), nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n atomic.Int64 // the capture reader reads ahead on a goroutine of its own
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestWriteErrorStopsReading: once the output cannot be written (smtpscope
// -r big.pcap | head), the command stops reading the capture and fails with
// one line.
func TestWriteErrorStopsReading(t *testing.T) {
	const sessions = 6000
	rng := rand.New(rand.NewPCG(1, 2))
	var segs []pcapgen.Segment
	for i := range sessions {
		cli := netip.AddrPortFrom(client.Addr(), uint16(10000+i))
		conn := pcapgen.NewConn(cli, server, t0.Add(time.Duration(i)*time.Second))
		segs = append(segs, pcapgen.SMTPSession(conn, rng, pcapgen.SMTPOptions{MessageBytes: 200, Handshake: true})...)
	}
	pcap := pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...))
	for _, format := range [][]string{nil, {"--json"}} {
		t.Run("json="+strconv.FormatBool(format != nil), func(t *testing.T) {
			in := &countingReader{r: bytes.NewReader(pcap)}
			out := &failingWriter{n: 3000} // a few sessions
			var stderr bytes.Buffer
			code := run(context.Background(), append([]string{"-r", "-"}, format...), in, out, &stderr)
			if code != exitFailure || stderr.String() != "smtpscope: writing output: broken pipe\n" {
				t.Errorf("exit %d, stderr %q", code, stderr.String())
			}
			if !out.failed || out.late > 0 {
				t.Errorf("failed %v, then %d more writes", out.failed, out.late)
			}
			// The pipeline looks at its context every 1024 packets; the
			// reader reads ahead up to 1.25 MiB; sessions wait for the
			// output in a queue of 32.
			if n := in.n.Load(); n > int64(len(pcap)/4) {
				t.Errorf("read %d of %d bytes of the capture after the output failed", n, len(pcap))
			}
		})
	}
}

// TestMaxConnectionsFlag: 30 connections open at once with
// --max-connections 10: those idle longest are printed as evicted, stderr
// says how many, and every connection is still reported.
func TestMaxConnectionsFlag(t *testing.T) {
	var segs []pcapgen.Segment
	for i := range 30 {
		conn := pcapgen.NewConn(netip.AddrPortFrom(client.Addr(), uint16(20000+i)), server, t0.Add(time.Duration(i)*time.Millisecond))
		segs = append(segs, conn.Handshake()...)
		segs = append(segs, conn.FromServer([]byte("220 mx ESMTP\r\n")), conn.FromClient([]byte("EHLO c\r\n")))
	}
	pcap := pcapOf(t, pcapgen.PcapOptions{LinkType: 1}, pcapgen.Packets(pcapgen.Link{Type: 1}, segs...))
	var out, stderr bytes.Buffer
	code := run(context.Background(), []string{"-r", "-", "--json", "--max-connections", "10"}, bytes.NewReader(pcap), &out, &stderr)
	evicted := strings.Count(out.String(), `"close":"evicted"`)
	if code != exitOK || strings.Count(out.String(), "\n") != 30 || evicted < 20 {
		t.Fatalf("exit %d, %d sessions, %d evicted; stderr %q", code, strings.Count(out.String(), "\n"), evicted, stderr.String())
	}
	if want := fmt.Sprintf("smtpscope: %d connections were flushed while still open: more than 10 were open at once (--max-connections)\n", evicted); stderr.String() != want {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}
}
