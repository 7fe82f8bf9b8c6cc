package reassembly_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// TestMaxConnections opens 50 connections with at most 10 tracked: past the
// cap the longest idle are closed as evicted, a tenth of the cap at a time,
// oldest first, and never more than the cap stay open. A connection that
// speaks again after its eviction comes back as a new one, mid-stream.
func TestMaxConnections(t *testing.T) {
	const n, max = 50, 10
	var frames []frame
	conns := make([]*pcapgen.Conn, n)
	for i := range n {
		client := netip.AddrPortFrom(client4.Addr(), uint16(40000+i))
		conns[i] = pcapgen.NewConn(client, server4, t0.Add(time.Duration(i)*time.Millisecond))
		frames = append(frames, framesOf(ethernet, segs(conns[i].Handshake(), conns[i].FromServer([]byte(greeting)))...)...)
	}
	conns[0].Now = t0.Add(time.Second)
	frames = append(frames, framesOf(ethernet, conns[0].FromClient([]byte(mailFrom)))...)

	r, counters := run(reassembly.Options{Ports: smtpPorts, MaxConnections: max}, frames)
	if len(r.conns) != n+1 {
		t.Fatalf("%d connections, want %d (the first one twice)", len(r.conns), n+1)
	}
	var evicted []int64
	for _, c := range r.conns {
		if c.closes != 1 || len(c.errs) > 0 {
			t.Fatalf("connection %d: %d closes, %v", c.conn.ID, c.closes, c.errs)
		}
		if c.stats.End == reassembly.EndEvicted {
			evicted = append(evicted, c.conn.ID)
			if c.closedAt == afterFlush {
				t.Errorf("connection %d evicted by the final flush", c.conn.ID)
			}
		}
	}
	// Every time an 11th is open, the oldest are closed until a tenth of
	// the cap is free: 11 -> 9.
	want, open := 0, 0
	for range n + 1 {
		if open++; open > max {
			want += open - (max - max/10)
			open = max - max/10
		}
	}
	if len(evicted) != want || counters.Evicted != int64(want) {
		t.Fatalf("evicted %v (counted %d), want %d", evicted, counters.Evicted, want)
	}
	for i, id := range evicted {
		if id != int64(i+1) {
			t.Fatalf("evicted %v: not the oldest first", evicted)
		}
	}
	for at := range frames {
		open := 0
		for _, c := range r.conns {
			if c.created <= at && (c.closedAt > at || c.closedAt == afterFlush) {
				open++
			}
		}
		if open > max {
			t.Fatalf("after packet %d, %d connections open", at, open)
		}
	}
	back := r.conns[len(r.conns)-1]
	if got := back.stream(reassembly.FromClient); back.conn.Client != conns[0].Client || len(got) != 1 || got[0].data != mailFrom {
		t.Errorf("the evicted connection's next bytes: %+v, %v", back.conn, back.stream(reassembly.FromClient))
	}
}
