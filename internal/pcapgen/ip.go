package pcapgen

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

const (
	ipv4HeaderLen = 20
	ipv6HeaderLen = 40
	tcpHeaderLen  = 20
	protoTCP      = 6
	ttl           = 64
	ipv4DF        = 0x4000
	ipv4MF        = 0x2000
)

// family reports whether s is carried over IPv6, and panics unless both of
// its addresses are valid and of the same family.
func family(s *Segment) (v6 bool) {
	src, dst := s.Src.Addr(), s.Dst.Addr()
	if !src.IsValid() || !dst.IsValid() {
		panic("pcapgen: segment address is not valid")
	}
	if src.Is4() != dst.Is4() {
		panic(fmt.Sprintf("pcapgen: segment mixes address families: %v -> %v", src, dst))
	}
	return !src.Is4()
}

// ipLen returns the length of the IP packet carrying s.
func ipLen(s *Segment, v6 bool) int {
	n := tcpHeaderLen + len(s.Payload)
	if v6 {
		if n > 0xffff {
			panic(fmt.Sprintf("pcapgen: TCP segment of %d bytes does not fit an IPv6 packet", n))
		}
		return ipv6HeaderLen + n
	}
	n += ipv4HeaderLen
	if n > 0xffff {
		panic(fmt.Sprintf("pcapgen: IPv4 packet of %d bytes is too long", n))
	}
	return n
}

// IPPacket builds the IPv4 or IPv6 packet (by address family) carrying s,
// with correct IP and TCP checksums. IPv4 packets have the DF flag set and an
// identification derived from the segment. IPPacket panics if the addresses
// of s are invalid or of different families.
func IPPacket(s Segment) []byte {
	v6 := family(&s)
	return appendIP(make([]byte, 0, ipLen(&s, v6)), &s, v6)
}

// appendIP appends the IP packet carrying s to b. It grows b at most once.
func appendIP(b []byte, s *Segment, v6 bool) []byte {
	n := ipLen(s, v6)
	b = grow(b, n)
	start := len(b)
	tcpLen := tcpHeaderLen + len(s.Payload)
	var pseudo uint64
	if v6 {
		b = append(b, 0x60, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(tcpLen))
		b = append(b, protoTCP, ttl)
		src, dst := s.Src.Addr().As16(), s.Dst.Addr().As16()
		b = append(b, src[:]...)
		b = append(b, dst[:]...)
		pseudo = sum(b[start+8:start+ipv6HeaderLen], 0)
	} else {
		b = append(b, 0x45, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
		b = binary.BigEndian.AppendUint16(b, ipID(s))
		b = binary.BigEndian.AppendUint16(b, ipv4DF)
		b = append(b, ttl, protoTCP, 0, 0)
		src, dst := s.Src.Addr().As4(), s.Dst.Addr().As4()
		b = append(b, src[:]...)
		b = append(b, dst[:]...)
		h := b[start:]
		binary.BigEndian.PutUint16(h[10:], ^fold(sum(h, 0)))
		pseudo = sum(h[12:ipv4HeaderLen], 0)
	}
	pseudo += protoTCP + uint64(tcpLen)

	t := len(b)
	win := s.Window
	if win == 0 {
		win = 65535
	}
	b = binary.BigEndian.AppendUint16(b, s.Src.Port())
	b = binary.BigEndian.AppendUint16(b, s.Dst.Port())
	b = binary.BigEndian.AppendUint32(b, s.Seq)
	b = binary.BigEndian.AppendUint32(b, s.Ack)
	b = append(b, tcpHeaderLen/4<<4, byte(s.Flags))
	b = binary.BigEndian.AppendUint16(b, win)
	b = append(b, 0, 0, 0, 0) // checksum, urgent pointer
	b = append(b, s.Payload...)
	binary.BigEndian.PutUint16(b[t+16:], ^fold(sum(b[t:], pseudo)))
	return b
}

// ipID returns the IPv4 identification of the packet carrying s: a mix of
// its sequence number, flags and ports, so that different segments of a
// connection get different values.
func ipID(s *Segment) uint16 {
	x := s.Seq ^ s.Ack>>7 ^ uint32(s.Flags)<<11 ^ uint32(s.Src.Port())*0x9e37
	return uint16(x ^ x>>16)
}

// grow makes room for n more bytes in b.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b
}

// sum adds b to the one's complement sum acc, treating b as a sequence of
// big-endian 16-bit words (an odd last byte is padded with zero).
//
// It adds little-endian 64-bit words with end-around carry and swaps the
// bytes of the folded result: the one's complement sum does not depend on
// byte order except for that swap (RFC 1071, 2(B)), and eight bytes per
// addition make it fast enough for multi-gigabyte benchmark captures.
func sum(b []byte, acc uint64) uint64 {
	var s, c uint64
	for len(b) >= 32 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[8:]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[16:]), c)
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		s, c = bits.Add64(s, binary.LittleEndian.Uint64(b), c)
		b = b[8:]
	}
	var tail uint64
	for i, x := range b {
		tail |= uint64(x) << (8 * i)
	}
	s, c = bits.Add64(s, tail, c)
	s, c = bits.Add64(s, 0, c)
	s += c // cannot carry again: the previous addition added at most 1
	s = s>>32 + s&0xffffffff
	return acc + uint64(bits.ReverseBytes16(fold(s)))
}

// fold reduces a one's complement sum to 16 bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// FragmentIPv4 cuts an IPv4 packet into fragments whose payloads are at most
// mtu-20 bytes (a multiple of 8 except in the last fragment), each with the
// original header (options included), its own length, offset and More
// Fragments flag, and a correct checksum. DF is cleared. A packet that
// already fits in mtu comes back as a single copy, and a fragment can be
// fragmented further. FragmentIPv4 panics if pkt is not an IPv4 packet or
// mtu leaves room for less than 8 bytes of payload.
func FragmentIPv4(pkt []byte, mtu int) [][]byte {
	if len(pkt) < ipv4HeaderLen || pkt[0]>>4 != 4 {
		panic("pcapgen: FragmentIPv4 needs an IPv4 packet")
	}
	hl := int(pkt[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(pkt[2:]))
	if hl < ipv4HeaderLen || total < hl || total > len(pkt) {
		panic("pcapgen: FragmentIPv4: malformed IPv4 header")
	}
	if total <= mtu {
		return [][]byte{append([]byte(nil), pkt[:total]...)}
	}
	chunk := (mtu - hl) &^ 7
	if chunk < 8 {
		panic(fmt.Sprintf("pcapgen: FragmentIPv4: mtu %d is too small", mtu))
	}
	ff := binary.BigEndian.Uint16(pkt[6:])
	baseOff := int(ff&0x1fff) * 8
	lastMF := ff & ipv4MF
	payload := pkt[hl:total]
	n := (len(payload) + chunk - 1) / chunk

	buf := make([]byte, 0, n*hl+len(payload))
	frags := make([][]byte, 0, n)
	for off := 0; off < len(payload); off += chunk {
		end := min(off+chunk, len(payload))
		start := len(buf)
		buf = append(buf, pkt[:hl]...)
		buf = append(buf, payload[off:end]...)
		f := buf[start:len(buf):len(buf)]
		binary.BigEndian.PutUint16(f[2:], uint16(len(f)))
		flags := lastMF
		if end < len(payload) {
			flags = ipv4MF
		}
		binary.BigEndian.PutUint16(f[6:], flags|uint16((baseOff+off)/8))
		f[10], f[11] = 0, 0
		binary.BigEndian.PutUint16(f[10:], ^fold(sum(f[:hl], 0)))
		frags = append(frags, f)
	}
	return frags
}
