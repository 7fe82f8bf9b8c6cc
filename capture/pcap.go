package capture

import (
	"encoding/binary"
	"time"
)

// pcapState is what the pcap file header says about every record.
type pcapState struct {
	order   binary.ByteOrder
	snaplen uint32
	link    LinkType
}

const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	pcapHeaderLen  = 24
	pcapRecordLen  = 16
	pcapMinSnap    = 262144 // records up to this size are accepted whatever the snap length
)

func isPcapMagic(b []byte) bool {
	le, be := binary.LittleEndian.Uint32(b), binary.BigEndian.Uint32(b)
	return le == pcapMagicMicro || le == pcapMagicNano || be == pcapMagicMicro || be == pcapMagicNano
}

// readPcapHeader reads the 24-byte pcap file header.
func (r *Reader) readPcapHeader() error {
	h := r.hdr[:pcapHeaderLen]
	if err := r.readHeader(h, 0, 0, "file header"); err != nil {
		return err
	}
	order := binary.ByteOrder(binary.LittleEndian)
	magic := order.Uint32(h)
	if magic != pcapMagicMicro && magic != pcapMagicNano {
		order = binary.BigEndian
		magic = order.Uint32(h)
	}
	if magic == pcapMagicNano {
		r.format = formatPcapNano
	}
	r.pcap = pcapState{
		order:   order,
		snaplen: order.Uint32(h[16:]),
		link:    LinkType(order.Uint32(h[20:]) & 0x0FFFFFFF), // upper bits carry FCS information
	}
	return nil
}

// nextPcap reads one pcap record.
func (r *Reader) nextPcap() (Packet, error) {
	start := r.off
	h := r.hdr[:pcapRecordLen]
	if err := r.readHeader(h, 0, start, "packet record header"); err != nil {
		return Packet{}, err
	}
	o := r.pcap.order
	sec, frac := o.Uint32(h[0:]), o.Uint32(h[4:])
	incl, orig := o.Uint32(h[8:]), o.Uint32(h[12:])
	if incl > max(r.pcap.snaplen, pcapMinSnap) {
		return Packet{}, r.errorf(start, nil, "packet record claims %d bytes, more than the snap length %d", incl, r.pcap.snaplen)
	}
	if incl > maxPacket {
		return Packet{}, r.errorf(start, nil, "packet record claims %d bytes, more than the %d-byte limit", incl, maxPacket)
	}
	data, err := r.fill(int(incl), start, 0, "packet record")
	if err != nil {
		return Packet{}, err
	}
	nsec := int64(frac)
	if r.format == formatPcap {
		nsec *= 1000
	}
	return Packet{
		Data:     data,
		Length:   int(max(incl, orig)),
		Time:     time.Unix(int64(sec), nsec).UTC(),
		LinkType: r.pcap.link,
		Offset:   start,
	}, nil
}
