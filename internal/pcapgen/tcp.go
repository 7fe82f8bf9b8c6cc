package pcapgen

import (
	"net/netip"
	"time"
)

// Link types (pcap LINKTYPE_ values).
const (
	LinkNull      = 0
	LinkEthernet  = 1
	LinkRaw       = 101
	LinkLoop      = 108
	LinkLinuxSLL  = 113
	LinkIPv4      = 228
	LinkIPv6      = 229
	LinkLinuxSLL2 = 276
)

// Flags are TCP flags. Their values are the bits of the TCP header.
type Flags uint8

// TCP flags.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// Segment is one TCP segment.
type Segment struct {
	Time     time.Time
	Src, Dst netip.AddrPort // IPv4 or IPv6 (both the same family)
	Seq, Ack uint32
	Flags    Flags
	Window   uint16 // 0 means 65535
	Payload  []byte
}

// Conn produces the segments of one TCP connection with consistent sequence
// numbers and times.
type Conn struct {
	Client, Server netip.AddrPort
	Now            time.Time     // time of the next segment
	Step           time.Duration // added to Now after each segment (default 1ms when zero)

	clientSeq uint32 // sequence number of the client's next byte
	serverSeq uint32 // sequence number of the server's next byte
}

// NewConn returns a connection between client and server whose first segment
// is at start. The initial sequence numbers depend only on the two addresses,
// so the same addresses always give the same segments.
func NewConn(client, server netip.AddrPort, start time.Time) *Conn {
	return &Conn{
		Client:    client,
		Server:    server,
		Now:       start,
		clientSeq: isn(client, server),
		serverSeq: isn(server, client),
	}
}

// isn returns a deterministic initial sequence number for the direction
// from a to b (FNV-1a over both addresses and ports).
func isn(a, b netip.AddrPort) uint32 {
	h := uint32(2166136261)
	for _, ap := range [2]netip.AddrPort{a, b} {
		addr := ap.Addr().As16()
		for _, c := range addr {
			h = (h ^ uint32(c)) * 16777619
		}
		p := ap.Port()
		h = (h ^ uint32(p>>8)) * 16777619
		h = (h ^ uint32(p&0xff)) * 16777619
	}
	return h
}

// Seqs returns the sequence numbers the client and the server will use for
// their next byte (or SYN or FIN).
func (c *Conn) Seqs() (client, server uint32) {
	return c.clientSeq, c.serverSeq
}

// SetSeqs sets the sequence numbers the client and the server will use next,
// for example to place a connection just below the 2^32 wrap.
func (c *Conn) SetSeqs(client, server uint32) {
	c.clientSeq, c.serverSeq = client, server
}

// tick returns the time of the next segment and advances Now.
func (c *Conn) tick() time.Time {
	t := c.Now
	step := c.Step
	if step == 0 {
		step = time.Millisecond
	}
	c.Now = t.Add(step)
	return t
}

func (c *Conn) seg(fromClient bool, flags Flags, payload []byte) Segment {
	s := Segment{Time: c.tick(), Flags: flags, Payload: payload}
	if fromClient {
		s.Src, s.Dst = c.Client, c.Server
		s.Seq, s.Ack = c.clientSeq, c.serverSeq
	} else {
		s.Src, s.Dst = c.Server, c.Client
		s.Seq, s.Ack = c.serverSeq, c.clientSeq
	}
	if flags&ACK == 0 {
		s.Ack = 0
	}
	return s
}

// advance moves the sender's sequence number past n bytes.
func (c *Conn) advance(fromClient bool, n uint32) {
	if fromClient {
		c.clientSeq += n
	} else {
		c.serverSeq += n
	}
}

// Handshake returns the three segments opening the connection: SYN,
// SYN-ACK and ACK.
func (c *Conn) Handshake() []Segment {
	syn := c.seg(true, SYN, nil)
	c.advance(true, 1)
	synAck := c.seg(false, SYN|ACK, nil)
	c.advance(false, 1)
	ack := c.seg(true, ACK, nil)
	return []Segment{syn, synAck, ack}
}

// FromClient returns a PSH|ACK segment carrying data from the client and
// advances the client's sequence number. The segment's payload is data
// itself, not a copy.
func (c *Conn) FromClient(data []byte) Segment {
	s := c.seg(true, PSH|ACK, data)
	c.advance(true, uint32(len(data)))
	return s
}

// FromServer returns a PSH|ACK segment carrying data from the server and
// advances the server's sequence number. The segment's payload is data
// itself, not a copy.
func (c *Conn) FromServer(data []byte) Segment {
	s := c.seg(false, PSH|ACK, data)
	c.advance(false, uint32(len(data)))
	return s
}

// Split cuts the payload of s into consecutive pieces of the given sizes
// followed by one piece holding whatever remains; sizes reaching past the end
// of the payload are cut short. Every piece keeps the time, addresses,
// acknowledgement and window of s, and its sequence number is that of its
// first byte. PSH and FIN stay on the last piece only. Split panics if a
// size is not positive.
func (c *Conn) Split(s Segment, sizes ...int) []Segment {
	out := make([]Segment, 0, len(sizes)+1)
	rest := s.Payload
	seq := s.Seq
	for _, n := range sizes {
		if n <= 0 {
			panic("pcapgen: Split size must be positive")
		}
		if len(rest) == 0 {
			break
		}
		n = min(n, len(rest))
		p := s
		p.Seq = seq
		p.Flags &^= PSH | FIN
		p.Payload = rest[:n:n]
		out = append(out, p)
		rest = rest[n:]
		seq += uint32(n)
	}
	if len(rest) > 0 || len(out) == 0 {
		p := s
		p.Seq = seq
		p.Payload = rest
		out = append(out, p)
	} else {
		out[len(out)-1].Flags |= s.Flags & (PSH | FIN)
	}
	return out
}

// ClientFIN returns the client's FIN|ACK and advances its sequence number.
func (c *Conn) ClientFIN() Segment {
	s := c.seg(true, FIN|ACK, nil)
	c.advance(true, 1)
	return s
}

// ServerFIN returns the server's FIN|ACK and advances its sequence number.
func (c *Conn) ServerFIN() Segment {
	s := c.seg(false, FIN|ACK, nil)
	c.advance(false, 1)
	return s
}

// ClientRST returns an RST|ACK from the client.
func (c *Conn) ClientRST() Segment {
	return c.seg(true, RST|ACK, nil)
}

// Ack returns a pure ACK from the client (fromClient) or the server,
// acknowledging everything the other side has sent so far.
func (c *Conn) Ack(fromClient bool) Segment {
	return c.seg(fromClient, ACK, nil)
}
