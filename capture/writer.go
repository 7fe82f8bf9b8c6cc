package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// Writer saves packets of one link type to a pcapng or pcap file as they
// are captured, with nanosecond times, so a live session can be read again
// with -r. Call Flush to get what was written to the file.
type Writer struct {
	w       *bufio.Writer
	ng      bool
	snaplen uint32
	scratch [32]byte
}

// NewWriter writes the file header: pcapng when ng, else classic pcap.
func NewWriter(w io.Writer, ng bool, link LinkType, snaplen int) (*Writer, error) {
	cw := &Writer{w: bufio.NewWriterSize(w, 64<<10), ng: ng, snaplen: uint32(snaplen)}
	le := binary.LittleEndian
	var h []byte
	if ng {
		// Section Header Block, then one Interface Description Block with
		// if_tsresol 9 (nanoseconds).
		h = le.AppendUint32(h, 0x0A0D0D0A)
		h = le.AppendUint32(h, 28)
		h = le.AppendUint32(h, 0x1A2B3C4D)
		h = le.AppendUint16(h, 1)
		h = le.AppendUint16(h, 0)
		h = le.AppendUint64(h, ^uint64(0)) // section length unknown
		h = le.AppendUint32(h, 28)
		h = le.AppendUint32(h, 1)
		h = le.AppendUint32(h, 32)
		h = le.AppendUint16(h, uint16(link))
		h = le.AppendUint16(h, 0)
		h = le.AppendUint32(h, uint32(snaplen))
		h = le.AppendUint16(h, 9) // if_tsresol
		h = le.AppendUint16(h, 1)
		h = append(h, 9, 0, 0, 0)
		h = le.AppendUint32(h, 0) // opt_endofopt
		h = le.AppendUint32(h, 32)
	} else {
		h = le.AppendUint32(h, 0xa1b23c4d) // nanosecond pcap
		h = le.AppendUint16(h, 2)
		h = le.AppendUint16(h, 4)
		h = le.AppendUint32(h, 0)
		h = le.AppendUint32(h, 0)
		h = le.AppendUint32(h, uint32(snaplen))
		h = le.AppendUint32(h, uint32(link))
	}
	if _, err := cw.w.Write(h); err != nil {
		return nil, fmt.Errorf("capture: writing: %w", err)
	}
	return cw, nil
}

// Write appends one packet.
func (w *Writer) Write(p Packet) error {
	le := binary.LittleEndian
	data := p.Data
	if uint32(len(data)) > w.snaplen {
		data = data[:w.snaplen]
	}
	orig := uint32(max(p.Length, len(data)))
	ns := uint64(p.Time.UnixNano())
	h := w.scratch[:0]
	if w.ng {
		pad := (4 - len(data)%4) % 4
		total := uint32(32 + len(data) + pad)
		h = le.AppendUint32(h, 6) // Enhanced Packet Block
		h = le.AppendUint32(h, total)
		h = le.AppendUint32(h, 0) // interface 0
		h = le.AppendUint32(h, uint32(ns>>32))
		h = le.AppendUint32(h, uint32(ns))
		h = le.AppendUint32(h, uint32(len(data)))
		h = le.AppendUint32(h, orig)
		w.w.Write(h)
		w.w.Write(data)
		var tail [8]byte
		w.w.Write(tail[:pad])
		_, err := w.w.Write(le.AppendUint32(tail[:0], total))
		return err
	}
	h = le.AppendUint32(h, uint32(ns/1e9))
	h = le.AppendUint32(h, uint32(ns%1e9))
	h = le.AppendUint32(h, uint32(len(data)))
	h = le.AppendUint32(h, orig)
	w.w.Write(h)
	_, err := w.w.Write(data)
	return err
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }
