package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/smtpscope/smtpscope/capture"
	"github.com/smtpscope/smtpscope/pipeline"
	"github.com/smtpscope/smtpscope/replay"
	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

const replayUsage = `Usage: smtpscope replay -r FILE [--session N [-o FILE]] [options]

Turns a captured SMTP session into Go source: a program that sends the same
mail again, or (--fixture) a test helper that plays the captured server to a
client under test. Without --session it lists the sessions and what each
would replay.

Examples:
  smtpscope replay -r data.pcap                        list the sessions
  smtpscope replay -r data.pcap --session 3 -o send.go
  SMTP_USERNAME=me SMTP_PASSWORD=... go run send.go --addr mail.example.com:587
  smtpscope replay -r data.pcap --session 3 --fixture -o smtpserver_test.go

Options:
`

// replayData is how much of each message and command text a replay keeps:
// the program must send the message whole.
const (
	replayData = 64 << 20
	replayText = 16 << 20
)

func runReplay(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("smtpscope replay", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, replayUsage)
		fmt.Fprint(stderr, fs.FlagUsages())
	}
	var (
		read, out, pkg, addr string
		session              int64
		fixture, secrets     bool
		ports                []string
	)
	fs.StringVarP(&read, "read", "r", "", "read packets from `FILE` (pcap, pcapng, gzip of either; - for stdin)")
	fs.Int64Var(&session, "session", 0, "the session to replay, numbered as in the transcript and the JSON id")
	fs.StringVarP(&out, "output", "o", "", "write the Go source to `FILE` instead of standard output")
	fs.BoolVar(&fixture, "fixture", false, "generate a test fixture that plays the captured server, instead of a send program")
	fs.StringVar(&pkg, "package", "", "package name of the fixture (default \"fixture\")")
	fs.StringVar(&addr, "addr", "", "default server address of the send program (default: the captured server)")
	fs.BoolVar(&secrets, "embed-secrets", false, "write the captured AUTH secret into the program (it reads SMTP_USERNAME/SMTP_PASSWORD otherwise)")
	fs.StringSliceVar(&ports, "port", nil, "also treat TCP `PORT` as SMTP")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		fmt.Fprintf(stderr, "smtpscope replay: %v\n\n", err)
		fs.Usage()
		return exitBadInput
	}
	if *help {
		fs.Usage()
		return exitOK
	}
	if read == "" || fs.NArg() > 0 {
		fmt.Fprint(stderr, "smtpscope replay: give -r FILE\n\n")
		fs.Usage()
		return exitBadInput
	}
	opts := pipeline.Options{Ports: append([]uint16(nil), pipeline.DefaultPorts...)}
	for _, p := range ports {
		n, err := parsePort(p)
		if err != nil {
			fmt.Fprintf(stderr, "smtpscope replay: %v\n", err)
			return exitBadInput
		}
		opts.Ports = append(opts.Ports, n)
	}
	if session > 0 {
		opts.Decoder = smtpdecode.Options{MaxData: replayData, MaxText: replayText}
	}
	var src *capture.Reader
	var err error
	if read == "-" {
		src, err = capture.NewReader(stdin, "-")
	} else {
		src, err = capture.Open(read)
	}
	if err != nil {
		fmt.Fprintf(stderr, "smtpscope replay: %v\n", err)
		return exitBadInput
	}
	defer src.Close()

	type listed struct {
		id   int64
		line string
	}
	var list []listed
	var chosen *smtpdecode.Session
	_, rerr := pipeline.Run(ctx, src, opts, func(s *smtpdecode.Session) {
		if session == 0 {
			list = append(list, listed{s.ID, fmt.Sprintf("%4d  %s -> %s  %s", s.ID, s.Client, s.Server, report.Printable(replay.Describe(s)))})
		} else if s.ID == session {
			chosen = s
		}
	})
	if rerr != nil {
		fmt.Fprintf(stderr, "smtpscope replay: %v\n", rerr)
		if !errors.Is(rerr, context.Canceled) {
			return exitBadInput
		}
		return exitInterrupted
	}
	if session == 0 {
		slices.SortFunc(list, func(a, b listed) int { return int(a.id - b.id) })
		if len(list) == 0 {
			fmt.Fprintf(stdout, "no SMTP sessions in %s\n", read)
		}
		for _, l := range list {
			fmt.Fprintln(stdout, l.line)
		}
		return exitOK
	}
	if chosen == nil {
		fmt.Fprintf(stderr, "smtpscope replay: no session %d in %s (list them with: smtpscope replay -r %s)\n", session, read, read)
		return exitBadInput
	}
	w := stdout
	var f *os.File
	if out != "" {
		// A program with the captured secret in it is private.
		mode := os.FileMode(0o644)
		if secrets {
			mode = 0o600
		}
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode); err != nil {
			fmt.Fprintf(stderr, "smtpscope replay: %v\n", err)
			return exitFailure
		}
		w = f
	}
	gerr := replay.Generate(w, chosen, replay.Options{Capture: read, Addr: addr, EmbedSecrets: secrets, Fixture: fixture, Package: pkg})
	if f != nil {
		if err := f.Close(); gerr == nil {
			gerr = err
		}
	}
	if gerr != nil {
		fmt.Fprintf(stderr, "smtpscope replay: %v\n", gerr)
		return exitFailure
	}
	if out != "" {
		what := "send program"
		if fixture {
			what = "fixture"
		}
		fmt.Fprintf(stderr, "smtpscope replay: wrote the %s for session %d to %s\n", what, session, strings.TrimSpace(out))
	}
	return exitOK
}
