package pcapgen

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/netip"
	"time"
)

// Interface is a pcapng Interface Description Block.
type Interface struct {
	LinkType uint32
	Snaplen  uint32
	TsResol  uint8 // if_tsresol option value; 0 means omit (microseconds)
	TsOffset int64 // if_tsoffset seconds; 0 means omit
}

// Section is one pcapng section: its interfaces, then its packets (as
// Enhanced Packet Blocks with each Packet's Interface).
type Section struct {
	BigEndian  bool
	Interfaces []Interface
	Packets    []Packet
	// Extra also writes blocks and options readers must skip: a Name
	// Resolution Block and a Custom Block after the interfaces, a comment
	// option on every packet, and an Interface Statistics Block per
	// interface after the packets.
	Extra bool
}

// Block types and option codes.
const (
	blockSHB    = 0x0a0d0d0a
	blockIDB    = 1
	blockNRB    = 4
	blockISB    = 5
	blockEPB    = 6
	blockCustom = 0x00000bad
	byteMagic   = 0x1a2b3c4d

	optEnd      = 0
	optComment  = 1
	optTsResol  = 9
	optTsOffset = 14
	optIfRecv   = 4
	optIfDrop   = 5

	nrbEnd  = 0
	nrbIPv4 = 1
	nrbIPv6 = 2

	penExample = 32473 // private enterprise number reserved for documentation
)

// Names written to the Name Resolution Block of an Extra section.
var nrbNames = []struct {
	addr netip.Addr
	name string
}{
	{netip.MustParseAddr("192.0.2.25"), "mx.example.test"},
	{netip.MustParseAddr("2001:db8::25"), "mx6.example.test"},
}

// ngWriter builds pcapng blocks in a reused buffer.
type ngWriter struct {
	w   *bufio.Writer
	bo  order
	buf []byte
}

// begin starts a block of type typ in the buffer.
func (n *ngWriter) begin(typ uint32) {
	n.buf = n.bo.AppendUint32(n.buf[:0], typ)
	n.buf = n.bo.AppendUint32(n.buf, 0) // length, set by end
}

// pad appends zeros up to a multiple of 4 bytes.
func (n *ngWriter) pad() {
	for len(n.buf)%4 != 0 {
		n.buf = append(n.buf, 0)
	}
}

// option appends one option with its padding.
func (n *ngWriter) option(code uint16, value []byte) {
	n.buf = n.bo.AppendUint16(n.buf, code)
	n.buf = n.bo.AppendUint16(n.buf, uint16(len(value)))
	n.buf = append(n.buf, value...)
	n.pad()
}

// endOptions appends opt_endofopt.
func (n *ngWriter) endOptions() {
	n.buf = n.bo.AppendUint32(n.buf, 0)
}

// end finishes the block and writes it out.
func (n *ngWriter) end() error {
	n.pad()
	total := uint32(len(n.buf) + 4)
	n.buf = n.bo.AppendUint32(n.buf, total)
	n.bo.PutUint32(n.buf[4:], total)
	_, err := n.w.Write(n.buf)
	return err
}

// WritePcapng writes a pcapng file made of the given sections, each in its
// own byte order. A packet whose Interface is not among its section's
// interfaces is still written, with microsecond timestamps, so that readers
// can be tested against it. It fails on a negative interface index, a link
// type above 65535, a time the interface's resolution and offset cannot
// represent, or lengths that do not fit in 32 bits.
func WritePcapng(w io.Writer, sections ...Section) error {
	n := &ngWriter{w: bufio.NewWriterSize(w, writeBufferSize), buf: make([]byte, 0, 2048)}
	for si := range sections {
		if err := n.section(&sections[si]); err != nil {
			return fmt.Errorf("pcapgen: section %d: %w", si, err)
		}
	}
	return n.w.Flush()
}

func (n *ngWriter) section(s *Section) error {
	n.bo = byteOrder(s.BigEndian)
	n.begin(blockSHB)
	n.buf = n.bo.AppendUint32(n.buf, byteMagic)
	n.buf = n.bo.AppendUint16(n.buf, 1) // version 1.0
	n.buf = n.bo.AppendUint16(n.buf, 0)
	n.buf = n.bo.AppendUint64(n.buf, math.MaxUint64) // section length unknown
	if err := n.end(); err != nil {
		return err
	}

	for i := range s.Interfaces {
		ifc := &s.Interfaces[i]
		if ifc.LinkType > math.MaxUint16 {
			return fmt.Errorf("interface %d: link type %d does not fit pcapng", i, ifc.LinkType)
		}
		n.begin(blockIDB)
		n.buf = n.bo.AppendUint16(n.buf, uint16(ifc.LinkType))
		n.buf = n.bo.AppendUint16(n.buf, 0) // reserved
		n.buf = n.bo.AppendUint32(n.buf, ifc.Snaplen)
		if ifc.TsResol != 0 {
			n.option(optTsResol, []byte{ifc.TsResol})
		}
		if ifc.TsOffset != 0 {
			var v [8]byte
			n.option(optTsOffset, n.bo.AppendUint64(v[:0], uint64(ifc.TsOffset)))
		}
		if ifc.TsResol != 0 || ifc.TsOffset != 0 {
			n.endOptions()
		}
		if err := n.end(); err != nil {
			return err
		}
	}

	if s.Extra {
		if err := n.extraBlocks(); err != nil {
			return err
		}
	}

	for i := range s.Packets {
		p := &s.Packets[i]
		if p.Interface < 0 {
			return fmt.Errorf("packet %d: negative interface %d", i, p.Interface)
		}
		ts, err := ngTime(p.Time, ifaceOf(s, p.Interface))
		if err != nil {
			return fmt.Errorf("packet %d: %w", i, err)
		}
		orig := p.origLen()
		if uint64(len(p.Data)) > math.MaxUint32-64 || orig < 0 || uint64(orig) > math.MaxUint32 || uint64(p.Interface) > math.MaxUint32 {
			return fmt.Errorf("packet %d: length or interface out of range", i)
		}
		n.begin(blockEPB)
		n.buf = n.bo.AppendUint32(n.buf, uint32(p.Interface))
		n.buf = n.bo.AppendUint32(n.buf, uint32(ts>>32))
		n.buf = n.bo.AppendUint32(n.buf, uint32(ts))
		n.buf = n.bo.AppendUint32(n.buf, uint32(len(p.Data)))
		n.buf = n.bo.AppendUint32(n.buf, uint32(orig))
		n.buf = append(n.buf, p.Data...)
		n.pad()
		if s.Extra {
			n.option(optComment, []byte("pcapgen"))
			n.endOptions()
		}
		if err := n.end(); err != nil {
			return err
		}
	}

	if s.Extra {
		for i := range s.Interfaces {
			if err := n.statistics(s, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// ifaceOf returns the interface i of s, or a default one if s has none.
func ifaceOf(s *Section, i int) *Interface {
	if i < len(s.Interfaces) {
		return &s.Interfaces[i]
	}
	return &Interface{}
}

// extraBlocks writes a Name Resolution Block and a Custom Block.
func (n *ngWriter) extraBlocks() error {
	n.begin(blockNRB)
	for _, r := range nrbNames {
		typ := uint16(nrbIPv4)
		if r.addr.Is6() {
			typ = nrbIPv6
		}
		addr := r.addr.AsSlice()
		n.buf = n.bo.AppendUint16(n.buf, typ)
		n.buf = n.bo.AppendUint16(n.buf, uint16(len(addr)+len(r.name)+1))
		n.buf = append(n.buf, addr...)
		n.buf = append(n.buf, r.name...)
		n.buf = append(n.buf, 0)
		n.pad()
	}
	n.buf = n.bo.AppendUint16(n.buf, nrbEnd)
	n.buf = n.bo.AppendUint16(n.buf, 0)
	if err := n.end(); err != nil {
		return err
	}

	n.begin(blockCustom)
	n.buf = n.bo.AppendUint32(n.buf, penExample)
	n.buf = append(n.buf, "pcapgen custom block"...)
	return n.end()
}

// statistics writes an Interface Statistics Block for interface i of s,
// counting its packets and stamped with the time of the last one.
func (n *ngWriter) statistics(s *Section, i int) error {
	var count uint64
	var last time.Time
	for j := range s.Packets {
		if s.Packets[j].Interface == i {
			count++
			last = s.Packets[j].Time
		}
	}
	var ts uint64
	if count > 0 {
		var err error
		if ts, err = ngTime(last, &s.Interfaces[i]); err != nil {
			return fmt.Errorf("statistics of interface %d: %w", i, err)
		}
	}
	n.begin(blockISB)
	n.buf = n.bo.AppendUint32(n.buf, uint32(i))
	n.buf = n.bo.AppendUint32(n.buf, uint32(ts>>32))
	n.buf = n.bo.AppendUint32(n.buf, uint32(ts))
	var v [8]byte
	n.option(optIfRecv, n.bo.AppendUint64(v[:0], count))
	n.option(optIfDrop, n.bo.AppendUint64(v[:0], 0))
	n.endOptions()
	return n.end()
}

// ngTime returns t as a timestamp of interface ifc: units of its resolution
// since the Unix epoch plus its offset.
func ngTime(t time.Time, ifc *Interface) (uint64, error) {
	sec := t.Unix() - ifc.TsOffset
	if sec < 0 {
		return 0, fmt.Errorf("time %v is before the interface's epoch", t)
	}
	nsec := uint64(t.Nanosecond())
	resol := ifc.TsResol
	if resol == 0 {
		resol = 6
	}
	exp := uint(resol & 0x7f)
	if resol&0x80 != 0 {
		if exp > 63 || (exp > 0 && uint64(sec)>>(64-exp) != 0) {
			return 0, fmt.Errorf("time %v does not fit resolution 2^-%d", t, exp)
		}
		hi, lo := bits.Mul64(nsec, 1<<exp)
		frac, _ := bits.Div64(hi, lo, 1e9)
		return uint64(sec)<<exp + frac, nil
	}
	if exp > 19 {
		return 0, fmt.Errorf("resolution 10^-%d is not supported", exp)
	}
	unit := pow10(exp)
	hi, whole := bits.Mul64(uint64(sec), unit)
	var frac uint64
	if exp <= 9 {
		frac = nsec / pow10(9-exp)
	} else {
		frac = nsec * pow10(exp-9)
	}
	ts, carry := bits.Add64(whole, frac, 0)
	if hi != 0 || carry != 0 {
		return 0, fmt.Errorf("time %v does not fit resolution 10^-%d", t, exp)
	}
	return ts, nil
}

func pow10(e uint) uint64 {
	p := uint64(1)
	for ; e > 0; e-- {
		p *= 10
	}
	return p
}
