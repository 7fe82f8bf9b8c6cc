package pcapgen_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

func benchSegment() pcapgen.Segment {
	c := pcapgen.NewConn(client4, server4, start)
	return c.FromClient(bytes.Repeat([]byte("DATA line of a message body\r\n"), 40))
}

func BenchmarkIPPacketFrame(b *testing.B) {
	s := benchSegment()
	l := pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{100}}
	b.ReportAllocs()
	b.SetBytes(int64(len(s.Payload)))
	for b.Loop() {
		pcapgen.Frame(l, pcapgen.IPPacket(s))
	}
}

func BenchmarkSegmentPacket(b *testing.B) {
	s := benchSegment()
	l := pcapgen.Link{Type: pcapgen.LinkEthernet}
	b.ReportAllocs()
	b.SetBytes(int64(len(s.Payload)))
	for b.Loop() {
		s.Packet(l)
	}
}

func BenchmarkWritePcap(b *testing.B) {
	c := pcapgen.NewConn(client4, server4, start)
	var segs []pcapgen.Segment
	for range 1000 {
		segs = append(segs, c.FromClient([]byte("RCPT TO:<someone@example.test>\r\n")), c.FromServer([]byte("250 OK\r\n")))
	}
	pkts := pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkEthernet}, segs...)
	b.ReportAllocs()
	for b.Loop() {
		if err := pcapgen.WritePcap(io.Discard, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pkts); err != nil {
			b.Fatal(err)
		}
	}
}
