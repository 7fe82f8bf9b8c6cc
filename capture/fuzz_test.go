package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// manyPackets is a capture of n packets of size bytes each: pcap, or pcapng
// with two interfaces.
func manyPackets(ng bool, n, size int) []byte {
	var b []byte
	if ng {
		b = cat(shb(le), idb(le, uint16(LinkEthernet), 0), idb(le, uint16(LinkRaw), 0, tsresol(le, 9)))
	} else {
		b = pcapHeader(le, pcapMagicMicro, 65535, uint32(LinkEthernet))
	}
	for i := range n {
		data := payload(size, byte(i))
		if ng {
			b = append(b, epb(le, uint32(i%2), uint64(1700000000_000000+i), size, data)...)
		} else {
			b = pcapRecord(b, le, uint32(1700000000+i), uint32(i%1000000), size, data)
		}
	}
	return b
}

func TestNextDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input func(testing.TB) []byte
	}{
		{"pcap", func(testing.TB) []byte { return manyPackets(false, 3000, 1000) }},
		{"pcapng", func(testing.TB) []byte { return manyPackets(true, 3000, 1000) }},
		{"pcap gzip", func(t testing.TB) []byte { return gz(t, manyPackets(false, 3000, 1000)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tc.input(t)), "t")
			if err != nil {
				t.Fatal(err)
			}
			for range 100 { // warm up: the packet buffer reaches its size
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
			}
			var err2 error
			allocs := testing.AllocsPerRun(2000, func() {
				if _, err := r.Next(); err != nil {
					err2 = err
				}
			})
			if err2 != nil {
				t.Fatal(err2)
			}
			if allocs != 0 {
				t.Errorf("Next does %v allocations per packet, want 0", allocs)
			}
		})
	}
}

// FuzzReader reads arbitrary input to its end.
func FuzzReader(f *testing.F) {
	for _, o := range []binary.AppendByteOrder{le, be} {
		for _, magic := range []uint32{pcapMagicMicro, pcapMagicNano} {
			file, _ := pcapFixture(o, magic)
			f.Add(file)
		}
	}
	ngFile, _ := ngFixture()
	f.Add(ngFile)
	pcapFile, _ := pcapFixture(le, pcapMagicMicro)
	f.Add(gz(f, pcapFile))
	f.Add(gz(f, ngFile))
	f.Add(manyPackets(true, 3, 50))
	f.Add(cat(shb(le), idb(le, 1, 16), spb(le, 40, payload(40, 1))))
	for _, tc := range errorCases(f) {
		f.Add(tc.input)
	}

	f.Fuzz(func(t *testing.T, input []byte) {
		r, err := NewReader(bytes.NewReader(input), "fuzz")
		if err != nil {
			mustFormatError(t, err)
			return
		}
		last := int64(-1)
		for {
			p, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				mustFormatError(t, err)
				if _, again := r.Next(); again != err {
					t.Fatalf("error not sticky: %v then %v", err, again)
				}
				break
			}
			if len(p.Data) > maxPacket {
				t.Fatalf("packet of %d bytes", len(p.Data))
			}
			if len(p.Data) > p.Length {
				t.Fatalf("packet of %d bytes but length %d", len(p.Data), p.Length)
			}
			if p.Offset <= last || p.Offset+int64(len(p.Data)) > r.Offset() {
				t.Fatalf("packet at offset %d after one at %d, with %d bytes read", p.Offset, last, r.Offset())
			}
			last = p.Offset
		}
		if !r.gzip && r.Offset() > int64(len(input)) {
			t.Fatalf("offset %d beyond the %d-byte input", r.Offset(), len(input))
		}
		var fe *FormatError
		if _, err := r.Next(); err != io.EOF && !errors.As(err, &fe) {
			t.Fatalf("after the end: %v", err)
		}
	})
}

func BenchmarkReaderPcap(b *testing.B) {
	input := manyPackets(false, 10000, 1000)
	b.SetBytes(int64(len(input)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(input), "bench")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			_, err := r.Next()
			if err != nil {
				if err != io.EOF {
					b.Fatal(err)
				}
				break
			}
			n++
		}
		if n != 10000 {
			b.Fatalf("read %d packets", n)
		}
	}
}
