package reassembly_test

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// Addresses and times shared by the tests.
var (
	client4 = netip.MustParseAddrPort("192.0.2.10:40000")
	server4 = netip.MustParseAddrPort("192.0.2.25:25")
	client6 = netip.MustParseAddrPort("[2001:db8::10]:40001")
	server6 = netip.MustParseAddrPort("[2001:db8:1::25]:587")
	t0      = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

	ethernet = pcapgen.Link{Type: pcapgen.LinkEthernet}
)

// smtpPorts selects the usual SMTP server ports.
var smtpPorts = []uint16{25, 465, 587}

// afterFlush is the packet index of events delivered by Flush.
const afterFlush = -1

// piece is one run of a reassembled direction: bytes, or a gap of n bytes.
type piece struct {
	data string
	gap  int // non-zero for a gap
}

func (p piece) String() string {
	if p.gap != 0 {
		return fmt.Sprintf("GAP %d", p.gap)
	}
	if len(p.data) > 120 {
		return fmt.Sprintf("%q...(%d bytes)...%q", p.data[:50], len(p.data), p.data[len(p.data)-50:])
	}
	return fmt.Sprintf("%q", p.data)
}

// d is the piece of bytes s; g a gap of n bytes.
func d(s string) piece { return piece{data: s} }
func g(n int) piece    { return piece{gap: n} }

// event is one Handler call, with the index of the packet during which it
// happened (afterFlush for Flush).
type event struct {
	kind byte // 'D' data, 'G' gap, 'C' close
	dir  reassembly.Dir
	data []byte
	n    int
	ts   time.Time
	at   int
}

// recConn records everything a Handler was told about one connection.
type recConn struct {
	r        *recorder
	conn     reassembly.Conn
	created  int // packet index at creation
	events   []event
	closes   int
	closedAt int
	closeTS  time.Time
	stats    reassembly.ConnStats
	errs     []string // contract violations seen as they happened
}

func (c *recConn) Data(dir reassembly.Dir, p []byte, ts time.Time) {
	if c.closes > 0 {
		c.errs = append(c.errs, fmt.Sprintf("Data(%v, %q) after Close", dir, p))
	}
	if len(p) == 0 {
		c.errs = append(c.errs, fmt.Sprintf("Data(%v) with no bytes", dir))
	}
	c.events = append(c.events, event{kind: 'D', dir: dir, data: bytes.Clone(p), ts: ts, at: c.r.at})
	c.r.log = append(c.r.log, logEntry{c.r.at, c.conn.ID, fmt.Sprintf("data %v %d", dir, len(p))})
}

func (c *recConn) Gap(dir reassembly.Dir, n int, ts time.Time) {
	if c.closes > 0 {
		c.errs = append(c.errs, fmt.Sprintf("Gap(%v, %d) after Close", dir, n))
	}
	c.events = append(c.events, event{kind: 'G', dir: dir, n: n, ts: ts, at: c.r.at})
	c.r.log = append(c.r.log, logEntry{c.r.at, c.conn.ID, fmt.Sprintf("gap %v %d", dir, n)})
}

func (c *recConn) Close(ts time.Time, s reassembly.ConnStats) {
	c.closes++
	if c.closes == 1 {
		c.closedAt, c.closeTS, c.stats = c.r.at, ts, s
		c.r.closeOrder = append(c.r.closeOrder, c.conn.ID)
	}
	c.events = append(c.events, event{kind: 'C', ts: ts, at: c.r.at})
	c.r.log = append(c.r.log, logEntry{c.r.at, c.conn.ID, "close"})
}

// stream returns direction dir as pieces, runs of bytes merged.
func (c *recConn) stream(dir reassembly.Dir) []piece {
	var out []piece
	for _, e := range c.events {
		switch {
		case e.dir != dir || e.kind == 'C':
		case e.kind == 'G':
			out = append(out, g(e.n))
		case len(out) > 0 && out[len(out)-1].gap == 0:
			out[len(out)-1].data += string(e.data)
		default:
			out = append(out, d(string(e.data)))
		}
	}
	return out
}

// firstAt returns the packet index of the first event of the kind in
// direction dir, or -2 if there is none.
func (c *recConn) firstAt(kind byte, dir reassembly.Dir) int {
	for _, e := range c.events {
		if e.kind == kind && e.dir == dir {
			return e.at
		}
	}
	return -2
}

// recorder creates a recConn per connection.
type recorder struct {
	at         int // index of the packet being given, or afterFlush
	conns      []*recConn
	closeOrder []int64
	log        []logEntry // every Handler call of every connection, in order
}

// logEntry is one Handler call (or creation) in recorder.log.
type logEntry struct {
	at   int // packet index or afterFlush
	id   int64
	what string
}

func (r *recorder) newHandler(c reassembly.Conn) reassembly.Handler {
	rc := &recConn{r: r, conn: c, created: r.at, closedAt: -2}
	r.conns = append(r.conns, rc)
	r.log = append(r.log, logEntry{r.at, c.ID, fmt.Sprintf("new %v -> %v", c.Client, c.Server)})
	return rc
}

// frame is one captured frame.
type frame struct {
	link capture.LinkType
	data []byte
	ts   time.Time
}

// framesOf frames the segments with l.
func framesOf(l pcapgen.Link, segs ...pcapgen.Segment) []frame {
	out := make([]frame, 0, len(segs))
	for _, p := range pcapgen.Packets(l, segs...) {
		out = append(out, frame{link: capture.LinkType(l.Type), data: p.Data, ts: p.Time})
	}
	return out
}

// run gives the frames to a new Assembler, then flushes it. Each frame is
// given in a buffer overwritten after Packet returns: the Assembler must not
// keep it.
func run(opts reassembly.Options, frames []frame) (*recorder, reassembly.Counters) {
	r := &recorder{}
	a := reassembly.New(r.newHandler, opts)
	var buf []byte
	for i, f := range frames {
		r.at = i
		buf = append(buf[:0], f.data...)
		a.Packet(f.link, buf, f.ts)
		for j := range buf {
			buf[j] = 0xa5
		}
	}
	r.at = afterFlush
	a.Flush()
	return r, a.Counters()
}

// runCapture reads a capture file and gives its packets to a new Assembler,
// then flushes it. It returns the number of packets read.
func runCapture(t *testing.T, file []byte, opts reassembly.Options) (*recorder, reassembly.Counters, int) {
	t.Helper()
	rd, err := capture.NewReader(bytes.NewReader(file), "test")
	if err != nil {
		t.Fatalf("capture.NewReader: %v", err)
	}
	r := &recorder{}
	a := reassembly.New(r.newHandler, opts)
	n := 0
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		r.at = n
		a.Packet(p.LinkType, p.Data, p.Time)
		// The Assembler must not keep the reader's buffer.
		for j := range p.Data {
			p.Data[j] = 0xa5
		}
		n++
	}
	r.at = afterFlush
	a.Flush()
	return r, a.Counters(), n
}

// wantConn is what one connection must have delivered. Its byte and gap
// counts in ConnStats are those of the pieces.
type wantConn struct {
	id             int64
	client, server netip.AddrPort
	sides          reassembly.Sides
	c, s           []piece // client and server streams
	packets        int
	end            reassembly.End
}

// stats returns the ConnStats w implies.
func (w *wantConn) stats() reassembly.ConnStats {
	st := reassembly.ConnStats{Packets: w.packets, End: w.end}
	for dir, ps := range [2][]piece{w.c, w.s} {
		for _, p := range ps {
			st.Bytes[dir] += int64(len(p.data))
			if p.gap > 0 {
				st.Missing[dir] += int64(p.gap)
			}
		}
	}
	return st
}

// checkConns compares the recorded connections, in the order they were
// created, with want, and checks the Handler contract for every one.
func checkConns(t *testing.T, r *recorder, want []wantConn) {
	t.Helper()
	for _, c := range r.conns {
		for _, e := range c.errs {
			t.Errorf("connection %d: %s", c.conn.ID, e)
		}
		if c.closes != 1 {
			t.Errorf("connection %d: Close called %d times, want 1", c.conn.ID, c.closes)
		}
		for _, e := range c.events {
			if e.ts.Before(c.conn.Start) || e.ts.After(c.closeTS) {
				t.Errorf("connection %d: event %c at %v outside [%v, %v]", c.conn.ID, e.kind, e.ts, c.conn.Start, c.closeTS)
			}
		}
	}
	if len(r.conns) != len(want) {
		var got []string
		for _, c := range r.conns {
			got = append(got, fmt.Sprintf("%d %v->%v", c.conn.ID, c.conn.Client, c.conn.Server))
		}
		t.Fatalf("got %d connections [%s], want %d", len(r.conns), strings.Join(got, ", "), len(want))
	}
	for i, w := range want {
		c := r.conns[i]
		name := fmt.Sprintf("connection %d", i+1)
		if c.conn.ID != w.id || c.conn.Client != w.client || c.conn.Server != w.server || c.conn.Sides != w.sides {
			t.Errorf("%s: Conn{ID %d, %v -> %v, sides %v}, want {ID %d, %v -> %v, sides %v}", name,
				c.conn.ID, c.conn.Client, c.conn.Server, c.conn.Sides, w.id, w.client, w.server, w.sides)
		}
		for dir, ps := range [2][]piece{w.c, w.s} {
			got := c.stream(reassembly.Dir(dir))
			if !slices.Equal(got, ps) {
				t.Errorf("%s: %v stream:\n got %v\nwant %v", name, reassembly.Dir(dir), got, ps)
			}
		}
		if ws := w.stats(); c.stats != ws {
			t.Errorf("%s: stats %+v, want %+v", name, c.stats, ws)
		}
	}
}

// bytesOf returns the reassembled bytes of one direction and its gaps.
func (c *recConn) bytesOf(dir reassembly.Dir) (data []byte, gaps []int) {
	for _, e := range c.events {
		if e.dir != dir {
			continue
		}
		switch e.kind {
		case 'D':
			data = append(data, e.data...)
		case 'G':
			gaps = append(gaps, e.n)
		}
	}
	return data, gaps
}

// mustAddrPort parses an address and port.
func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
