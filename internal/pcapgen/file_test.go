package pcapgen_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// checkLink checks the link layer gopacket decoded from a frame of l.
func checkLink(t *testing.T, p gopacket.Packet, l pcapgen.Link, v6 bool) {
	t.Helper()
	first := p.Layers()[0]
	switch l.Type {
	case pcapgen.LinkEthernet:
		eth, ok := first.(*layers.Ethernet)
		if !ok {
			t.Fatalf("first layer %T", first)
		}
		if eth.SrcMAC.String() != "02:00:00:00:00:01" || eth.DstMAC.String() != "02:00:00:00:00:02" {
			t.Errorf("MACs %v -> %v", eth.SrcMAC, eth.DstMAC)
		}
		var tags []*layers.Dot1Q
		for _, ly := range p.Layers() {
			if d, ok := ly.(*layers.Dot1Q); ok {
				tags = append(tags, d)
			}
		}
		if len(tags) != len(l.VLANs) {
			t.Fatalf("%d Dot1Q layers, want %d", len(tags), len(l.VLANs))
		}
		for i, d := range tags {
			if d.VLANIdentifier != l.VLANs[i]&0xfff {
				t.Errorf("tag %d: VLAN %d, want %d", i, d.VLANIdentifier, l.VLANs[i])
			}
		}
		wantOuter := layers.EthernetTypeIPv4
		switch {
		case len(l.VLANs) == 1:
			wantOuter = layers.EthernetTypeDot1Q
		case len(l.VLANs) >= 2:
			wantOuter = layers.EthernetTypeQinQ
			if tags[0].Type != layers.EthernetTypeDot1Q {
				t.Errorf("outer tag carries %v, want 802.1Q", tags[0].Type)
			}
		case v6:
			wantOuter = layers.EthernetTypeIPv6
		}
		if eth.EthernetType != wantOuter {
			t.Errorf("ethertype %#04x, want %#04x", uint16(eth.EthernetType), uint16(wantOuter))
		}
	case pcapgen.LinkNull, pcapgen.LinkLoop:
		lo, ok := first.(*layers.Loopback)
		if !ok {
			t.Fatalf("first layer %T", first)
		}
		want := layers.ProtocolFamilyIPv4
		if v6 {
			want = layers.ProtocolFamilyIPv6Darwin
		}
		if lo.Family != want {
			t.Errorf("family %v, want %v", lo.Family, want)
		}
		order := binary.ByteOrder(binary.LittleEndian)
		if l.Type == pcapgen.LinkLoop {
			order = binary.BigEndian
		}
		if got := order.Uint32(lo.Contents); got != uint32(want) {
			t.Errorf("family field %#x in the wrong byte order", got)
		}
	case pcapgen.LinkLinuxSLL:
		sll, ok := first.(*layers.LinuxSLL)
		if !ok {
			t.Fatalf("first layer %T", first)
		}
		if len(sll.Contents) != 16 || sll.AddrType != 1 || sll.AddrLen != 6 {
			t.Errorf("SLL header %+v", sll)
		}
	case pcapgen.LinkLinuxSLL2:
		sll, ok := first.(*layers.LinuxSLL2)
		if !ok {
			t.Fatalf("first layer %T", first)
		}
		if len(sll.Contents) != 20 || sll.ARPHardwareType != layers.ARPHardwareTypeEthernet || sll.AddrLength != 6 || sll.Addr.String() != "02:00:00:00:00:01" {
			t.Errorf("SLL2 header %+v", sll)
		}
	case pcapgen.LinkRaw, pcapgen.LinkIPv4, pcapgen.LinkIPv6:
		if first.LayerType() != layers.LayerTypeIPv4 && first.LayerType() != layers.LayerTypeIPv6 {
			t.Errorf("first layer %v", first.LayerType())
		}
	}
}

var links = []pcapgen.Link{
	{Type: pcapgen.LinkEthernet},
	{Type: pcapgen.LinkEthernet, VLANs: []uint16{100}},
	{Type: pcapgen.LinkEthernet, VLANs: []uint16{200, 300}},
	{Type: pcapgen.LinkEthernet, VLANs: []uint16{0x2000 | 42, 7}}, // priority bits kept
	{Type: pcapgen.LinkNull},
	{Type: pcapgen.LinkLoop},
	{Type: pcapgen.LinkLinuxSLL},
	{Type: pcapgen.LinkLinuxSLL2},
	{Type: pcapgen.LinkRaw},
	{Type: pcapgen.LinkIPv4},
	{Type: pcapgen.LinkIPv6},
}

// TestLinkTypes writes a session over every link type and family to pcap and
// reads it back with gopacket.
func TestLinkTypes(t *testing.T) {
	for _, l := range links {
		for _, v6 := range []bool{false, true} {
			if l.Type == pcapgen.LinkIPv4 && v6 || l.Type == pcapgen.LinkIPv6 && !v6 {
				continue
			}
			t.Run(fmt.Sprintf("%d%v/v6=%v", l.Type, l.VLANs, v6), func(t *testing.T) {
				cl, sv := client4, server4
				if v6 {
					cl, sv = client6, server6
				}
				segs := session(pcapgen.NewConn(cl, sv, start))
				pkts := pcapgen.Packets(l, segs...)
				for i, s := range segs {
					if one := s.Packet(l); !bytes.Equal(one.Data, pkts[i].Data) || !one.Time.Equal(s.Time) {
						t.Fatalf("Segment.Packet and Packets differ for segment %d", i)
					}
					if f := pcapgen.Frame(l, pcapgen.IPPacket(s)); !bytes.Equal(f, pkts[i].Data) {
						t.Fatalf("Frame(IPPacket) and Packets differ for segment %d", i)
					}
				}
				var buf bytes.Buffer
				if err := pcapgen.WritePcap(&buf, pcapgen.PcapOptions{LinkType: l.Type}, pkts); err != nil {
					t.Fatal(err)
				}
				r, err := pcapgo.NewReader(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if r.LinkType() != layers.LinkType(l.Type) || r.Snaplen() != 262144 || r.Resolution() != gopacket.TimestampResolutionMicrosecond {
					t.Errorf("header: link type %v, snaplen %d, resolution %v", r.LinkType(), r.Snaplen(), r.Resolution())
				}
				for i, s := range segs {
					data, ci, err := r.ReadPacketData()
					if err != nil {
						t.Fatalf("packet %d: %v", i, err)
					}
					if want := s.Time.Truncate(time.Microsecond); !ci.Timestamp.Equal(want) {
						t.Errorf("packet %d at %v, want %v", i, ci.Timestamp, want)
					}
					if ci.CaptureLength != len(data) || ci.Length != len(data) {
						t.Errorf("packet %d lengths %d/%d", i, ci.CaptureLength, ci.Length)
					}
					p := checkFrame(t, data, l.Type, s)
					checkLink(t, p, l, v6)
				}
				if _, _, err := r.ReadPacketData(); err != io.EOF {
					t.Errorf("after last packet: %v", err)
				}
			})
		}
	}
}

func TestWindowAndFlags(t *testing.T) {
	s := pcapgen.Segment{
		Time: start, Src: client4, Dst: server4, Seq: 1, Ack: 2,
		Flags: pcapgen.FIN | pcapgen.SYN | pcapgen.RST | pcapgen.PSH | pcapgen.ACK, Window: 1234,
		Payload: []byte("odd"),
	}
	checkFrame(t, pcapgen.IPPacket(s), pcapgen.LinkRaw, s)
	s.Src, s.Dst = client6, server6
	checkFrame(t, pcapgen.IPPacket(s), pcapgen.LinkRaw, s)
}

// TestPcapFlavours checks byte order, timestamp precision, snap length and
// cut packets.
func TestPcapFlavours(t *testing.T) {
	segs := session(pcapgen.NewConn(client4, server4, start))
	pkts := pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkEthernet}, segs...)
	const snap = 60
	for i := range pkts {
		pkts[i] = pcapgen.Snap(pkts[i], snap)
	}
	for _, nano := range []bool{false, true} {
		for _, be := range []bool{false, true} {
			t.Run(fmt.Sprintf("nano=%v/be=%v", nano, be), func(t *testing.T) {
				var buf bytes.Buffer
				o := pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet, Nano: nano, BigEndian: be, Snaplen: snap}
				if err := pcapgen.WritePcap(&buf, o, pkts); err != nil {
					t.Fatal(err)
				}
				magic := map[[2]bool]string{
					{false, false}: "d4c3b2a1", {false, true}: "a1b2c3d4",
					{true, false}: "4d3cb2a1", {true, true}: "a1b23c4d",
				}[[2]bool{nano, be}]
				if got := fmt.Sprintf("%x", buf.Bytes()[:4]); got != magic {
					t.Errorf("magic %s, want %s", got, magic)
				}
				r, err := pcapgo.NewReader(&buf)
				if err != nil {
					t.Fatal(err)
				}
				if r.Snaplen() != snap {
					t.Errorf("snaplen %d", r.Snaplen())
				}
				for i, s := range segs {
					data, ci, err := r.ReadPacketData()
					if err != nil {
						t.Fatal(err)
					}
					want := s.Time
					if !nano {
						want = want.Truncate(time.Microsecond)
					}
					if !ci.Timestamp.Equal(want) {
						t.Errorf("packet %d at %v, want %v", i, ci.Timestamp, want)
					}
					full := s.Packet(pcapgen.Link{Type: pcapgen.LinkEthernet}).Data
					if ci.Length != len(full) || ci.CaptureLength != min(snap, len(full)) || !bytes.Equal(data, full[:ci.CaptureLength]) {
						t.Errorf("packet %d: lengths %d/%d of %d", i, ci.CaptureLength, ci.Length, len(full))
					}
					// A cut packet still decodes to its TCP header.
					p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
					tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
					if !ok || tcp.Seq != s.Seq {
						t.Errorf("packet %d: cut packet does not decode:\n%s", i, p.Dump())
					}
				}
			})
		}
	}
}

func TestSnap(t *testing.T) {
	p := pcapgen.Packet{Time: start, Data: []byte("0123456789")}
	s := pcapgen.Snap(p, 4)
	if string(s.Data) != "0123" || s.OrigLen != 10 || cap(s.Data) != 4 {
		t.Errorf("Snap(10 bytes, 4) = %q orig %d", s.Data, s.OrigLen)
	}
	if s2 := pcapgen.Snap(s, 2); string(s2.Data) != "01" || s2.OrigLen != 10 {
		t.Errorf("Snap twice = %q orig %d", s2.Data, s2.OrigLen)
	}
	if s3 := pcapgen.Snap(p, 20); string(s3.Data) != "0123456789" || s3.OrigLen != 0 {
		t.Errorf("Snap beyond the data = %q orig %d", s3.Data, s3.OrigLen)
	}
}

// TestPcapng writes two sections in different byte orders, each with two
// interfaces of different link types and timestamp settings, and reads them
// back with gopacket.
func TestPcapng(t *testing.T) {
	c4 := pcapgen.NewConn(client4, server4, start)
	c6 := pcapgen.NewConn(client6, server6, start.Add(time.Hour))
	segs4, segs6 := session(c4), session(c6)

	type iface struct {
		pcapgen.Interface
		link pcapgen.Link
	}
	sections := []struct {
		be     bool
		extra  bool
		ifaces []iface
	}{
		{false, false, []iface{
			{pcapgen.Interface{LinkType: pcapgen.LinkEthernet, Snaplen: 65535}, pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{10, 20}}},
			{pcapgen.Interface{LinkType: pcapgen.LinkLinuxSLL2, Snaplen: 262144, TsResol: 9}, pcapgen.Link{Type: pcapgen.LinkLinuxSLL2}},
		}},
		{true, true, []iface{
			{pcapgen.Interface{LinkType: pcapgen.LinkRaw, TsResol: 3, TsOffset: 1_000_000}, pcapgen.Link{Type: pcapgen.LinkRaw}},
			{pcapgen.Interface{LinkType: pcapgen.LinkNull, Snaplen: 1500, TsResol: 9, TsOffset: 60}, pcapgen.Link{Type: pcapgen.LinkNull}},
		}},
	}

	type expect struct {
		seg   pcapgen.Segment
		iface iface
		index int
		extra bool
	}
	var want []expect
	var secs []pcapgen.Section
	for _, sec := range sections {
		s := pcapgen.Section{BigEndian: sec.be, Extra: sec.extra}
		for _, ifc := range sec.ifaces {
			s.Interfaces = append(s.Interfaces, ifc.Interface)
		}
		// Interleave the IPv4 connection on interface 0 with the IPv6 one on
		// interface 1.
		for i := range max(len(segs4), len(segs6)) {
			for idx, segs := range [][]pcapgen.Segment{segs4, segs6} {
				if i >= len(segs) {
					continue
				}
				p := segs[i].Packet(sec.ifaces[idx].link)
				p.Interface = idx
				s.Packets = append(s.Packets, p)
				want = append(want, expect{segs[i], sec.ifaces[idx], idx, sec.extra})
			}
		}
		secs = append(secs, s)
	}

	var buf bytes.Buffer
	if err := pcapgen.WritePcapng(&buf, secs...); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	if !bytes.Equal(file[8:12], []byte{0x4d, 0x3c, 0x2b, 0x1a}) {
		t.Errorf("first section is not little endian: % x", file[8:12])
	}

	for _, gz := range []bool{false, true} {
		in := file
		if gz {
			in = pcapgen.Gzip(file)
		}
		stats := map[int]uint64{}
		var sectionsEnded int
		r, err := pcapgo.NewNgReader(bytes.NewReader(in), pcapgo.NgReaderOptions{
			WantMixedLinkType:  true,
			StatisticsCallback: func(i int, s pcapgo.NgInterfaceStatistics) { stats[i] = s.PacketsReceived },
			SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { sectionsEnded++ },
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			data, ci, opts, err := r.ReadPacketDataWithOptions()
			if err != nil {
				t.Fatalf("packet %d: %v", i, err)
			}
			if ci.InterfaceIndex != w.index || ci.AncillaryData[0] != layers.LinkType(w.iface.LinkType) {
				t.Errorf("packet %d: interface %d link %v, want %d %d", i, ci.InterfaceIndex, ci.AncillaryData[0], w.index, w.iface.LinkType)
			}
			res := time.Microsecond
			switch w.iface.TsResol {
			case 3:
				res = time.Millisecond
			case 9:
				res = time.Nanosecond
			}
			if wt := w.seg.Time.Truncate(res); !ci.Timestamp.Equal(wt) {
				t.Errorf("packet %d at %v, want %v", i, ci.Timestamp, wt)
			}
			if ci.CaptureLength != len(data) || ci.Length != len(data) {
				t.Errorf("packet %d: lengths %d/%d", i, ci.CaptureLength, ci.Length)
			}
			if w.extra != (len(opts.Comments) == 1 && opts.Comments[0] == "pcapgen") {
				t.Errorf("packet %d: comments %q", i, opts.Comments)
			}
			p := checkFrame(t, data, w.iface.LinkType, w.seg)
			checkLink(t, p, w.iface.link, w.seg.Src.Addr().Is6())
			if w.extra && r.NNames() != 2 {
				t.Errorf("packet %d: %d name records", i, r.NNames())
			}
		}
		if _, _, err := r.ReadPacketData(); err != io.EOF {
			t.Errorf("after last packet: %v", err)
		}
		if sectionsEnded != 1 {
			t.Errorf("%d section ends seen, want 1", sectionsEnded)
		}
		if stats[0] != uint64(len(segs4)) || stats[1] != uint64(len(segs6)) {
			t.Errorf("interface statistics %v", stats)
		}
		for i := range 2 {
			ifc, err := r.Interface(i)
			if err != nil {
				t.Fatal(err)
			}
			if w := sections[1].ifaces[i]; ifc.LinkType != layers.LinkType(w.LinkType) || ifc.SnapLength != w.Snaplen || ifc.TimestampOffset != uint64(w.TsOffset) {
				t.Errorf("interface %d: %+v", i, ifc)
			}
		}
	}
}

func TestPcapngSnapAndOrigLen(t *testing.T) {
	s := pcapgen.NewConn(client4, server4, start).FromClient(bytes.Repeat([]byte("y"), 1000))
	p := pcapgen.Snap(s.Packet(pcapgen.Link{Type: pcapgen.LinkEthernet}), 55) // 55: padding needed
	var buf bytes.Buffer
	err := pcapgen.WritePcapng(&buf, pcapgen.Section{
		Interfaces: []pcapgen.Interface{{LinkType: pcapgen.LinkEthernet, Snaplen: 55, TsResol: 0x80 | 9}},
		Packets:    []pcapgen.Packet{p, p},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, p.Data) || ci.Length != 1000+54 || ci.CaptureLength != 55 {
			t.Errorf("lengths %d/%d", ci.CaptureLength, ci.Length)
		}
		// Resolution 2^-9 s: gopacket converts it exactly.
		units := int64(s.Time.Nanosecond()) * 512 / 1e9
		if want := time.Unix(s.Time.Unix(), units*1e9/512); !ci.Timestamp.Equal(want) {
			t.Errorf("time %v, want %v", ci.Timestamp, want)
		}
	}
}

func TestGzipPcap(t *testing.T) {
	segs := session(pcapgen.NewConn(client4, server4, start))
	var buf bytes.Buffer
	if err := pcapgen.WritePcap(&buf, pcapgen.PcapOptions{LinkType: pcapgen.LinkLinuxSLL}, pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkLinuxSLL}, segs...)); err != nil {
		t.Fatal(err)
	}
	z := pcapgen.Gzip(buf.Bytes())
	zr, err := gzip.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := io.ReadAll(zr); err != nil || !bytes.Equal(raw, buf.Bytes()) {
		t.Fatalf("gzip round trip: %v", err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range segs {
		data, _, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		checkFrame(t, data, pcapgen.LinkLinuxSLL, s)
	}
}

// TestTruncated checks that records are exactly where their headers say: a
// file cut at a record boundary reads cleanly, one cut inside a record fails
// there.
func TestTruncated(t *testing.T) {
	segs := session(pcapgen.NewConn(client4, server4, start))
	pkts := pcapgen.Packets(pcapgen.Link{Type: pcapgen.LinkEthernet}, segs...)
	var buf bytes.Buffer
	if err := pcapgen.WritePcap(&buf, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet}, pkts); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	end := 24
	for i := range 3 {
		end += 16 + len(pkts[i].Data)
	}
	for _, tc := range []struct {
		cut  int
		n    int
		last error
	}{
		{end, 3, io.EOF},
		{end + 10, 3, io.ErrUnexpectedEOF},
		{end + 16 + 5, 3, io.ErrUnexpectedEOF},
	} {
		r, err := pcapgo.NewReader(bytes.NewReader(file[:tc.cut]))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			if _, _, err = r.ReadPacketData(); err != nil {
				break
			}
			n++
		}
		if n != tc.n || !errors.Is(err, tc.last) {
			t.Errorf("cut at %d: %d packets then %v, want %d then %v", tc.cut, n, err, tc.n, tc.last)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	early := pcapgen.Packet{Time: time.Unix(-5, 0), Data: []byte{1}}
	if err := pcapgen.WritePcap(io.Discard, pcapgen.PcapOptions{}, []pcapgen.Packet{early}); err == nil {
		t.Errorf("WritePcap accepted a time before 1970")
	}
	if err := pcapgen.WritePcapng(io.Discard, pcapgen.Section{Interfaces: []pcapgen.Interface{{}}, Packets: []pcapgen.Packet{early}}); err == nil {
		t.Errorf("WritePcapng accepted a time before 1970")
	}
	neg := pcapgen.Packet{Time: start, Data: []byte{1}, Interface: -1}
	if err := pcapgen.WritePcapng(io.Discard, pcapgen.Section{Packets: []pcapgen.Packet{neg}}); err == nil {
		t.Errorf("WritePcapng accepted interface -1")
	}
	// A packet on an interface the section lacks is written all the same.
	var buf bytes.Buffer
	odd := pcapgen.Packet{Time: start, Data: []byte{1, 2, 3}, Interface: 3}
	if err := pcapgen.WritePcapng(&buf, pcapgen.Section{Interfaces: []pcapgen.Interface{{LinkType: 1}}, Packets: []pcapgen.Packet{odd}}); err != nil {
		t.Fatal(err)
	}
	if want := 28 + 20 + 32 + 4; buf.Len() != want {
		t.Errorf("file of %d bytes, want %d", buf.Len(), want)
	}
}

func TestPanics(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mixed := pcapgen.Segment{Src: client4, Dst: server6}
	mustPanic("mixed families", func() { pcapgen.IPPacket(mixed) })
	mustPanic("zero addresses", func() { pcapgen.IPPacket(pcapgen.Segment{}) })
	mustPanic("unknown link", func() { pcapgen.Frame(pcapgen.Link{Type: 147}, nil) })
	mustPanic("VLAN on SLL", func() { pcapgen.Frame(pcapgen.Link{Type: pcapgen.LinkLinuxSLL, VLANs: []uint16{1}}, nil) })
	mustPanic("huge payload", func() {
		pcapgen.IPPacket(pcapgen.Segment{Src: client4, Dst: server4, Payload: make([]byte, 65536)})
	})
	mustPanic("fragment IPv6", func() {
		pcapgen.FragmentIPv4(pcapgen.IPPacket(pcapgen.Segment{Src: client6, Dst: server6}), 1280)
	})
	mustPanic("tiny mtu", func() {
		pcapgen.FragmentIPv4(pcapgen.IPPacket(pcapgen.Segment{Src: client4, Dst: server4, Payload: make([]byte, 100)}), 27)
	})
}

// TestIPv4MappedIPv6 checks that an IPv4-mapped IPv6 address gives IPv6.
func TestIPv4MappedIPv6(t *testing.T) {
	s := pcapgen.Segment{
		Src: netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.1"), 1025),
		Dst: netip.AddrPortFrom(netip.MustParseAddr("::ffff:192.0.2.2"), 25),
	}
	if pkt := pcapgen.IPPacket(s); pkt[0]>>4 != 6 {
		t.Errorf("version %d", pkt[0]>>4)
	}
}
