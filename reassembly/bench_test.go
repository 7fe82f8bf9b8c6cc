package reassembly_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// countHandler counts delivered bytes and nothing else.
type countHandler struct{ n *int64 }

func (h countHandler) Data(_ reassembly.Dir, p []byte, _ time.Time) { *h.n += int64(len(p)) }
func (h countHandler) Gap(reassembly.Dir, int, time.Time)           {}
func (h countHandler) Close(time.Time, reassembly.ConnStats)        {}

// BenchmarkAssemblerInOrder runs 64 interleaved connections, each sending
// 64 segments of 1400 bytes from the client and 16 of 200 bytes back, in
// order over Ethernet and IPv4, through a new Assembler per iteration.
// Bytes per op are the payload bytes.
func BenchmarkAssemblerInOrder(b *testing.B) {
	const conns = 64
	chunk := []byte(body[:1400])
	reply := []byte(body[:200])
	var per [conns][]pcapgen.Segment
	var payload int64
	for i := range conns {
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), uint16(40000+i))
		c := pcapgen.NewConn(client, server4, t0)
		c.Step = time.Microsecond
		s := c.Handshake()
		for j := range 64 {
			s = append(s, c.FromClient(chunk))
			payload += int64(len(chunk))
			if j%4 == 3 {
				s = append(s, c.FromServer(reply))
				payload += int64(len(reply))
			}
		}
		per[i] = append(s, c.ClientFIN(), c.ServerFIN(), c.Ack(true))
	}
	// Round-robin over the connections.
	var all []pcapgen.Segment
	for j := 0; ; j++ {
		added := false
		for i := range conns {
			if j < len(per[i]) {
				all = append(all, per[i][j])
				added = true
			}
		}
		if !added {
			break
		}
	}
	frames := framesOf(ethernet, all...)

	var got int64
	newHandler := func(reassembly.Conn) reassembly.Handler { return countHandler{&got} }
	b.SetBytes(payload)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got = 0
		a := reassembly.New(newHandler, reassembly.Options{Ports: smtpPorts})
		for _, f := range frames {
			a.Packet(f.link, f.data, f.ts)
		}
		a.Flush()
		if got != payload {
			b.Fatalf("delivered %d bytes, want %d", got, payload)
		}
	}
}
