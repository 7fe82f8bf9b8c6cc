// Command benchgen writes a deterministic pcap capture (Ethernet) of many
// SMTP sessions, for benchmarks of smtpscope:
//
//	go run ./internal/benchgen -bytes 1G -o big.pcap
//	go run ./internal/benchgen -bytes 10G | smtpscope -r - --json > /dev/null
//	go run ./internal/benchgen -open 1000000 -o open.pcap
//
// The capture is written as it is made: memory is bounded by the sessions
// open at once and the pool of message bodies, never by the output, so the
// second form streams gigabytes without touching the disk. The same flags
// always give the same bytes.
//
// Flags:
//
//	-n N             sessions to write (default 10000)
//	-bytes SIZE      stop at about SIZE bytes instead of -n: 100M, 1G, 1.5G...
//	                 (K, M, G, T are powers of 1024)
//	-concurrent N    sessions open at any time (default 100)
//	-open N          the "open connections" capture instead (see below)
//	-seed S          seed of the generator (default 1)
//	-max-message SZ  largest message (default 1M)
//	-o FILE          output file (default standard output)
//	-v               report sessions, packets, bytes and MB/s on standard error
//
// The sessions mix what real mail traffic holds. Clients are MTAs relaying
// on port 25 (Postfix-, Exchange-, Exim-like; the Exchange-like one sends
// BDAT where CHUNKING is offered), devices that only say HELO, Python's
// smtplib (lower-case verbs), swaks, and on port 587 mail programs that
// authenticate (Outlook-, Thunderbird-, smtplib-, PHPMailer-like). Servers
// greet and answer as Postfix, Exim, Exchange, Sendmail and Python's
// aiosmtpd do, each with its EHLO extensions (PIPELINING, SIZE, 8BITMIME,
// AUTH, ENHANCEDSTATUSCODES, STARTTLS, CHUNKING...). About 20% of sessions
// authenticate (AUTH PLAIN with or without an initial response, AUTH LOGIN
// with its 334 prompts) and a few percent fail with 535 5.7.8 and quit.
// Clients that can pipeline do when the server offers it. Transactions have
// 1 to 5 recipients, a few refused (550 5.1.1, 450 4.2.0 greylisting; when
// all are, RSET or QUIT follows instead of the message); some sessions
// carry several transactions, with RSET between them, a few bounces use the
// null sender, and a few messages are refused with 554 after DATA.
//
// Messages are 1 KiB to -max-message on a skewed log scale (median about
// 5 KiB, 90% under 100 KiB, 4% over 180 KiB): plain text (7-bit, 8-bit
// UTF-8, quoted-printable UTF-8 or ISO-8859-1), multipart/alternative text
// and quoted-printable HTML (sometimes multipart/related with an inline
// image), multipart/mixed with base64 attachments (PDF, PNG, JPEG, ZIP,
// Office) whose file names are plain, RFC 2231 or RFC 2047 encoded;
// subjects and names are encoded words in UTF-8 or ISO-8859-1; relays add
// Received fields. Lines end in CRLF, base64 lines are 76 columns, DATA
// content is dot-stuffed. Bodies are generated once per run into a pool
// and shared by the sessions, each with its own header fields.
//
// Connections open with a handshake and most end with QUIT, 221 and FINs;
// a few end with RST (after 221 or instead of QUIT). A few percent of the
// sessions have TCP trouble in their message data: two segments swapped, a
// segment sent twice, or one lost from the capture (a gap). 12% of clients
// are IPv6. Times never go back; each client has its own round-trip time,
// server delays and data rate.
//
// With -open N the capture holds N connections (up to millions) open at the
// same time: first each does its handshake, greeting, EHLO and MAIL FROM,
// one after the other about 100 µs apart (at most 2 minutes of capture
// time), then each in the same order sends one recipient, a message of
// about 1 KiB and QUIT, and closes; no connection is idle long enough for
// a 5-minute idle timeout to close it. smtpscope tracks 100000 connections
// unless told otherwise: read such a capture with --max-connections N.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := benchgen(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(2)
	}
}

// benchgen runs the command with args, writing to stdout unless -o says
// otherwise.
func benchgen(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("benchgen", flag.ContinueOnError)
	o := options{Sessions: 10000, Concurrent: 100, Seed: 1, MaxMessage: 1 << 20}
	fs.IntVar(&o.Sessions, "n", o.Sessions, "number of sessions")
	fs.Func("bytes", "stop at about `SIZE` bytes (100M, 1G, 1.5G...); overrides -n", func(s string) error {
		n, err := parseSize(s)
		o.Bytes = n
		return err
	})
	fs.IntVar(&o.Concurrent, "concurrent", o.Concurrent, "sessions open at the same time")
	fs.IntVar(&o.Open, "open", 0, "write `N` connections all open at once instead of the mix")
	fs.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the generator")
	fs.Func("max-message", "largest message in `bytes` (default 1M); the body pool takes a few times this", func(s string) error {
		n, err := parseSize(s)
		o.MaxMessage = int(min(n, 1<<40))
		return err
	})
	out := fs.String("o", "", "output `file` (default standard output)")
	verbose := fs.Bool("v", false, "report sessions, packets, bytes and speed on standard error")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	w := stdout
	var f *os.File
	if *out != "" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	began := time.Now()
	st, err := run(w, o)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if *verbose && err == nil {
		d := time.Since(began)
		fmt.Fprintf(os.Stderr, "benchgen: %d sessions, %d packets, %d bytes in %.2fs (%.0f MB/s)\n",
			st.Sessions, st.Packets, st.Bytes, d.Seconds(), float64(st.Bytes)/1e6/d.Seconds())
	}
	return err
}

// parseSize parses a size: a number, possibly with a fraction, and an
// optional K, M, G or T (powers of 1024), optionally followed by B or iB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "i")
	mult := 1.0
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult = 1 << 10
		case 'm', 'M':
			mult = 1 << 20
		case 'g', 'G':
			mult = 1 << 30
		case 't', 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || !(v >= 0) || v*mult > 1<<62 {
		return 0, fmt.Errorf("bad size %q: want a number with an optional K, M, G or T", s)
	}
	return int64(v * mult), nil
}
