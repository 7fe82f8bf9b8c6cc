package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"regexp"
	"runtime"
	"testing"
)

type errorCase struct {
	name     string
	input    []byte
	packets  int    // packets read before the error
	want     string // the exact error message
	sentinel error  // what the error must wrap, if anything
}

// errorCases returns inputs that are not (entirely) readable captures.
func errorCases(t testing.TB) []errorCase {
	hdr := pcapHeader(le, pcapMagicMicro, 65535, 1)
	rec60 := pcapRecord(nil, le, 1, 0, 60, payload(60, 0))
	ng := shb(le)
	ifc := idb(le, 1, 0)
	setBytes := func(b []byte, at int, v ...byte) []byte {
		b = bytes.Clone(b)
		copy(b[at:], v)
		return b
	}
	rawBlock := func(typ, length uint32, body []byte) []byte {
		return append(le.AppendUint32(le.AppendUint32(nil, typ), length), body...)
	}
	mismatched := block(le, 4, []byte{1, 2, 3, 4})
	mismatched = setBytes(mismatched, len(mismatched)-4, 20)
	idbBody := func(opts ...byte) []byte {
		return block(le, blockIDB, append([]byte{1, 0, 0, 0, 0, 0, 0, 0}, opts...))
	}
	return []errorCase{
		{name: "empty", input: nil,
			want: "t: offset 0: not a pcap or pcapng file (empty input)", sentinel: ErrNotCapture},
		{name: "text", input: []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
			want: `t: offset 0: not a pcap or pcapng file (starts with "GET / HT")`, sentinel: ErrNotCapture},
		{name: "short binary", input: []byte{0xd4, 0xc3},
			want: `t: offset 0: not a pcap or pcapng file (starts with "\xd4\xc3")`, sentinel: ErrNotCapture},
		{name: "truncated global header", input: hdr[:10],
			want: "t: offset 0: truncated file header: 10 of 24 bytes", sentinel: ErrTruncated},
		{name: "truncated record header", input: cat(hdr, rec60, make([]byte, 5)), packets: 1,
			want: "t: offset 100: truncated packet record header: 5 of 16 bytes", sentinel: ErrTruncated},
		{name: "truncated packet data", input: pcapRecordRaw(hdr, le, 1, 0, 74, 74, payload(40, 0)),
			want: "t: offset 24: truncated packet record: 40 of 74 bytes", sentinel: ErrTruncated},
		{name: "truncated packet data big-endian", input: pcapRecordRaw(pcapHeader(be, pcapMagicNano, 65535, 1), be, 1, 0, 74, 74, payload(40, 0)),
			want: "t: offset 24: truncated packet record: 40 of 74 bytes", sentinel: ErrTruncated},
		{name: "absurd incl_len", input: pcapRecordRaw(hdr, le, 1, 0, 0x7fffffff, 60, payload(60, 0)),
			want: "t: offset 24: packet record claims 2147483647 bytes, more than the snap length 65535"},
		{name: "incl_len above snap length", input: pcapRecordRaw(cat(pcapHeader(le, pcapMagicMicro, 1000, 1), rec60), le, 1, 0, 300000, 300000, nil), packets: 1,
			want: "t: offset 100: packet record claims 300000 bytes, more than the snap length 1000"},
		{name: "incl_len above 16 MiB", input: pcapRecordRaw(pcapHeader(be, pcapMagicMicro, 0xffffffff, 1), be, 1, 0, 16<<20+1, 60, nil),
			want: "t: offset 24: packet record claims 16777217 bytes, more than the 16777216-byte limit"},
		{name: "16 MiB claim in a short file", input: pcapRecordRaw(pcapHeader(le, pcapMagicMicro, 16<<20, 1), le, 1, 0, 16<<20, 16<<20, payload(60, 0)),
			want: "t: offset 24: truncated packet record: 60 of 16777216 bytes", sentinel: ErrTruncated},

		{name: "pcapng magic only", input: ng[:4],
			want: "t: offset 0: truncated block header: 4 of 8 bytes", sentinel: ErrTruncated},
		{name: "truncated section header", input: ng[:10],
			want: "t: offset 0: truncated block header: 10 of 12 bytes", sentinel: ErrTruncated},
		{name: "truncated section header block", input: ng[:20],
			want: "t: offset 0: truncated block: 20 of 28 bytes", sentinel: ErrTruncated},
		{name: "unknown byte-order magic", input: setBytes(ng, 8, 0x11, 0x22, 0x33, 0x44),
			want: "t: offset 0: section header has unknown byte-order magic 0x11223344"},
		{name: "unsupported version", input: setBytes(ng, 12, 2),
			want: "t: offset 0: unsupported pcapng version 2.0"},
		{name: "section header too short", input: rawBlock(blockSHB, 24, le.AppendUint32(nil, byteOrderMagic)),
			want: "t: offset 0: section header block length 24 is less than 28"},
		{name: "truncated block header", input: cat(ng, []byte{1, 0, 0, 0, 9}),
			want: "t: offset 28: truncated block header: 5 of 8 bytes", sentinel: ErrTruncated},
		{name: "block length not a multiple of 4", input: cat(ng, rawBlock(4, 30, make([]byte, 22))),
			want: "t: offset 28: block length 30 is not a multiple of 4"},
		{name: "block length less than 12", input: cat(ng, rawBlock(4, 8, nil)),
			want: "t: offset 28: block length 8 is less than 12"},
		{name: "block length over the limit", input: cat(ng, rawBlock(4, 0x7ffffffc, make([]byte, 100))),
			want: "t: offset 28: block length 2147483644 is more than the 16777216-byte limit"},
		{name: "16 MiB block in a short file", input: cat(ng, rawBlock(4, 16<<20, make([]byte, 92))),
			want: "t: offset 28: truncated block: 100 of 16777216 bytes", sentinel: ErrTruncated},
		{name: "mismatched trailing length", input: cat(ng, mismatched),
			want: "t: offset 28: block trailing length 20 does not match leading length 16"},
		{name: "truncated block after a packet", input: cat(ng, ifc, epb(le, 0, 1, 60, payload(60, 0)), epb(le, 0, 2, 60, payload(60, 0))[:50]), packets: 1,
			want: "t: offset 140: truncated block: 50 of 92 bytes", sentinel: ErrTruncated},
		{name: "enhanced packet with unknown interface", input: cat(ng, ifc, epb(le, 1, 1, 4, payload(4, 0))),
			want: "t: offset 48: enhanced packet block refers to interface 1, but the section describes 1"},
		{name: "enhanced packet before any interface", input: cat(ng, epb(le, 0, 1, 4, payload(4, 0))),
			want: "t: offset 28: enhanced packet block refers to interface 0, but the section describes 0"},
		{name: "new section forgets interfaces", input: cat(ng, ifc, ifc, epb(le, 1, 1, 4, payload(4, 0)), shb(be), epb(be, 1, 1, 4, payload(4, 0))), packets: 1,
			want: "t: offset 132: enhanced packet block refers to interface 1, but the section describes 0"},
		{name: "enhanced packet longer than its block", input: cat(ng, ifc, epbRaw(le, 0, 1, 100, 100, payload(8, 0))),
			want: "t: offset 48: enhanced packet block claims 100 captured bytes, more than the 8 it holds"},
		{name: "enhanced packet block too short", input: cat(ng, block(le, blockEPB, make([]byte, 16))),
			want: "t: offset 28: enhanced packet block length 28 is less than 32"},
		{name: "packet block with unknown interface", input: cat(ng, ifc, pb(le, 3, 1, 4, payload(4, 0))),
			want: "t: offset 48: packet block refers to interface 3, but the section describes 1"},
		{name: "simple packet without interface", input: cat(ng, spb(le, 4, payload(4, 0))),
			want: "t: offset 28: simple packet block, but the section describes no interface"},
		{name: "interface option past the block", input: cat(ng, idbBody(2, 0, 100, 0, 'a', 'b', 'c', 'd')),
			want: "t: offset 28: interface description option 2 claims 100 bytes, more than the block holds"},
		{name: "if_tsresol 10^-20", input: cat(ng, idb(le, 1, 0, tsresol(le, 20))),
			want: "t: offset 28: interface description has unsupported if_tsresol 0x14"},
		{name: "if_tsresol 2^-64", input: cat(ng, idb(le, 1, 0, tsresol(le, 0xc0))),
			want: "t: offset 28: interface description has unsupported if_tsresol 0xc0"},

		{name: "bad gzip header", input: []byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
			want: "t: offset 0 (decompressed): bad gzip stream: gzip: invalid header"},
		{name: "gzip of text", input: gz(t, []byte("hello world")),
			want: `t: offset 0 (decompressed): not a pcap or pcapng file (starts with "hello wo")`, sentinel: ErrNotCapture},
		{name: "gzip of nothing", input: gz(t, nil),
			want: "t: offset 0 (decompressed): not a pcap or pcapng file (empty input)", sentinel: ErrNotCapture},
		{name: "gzip of a truncated pcap", input: gz(t, cat(hdr, rec60[:30])),
			want: "t: offset 24 (decompressed): truncated packet record: 14 of 60 bytes", sentinel: ErrTruncated},
		{name: "gzip checksum", input: corruptStored(t, cat(hdr, rec60, rec60)), packets: 2,
			want: "t: offset 176 (decompressed): bad gzip stream: gzip: invalid checksum", sentinel: gzip.ErrChecksum},
	}
}

// corruptStored gzips data without compression and changes its last data
// byte, so that the data decompresses but fails the checksum.
func corruptStored(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.NoCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	b := buf.Bytes()
	tail := data[len(data)-16:]
	i := bytes.LastIndex(b, tail)
	if i < 0 {
		t.Fatal("stored data not found in the gzip stream")
	}
	b[i+len(tail)-1] ^= 0xff
	return b
}

func TestErrors(t *testing.T) {
	for _, tc := range errorCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			pkts, _, err := readAll(t, tc.input)
			if len(pkts) != tc.packets {
				t.Errorf("read %d packets before the error, want %d", len(pkts), tc.packets)
			}
			if err == nil || err == io.EOF {
				t.Fatalf("reading ended with %v, want %s", err, tc.want)
			}
			mustFormatError(t, err)
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tc.sentinel)
			}
			for _, s := range []error{ErrNotCapture, ErrTruncated} {
				if s != tc.sentinel && errors.Is(err, s) {
					t.Errorf("error %v wraps %v", err, s)
				}
			}
		})
	}
}

// TestErrorIsSticky checks that Next keeps returning its error.
func TestErrorIsSticky(t *testing.T) {
	input := cat(pcapHeader(le, pcapMagicMicro, 65535, 1), make([]byte, 5))
	r, err := NewReader(bytes.NewReader(input), "t")
	if err != nil {
		t.Fatal(err)
	}
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Errorf("second Next returned %v, first %v", err2, err1)
	}
}

func TestGzipDamage(t *testing.T) {
	var file []byte
	file = pcapHeader(le, pcapMagicMicro, 65535, 1)
	for i := range 200 {
		file = pcapRecord(file, le, uint32(i), 0, 500, payload(500, byte(i)))
	}
	z := gz(t, file)
	pattern := regexp.MustCompile(`^t: offset \d+ \(decompressed\): `)
	for _, tc := range []struct {
		name  string
		input []byte
		want  string
	}{
		{"truncated stream", z[:len(z)/2], "truncated gzip stream"},
		{"missing trailer", z[:len(z)-4], "truncated gzip stream"},
		{"corrupt data", func() []byte { b := bytes.Clone(z); b[len(b)/2] ^= 0x55; b[len(b)/2+1] ^= 0xaa; return b }(), ""}, // a flate error, or bad data
		{"garbage after the member", cat(z, []byte("this is not gzip data")), "bad gzip stream: gzip: invalid header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAll(t, tc.input)
			fe := mustFormatError(t, err)
			if !fe.Gzip || !pattern.MatchString(err.Error()) || !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Errorf("error %q, want a gzip error with %q", err, tc.want)
			}
			if fe.Offset < 0 || fe.Offset > int64(len(file)) {
				t.Errorf("offset %d outside the decompressed input", fe.Offset)
			}
		})
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReadErrorIsFormatError(t *testing.T) {
	boom := errors.New("disk on fire")
	file, _ := pcapFixture(le, pcapMagicMicro)
	r, err := NewReader(&failingReader{data: file[:50], err: boom}, "t")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	fe := mustFormatError(t, err)
	if !errors.Is(err, boom) || fe.Offset != 50 || n != 0 {
		t.Errorf("got %v after %d packets, want the read error at offset 50", err, n)
	}
	if want := "t: offset 50: disk on fire"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestHugeClaimAllocatesLittle checks that lengths claimed by a short input
// are not allocated up front.
func TestHugeClaimAllocatesLittle(t *testing.T) {
	for _, tc := range errorCases(t) {
		if tc.name != "16 MiB claim in a short file" && tc.name != "16 MiB block in a short file" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := readAll(t, tc.input)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v, want ErrTruncated", err)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
				t.Errorf("reading a %d-byte input allocated %d bytes", len(tc.input), n)
			}
		})
	}
}

func TestFormatError(t *testing.T) {
	e := &FormatError{Name: "x.pcap", Offset: 7, Err: ErrTruncated}
	if got, want := e.Error(), "x.pcap: offset 7: capture: truncated input"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.Gzip = true
	if got, want := e.Error(), "x.pcap: offset 7 (decompressed): capture: truncated input"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrTruncated) || e.Unwrap() != ErrTruncated {
		t.Error("FormatError does not unwrap to its Err")
	}
}
