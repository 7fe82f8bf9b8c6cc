// Package reassembly turns captured packets into the two ordered byte streams
// of each selected TCP connection.
//
// It owns link and IP decoding (Ethernet with 802.1Q/QinQ tags, Linux SLL and
// SLL2, BSD loopback, raw IPv4/IPv6), IPv4 defragmentation, the choice of
// connections (server ports, or content detection through a hook), the
// decision of which side is the client, and TCP reassembly with
// github.com/gopacket/gopacket/reassembly. Lost bytes are reported as gaps,
// memory is capped, and idle connections are flushed by packet time, never by
// wall-clock time. It knows nothing of SMTP beyond the hooks in Options.
package reassembly

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
	gpreassembly "github.com/gopacket/gopacket/reassembly"

	"github.com/smtpscope/smtpscope/capture"
)

// Dir is the direction of one byte stream of a connection.
type Dir uint8

// The two directions.
const (
	FromClient Dir = iota
	FromServer
)

func (d Dir) String() string {
	if d == FromClient {
		return "client"
	}
	return "server"
}

// Handler receives the reassembled streams of one connection. Its methods
// are never called concurrently for one connection.
type Handler interface {
	// Data delivers bytes in stream order. p is valid only until Data
	// returns. ts is the capture time of the packet that made the bytes
	// available.
	Data(d Dir, p []byte, ts time.Time)
	// Gap reports n bytes lost from the stream (n < 0: how many is unknown).
	Gap(d Dir, n int, ts time.Time)
	// Close is called exactly once, with the capture time of the
	// connection's last packet.
	Close(ts time.Time, s ConnStats)
}

// End tells how a connection ended.
type End uint8

// How connections end.
const (
	EndOpen End = iota // still open at the end of the capture or when flushed as idle
	EndFIN             // closed with FIN
	EndRST             // reset
	// EndEvicted: flushed while still open because more than
	// Options.MaxConnections were open; it was among the longest idle.
	EndEvicted
)

func (e End) String() string {
	switch e {
	case EndFIN:
		return "fin"
	case EndRST:
		return "rst"
	case EndEvicted:
		return "evicted"
	}
	return "open"
}

// ConnStats counts what was seen of one connection.
type ConnStats struct {
	Packets int      // TCP segments of the connection, both ways
	Bytes   [2]int64 // payload bytes delivered, indexed by Dir
	Missing [2]int64 // payload bytes lost, indexed by Dir
	End     End
}

// Sides tells how the client side of a connection was decided.
type Sides uint8

// Ways of deciding the client side.
const (
	SidesBySYN     Sides = iota // the client sent the SYN
	SidesByContent              // the Role hook recognised what one side sent first
	SidesByPort                 // the server is the side on a selected (or lower) port
)

func (s Sides) String() string {
	switch s {
	case SidesBySYN:
		return "syn"
	case SidesByContent:
		return "content"
	}
	return "port"
}

// Conn describes a connection when its Handler is created.
type Conn struct {
	// ID numbers connections from 1 in order of their first packet (for a
	// connection whose first captured packet carried neither SYN nor data,
	// or one selected by Detect, in order of the packet that made it known).
	ID             int64
	Client, Server netip.AddrPort
	Start          time.Time // capture time of its first packet
	Sides          Sides
}

// Role is what the first bytes one side sent say about that side.
type Role uint8

// Roles.
const (
	RoleUnknown Role = iota
	RoleClient
	RoleServer
)

// Verdict is a Detector's answer.
type Verdict uint8

// Verdicts.
const (
	VerdictMore Verdict = iota // not enough bytes yet
	VerdictYes
	VerdictNo
)

// Detector decides from the first bytes each side sent whether a connection
// on an unselected port carries the protocol.
type Detector func(client, server []byte) Verdict

// Options configure an Assembler. The zero value selects nothing; fields left
// zero take the documented defaults.
type Options struct {
	// Ports are the server ports whose connections are selected.
	Ports []uint16
	// Detect, when set, also selects connections on other ports by content.
	// At most DetectBytes bytes each way are held while it decides.
	Detect Detector
	// Role tells from the first bytes a side sent whether it is the client
	// or the server, for connections whose SYN was not captured.
	Role func(first []byte) Role
	// MaxBufferedPerConn caps the out-of-order bytes held for each
	// direction of one connection; past it the oldest missing bytes are
	// declared lost. Bytes are held in pages of 1900 bytes, at least one
	// per segment, so the cap counts pages: MaxBufferedPerConn/1900 of
	// them (at least one). Default 4 MiB.
	MaxBufferedPerConn int
	// MaxBufferedTotal caps the out-of-order bytes held for all
	// connections. Default 256 MiB.
	MaxBufferedTotal int
	// GapTimeout is how long, in packet time, out-of-order data waits for
	// the bytes before it. Default 10s.
	GapTimeout time.Duration
	// IdleTimeout is how long, in packet time, a connection without packets
	// stays open before it is flushed and closed. Default 5m.
	IdleTimeout time.Duration
	// MaxConnections caps the TCP connections tracked at once. Past it,
	// those idle longest are flushed and closed (ConnStats.End is
	// EndEvicted) until a tenth of the cap is free; their later packets
	// start new connections, as in a capture that began mid-stream.
	// Default 100,000.
	MaxConnections int
}

// Defaults for Options.
const (
	DefaultMaxBufferedPerConn = 4 << 20
	DefaultMaxBufferedTotal   = 256 << 20
	DefaultGapTimeout         = 10 * time.Second
	DefaultIdleTimeout        = 5 * time.Minute
	DefaultMaxConnections     = 100_000
	// DetectBytes is how many bytes each way Detect may look at.
	DetectBytes = 1024
)

// pageBytes is the size of gopacket's reassembly pages.
const pageBytes = 1900

// Counters count the packets an Assembler was given.
type Counters struct {
	Packets     int64 // packets given to Packet
	Selected    int64 // TCP segments of selected connections
	Other       int64 // well-formed packets that are not TCP over IP, or not selected
	Malformed   int64 // packets that did not decode
	Fragments   int64 // IPv4 fragments (counted in Packets too)
	Connections int64 // connections handed to a Handler
	Evicted     int64 // connections closed because of Options.MaxConnections
}

// Assembler reassembles the selected TCP connections of a packet stream.
// It is not safe for concurrent use.
type Assembler struct {
	opts       Options
	newHandler func(Conn) Handler
	ports      [1024]uint64 // bit set of selected ports

	dec    *linkDecoder
	defrag *ip4defrag.IPv4Defragmenter
	asm    *gpreassembly.Assembler
	ctx    packetContext
	pad    []byte

	now       time.Time // capture time of the latest packet
	nextFlush time.Time
	streams   int64     // connections seen
	ids       int64     // IDs given
	done      []*stream // connections closed during the current call
	rejected  bool      // the last segment was of a connection Detect dropped
	flushing  bool      // inside a gopacket flush: streams hold what it releases
	// closed remembers, for ClosedMemory of packet time, the connections
	// that just closed, both ways, so that their last ACKs do not start
	// new ones. Its size is bounded by the connections closed in that time.
	closed   map[flowKey]closedConn
	released []*stream // streams holding bytes released by the current flush
	// live holds the connections gopacket tracks (each stream knows its
	// index), for MaxConnections; evicting is set while it flushes some.
	live     []*stream
	evicting bool
	// reset holds the connections a RST ended during the current packet;
	// aborting is set while forgetReset ends their other half.
	reset    []resetHalf
	aborting bool
	abortTCP layers.TCP
	abortHdr [20]byte
	lastSeen []time.Time // scratch for evict
	counters Counters
}

// packetContext carries the capture time of the packet being assembled. One
// value is reused for every packet, so bytes that waited for earlier ones are
// stamped with the time of the packet that released them.
type packetContext struct {
	ci      gopacket.CaptureInfo
	missing int // payload bytes cut by the snap length
}

func (c *packetContext) GetCaptureInfo() gopacket.CaptureInfo { return c.ci }

// New returns an Assembler that calls newHandler for each selected connection.
func New(newHandler func(Conn) Handler, o Options) *Assembler {
	if o.MaxBufferedPerConn <= 0 {
		o.MaxBufferedPerConn = DefaultMaxBufferedPerConn
	}
	if o.MaxBufferedTotal <= 0 {
		o.MaxBufferedTotal = DefaultMaxBufferedTotal
	}
	if o.GapTimeout <= 0 {
		o.GapTimeout = DefaultGapTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	a := &Assembler{
		opts:       o,
		newHandler: newHandler,
		dec:        newLinkDecoder(),
		closed:     make(map[flowKey]closedConn),
		defrag:     ip4defrag.NewIPv4Defragmenter(),
	}
	for _, p := range o.Ports {
		a.ports[p/64] |= 1 << (p % 64)
	}
	pool := gpreassembly.NewStreamPool(factory{a})
	a.asm = gpreassembly.NewAssembler(pool)
	a.asm.MaxBufferedPagesPerConnection = max(1, o.MaxBufferedPerConn/pageBytes)
	a.asm.MaxBufferedPagesTotal = max(1, o.MaxBufferedTotal/pageBytes)
	return a
}

func (a *Assembler) selectedPort(p uint16) bool {
	return a.ports[p/64]&(1<<(p%64)) != 0
}

// Counters returns the counts so far.
func (a *Assembler) Counters() Counters { return a.counters }

// Packet decodes one captured frame of the given link type and feeds its TCP
// segment, if any, to reassembly. data is not kept after Packet returns.
func (a *Assembler) Packet(link capture.LinkType, data []byte, ts time.Time) {
	a.counters.Packets++
	if ts.After(a.now) {
		a.now = ts
	}
	res, ip := a.dec.decode(link, data)
	var netFlow gopacket.Flow
	missing := 0
	switch res {
	case decodedBad:
		a.counters.Malformed++
		return
	case decodedOther:
		a.counters.Other++
		if ip == layers.LayerTypeIPv4 && isFragment(&a.dec.ip4) {
			a.counters.Fragments++ // of another protocol: not reassembled
		}
		return
	case decodedFragment:
		a.counters.Fragments++
		var ok bool
		if netFlow, ok = a.reassembleFragment(ts); !ok {
			return
		}
	case decodedTCP:
		if ip == layers.LayerTypeIPv4 {
			netFlow = a.dec.ip4.NetworkFlow()
		} else {
			netFlow = a.dec.ip6.NetworkFlow()
		}
		missing = a.dec.missingPayload(ip, &a.dec.tcp)
	}
	tcp := &a.dec.tcp
	if !a.selectedPort(uint16(tcp.SrcPort)) && !a.selectedPort(uint16(tcp.DstPort)) && a.opts.Detect == nil {
		a.counters.Other++
		return
	}
	if missing > 0 {
		// Stand-in bytes keep the sequence numbers right; the stream turns
		// them back into a gap when it delivers them.
		a.pad = append(a.pad[:0], tcp.Payload...)
		a.pad = append(a.pad, make([]byte, missing)...)
		tcp.Payload = a.pad
	}
	a.ctx = packetContext{
		ci:      gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(data), Length: len(data)},
		missing: missing,
	}
	a.rejected = false
	a.asm.AssembleWithContext(netFlow, tcp, &a.ctx)
	a.forgetReset()
	if a.rejected {
		a.counters.Other++ // Detect said no
	} else {
		a.counters.Selected++
	}
	a.dispatch()
	if len(a.live) > a.opts.MaxConnections {
		a.evict()
	}
	if !ts.Before(a.nextFlush) {
		a.flushIdle(ts)
	}
}

// forgetReset makes gopacket forget the connections a RST just ended. It
// closes only the half the RST came on, and keeps the connection until the
// other half ends too: a client that resets and connects again from the same
// port (smtp-source does) would find its new connection taken for the old
// one, and lost. A RST on the other half, at the sequence number it waits
// for, ends that half as well.
func (a *Assembler) forgetReset() {
	for _, r := range a.reset {
		s := r.s
		if s.live < 0 {
			continue // gopacket let go of it already
		}
		// The other half runs from the side that did not send the RST;
		// gopacket takes its ports from the header bytes.
		from, net := 1-r.side, s.key.net.Reverse()
		if from == 0 {
			net = s.key.net
		}
		h := a.abortHdr[:]
		binary.BigEndian.PutUint16(h[0:], s.ends[from].Port())
		binary.BigEndian.PutUint16(h[2:], s.ends[1-from].Port())
		h[12], h[13] = 5<<4, 0x04 // 20-byte header, RST
		if a.abortTCP.DecodeFromBytes(h, gopacket.NilDecodeFeedback) != nil {
			continue
		}
		a.aborting = true
		a.asm.AssembleWithContext(net, &a.abortTCP, &a.ctx)
		a.aborting = false
	}
	clear(a.reset)
	a.reset = a.reset[:0]
}

// resetHalf is a connection a RST ended, and the side (as in stream) that
// sent it.
type resetHalf struct {
	s    *stream
	side int
}

// evict closes the connections idle longest until a tenth of MaxConnections
// (at least one) is free, so that the cost of choosing them, a sort of the
// last packet times, is spread over the connections that arrive until the
// next time.
func (a *Assembler) evict() {
	a.lastSeen = a.lastSeen[:0]
	for _, s := range a.live {
		a.lastSeen = append(a.lastSeen, s.last)
	}
	slices.SortFunc(a.lastSeen, time.Time.Compare)
	n := len(a.live) - a.opts.MaxConnections + max(1, a.opts.MaxConnections/10)
	cutoff := a.lastSeen[min(n, len(a.lastSeen))-1].Add(1) // flushes what was last seen before
	a.evicting, a.flushing = true, true                    // flushing: released in first-packet order
	a.asm.FlushWithOptions(gpreassembly.FlushOptions{T: cutoff, TC: cutoff})
	a.evicting, a.flushing = false, false
	a.release()
	a.dispatch()
}

// isFragment tells whether ip is a fragment of a larger datagram.
func isFragment(ip *layers.IPv4) bool {
	return ip.Flags&layers.IPv4MoreFragments != 0 || ip.FragOffset != 0
}

// reassembleFragment hands the IPv4 fragment in a.dec.ip4 to the
// defragmenter and, when it completes a datagram, decodes its TCP header.
func (a *Assembler) reassembleFragment(ts time.Time) (gopacket.Flow, bool) {
	// The defragmenter keeps the layer it is given: give it a copy.
	raw := make([]byte, 0, len(a.dec.ip4.Contents)+len(a.dec.ip4.Payload))
	raw = append(append(raw, a.dec.ip4.Contents...), a.dec.ip4.Payload...)
	frag := new(layers.IPv4)
	if err := frag.DecodeFromBytes(raw, gopacket.NilDecodeFeedback); err != nil {
		a.counters.Malformed++
		return gopacket.Flow{}, false
	}
	out, err := a.defrag.DefragIPv4WithTimestamp(frag, ts)
	if err != nil {
		a.counters.Malformed++
		return gopacket.Flow{}, false
	}
	if out == nil {
		return gopacket.Flow{}, false // more fragments to come
	}
	if err := a.dec.tcp.DecodeFromBytes(out.Payload, gopacket.NilDecodeFeedback); err != nil {
		a.counters.Malformed++
		return gopacket.Flow{}, false
	}
	return out.NetworkFlow(), true
}

// flushIdle declares lost the bytes that out-of-order data has waited for
// longer than GapTimeout and closes connections idle for IdleTimeout.
func (a *Assembler) flushIdle(now time.Time) {
	a.flushing = true
	a.asm.FlushWithOptions(gpreassembly.FlushOptions{
		T:  now.Add(-a.opts.GapTimeout),
		TC: now.Add(-a.opts.IdleTimeout),
	})
	a.flushing = false
	a.release()
	a.defrag.DiscardOlderThan(now.Add(-a.opts.GapTimeout))
	a.dispatch()
	for k, c := range a.closed {
		if now.Sub(c.last) > closedMemory {
			delete(a.closed, k)
		}
	}
	a.nextFlush = now.Add(time.Second)
}

// Flush delivers everything still held and closes every connection, as at
// the end of a capture.
func (a *Assembler) Flush() {
	a.flushing = true
	a.asm.FlushAll()
	a.flushing = false
	a.release()
	a.dispatch()
}

// byFirstPacket orders streams by their first packet.
func byFirstPacket(x, y *stream) int { return cmp.Compare(x.seq, y.seq) }

// release delivers what the last flush released, connection by connection
// in the order of their first packets, so output does not depend on the
// order gopacket keeps its connections in.
func (a *Assembler) release() { inFirstPacketOrder(&a.released, (*stream).deliverWaiting) }

// dispatch closes the connections that ended during the last call, in the
// order of their first packets, so output does not depend on map order.
func (a *Assembler) dispatch() { inFirstPacketOrder(&a.done, (*stream).close) }

// inFirstPacketOrder calls f on each stream of the list in the order of
// their first packets, and empties the list.
func inFirstPacketOrder(list *[]*stream, f func(*stream)) {
	if len(*list) == 0 {
		return
	}
	slices.SortFunc(*list, byFirstPacket)
	for _, s := range *list {
		f(s)
	}
	clear(*list)
	*list = (*list)[:0]
}

// flowKey identifies one direction of a TCP connection, as gopacket does.
type flowKey struct{ net, tcp gopacket.Flow }

func (k flowKey) reverse() flowKey { return flowKey{k.net.Reverse(), k.tcp.Reverse()} }

// closedConn is what Assembler.closed remembers of a connection: its last
// packet time, and whether it ended (FIN or RST) rather than was flushed.
type closedConn struct {
	last  time.Time
	ended bool
}

// closedMemory is how long, in packet time, a closed connection's 4-tuple is
// remembered so its last ACKs are not taken for a new connection.
const closedMemory = 10 * time.Second

type factory struct{ a *Assembler }

func (f factory) New(netFlow, tcpFlow gopacket.Flow, tcp *layers.TCP, ac gpreassembly.AssemblerContext) gpreassembly.Stream {
	a := f.a
	k := flowKey{netFlow, tcpFlow}
	if c, ok := a.closed[k]; ok && !tcp.SYN && (c.ended || len(tcp.Payload) == 0) {
		// The last packets of a connection that just closed (its last
		// ACKs, or data the other side sent before a RST reached it):
		// gopacket keeps no state for them. A new connection on the same
		// ports begins with a SYN. After a flush (idle, evicted) data
		// goes on where it was.
		return nil
	}
	a.streams++
	src, _ := netip.AddrFromSlice(netFlow.Src().Raw())
	dst, _ := netip.AddrFromSlice(netFlow.Dst().Raw())
	s := &stream{
		a:     a,
		key:   k,
		seq:   a.streams,
		start: ac.GetCaptureInfo().Timestamp,
		ends: [2]netip.AddrPort{
			netip.AddrPortFrom(src, uint16(tcp.SrcPort)),
			netip.AddrPortFrom(dst, uint16(tcp.DstPort)),
		},
		server: -1,
	}
	s.live = len(a.live)
	a.live = append(a.live, s)
	if !a.selectedPort(uint16(tcp.SrcPort)) && !a.selectedPort(uint16(tcp.DstPort)) {
		s.detecting = true
	} else if tcp.SYN || len(tcp.Payload) > 0 {
		a.ids++
		s.id = a.ids
	}
	return s
}
