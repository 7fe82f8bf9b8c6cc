package pcapgen_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/ip4defrag"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// defrag decodes the fragments with gopacket and reassembles them with
// ip4defrag, checking each fragment on the way.
func defrag(t *testing.T, frags [][]byte, mtu int) *layers.IPv4 {
	t.Helper()
	d := ip4defrag.NewIPv4Defragmenter()
	var out *layers.IPv4
	for i, f := range frags {
		if len(f) > mtu {
			t.Errorf("fragment %d: %d bytes, mtu %d", i, len(f), mtu)
		}
		p := gopacket.NewPacket(f, layers.LayerTypeIPv4, gopacket.Default)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok || p.ErrorLayer() != nil {
			t.Fatalf("fragment %d does not decode:\n%s", i, p.Dump())
		}
		if _, res := ip.VerifyChecksum(); !res.Valid || onesSum(f[:20]) != 0xffff {
			t.Errorf("fragment %d: bad header checksum", i)
		}
		if ip.Flags&layers.IPv4DontFragment != 0 {
			t.Errorf("fragment %d has DF", i)
		}
		if ip.Flags&layers.IPv4MoreFragments != 0 && len(ip.Payload)%8 != 0 {
			t.Errorf("fragment %d: non-final payload of %d bytes", i, len(ip.Payload))
		}
		if int(ip.Length) != len(f) {
			t.Errorf("fragment %d: total length %d, have %d bytes", i, ip.Length, len(f))
		}
		r, err := d.DefragIPv4(ip)
		if err != nil {
			t.Fatalf("fragment %d: %v", i, err)
		}
		if r != nil {
			if out != nil {
				t.Fatalf("reassembled twice")
			}
			out = r
		}
	}
	if out == nil {
		t.Fatalf("fragments did not reassemble")
	}
	return out
}

func TestFragmentIPv4(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, start)
	payload := make([]byte, 3001)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	s := c.FromClient(payload)
	pkt := pcapgen.IPPacket(s)
	const mtu = 576

	frags := pcapgen.FragmentIPv4(pkt, mtu)
	wantN := (len(pkt) - 20 + 551) / 552 // 576-20 rounded down to 8
	if len(frags) != wantN {
		t.Fatalf("%d fragments, want %d", len(frags), wantN)
	}
	off := 0
	for i, f := range frags {
		ff := binary.BigEndian.Uint16(f[6:])
		if int(ff&0x1fff)*8 != off {
			t.Errorf("fragment %d at offset %d, want %d", i, int(ff&0x1fff)*8, off)
		}
		if last := i == len(frags)-1; (ff&0x2000 == 0) != last {
			t.Errorf("fragment %d: MF %v", i, ff&0x2000 != 0)
		}
		if !bytes.Equal(f[12:20], pkt[12:20]) || !bytes.Equal(f[4:6], pkt[4:6]) {
			t.Errorf("fragment %d: addresses or id changed", i)
		}
		off += len(f) - 20
	}

	rng := rand.New(rand.NewPCG(3, 4))
	shuffled := append([][]byte(nil), frags...)
	rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, order := range [][][]byte{frags, shuffled} {
		out := defrag(t, order, mtu)
		if !bytes.Equal(out.Payload, pkt[20:]) {
			t.Fatalf("reassembled payload differs")
		}
		// Put the reassembled packet back together (with the original DF) and
		// check it carries the segment.
		out.Flags = layers.IPv4DontFragment
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, out, gopacket.Payload(out.Payload)); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), pkt) {
			t.Errorf("reassembled packet differs from the original")
		}
		checkFrame(t, buf.Bytes(), pcapgen.LinkRaw, s)
	}

	// Fragmenting a fragment again still reassembles.
	var again [][]byte
	for _, f := range frags {
		again = append(again, pcapgen.FragmentIPv4(f, 68)...)
	}
	if out := defrag(t, again, 68); !bytes.Equal(out.Payload, pkt[20:]) {
		t.Errorf("refragmented payload differs")
	}

	// A packet that fits comes back whole, as a copy.
	whole := pcapgen.FragmentIPv4(pkt, len(pkt))
	if len(whole) != 1 || !bytes.Equal(whole[0], pkt) || &whole[0][0] == &pkt[0] {
		t.Errorf("packet that fits: %d pieces", len(whole))
	}
}

// TestFragmentsInCapture writes fragments in Ethernet frames to pcap and
// reassembles what gopacket reads back.
func TestFragmentsInCapture(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, start)
	s := c.FromServer(bytes.Repeat([]byte("250-fragmented\r\n"), 200))
	l := pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{5}}
	var pkts []pcapgen.Packet
	for i, f := range pcapgen.FragmentIPv4(pcapgen.IPPacket(s), 1500) {
		pkts = append(pkts, pcapgen.Packet{Time: s.Time.Add(time.Duration(i)), Data: pcapgen.Frame(l, f)})
	}
	var buf bytes.Buffer
	if err := pcapgen.WritePcap(&buf, pcapgen.PcapOptions{LinkType: pcapgen.LinkEthernet, Nano: true}, pkts); err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var frags [][]byte
	for range pkts {
		data, _, err := r.ReadPacketData()
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
		ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		frags = append(frags, append(append([]byte(nil), ip.Contents...), ip.Payload...))
	}
	out := defrag(t, frags, 1500)
	tcp := gopacket.NewPacket(out.Payload, layers.LayerTypeTCP, gopacket.Default).Layer(layers.LayerTypeTCP).(*layers.TCP)
	if !bytes.Equal(tcp.Payload, s.Payload) || tcp.Seq != s.Seq {
		t.Errorf("reassembled segment differs")
	}
}
