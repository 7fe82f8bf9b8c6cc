package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progressMin is the input size from which a progress bar is worth showing.
const progressMin = 8 << 20

// progress shows on stderr how far the reading of the captures has come: bytes read of the
// total, packets, sessions, MB/s and the time left. The counters are updated by the readers;
// the bar is drawn by a goroutine of its own a few times a second. A nil *progress does nothing.
type progress struct {
	read, packets, sessions atomic.Int64
	bar                     *progressbar.ProgressBar
	stop, done              chan struct{}
}

// wantProgress decides whether to show progress: on a terminal stderr, for input large enough,
// unless quiet, and not when the report itself may go to a terminal (the bar would be drawn
// over it): stdoutTerminal is mayReachTerminal(stdout).
func wantProgress(quiet bool, total int64, stdoutUsed, stdoutTerminal, stderrTerminal bool) bool {
	return !quiet && total >= progressMin && stderrTerminal && !(stdoutUsed && stdoutTerminal)
}

// mayReachTerminal reports whether what is written to w may end on a terminal: w is one, or a
// pipe or socket (| less, | grep). A regular file, /dev/null or a writer that is not a file
// is not.
func mayReachTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return true
	}
	return isTerminal(w) || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) != 0
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// startProgress starts drawing a bar for total bytes on w.
func startProgress(w io.Writer, total int64) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription(""),
	)
	go p.run()
	return p
}

func (p *progress) run() {
	defer close(p.done)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			_ = p.bar.Set64(p.read.Load())
			p.bar.Describe(fmt.Sprintf("%d packets, %d sessions", p.packets.Load(), p.sessions.Load()))
		}
	}
}

// finish removes the bar.
func (p *progress) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
	_ = p.bar.Clear()
}

// reader counts what is read from r as read bytes.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &readCounter{r: r, n: &p.read}
}

type readCounter struct {
	r io.Reader
	n *atomic.Int64
}

func (c *readCounter) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
