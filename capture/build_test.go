package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

// Builders for hand-made capture files.

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

func pcapHeader(o binary.AppendByteOrder, magic, snap, link uint32) []byte {
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = o.AppendUint32(b, 0) // thiszone
	b = o.AppendUint32(b, 0) // sigfigs
	b = o.AppendUint32(b, snap)
	return o.AppendUint32(b, link)
}

// pcapRecordRaw appends a record whose header says incl and orig, whatever data holds.
func pcapRecordRaw(b []byte, o binary.AppendByteOrder, sec, frac, incl, orig uint32, data []byte) []byte {
	b = o.AppendUint32(b, sec)
	b = o.AppendUint32(b, frac)
	b = o.AppendUint32(b, incl)
	b = o.AppendUint32(b, orig)
	return append(b, data...)
}

func pcapRecord(b []byte, o binary.AppendByteOrder, sec, frac uint32, orig int, data []byte) []byte {
	return pcapRecordRaw(b, o, sec, frac, uint32(len(data)), uint32(orig), data)
}

// payload returns n bytes that differ from packet to packet.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// block frames a pcapng block: body is padded to 4 bytes and the lengths added.
func block(o binary.AppendByteOrder, typ uint32, body ...[]byte) []byte {
	var bb []byte
	for _, p := range body {
		bb = append(bb, p...)
	}
	for len(bb)%4 != 0 {
		bb = append(bb, 0)
	}
	n := uint32(12 + len(bb))
	b := o.AppendUint32(nil, typ)
	b = o.AppendUint32(b, n)
	b = append(b, bb...)
	return o.AppendUint32(b, n)
}

func shb(o binary.AppendByteOrder) []byte {
	b := o.AppendUint32(nil, byteOrderMagic)
	b = o.AppendUint16(b, 1)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint64(b, ^uint64(0)) // section length unknown
	return block(o, blockSHB, b)
}

func opt(o binary.AppendByteOrder, code uint16, v []byte) []byte {
	b := o.AppendUint16(nil, code)
	b = o.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func idb(o binary.AppendByteOrder, link uint16, snap uint32, opts ...[]byte) []byte {
	b := o.AppendUint16(nil, link)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint32(b, snap)
	for _, p := range opts {
		b = append(b, p...)
	}
	if len(opts) > 0 {
		b = append(b, opt(o, optEnd, nil)...)
	}
	return block(o, blockIDB, b)
}

func tsresol(o binary.AppendByteOrder, v byte) []byte { return opt(o, optTSResol, []byte{v}) }
func tsoffset(o binary.AppendByteOrder, sec int64) []byte {
	return opt(o, optTSOffset, o.AppendUint64(nil, uint64(sec)))
}

func epbRaw(o binary.AppendByteOrder, id uint32, ts uint64, capLen, orig uint32, data []byte) []byte {
	b := o.AppendUint32(nil, id)
	b = o.AppendUint32(b, uint32(ts>>32))
	b = o.AppendUint32(b, uint32(ts))
	b = o.AppendUint32(b, capLen)
	b = o.AppendUint32(b, orig)
	return block(o, blockEPB, b, data)
}

func epb(o binary.AppendByteOrder, id uint32, ts uint64, orig int, data []byte) []byte {
	return epbRaw(o, id, ts, uint32(len(data)), uint32(orig), data)
}

func pb(o binary.AppendByteOrder, id uint16, ts uint64, orig int, data []byte) []byte {
	b := o.AppendUint16(nil, id)
	b = o.AppendUint16(b, 0) // drops
	b = o.AppendUint32(b, uint32(ts>>32))
	b = o.AppendUint32(b, uint32(ts))
	b = o.AppendUint32(b, uint32(len(data)))
	b = o.AppendUint32(b, uint32(orig))
	return block(o, blockPB, b, data)
}

func spb(o binary.AppendByteOrder, orig int, data []byte) []byte {
	return block(o, blockSPB, o.AppendUint32(nil, uint32(orig)), data)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func gz(t testing.TB, parts ...[]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, p := range parts { // one gzip member per part
		w := gzip.NewWriter(&buf)
		if _, err := w.Write(p); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

// readAll reads every packet of input, copying the data, and returns the
// error that ended reading (io.EOF at a clean end, or the error of NewReader).
func readAll(t testing.TB, input []byte) ([]Packet, *Reader, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(input), "t")
	if err != nil {
		return nil, nil, err
	}
	var pkts []Packet
	for {
		p, err := r.Next()
		if err != nil {
			return pkts, r, err
		}
		p.Data = bytes.Clone(p.Data)
		pkts = append(pkts, p)
	}
}

// mustReadAll is readAll for input that must end cleanly.
func mustReadAll(t testing.TB, input []byte) ([]Packet, *Reader) {
	t.Helper()
	pkts, r, err := readAll(t, input)
	if err != io.EOF {
		t.Fatalf("reading ended with %v, want io.EOF", err)
	}
	return pkts, r
}

func comparePackets(t *testing.T, got, want []Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d packets, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !bytes.Equal(g.Data, w.Data) {
			t.Errorf("packet %d: data %x, want %x", i, g.Data, w.Data)
		}
		if g.Length != w.Length || g.LinkType != w.LinkType || g.Interface != w.Interface || g.Offset != w.Offset {
			t.Errorf("packet %d: length %d link %v iface %d offset %d, want %d %v %d %d",
				i, g.Length, g.LinkType, g.Interface, g.Offset, w.Length, w.LinkType, w.Interface, w.Offset)
		}
		if !g.Time.Equal(w.Time) || g.Time.Location() != time.UTC {
			t.Errorf("packet %d: time %v (%v), want %v UTC", i, g.Time, g.Time.Location(), w.Time)
		}
	}
}

// mustFormatError checks that err is a *FormatError and returns it.
func mustFormatError(t *testing.T, err error) *FormatError {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FormatError", err, err)
	}
	return fe
}
