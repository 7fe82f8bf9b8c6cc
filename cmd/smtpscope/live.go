package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// runLive captures on an interface and shows each session turn by turn as it
// happens (or, with --json, each session as it ends), until -c sessions
// have ended, --duration has passed, or Ctrl-C.
func runLive(ctx context.Context, c *config, stdout, stderr io.Writer) int {
	opts := capture.LiveOptions{Interface: c.iface, Snaplen: c.snaplen, Promiscuous: !c.noPromisc, Filter: c.bpf}
	if !c.anyPort {
		opts.Ports = c.ports // the kernel passes only these; --any-port needs every TCP packet
	}
	live, err := capture.OpenLive(opts)
	if err != nil {
		fmt.Fprintf(stderr, "smtpscope: %v\n", err)
		return exitFailure
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	if c.duration > 0 {
		ctx, stop = context.WithTimeout(ctx, c.duration)
		defer stop()
	}
	go func() { <-ctx.Done(); live.Close() }()

	var save *capture.Writer
	var saveFile *os.File
	var saveErr error
	if c.write != "" {
		// A capture of mail is private.
		if saveFile, err = os.OpenFile(c.write, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			fmt.Fprintf(stderr, "smtpscope: -w: %v\n", err)
			return exitFailure
		}
		defer saveFile.Close()
		pcapng := !strings.HasSuffix(strings.ToLower(c.write), ".pcap")
		c.opts.Packet = func(p capture.Packet) {
			if saveErr != nil {
				return
			}
			if save == nil {
				if save, saveErr = capture.NewWriter(saveFile, pcapng, p.LinkType, c.snaplen); saveErr != nil {
					return
				}
			}
			saveErr = save.Write(p)
		}
	}
	mbox, ok := messageOutputs(c, stderr)
	if !ok {
		return exitFailure
	}

	ro := report.Options{ShowSecrets: c.showSecrets, Data: c.data, Color: useColor(c.color, stdout, os.Getenv)}
	var werr error
	check := func(err error) {
		if err != nil && werr == nil {
			werr = err
			stop()
		}
	}
	var emit func(*smtpdecode.Session)
	var out *outputs
	if (c.format == "" || c.format == "text") && c.html == "" && c.filter.Empty() {
		// Turn by turn, as it happens.
		st := report.NewStream(stdout, ro)
		c.opts.OnOpen = func(s *smtpdecode.Session) { check(st.Open(s)) }
		c.opts.OnEvent = func(s *smtpdecode.Session, e smtpdecode.Event) { check(st.Event(s, e)) }
		emit = func(s *smtpdecode.Session) { check(st.Close(s)) }
	} else {
		// Each session as it ends: a filter can only judge a whole session.
		if out, err = openOutputs(c, stdout, ro); err != nil {
			fmt.Fprintf(stderr, "smtpscope: %v\n", err)
			return exitFailure
		}
		defer out.abort()
		emit = func(s *smtpdecode.Session) { check(out.Session(s)); check(out.flush()) }
	}
	ended := 0
	what := "ports " + portList(opts.Ports)
	if c.bpf != "" {
		what = "filter " + strconv.Quote(c.bpf)
	}
	fmt.Fprintf(stderr, "smtpscope: capturing on %s (%s)\n", c.iface, what)
	c.opts.Streaming = true
	st, rerr := pipeline.Run(ctx, live, c.opts, func(s *smtpdecode.Session) {
		if !c.filter.Match(s) {
			return // -c counts the sessions shown
		}
		emit(s)
		if ended++; c.count > 0 && ended >= c.count {
			stop()
		}
	})
	if save != nil {
		saveErr = errors.Join(saveErr, save.Flush())
	}
	received, dropped, serr := live.Stats()
	if out != nil && werr == nil {
		check(out.finish(st.String()))
	}
	if serr == nil {
		fmt.Fprintf(stderr, "smtpscope: %d sessions, %d packets received by filter, %d dropped by kernel\n", st.Sessions, received, dropped)
	}
	merr := st.Messages
	if mbox != nil {
		merr = errors.Join(merr, mbox.Close())
	}
	switch {
	case werr != nil:
		fmt.Fprintf(stderr, "smtpscope: writing output: %v\n", werr)
		return exitFailure
	case saveErr != nil:
		fmt.Fprintf(stderr, "smtpscope: -w: %v\n", saveErr)
		return exitFailure
	case merr != nil:
		fmt.Fprintf(stderr, "smtpscope: %v\n", merr)
		return exitFailure
	case rerr != nil && !errors.Is(rerr, context.Canceled) && !errors.Is(rerr, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "smtpscope: %v\n", rerr)
		return exitFailure
	}
	return exitOK // stopped by -c, --duration or a signal: a normal end for a live capture
}

func portList(ports []uint16) string {
	if len(ports) == 0 {
		return "all"
	}
	var b strings.Builder
	for i, p := range ports {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, p)
	}
	return b.String()
}
