package pcapgen

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// PcapOptions choose the classic pcap flavour.
type PcapOptions struct {
	LinkType  uint32
	Nano      bool // magic a1b23c4d
	BigEndian bool
	Snaplen   uint32 // 0 means 262144
	// BufferSize is the size of a PcapWriter's buffer; 0 means 64 KiB. A
	// record longer than the buffer is written through a larger one.
	BufferSize int
}

const (
	pcapMagicMicro  = 0xa1b2c3d4
	pcapMagicNano   = 0xa1b23c4d
	defaultSnaplen  = 262144
	writeBufferSize = 64 << 10
	pcapRecordLen   = 16
)

// order is a byte order that can both put and append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// byteOrder returns the byte order for big-endian (be) or little-endian
// files.
func byteOrder(be bool) order {
	if be {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// WritePcap writes a classic pcap file holding pkts. Packet data is written
// as given, even when longer than the snap length; Interface is ignored. It
// fails if a packet's time is before 1970 or after 2106, or its lengths do
// not fit in 32 bits.
func WritePcap(w io.Writer, o PcapOptions, pkts []Packet) error {
	pw := NewPcapWriter(w, o)
	for i := range pkts {
		if err := pw.WritePacket(pkts[i]); err != nil {
			return err
		}
	}
	return pw.Flush()
}

// PcapWriter writes a classic pcap file one packet at a time, for captures
// too large to hold in memory. It buffers what it writes, the file header
// from the start: call Flush at the end. The first error stops the writer:
// every later call returns it.
type PcapWriter struct {
	w       io.Writer
	o       PcapOptions
	bo      order
	buf     []byte
	packets int   // packets written
	written int64 // bytes written or buffered, the file header included
	err     error
}

// NewPcapWriter returns a writer of a classic pcap file to w.
func NewPcapWriter(w io.Writer, o PcapOptions) *PcapWriter {
	size := o.BufferSize
	if size <= 0 {
		size = writeBufferSize
	}
	size = max(size, 24)
	pw := &PcapWriter{w: w, o: o, bo: byteOrder(o.BigEndian), buf: make([]byte, 0, size)}
	magic := uint32(pcapMagicMicro)
	if o.Nano {
		magic = pcapMagicNano
	}
	snaplen := o.Snaplen
	if snaplen == 0 {
		snaplen = defaultSnaplen
	}
	h := pw.bo.AppendUint32(pw.buf, magic)
	h = pw.bo.AppendUint16(h, 2) // version 2.4
	h = pw.bo.AppendUint16(h, 4)
	h = pw.bo.AppendUint32(h, 0) // thiszone
	h = pw.bo.AppendUint32(h, 0) // sigfigs
	h = pw.bo.AppendUint32(h, snaplen)
	pw.buf = pw.bo.AppendUint32(h, o.LinkType)
	pw.written = int64(len(pw.buf))
	return pw
}

// Written returns the bytes of the file so far, buffered ones included.
func (pw *PcapWriter) Written() int64 { return pw.written }

// WritePacket writes the record of p.
func (pw *PcapWriter) WritePacket(p Packet) error {
	if pw.err != nil {
		return pw.err
	}
	orig := p.origLen()
	if uint64(len(p.Data)) > math.MaxUint32 || orig < 0 || uint64(orig) > math.MaxUint32 {
		return pw.fail(fmt.Errorf("pcapgen: packet %d: length out of range", pw.packets))
	}
	b, err := pw.record(p.Time, len(p.Data), orig)
	if err != nil {
		return err
	}
	pw.commit(append(b, p.Data...))
	return nil
}

// WriteSegment writes the record of s framed with l, at the time of s,
// building the frame in the writer's buffer: it costs no allocation.
func (pw *PcapWriter) WriteSegment(l Link, s *Segment) error {
	if pw.err != nil {
		return pw.err
	}
	n := s.FrameLen(l)
	b, err := pw.record(s.Time, n, n)
	if err != nil {
		return err
	}
	pw.commit(s.AppendFrame(b, l))
	return nil
}

// record makes room for a record of n bytes of data and returns the free
// part of the buffer with the record header appended.
func (pw *PcapWriter) record(t time.Time, n, orig int) ([]byte, error) {
	sec, frac, err := pcapTime(t, pw.o.Nano)
	if err != nil {
		return nil, pw.fail(fmt.Errorf("pcapgen: packet %d: %w", pw.packets, err))
	}
	need := pcapRecordLen + n
	if cap(pw.buf)-len(pw.buf) < need {
		if err := pw.flushBuffer(); err != nil {
			return nil, err
		}
		if cap(pw.buf) < need {
			pw.buf = make([]byte, 0, need)
		}
	}
	b := pw.buf[len(pw.buf):]
	b = pw.bo.AppendUint32(b, sec)
	b = pw.bo.AppendUint32(b, frac)
	b = pw.bo.AppendUint32(b, uint32(n))
	return pw.bo.AppendUint32(b, uint32(orig)), nil
}

// commit adds the record b, built in the free part of the buffer, to it.
func (pw *PcapWriter) commit(b []byte) {
	pw.buf = pw.buf[:len(pw.buf)+len(b)]
	pw.written += int64(len(b))
	pw.packets++
}

func (pw *PcapWriter) fail(err error) error {
	pw.err = err
	return err
}

func (pw *PcapWriter) flushBuffer() error {
	if len(pw.buf) == 0 {
		return nil
	}
	_, err := pw.w.Write(pw.buf)
	pw.buf = pw.buf[:0]
	if err != nil {
		return pw.fail(err)
	}
	return nil
}

// Flush writes what is buffered to the underlying writer.
func (pw *PcapWriter) Flush() error {
	if pw.err != nil {
		return pw.err
	}
	return pw.flushBuffer()
}

// pcapTime splits t into the seconds and micro- or nanoseconds (nano) of a
// pcap record header.
func pcapTime(t time.Time, nano bool) (sec, frac uint32, err error) {
	s := t.Unix()
	if s < 0 || s > math.MaxUint32 {
		return 0, 0, fmt.Errorf("time %v cannot be written to pcap", t)
	}
	ns := uint32(t.Nanosecond())
	if !nano {
		ns /= 1000
	}
	return uint32(s), ns, nil
}
