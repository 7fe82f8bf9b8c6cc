package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/smtpscope/smtpscope/report"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// sessionWriter is what the output formats have in common.
type sessionWriter interface {
	Session(*smtpdecode.Session) error
}

// outputs are the reports a run writes: the format asked for on stdout (none when only --html
// was asked for) and the HTML report. Sessions the filter does not select reach none of them.
type outputs struct {
	filter report.Filter
	bw     *bufio.Writer // stdout, buffered
	main   sessionWriter // on bw, or nil
	text   *report.Text
	sum    *report.Summary
	zeek   *report.Zeek

	html     *report.HTML
	htmlFile *os.File
	htmlPath string
	shown    int64 // sessions written
}

// streaming reports whether the input comes as it happens (a live capture, standard input):
// then each session is shown as soon as it ends.
func (c *config) streaming() bool {
	return c.iface != "" || len(c.inputs) == 1 && c.inputs[0] == "-"
}

// stdoutUsed reports whether the run writes to stdout.
func (c *config) stdoutUsed() bool { return c.html == "" || c.format != "" }

// openOutputs opens the writers the configuration asks for.
func openOutputs(c *config, stdout io.Writer, ro report.Options) (*outputs, error) {
	o := &outputs{filter: c.filter, bw: bufio.NewWriterSize(stdout, 64<<10)}
	if c.stdoutUsed() {
		switch c.format {
		case "", "text":
			o.text = report.NewText(o.bw, ro)
			o.main = o.text
		case "json":
			o.main = report.NewJSON(o.bw, ro)
		case "summary":
			o.sum = report.NewSummary(o.bw, ro, report.SummaryOptions{Width: terminalWidth(stdout), Stream: c.streaming()})
			o.main = o.sum
		case "zeek", "zeek-json":
			o.zeek = report.NewZeek(o.bw, ro, c.format == "zeek-json")
			o.main = o.zeek
		}
	}
	if c.html != "" {
		if hi, err := os.Stat(c.html); err == nil {
			for _, in := range c.inputs {
				if ii, err := os.Stat(in); err == nil && os.SameFile(hi, ii) {
					return nil, fmt.Errorf("--html %s is also a capture to read", report.Printable(c.html))
				}
			}
		}
		// Written beside its name and renamed at the end, so a failed run leaves an older
		// report as it was; 0600 (CreateTemp's), as a report of mail is private like the
		// capture it comes from.
		f, err := os.CreateTemp(filepath.Dir(c.html), ".smtpscope-html-*")
		if err != nil {
			return nil, fmt.Errorf("--html: %w", err)
		}
		h, err := report.NewHTML(f, ro, report.HTMLInfo{Title: htmlTitle(c.inputs), Files: c.inputs})
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, fmt.Errorf("--html: %w", err)
		}
		o.html, o.htmlFile, o.htmlPath = h, f, c.html
	}
	return o, nil
}

// htmlTitle names the report after its captures.
func htmlTitle(inputs []string) string {
	switch len(inputs) {
	case 0:
		return "smtpscope"
	case 1:
		return "smtpscope: " + inputs[0]
	}
	return fmt.Sprintf("smtpscope: %s and %d more", inputs[0], len(inputs)-1)
}

// terminalWidth is the width of the terminal w is, or 0.
func terminalWidth(w io.Writer) int {
	if !isTerminal(w) {
		return 0
	}
	width, _, err := term.GetSize(int(w.(*os.File).Fd()))
	if err != nil {
		return 0
	}
	return width
}

// Session writes s to every output the filter lets it reach.
func (o *outputs) Session(s *smtpdecode.Session) error {
	if !o.filter.Match(s) {
		return nil
	}
	o.shown++
	var err error
	if o.main != nil {
		err = o.main.Session(s)
	}
	if o.html != nil {
		err = errors.Join(err, o.html.Session(s))
	}
	return err
}

// flush writes out what stdout's buffer holds.
func (o *outputs) flush() error { return o.bw.Flush() }

// finish ends the outputs: the closing line of text and summary (stats), the totals, the
// Zeek #close line, the HTML file.
func (o *outputs) finish(stats string) error {
	var err error
	switch {
	case o.text != nil:
		err = o.text.Line(stats)
	case o.sum != nil:
		err = o.sum.Close()
		if err == nil {
			err = o.sum.Line(stats)
		}
	case o.zeek != nil:
		err = o.zeek.Close()
	}
	err = errors.Join(err, o.bw.Flush())
	if o.html != nil {
		herr := errors.Join(o.html.Close(), o.htmlFile.Close())
		if herr == nil {
			herr = os.Rename(o.htmlFile.Name(), o.htmlPath)
		}
		if herr != nil {
			os.Remove(o.htmlFile.Name())
			err = errors.Join(err, fmt.Errorf("--html %s: %w", report.Printable(o.htmlPath), herr))
		}
		o.html = nil
	}
	return err
}

// abort drops the HTML report of a run that does not finish; after finish it does nothing.
func (o *outputs) abort() {
	if o.html != nil {
		o.html.Close()
		o.htmlFile.Close()
		os.Remove(o.htmlFile.Name())
		o.html = nil
	}
}
