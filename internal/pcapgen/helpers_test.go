package pcapgen_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

var (
	client4 = netip.MustParseAddrPort("192.0.2.10:49152")
	server4 = netip.MustParseAddrPort("198.51.100.25:25")
	client6 = netip.MustParseAddrPort("[2001:db8::10]:49153")
	server6 = netip.MustParseAddrPort("[2001:db8:1::25]:587")
	start   = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)
)

// session returns the segments of a short SMTP exchange, closed with FINs.
func session(c *pcapgen.Conn) []pcapgen.Segment {
	segs := c.Handshake()
	segs = append(segs,
		c.FromServer([]byte("220 mx.example.test ESMTP\r\n")),
		c.Ack(true),
		c.FromClient([]byte("EHLO client.example\r\n")),
		c.FromServer([]byte("250-mx.example.test\r\n250 8BITMIME\r\n")),
		c.FromClient([]byte("MAIL FROM:<a@example.test>\r\n")),
		c.FromServer([]byte("250 OK\r\n")),
		c.FromClient([]byte("QUIT\r\n")),
		c.FromServer([]byte("221 bye\r\n")),
		c.ClientFIN(),
		c.ServerFIN(),
		c.Ack(true),
	)
	return segs
}

// decoderFor returns the gopacket decoder for a link type; gopacket has no
// link-type decoder for LINKTYPE_IPV4 and LINKTYPE_IPV6.
func decoderFor(linkType uint32) gopacket.Decoder {
	switch linkType {
	case pcapgen.LinkIPv4:
		return layers.LayerTypeIPv4
	case pcapgen.LinkIPv6:
		return layers.LayerTypeIPv6
	}
	return layers.LinkType(linkType)
}

// onesSum is a plain RFC 1071 sum over 16-bit words, written independently of
// the package's.
func onesSum(parts ...[]byte) uint16 {
	var all []byte
	for _, p := range parts {
		all = append(all, p...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint32
	for i := 0; i < len(all); i += 2 {
		s += uint32(all[i])<<8 | uint32(all[i+1])
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// tcpChecksumOK verifies the TCP checksum of the IP packet ip by hand.
func tcpChecksumOK(t *testing.T, ip []byte) bool {
	t.Helper()
	var src, dst, tcp []byte
	switch ip[0] >> 4 {
	case 4:
		hl := int(ip[0]&0xf) * 4
		src, dst, tcp = ip[12:16], ip[16:20], ip[hl:binary.BigEndian.Uint16(ip[2:])]
	case 6:
		src, dst, tcp = ip[8:24], ip[24:40], ip[40:40+int(binary.BigEndian.Uint16(ip[4:]))]
	default:
		t.Fatalf("not an IP packet: % x", ip[:1])
	}
	pseudo := []byte{0, 6, byte(len(tcp) >> 8), byte(len(tcp))}
	return onesSum(src, dst, pseudo, tcp) == 0xffff
}

// checkFrame decodes data with gopacket and checks that it is a correct
// packet carrying s. It returns the decoded packet.
func checkFrame(t *testing.T, data []byte, linkType uint32, s pcapgen.Segment) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(data, decoderFor(linkType), gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decode error: %v\n%s", el.Error(), p.Dump())
	}
	tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !ok {
		t.Fatalf("no TCP layer:\n%s", p.Dump())
	}
	if uint16(tcp.SrcPort) != s.Src.Port() || uint16(tcp.DstPort) != s.Dst.Port() {
		t.Errorf("ports %d->%d, want %v->%v", tcp.SrcPort, tcp.DstPort, s.Src, s.Dst)
	}
	if tcp.Seq != s.Seq || tcp.Ack != s.Ack {
		t.Errorf("seq/ack %d/%d, want %d/%d", tcp.Seq, tcp.Ack, s.Seq, s.Ack)
	}
	got := pcapgen.Flags(0)
	for _, f := range []struct {
		set  bool
		flag pcapgen.Flags
	}{{tcp.FIN, pcapgen.FIN}, {tcp.SYN, pcapgen.SYN}, {tcp.RST, pcapgen.RST}, {tcp.PSH, pcapgen.PSH}, {tcp.ACK, pcapgen.ACK}} {
		if f.set {
			got |= f.flag
		}
	}
	if got != s.Flags || tcp.URG || tcp.ECE || tcp.CWR || tcp.NS {
		t.Errorf("flags %05b, want %05b", got, s.Flags)
	}
	wantWin := s.Window
	if wantWin == 0 {
		wantWin = 65535
	}
	if tcp.Window != wantWin {
		t.Errorf("window %d, want %d", tcp.Window, wantWin)
	}
	if !bytes.Equal(tcp.Payload, s.Payload) {
		t.Errorf("payload %q, want %q", tcp.Payload, s.Payload)
	}

	var ipBytes []byte
	var ipLayer gopacket.SerializableLayer
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		if !s.Src.Addr().Is4() {
			t.Fatalf("got IPv4 for %v", s.Src)
		}
		if netip.AddrFrom4([4]byte(ip.SrcIP.To4())) != s.Src.Addr() || netip.AddrFrom4([4]byte(ip.DstIP.To4())) != s.Dst.Addr() {
			t.Errorf("addresses %v->%v, want %v->%v", ip.SrcIP, ip.DstIP, s.Src, s.Dst)
		}
		if _, res := ip.VerifyChecksum(); !res.Valid {
			t.Errorf("IPv4 checksum %#04x, want %#04x", res.Actual, res.Correct)
		}
		if onesSum(ip.Contents) != 0xffff {
			t.Errorf("IPv4 header does not sum to 0xffff")
		}
		ipBytes, ipLayer = append(slices.Clone(ip.Contents), ip.Payload...), ip
	case *layers.IPv6:
		if !s.Src.Addr().Is6() {
			t.Fatalf("got IPv6 for %v", s.Src)
		}
		if netip.AddrFrom16([16]byte(ip.SrcIP)) != s.Src.Addr() || netip.AddrFrom16([16]byte(ip.DstIP)) != s.Dst.Addr() {
			t.Errorf("addresses %v->%v, want %v->%v", ip.SrcIP, ip.DstIP, s.Src, s.Dst)
		}
		ipBytes, ipLayer = append(slices.Clone(ip.Contents), ip.Payload...), ip
	default:
		t.Fatalf("network layer %T", p.NetworkLayer())
	}
	if err := tcp.SetNetworkLayerForChecksum(p.NetworkLayer()); err != nil {
		t.Fatal(err)
	}
	if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
		t.Errorf("TCP checksum %#04x, want %#04x (%v)", res.Actual, res.Correct, err)
	}
	if !tcpChecksumOK(t, ipBytes) {
		t.Errorf("TCP checksum does not verify by hand")
	}

	// gopacket serializing the decoded layers must give the same bytes.
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ipLayer, tcp, gopacket.Payload(tcp.Payload)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), ipBytes) {
		t.Errorf("gopacket reserializes\n% x\nas\n% x", ipBytes, buf.Bytes())
	}
	return p
}

// stream reassembles the bytes one side sent, from its first sequence number
// first: segments are sorted by sequence number, overlaps and duplicates are
// dropped, and it stops at the first gap. It returns the bytes and whether
// there was a gap.
func stream(segs []pcapgen.Segment, src netip.AddrPort, first uint32) ([]byte, bool) {
	var data []pcapgen.Segment
	for _, s := range segs {
		if s.Src == src && len(s.Payload) > 0 {
			data = append(data, s)
		}
	}
	slices.SortStableFunc(data, func(a, b pcapgen.Segment) int {
		return int(int32(a.Seq-first)) - int(int32(b.Seq-first))
	})
	var out []byte
	next := first
	for _, s := range data {
		off := int32(next - s.Seq)
		if off < 0 {
			return out, true
		}
		if int(off) < len(s.Payload) {
			out = append(out, s.Payload[off:]...)
			next = s.Seq + uint32(len(s.Payload))
		}
	}
	return out, false
}
