package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// expandInputs turns the -r values into the captures to read: a value that names no file but
// holds glob characters is expanded (in sorted order); "-" (standard input) must be alone.
func expandInputs(values []string) ([]string, error) {
	var names []string
	for _, v := range values {
		if v == "-" {
			if len(values) > 1 {
				return nil, fmt.Errorf("-r -: standard input cannot be read beside other captures")
			}
			return values, nil
		}
		if _, err := os.Lstat(v); err == nil || !strings.ContainsAny(v, "*?[") {
			names = append(names, v)
			continue
		}
		m, err := filepath.Glob(v)
		if err != nil {
			return nil, fmt.Errorf("-r %s: %v", v, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("-r %s: no file matches", v)
		}
		for _, n := range m {
			if n == "-" {
				n = "./-" // a file named -, not standard input
			}
			names = append(names, n)
		}
	}
	return names, nil
}

// inputResult is how reading one capture ended.
type inputResult struct {
	name string
	st   pipeline.Stats
	err  error // opening or reading the capture (names the file and offset), or ctx's
}

// session is what the readers hand to the output: a session, or the end of an input.
type inputSession struct {
	s   *smtpdecode.Session
	end *inputResult
}

// readInputs reads the captures and calls emit with their sessions: the inputs in the order
// given, each one's sessions in its own order (the order of a single run), whatever the
// parallelism. Several inputs are read at once, up to parallel; an input whose sessions
// cannot be written yet waits once queuedSessions of them are waiting. Each input's end is
// reported to done, in order, after its sessions. idle is called when no session is ready.
func readInputs(ctx context.Context, names []string, o pipeline.Options, parallel int, prog *progress,
	stdin io.Reader, emit func(*smtpdecode.Session), idle func(), done func(inputResult)) {
	if len(names) == 1 {
		o.OnIdle = idle
		r := readInput(ctx, names[0], o, prog, stdin, "", emit)
		done(r)
		return
	}
	const queuedSessions = 64
	queues := make([]chan inputSession, len(names))
	for i := range queues {
		queues[i] = make(chan inputSession, queuedSessions)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(parallel, len(names)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(names) {
					return
				}
				q := queues[i]
				var r inputResult
				oi := o
				var derr error
				if o.Messages.Dir != nil {
					oi.Messages.Dir, derr = o.Messages.Dir.Sub(extractFolder(i, names[i]))
				}
				if derr != nil {
					// Output that cannot be written, not a bad capture: counted with the
					// messages that could not be written out.
					r.st.Messages = fmt.Errorf("--extract: %w", derr)
				} else {
					r = readInput(ctx, names[i], oi, prog, stdin, names[i], func(s *smtpdecode.Session) {
						q <- inputSession{s: s}
					})
				}
				r.name = names[i]
				q <- inputSession{end: &r}
			}
		})
	}
	for _, q := range queues {
		for {
			var is inputSession
			select {
			case is = <-q:
			default:
				idle()
				is = <-q
			}
			if is.end != nil {
				done(*is.end)
				break
			}
			emit(is.s)
		}
	}
	wg.Wait()
}

// extractFolder names the folder of --extract that the messages of the i-th input go to
// when several are read: its number and file name (made safe by extract.Dir.Sub).
func extractFolder(i int, name string) string {
	return strconv.Itoa(i+1) + "-" + filepath.Base(name)
}

// readInput reads one capture. file, when not "", tags each session.
func readInput(ctx context.Context, name string, o pipeline.Options, prog *progress, stdin io.Reader,
	file string, emit func(*smtpdecode.Session)) inputResult {
	res := inputResult{name: name}
	var src *capture.Reader
	if name == "-" {
		src, res.err = capture.NewReader(stdin, "-")
		o.Streaming = true // standard input may be a live tcpdump -U: each session as soon as it ends
	} else {
		var f *os.File
		if f, res.err = os.Open(name); res.err == nil {
			defer f.Close()
			src, res.err = capture.NewReader(prog.reader(f), name)
		}
	}
	if res.err != nil {
		return res
	}
	defer src.Close()
	if prog != nil {
		// Counted here and published to the bar every 1024 packets, to keep an atomic
		// add (a shared cache line with the bar's goroutine) out of the per-packet path.
		var packets int64
		o.Packet = func(capture.Packet) {
			if packets++; packets%1024 == 0 {
				prog.packets.Add(1024)
			}
		}
		defer func() { prog.packets.Add(packets % 1024) }()
	}
	res.st, res.err = pipeline.Run(ctx, src, o, func(s *smtpdecode.Session) {
		s.File = file
		if prog != nil {
			prog.sessions.Add(1)
		}
		emit(s)
	})
	return res
}

// inputsParallel is how many captures are read at once: each run keeps about two cores busy.
func inputsParallel(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)/2))
}

// totalSize sums the sizes of the named files; ok is false when one is not a regular file
// (standard input, "-", is not one).
func totalSize(names []string) (total int64, ok bool) {
	for _, n := range names {
		fi, err := os.Stat(n)
		if n == "-" || err != nil || !fi.Mode().IsRegular() {
			return 0, false
		}
		total += fi.Size()
	}
	return total, true
}
