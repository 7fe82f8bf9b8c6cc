package reassembly_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// The bytes of a short SMTP session.
const (
	greeting = "220 mail.example.com ESMTP\r\n"
	ehlo     = "EHLO x\r\n"
	ehloOK   = "250-mail.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
	mailFrom = "MAIL FROM:<alice@example.com>\r\n"
	rcptTo   = "RCPT TO:<bob@example.org>\r\n"
	ok       = "250 2.1.0 Ok\r\n"
	quit     = "QUIT\r\n"
	bye      = "221 2.0.0 Bye\r\n"
)

// body is a message body longer than one 1500-byte packet.
var body = strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n", 30)

// exchange returns the data segments of a short session.
func exchange(c *pcapgen.Conn) []pcapgen.Segment {
	return []pcapgen.Segment{
		c.FromServer([]byte(greeting)),
		c.FromClient([]byte(ehlo)),
		c.FromServer([]byte(ehloOK)),
		c.FromClient([]byte(quit)),
		c.FromServer([]byte(bye)),
	}
}

// session returns a whole connection: handshake, the exchange, a FIN each
// way and the last ACK (10 segments before that ACK).
func session(c *pcapgen.Conn) []pcapgen.Segment {
	segs := c.Handshake()
	segs = append(segs, exchange(c)...)
	return append(segs, c.ClientFIN(), c.ServerFIN(), c.Ack(true))
}

// sessionWant is what session delivers. The last ACK comes after Close and
// is not counted.
func sessionWant(id int64, client, server netip.AddrPort) wantConn {
	return wantConn{
		id: id, client: client, server: server, sides: reassembly.SidesBySYN,
		c:       []piece{d(ehlo + quit)},
		s:       []piece{d(greeting + ehloOK + bye)},
		packets: 10, end: reassembly.EndFIN,
	}
}

// roleOf tells an SMTP server's first bytes from a client's.
func roleOf(first []byte) reassembly.Role {
	switch {
	case bytes.HasPrefix(first, []byte("220")):
		return reassembly.RoleServer
	case bytes.HasPrefix(first, []byte("EHLO")), bytes.HasPrefix(first, []byte("HELO")),
		bytes.HasPrefix(first, []byte("MAIL")):
		return reassembly.RoleClient
	}
	return reassembly.RoleUnknown
}

// cat concatenates frame lists.
func cat(lists ...[]frame) []frame {
	return slices.Concat(lists...)
}

// segs concatenates segment lists and single segments.
func segs(parts ...any) []pcapgen.Segment {
	var out []pcapgen.Segment
	for _, p := range parts {
		switch p := p.(type) {
		case pcapgen.Segment:
			out = append(out, p)
		case []pcapgen.Segment:
			out = append(out, p...)
		default:
			panic("segs: not a segment")
		}
	}
	return out
}

// fragments returns the IPv4 fragments of the packet carrying s, framed
// with l, in the order given by order (nil: in order).
func fragments(l pcapgen.Link, s pcapgen.Segment, mtu int, order []int) []frame {
	frags := pcapgen.FragmentIPv4(pcapgen.IPPacket(s), mtu)
	if order == nil {
		for i := range frags {
			order = append(order, i)
		}
	}
	out := make([]frame, 0, len(frags))
	for _, i := range order {
		out = append(out, frame{link: capture.LinkType(l.Type), data: pcapgen.Frame(l, frags[i]), ts: s.Time})
	}
	return out
}

// snapped returns the frame of s cut to n bytes.
func snapped(l pcapgen.Link, s pcapgen.Segment, n int) frame {
	p := pcapgen.Snap(s.Packet(l), n)
	return frame{link: capture.LinkType(l.Type), data: p.Data, ts: p.Time}
}

// ethHeader is the length of an untagged Ethernet header; ipTCPHeaders of
// IPv4 and TCP headers without options.
const (
	ethHeader    = 14
	ipTCPHeaders = 40
)

// udpFrame returns an Ethernet frame holding a small IPv4 UDP datagram.
func udpFrame(ts time.Time) frame {
	payload := []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01")
	ip := make([]byte, 28, 28+len(payload))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(28+len(payload)))
	ip[8], ip[9] = 64, 17
	copy(ip[12:], []byte{192, 0, 2, 10})
	copy(ip[16:], []byte{192, 0, 2, 53})
	binary.BigEndian.PutUint16(ip[20:], 53000)
	binary.BigEndian.PutUint16(ip[22:], 53)
	binary.BigEndian.PutUint16(ip[24:], uint16(8+len(payload)))
	ip = append(ip, payload...)
	return frame{link: capture.LinkEthernet, data: pcapgen.Frame(ethernet, ip), ts: ts}
}

// withHopByHop returns the IPv6 packet with an 8-byte hop-by-hop options
// header (PadN only) inserted before its TCP header.
func withHopByHop(ip6 []byte) []byte {
	out := slices.Concat(ip6[:40], []byte{6, 0, 1, 4, 0, 0, 0, 0}, ip6[40:])
	out[6] = 0 // next header: hop-by-hop
	binary.BigEndian.PutUint16(out[4:], binary.BigEndian.Uint16(ip6[4:])+8)
	return out
}

// assembleCase is one run of an Assembler over frames.
type assembleCase struct {
	name     string
	opts     reassembly.Options // Ports default to smtpPorts
	frames   []frame
	want     []wantConn
	counters *reassembly.Counters            // checked when set
	check    func(t *testing.T, r *recorder) // more checks, when set
}

func TestAssembler(t *testing.T) {
	var cases []assembleCase
	add := func(c assembleCase) { cases = append(cases, c) }

	{
		c := pcapgen.NewConn(client4, server4, t0)
		add(assembleCase{
			name:     "in order with handshake and FIN both ways",
			frames:   framesOf(ethernet, session(c)...),
			want:     []wantConn{sessionWant(1, client4, server4)},
			counters: &reassembly.Counters{Packets: 11, Selected: 11, Connections: 1},
			check: func(t *testing.T, r *recorder) {
				// Closed by the second FIN, not by Flush, at its time.
				c := r.conns[0]
				if c.closedAt != 9 || !c.closeTS.Equal(t0.Add(9*time.Millisecond)) || !c.conn.Start.Equal(t0) {
					t.Errorf("closed at packet %d time %v (start %v), want packet 9 at %v (start %v)",
						c.closedAt, c.closeTS, c.conn.Start, t0.Add(9*time.Millisecond), t0)
				}
			},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		var data []pcapgen.Segment
		for _, s := range exchange(c) {
			data = append(data, c.Split(s, 3, 5, 7, 2)...)
		}
		data = append(data, c.Split(c.FromClient([]byte(body)), 100, 700, 1)...)
		data = pcapgen.Shuffle(rand.New(rand.NewPCG(1, 2)), data)
		add(assembleCase{
			name:   "out of order",
			frames: framesOf(ethernet, segs(hs, data, c.ClientFIN(), c.ServerFIN())...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c:       []piece{d(ehlo + quit + body)},
				s:       []piece{d(greeting + ehloOK + bye)},
				packets: 3 + len(data) + 2, end: reassembly.EndFIN,
			}},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		var data []pcapgen.Segment
		for _, s := range exchange(c) {
			data = append(data, c.Split(s, 4, 4)...)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		data = pcapgen.Duplicate(rng, pcapgen.Shuffle(rng, data), 0.7)
		add(assembleCase{
			name:   "duplicated and retransmitted segments",
			frames: framesOf(ethernet, segs(hs, data, c.ClientFIN(), c.ServerFIN())...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c:       []piece{d(ehlo + quit)},
				s:       []piece{d(greeting + ehloOK + bye)},
				packets: 3 + len(data) + 2, end: reassembly.EndFIN,
			}},
		})
	}
	{
		// Sent as [0,10) [10,30) [30,59), re-sent as [0,15) [15,35) [35,59).
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		g1 := c.FromServer([]byte(greeting))
		msg := c.FromClient([]byte(mailFrom + rcptTo))
		first, second := c.Split(msg, 10, 20), c.Split(msg, 15, 20)
		add(assembleCase{
			name: "overlapping segments with the same bytes",
			frames: framesOf(ethernet, segs(hs, g1, first[1], second[2], second[0], second[1], first[0], first[2],
				c.FromServer([]byte(ok)))...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(mailFrom + rcptTo)}, s: []piece{d(greeting + ok)},
				packets: 11, end: reassembly.EndOpen,
			}},
		})
	}
	{
		// gopacket keeps the first copy of bytes already delivered and the
		// last copy of bytes still waiting for a hole before them.
		orig := mailFrom + rcptTo
		alt := strings.ToLower(orig) // same length, other bytes
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		g1 := c.FromServer([]byte(greeting))
		o := c.FromClient([]byte(orig))
		a := o
		a.Payload = []byte(alt)
		origs, alts := c.Split(o, 20), c.Split(a, 10, 20)
		add(assembleCase{
			name:   "overlapping segments with other bytes after delivery: first copy wins",
			frames: framesOf(ethernet, segs(hs, g1, origs[0], alts[1], origs[1])...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(orig[:20] + alt[20:30] + orig[30:])}, s: []piece{d(greeting)},
				packets: 7, end: reassembly.EndOpen,
			}},
		})
		origs, alts = c.Split(o, 10), c.Split(a, 10, 20)
		add(assembleCase{
			name:   "overlapping segments with other bytes while queued: last copy wins",
			frames: framesOf(ethernet, segs(hs, g1, origs[1], alts[1], origs[0])...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(orig[:10] + alt[10:30] + orig[30:])}, s: []piece{d(greeting)},
				packets: 7, end: reassembly.EndOpen,
			}},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		msg := mailFrom + rcptTo
		parts := c.Split(c.FromClient([]byte(msg)), 10, 21)
		all := segs(hs, c.FromServer([]byte(greeting)), parts, c.FromServer([]byte(ok)), c.ClientFIN(), c.ServerFIN())
		lost := pcapgen.Drop(all, 5) // parts[1]
		add(assembleCase{
			name:   "lost segment reported at Flush",
			frames: framesOf(ethernet, lost...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c:       []piece{d(msg[:10]), g(21), d(msg[31:])},
				s:       []piece{d(greeting + ok)},
				packets: len(lost), end: reassembly.EndFIN,
			}},
			check: func(t *testing.T, r *recorder) {
				if at := r.conns[0].firstAt('G', reassembly.FromClient); at != afterFlush {
					t.Errorf("gap reported at packet %d, want at Flush", at)
				}
			},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		msg := mailFrom + rcptTo
		parts := c.Split(c.FromClient([]byte(msg)), 10, 21)
		before := segs(hs, c.FromServer([]byte(greeting)), parts[0], parts[2])
		c.Now = c.Now.Add(6 * time.Second) // past GapTimeout
		late := segs(c.FromServer([]byte(ok)), c.FromClient([]byte(quit)))
		add(assembleCase{
			name:   "lost segment reported after GapTimeout of packet time",
			opts:   reassembly.Options{Ports: smtpPorts, GapTimeout: 5 * time.Second},
			frames: framesOf(ethernet, segs(before, late)...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c:       []piece{d(msg[:10]), g(21), d(msg[31:] + quit)},
				s:       []piece{d(greeting + ok)},
				packets: 8, end: reassembly.EndOpen,
			}},
			check: func(t *testing.T, r *recorder) {
				if at := r.conns[0].firstAt('G', reassembly.FromClient); at != len(before) {
					t.Errorf("gap reported at packet %d, want %d", at, len(before))
				}
			},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		c.Handshake() // not captured
		mid := segs(c.FromClient([]byte(mailFrom)), c.FromServer([]byte(ok)), c.FromClient([]byte(rcptTo)), c.FromServer([]byte(ok)))
		add(assembleCase{
			name:   "mid-stream, client speaks first, port decides",
			frames: framesOf(ethernet, mid...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesByPort,
				c: []piece{d(mailFrom + rcptTo)}, s: []piece{d(ok + ok)},
				packets: 4, end: reassembly.EndOpen,
			}},
		})
		add(assembleCase{
			name:   "mid-stream, server speaks first, port decides",
			frames: framesOf(ethernet, mid[1:]...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesByPort,
				c: []piece{d(rcptTo)}, s: []piece{d(ok + ok)},
				packets: 3, end: reassembly.EndOpen,
			}},
		})
	}
	{
		// An MTA sending from port 25 to a server on a high port.
		client := netip.MustParseAddrPort("192.0.2.10:25")
		server := netip.MustParseAddrPort("192.0.2.25:40000")
		c := pcapgen.NewConn(client, server, t0)
		c.Handshake() // not captured
		mid := framesOf(ethernet, exchange(c)...)
		add(assembleCase{
			name:   "mid-stream, Role recognises the greeting",
			opts:   reassembly.Options{Ports: smtpPorts, Role: roleOf},
			frames: mid,
			want: []wantConn{{
				id: 1, client: client, server: server, sides: reassembly.SidesByContent,
				c: []piece{d(ehlo + quit)}, s: []piece{d(greeting + ehloOK + bye)},
				packets: 5, end: reassembly.EndOpen,
			}},
		})
		add(assembleCase{
			name:   "mid-stream, Role recognises the client's command",
			opts:   reassembly.Options{Ports: smtpPorts, Role: roleOf},
			frames: mid[1:],
			want: []wantConn{{
				id: 1, client: client, server: server, sides: reassembly.SidesByContent,
				c: []piece{d(ehlo + quit)}, s: []piece{d(ehloOK + bye)},
				packets: 4, end: reassembly.EndOpen,
			}},
		})
		add(assembleCase{
			name:   "mid-stream, Role does not know, port decides",
			opts:   reassembly.Options{Ports: smtpPorts, Role: roleOf},
			frames: mid[2:],
			// The selected port is taken for the server, wrongly here.
			want: []wantConn{{
				id: 1, client: server, server: client, sides: reassembly.SidesByPort,
				c: []piece{d(ehloOK + bye)}, s: []piece{d(quit)},
				packets: 3, end: reassembly.EndOpen,
			}},
		})
	}
	{
		// Both ports selected; the client's is the lower one.
		client := netip.MustParseAddrPort("192.0.2.10:25")
		server := netip.MustParseAddrPort("192.0.2.25:587")
		c := pcapgen.NewConn(client, server, t0)
		add(assembleCase{
			name:   "SYN decides although the client's port is the lower one",
			frames: framesOf(ethernet, session(c)...),
			want:   []wantConn{sessionWant(1, client, server)},
		})
		c = pcapgen.NewConn(client, server, t0)
		all := session(c)
		w := sessionWant(1, client, server)
		w.packets--
		add(assembleCase{
			name:   "SYN-ACK decides when the SYN was not captured",
			frames: framesOf(ethernet, all[1:]...),
			want:   []wantConn{w},
		})
		// The SYN-ACK is captured after the greeting: the port has decided
		// by then, and the Handler must not see the sides swap.
		c = pcapgen.NewConn(client, server, t0)
		hs := c.Handshake()
		ex := exchange(c)
		add(assembleCase{
			name:   "late SYN-ACK does not swap sides already decided",
			frames: framesOf(ethernet, segs(hs[2], ex[0], hs[1], ex[1:])...),
			want: []wantConn{{
				id: 1, client: server, server: client, sides: reassembly.SidesByPort,
				c: []piece{d(greeting + ehloOK + bye)}, s: []piece{d(ehlo + quit)},
				packets: 7, end: reassembly.EndOpen,
			}},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		all := segs(c.Handshake(), c.FromServer([]byte(greeting)), c.FromClient([]byte(ehlo)),
			c.ClientRST(), c.FromServer([]byte(ehloOK)))
		add(assembleCase{
			name:   "RST ends the connection at once",
			frames: framesOf(ethernet, all...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(ehlo)}, s: []piece{d(greeting)},
				packets: 6, end: reassembly.EndRST,
			}},
			counters: &reassembly.Counters{Packets: 7, Selected: 7, Connections: 1},
			check: func(t *testing.T, r *recorder) {
				if c := r.conns[0]; c.closedAt != 5 || !c.closeTS.Equal(all[5].Time) {
					t.Errorf("closed at packet %d time %v, want packet 5 at %v", c.closedAt, c.closeTS, all[5].Time)
				}
			},
		})
	}
	{
		// The server's second piece is lost; its third waits for it when
		// the client resets: both are reported lost at once.
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		g3 := c.Split(c.FromServer([]byte(ehloOK)), 10, 15)
		all := segs(hs, g3[0], g3[2], c.ClientRST())
		add(assembleCase{
			name:   "RST while bytes wait behind a hole",
			frames: framesOf(ethernet, all...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				s:       []piece{d(ehloOK[:10]), g(len(ehloOK) - 10)},
				packets: 6, end: reassembly.EndRST,
			}},
			check: func(t *testing.T, r *recorder) {
				if c := r.conns[0]; c.closedAt != 5 {
					t.Errorf("closed at packet %d, want 5", c.closedAt)
				}
			},
		})
		c = pcapgen.NewConn(client4, server4, t0)
		rst := c.ClientRST()
		rst.Seq += 1000
		add(assembleCase{
			name:   "RST out of window is ignored",
			frames: framesOf(ethernet, segs(c.Handshake(), c.FromServer([]byte(greeting)), rst, c.FromClient([]byte(ehlo)))...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(ehlo)}, s: []piece{d(greeting)},
				packets: 6, end: reassembly.EndOpen,
			}},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		add(assembleCase{
			name:   "still open at the end",
			frames: framesOf(ethernet, segs(c.Handshake(), exchange(c))...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(ehlo + quit)}, s: []piece{d(greeting + ehloOK + bye)},
				packets: 8, end: reassembly.EndOpen,
			}},
			check: func(t *testing.T, r *recorder) {
				if c := r.conns[0]; c.closedAt != afterFlush || !c.closeTS.Equal(t0.Add(7*time.Millisecond)) {
					t.Errorf("closed at packet %d time %v, want at Flush with time %v", c.closedAt, c.closeTS, t0.Add(7*time.Millisecond))
				}
			},
		})
	}
	{
		a := pcapgen.NewConn(client4, server4, t0)
		idle := segs(a.Handshake(), a.FromServer([]byte(greeting)), a.FromClient([]byte(ehlo)))
		client2 := netip.MustParseAddrPort("192.0.2.11:40002")
		b := pcapgen.NewConn(client2, server4, t0.Add(2*time.Minute))
		add(assembleCase{
			name:   "idle connection closed by packet time",
			opts:   reassembly.Options{Ports: smtpPorts, IdleTimeout: time.Minute},
			frames: framesOf(ethernet, segs(idle, session(b))...),
			want: []wantConn{
				{
					id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
					c: []piece{d(ehlo)}, s: []piece{d(greeting)},
					packets: 5, end: reassembly.EndOpen,
				},
				sessionWant(2, client2, server4),
			},
			check: func(t *testing.T, r *recorder) {
				if c := r.conns[0]; c.closedAt != 5 || !c.closeTS.Equal(idle[4].Time) {
					t.Errorf("idle connection closed at packet %d time %v, want packet 5 at %v", c.closedAt, c.closeTS, idle[4].Time)
				}
			},
		})
	}
	{
		c := pcapgen.NewConn(client6, server6, t0)
		add(assembleCase{
			name:   "IPv6",
			frames: framesOf(ethernet, session(c)...),
			want:   []wantConn{sessionWant(1, client6, server6)},
		})
	}
	{
		// The IPv4 packet of the body is cut into fragments of at most
		// 576 bytes.
		for _, order := range []struct {
			name  string
			order []int
		}{{"in order", nil}, {"shuffled", []int{2, 0, 3, 1}}} {
			c := pcapgen.NewConn(client4, server4, t0)
			before := segs(c.Handshake(), c.FromServer([]byte(greeting)), c.FromClient([]byte(ehlo)),
				c.FromServer([]byte(ehloOK)))
			big := c.FromClient([]byte(body))
			after := segs(c.FromServer([]byte(ok)), c.ClientFIN(), c.ServerFIN())
			frags := fragments(ethernet, big, 576, order.order)
			add(assembleCase{
				name:   "IPv4 fragments " + order.name,
				frames: cat(framesOf(ethernet, before...), frags, framesOf(ethernet, after...)),
				want: []wantConn{{
					id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
					c: []piece{d(ehlo + body)}, s: []piece{d(greeting + ehloOK + ok)},
					packets: 10, end: reassembly.EndFIN,
				}},
				counters: &reassembly.Counters{Packets: int64(9 + len(frags)), Selected: 10, Fragments: int64(len(frags)), Connections: 1},
			})
		}
	}
	{
		// The frame of the body is cut 100 bytes into the payload.
		c := pcapgen.NewConn(client4, server4, t0)
		before := segs(c.Handshake(), c.FromServer([]byte(greeting)), c.FromClient([]byte(ehlo)))
		big := c.FromClient([]byte(body))
		after := segs(c.FromClient([]byte(".\r\n")), c.FromServer([]byte(ok)))
		add(assembleCase{
			name:   "packet cut by the snap length",
			frames: cat(framesOf(ethernet, before...), []frame{snapped(ethernet, big, ethHeader+ipTCPHeaders+100)}, framesOf(ethernet, after...)),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(ehlo + body[:100]), g(len(body) - 100), d(".\r\n")},
				s: []piece{d(greeting + ok)}, packets: 8, end: reassembly.EndOpen,
			}},
		})

		// Two cut packets arrive in reverse order: each hole is reported
		// where it is in the stream.
		c = pcapgen.NewConn(client4, server4, t0)
		before = segs(c.Handshake(), c.FromServer([]byte(greeting)))
		one := c.FromClient([]byte(body))
		two := c.FromClient([]byte(body))
		after = segs(c.FromClient([]byte(".\r\n")), c.FromServer([]byte(ok)))
		add(assembleCase{
			name: "two packets cut by the snap length, out of order",
			frames: cat(framesOf(ethernet, before...),
				[]frame{snapped(ethernet, two, ethHeader+ipTCPHeaders+50), snapped(ethernet, one, ethHeader+ipTCPHeaders+10)},
				framesOf(ethernet, after...)),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(body[:10]), g(len(body) - 10), d(body[:50]), g(len(body) - 50), d(".\r\n")},
				s: []piece{d(greeting + ok)}, packets: 8, end: reassembly.EndOpen,
			}},
		})

		// A cut inside the TCP header leaves nothing usable: the packet is
		// malformed and its bytes a gap.
		c = pcapgen.NewConn(client4, server4, t0)
		before = segs(c.Handshake(), c.FromServer([]byte(greeting)))
		big = c.FromClient([]byte(body))
		after = segs(c.FromClient([]byte(".\r\n")), c.FromServer([]byte(ok)))
		add(assembleCase{
			name:   "packet cut inside the TCP header",
			frames: cat(framesOf(ethernet, before...), []frame{snapped(ethernet, big, ethHeader+30)}, framesOf(ethernet, after...)),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{g(len(body)), d(".\r\n")},
				s: []piece{d(greeting + ok)}, packets: 6, end: reassembly.EndOpen,
			}},
			counters: &reassembly.Counters{Packets: 7, Selected: 6, Malformed: 1, Connections: 1},
		})
	}
	{
		// Sequence numbers wrap inside the data, which is reordered.
		for _, start := range []uint32{0xffffffff - 20, 0xffffffff, 0} {
			c := pcapgen.NewConn(client4, server4, t0)
			c.SetSeqs(start, start-5)
			hs := c.Handshake()
			var data []pcapgen.Segment
			for _, s := range exchange(c) {
				data = append(data, c.Split(s, 7, 9)...)
			}
			data = append(data, c.Split(c.FromClient([]byte(body)), 10, 500)...)
			data = pcapgen.Shuffle(rand.New(rand.NewPCG(uint64(start), 5)), data)
			add(assembleCase{
				name:   fmt.Sprintf("sequence numbers wrapping, first %#x", start),
				frames: framesOf(ethernet, segs(hs, data, c.ClientFIN(), c.ServerFIN())...),
				want: []wantConn{{
					id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
					c:       []piece{d(ehlo + quit + body)},
					s:       []piece{d(greeting + ehloOK + bye)},
					packets: 3 + len(data) + 2, end: reassembly.EndFIN,
				}},
			})
		}
	}
	for _, l := range []struct {
		name   string
		link   pcapgen.Link
		v4, v6 bool
	}{
		{"Ethernet with a VLAN tag", pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{100}}, true, true},
		{"Ethernet with QinQ", pcapgen.Link{Type: pcapgen.LinkEthernet, VLANs: []uint16{100, 200}}, true, true},
		{"Linux SLL", pcapgen.Link{Type: pcapgen.LinkLinuxSLL}, true, true},
		{"Linux SLL2", pcapgen.Link{Type: pcapgen.LinkLinuxSLL2}, true, true},
		{"NULL", pcapgen.Link{Type: pcapgen.LinkNull}, true, true},
		{"LOOP", pcapgen.Link{Type: pcapgen.LinkLoop}, true, true},
		{"raw IP (101)", pcapgen.Link{Type: pcapgen.LinkRaw}, true, true},
		{"raw IPv4 (228)", pcapgen.Link{Type: pcapgen.LinkIPv4}, true, false},
		{"raw IPv6 (229)", pcapgen.Link{Type: pcapgen.LinkIPv6}, false, true},
	} {
		for _, fam := range []struct {
			name           string
			ok             bool
			client, server netip.AddrPort
		}{{"IPv4", l.v4, client4, server4}, {"IPv6", l.v6, client6, server6}} {
			if !fam.ok {
				continue
			}
			c := pcapgen.NewConn(fam.client, fam.server, t0)
			add(assembleCase{
				name:     l.name + " " + fam.name,
				frames:   framesOf(l.link, session(c)...),
				want:     []wantConn{sessionWant(1, fam.client, fam.server)},
				counters: &reassembly.Counters{Packets: 11, Selected: 11, Connections: 1},
			})
		}
	}
	{
		// Packets of two connections alternate; the second one's SYN is
		// the second packet. Both are still open at the end.
		client2 := netip.MustParseAddrPort("192.0.2.11:40002")
		a := pcapgen.NewConn(client4, server4, t0)
		b := pcapgen.NewConn(client2, server4, t0.Add(500*time.Microsecond))
		sa := segs(a.Handshake(), exchange(a))
		sb := segs(b.Handshake(), exchange(b))
		var mixed []pcapgen.Segment
		for i := range sa {
			mixed = append(mixed, sa[i], sb[i])
		}
		wa, wb := sessionWant(1, client4, server4), sessionWant(2, client2, server4)
		wa.packets, wa.end, wb.packets, wb.end = 8, reassembly.EndOpen, 8, reassembly.EndOpen
		add(assembleCase{
			name:   "two interleaved connections",
			frames: framesOf(ethernet, mixed...),
			want:   []wantConn{wa, wb},
			check: func(t *testing.T, r *recorder) {
				if !slices.Equal(r.closeOrder, []int64{1, 2}) {
					t.Errorf("Close order %v, want [1 2]", r.closeOrder)
				}
			},
		})

		// A connection whose first captured packet is a bare ACK is
		// numbered by its first data, after one that began meanwhile.
		a = pcapgen.NewConn(client4, server4, t0)
		a.Handshake()
		b = pcapgen.NewConn(client2, server4, t0.Add(500*time.Microsecond))
		ack := a.Ack(true)
		sb = segs(b.Handshake(), exchange(b))
		mail := a.FromClient([]byte(mailFrom))
		wb.id = 1
		add(assembleCase{
			name:   "mid-stream connection numbered by its first data",
			frames: framesOf(ethernet, segs(ack, sb, mail)...),
			want: []wantConn{
				wb, // created first
				{
					id: 2, client: client4, server: server4, sides: reassembly.SidesByPort,
					c: []piece{d(mailFrom)}, packets: 2, end: reassembly.EndOpen,
				},
			},
			check: func(t *testing.T, r *recorder) {
				// Closed by Flush in the order of their first packets.
				if !slices.Equal(r.closeOrder, []int64{2, 1}) {
					t.Errorf("Close order %v, want [2 1]", r.closeOrder)
				}
			},
		})
	}
	{
		// One stray ACK while the connection is remembered as closed; two
		// after another connection's SYN, past IdleTimeout, has made the
		// Assembler forget it.
		c := pcapgen.NewConn(client4, server4, t0)
		all := segs(session(c), c.Ack(false))
		client2 := netip.MustParseAddrPort("192.0.2.11:40002")
		b := pcapgen.NewConn(client2, server4, t0.Add(2*time.Minute))
		c.Now = b.Now.Add(time.Second)
		late := segs(b.Handshake()[0], c.Ack(true), c.Ack(false))
		add(assembleCase{
			name:   "stray ACKs after both FINs",
			opts:   reassembly.Options{Ports: smtpPorts, IdleTimeout: time.Minute},
			frames: framesOf(ethernet, segs(all, late)...),
			want: []wantConn{
				sessionWant(1, client4, server4),
				{id: 2, client: client2, server: server4, sides: reassembly.SidesBySYN, packets: 1, end: reassembly.EndOpen},
			},
			counters: &reassembly.Counters{Packets: 15, Selected: 15, Connections: 2},
		})
	}
	{
		detect := func(client, server []byte) reassembly.Verdict {
			switch {
			case len(server) >= 4 && !bytes.HasPrefix(server, []byte("220 ")) && !bytes.HasPrefix(server, []byte("220-")):
				return reassembly.VerdictNo
			case len(server) >= 4 && len(client) >= 4:
				return reassembly.VerdictYes
			}
			return reassembly.VerdictMore
		}
		server := netip.MustParseAddrPort("192.0.2.25:2525")
		c := pcapgen.NewConn(client4, server, t0)
		hs := c.Handshake()
		g1 := c.Split(c.FromServer([]byte(greeting)), 2)
		rest := segs(c.FromClient([]byte(ehlo)), c.FromServer([]byte(ehloOK)), c.ClientFIN(), c.ServerFIN())
		frames := framesOf(ethernet, segs(hs, g1, rest)...)
		add(assembleCase{
			name:     "unselected port ignored without Detect",
			frames:   frames,
			counters: &reassembly.Counters{Packets: 9, Other: 9},
		})
		add(assembleCase{
			name:   "unselected port selected by Detect",
			opts:   reassembly.Options{Ports: smtpPorts, Detect: detect},
			frames: frames,
			want: []wantConn{{
				id: 1, client: client4, server: server, sides: reassembly.SidesBySYN,
				c: []piece{d(ehlo)}, s: []piece{d(greeting + ehloOK)},
				packets: 9, end: reassembly.EndFIN,
			}},
			counters: &reassembly.Counters{Packets: 9, Selected: 9, Connections: 1},
			check: func(t *testing.T, r *recorder) {
				// The held bytes are replayed in the order they came, at
				// their own times, once Detect said yes (at the EHLO).
				var got []string
				for _, e := range r.conns[0].events {
					if e.kind == 'D' {
						got = append(got, e.dir.String()+" "+string(e.data)+" "+e.ts.Format(".000"))
					}
				}
				want := []string{
					"server " + greeting[:2] + " .003", "server " + greeting[2:] + " .003",
					"client " + ehlo + " .004", "server " + ehloOK + " .005",
				}
				if !slices.Equal(got, want) {
					t.Errorf("data events %q, want %q", got, want)
				}
				if c := r.conns[0]; c.created != 5 {
					t.Errorf("Handler created at packet %d, want 5", c.created)
				}
			},
		})
		c = pcapgen.NewConn(client4, server, t0)
		add(assembleCase{
			name: "unselected port dropped by Detect",
			opts: reassembly.Options{Ports: smtpPorts, Detect: detect},
			frames: framesOf(ethernet, segs(c.Handshake(), c.FromServer([]byte("SSH-2.0-OpenSSH_9.6\r\n")),
				c.FromClient([]byte("SSH-2.0-Go\r\n")), c.ClientFIN(), c.ServerFIN())...),
			// Selected until Detect says no (at the server's first bytes).
			counters: &reassembly.Counters{Packets: 7, Selected: 4, Other: 3},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		all := framesOf(ethernet, session(c)...)
		ipv4 := all[3].data[ethHeader:]
		bad := []frame{
			{capture.LinkEthernet, all[3].data[:ethHeader+10], t0},          // IPv4 header cut
			{capture.LinkEthernet, all[3].data[:ethHeader+20+8], t0},        // TCP header cut
			{capture.LinkEthernet, []byte{1, 2, 3}, t0},                     // shorter than Ethernet
			{capture.LinkIPv4, bytes.Repeat([]byte{0x4f}, 60), t0},          // IHL past the end
			{capture.LinkRaw, bytes.Repeat([]byte{0xff}, 60), t0},           // not IP at all
			{capture.LinkIPv6, ipv4, t0},                                    // IPv4 as IPv6
			{capture.LinkNull, []byte{0xff, 0xff, 0xff, 0xff, 0x45, 0}, t0}, // bad family
		}
		var frames []frame
		for i, f := range all {
			frames = append(frames, f)
			if i < len(bad) {
				frames = append(frames, bad[i])
			}
		}
		add(assembleCase{
			name:     "malformed packets are counted and skipped",
			frames:   frames,
			want:     []wantConn{sessionWant(1, client4, server4)},
			counters: &reassembly.Counters{Packets: 11 + int64(len(bad)), Selected: 11, Malformed: int64(len(bad)), Connections: 1},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		all := framesOf(ethernet, session(c)...)
		frames := cat(all[:4], []frame{udpFrame(t0)}, all[4:])
		add(assembleCase{
			name:     "UDP is counted as other",
			frames:   frames,
			want:     []wantConn{sessionWant(1, client4, server4)},
			counters: &reassembly.Counters{Packets: 12, Selected: 11, Other: 1, Connections: 1},
		})
	}
	{
		// 40 segments of 100 bytes behind a lost one; the cap holds two
		// pages, so the hole is given up as soon as a third would be
		// needed and everything behind it is delivered.
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		g1 := c.FromServer([]byte(greeting))
		data := []byte(strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!\r\n", 64))[:41*100]
		parts := c.Split(c.FromClient(data), slices.Repeat([]int{100}, 40)...)
		add(assembleCase{
			name:   "buffer cap gives up a hole",
			opts:   reassembly.Options{Ports: smtpPorts, MaxBufferedPerConn: 2 * 1900},
			frames: framesOf(ethernet, segs(hs, g1, parts[1:], c.FromServer([]byte(ok)))...),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{g(100), d(string(data[100:]))}, s: []piece{d(greeting + ok)},
				packets: 45, end: reassembly.EndOpen,
			}},
			check: func(t *testing.T, r *recorder) {
				if at := r.conns[0].firstAt('G', reassembly.FromClient); at != 5 {
					t.Errorf("gap reported at packet %d, want 5 (the second queued segment)", at)
				}
			},
		})
	}
	{
		// Connection A loses a segment; the packet of connection B that
		// reaches GapTimeout releases it, stamped with A's last packet.
		client2 := netip.MustParseAddrPort("192.0.2.11:40002")
		a := pcapgen.NewConn(client4, server4, t0)
		msg := mailFrom + rcptTo
		sa := segs(a.Handshake(), a.FromServer([]byte(greeting)), a.Split(a.FromClient([]byte(msg)), 10, 21))
		sa = pcapgen.Drop(sa, 5)
		b := pcapgen.NewConn(client2, server4, t0.Add(time.Minute))
		wb := sessionWant(2, client2, server4)
		add(assembleCase{
			name:   "gap released by another connection's packet",
			frames: framesOf(ethernet, segs(sa, session(b))...),
			want: []wantConn{
				{
					id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
					c:       []piece{d(msg[:10]), g(21), d(msg[31:])},
					s:       []piece{d(greeting)},
					packets: 6, end: reassembly.EndOpen,
				},
				wb,
			},
			check: func(t *testing.T, r *recorder) {
				c := r.conns[0]
				if at := c.firstAt('G', reassembly.FromClient); at != len(sa) {
					t.Errorf("gap reported at packet %d, want %d", at, len(sa))
				}
				for _, e := range c.events {
					if e.kind == 'G' && !e.ts.Equal(sa[len(sa)-1].Time) {
						t.Errorf("gap stamped %v, want %v", e.ts, sa[len(sa)-1].Time)
					}
				}
			},
		})
	}
	{
		// The cut packet waits behind a lost one while earlier bytes are
		// delivered; the cut is reported only where it is.
		c := pcapgen.NewConn(client4, server4, t0)
		hs := c.Handshake()
		g1 := c.FromServer([]byte(greeting))
		parts := c.Split(c.FromClient([]byte(body)), 100, 200, 600)
		add(assembleCase{
			name: "cut packet behind a lost one",
			frames: cat(framesOf(ethernet, segs(hs, g1)...),
				[]frame{snapped(ethernet, parts[2], ethHeader+ipTCPHeaders+250)},
				framesOf(ethernet, parts[0], parts[3])),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(body[:100]), g(200), d(body[300:550]), g(350), d(body[900:])},
				s: []piece{d(greeting)}, packets: 7, end: reassembly.EndOpen,
			}},
		})
		c = pcapgen.NewConn(client6, server6, t0)
		hs = c.Handshake()
		big := c.FromClient([]byte(body))
		add(assembleCase{
			name: "IPv6 packet cut right after the TCP header",
			frames: cat(framesOf(ethernet, hs...), []frame{snapped(ethernet, big, ethHeader+60)},
				framesOf(ethernet, c.FromClient([]byte(".\r\n")))),
			want: []wantConn{{
				id: 1, client: client6, server: server6, sides: reassembly.SidesBySYN,
				c: []piece{g(len(body)), d(".\r\n")}, packets: 5, end: reassembly.EndOpen,
			}},
		})
	}
	{
		// The cut count must leave out the hop-by-hop header.
		c := pcapgen.NewConn(client6, server6, t0)
		hs := c.Handshake()
		big := c.FromClient([]byte(body))
		add(assembleCase{
			name: "IPv6 packet with a hop-by-hop header cut by the snap length",
			frames: cat(framesOf(ethernet, hs...),
				[]frame{{capture.LinkEthernet, pcapgen.Frame(ethernet, withHopByHop(pcapgen.IPPacket(big)))[:ethHeader+40+8+20+300], big.Time}},
				framesOf(ethernet, c.FromClient([]byte(".\r\n")))),
			want: []wantConn{{
				id: 1, client: client6, server: server6, sides: reassembly.SidesBySYN,
				c: []piece{d(body[:300]), g(len(body) - 300), d(".\r\n")}, packets: 5, end: reassembly.EndOpen,
			}},
		})
	}
	{
		c := pcapgen.NewConn(client4, server4, t0)
		before := segs(c.Handshake(), c.FromServer([]byte(greeting)))
		big := c.FromClient([]byte(body))
		after := framesOf(ethernet, c.FromServer([]byte(ok)))
		frags := fragments(ethernet, big, 576, nil)
		// The second fragment again, with other bytes at the same place
		// and one more 8-byte unit: it overlaps the first copy.
		bad := pcapgen.FragmentIPv4(pcapgen.IPPacket(big), 584)
		conflict := frame{capture.LinkEthernet, pcapgen.Frame(ethernet, bad[1]), big.Time}
		add(assembleCase{
			name:   "IPv4 fragments that contradict each other",
			frames: cat(framesOf(ethernet, before...), frags[:2], []frame{conflict}, frags[2:], after),
			want: []wantConn{{
				id: 1, client: client4, server: server4, sides: reassembly.SidesBySYN,
				s: []piece{d(greeting + ok)}, packets: 5, end: reassembly.EndOpen,
			}},
			counters: &reassembly.Counters{Packets: int64(5 + len(frags) + 1), Selected: 5, Malformed: 1, Fragments: int64(len(frags) + 1), Connections: 1},
		})

		// A datagram whose fragments hold no whole TCP header.
		tiny := c.FromClient(nil)
		ip := pcapgen.IPPacket(tiny)
		ip = ip[:len(ip)-4] // TCP header cut to 16 bytes
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		ip[10], ip[11] = 0, 0
		cut := pcapgen.FragmentIPv4(ip, 28)
		udp := udpFrame(t0).data[ethHeader:]
		udp = append(udp, bytes.Repeat([]byte("x"), 100)...)
		binary.BigEndian.PutUint16(udp[2:], uint16(len(udp)))
		binary.BigEndian.PutUint16(udp[24:], uint16(len(udp)-20))
		var fr []frame
		for _, f := range slices.Concat(cut, pcapgen.FragmentIPv4(udp, 60)) {
			fr = append(fr, frame{capture.LinkRaw, f, t0})
		}
		add(assembleCase{
			name:   "IPv4 fragments of a broken TCP header and of UDP",
			frames: fr,
			// The first TCP fragment waits, the second completes a
			// datagram too short for TCP; each UDP fragment is other.
			counters: &reassembly.Counters{Packets: 6, Malformed: 1, Other: 4, Fragments: 6},
		})
	}
	{
		server := netip.MustParseAddrPort("192.0.2.25:2525")
		c := pcapgen.NewConn(client4, server, t0)
		more := func(client, server []byte) reassembly.Verdict { return reassembly.VerdictMore }
		add(assembleCase{
			name: "Detect undecided after DetectBytes drops the connection",
			opts: reassembly.Options{Ports: smtpPorts, Detect: more},
			frames: framesOf(ethernet, segs(c.Handshake(), c.FromServer([]byte(greeting)),
				c.FromClient([]byte(body)), c.FromClient([]byte(body)), c.FromServer([]byte(ok)))...),
			counters: &reassembly.Counters{Packets: 7, Selected: 5, Other: 2},
		})
	}
	{
		// Three connections end in the same Flush.
		var want []wantConn
		var mixed []pcapgen.Segment
		var per [][]pcapgen.Segment
		for i := range 3 {
			client := netip.AddrPortFrom(client4.Addr(), uint16(40010+i))
			c := pcapgen.NewConn(client, server4, t0.Add(time.Duration(i)*100*time.Microsecond))
			per = append(per, segs(c.Handshake(), c.FromServer([]byte(greeting)), c.FromClient([]byte(ehlo))))
			want = append(want, wantConn{
				id: int64(i + 1), client: client, server: server4, sides: reassembly.SidesBySYN,
				c: []piece{d(ehlo)}, s: []piece{d(greeting)}, packets: 5, end: reassembly.EndOpen,
			})
		}
		for j := range per[0] {
			for i := range per {
				mixed = append(mixed, per[i][j])
			}
		}
		add(assembleCase{
			name:   "three connections closed by Flush in order",
			frames: framesOf(ethernet, mixed...),
			want:   want,
			check: func(t *testing.T, r *recorder) {
				if !slices.Equal(r.closeOrder, []int64{1, 2, 3}) {
					t.Errorf("Close order %v, want [1 2 3]", r.closeOrder)
				}
			},
		})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			if opts.Ports == nil {
				opts.Ports = smtpPorts
			}
			r, counters := run(opts, c.frames)
			checkConns(t, r, c.want)
			if c.counters != nil && counters != *c.counters {
				t.Errorf("counters %+v, want %+v", counters, *c.counters)
			}
			if c.check != nil {
				c.check(t, r)
			}
		})
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct {
		got  fmt.Stringer
		want string
	}{
		{reassembly.FromClient, "client"}, {reassembly.FromServer, "server"},
		{reassembly.EndOpen, "open"}, {reassembly.EndFIN, "fin"}, {reassembly.EndRST, "rst"},
		{reassembly.SidesBySYN, "syn"}, {reassembly.SidesByContent, "content"}, {reassembly.SidesByPort, "port"},
	} {
		if s := tc.got.String(); s != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.got, s, tc.want)
		}
	}
}
