package main

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// options are the flags of a run.
type options struct {
	Sessions   int    // -n: sessions to write
	Bytes      int64  // -bytes: stop at about this many bytes instead (0: use Sessions)
	Concurrent int    // -concurrent: sessions open at once
	Open       int    // -open: connections all open at once (0: the normal mix)
	Seed       uint64 // -seed
	MaxMessage int    // -max-message: largest message in bytes
}

// stats count what a run wrote.
type stats struct {
	Sessions int
	Packets  int64
	Bytes    int64
}

// Start of the capture: a Monday morning.
var epoch = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC).UnixNano()

// outBuffer is the size of the writes to the output.
const outBuffer = 1 << 20

// gen is one run.
type gen struct {
	o     options
	pool  *pool
	pw    *pcapgen.PcapWriter
	link  pcapgen.Link
	pcg   *rand.PCG // the current session's generator, seeded per session
	b     builder
	free  []*sess
	stats stats
	// Message sizes: log2(size/1 KiB) is drawn from three ranges (most
	// messages small, a tail of large ones), cut at the largest size.
	maxLog float64
}

// run writes the capture o asks for to w.
func run(w io.Writer, o options) (stats, error) {
	if o.Open < 0 || o.Sessions < 0 || o.Bytes < 0 || o.Concurrent <= 0 || o.MaxMessage < minMessage {
		return stats{}, errors.New("-n, -bytes and -open must not be negative, -concurrent must be positive and -max-message at least 1K")
	}
	g := &gen{
		o:    o,
		pool: newPool(o.Seed, o.MaxMessage),
		pw:   pcapgen.NewPcapWriter(w, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet, BufferSize: outBuffer}),
		link: pcapgen.Link{Type: pcapgen.LinkEthernet},
		pcg:  rand.NewPCG(0, 0),
	}
	g.maxLog = math.Log2(float64(o.MaxMessage) / minMessage)
	g.b.g = g
	g.b.rng = rand.New(g.pcg)
	var err error
	if o.Open > 0 {
		err = g.openConns()
	} else {
		err = g.mix()
	}
	if err == nil {
		err = g.pw.Flush()
	}
	g.stats.Bytes = g.pw.Written()
	return g.stats, err
}

// sizeClass draws the size class of a message.
func (g *gen) sizeClass(rng *rand.Rand) int {
	lo, hi := 0.0, 3.5 // 1-11 KiB, 78%
	switch r := rng.IntN(100); {
	case r >= 96: // 181 KiB-1 MiB, 4%
		lo, hi = 7.5, 10
	case r >= 78: // 11-181 KiB, 18%
		lo, hi = 3.5, 7.5
	}
	if hi > g.maxLog {
		hi = g.maxLog
		lo = min(lo, hi)
	}
	l := lo + (hi-lo)*rng.Float64()
	return g.pool.class(int(minMessage * math.Exp2(l)))
}

// seed seeds the session generator for session id of the given stream
// (sessions, scheduling, -open phases).
func (g *gen) seed(stream, id uint64) {
	g.pcg.Seed(g.o.Seed, stream<<48^id*0x9e3779b97f4a7c15)
}

const (
	streamSession uint64 = 1 + iota
	streamOpen
)

func (g *gen) newSess(id int) *sess {
	var s *sess
	if n := len(g.free); n > 0 {
		s, g.free = g.free[n-1], g.free[:n-1]
	} else {
		s = &sess{}
	}
	s.id = id
	return s
}

// write writes the segments of s from next on, up to but not including
// segment end.
func (g *gen) write(s *sess, end int) error {
	for ; s.next < end; s.next++ {
		if err := g.pw.WriteSegment(g.link, &s.segs[s.next]); err != nil {
			return err
		}
	}
	return nil
}

// mix writes the normal mix: Concurrent sessions open at any time, each
// replaced by a new one when it ends, until Sessions were written or Bytes
// reached.
func (g *gen) mix() error {
	sched := rand.New(rand.NewPCG(g.o.Seed, 0x5c4ed))
	committed := g.pw.Written()
	started := 0
	more := func() bool {
		if g.o.Bytes > 0 {
			return committed < g.o.Bytes
		}
		return started < g.o.Sessions
	}
	start := func(at int64) *sess {
		s := g.newSess(started)
		started++
		g.seed(streamSession, uint64(s.id))
		maxClass := len(g.pool.classes) - 1
		if g.o.Bytes > 0 {
			// Near the end, keep the messages (up to three) within what
			// is left, whatever their size within the class.
			maxClass = min(maxClass, g.pool.class(int(min((g.o.Bytes-committed)/4, 1<<40))-1))
		}
		g.b.session(s, at, maxClass)
		committed += s.bytes
		s.at = s.segs[0].Time.UnixNano()
		return s
	}
	var h sessHeap
	for i := 0; i < g.o.Concurrent && more(); i++ {
		h = append(h, start(epoch+sched.Int64N(int64(time.Second))))
	}
	h.init()
	for len(h) > 0 {
		s := h[0]
		// Write s up to the next session's turn.
		end := s.next + 1
		if len(h) > 1 {
			other := h.second()
			for end < len(s.segs) && !other.before(s.segs[end].Time.UnixNano(), s.id) {
				end++
			}
		} else {
			end = len(s.segs)
		}
		if err := g.write(s, end); err != nil {
			return err
		}
		if s.next < len(s.segs) {
			s.at = s.segs[s.next].Time.UnixNano()
			h.down(0)
			continue
		}
		g.stats.Sessions++
		g.stats.Packets += int64(len(s.segs))
		last := s.at
		if n := len(s.segs); n > 0 {
			last = s.segs[n-1].Time.UnixNano()
		}
		g.free = append(g.free, s)
		if more() {
			h[0] = start(last + sched.Int64N(int64(2*time.Millisecond)))
			h.down(0)
		} else {
			h.pop()
		}
	}
	return nil
}

// openConns writes the -open capture: every connection opens, says EHLO
// and MAIL FROM; then every connection, in the same order, sends its
// recipient, a small message and QUIT, and closes. Between the phases only
// the sequence numbers of each connection are kept: phase 2 makes the
// connection again from its seed, up to where phase 1 left it, without
// writing those segments.
func (g *gen) openConns() error {
	n := g.o.Open
	step := min(int64(100*time.Microsecond), int64(120*time.Second)/int64(n))
	step = max(step, int64(20*time.Microsecond))
	b := &g.b
	b.open = true
	defer func() { b.open = false }()
	seqs := make([][2]uint32, n)
	s := &sess{}
	phase1 := func(i int) *transaction {
		s.id = i
		g.seed(streamOpen, uint64(i))
		b.rtt, b.proc, b.nsPerByte = step/10, step/20, 0.01
		b.setup(s, epoch+int64(i)*step, true)
		b.handshake()
		b.hello()
		b.pipe = false
		t := b.newTransaction(0)
		b.mail(t)
		return t
	}
	for i := range n {
		phase1(i)
		if err := g.write(s, len(s.segs)); err != nil {
			return err
		}
		g.stats.Packets += int64(len(s.segs))
		seqs[i][0], seqs[i][1] = b.c.Seqs()
	}
	now := epoch + int64(n)*step + int64(time.Millisecond)
	for i := range n {
		t := phase1(i)
		s.segs, s.bytes = s.segs[:0], 0
		b.c.SetSeqs(seqs[i][0], seqs[i][1])
		b.now = now
		b.finishTransaction(t)
		b.quit()
		s.next = 0
		if err := g.write(s, len(s.segs)); err != nil {
			return err
		}
		g.stats.Sessions++
		g.stats.Packets += int64(len(s.segs))
		now = max(now+step, b.now+1000)
	}
	return nil
}

// sessHeap orders the open sessions by the time of their next segment,
// then by ID.
type sessHeap []*sess

func (s *sess) before(at int64, id int) bool {
	return s.at < at || s.at == at && s.id < id
}

func (h sessHeap) less(i, j int) bool { return h[i].before(h[j].at, h[j].id) }

func (h sessHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h sessHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// second returns the earliest session after the first; len(h) > 1.
func (h sessHeap) second() *sess {
	if len(h) > 2 && h.less(2, 1) {
		return h[2]
	}
	return h[1]
}

// pop removes the first session.
func (h *sessHeap) pop() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = nil
	*h = old[:n]
	h.down(0)
}
