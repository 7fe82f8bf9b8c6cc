package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/extract"
	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// generated writes a pcap of n sessions with messages from 1 KB to 64 KB,
// several open at a time, their packets interleaved by time.
func generated(tb testing.TB, n int) (data []byte, packets int) {
	return generatedSized(tb, n, 7)
}

// generatedSized is generated with messages from 1 KB to 1 KB << (sizes-1).
func generatedSized(tb testing.TB, n, sizes int) (data []byte, packets int) {
	tb.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var pkts []pcapgen.Packet
	link := pcapgen.Link{Type: pcapgen.LinkEthernet}
	for i := range n {
		c := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), uint16(10000+i%50000))
		conn := pcapgen.NewConn(c, netip.MustParseAddrPort("10.0.0.25:25"), t0.Add(time.Duration(i)*3*time.Millisecond))
		conn.Step = 200 * time.Microsecond
		segs := pcapgen.SMTPSession(conn, rng, pcapgen.SMTPOptions{
			Recipients: 1 + rng.IntN(3), MessageBytes: 1024 << rng.IntN(sizes), Handshake: true,
		})
		pkts = append(pkts, pcapgen.Packets(link, segs...)...)
	}
	sortByTime(pkts)
	var b bytes.Buffer
	if err := pcapgen.WritePcap(&b, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pkts); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes(), len(pkts)
}

func sortByTime(p []pcapgen.Packet) {
	// insertion order is per session; a stable merge by time interleaves them
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j].Time.Before(p[j-1].Time); j-- {
			p[j], p[j-1] = p[j-1], p[j]
		}
	}
}

func run(tb testing.TB, data []byte, o pipeline.Options, emit func(*smtpdecode.Session)) pipeline.Stats {
	tb.Helper()
	r, err := capture.NewReader(bytes.NewReader(data), "generated")
	if err != nil {
		tb.Fatal(err)
	}
	st, err := pipeline.Run(context.Background(), r, o, emit)
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestGeneratedSessions decodes many interleaved sessions and checks each
// one's conversation, and that they are handed out as they end, numbered by
// their first packet.
func TestGeneratedSessions(t *testing.T) {
	data, packets := generated(t, 300)
	seen := make(map[int64]bool)
	var lastEnd time.Time
	st := run(t, data, pipeline.Options{}, func(s *smtpdecode.Session) {
		if seen[s.ID] || s.ID < 1 || s.ID > 300 {
			t.Errorf("session id %d repeated or out of range", s.ID)
		}
		seen[s.ID] = true
		if s.End.Before(lastEnd) {
			t.Errorf("session %d ended at %v, before the one handed out before it", s.ID, s.End)
		}
		lastEnd = s.End
		if s.Greeting == nil || len(s.Commands) < 6 || s.Closed != smtpdecode.ClosedFIN || s.Missing != [2]int64{} {
			t.Errorf("session %d: greeting %v, %d commands, closed %v, missing %v", s.ID, s.Greeting, len(s.Commands), s.Closed, s.Missing)
		}
		for _, c := range s.Commands {
			if c.Reply == nil || c.Kind == smtpdecode.KindUnmatched {
				t.Errorf("session %d: %s %q without its reply", s.ID, c.Kind, c.Line)
			}
		}
	})
	if st.Sessions != 300 || st.Packets != int64(packets) || st.Malformed != 0 {
		t.Errorf("stats %+v, want 300 sessions of %d packets", st, packets)
	}
}

// TestMemoryFlat: memory follows the open connections, not the capture's
// length. Twenty times the sessions, with as many open at a time, must not
// raise the peak heap much.
func TestMemoryFlat(t *testing.T) {
	peak := func(n int) uint64 {
		data, _ := generatedSized(t, n, 1)
		runtime.GC()
		var max uint64
		var ms runtime.MemStats
		sessions := 0
		run(t, data, pipeline.Options{}, func(*smtpdecode.Session) {
			if sessions++; sessions%100 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				max = Max(max, ms.HeapAlloc)
			}
		})
		return max - uint64(cap(data)) // the capture itself is in memory here
	}
	small, large := peak(200), peak(4000)
	if large > small+small/2+4<<20 {
		t.Errorf("peak heap %d KB for 4000 sessions, %d KB for 200: it grows with the capture", large>>10, small>>10)
	}
}

// Max is the larger of a and b.
func Max(a, b uint64) uint64 { return max(a, b) }

// TestContextCancel stops a run and still hands out the open sessions.
func TestContextCancel(t *testing.T) {
	data, _ := generated(t, 20)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ := capture.NewReader(bytes.NewReader(data), "generated")
	_, err := pipeline.Run(ctx, r, pipeline.Options{}, func(*smtpdecode.Session) {})
	if err != context.Canceled {
		t.Errorf("err %v, want context.Canceled", err)
	}
}

// FuzzPipeline feeds arbitrary bytes to the whole pipeline as a capture file,
// through both report writers. Seeds: every recorded capture and a generated one.
func FuzzPipeline(f *testing.F) {
	files, _ := filepath.Glob("../testdata/*/input.pcap*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)*2/3])
	}
	g, _ := generated(f, 2)
	f.Add(g)
	f.Add(pcapgen.Gzip(g))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := capture.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		text := report.NewText(io.Discard, report.Options{})
		js := report.NewJSON(io.Discard, report.Options{})
		pipeline.Run(context.Background(), r, pipeline.Options{AnyPort: true}, func(s *smtpdecode.Session) {
			text.Session(s)
			js.Session(s)
		})
	})
}

// BenchmarkPipeline measures reading, reassembly and decoding of a generated
// capture, without output.
// BenchmarkPipeline reassembles and decodes sessions without parsing their
// messages or writing them out.
func BenchmarkPipeline(b *testing.B) {
	data, packets := generated(b, 500)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	for b.Loop() {
		run(b, data, pipeline.Options{}, func(*smtpdecode.Session) {})
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*packets), "allocs/pkt")
	b.ReportMetric(float64(packets), "pkts/op")
}

// BenchmarkPipelineJSON adds the JSON writer.
// BenchmarkPipelineJSON is what smtpscope -r FILE --json does: messages
// parsed, each session written as JSON.
func BenchmarkPipelineJSON(b *testing.B) {
	data, _ := generated(b, 500)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		js := report.NewJSON(io.Discard, report.Options{})
		run(b, data, pipeline.Options{Messages: pipeline.Messages{Parse: true}}, func(s *smtpdecode.Session) { js.Session(s) })
	}
}

func Example() {
	data, _ := os.ReadFile("../testdata/helo-plain/input.pcap")
	r, _ := capture.NewReader(bytes.NewReader(data), "helo-plain")
	st, _ := pipeline.Run(context.Background(), r, pipeline.Options{}, func(s *smtpdecode.Session) {
		fmt.Println(s.ID, s.Client.Addr(), "->", s.Server, s.Closed, len(s.Commands), "turns")
	})
	fmt.Println(st)
	// Output:
	// 1 127.0.0.1 -> 127.0.0.1:25 fin 6 turns
	// 1 session, 21 packets read, 0 skipped as malformed
}

// TestLargeMessageStreams: a 24 MB message is parsed, hashed and written to
// an .eml file while it streams; the heap never holds it.
func TestLargeMessageStreams(t *testing.T) {
	conn := pcapgen.NewConn(netip.MustParseAddrPort("10.1.0.1:40000"), netip.MustParseAddrPort("10.0.0.25:25"), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	conn.Step = 10 * time.Microsecond
	segs := pcapgen.SMTPSession(conn, rand.New(rand.NewPCG(3, 3)), pcapgen.SMTPOptions{MessageBytes: 24 << 20, Handshake: true})
	var b bytes.Buffer
	if err := pcapgen.WritePcap(&b, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkEthernet}, segs...)); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	segs = nil
	dir, err := extract.NewDir(t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var base, ms runtime.MemStats
	runtime.ReadMemStats(&base)
	r, _ := capture.NewReader(bytes.NewReader(data), "large")
	done, peakc := make(chan struct{}), make(chan uint64)
	go func() { // sample the heap while the run goes on
		var peak uint64
		for {
			select {
			case <-done:
				peakc <- peak
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapAlloc)
			}
		}
	}()
	var bytes int64
	_, err = pipeline.Run(context.Background(), r, pipeline.Options{Messages: pipeline.Messages{Parse: true, Dir: dir}},
		func(s *smtpdecode.Session) {
			for _, tx := range s.Transactions {
				bytes = tx.MessageBytes
			}
		})
	close(done)
	peak := <-peakc
	if err != nil || bytes < 24_000_000 {
		t.Fatalf("err %v, message of %d bytes", err, bytes)
	}
	if grown := int64(peak) - int64(base.HeapAlloc); grown > 16<<20 {
		t.Errorf("heap grew by %d MB for a %d MB message", grown>>20, bytes>>20)
	}
}

// TestOpenMessagesCapped: 300 sessions all in the middle of DATA at once.
// Past 256 messages in progress, further ones are not written (and that is
// reported), so extraction never runs out of file handles.
func TestOpenMessagesCapped(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var first, second []pcapgen.Segment
	for i := range 300 {
		c := pcapgen.NewConn(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)}), 40000), netip.MustParseAddrPort("10.0.0.25:25"), t0.Add(time.Duration(i)*time.Millisecond))
		first = append(first, c.Handshake()...)
		for _, s := range []struct {
			client bool
			text   string
		}{
			{false, "220 mx\r\n"}, {true, "HELO c\r\n"}, {false, "250 mx\r\n"},
			{true, "MAIL FROM:<a@b.c>\r\n"}, {false, "250 ok\r\n"}, {true, "RCPT TO:<d@e.f>\r\n"}, {false, "250 ok\r\n"},
			{true, "DATA\r\n"}, {false, "354 go\r\n"}, {true, "Subject: hi\r\n\r\n"},
		} {
			if s.client {
				first = append(first, c.FromClient([]byte(s.text)))
			} else {
				first = append(first, c.FromServer([]byte(s.text)))
			}
		}
		c.Now = t0.Add(time.Second + time.Duration(i)*time.Millisecond)
		second = append(second, c.FromClient([]byte("body\r\n.\r\n")), c.FromServer([]byte("250 queued\r\n")), c.ClientFIN(), c.ServerFIN())
	}
	var b bytes.Buffer
	link := pcapgen.Link{Type: pcapgen.LinkEthernet}
	pcapgen.WritePcap(&b, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pcapgen.Packets(link, append(first, second...)...))
	dir, _ := extract.NewDir(t.TempDir(), false)
	r, _ := capture.NewReader(bytes.NewReader(b.Bytes()), "many")
	st, err := pipeline.Run(context.Background(), r, pipeline.Options{Messages: pipeline.Messages{Parse: true, Dir: dir}}, func(*smtpdecode.Session) {})
	if err != nil || st.Sessions != 300 {
		t.Fatalf("err %v, %d sessions", err, st.Sessions)
	}
	if st.Messages == nil || !strings.Contains(st.Messages.Error(), "more than 256 messages were in progress at once (and 39 more)") {
		t.Errorf("messages error: %v", st.Messages)
	}
}

// TestManyMessagesOneSession: one connection sends 3000 messages (the
// session keeps the first 1000 transactions). Their parses complete after the
// messages end, while the session is still open; none may wait for the
// session to end (which would deadlock past the cap on parses in flight), and
// each message keeps its own parse.
func TestManyMessagesOneSession(t *testing.T) {
	c := pcapgen.NewConn(netip.MustParseAddrPort("10.1.0.1:40000"), netip.MustParseAddrPort("10.0.0.25:25"), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	segs := append(c.Handshake(), c.FromServer([]byte("220 mx\r\n")), c.FromClient([]byte("HELO c\r\n")), c.FromServer([]byte("250 mx\r\n")))
	const n = 3000
	for i := range n {
		segs = append(segs,
			c.FromClient([]byte("MAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\n")),
			c.FromServer([]byte("250 ok\r\n250 ok\r\n354 go\r\n")),
			c.FromClient(fmt.Appendf(nil, "Subject: message %d\r\n\r\nbody\r\n.\r\n", i)),
			c.FromServer([]byte("250 queued\r\n")))
	}
	segs = append(segs, c.ClientFIN(), c.ServerFIN())
	var b bytes.Buffer
	pcapgen.WritePcap(&b, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkEthernet}, segs...))
	done := make(chan *smtpdecode.Session, 1)
	go func() {
		run(t, b.Bytes(), pipeline.Options{Messages: pipeline.Messages{Parse: true}}, func(s *smtpdecode.Session) { done <- s })
	}()
	select {
	case <-time.After(time.Minute):
		t.Fatal("the run did not end: message parses wait for each other")
	case s := <-done:
		if len(s.Transactions) != 1000 {
			t.Fatalf("%d transactions, want 1000", len(s.Transactions))
		}
		for i, tx := range s.Transactions {
			m, _ := tx.Message.Parsed.(*message.Message)
			if want := fmt.Sprintf("message %d", i); m == nil || m.Header.Subject != want {
				t.Fatalf("transaction %d: parse %+v, want subject %q", i, m, want)
			}
		}
	}
}

// TestAsyncOutputSameAsSync: decoding on a stage of its own and parses that
// complete after their sessions end (the default) give the same output, in
// the same order, as decoding as packets come and parses waited for when each
// message ends (as live output does).
func TestAsyncOutputSameAsSync(t *testing.T) {
	data, _ := generated(t, 200)
	out := func(o pipeline.Options) string {
		var b bytes.Buffer
		j := report.NewJSON(&b, report.Options{})
		o.Messages.Parse = true
		run(t, data, o, func(s *smtpdecode.Session) { j.Session(s) })
		return b.String()
	}
	async := out(pipeline.Options{}) // decoded on a stage of its own, parses async
	sync := out(pipeline.Options{OnEvent: func(*smtpdecode.Session, smtpdecode.Event) {}})
	streaming := out(pipeline.Options{Streaming: true}) // decoded as packets come
	if async != sync || streaming != sync {
		t.Errorf("the decoding stage or async parses changed the output (stage: %v, async: %v)", async != sync, streaming != sync)
	}
	if !strings.Contains(async, `"preview":"`) || strings.Count(async, "\n") != 200 {
		t.Errorf("want 200 sessions with parsed messages, got:\n%.500s", async)
	}
}
