package pcapgen_test

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

// TestPcapWriter checks that a PcapWriter building frames in its buffer
// writes the same file as WritePcap of the framed packets, whatever its
// buffer size, and that every frame decodes with correct checksums.
func TestPcapWriter(t *testing.T) {
	var segs []pcapgen.Segment
	for _, ends := range [][2]netip.AddrPort{{client4, server4}, {client6, server6}} {
		c := pcapgen.NewConn(ends[0], ends[1], start)
		segs = append(segs, c.Handshake()...)
		for _, n := range []int{1, 2, 3, 7, 8, 9, 31, 32, 33, 100, 1447, 1448, 3001} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(0xff - i*7 - n)
			}
			segs = append(segs, c.FromClient(p), c.FromServer(p[:n/2]))
		}
		segs = append(segs, c.ClientFIN(), c.ServerFIN(), c.Ack(true))
	}
	l := pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{7}}
	for _, o := range []pcapgen.PcapOptions{
		{LinkType: pcapgen.LinkEthernet},
		{LinkType: pcapgen.LinkEthernet, Nano: true, BigEndian: true, BufferSize: 100},
		{LinkType: pcapgen.LinkEthernet, BufferSize: 1 << 20},
	} {
		var want, got bytes.Buffer
		if err := pcapgen.WritePcap(&want, o, pcapgen.Packets(l, segs...)); err != nil {
			t.Fatal(err)
		}
		pw := pcapgen.NewPcapWriter(&got, o)
		for i := range segs {
			if n := segs[i].FrameLen(l); n != len(segs[i].AppendFrame(nil, l)) {
				t.Fatalf("FrameLen %d, frame of %d bytes", n, len(segs[i].AppendFrame(nil, l)))
			}
			if err := pw.WriteSegment(l, &segs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := pw.Flush(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("%+v: PcapWriter wrote %d bytes unlike WritePcap's %d", o, got.Len(), want.Len())
		}
		if pw.Written() != int64(got.Len()) {
			t.Errorf("Written() = %d, wrote %d", pw.Written(), got.Len())
		}
		r, err := pcapgo.NewReader(&got)
		if err != nil {
			t.Fatal(err)
		}
		for i := range segs {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatal(err)
			}
			want := segs[i].Time
			if !o.Nano {
				want = want.Truncate(time.Microsecond)
			}
			if !ci.Timestamp.Equal(want) {
				t.Errorf("packet %d at %v, want %v", i, ci.Timestamp, want)
			}
			checkFrame(t, data, pcapgen.LinkEthernet, segs[i])
		}
	}
}

func TestPcapWriterErrors(t *testing.T) {
	pw := pcapgen.NewPcapWriter(failWriter{}, pcapgen.PcapOptions{BufferSize: 64})
	s := pcapgen.NewConn(client4, server4, start).FromClient(make([]byte, 100))
	l := pcapgen.Link{Type: pcapgen.LinkEthernet}
	if err := pw.WriteSegment(l, &s); !errors.Is(err, errWrite) {
		t.Fatalf("WriteSegment: %v", err)
	}
	if err := pw.Flush(); !errors.Is(err, errWrite) {
		t.Errorf("Flush after a failure: %v", err)
	}
	pw = pcapgen.NewPcapWriter(&bytes.Buffer{}, pcapgen.PcapOptions{})
	s.Time = time.Unix(-1, 0)
	if err := pw.WriteSegment(l, &s); err == nil {
		t.Errorf("WriteSegment accepted a time before 1970")
	}
	if err := pw.WritePacket(pcapgen.Packet{Time: start, Data: []byte{1}}); err == nil {
		t.Errorf("WritePacket after a failure succeeded")
	}
}

var errWrite = errors.New("write failed")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }
