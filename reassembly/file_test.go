package reassembly_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// withInterface sets the pcapng interface of every packet.
func withInterface(pkts []pcapgen.Packet, ifc int) []pcapgen.Packet {
	for i := range pkts {
		pkts[i].Interface = ifc
	}
	return pkts
}

// byTime merges packet lists by time, keeping the order of equal times.
func byTime(lists ...[]pcapgen.Packet) []pcapgen.Packet {
	var out []pcapgen.Packet
	for _, l := range lists {
		out = append(out, l...)
	}
	// Insertion sort: stable and the lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Time.Before(out[j-1].Time); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestCaptureFiles writes captures with pcapgen, reads them back with
// package capture and reassembles them: file formats, link types and
// interfaces end to end.
func TestCaptureFiles(t *testing.T) {
	client2 := netip.MustParseAddrPort("192.0.2.11:40002")

	// Two connections, one over IPv4 and one over IPv6, interleaved.
	a := pcapgen.NewConn(client4, server4, t0)
	b := pcapgen.NewConn(client6, server6, t0.Add(500*time.Microsecond))
	sa, sb := session(a), session(b)
	wantAB := []wantConn{sessionWant(1, client4, server4), sessionWant(2, client6, server6)}

	// A session with a lost and a cut segment, reordered, for classic
	// pcap with a snap length.
	c := pcapgen.NewConn(client2, server4, t0)
	hs := c.Handshake()
	g1 := c.FromServer([]byte(greeting))
	parts := c.Split(c.FromClient([]byte(mailFrom+rcptTo+body)), len(mailFrom), len(rcptTo), 500)
	late := segs(c.FromServer([]byte(ok)), c.ClientFIN(), c.ServerFIN())
	rough := pcapgen.Packets(ethernet, segs(hs, g1, parts[0], parts[3], parts[2], late)...)
	rough[6] = pcapgen.Snap(rough[6], ethHeader+ipTCPHeaders+200) // parts[2], 500 bytes
	wantRough := []wantConn{{
		id: 1, client: client2, server: server4, sides: reassembly.SidesBySYN,
		c:       []piece{d(mailFrom), g(len(rcptTo)), d(body[:200]), g(300), d(body[500:])},
		s:       []piece{d(greeting + ok)},
		packets: 10, end: reassembly.EndFIN,
	}}

	pcapFile := func(o pcapgen.PcapOptions, pkts []pcapgen.Packet) []byte {
		var buf bytes.Buffer
		if err := pcapgen.WritePcap(&buf, o, pkts); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	pcapngFile := func(sections ...pcapgen.Section) []byte {
		var buf bytes.Buffer
		if err := pcapgen.WritePcapng(&buf, sections...); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}

	// pcapng: section 1 has an Ethernet and a Linux SLL2 interface, each
	// carrying one connection; section 2 (big-endian, with extra blocks)
	// carries the rest of both connections over LOOP and raw IP.
	sect1 := pcapgen.Section{
		Interfaces: []pcapgen.Interface{{LinkType: pcapgen.LinkEthernet}, {LinkType: pcapgen.LinkLinuxSLL2, TsResol: 9}},
		Packets: byTime(
			withInterface(pcapgen.Packets(ethernet, sa[:5]...), 0),
			withInterface(pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkLinuxSLL2}, sb[:5]...), 1)),
	}
	sect2 := pcapgen.Section{
		BigEndian:  true,
		Extra:      true,
		Interfaces: []pcapgen.Interface{{LinkType: pcapgen.LinkRaw}, {LinkType: pcapgen.LinkLoop}},
		Packets: byTime(
			withInterface(pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkLoop}, sa[5:]...), 1),
			withInterface(pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkRaw}, sb[5:]...), 0)),
	}
	ng := pcapngFile(sect1, sect2)

	for _, tc := range []struct {
		name    string
		file    []byte
		packets int
		want    []wantConn
	}{
		{"pcap", pcapFile(pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, byTime(pcapgen.Packets(ethernet, sa...), pcapgen.Packets(ethernet, sb...))), 22, wantAB},
		{"pcap nanosecond big-endian SLL", pcapFile(pcapgen.PcapOptions{LinkType: pcapgen.LinkLinuxSLL, Nano: true, BigEndian: true},
			byTime(pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkLinuxSLL}, sa...), pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkLinuxSLL}, sb...))), 22, wantAB},
		{"pcap NULL gzip", pcapgen.Gzip(pcapFile(pcapgen.PcapOptions{LinkType: pcapgen.LinkNull},
			byTime(pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkNull}, sa...), pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkNull}, sb...)))), 22, wantAB},
		{"pcap with snap length, lost and reordered segments", pcapFile(pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet, Snaplen: 254}, rough), len(rough), wantRough},
		{"pcapng two interfaces two sections", ng, 22, wantAB},
		{"pcapng gzip", pcapgen.Gzip(ng), 22, wantAB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, counters, n := runCapture(t, tc.file, reassembly.Options{Ports: smtpPorts})
			if n != tc.packets {
				t.Fatalf("read %d packets, want %d", n, tc.packets)
			}
			checkConns(t, r, tc.want)
			want := reassembly.Counters{Packets: int64(n), Selected: int64(n), Connections: int64(len(tc.want))}
			if counters != want {
				t.Errorf("counters %+v, want %+v", counters, want)
			}
		})
	}
}
