package pcapgen_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/internal/pcapgen"
)

func TestConnSequence(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, start)
	ci, si := c.Seqs()
	if c2 := pcapgen.NewConn(client4, server4, start); fmt.Sprint(c2.Seqs()) != fmt.Sprint(ci, si) {
		t.Errorf("initial sequence numbers are not deterministic")
	}
	if c3 := pcapgen.NewConn(client6, server6, start); fmt.Sprint(c3.Seqs()) == fmt.Sprint(ci, si) {
		t.Errorf("different addresses give the same initial sequence numbers")
	}
	if ci == si {
		t.Errorf("both directions start at %d", ci)
	}

	hs := c.Handshake()
	want := []struct {
		src      bool // from client
		seq, ack uint32
		flags    pcapgen.Flags
	}{
		{true, ci, 0, pcapgen.SYN},
		{false, si, ci + 1, pcapgen.SYN | pcapgen.ACK},
		{true, ci + 1, si + 1, pcapgen.ACK},
	}
	for i, w := range want {
		s := hs[i]
		if (s.Src == client4) != w.src || s.Seq != w.seq || s.Ack != w.ack || s.Flags != w.flags {
			t.Errorf("handshake %d: %v seq %d ack %d flags %05b, want client=%v %d %d %05b", i, s.Src, s.Seq, s.Ack, s.Flags, w.src, w.seq, w.ack, w.flags)
		}
		if wt := start.Add(time.Duration(i) * time.Millisecond); !s.Time.Equal(wt) {
			t.Errorf("handshake %d at %v, want %v", i, s.Time, wt)
		}
	}

	c.Step = 5 * time.Second
	d := c.FromClient([]byte("EHLO x\r\n"))
	if d.Seq != ci+1 || d.Ack != si+1 || d.Flags != pcapgen.PSH|pcapgen.ACK || d.Src != client4 || d.Dst != server4 {
		t.Errorf("FromClient: %+v", d)
	}
	r := c.FromServer([]byte("250 ok\r\n"))
	if r.Seq != si+1 || r.Ack != ci+9 || r.Src != server4 {
		t.Errorf("FromServer: %+v", r)
	}
	if r.Time.Sub(d.Time) != 5*time.Second {
		t.Errorf("step not applied: %v then %v", d.Time, r.Time)
	}
	fin := c.ClientFIN()
	if fin.Seq != ci+9 || fin.Flags != pcapgen.FIN|pcapgen.ACK {
		t.Errorf("ClientFIN: %+v", fin)
	}
	ack := c.Ack(false)
	if ack.Seq != si+9 || ack.Ack != ci+10 || ack.Flags != pcapgen.ACK || ack.Src != server4 {
		t.Errorf("Ack(false): %+v", ack)
	}
	sfin := c.ServerFIN()
	if sfin.Seq != si+9 || sfin.Ack != ci+10 {
		t.Errorf("ServerFIN: %+v", sfin)
	}
	rst := c.ClientRST()
	if rst.Seq != ci+10 || rst.Ack != si+10 || rst.Flags != pcapgen.RST|pcapgen.ACK {
		t.Errorf("ClientRST: %+v", rst)
	}
	if nc, ns := c.Seqs(); nc != ci+10 || ns != si+10 {
		t.Errorf("Seqs after close: %d %d", nc, ns)
	}
}

func TestConnWithoutHandshake(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, start)
	c.SetSeqs(0xfffffff0, 7)
	s := c.FromClient(bytes.Repeat([]byte("x"), 40))
	if s.Seq != 0xfffffff0 || s.Ack != 7 {
		t.Errorf("first segment seq %d ack %d", s.Seq, s.Ack)
	}
	if next, _ := c.Seqs(); next != 0x18 {
		t.Errorf("sequence did not wrap: %#x", next)
	}
	checkFrame(t, pcapgen.IPPacket(s), pcapgen.LinkRaw, s)
}

func TestSplit(t *testing.T) {
	c := pcapgen.NewConn(client4, server4, start)
	data := []byte("0123456789abcdefghij")
	s := c.FromClient(data)
	for _, tc := range []struct {
		sizes []int
		want  []string
	}{
		{nil, []string{"0123456789abcdefghij"}},
		{[]int{3}, []string{"012", "3456789abcdefghij"}},
		{[]int{3, 4}, []string{"012", "3456", "789abcdefghij"}},
		{[]int{10, 10}, []string{"0123456789", "abcdefghij"}},
		{[]int{15, 10, 10}, []string{"0123456789abcde", "fghij"}},
		{[]int{1, 1, 1}, []string{"0", "1", "2", "3456789abcdefghij"}},
	} {
		pieces := c.Split(s, tc.sizes...)
		var got []string
		seq := s.Seq
		for i, p := range pieces {
			got = append(got, string(p.Payload))
			if p.Seq != seq {
				t.Errorf("%v: piece %d seq %d, want %d", tc.sizes, i, p.Seq, seq)
			}
			seq += uint32(len(p.Payload))
			wantFlags := pcapgen.ACK
			if i == len(pieces)-1 {
				wantFlags |= pcapgen.PSH
			}
			if p.Flags != wantFlags || !p.Time.Equal(s.Time) || p.Ack != s.Ack || p.Src != s.Src {
				t.Errorf("%v: piece %d: %+v", tc.sizes, i, p)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Split(%v) = %q, want %q", tc.sizes, got, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Errorf("Split with size 0 did not panic")
		}
	}()
	c.Split(s, 0)
}

// TestStreamRecoverable checks that splitting, reordering and duplicating
// segments keeps each direction's byte stream recoverable, and that dropping a
// segment leaves a gap exactly where it was.
func TestStreamRecoverable(t *testing.T) {
	for seed := range uint64(64) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		c := pcapgen.NewConn(client6, server6, start)
		if seed%2 == 1 {
			c.SetSeqs(0xffffff00+uint32(seed), 0xfffffff0) // wrap inside the stream
		}
		cISN, sISN := c.Seqs()
		segs := c.Handshake()
		var sent, recv []byte
		for range 20 {
			data := make([]byte, 1+rng.IntN(300))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			var s pcapgen.Segment
			if rng.IntN(2) == 0 {
				s = c.FromClient(data)
				sent = append(sent, data...)
			} else {
				s = c.FromServer(data)
				recv = append(recv, data...)
			}
			sizes := make([]int, rng.IntN(4))
			for i := range sizes {
				sizes[i] = 1 + rng.IntN(100)
			}
			segs = append(segs, c.Split(s, sizes...)...)
		}
		segs = append(segs, c.ClientFIN(), c.ServerFIN())

		mixed := pcapgen.Duplicate(rng, pcapgen.Shuffle(rng, segs), 0.3)
		if len(mixed) < len(segs) {
			t.Fatalf("seed %d: Duplicate lost segments", seed)
		}
		if got, gap := stream(mixed, client6, cISN+1); gap || !bytes.Equal(got, sent) {
			t.Errorf("seed %d: client stream not recovered (gap %v, %d of %d bytes)", seed, gap, len(got), len(sent))
		}
		if got, gap := stream(mixed, server6, sISN+1); gap || !bytes.Equal(got, recv) {
			t.Errorf("seed %d: server stream not recovered (gap %v, %d of %d bytes)", seed, gap, len(got), len(recv))
		}

		// Drop the first client data segment: the stream must stop before it.
		for i, s := range segs {
			if s.Src == client6 && len(s.Payload) > 0 {
				got, gap := stream(pcapgen.Drop(segs, i), client6, cISN+1)
				if want := int(s.Seq - (cISN + 1)); !gap || len(got) != want || !bytes.Equal(got, sent[:want]) {
					t.Errorf("seed %d: after Drop got %d bytes (gap %v), want %d", seed, len(got), gap, want)
				}
				break
			}
		}
	}
}

func TestShuffleDuplicateDeterministic(t *testing.T) {
	segs := session(pcapgen.NewConn(client4, server4, start))
	orig := slices.Clone(segs)
	run := func() ([]pcapgen.Segment, []pcapgen.Segment) {
		rng := rand.New(rand.NewPCG(1, 2))
		return pcapgen.Shuffle(rng, segs), pcapgen.Duplicate(rng, segs, 0.5)
	}
	a1, b1 := run()
	a2, b2 := run()
	key := func(ss []pcapgen.Segment) string {
		var b bytes.Buffer
		for _, s := range ss {
			fmt.Fprintf(&b, "%v>%v %d %d %d %q;", s.Src, s.Dst, s.Seq, s.Ack, s.Flags, s.Payload)
		}
		return b.String()
	}
	if key(a1) != key(a2) || key(b1) != key(b2) {
		t.Errorf("not deterministic for the same seed")
	}
	if key(segs) != key(orig) {
		t.Errorf("input was modified")
	}
	if len(a1) != len(segs) || len(b1) <= len(segs) {
		t.Errorf("lengths: shuffle %d, duplicate %d, input %d", len(a1), len(b1), len(segs))
	}
	if len(pcapgen.Duplicate(rand.New(rand.NewPCG(1, 2)), segs, 0)) != len(segs) {
		t.Errorf("Duplicate with p=0 added segments")
	}
	if d := pcapgen.Duplicate(rand.New(rand.NewPCG(1, 2)), segs, 1); len(d) != 2*len(segs) {
		t.Errorf("Duplicate with p=1 gave %d segments", len(d))
	} else {
		// Each segment is there twice, and the first occurrences keep the
		// original order (copies come after their original).
		seen := map[string]int{}
		var firsts []pcapgen.Segment
		for _, s := range d {
			k := key([]pcapgen.Segment{s})
			if seen[k] == 0 {
				firsts = append(firsts, s)
			}
			seen[k]++
		}
		for _, s := range segs {
			if seen[key([]pcapgen.Segment{s})] != 2 {
				t.Errorf("segment %d not duplicated once", s.Seq)
			}
		}
		if key(firsts) != key(segs) {
			t.Errorf("a copy came before its original")
		}
	}
	if d := pcapgen.Drop(segs, 2); len(d) != len(segs)-1 || d[2].Seq != segs[3].Seq || key(segs) != key(orig) {
		t.Errorf("Drop wrong or modified its input")
	}
}
