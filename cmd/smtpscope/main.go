// Command smtpscope turns packet captures of mail traffic into readable SMTP
// conversations.
package main

import (
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

const usageHead = `Usage: smtpscope -r FILE [-r FILE...] [options]
       smtpscope -i IFACE [options] [FILTER EXPRESSION]
       smtpscope replay -r FILE [--session N] [options]   (see smtpscope replay --help)

Reads packet captures (pcap or pcapng, either optionally gzip-compressed;
"-" reads standard input) and prints every SMTP session in them as a
conversation: C: client lines and S: server replies, with times and latencies.

Examples:
  smtpscope -r data.pcap                   every SMTP session as C:/S: lines
  smtpscope -r data.pcap --summary         one line per session, totals at the end
  smtpscope -r data.pcap --html report.html   a report to open in a browser, with ladder diagrams
  smtpscope -r data.pcapng.gz --json       one JSON object per session, per line
  smtpscope -r data.pcap --format zeek > smtp.log   Zeek's smtp.log (zeek-json: as JSON)
  smtpscope -r 'relay-*.pcap' --failed --summary   several captures (a glob), failed sessions only
  smtpscope -r data.pcap --from @example.com --rcpt bob@example.org   sessions by envelope
  smtpscope -r data.pcap --client 192.0.2.0/24 --session 3,7   by client network, by number
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
	reads       []string // -r values, before glob expansion
	inputs      []string // the captures to read
	iface       string
	listIfaces  bool
	count       int
	duration    time.Duration
	noPromisc   bool
	snaplen     int
	write       string
	bpf         string // with -i: a tcpdump filter expression from the arguments (libpcap build)
	format      string // text, json, summary, zeek, zeek-json
	html        string // --html FILE
	quiet       bool
	filter      report.Filter
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
	fs.StringArrayVarP(&c.reads, "read", "r", nil, "read packets from `FILE` (pcap, pcapng, gzip of either; - for stdin); repeat it or give a glob to read several, in parallel")
	fs.StringVarP(&c.iface, "interface", "i", "", "capture live on `IFACE` (\"any\" for all; Linux AF_PACKET, needs root or CAP_NET_RAW)")
	fs.BoolVarP(&c.listIfaces, "list-interfaces", "D", false, "list the interfaces -i can capture on")
	fs.IntVarP(&c.count, "count", "c", 0, "with -i: stop after `N` sessions have ended (that the filters select)")
	fs.DurationVar(&c.duration, "duration", 0, "with -i: stop after this long")
	fs.BoolVarP(&c.noPromisc, "no-promiscuous-mode", "p", false, "with -i: do not put the interface in promiscuous mode")
	fs.IntVarP(&c.snaplen, "snapshot-length", "s", 262144, "with -i: keep at most `BYTES` of each packet")
	fs.StringVarP(&c.write, "write", "w", "", "with -i: also save the captured packets to `FILE` (pcapng; pcap when it ends in .pcap)")
	fs.StringVar(&c.format, "format", "", "output `FORMAT`: text (default), json, summary, zeek (Zeek's smtp.log) or zeek-json")
	jsonFlag := fs.Bool("json", false, "print one JSON object per session, one per line (--format json)")
	summaryFlag := fs.Bool("summary", false, "print one line per session and totals (--format summary)")
	fs.StringVar(&c.html, "html", "", "write a self-contained HTML report with ladder diagrams to `FILE` (stdout then gets nothing unless a --format is given)")
	var sessions, clients, servers []string
	fs.StringSliceVar(&sessions, "session", nil, "only sessions number `N[,M...]`")
	fs.StringSliceVar(&clients, "client", nil, "only sessions from client `ADDR` (an address, address:port or CIDR prefix; repeat for any of several)")
	fs.StringSliceVar(&servers, "server", nil, "only sessions to server `ADDR` (an address, address:port or CIDR prefix)")
	fs.StringSliceVar(&c.filter.From, "from", nil, "only sessions with a MAIL FROM matching `PATTERN` (alice@example.com, a domain: example.com or @example.com, a glob: '*@ex*', <> for the null sender)")
	fs.StringSliceVar(&c.filter.Rcpt, "rcpt", nil, "only sessions with a RCPT TO matching `PATTERN` (as --from)")
	fs.BoolVar(&c.filter.Failed, "failed", false, "only sessions with a failure: a 4xx or 5xx reply or an anomaly")
	fs.StringSliceVar(&c.filter.AuthUser, "auth-user", nil, "only sessions whose AUTH user is `USER` (or matches a glob)")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "no progress bar on stderr")
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
		c.bpf = strings.Join(fs.Args(), " ")
	}
	if (len(c.reads) == 0) == (c.iface == "") || (fs.NArg() > 0 && c.iface == "") {
		switch {
		case fs.NArg() > 0:
			fmt.Fprintf(stderr, "smtpscope: unexpected argument %q\n\n", fs.Arg(0))
		case len(c.reads) > 0:
			fmt.Fprint(stderr, "smtpscope: give -r FILE or -i IFACE, not both\n\n")
		default:
			fmt.Fprint(stderr, "smtpscope: no capture to read: give -r FILE (or -i IFACE to capture live)\n\n")
		}
		fs.Usage()
		return nil, exitBadInput
	}
	if len(c.reads) > 0 {
		var err error
		if c.inputs, err = expandInputs(c.reads); err != nil {
			fmt.Fprintf(stderr, "smtpscope: %v\n", err)
			return nil, exitBadInput
		}
	}
	if msg := c.setFormat(*jsonFlag, *summaryFlag); msg != "" {
		fmt.Fprintf(stderr, "smtpscope: %s\n", msg)
		return nil, exitBadInput
	}
	for _, name := range []string{"session", "client", "server", "from", "rcpt", "auth-user"} {
		// pflag reads --from '' as no value at all: that would quietly select everything.
		if v, _ := fs.GetStringSlice(name); fs.Changed(name) && len(v) == 0 {
			hint := ""
			if name == "from" {
				hint = " (the null sender is '<>')"
			}
			fmt.Fprintf(stderr, "smtpscope: --%s: an empty value selects nothing%s\n", name, hint)
			return nil, exitBadInput
		}
	}
	if err := c.setFilter(sessions, clients, servers); err != nil {
		fmt.Fprintf(stderr, "smtpscope: %v\n", err)
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
	if !c.filter.Empty() {
		filter := c.filter
		c.opts.Messages.Select = func(s *smtpdecode.Session, cs smtpdecode.ContentStart) bool {
			return filter.MatchMessage(s, cs.Transaction)
		}
	}
	return &c, exitOK
}

// setFormat settles the output format from --format, --json and --summary.
func (c *config) setFormat(json, summary bool) string {
	for _, f := range []struct {
		set  bool
		name string
	}{{json, "json"}, {summary, "summary"}} {
		if !f.set {
			continue
		}
		if c.format != "" && c.format != f.name {
			return fmt.Sprintf("--%s and --format %s: choose one", f.name, c.format)
		}
		c.format = f.name
	}
	switch c.format {
	case "", "text", "json", "summary", "zeek", "zeek-json":
	default:
		return fmt.Sprintf("--format %q: want text, json, summary, zeek or zeek-json", c.format)
	}
	return ""
}

// setFilter reads the filter flags that need parsing.
func (c *config) setFilter(sessions, clients, servers []string) error {
	for _, v := range sessions {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("--session %q: not a session number", v)
		}
		c.filter.Sessions = append(c.filter.Sessions, n)
	}
	for _, f := range []struct {
		flag string
		in   []string
		out  *[]report.AddrPattern
	}{{"--client", clients, &c.filter.Clients}, {"--server", servers, &c.filter.Servers}} {
		for _, v := range f.in {
			p, err := report.ParseAddrPattern(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("%s: %v", f.flag, err)
			}
			*f.out = append(*f.out, p)
		}
	}
	for _, f := range []struct {
		flag string
		v    []string
	}{{"--from", c.filter.From}, {"--rcpt", c.filter.Rcpt}, {"--auth-user", c.filter.AuthUser}} {
		for _, p := range f.v {
			if f.flag != "--from" && p == "" {
				return fmt.Errorf("%s: an empty value selects nothing", f.flag)
			}
			if err := report.ValidGlob(p); err != nil {
				return fmt.Errorf("%s %v", f.flag, err)
			}
		}
	}
	return nil
}

// inputNames lists the captures for a message: escaped, and the first three of a long list.
func inputNames(inputs []string) string {
	var b strings.Builder
	for i, in := range inputs {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(inputs)-3)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(report.Printable(in))
	}
	return b.String()
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
	return isTerminal(stdout)
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
	return runFiles(ctx, c, stdin, stdout, stderr)
}

// runFiles reads the captures and writes the reports.
func runFiles(ctx context.Context, c *config, stdin io.Reader, stdout, stderr io.Writer) int {
	ro := report.Options{ShowSecrets: c.showSecrets, Data: c.data, Color: useColor(c.color, stdout, os.Getenv)}
	out, err := openOutputs(c, stdout, ro)
	if err != nil {
		fmt.Fprintf(stderr, "smtpscope: %v\n", err)
		return exitFailure
	}
	defer out.abort()
	mbox, ok := messageOutputs(c, stderr)
	if !ok {
		return exitFailure
	}
	var prog *progress
	if total, ok := totalSize(c.inputs); ok && wantProgress(c.quiet, total, c.stdoutUsed(), mayReachTerminal(stdout), isTerminal(stderr)) {
		prog = startProgress(stderr, total)
	}
	// Once output cannot be written (a closed pipe: smtpscope -r x | head),
	// reading the rest of the captures is wasted: stop.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var werr error
	fail := func(err error) {
		if werr == nil && err != nil {
			werr = err
			stop()
		}
	}
	// Sessions are written through one buffer, flushed whenever no other
	// session is ready: a write per session costs more than its formatting.
	idle := func() {
		if werr == nil {
			fail(out.flush())
		}
	}
	parallel := inputsParallel(len(c.inputs))
	if c.opts.Messages.Mbox != nil {
		parallel = 1 // one mbox, appended in order
	}
	var total pipeline.Stats
	var results []inputResult
	readInputs(ctx, c.inputs, c.opts, parallel, prog, stdin, func(s *smtpdecode.Session) {
		if werr == nil {
			fail(out.Session(s))
		}
	}, idle, func(r inputResult) {
		results = append(results, r)
		total.Packets += r.st.Packets
		total.Malformed += r.st.Malformed
		total.Sessions += r.st.Sessions
		total.Evicted += r.st.Evicted
		total.Messages = errors.Join(total.Messages, r.st.Messages)
	})
	prog.finish()
	stats := total.String()
	if !c.filter.Empty() {
		// "3 of 20 sessions shown, 497 packets read, ..."
		n, rest, _ := strings.Cut(stats, ",")
		stats = fmt.Sprintf("%d of %s shown,%s", out.shown, n, rest)
	}
	if len(c.inputs) > 1 {
		stats = fmt.Sprintf("%s, in %d captures", stats, len(c.inputs))
	}
	if total.Sessions == 0 {
		stats = fmt.Sprintf("no SMTP sessions in %s (%d packets read, %d skipped as malformed)", inputNames(c.inputs), total.Packets, total.Malformed)
	}
	if werr == nil {
		werr = out.finish(stats)
	}
	if werr != nil {
		fmt.Fprintf(stderr, "smtpscope: writing output: %v\n", werr)
	} else {
		if out.text == nil && out.sum == nil && total.Sessions == 0 { // said on stderr when stdout has no room for it
			fmt.Fprintln(stderr, "smtpscope: "+stats)
		}
		if !c.stdoutUsed() {
			fmt.Fprintf(stderr, "smtpscope: wrote %s (%d sessions)\n", report.Printable(c.html), out.shown)
		}
	}
	if total.Evicted > 0 {
		fmt.Fprintf(stderr, "smtpscope: %d connections were flushed while still open: more than %d were open at once (--max-connections)\n", total.Evicted, c.opts.Reassembly.MaxConnections)
	}
	// Messages that could not be written out are reported, but the
	// captures' own faults (or an interrupt) decide the exit status first,
	// and output that could not be written before them.
	merr := total.Messages
	if mbox != nil {
		merr = errors.Join(merr, mbox.Close())
	}
	if merr != nil {
		fmt.Fprintf(stderr, "smtpscope: %s\n", report.Printable(merr.Error()))
	}
	code := exitOK
	if merr != nil {
		code = exitFailure
	}
	for _, r := range results {
		switch {
		case r.err == nil:
		case errors.Is(r.err, context.Canceled):
			if werr != nil {
				break // stopped because output failed
			}
			if code != exitInterrupted {
				fmt.Fprintln(stderr, "smtpscope: interrupted")
			}
			code = exitInterrupted
		default:
			// Names come from the command line or a glob: escaped like everything else.
			fmt.Fprintf(stderr, "smtpscope: %s\n", report.Printable(r.err.Error()))
			if code != exitInterrupted {
				code = exitBadInput
			}
		}
	}
	if werr != nil {
		return exitFailure
	}
	return code
}
