package smtpdecode

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzDecoder feeds a client and a server byte string interleaved in pieces
// chosen by seed, with gaps now and then and sometimes tight Options. The
// decoder must not panic, must keep its bounds, and must decode the same
// records the same way however their bytes are cut.
func FuzzDecoder(f *testing.F) {
	for _, path := range transcriptFiles(f) {
		tr := readTranscript(f, path)
		var streams [2][]byte
		for _, r := range tr.records {
			if r.kind == recData {
				streams[r.dir] = append(streams[r.dir], r.data...)
			}
		}
		for seed := range uint64(3) {
			f.Add(streams[FromClient], streams[FromServer], seed)
		}
	}
	f.Fuzz(func(t *testing.T, client, server []byte, seed uint64) {
		tr := schedule(client, server, seed)
		want := checkedPlay(t, tr, splitWhole)
		checkSession(t, tr, want, client, server)
		wantDump := dump(want)
		for _, m := range []splitMode{
			{"lines", func() splitter { return splitLines }},
			{"random", func() splitter { return splitRandom(seed) }},
		} {
			if got := dump(checkedPlay(t, tr, m.split())); got != wantDump {
				t.Fatalf("%s: session differs from whole records:\n%s", m.name, lineDiff(wantDump, got))
			}
		}
	})
}

// schedule turns two streams into interleaved records, with gaps and
// Options, all chosen by seed.
func schedule(client, server []byte, seed uint64) *transcript {
	r := rand.New(rand.NewPCG(seed, 0xf022))
	tr := &transcript{}
	if r.IntN(2) == 0 {
		tr.opts = Options{
			MaxLine:     1 + r.IntN(64),
			MaxCommands: 1 + r.IntN(16),
			MaxPending:  1 + r.IntN(8),
			MaxHold:     1 + r.IntN(128),
		}
	}
	streams := [2][]byte{client, server}
	var clock time.Duration
	for len(streams[0]) > 0 || len(streams[1]) > 0 {
		clock += time.Duration(r.IntN(3)) * time.Millisecond
		dir := Direction(r.IntN(2))
		if len(streams[dir]) == 0 {
			dir = 1 - dir
		}
		if r.IntN(16) == 0 {
			tr.records = append(tr.records, record{kind: recGap, dir: Direction(r.IntN(2)), gap: r.IntN(40) - 1, at: clock})
		}
		n := 1 + r.IntN(min(len(streams[dir]), 120))
		tr.records = append(tr.records, record{kind: recData, dir: dir, data: streams[dir][:n], at: clock})
		streams[dir] = streams[dir][n:]
	}
	tr.records = append(tr.records, record{kind: recClose, how: Closed(r.IntN(3)), at: clock + time.Second})
	return tr
}

// checkedPlay is play with the decoder's bounds checked after every call.
func checkedPlay(t *testing.T, tr *transcript, split splitter) *Session {
	t.Helper()
	d := New(testConn, tr.opts)
	for _, r := range tr.records {
		ts := t0.Add(r.at)
		switch r.kind {
		case recData:
			for _, piece := range split(r.data) {
				d.Feed(r.dir, append([]byte(nil), piece...), ts)
				if err := checkBounds(d); err != nil {
					t.Fatalf("after %d bytes from %s: %v", len(piece), dirName(r.dir), err)
				}
			}
		case recGap:
			d.Gap(r.dir, r.gap, ts)
			if err := checkBounds(d); err != nil {
				t.Fatalf("after a gap: %v", err)
			}
		case recClose:
			return d.Close(ts, r.how)
		}
	}
	t.Fatal("no CLOSE")
	return nil
}

// checkBounds checks what a Decoder keeps between calls against its Options.
func checkBounds(d *Decoder) error {
	o := d.opts
	for dir, l := range d.lines {
		if len(l.buf) > o.MaxLine {
			return fmt.Errorf("%s line buffer holds %d bytes, MaxLine %d", dirName(Direction(dir)), len(l.buf), o.MaxLine)
		}
	}
	if d.holdLen > o.MaxHold {
		return fmt.Errorf("%d bytes held, MaxHold %d", d.holdLen, o.MaxHold)
	}
	held := 0
	for _, h := range d.heldInput() {
		held += len(h.p)
	}
	if held != d.holdLen {
		return fmt.Errorf("hold has %d bytes, holdLen says %d", held, d.holdLen)
	}
	if len(d.heldInput()) > 2*held+1 {
		return fmt.Errorf("hold has %d pieces for %d bytes", len(d.heldInput()), held)
	}
	if !d.awaiting && len(d.hold) > 0 {
		return fmt.Errorf("%d pieces held while not awaiting a reply", len(d.hold))
	}
	if len(d.pending) > o.MaxPending {
		return fmt.Errorf("%d commands pending, MaxPending %d", len(d.pending), o.MaxPending)
	}
	if len(d.s.Commands) > o.MaxCommands {
		return fmt.Errorf("%d commands kept, MaxCommands %d", len(d.s.Commands), o.MaxCommands)
	}
	if d.reply != nil && len(d.reply.Lines) > maxReplyLines {
		return fmt.Errorf("reply being framed has %d lines", len(d.reply.Lines))
	}
	awaits := 0
	for _, p := range d.pending {
		if p.await != awaitNothing {
			awaits++
		}
	}
	if awaits > 1 {
		return fmt.Errorf("%d pending commands await their reply", awaits)
	}
	return nil
}

// checkSession checks a Session against what was fed.
func checkSession(t *testing.T, tr *transcript, s *Session, client, server []byte) {
	t.Helper()
	if s.Bytes[FromClient] != int64(len(client)) || s.Bytes[FromServer] != int64(len(server)) {
		t.Fatalf("bytes %v, fed %d and %d", s.Bytes, len(client), len(server))
	}
	var missing [2]int64
	for _, r := range tr.records {
		if r.kind == recGap && r.gap > 0 {
			missing[r.dir] += int64(r.gap)
		}
	}
	if s.Missing != missing {
		t.Fatalf("missing %v, gaps of %v", s.Missing, missing)
	}
	for dir := range s.TLSBytes {
		if s.TLSBytes[dir] < 0 || s.TLSBytes[dir] > s.Bytes[dir] {
			t.Fatalf("TLS bytes %v of %v", s.TLSBytes, s.Bytes)
		}
	}
	if s.ImplicitTLS && !s.TLS {
		t.Fatal("implicit TLS without TLS")
	}
	o := New(Conn{}, tr.opts).opts
	if len(s.Commands) > o.MaxCommands {
		t.Fatalf("%d commands, MaxCommands %d", len(s.Commands), o.MaxCommands)
	}
	if s.End.Before(s.Start) {
		t.Fatalf("session ends %v before it starts %v", s.End, s.Start)
	}
	inSession := func(what string, ts time.Time) {
		if ts.Before(s.Start) || ts.After(s.End) {
			t.Fatalf("%s at %v, outside the session %v..%v", what, ts, s.Start, s.End)
		}
	}
	checkReply := func(what string, r *Reply) {
		inSession(what+" reply", r.Time)
		if len(r.Lines) == 0 || len(r.Lines) > maxReplyLines {
			t.Fatalf("%s reply with %d lines", what, len(r.Lines))
		}
		for _, l := range r.Lines {
			if len(l) > o.MaxLine {
				t.Fatalf("%s reply line of %d bytes, MaxLine %d", what, len(l), o.MaxLine)
			}
		}
		if r.Code < 0 || r.Code > 999 {
			t.Fatalf("%s reply code %d", what, r.Code)
		}
	}
	if s.Greeting != nil {
		checkReply("greeting", s.Greeting)
	}
	for i, c := range s.Commands {
		what := fmt.Sprintf("command %d", i+1)
		inSession(what, c.Time)
		if len(c.Line) > o.MaxLine {
			t.Fatalf("%s line of %d bytes, MaxLine %d", what, len(c.Line), o.MaxLine)
		}
		if c.Reply != nil {
			checkReply(what, c.Reply)
			if c.Reply.Time.Before(c.Time) && c.Kind != KindUnmatched {
				t.Fatalf("%s answered at %v before it was sent at %v", what, c.Reply.Time, c.Time)
			}
		}
		if c.Kind == KindUnmatched && c.Reply == nil {
			t.Fatalf("%s unmatched without a reply", what)
		}
		if m := c.Message; m != nil {
			if m.Bytes < 0 || m.Lines < 0 || m.Missing < 0 || m.Lines > m.Bytes {
				t.Fatalf("%s message %+v", what, *m)
			}
			if m.Missing > missing[FromClient] || m.Bytes > int64(len(client)) {
				t.Fatalf("%s message %+v from %d client bytes", what, *m, len(client))
			}
		}
	}
}
