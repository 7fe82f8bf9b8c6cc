package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// pcapFixture is a pcap file of three packets: a full one, one cut by the
// snap length, and one whose incl_len exceeds orig_len.
func pcapFixture(o binary.AppendByteOrder, magic uint32) ([]byte, []Packet) {
	nano := magic == pcapMagicNano
	frac := uint32(123456)
	ns := int64(123456000)
	if nano {
		frac, ns = 123456789, 123456789
	}
	p1, p2, p3 := payload(60, 1), payload(96, 2), payload(40, 3)
	b := pcapHeader(o, magic, 96, uint32(LinkEthernet)|0x10000000) // FCS bits set
	b = pcapRecord(b, o, 1700000000, frac, 60, p1)
	b = pcapRecord(b, o, 1700000001, 0, 1514, p2)
	b = pcapRecord(b, o, 1700000002, frac, 20, p3)
	want := []Packet{
		{Data: p1, Length: 60, Time: time.Unix(1700000000, ns), LinkType: LinkEthernet, Offset: 24},
		{Data: p2, Length: 1514, Time: time.Unix(1700000001, 0), LinkType: LinkEthernet, Offset: 24 + 16 + 60},
		{Data: p3, Length: 40, Time: time.Unix(1700000002, ns), LinkType: LinkEthernet, Offset: 24 + 16 + 60 + 16 + 96},
	}
	return b, want
}

func TestPcap(t *testing.T) {
	for _, tc := range []struct {
		name   string
		o      binary.AppendByteOrder
		magic  uint32
		format string
	}{
		{"le-micro", le, pcapMagicMicro, "pcap"},
		{"be-micro", be, pcapMagicMicro, "pcap"},
		{"le-nano", le, pcapMagicNano, "pcap (nanosecond)"},
		{"be-nano", be, pcapMagicNano, "pcap (nanosecond)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file, want := pcapFixture(tc.o, tc.magic)
			got, r := mustReadAll(t, file)
			comparePackets(t, got, want)
			if r.Format() != tc.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tc.format)
			}
			if r.Offset() != int64(len(file)) {
				t.Errorf("Offset() = %d, want %d", r.Offset(), len(file))
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("Next after the end: %v, want io.EOF", err)
			}
		})
	}
}

func TestPcapLargeRecords(t *testing.T) {
	// A record larger than a small snap length but within 262144 bytes is
	// accepted, and so is one larger than the 64 KiB read chunk.
	big := payload(200000, 9)
	file := pcapRecord(pcapHeader(le, pcapMagicMicro, 100, 1), le, 1, 0, len(big), big)
	file = pcapRecord(file, le, 2, 0, 10, payload(10, 1))
	got, _ := mustReadAll(t, file)
	comparePackets(t, got, []Packet{
		{Data: big, Length: len(big), Time: time.Unix(1, 0), LinkType: LinkEthernet, Offset: 24},
		{Data: payload(10, 1), Length: 10, Time: time.Unix(2, 0), LinkType: LinkEthernet, Offset: 24 + 16 + int64(len(big))},
	})
}

// ngFixture is a two-section pcapng file: a little-endian section with an
// Ethernet and a raw-IP interface and every kind of packet and skipped block,
// then a big-endian section with one Linux SLL2 interface using 2^-20 second
// timestamps and an offset.
func ngFixture() ([]byte, []Packet) {
	e1, r1, s1, s2, e2, p2 := payload(60, 1), payload(20, 2), payload(72, 3), payload(64, 4), payload(44, 5), payload(33, 6)
	blocks := [][]byte{
		shb(le),
		idb(le, uint16(LinkEthernet), 65535),
		idb(le, uint16(LinkRaw), 0, tsresol(le, 9), opt(le, 2, []byte("eth0"))),
		// 3: name resolution
		block(le, 4, []byte{1, 0, 4, 0, 10, 0, 0, 1, 'h', 0, 0, 0, 0, 0, 0, 0}),
		epb(le, 0, 1700000000_123456, 60, e1),              // 4
		epb(le, 1, 1700000001_000000007, 1500, r1),         // 5
		block(le, 0x40000BAD, []byte("custom block data")), // 6
		block(le, 5, make([]byte, 12)),                     // interface statistics
		block(le, 0x0A, make([]byte, 8)),                   // decryption secrets
		spb(le, 72, s1),                                    // 9
		spb(le, 100, s2),                                   // 10: shorter than the original
		shb(be),
		idb(be, uint16(LinkLinuxSLL2), 0, tsresol(be, 0x80|20), tsoffset(be, 1600000000)),
		epb(be, 0, 5<<20|1<<19, 44, e2), // 13: 5.5 s
		pb(be, 0, 3<<20|1, 33, p2),      // 14: 3 s + 2^-20 s
	}
	off := make([]int64, len(blocks))
	for i := 1; i < len(blocks); i++ {
		off[i] = off[i-1] + int64(len(blocks[i-1]))
	}
	t5 := time.Unix(1700000001, 7)
	want := []Packet{
		{Data: e1, Length: 60, Time: time.Unix(1700000000, 123456000), LinkType: LinkEthernet, Interface: 0, Offset: off[4]},
		{Data: r1, Length: 1500, Time: t5, LinkType: LinkRaw, Interface: 1, Offset: off[5]},
		{Data: s1, Length: 72, Time: t5, LinkType: LinkEthernet, Interface: 0, Offset: off[9]},
		{Data: s2, Length: 100, Time: t5, LinkType: LinkEthernet, Interface: 0, Offset: off[10]},
		{Data: e2, Length: 44, Time: time.Unix(1600000005, 500000000), LinkType: LinkLinuxSLL2, Interface: 0, Offset: off[13]},
		{Data: p2, Length: 33, Time: time.Unix(1600000003, 953), LinkType: LinkLinuxSLL2, Interface: 0, Offset: off[14]},
	}
	return cat(blocks...), want
}

func TestPcapng(t *testing.T) {
	file, want := ngFixture()
	got, r := mustReadAll(t, file)
	comparePackets(t, got, want)
	if r.Format() != "pcapng" {
		t.Errorf("Format() = %q, want pcapng", r.Format())
	}
	if r.Offset() != int64(len(file)) {
		t.Errorf("Offset() = %d, want %d", r.Offset(), len(file))
	}
}

func TestPcapngTimestamps(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts [][]byte
		ts   uint64
		want time.Time
	}{
		{"default microseconds", nil, 1_500_000, time.Unix(1, 500000000)},
		{"10^-9", [][]byte{tsresol(le, 9)}, 1_000_000_001, time.Unix(1, 1)},
		{"10^-3", [][]byte{tsresol(le, 3)}, 2_250, time.Unix(2, 250000000)},
		{"10^0", [][]byte{tsresol(le, 0)}, 7, time.Unix(7, 0)},
		{"10^-12 keeps nanoseconds", [][]byte{tsresol(le, 12)}, 3_000_000_001_999, time.Unix(3, 1)},
		{"2^-20", [][]byte{tsresol(le, 0x94)}, 1<<20 | 1<<18, time.Unix(1, 250000000)},
		{"2^-63", [][]byte{tsresol(le, 0x80|63)}, 1<<63 - 1, time.Unix(0, 999999999)},
		{"offset", [][]byte{tsoffset(le, 1000)}, 5_000_001, time.Unix(1005, 1000)},
		{"negative offset", [][]byte{tsoffset(le, -10)}, 20_000_000, time.Unix(10, 0)},
		{"10^-9 with offset", [][]byte{tsoffset(le, 1700000000), tsresol(le, 9)}, 42, time.Unix(1700000000, 42)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := payload(8, 0)
			file := cat(shb(le), idb(le, 1, 0, tc.opts...), epb(le, 0, tc.ts, 8, data))
			got, _ := mustReadAll(t, file)
			comparePackets(t, got, []Packet{{Data: data, Length: 8, Time: tc.want, LinkType: LinkEthernet, Offset: int64(len(file) - 40)}})
		})
	}
}

func TestPcapngSimplePacket(t *testing.T) {
	for _, tc := range []struct {
		name     string
		snap     uint32
		orig     int
		data     []byte
		wantData int
	}{
		{"complete", 0, 40, payload(40, 1), 40},
		{"padding is not data", 0, 37, payload(37, 1), 37},
		{"snap length", 16, 40, payload(40, 1), 16},
		{"cut short", 0, 1000, payload(40, 1), 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := cat(shb(le), idb(le, uint16(LinkRaw), tc.snap), spb(le, tc.orig, tc.data))
			got, _ := mustReadAll(t, file)
			comparePackets(t, got, []Packet{{Data: tc.data[:tc.wantData], Length: tc.orig, LinkType: LinkRaw, Offset: 48}})
		})
	}
}

func TestGzip(t *testing.T) {
	pcapFile, pcapWant := pcapFixture(le, pcapMagicNano)
	ngFile, ngWant := ngFixture()
	for _, tc := range []struct {
		name   string
		input  []byte
		want   []Packet
		format string
	}{
		{"pcap", gz(t, pcapFile), pcapWant, "pcap (nanosecond) gzip"},
		{"pcapng", gz(t, ngFile), ngWant, "pcapng gzip"},
		{"multistream", gz(t, pcapFile[:50], pcapFile[50:]), pcapWant, "pcap (nanosecond) gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, r := mustReadAll(t, tc.input)
			comparePackets(t, got, tc.want)
			if r.Format() != tc.format {
				t.Errorf("Format() = %q, want %q", r.Format(), tc.format)
			}
		})
	}
}

func TestNewReaderStdinLike(t *testing.T) {
	file, want := pcapFixture(be, pcapMagicMicro)
	r, err := NewReader(bytes.NewReader(file), "-")
	if err != nil {
		t.Fatal(err)
	}
	var got []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = bytes.Clone(p.Data)
		got = append(got, p)
	}
	comparePackets(t, got, want)
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file, want := ngFixture()
	path := filepath.Join(dir, "x.cap") // the name says nothing about the format
	if err := os.WriteFile(path, gz(t, file), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []Packet
	for {
		p, err := r.Next()
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		p.Data = bytes.Clone(p.Data)
		got = append(got, p)
	}
	comparePackets(t, got, want)
	if r.Format() != "pcapng gzip" {
		t.Errorf("Format() = %q", r.Format())
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	_, err = Open(filepath.Join(dir, "missing.pcap"))
	var pe *os.PathError
	if !errors.As(err, &pe) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file: %v (%T), want *os.PathError", err, err)
	}

	text := filepath.Join(dir, "notes.pcap")
	if err := os.WriteFile(text, []byte("hello, world\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(text)
	want2 := text + `: offset 0: not a pcap or pcapng file (starts with "hello, w")`
	if err == nil || err.Error() != want2 || !errors.Is(err, ErrNotCapture) {
		t.Errorf("Open of a text file: %v, want %s", err, want2)
	}
}

func TestOpenStdin(t *testing.T) {
	file, want := pcapFixture(le, pcapMagicMicro)
	path := filepath.Join(t.TempDir(), "stdin")
	if err := os.WriteFile(path, cat(file, make([]byte, 5)), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()

	r, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for {
		if _, err = r.Next(); err != nil {
			break
		}
		n++
	}
	if n != len(want) {
		t.Errorf("read %d packets from stdin, want %d", n, len(want))
	}
	wantErr := fmt.Sprintf("<stdin>: offset %d: truncated packet record header: 5 of 16 bytes", len(file))
	if err == nil || err.Error() != wantErr {
		t.Errorf("error %v, want %s", err, wantErr)
	}
	if err := r.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := f.Stat(); err != nil {
		t.Errorf("Close closed standard input: %v", err)
	}
}

func TestLinkTypeString(t *testing.T) {
	for lt, want := range map[LinkType]string{
		LinkNull:      "NULL",
		LinkEthernet:  "EN10MB",
		LinkRaw:       "RAW",
		LinkLoop:      "LOOP",
		LinkLinuxSLL:  "LINUX_SLL",
		LinkIPv4:      "IPV4",
		LinkIPv6:      "IPV6",
		LinkLinuxSLL2: "LINUX_SLL2",
		LinkType(147): "LINKTYPE_147",
	} {
		if got := lt.String(); got != want {
			t.Errorf("LinkType(%d).String() = %q, want %q", uint32(lt), got, want)
		}
	}
}

// TestPacketDataReuse checks that Data is a view into a reused buffer that
// cannot be appended into the rest of the block.
func TestPacketDataReuse(t *testing.T) {
	file, _ := ngFixture()
	r, err := NewReader(bytes.NewReader(file), "t")
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if cap(p.Data) != len(p.Data) {
		t.Errorf("cap(Data) = %d, want len(Data) = %d", cap(p.Data), len(p.Data))
	}
}
