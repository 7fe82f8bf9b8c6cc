package reassembly_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
	"github.com/smtpscope/smtpscope/reassembly"
)

// randomSizes cuts n bytes into segment sizes, mostly small.
func randomSizes(rng *rand.Rand, n int) []int {
	var sizes []int
	for n > 0 {
		var k int
		switch rng.IntN(4) {
		case 0:
			k = 1 + rng.IntN(8)
		case 1, 2:
			k = 1 + rng.IntN(200)
		default:
			k = 1 + rng.IntN(1460)
		}
		k = min(k, n)
		sizes = append(sizes, k)
		n -= k
	}
	return sizes
}

// shuffleWindow moves each segment by at most window places.
func shuffleWindow(rng *rand.Rand, segs []pcapgen.Segment, window int) {
	for i := range segs {
		j := i + rng.IntN(min(window, len(segs)-i))
		segs[i], segs[j] = segs[j], segs[i]
	}
}

// TestReassemblyProperty checks, over many seeded random connections, that
// random segmentation, reordering within a window and duplication change
// nothing in the delivered bytes and report no gap.
func TestReassemblyProperty(t *testing.T) {
	links := []pcapgen.Link{
		ethernet,
		{Type: pcapgen.LinkEthernet, VLANs: []uint16{7}},
		{Type: pcapgen.LinkLinuxSLL2},
		{Type: pcapgen.LinkRaw},
	}
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		client, server := client4, server4
		if rng.IntN(3) == 0 {
			client, server = client6, server6
		}
		client = netip.AddrPortFrom(client.Addr(), uint16(1024+rng.IntN(60000)))
		c := pcapgen.NewConn(client, server, t0)
		cs, ss := rng.Uint32(), rng.Uint32()
		if rng.IntN(4) == 0 {
			cs, ss = -uint32(rng.IntN(30000)), -uint32(rng.IntN(30000)) // wrap inside the data
		}
		c.SetSeqs(cs, ss)
		hs := c.Handshake()

		var sent [2][]byte
		var data [2][]pcapgen.Segment
		for dir := range 2 {
			sent[dir] = make([]byte, rng.IntN(20000))
			for i := range sent[dir] {
				sent[dir][i] = byte(rng.Uint32())
			}
			rest := sent[dir]
			for _, n := range randomSizes(rng, len(rest)) {
				if dir == 0 {
					data[dir] = append(data[dir], c.FromClient(rest[:n]))
				} else {
					data[dir] = append(data[dir], c.FromServer(rest[:n]))
				}
				rest = rest[n:]
			}
		}
		// Merge the directions, then reorder and duplicate.
		var mixed []pcapgen.Segment
		for len(data[0])+len(data[1]) > 0 {
			dir := rng.IntN(2)
			if len(data[dir]) == 0 {
				dir = 1 - dir
			}
			mixed = append(mixed, data[dir][0])
			data[dir] = data[dir][1:]
		}
		shuffleWindow(rng, mixed, 1+rng.IntN(16))
		mixed = pcapgen.Duplicate(rng, mixed, rng.Float64()*0.3)
		all := segs(hs, mixed, c.ClientFIN(), c.ServerFIN())

		r, _ := run(reassembly.Options{Ports: []uint16{server.Port()}}, framesOf(links[rng.IntN(len(links))], all...))
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d: %s", seed, fmt.Sprintf(format, args...))
		}
		if len(r.conns) != 1 {
			fail("%d connections, want 1", len(r.conns))
		}
		rc := r.conns[0]
		if rc.closes != 1 || len(rc.errs) > 0 {
			fail("Close called %d times; errors %q", rc.closes, rc.errs)
		}
		for dir := range 2 {
			got, gaps := rc.bytesOf(reassembly.Dir(dir))
			if len(gaps) > 0 {
				fail("%v: gaps %v", reassembly.Dir(dir), gaps)
			}
			if !bytes.Equal(got, sent[dir]) {
				fail("%v: got %d bytes, want %d (first difference at %d)", reassembly.Dir(dir), len(got), len(sent[dir]), firstDiff(got, sent[dir]))
			}
		}
		want := reassembly.ConnStats{Packets: len(all), Bytes: [2]int64{int64(len(sent[0])), int64(len(sent[1]))}, End: reassembly.EndFIN}
		if rc.stats != want {
			fail("stats %+v, want %+v", rc.stats, want)
		}
		if rc.conn.Client != client || rc.conn.Server != server || rc.conn.Sides != reassembly.SidesBySYN {
			fail("Conn %+v", rc.conn)
		}
	}
}

// firstDiff returns the index of the first byte where a and b differ.
func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
