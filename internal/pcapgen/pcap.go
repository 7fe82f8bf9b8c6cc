package pcapgen

import (
	"bufio"
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
}

const (
	pcapMagicMicro  = 0xa1b2c3d4
	pcapMagicNano   = 0xa1b23c4d
	defaultSnaplen  = 262144
	writeBufferSize = 64 << 10
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
	bo := byteOrder(o.BigEndian)
	magic := uint32(pcapMagicMicro)
	if o.Nano {
		magic = pcapMagicNano
	}
	snaplen := o.Snaplen
	if snaplen == 0 {
		snaplen = defaultSnaplen
	}
	var scratch [24]byte
	h := bo.AppendUint32(scratch[:0], magic)
	h = bo.AppendUint16(h, 2) // version 2.4
	h = bo.AppendUint16(h, 4)
	h = bo.AppendUint32(h, 0) // thiszone
	h = bo.AppendUint32(h, 0) // sigfigs
	h = bo.AppendUint32(h, snaplen)
	h = bo.AppendUint32(h, o.LinkType)
	bw := bufio.NewWriterSize(w, writeBufferSize)
	if _, err := bw.Write(h); err != nil {
		return err
	}
	for i := range pkts {
		p := &pkts[i]
		sec, frac, err := pcapTime(p.Time, o.Nano)
		if err != nil {
			return fmt.Errorf("pcapgen: packet %d: %w", i, err)
		}
		orig := p.origLen()
		if uint64(len(p.Data)) > math.MaxUint32 || orig < 0 || uint64(orig) > math.MaxUint32 {
			return fmt.Errorf("pcapgen: packet %d: length out of range", i)
		}
		r := bo.AppendUint32(scratch[:0], sec)
		r = bo.AppendUint32(r, frac)
		r = bo.AppendUint32(r, uint32(len(p.Data)))
		r = bo.AppendUint32(r, uint32(orig))
		if _, err := bw.Write(r); err != nil {
			return err
		}
		if _, err := bw.Write(p.Data); err != nil {
			return err
		}
	}
	return bw.Flush()
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
