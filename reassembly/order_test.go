package reassembly_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// TestFlushOrder checks that the Handler calls of connections released by
// one flush come connection by connection in the order of their first
// packets, the same on every run, whatever order gopacket keeps them in.
func TestFlushOrder(t *testing.T) {
	// Even connections open with a handshake and get their IDs (1 to 4)
	// then; odd ones are seen from a bare ACK on and get theirs (5 to 8)
	// when the flush releases their first bytes.
	const conns = 8
	var frames []frame
	// released returns what the flush releases when the odd connections
	// get IDs from midID on.
	released := func(midID int) []string {
		var out, closes []string
		for i := range conns {
			id, gap := 1+i/2, 21
			if i%2 == 1 {
				id, gap = midID+i/2, 31
			}
			out = append(out, fmt.Sprintf("%d gap client %d", id, gap), fmt.Sprintf("%d data client %d", id, len(rcptTo)))
			closes = append(closes, fmt.Sprintf("%d close", id))
		}
		return append(out, closes...)
	}
	for i := range conns {
		client := netip.AddrPortFrom(client4.Addr(), uint16(41000+i))
		c := pcapgen.NewConn(client, server4, t0.Add(time.Duration(i)*time.Millisecond))
		hs := c.Handshake()
		if i%2 == 1 {
			ack := c.Ack(true)
			// The client's first two pieces are lost: the third waits.
			parts := c.Split(c.FromClient([]byte(mailFrom+rcptTo)), 10, 21)
			frames = append(frames, framesOf(ethernet, ack, parts[2])...)
			continue
		}
		s := segs(hs, c.FromServer([]byte(greeting)))
		// The client's second piece is lost: the third waits.
		parts := c.Split(c.FromClient([]byte(mailFrom+rcptTo)), 10, 21)
		frames = append(frames, framesOf(ethernet, segs(s, parts[0], parts[2])...)...)
	}
	// One more connection a minute later reaches GapTimeout and
	// IdleTimeout of all the others. Its SYN comes before the flush it
	// causes: it is number 5.
	late := pcapgen.NewConn(netip.MustParseAddrPort("192.0.2.99:42000"), server4, t0.Add(time.Minute))
	idleFrames := append(slices.Clip(frames), framesOf(ethernet, late.Handshake()...)...)

	for _, tc := range []struct {
		name    string
		opts    reassembly.Options
		frames  []frame
		flushAt int // packet index of the flush that releases them
		want    []string
	}{
		{"Flush", reassembly.Options{Ports: smtpPorts}, frames, afterFlush, released(5)},
		{"GapTimeout and IdleTimeout", reassembly.Options{Ports: smtpPorts, IdleTimeout: 30 * time.Second}, idleFrames, len(frames), released(6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first []logEntry
			for n := range 20 {
				r, _ := run(tc.opts, tc.frames)
				if n > 0 {
					if !slices.Equal(r.log, first) {
						t.Fatalf("run %d differs from run 0:\n%v\nvs\n%v", n, r.log, first)
					}
					continue
				}
				first = r.log
				// Released: a gap and data per connection, then the
				// closes, all in the order of the first packets.
				var got []string
				for _, e := range r.log {
					if e.at == tc.flushAt && !strings.HasPrefix(e.what, "new") {
						got = append(got, fmt.Sprintf("%d %s", e.id, e.what))
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("released:\n%q\nwant\n%q", got, tc.want)
				}
			}
		})
	}
}
