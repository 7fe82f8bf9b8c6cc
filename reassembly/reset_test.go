package reassembly_test

import (
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// TestReuseAfterReset: a client that resets its connection (the server never
// sends FIN) and connects again from the same port, as Postfix's smtp-source
// does, gets a new connection each time; what the server sent after the RST
// reached it belongs to the old one and starts nothing.
func TestReuseAfterReset(t *testing.T) {
	var frames []frame
	for i := range 3 {
		c := pcapgen.NewConn(client4, server4, t0.Add(time.Duration(i)*20*time.Second))
		c.SetSeqs(uint32(1000*i+1), uint32(5000*i+7)) // a new ISN each time
		frames = append(frames, framesOf(ethernet, segs(c.Handshake(), c.FromServer([]byte(greeting)),
			c.FromClient([]byte(ehlo)), c.ClientRST(), c.FromServer([]byte(ehloOK)))...)...)
	}
	r, counters := run(reassembly.Options{Ports: smtpPorts}, frames)
	if len(r.conns) != 3 || counters.Connections != 3 {
		t.Fatalf("%d connections, want 3", len(r.conns))
	}
	for i, c := range r.conns {
		if c.stats.End != reassembly.EndRST || c.conn.ID != int64(i+1) || c.conn.Sides != reassembly.SidesBySYN {
			t.Errorf("connection %d: %+v ended %v", i, c.conn, c.stats.End)
		}
		if got := c.stream(reassembly.FromClient); len(got) != 1 || got[0].data != ehlo {
			t.Errorf("connection %d sent %v", i, got)
		}
	}
}
