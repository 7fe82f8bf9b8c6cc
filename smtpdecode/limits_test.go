package smtpdecode

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// allocated returns how many bytes f allocates on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// textLines returns n bytes of 80-column lines (78 characters and CRLF).
func textLines(n int) []byte {
	line := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 2)[:78] + "\r\n")
	return bytes.Repeat(line, n/len(line)+1)[:n]
}

// TestMessageMemoryBounded sends a 50 MB message through DATA in 64 KiB
// pieces: what the decoder allocates must not grow with the message.
func TestMessageMemoryBounded(t *testing.T) {
	const size, piece = 50 << 20, 64 << 10
	body := textLines(piece / 80 * 80) // whole lines, just under 64 KiB
	d := New(testConn, Options{})
	d.Feed(FromServer, []byte("220 mx ESMTP\r\n"), t0)
	d.Feed(FromClient, []byte("HELO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"), t0)
	d.Feed(FromServer, []byte("250 mx\r\n250 ok\r\n250 ok\r\n354 go\r\n"), t0)
	var fed int64
	alloc := allocated(func() {
		for fed < size {
			d.Feed(FromClient, body, t0)
			fed += int64(len(body))
		}
		d.Feed(FromClient, []byte(".\r\n"), t0)
	})
	d.Feed(FromServer, []byte("250 queued\r\n"), t0)
	s := d.Close(t0, ClosedFIN)
	if alloc > 1<<20 {
		t.Errorf("a %d-byte message allocated %d bytes", fed, alloc)
	}
	if len(s.Commands) != 5 {
		t.Fatalf("%d commands:\n%s", len(s.Commands), dump(s))
	}
	m := s.Commands[4].Message
	if m == nil || m.Bytes != fed || m.Lines != fed/80 || !m.Terminated || s.Commands[4].Reply == nil {
		t.Errorf("message %+v of %d bytes:\n%s", m, fed, dump(s))
	}
}

// TestCommandFloodBounded sends a million commands the server never
// answers: the session keeps MaxCommands of them and counts the rest, and
// the queue of commands awaiting replies stays within MaxPending.
func TestCommandFloodBounded(t *testing.T) {
	const n = 1_000_000
	o := Options{}
	d := New(testConn, o)
	o = d.opts
	d.Feed(FromServer, []byte("220 mx ESMTP\r\n"), t0)
	flood := bytes.Repeat([]byte("NOOP\r\n"), 10000)
	for range n / 10000 {
		for p := flood; len(p) > 0; {
			k := min(64<<10, len(p))
			d.Feed(FromClient, p[:k], t0)
			p = p[k:]
		}
		if len(d.pending) > o.MaxPending || cap(d.pending) > 4*o.MaxPending {
			t.Fatalf("pending: %d, capacity %d, MaxPending %d", len(d.pending), cap(d.pending), o.MaxPending)
		}
	}
	s := d.Close(t0, ClosedFIN)
	if len(s.Commands) != o.MaxCommands || s.DroppedCommands != n-o.MaxCommands {
		t.Errorf("%d commands kept, %d dropped; want %d and %d", len(s.Commands), s.DroppedCommands, o.MaxCommands, n-o.MaxCommands)
	}
}

// TestHoldOverflowLinear: a client that sends AUTH after AUTH and a server
// that never answers. Past MaxHold the held bytes are read as if the server
// had said yes; they must not be held, copied and read again for every
// piece that follows (that made 1.6 MB take seconds).
func TestHoldOverflowLinear(t *testing.T) {
	flood := bytes.Repeat([]byte("AUTH x\r\n"), 200_000)
	d := New(testConn, Options{MaxCommands: 10})
	d.Feed(FromServer, []byte("220 mx ESMTP\r\n"), t0)
	alloc := allocated(func() {
		for p := flood; len(p) > 0; {
			k := min(1460, len(p))
			d.Feed(FromClient, p[:k], t0)
			p = p[k:]
		}
	})
	if limit := uint64(16 * len(flood)); alloc > limit {
		t.Errorf("%d bytes allocated for %d bytes fed, want at most %d", alloc, len(flood), limit)
	}
	s := d.Close(t0, ClosedFIN)
	if got := len(s.Commands) + s.DroppedCommands; got != 200_000 {
		t.Errorf("%d turns, want 200000", got)
	}
}

// TestLongInputBounded: an endless line and an endless multi-line reply.
func TestLongInputBounded(t *testing.T) {
	d := New(testConn, Options{MaxLine: 100})
	d.Feed(FromServer, []byte("220 mx ESMTP\r\n"), t0)
	long := bytes.Repeat([]byte("x"), 1<<20)
	lines := bytes.Repeat([]byte("250-extension\r\n"), 10000)
	alloc := allocated(func() {
		d.Feed(FromClient, []byte("EHLO "), t0)
		for range 10 {
			d.Feed(FromClient, long, t0)
		}
		d.Feed(FromClient, []byte("\r\nQUIT\r\n"), t0)
		d.Feed(FromServer, lines, t0)
	})
	d.Feed(FromServer, []byte("250 end\r\n221 bye\r\n"), t0)
	s := d.Close(t0, ClosedFIN)
	if alloc > 1<<20 {
		t.Errorf("%d bytes allocated", alloc)
	}
	if len(s.Commands) != 2 || len(s.Commands[0].Line) != 100 || s.Commands[1].Verb != "QUIT" {
		t.Fatalf("commands:\n%s", dump(s))
	}
	r := s.Commands[0].Reply
	if r == nil || len(r.Lines) != maxReplyLines || r.Code != 250 || s.Commands[1].Reply == nil || s.Commands[1].Reply.Code != 221 {
		t.Errorf("replies:\n%s", dump(s))
	}
}
