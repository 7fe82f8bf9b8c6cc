package pcapgen

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Link describes the framing around an IP packet.
type Link struct {
	Type uint32 // one of the Link* constants
	// VLANs are the 802.1Q tag control fields (VLAN ID in the low 12 bits),
	// outermost first. Ethernet only: one = 802.1Q (0x8100); two = QinQ
	// (outer 0x88a8, inner 0x8100); with more, all but the first use 0x8100.
	VLANs []uint16
}

// Addresses used in link-layer headers.
var (
	srcMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	dstMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherDot1Q = 0x8100
	etherQinQ  = 0x88a8
	afInet     = 2
	afInet6    = 30 // AF_INET6 on Darwin, which every pcap reader accepts
	arphrdEth  = 1
	sllIfIndex = 1
)

// linkHeaderLen returns the length of the header l puts before an IP
// packet, and panics if l cannot be written.
func linkHeaderLen(l *Link) int {
	if len(l.VLANs) > 0 && l.Type != LinkEthernet {
		panic(fmt.Sprintf("pcapgen: VLAN tags need Ethernet, not link type %d", l.Type))
	}
	switch l.Type {
	case LinkEthernet:
		return 14 + 4*len(l.VLANs)
	case LinkNull, LinkLoop:
		return 4
	case LinkLinuxSLL:
		return 16
	case LinkLinuxSLL2:
		return 20
	case LinkRaw, LinkIPv4, LinkIPv6:
		return 0
	}
	panic(fmt.Sprintf("pcapgen: unsupported link type %d", l.Type))
}

// appendLink appends the header of l for an IPv4 or IPv6 (v6) packet to b.
func appendLink(b []byte, l *Link, v6 bool) []byte {
	ether := uint16(etherIPv4)
	af := uint32(afInet)
	if v6 {
		ether, af = etherIPv6, afInet6
	}
	switch l.Type {
	case LinkEthernet:
		b = append(b, dstMAC[:]...)
		b = append(b, srcMAC[:]...)
		for i, tci := range l.VLANs {
			tpid := uint16(etherDot1Q)
			if i == 0 && len(l.VLANs) > 1 {
				tpid = etherQinQ
			}
			b = binary.BigEndian.AppendUint16(b, tpid)
			b = binary.BigEndian.AppendUint16(b, tci)
		}
		b = binary.BigEndian.AppendUint16(b, ether)
	case LinkNull:
		b = binary.LittleEndian.AppendUint32(b, af)
	case LinkLoop:
		b = binary.BigEndian.AppendUint32(b, af)
	case LinkLinuxSLL:
		b = append(b, 0, 0) // packet type: to us
		b = binary.BigEndian.AppendUint16(b, arphrdEth)
		b = binary.BigEndian.AppendUint16(b, uint16(len(srcMAC)))
		b = append(b, srcMAC[:]...)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, ether)
	case LinkLinuxSLL2:
		b = binary.BigEndian.AppendUint16(b, ether)
		b = append(b, 0, 0) // reserved
		b = binary.BigEndian.AppendUint32(b, sllIfIndex)
		b = binary.BigEndian.AppendUint16(b, arphrdEth)
		b = append(b, 0, byte(len(srcMAC))) // packet type: to us; address length
		b = append(b, srcMAC[:]...)
		b = append(b, 0, 0)
	}
	return b
}

// Frame wraps an IP packet in the link layer l; the family is taken from the
// packet's version field. Ethernet has fixed MACs, any VLAN tags, then
// ethertype 0x0800 or 0x86dd; NULL a little-endian address family (2 for
// IPv4, 30 for IPv6); LOOP the same in big endian; Linux SLL its 16-byte
// and SLL2 its 20-byte header; raw, IPv4 and IPv6 nothing. The result is
// always a new slice. Frame panics on an unknown link type or on VLANs with
// a link type other than Ethernet.
func Frame(l Link, ipPacket []byte) []byte {
	v6 := len(ipPacket) > 0 && ipPacket[0]>>4 == 6
	b := make([]byte, 0, linkHeaderLen(&l)+len(ipPacket))
	b = appendLink(b, &l, v6)
	return append(b, ipPacket...)
}

// Packet is one record for a capture file.
type Packet struct {
	Time      time.Time
	Data      []byte
	OrigLen   int // original length on the wire; 0 means len(Data)
	Interface int // pcapng interface index
}

// origLen returns the length of p on the wire.
func (p *Packet) origLen() int {
	if p.OrigLen == 0 {
		return len(p.Data)
	}
	return p.OrigLen
}

// Packet builds the record for s framed with l, at the time of s.
func (s Segment) Packet(l Link) Packet {
	v6 := family(&s)
	b := make([]byte, 0, linkHeaderLen(&l)+ipLen(&s, v6))
	b = appendLink(b, &l, v6)
	b = appendIP(b, &s, v6)
	return Packet{Time: s.Time, Data: b}
}

// FrameLen returns the length of the frame carrying s with the link layer l:
// the length of the slice AppendFrame appends.
func (s Segment) FrameLen(l Link) int {
	return linkHeaderLen(&l) + ipLen(&s, family(&s))
}

// AppendFrame appends the frame carrying s, framed with l, to b and returns
// the extended slice, like Packet without the allocation: b grows at most
// once, and not at all when it has room for FrameLen bytes.
func (s Segment) AppendFrame(b []byte, l Link) []byte {
	v6 := family(&s)
	b = grow(b, linkHeaderLen(&l)+ipLen(&s, v6))
	b = appendLink(b, &l, v6)
	return appendIP(b, &s, v6)
}

// Packets frames every segment with l. The frames share one allocation but
// none can grow into another.
func Packets(l Link, segs ...Segment) []Packet {
	hl := linkHeaderLen(&l)
	total := 0
	for i := range segs {
		total += hl + ipLen(&segs[i], family(&segs[i]))
	}
	buf := make([]byte, 0, total)
	pkts := make([]Packet, len(segs))
	for i := range segs {
		s := &segs[i]
		start := len(buf)
		v6 := family(s)
		buf = appendLink(buf, &l, v6)
		buf = appendIP(buf, s, v6)
		pkts[i] = Packet{Time: s.Time, Data: buf[start:len(buf):len(buf)]}
	}
	return pkts
}

// Snap returns p with its data cut to n bytes, as a capture with snap length
// n records it; the original length is kept. Data shorter than n is left
// alone.
func Snap(p Packet, n int) Packet {
	if n < 0 {
		n = 0
	}
	if len(p.Data) > n {
		p.OrigLen = p.origLen()
		p.Data = p.Data[:n:n]
	}
	return p
}
