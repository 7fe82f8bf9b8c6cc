package reassembly

import (
	"net/netip"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// linkFrames is a data segment framed in each link type the decoder knows,
// over IPv4 and IPv6, with 802.1Q on Ethernet.
func linkFrames(tb testing.TB) (links []capture.LinkType, frames [][]byte, payload int64) {
	tb.Helper()
	for _, v6 := range []bool{false, true} {
		client, server := netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("192.0.2.25:25")
		if v6 {
			client, server = netip.MustParseAddrPort("[2001:db8::10]:40000"), netip.MustParseAddrPort("[2001:db8::25]:25")
		}
		c := pcapgen.NewConn(client, server, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		seg := c.FromClient(make([]byte, 1400))
		for _, l := range []pcapgen.Link{
			{Type: pcapgen.LinkEthernet}, {Type: pcapgen.LinkEthernet, VLANs: []uint16{10}},
			{Type: pcapgen.LinkLinuxSLL}, {Type: pcapgen.LinkLinuxSLL2}, {Type: pcapgen.LinkNull}, {Type: pcapgen.LinkRaw},
		} {
			links = append(links, capture.LinkType(l.Type))
			frames = append(frames, seg.Packet(l).Data)
			payload += 1400
		}
	}
	return links, frames, payload
}

// TestLinkDecodeNoAlloc: decoding the headers of a packet allocates nothing,
// whatever its link type.
func TestLinkDecodeNoAlloc(t *testing.T) {
	links, frames, _ := linkFrames(t)
	d := newLinkDecoder()
	for i, f := range frames {
		if res, _ := d.decode(links[i], f); res != decodedTCP || len(d.tcp.Payload) != 1400 {
			t.Fatalf("frame %d (link %v): result %v, %d payload bytes", i, links[i], res, len(d.tcp.Payload))
		}
		if allocs := testing.AllocsPerRun(100, func() { d.decode(links[i], f) }); allocs != 0 {
			t.Errorf("link %v: %v allocations per packet", links[i], allocs)
		}
	}
}

// BenchmarkLinkDecode decodes link, IP and TCP headers of 1400-byte segments
// in every link type; bytes are the frames'.
func BenchmarkLinkDecode(b *testing.B) {
	links, frames, _ := linkFrames(b)
	var size int64
	for _, f := range frames {
		size += int64(len(f))
	}
	d := newLinkDecoder()
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for i, f := range frames {
			if res, _ := d.decode(links[i], f); res != decodedTCP {
				b.Fatal(res)
			}
		}
	}
}
