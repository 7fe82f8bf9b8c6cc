// Command smtpscope turns packet captures of mail traffic into readable SMTP
// conversations.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/extract"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/reassembly"
	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1 // the output could not be written
	exitBadInput    = 2 // usage errors, unreadable or malformed input
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usageHead = `Usage: smtpscope -r FILE [options]
       smtpscope replay -r FILE [--session N] [options]   (see smtpscope replay --help)

Reads a packet capture (pcap or pcapng, either optionally gzip-compressed;
"-" reads standard input) and prints every SMTP session in it as a
conversation: C: client lines and S: server replies, with times and latencies.

Examples:
  smtpscope -r data.pcap                   every SMTP session as C:/S: lines
  smtpscope -r data.pcapng.gz --json       one JSON object per session, per line
  tcpdump -U -w - port 25 | smtpscope -r - read the capture from standard input
  smtpscope -r data.pcap --port 2526       port 2526 too, besides 25, 587, 2525, 465
  smtpscope -r data.pcap --any-port        also find SMTP on other ports by content
  smtpscope -r data.pcap --data --show-secrets   message content and AUTH passwords too
  smtpscope -r data.pcap --extract out/    every message as .eml and its attachments in out/
  smtpscope -r data.pcap --mbox mail.mbox  every message appended to an mbox, as mailsnarf does

Options:
`

// config is what the command line asked for.
type config struct {
	read        string
	iface       string
	listIfaces  bool
	count       int
	duration    time.Duration
	noPromisc   bool
	snaplen     int
	write       string
	filter      string // with -i: a tcpdump filter expression from the arguments (libpcap build)
	json        bool
	ports       []uint16
	anyPort     bool
	showSecrets bool
	color       string
	data        bool
	extract     string
	mbox        string
	force       bool
	cpuProfile  string // diagnostics: where to write pprof profiles
	memProfile  string
	opts        pipeline.Options
}

func parseArgs(args []string, stderr io.Writer) (*config, int) {
	fs := pflag.NewFlagSet("smtpscope", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fmt.Fprint(stderr, fs.FlagUsages())
	}
	var c config
	var ports []string
	var perConnMiB, totalMiB int
	var gapTimeout, idleTimeout time.Duration
	var maxConns int
	fs.StringVarP(&c.read, "read", "r", "", "read packets from `FILE` (pcap, pcapng, gzip of either; - for stdin)")
	fs.StringVarP(&c.iface, "interface", "i", "", "capture live on `IFACE` (\"any\" for all; Linux AF_PACKET, needs root or CAP_NET_RAW)")
	fs.BoolVarP(&c.listIfaces, "list-interfaces", "D", false, "list the interfaces -i can capture on")
	fs.IntVarP(&c.count, "count", "c", 0, "with -i: stop after `N` sessions have ended")
	fs.DurationVar(&c.duration, "duration", 0, "with -i: stop after this long")
	fs.BoolVarP(&c.noPromisc, "no-promiscuous-mode", "p", false, "with -i: do not put the interface in promiscuous mode")
	fs.IntVarP(&c.snaplen, "snapshot-length", "s", 262144, "with -i: keep at most `BYTES` of each packet")
	fs.StringVarP(&c.write, "write", "w", "", "with -i: also save the captured packets to `FILE` (pcapng; pcap when it ends in .pcap)")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per session, one per line")
	fs.StringSliceVar(&ports, "port", nil, "also treat TCP `PORT` as SMTP (repeat or comma-separate)")
	fs.BoolVar(&c.anyPort, "any-port", false, "also find SMTP on any TCP port by its content (a 220 greeting, then HELO/EHLO)")
	fs.BoolVar(&c.showSecrets, "show-secrets", false, "show AUTH passwords and tokens instead of masking them")
	fs.StringVar(&c.color, "color", "auto", "highlight failures and anomalies: `WHEN` is auto (a terminal, unless NO_COLOR is set), always or never")
	fs.BoolVar(&c.data, "data", false, "show message content (the first 64 KiB of each message) instead of a one-line summary")
	fs.StringVar(&c.extract, "extract", "", "write each message as an .eml file, and its attachments, into `DIR` (created 0700)")
	fs.StringVar(&c.mbox, "mbox", "", "append every message to `FILE` in mboxrd format")
	fs.BoolVar(&c.force, "force", false, "let --extract overwrite files that already exist")
	fs.IntVar(&perConnMiB, "max-buffer-conn", reassembly.DefaultMaxBufferedPerConn>>20, "out-of-order data held per connection, in `MiB`")
	fs.IntVar(&totalMiB, "max-buffer-total", reassembly.DefaultMaxBufferedTotal>>20, "out-of-order data held for all connections, in `MiB`")
	fs.DurationVar(&gapTimeout, "gap-timeout", reassembly.DefaultGapTimeout, "how long (packet time) out-of-order data waits for missing bytes")
	fs.DurationVar(&idleTimeout, "idle-timeout", reassembly.DefaultIdleTimeout, "how long (packet time) an idle connection stays open")
	fs.IntVar(&maxConns, "max-connections", reassembly.DefaultMaxConnections, "TCP connections tracked at once; past it the longest idle are flushed and reported")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the run to `FILE`")
	fs.StringVar(&c.memProfile, "memprofile", "", "write a pprof allocation profile of the run to `FILE`")
	_ = fs.MarkHidden("cpuprofile") // for developers (see bench/README.md), not in --help
	_ = fs.MarkHidden("memprofile")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, exitOK
		}
		fmt.Fprintf(stderr, "smtpscope: %v\n\n", err)
		fs.Usage()
		return nil, exitBadInput
	}
	if *help {
		fs.Usage()
		return nil, exitOK
	}
	if c.listIfaces {
		return &c, exitOK
	}
	if c.iface != "" && fs.NArg() > 0 {
		c.filter = strings.Join(fs.Args(), " ")
	}
	if (c.read == "") == (c.iface == "") || (fs.NArg() > 0 && c.iface == "") {
		switch {
		case fs.NArg() > 0:
			fmt.Fprintf(stderr, "smtpscope: unexpected argument %q\n\n", fs.Arg(0))
		case c.read != "":
			fmt.Fprint(stderr, "smtpscope: give -r FILE or -i IFACE, not both\n\n")
		default:
			fmt.Fprint(stderr, "smtpscope: no capture to read: give -r FILE (or -i IFACE to capture live)\n\n")
		}
		fs.Usage()
		return nil, exitBadInput
	}
	c.ports = append(c.ports, pipeline.DefaultPorts...)
	for _, p := range ports {
		n, err := parsePort(p)
		if err != nil {
			fmt.Fprintf(stderr, "smtpscope: %v\n", err)
			return nil, exitBadInput
		}
		c.ports = append(c.ports, n)
	}
	switch c.color {
	case "auto", "always", "never":
	default:
		fmt.Fprintf(stderr, "smtpscope: --color %q: want auto, always or never\n", c.color)
		return nil, exitBadInput
	}
	if perConnMiB <= 0 || totalMiB <= 0 || gapTimeout <= 0 || idleTimeout <= 0 || maxConns <= 0 {
		fmt.Fprintln(stderr, "smtpscope: buffer sizes, timeouts and --max-connections must be positive")
		return nil, exitBadInput
	}
	c.opts = pipeline.Options{
		Ports:   c.ports,
		AnyPort: c.anyPort,
		Reassembly: reassembly.Options{
			MaxBufferedPerConn: perConnMiB << 20,
			MaxBufferedTotal:   totalMiB << 20,
			GapTimeout:         gapTimeout,
			IdleTimeout:        idleTimeout,
			MaxConnections:     maxConns,
		},
	}
	if c.data {
		c.opts.Decoder.MaxData = dataShown
	}
	c.opts.Messages.Parse = true
	return &c, exitOK
}

// parsePort reads a --port value.
func parsePort(p string) (uint16, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("--port %q: not a TCP port number", p)
	}
	return uint16(n), nil
}

// messageOutputs opens what --extract and --mbox ask for into
// c.opts.Messages, and returns the mbox for its caller to close (and check).
func messageOutputs(c *config, stderr io.Writer) (mbox *extract.Mbox, ok bool) {
	var err error
	if c.extract != "" {
		if c.opts.Messages.Dir, err = extract.NewDir(c.extract, c.force); err != nil {
			fmt.Fprintf(stderr, "smtpscope: --extract: %v\n", err)
			return nil, false
		}
	}
	if c.mbox != "" {
		if mbox, err = extract.OpenMbox(c.mbox); err != nil {
			fmt.Fprintf(stderr, "smtpscope: --mbox: %v\n", err)
			return nil, false
		}
		c.opts.Messages.Mbox = mbox
	}
	return mbox, true
}

// dataShown is how much of each message --data shows.
const dataShown = 64 << 10

// useColor decides --color auto: colour on a terminal, unless NO_COLOR is
// set (https://no-color.org) or TERM is dumb.
func useColor(when string, stdout io.Writer, getenv func(string) string) bool {
	switch when {
	case "always":
		return true
	case "never":
		return false
	}
	if getenv("NO_COLOR") != "" || getenv("TERM") == "dumb" {
		return false
	}
	f, ok := stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// sessionWriter is what the output formats have in common.
type sessionWriter interface {
	Session(*smtpdecode.Session) error
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "replay" {
		return runReplay(ctx, args[1:], stdin, stdout, stderr)
	}
	c, code := parseArgs(args, stderr)
	if c == nil {
		return code
	}
	if c.listIfaces {
		names, err := capture.Interfaces()
		if err != nil {
			fmt.Fprintf(stderr, "smtpscope: %v\n", err)
			return exitFailure
		}
		for i, n := range names {
			fmt.Fprintf(stdout, "%d.%s\n", i+1, n)
		}
		return exitOK
	}
	if c.cpuProfile != "" || c.memProfile != "" {
		stop, err := startProfiles(c.cpuProfile, c.memProfile)
		if err != nil {
			fmt.Fprintf(stderr, "smtpscope: %v\n", err)
			return exitFailure
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "smtpscope: %v\n", err)
			}
		}()
	}
	if c.iface != "" {
		return runLive(ctx, c, stdout, stderr)
	}
	var src *capture.Reader
	var err error
	if c.read == "-" {
		src, err = capture.NewReader(stdin, "-")
	} else {
		src, err = capture.Open(c.read)
	}
	if err != nil {
		fmt.Fprintf(stderr, "smtpscope: %v\n", err)
		return exitBadInput
	}
	defer src.Close()

	ro := report.Options{ShowSecrets: c.showSecrets, Data: c.data, Color: useColor(c.color, stdout, os.Getenv)}
	// Sessions are written through one buffer, flushed whenever no other
	// session is ready: a write per session costs more than its formatting.
	bw := bufio.NewWriterSize(stdout, 64<<10)
	var out sessionWriter
	var text *report.Text
	if c.json {
		out = report.NewJSON(bw, ro)
	} else {
		text = report.NewText(bw, ro)
		out = text
	}
	mbox, ok := messageOutputs(c, stderr)
	if !ok {
		return exitFailure
	}
	// Once output cannot be written (a closed pipe: smtpscope -r x | head),
	// reading the rest of the capture is wasted: stop the pipeline.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var werr error
	fail := func(err error) {
		if werr == nil && err != nil {
			werr = err
			stop()
		}
	}
	c.opts.OnIdle = func() {
		if werr == nil {
			fail(bw.Flush())
		}
	}
	// Standard input may be a live tcpdump -U: each session as soon as it ends.
	c.opts.Streaming = c.read == "-"
	st, rerr := pipeline.Run(ctx, src, c.opts, func(s *smtpdecode.Session) {
		if werr == nil {
			fail(out.Session(s))
		}
	})
	if werr == nil {
		werr = bw.Flush()
	}
	if werr != nil {
		fmt.Fprintf(stderr, "smtpscope: writing output: %v\n", werr)
		return exitFailure
	}
	summary := st.String()
	if st.Sessions == 0 {
		summary = fmt.Sprintf("no SMTP sessions in %s (%d packets read, %d skipped as malformed)", c.read, st.Packets, st.Malformed)
	}
	if text != nil {
		err := text.Line(summary)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			fmt.Fprintf(stderr, "smtpscope: writing output: %v\n", err)
			return exitFailure
		}
	} else if st.Sessions == 0 {
		fmt.Fprintln(stderr, "smtpscope: "+summary)
	}
	if st.Evicted > 0 {
		fmt.Fprintf(stderr, "smtpscope: %d connections were flushed while still open: more than %d were open at once (--max-connections)\n", st.Evicted, c.opts.Reassembly.MaxConnections)
	}
	// Messages that could not be written out are reported, but the
	// capture's own fault (or an interrupt) decides the exit status first.
	merr := st.Messages
	if mbox != nil {
		merr = errors.Join(merr, mbox.Close())
	}
	if merr != nil {
		fmt.Fprintf(stderr, "smtpscope: %v\n", merr)
	}
	switch {
	case rerr == nil && merr != nil:
		return exitFailure
	case rerr == nil:
		return exitOK
	case errors.Is(rerr, context.Canceled):
		fmt.Fprintln(stderr, "smtpscope: interrupted")
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "smtpscope: %v\n", rerr)
	return exitBadInput
}
