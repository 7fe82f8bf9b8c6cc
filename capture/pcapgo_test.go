package capture

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// crossPackets returns packets of varied sizes and times, some cut short.
func crossPackets() []Packet {
	base := time.Date(2024, 5, 17, 9, 30, 0, 0, time.UTC)
	var pkts []Packet
	for i := range 50 {
		n := 1 + i*37%1500
		p := Packet{
			Data:   payload(n, byte(i)),
			Length: n,
			Time:   base.Add(time.Duration(i)*1234567891 + time.Duration(i*i)),
		}
		if i%7 == 3 {
			p.Length = n + 100 // cut by the snap length
		}
		pkts = append(pkts, p)
	}
	return pkts
}

func captureInfo(p Packet) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: p.Length, InterfaceIndex: p.Interface}
}

func TestPcapgoWriterCrossCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writer func(io.Writer) *pcapgo.Writer
		link   layers.LinkType
		res    time.Duration
		format string
	}{
		{"microseconds ethernet", pcapgo.NewWriter, layers.LinkTypeEthernet, time.Microsecond, "pcap"},
		{"nanoseconds sll", pcapgo.NewWriterNanos, layers.LinkTypeLinuxSLL, time.Nanosecond, "pcap (nanosecond)"},
		{"microseconds raw", pcapgo.NewWriter, layers.LinkTypeRaw, time.Microsecond, "pcap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			w := tc.writer(&buf)
			if err := w.WriteFileHeader(65535, tc.link); err != nil {
				t.Fatal(err)
			}
			want := crossPackets()
			off := int64(24)
			for i := range want {
				if err := w.WritePacket(captureInfo(want[i]), want[i].Data); err != nil {
					t.Fatal(err)
				}
				want[i].Time = want[i].Time.Truncate(tc.res)
				want[i].LinkType = LinkType(tc.link)
				want[i].Offset = off
				off += 16 + int64(len(want[i].Data))
			}
			got, r := mustReadAll(t, buf.Bytes())
			comparePackets(t, got, want)
			if r.Format() != tc.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tc.format)
			}
		})
	}
}

func TestPcapgoNgWriterCrossCheck(t *testing.T) {
	var buf bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{Name: "eth0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: layers.LinkTypeRaw}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "any", LinkType: layers.LinkTypeLinuxSLL2}); err != nil {
		t.Fatal(err)
	}
	links := []LinkType{LinkEthernet, LinkRaw, LinkLinuxSLL2}
	want := crossPackets()
	for i := range want {
		want[i].Interface = i % 3
		want[i].LinkType = links[i%3]
		if i == 20 { // statistics blocks are skipped
			if err := w.WriteInterfaceStats(1, pcapgo.NgInterfaceStatistics{PacketsReceived: 20}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		want[i].Offset = int64(buf.Len())
		if err := w.WritePacket(captureInfo(want[i]), want[i].Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, r := mustReadAll(t, buf.Bytes())
	comparePackets(t, got, want)
	if r.Format() != "pcapng" {
		t.Errorf("Format() = %q, want pcapng", r.Format())
	}
}

// TestPcapgoReadsFixtures checks the hand-built pcap fixtures against
// pcapgo's reader, so that the builders cannot be wrong in the same way as the
// code under test.
func TestPcapgoReadsFixtures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		o     binary.AppendByteOrder
		magic uint32
	}{
		{"le-micro", le, pcapMagicMicro},
		{"be-micro", be, pcapMagicMicro},
		{"le-nano", le, pcapMagicNano},
		{"be-nano", be, pcapMagicNano},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, want := pcapFixture(tc.o, tc.magic)
			pr, err := pcapgo.NewReader(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			if LinkType(pr.LinkType()) != LinkEthernet {
				t.Errorf("pcapgo link type %v", pr.LinkType())
			}
			// The third record's incl_len exceeds its orig_len, which pcapgo
			// rejects and this package accepts.
			for i, w := range want[:2] {
				data, ci, err := pr.ReadPacketData()
				if err != nil {
					t.Fatalf("pcapgo packet %d: %v", i, err)
				}
				if !bytes.Equal(data, w.Data) || !ci.Timestamp.Equal(w.Time) || ci.Length != w.Length {
					t.Errorf("pcapgo packet %d: %d bytes, length %d, time %v; fixture says %d, %d, %v",
						i, len(data), ci.Length, ci.Timestamp, len(w.Data), w.Length, w.Time)
				}
			}
			if _, _, err := pr.ReadPacketData(); err == nil {
				t.Error("pcapgo accepted incl_len > orig_len")
			}
		})
	}

	// A single-section pcapng with two interfaces of different link types.
	file := cat(shb(le), idb(le, uint16(LinkEthernet), 0), idb(le, uint16(LinkRaw), 0, tsresol(le, 9)),
		epb(le, 0, 1700000000_123456, 60, payload(60, 1)), epb(le, 1, 1700000001_000000007, 1500, payload(20, 2)))
	got, _ := mustReadAll(t, file)
	nr, err := pcapgo.NewNgReader(bytes.NewReader(file), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		data, ci, err := nr.ReadPacketData()
		if err != nil {
			t.Fatalf("pcapgo pcapng packet %d: %v", i, err)
		}
		if !bytes.Equal(data, g.Data) || !ci.Timestamp.Equal(g.Time) || ci.Length != g.Length || ci.InterfaceIndex != g.Interface {
			t.Errorf("pcapgo pcapng packet %d: %+v, ours %+v", i, ci, g)
		}
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); !ok || LinkType(lt) != g.LinkType {
			t.Errorf("pcapgo pcapng packet %d: link type %v, ours %v", i, ci.AncillaryData[0], g.LinkType)
		}
	}
}
