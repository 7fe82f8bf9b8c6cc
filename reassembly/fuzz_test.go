package reassembly_test

import (
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// fuzzLinks are the link types FuzzPacket gives each input as, the last
// one unknown to the package.
var fuzzLinks = []capture.LinkType{
	capture.LinkEthernet, capture.LinkLinuxSLL, capture.LinkLinuxSLL2, capture.LinkNull,
	capture.LinkLoop, capture.LinkRaw, capture.LinkIPv4, capture.LinkIPv6, 147,
}

// FuzzPacket gives arbitrary bytes as a frame of every link type, twice, to
// an Assembler that also runs content detection: it must not panic, must
// count every packet once and must close every connection it reported
// exactly once.
func FuzzPacket(f *testing.F) {
	links := []pcapgen.Link{
		ethernet,
		{Type: pcapgen.LinkEthernet, VLANs: []uint16{100}},
		{Type: pcapgen.LinkEthernet, VLANs: []uint16{100, 200}},
		{Type: pcapgen.LinkLinuxSLL}, {Type: pcapgen.LinkLinuxSLL2},
		{Type: pcapgen.LinkNull}, {Type: pcapgen.LinkLoop}, {Type: pcapgen.LinkRaw},
	}
	for _, ends := range [][2]string{{"192.0.2.10:40000", "192.0.2.25:25"}, {"[2001:db8::10]:40001", "[2001:db8:1::25]:2525"}} {
		c := pcapgen.NewConn(mustAddrPort(ends[0]), mustAddrPort(ends[1]), t0)
		hs := c.Handshake()
		data := []pcapgen.Segment{hs[0], hs[1], c.FromServer([]byte(greeting)), c.FromClient([]byte(body)), c.ClientRST()}
		for _, l := range links {
			for _, p := range pcapgen.Packets(l, data...) {
				f.Add(p.Data)
				for _, n := range []int{len(p.Data) / 2, len(p.Data) - 1, 30, 58} {
					f.Add(pcapgen.Snap(p, n).Data)
				}
			}
		}
		if ends[0][0] != '[' {
			for _, frag := range pcapgen.FragmentIPv4(pcapgen.IPPacket(data[3]), 576) {
				f.Add(frag)
				f.Add(pcapgen.Frame(ethernet, frag))
			}
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x45})
	f.Add([]byte{0x60, 0, 0, 0, 0, 0, 0})

	detect := func(client, server []byte) reassembly.Verdict {
		switch {
		case len(client)+len(server) < 4:
			return reassembly.VerdictMore
		case (len(client)+len(server))%2 == 0:
			return reassembly.VerdictYes
		}
		return reassembly.VerdictNo
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		r := &recorder{}
		a := reassembly.New(r.newHandler, reassembly.Options{
			Ports: smtpPorts, Detect: detect, Role: roleOf, MaxBufferedPerConn: 4 * 1900,
		})
		buf := make([]byte, len(frame))
		for round := range 2 {
			for i, link := range fuzzLinks {
				r.at = round*len(fuzzLinks) + i
				copy(buf, frame)
				a.Packet(link, buf, t0.Add(time.Duration(r.at)*time.Millisecond))
				clear(buf) // the Assembler must not keep it
			}
		}
		r.at = afterFlush
		a.Flush()
		n := a.Counters()
		if n.Packets != int64(2*len(fuzzLinks)) || n.Selected+n.Other+n.Malformed > n.Packets || n.Fragments > n.Packets ||
			n.Connections != int64(len(r.conns)) {
			t.Errorf("counters %+v with %d connections", n, len(r.conns))
		}
		for _, c := range r.conns {
			if c.closes != 1 || len(c.errs) > 0 {
				t.Errorf("connection %d: %d Close calls, errors %q", c.conn.ID, c.closes, c.errs)
			}
			var bytes [2]int64
			for _, e := range c.events {
				if e.kind == 'D' {
					bytes[e.dir] += int64(len(e.data))
				}
			}
			if bytes != c.stats.Bytes {
				t.Errorf("connection %d: delivered %v bytes, stats say %v", c.conn.ID, bytes, c.stats.Bytes)
			}
		}
	})
}
