package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWantProgress: a bar only for big input, on a terminal, without -q, and not drawn over a
// report on the same terminal. Test writers are not terminals.
func TestWantProgress(t *testing.T) {
	var out, errw bytes.Buffer
	for _, c := range []struct {
		quiet      bool
		total      int64
		stdoutUsed bool
	}{
		{false, 1 << 30, true},
		{false, 1 << 30, false},
		{true, 1 << 30, false},
		{false, 1 << 10, false},
	} {
		if wantProgress(c.quiet, c.total, c.stdoutUsed, &out, &errw) {
			t.Errorf("%+v: a bar on a writer that is not a terminal", c)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for the bar's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgressBar: the bar shows bytes read of the total, packets and sessions, and is
// cleared at the end.
func TestProgressBar(t *testing.T) {
	var w lockedBuffer
	p := startProgress(&w, 100<<20)
	r := p.reader(strings.NewReader(strings.Repeat("x", 50<<20)))
	buf := make([]byte, 1<<20)
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	p.packets.Store(1234)
	p.sessions.Store(56)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), "56 sessions") {
		if time.Now().After(deadline) {
			t.Fatalf("bar never showed the counts: %q", w.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.finish()
	s := w.String()
	for _, want := range []string{"50%", "1234 packets", "52/105 MB", "MB/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("bar lacks %q: %q", want, s)
		}
	}
	var nilProgress *progress
	nilProgress.finish() // does nothing
	if nilProgress.reader(strings.NewReader("")) == nil {
		t.Error("nil progress returns no reader")
	}
}
