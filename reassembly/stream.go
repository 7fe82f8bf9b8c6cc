package reassembly

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	gpreassembly "github.com/gopacket/gopacket/reassembly"
)

// invalidSeq is gopacket's "no sequence number yet".
const invalidSeq gpreassembly.Sequence = -1

// maxHoles caps the snap-length holes remembered per direction. Holes are
// consumed as the stream is delivered, so only out-of-order truncated
// segments can pile up; past the cap their stand-in bytes are delivered as
// zeros and counted as data.
const maxHoles = 256

// hole is a range of sequence numbers whose bytes were cut by the snap length.
type hole struct{ start, end gpreassembly.Sequence }

// heldChunk is data held while Detect decides.
type heldChunk struct {
	side int
	p    []byte
	ts   time.Time
}

// stream is one TCP connection as gopacket's reassembly sees it. Its "sides"
// are indexed as gopacket's directions: 0 is the sender of the first packet.
type stream struct {
	a      *Assembler
	key    flowKey
	seq    int64 // order of the first packet
	live   int   // index in Assembler.live
	id     int64 // Conn.ID, 0 until given
	start  time.Time
	last   time.Time
	ends   [2]netip.AddrPort
	server int // side of the server; -1 until decided
	sides  Sides
	bySYN  bool

	detecting bool // selected only if Detect says so
	ignored   bool // Detect said no
	held      []heldChunk
	heldBytes [2]int

	sawSYN, sawPayload bool
	h                  Handler
	stats              ConnStats
	closed             bool

	waiting []release // released by the current flush, not yet delivered

	pos [2]gpreassembly.Sequence // next sequence number to deliver
	// ahead is where the first bytes seen past pos begin, when some are
	// waiting behind a hole (aheadSet, and pos before ahead).
	ahead    [2]gpreassembly.Sequence
	aheadSet [2]bool
	// answers tells that a side's latest segment acknowledged bytes of the
	// other side that wait behind a hole, acked up to where; later holds
	// what a side holds back (see hold).
	answers    [2]bool
	acked      [2]gpreassembly.Sequence
	later      [2][]heldBytes
	laterBytes int
	releasing  bool                     // unhold is handing held bytes over
	highest    [2]gpreassembly.Sequence // end of the furthest payload seen
	sent       [2]bool                  // highest is set
	holes      [2][]hole
}

func side(dir gpreassembly.TCPFlowDirection) int {
	if dir == gpreassembly.TCPDirClientToServer {
		return 0
	}
	return 1
}

func (s *stream) dir(side int) Dir {
	if side == s.server {
		return FromServer
	}
	return FromClient
}

// Accept sees every segment of the connection before reassembly does.
func (s *stream) Accept(tcp *layers.TCP, ci gopacket.CaptureInfo, dir gpreassembly.TCPFlowDirection, nextSeq gpreassembly.Sequence, start *bool, ac gpreassembly.AssemblerContext) bool {
	if s.a.aborting {
		// Assembler.forgetReset's RST: put it where gopacket takes it
		// as the end of this half.
		if nextSeq == invalidSeq {
			*start = true
		} else {
			tcp.Seq = uint32(nextSeq)
		}
		return true
	}
	if ci.Timestamp.After(s.last) {
		s.last = ci.Timestamp // also for ignored ones: evict compares it with gopacket's
	}
	if s.closed || s.ignored {
		s.a.rejected = s.ignored
		return false
	}
	i := side(dir)
	s.stats.Packets++
	if len(tcp.Payload) > 0 {
		// This side sends data after it received bytes of the other
		// that wait here behind a hole (a 250 after the message whose
		// middle the capture lost): hold its data back until the other's
		// is delivered that far (see hold).
		o, ack := 1-i, gpreassembly.Sequence(tcp.Ack)
		s.answers[i] = tcp.ACK && s.h != nil && s.aheadSet[o] &&
			s.pos[o].Difference(s.ahead[o]) > 0 && s.ahead[o].Difference(ack) >= 0
		s.acked[i] = ack
	}
	seq := gpreassembly.Sequence(tcp.Seq)
	if tcp.SYN {
		s.sawSYN = true
		// Once a Handler has its Conn the sides are settled: a SYN seen
		// after data (reordered capture) must not swap them.
		if !s.bySYN && s.h == nil {
			s.bySYN = true
			s.sides = SidesBySYN
			if tcp.ACK {
				s.server = i
			} else {
				s.server = 1 - i
			}
		}
	}
	if nextSeq == invalidSeq {
		if tcp.SYN {
			s.pos[i] = seq.Add(1)
		} else {
			// The connection began before the capture: start here.
			*start = true
			s.pos[i] = seq
		}
	}
	inWindow := nextSeq == invalidSeq || nextSeq.Difference(seq) == 0
	if tcp.RST && inWindow {
		s.stats.End = EndRST
		s.a.done = append(s.a.done, s)
		s.a.reset = append(s.a.reset, resetHalf{s, i})
	} else if tcp.FIN && s.stats.End == EndOpen {
		s.stats.End = EndFIN
	}
	if len(tcp.Payload) > 0 {
		s.sawPayload = true
		if nextSeq != invalidSeq && nextSeq.Difference(seq) > 0 &&
			(!s.aheadSet[i] || s.pos[i].Difference(s.ahead[i]) <= 0 || seq.Difference(s.ahead[i]) > 0) {
			s.ahead[i], s.aheadSet[i] = seq, true // the first bytes seen behind a hole
		}
		end := seq.Add(len(tcp.Payload))
		if !s.sent[i] || s.highest[i].Difference(end) > 0 {
			s.highest[i], s.sent[i] = end, true
		}
	}
	if m := s.a.ctx.missing; m > 0 && len(s.holes[i]) < maxHoles {
		end := seq.Add(len(tcp.Payload))
		s.addHole(i, hole{start: end.Add(-m), end: end})
	}
	return true
}

// addHole records h in side i's holes, which are kept in stream order:
// truncated segments can arrive in any order, and ReassembledSG only looks
// at the first hole.
func (s *stream) addHole(i int, h hole) {
	holes := s.holes[i]
	k := len(holes)
	for k > 0 && holes[k-1].start.Difference(h.start) < 0 {
		k--
	}
	s.holes[i] = slices.Insert(holes, k, h)
}

// ReassembledSG receives the next bytes of one direction, in order.
func (s *stream) ReassembledSG(sg gpreassembly.ScatterGather, ac gpreassembly.AssemblerContext) {
	if s.closed || s.ignored {
		return
	}
	dir, _, _, skip := sg.Info()
	i := side(dir)
	ts := s.a.ctx.ci.Timestamp
	if ts.After(s.last) || ts.IsZero() {
		ts = s.last // released by a flush long after the connection's last packet
	}
	var data []byte
	if n, _ := sg.Lengths(); n > 0 {
		data = sg.Fetch(n)
	}
	if s.a.flushing {
		// gopacket flushes its connections in map order: hold what it
		// releases (its pages are reused) until Assembler.release hands it
		// over in the order of the connections' first packets.
		if len(s.waiting) == 0 {
			s.a.released = append(s.a.released, s)
		}
		s.waiting = append(s.waiting, release{side: i, skip: skip, p: bytes.Clone(data), ts: ts})
		return
	}
	s.deliver(i, skip, data, ts)
}

// release is what a flush released for one side of a stream: skip bytes
// lost (as in ScatterGather.Info), then p.
type release struct {
	side, skip int
	p          []byte
	ts         time.Time
}

// deliverWaiting delivers what flushes released, in order.
func (s *stream) deliverWaiting() {
	w := s.waiting
	s.waiting = nil
	for _, r := range w {
		if s.closed || s.ignored {
			return
		}
		s.deliver(r.side, r.skip, r.p, r.ts)
	}
}

// deliver hands side i's next bytes to the Handler: a gap of skip bytes if
// skip is not 0 (< 0: unknown), then data, in which the stand-ins for bytes
// cut by the snap length become gaps again.
func (s *stream) deliver(i, skip int, data []byte, ts time.Time) {
	// After each piece, the other side's answers to what is now delivered
	// go out (see hold), before the bytes that follow.
	o := 1 - i
	if skip != 0 {
		s.gap(i, skip, ts)
		if skip > 0 {
			s.pos[i] = s.pos[i].Add(skip)
		}
		s.unhold(o, false)
	}
	for len(s.holes[i]) > 0 && len(data) > 0 && !s.ignored {
		h := s.holes[i][0]
		if s.pos[i].Difference(h.end) <= 0 {
			s.holes[i] = s.holes[i][1:] // already behind us
			continue
		}
		off := max(0, s.pos[i].Difference(h.start))
		if off >= len(data) {
			break
		}
		if off > 0 {
			s.data(i, data[:off], ts)
			data = data[off:]
			s.pos[i] = s.pos[i].Add(off)
			s.unhold(o, false)
		}
		k := min(s.pos[i].Difference(h.end), len(data))
		s.gap(i, k, ts)
		data = data[k:]
		s.pos[i] = s.pos[i].Add(k)
		s.unhold(o, false)
	}
	for len(data) > 0 {
		k := len(data)
		if len(s.later[o]) > 0 {
			if d := s.pos[i].Difference(s.later[o][0].until); d > 0 && d < k {
				k = d // the other side answered these bytes, not those after
			}
		}
		s.data(i, data[:k], ts)
		s.pos[i] = s.pos[i].Add(k)
		data = data[k:]
		s.unhold(o, false)
	}
}

// ReassemblyComplete is called when both directions have ended.
func (s *stream) ReassemblyComplete(ac gpreassembly.AssemblerContext) bool {
	if !s.closed {
		if s.a.evicting && s.stats.End != EndRST {
			s.stats.End = EndEvicted
			s.a.counters.Evicted++
		}
		s.a.done = append(s.a.done, s)
	}
	// gopacket forgets the connection now.
	if live := s.a.live; s.live >= 0 {
		last := live[len(live)-1]
		live[s.live], last.live = last, s.live
		live[len(live)-1] = nil
		s.a.live, s.live = live[:len(live)-1], -1
	}
	// Forget the connection now: its last ACKs carry nothing, and the
	// factory does not start a connection for them (Assembler.closed).
	c := closedConn{last: s.last, ended: !s.a.evicting && (s.stats.End == EndFIN || s.stats.End == EndRST)}
	s.a.closed[s.key] = c
	s.a.closed[s.key.reverse()] = c
	return true
}

// decideSides settles which side is the server from the first bytes one side
// sent, when no SYN did.
func (s *stream) decideSides(i int, first []byte) {
	if s.server >= 0 {
		return
	}
	if s.a.opts.Role != nil && first != nil {
		switch s.a.opts.Role(first) {
		case RoleServer:
			s.server, s.sides = i, SidesByContent
			return
		case RoleClient:
			s.server, s.sides = 1-i, SidesByContent
			return
		}
	}
	s.sides = SidesByPort
	p0, p1 := s.ends[0].Port(), s.ends[1].Port()
	sel0, sel1 := s.a.selectedPort(p0), s.a.selectedPort(p1)
	switch {
	case sel0 && !sel1:
		s.server = 0
	case sel1 && !sel0:
		s.server = 1
	case p0 < p1:
		s.server = 0
	default:
		s.server = 1
	}
}

func (s *stream) create() {
	if s.id == 0 {
		s.a.ids++
		s.id = s.a.ids
	}
	c := Conn{ID: s.id, Client: s.ends[1-s.server], Server: s.ends[s.server], Start: s.start, Sides: s.sides}
	s.h = s.a.newHandler(c)
	s.a.counters.Connections++
}

func (s *stream) data(i int, p []byte, ts time.Time) {
	if s.ignored {
		return // Detect said no, or gave up
	}
	if s.h != nil && s.hold(i, heldBytes{p: p, ts: ts}) {
		return
	}
	if s.h == nil {
		s.decideSides(i, p)
		if s.detecting {
			s.detect(i, p, ts)
			return
		}
		s.create()
	}
	d := s.dir(i)
	s.stats.Bytes[d] += int64(len(p))
	s.h.Data(d, p, ts)
}

func (s *stream) gap(i, n int, ts time.Time) {
	if s.ignored {
		return
	}
	if s.h != nil && s.hold(i, heldBytes{gap: n, ts: ts}) {
		return
	}
	if s.h == nil {
		if s.detecting {
			s.ignore() // content detection cannot see across a gap
			return
		}
		s.decideSides(i, nil)
		s.create()
	}
	d := s.dir(i)
	if n > 0 {
		s.stats.Missing[d] += int64(n)
	}
	s.h.Gap(d, n, ts)
}

// detect holds the first bytes of a connection on an unselected port until
// Detect decides, then replays them to a new Handler or drops the connection.
func (s *stream) detect(i int, p []byte, ts time.Time) {
	n := min(len(p), DetectBytes-s.heldBytes[i])
	if n > 0 {
		s.held = append(s.held, heldChunk{side: i, p: append([]byte(nil), p...), ts: ts})
		s.heldBytes[i] += n
	}
	var first [2][]byte
	for _, c := range s.held {
		if len(first[c.side]) < DetectBytes {
			first[c.side] = append(first[c.side], c.p...)
		}
	}
	client, server := first[1-s.server], first[s.server]
	switch s.a.opts.Detect(client[:min(len(client), DetectBytes)], server[:min(len(server), DetectBytes)]) {
	case VerdictYes:
		s.detecting = false
		s.create()
		held := s.held
		s.held = nil
		for _, c := range held {
			d := s.dir(c.side)
			s.stats.Bytes[d] += int64(len(c.p))
			s.h.Data(d, c.p, c.ts)
		}
	case VerdictNo:
		s.ignore()
	default:
		if s.heldBytes[0] >= DetectBytes || s.heldBytes[1] >= DetectBytes {
			s.ignore()
		}
	}
}

func (s *stream) ignore() {
	s.ignored = true
	s.held = nil
}

// close hands the connection's end to its Handler. A connection that never
// carried data nor a SYN (a stray ACK after the end) is not reported, nor is
// one Detect did not select.
func (s *stream) close() {
	if s.closed {
		return
	}
	s.closed = true
	if s.stats.End == EndRST {
		s.abandon()
	}
	for i := range 2 {
		s.unhold(i, true) // what it waited for will not come
	}
	if s.h == nil {
		if s.detecting || s.ignored || !s.sawSYN {
			return
		}
		s.decideSides(0, nil)
		s.create()
	}
	s.h.Close(s.last, s.stats)
	// gopacket keeps the connection until it is idle, to absorb its last
	// ACKs: let go of everything the stream no longer needs.
	s.h, s.held, s.holes, s.waiting = nil, nil, [2][]hole{}, nil
}

// abandon reports as lost the bytes of each side that were seen but not
// delivered: those waiting behind a hole when a RST closes the connection
// at once. gopacket would hand them over only at a later flush, after the
// Handler is closed.
func (s *stream) abandon() {
	for i := range 2 {
		if !s.sent[i] || s.ignored {
			continue
		}
		if n := s.pos[i].Difference(s.highest[i]); n > 0 {
			s.gap(i, n, s.last)
			s.pos[i] = s.highest[i]
		}
	}
}

// heldBytes is data (p) or a gap (gap bytes lost) a side holds back until
// the other side is delivered up to until.
type heldBytes struct {
	p     []byte
	gap   int
	ts    time.Time
	until gpreassembly.Sequence
}

// heldEntry is what an entry of later counts besides its bytes, so that many
// empty ones are bounded too.
const heldEntry = 64

// maxHeld bounds what one connection holds back; past it the held bytes go
// to the Handler as they are, out of step with the other side.
const maxHeld = 1 << 20

// hold keeps b back when its side sent it after receiving bytes of the other
// side that wait behind a hole here, or when that side holds earlier bytes.
// Handing them over in the order the endpoints saw them lets the decoder read
// a reply after the command it answers, even when the capture lost part of
// that command and gopacket waits (up to GapTimeout) for the missing bytes.
// Without this the 250 to a message would end the message, and its rest
// would be read as commands.
func (s *stream) hold(i int, b heldBytes) bool {
	switch {
	case s.releasing:
		return false
	case s.answers[i]:
		b.until = s.acked[i]
	case len(s.later[i]) > 0:
		b.until = s.later[i][len(s.later[i])-1].until
	default:
		return false
	}
	b.p = bytes.Clone(b.p)
	if n := len(s.later[i]); b.p == nil && b.gap > 0 && n > 0 && s.later[i][n-1].p == nil &&
		s.later[i][n-1].gap > 0 && s.later[i][n-1].until == b.until {
		s.later[i][n-1].gap += b.gap // one gap, however many segments it took
		return true
	}
	s.later[i] = append(s.later[i], b)
	s.laterBytes += len(b.p) + heldEntry
	if s.laterBytes > maxHeld {
		s.unhold(i, true)
	}
	return true
}

// unhold hands over what side i holds back and the other side has caught up
// with, or all of it.
func (s *stream) unhold(i int, all bool) {
	o := 1 - i
	for len(s.later[i]) > 0 && (all || s.pos[o].Difference(s.later[i][0].until) <= 0) {
		b := s.later[i][0]
		s.later[i] = s.later[i][1:]
		s.laterBytes -= len(b.p) + heldEntry
		s.releasing = true // hand it over, not back
		if b.p != nil {
			s.data(i, b.p, b.ts)
		} else {
			s.gap(i, b.gap, b.ts)
		}
		s.releasing = false
	}
	if len(s.later[i]) == 0 {
		s.later[i] = nil
	}
}
