package capture

import (
	"encoding/binary"
	"math/bits"
	"time"
)

// Block types and other constants of the pcapng format.
const (
	blockSHB = 0x0A0D0D0A // section header
	blockIDB = 1          // interface description
	blockPB  = 2          // packet (obsolete)
	blockSPB = 3          // simple packet
	blockEPB = 6          // enhanced packet

	byteOrderMagic = 0x1A2B3C4D
	minBlockLen    = 12 // type, length, trailing length

	optEnd      = 0
	optTSResol  = 9
	optTSOffset = 14
)

// ngState is what the current pcapng section has said so far.
type ngState struct {
	order  binary.ByteOrder
	ifaces []ngIface // interfaces of the current section, by index
	last   time.Time // time of the previous packet, for simple packet blocks
}

// ngIface is one interface description.
type ngIface struct {
	link   LinkType
	snap   uint32 // 0: unlimited
	units  uint64 // timestamp units per second
	offset int64  // seconds added to every timestamp
}

// time converts a timestamp in the interface's units to a UTC time.
func (ifc *ngIface) time(ts uint64) time.Time {
	hi, lo := bits.Mul64(ts%ifc.units, 1e9)
	nsec, _ := bits.Div64(hi, lo, ifc.units) // cannot overflow: ts%units < units
	return time.Unix(int64(ts/ifc.units)+ifc.offset, int64(nsec)).UTC()
}

// tsUnits decodes an if_tsresol value: a negative power of 10, or of 2 when
// the high bit is set. It reports false for a resolution uint64 cannot hold.
func tsUnits(v byte) (uint64, bool) {
	if v&0x80 != 0 {
		e := v & 0x7f
		return 1 << e, e < 64
	}
	u := uint64(1)
	for range v {
		u *= 10
	}
	return u, v <= 19
}

// minLen is the smallest total length of a block of the type.
func minLen(typ uint32) (uint32, string) {
	switch typ {
	case blockSHB:
		return 28, "section header"
	case blockIDB:
		return 20, "interface description"
	case blockEPB:
		return 32, "enhanced packet"
	case blockPB:
		return 32, "packet"
	case blockSPB:
		return 16, "simple packet"
	}
	return minBlockLen, ""
}

// readBlock reads one whole block and checks its framing. body excludes the
// type, length and trailing length fields, and, for a section header, the
// byte-order magic; it returns io.EOF at a clean end of input.
func (r *Reader) readBlock() (typ uint32, body []byte, start int64, err error) {
	start = r.off
	h := r.hdr[:8]
	if err := r.readHeader(h, 0, start, "block header"); err != nil {
		return 0, nil, start, err
	}
	typ = binary.LittleEndian.Uint32(h) // the section header type reads the same either way
	if typ == blockSHB {
		h = r.hdr[:12]
		if err := r.readHeader(h, 8, start, "block header"); err != nil {
			return 0, nil, start, err
		}
		switch {
		case binary.LittleEndian.Uint32(h[8:]) == byteOrderMagic:
			r.ng.order = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:]) == byteOrderMagic:
			r.ng.order = binary.BigEndian
		default:
			return 0, nil, start, r.errorf(start, nil, "section header has unknown byte-order magic %#x", h[8:12])
		}
	}
	o := r.ng.order
	typ = o.Uint32(h)
	length := o.Uint32(h[4:])
	least, name := minLen(typ)
	switch {
	case length < minBlockLen:
		return 0, nil, start, r.errorf(start, nil, "block length %d is less than %d", length, minBlockLen)
	case length%4 != 0:
		return 0, nil, start, r.errorf(start, nil, "block length %d is not a multiple of 4", length)
	case length > maxPacket:
		return 0, nil, start, r.errorf(start, nil, "block length %d is more than the %d-byte limit", length, maxPacket)
	case length < least:
		return 0, nil, start, r.errorf(start, nil, "%s block length %d is less than %d", name, length, least)
	}
	rest, err := r.fill(int(length)-len(h), start, len(h), "block")
	if err != nil {
		return 0, nil, start, err
	}
	body = rest[:len(rest)-4]
	if trail := o.Uint32(rest[len(body):]); trail != length {
		return 0, nil, start, r.errorf(start, nil, "block trailing length %d does not match leading length %d", trail, length)
	}
	return typ, body, start, nil
}

// readFirstSection reads the section header that starts a pcapng stream.
func (r *Reader) readFirstSection() error {
	_, body, start, err := r.readBlock() // not io.EOF: the magic number was there
	if err != nil {
		return err
	}
	return r.section(body, start)
}

// nextPcapng reads blocks up to and including the next packet.
func (r *Reader) nextPcapng() (Packet, error) {
	for {
		typ, body, start, err := r.readBlock()
		if err != nil {
			return Packet{}, err
		}
		switch typ {
		case blockSHB:
			err = r.section(body, start)
		case blockIDB:
			err = r.iface(body, start)
		case blockEPB, blockPB:
			return r.packetBlock(typ, body, start)
		case blockSPB:
			return r.simplePacket(body, start)
		}
		if err != nil {
			return Packet{}, err
		}
	}
}

// section starts a new section: its interfaces are described afresh.
func (r *Reader) section(b []byte, start int64) error {
	if major := r.ng.order.Uint16(b); major != 1 {
		return r.errorf(start, nil, "unsupported pcapng version %d.%d", major, r.ng.order.Uint16(b[2:]))
	}
	r.ng.ifaces = r.ng.ifaces[:0]
	return nil
}

// iface adds an interface description to the section.
func (r *Reader) iface(b []byte, start int64) error {
	o := r.ng.order
	ifc := ngIface{link: LinkType(o.Uint16(b)), snap: o.Uint32(b[4:]), units: 1e6}
	for opts := b[8:]; len(opts) >= 4; {
		code, n := o.Uint16(opts), int(o.Uint16(opts[2:]))
		if code == optEnd {
			break
		}
		if 4+n > len(opts) {
			return r.errorf(start, nil, "interface description option %d claims %d bytes, more than the block holds", code, n)
		}
		v := opts[4 : 4+n]
		switch {
		case code == optTSResol && n >= 1:
			units, ok := tsUnits(v[0])
			if !ok {
				return r.errorf(start, nil, "interface description has unsupported if_tsresol %#02x", v[0])
			}
			ifc.units = units
		case code == optTSOffset && n >= 8:
			ifc.offset = int64(o.Uint64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	r.ng.ifaces = append(r.ng.ifaces, ifc)
	return nil
}

// packetBlock decodes an enhanced packet block or an obsolete packet block,
// which differ only in the width of the interface id.
func (r *Reader) packetBlock(typ uint32, b []byte, start int64) (Packet, error) {
	o := r.ng.order
	id, name := o.Uint32(b), "enhanced packet"
	if typ == blockPB {
		id, name = uint32(o.Uint16(b)), "packet"
	}
	if uint64(id) >= uint64(len(r.ng.ifaces)) {
		return Packet{}, r.errorf(start, nil, "%s block refers to interface %d, but the section describes %d", name, id, len(r.ng.ifaces))
	}
	ifc := &r.ng.ifaces[id]
	ts := uint64(o.Uint32(b[4:]))<<32 | uint64(o.Uint32(b[8:]))
	capLen, orig := o.Uint32(b[12:]), o.Uint32(b[16:])
	data := b[20:]
	if uint64(capLen) > uint64(len(data)) {
		return Packet{}, r.errorf(start, nil, "%s block claims %d captured bytes, more than the %d it holds", name, capLen, len(data))
	}
	p := Packet{
		Data:      data[:capLen:capLen],
		Length:    int(max(capLen, orig)),
		Time:      ifc.time(ts),
		LinkType:  ifc.link,
		Interface: int(id),
		Offset:    start,
	}
	r.ng.last = p.Time
	return p, nil
}

// simplePacket decodes a simple packet block, which belongs to interface 0
// and has no timestamp of its own.
func (r *Reader) simplePacket(b []byte, start int64) (Packet, error) {
	if len(r.ng.ifaces) == 0 {
		return Packet{}, r.errorf(start, nil, "simple packet block, but the section describes no interface")
	}
	ifc := &r.ng.ifaces[0]
	orig := r.ng.order.Uint32(b)
	data := b[4:]
	n := min(uint64(orig), uint64(len(data)))
	if ifc.snap != 0 {
		n = min(n, uint64(ifc.snap))
	}
	return Packet{
		Data:     data[:n:n],
		Length:   int(orig),
		Time:     r.ng.last,
		LinkType: ifc.link,
		Offset:   start,
	}, nil
}
