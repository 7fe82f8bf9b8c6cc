package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// TestWantProgress: a bar only for big input, on a terminal stderr, without -q, and not drawn
// over a report on the same terminal.
func TestWantProgress(t *testing.T) {
	for _, c := range []struct {
		quiet                        bool
		total                        int64
		stdoutUsed, stdoutTerm, errT bool
		want                         bool
	}{
		{false, 1 << 30, true, false, true, true},   // report to a file, bar on the terminal
		{false, 1 << 30, false, true, true, true},   // only --html: stdout unused
		{false, 1 << 30, true, true, true, false},   // the report goes to the terminal
		{true, 1 << 30, true, false, true, false},   // -q
		{false, 1 << 10, true, false, true, false},  // small input
		{false, 1 << 30, true, false, false, false}, // stderr not a terminal
	} {
		if got := wantProgress(c.quiet, c.total, c.stdoutUsed, c.stdoutTerm, c.errT); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
	var b bytes.Buffer
	if isTerminal(&b) || mayReachTerminal(&b) {
		t.Error("a buffer may reach a terminal")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if !mayReachTerminal(w) {
		t.Error("a pipe (| less) cannot reach a terminal?")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if mayReachTerminal(f) || mayReachTerminal(null) {
		t.Error("a regular file or /dev/null may reach a terminal")
	}
}

// TestProgressCounts: reading a capture counts its bytes, packets and sessions for the bar.
func TestProgressCounts(t *testing.T) {
	in := input("multi-rcpt")
	fi, err := os.Stat(in)
	if err != nil {
		t.Fatal(err)
	}
	p := &progress{}
	var sessions int
	r := readInput(context.Background(), in, pipeline.Options{}, p, nil, "", func(*smtpdecode.Session) { sessions++ })
	if r.err != nil {
		t.Fatal(r.err)
	}
	if p.read.Load() != fi.Size() || p.packets.Load() != r.st.Packets || p.sessions.Load() != int64(sessions) || sessions == 0 {
		t.Errorf("counted %d bytes, %d packets, %d sessions; want %d, %d, %d",
			p.read.Load(), p.packets.Load(), p.sessions.Load(), fi.Size(), r.st.Packets, sessions)
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
