package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/smtpscope/smtpscope/extract"
	"github.com/smtpscope/smtpscope/message"
	"github.com/smtpscope/smtpscope/smtpdecode"
)

// Messages configures what is done with the messages sessions carry. The
// zero value parses nothing.
type Messages struct {
	// Parse parses each message (headers, MIME parts) as it streams; the
	// result is in the smtpdecode.Message's Parsed field as a
	// *message.Message.
	Parse   bool
	Options message.Options
	// Dir, when set, receives each message as an .eml file (its bytes as
	// received, dot-unstuffed) and its attachments, decoded.
	Dir *extract.Dir
	// Mbox, when set, has each message appended to it.
	Mbox *extract.Mbox
	// Select, when set, decides as a message begins whether it is written to Dir and Mbox:
	// s is its session so far (ID, addresses, AUTH, its transaction's envelope), cs the
	// message. A message not selected is still parsed when Parse is set.
	Select func(s *smtpdecode.Session, cs smtpdecode.ContentStart) bool
}

func (m *Messages) wanted() bool { return m.Parse || m.Dir != nil || m.Mbox != nil }

// messageSink takes one message's content as it streams: it parses it and
// writes it where Messages asks.
type messageSink struct {
	start   smtpdecode.ContentStart
	session int64
	parser  *message.Parser
	dir     *extract.Dir
	eml     *os.File // written under a temporary name, renamed when the subject is known
	emlPath string
	mbox    io.WriteCloser
	fail    func(error)
	gate    *gate
	// async: Close only ends the input and the session's emission waits for
	// the parse (see outQueue); set when nothing else needs the result at once.
	async bool
}

// Caps on the messages in progress at once (sessions interleave: each open
// message holds a parser, and with extraction up to three open files).
const (
	maxOpenParsers = 1024
	maxOpenWritten = 256
)

// gate counts the messages in progress in one run.
type gate struct{ open int }

// newMessageSink starts a message of session id; past the caps the message
// is neither parsed nor written, and when it was to be written that is
// reported. With async set, Close only ends the parse's input and the parse
// completes later (see output); it waits for a token of async's first.
func (o *Messages) newMessageSink(g *gate, id int64, cs smtpdecode.ContentStart, fail func(error), async *output) *messageSink {
	limit := maxOpenParsers
	if o.Dir != nil || o.Mbox != nil {
		limit = maxOpenWritten
	}
	if g.open >= limit {
		if o.Dir != nil || o.Mbox != nil {
			fail(fmt.Errorf("message %d of session %d not written: more than %d messages were in progress at once", cs.Transaction, id, limit))
		}
		return nil
	}
	g.open++
	s := &messageSink{start: cs, session: id, dir: o.Dir, fail: fail, gate: g, async: async != nil}
	mo := o.Options
	// The whole message's hash identifies the .eml file it is saved as.
	mo.HashMessage = mo.HashMessage || o.Dir != nil
	if async != nil {
		async.beginParse()
		mo.Done = async.endParse
	}
	if o.Dir != nil {
		mo.Part = s.attachment
	}
	s.parser = message.NewParser(mo)
	if o.Dir != nil {
		f, path, err := o.Dir.Create(".eml.part", s.prefix())
		if err != nil {
			fail(err)
		} else {
			s.eml, s.emlPath = f, path
		}
	}
	if o.Mbox != nil {
		s.mbox = o.Mbox.Begin(cs.MailFrom, cs.Time)
	}
	return s
}

// prefix names a message's files: its session and transaction.
func (s *messageSink) prefix() string {
	return fmt.Sprintf("s%d-t%d", s.session, s.start.Transaction)
}

// attachment opens the file an attachment is written to as it streams.
func (s *messageSink) attachment(p *message.Part) io.WriteCloser {
	if !p.Attachment {
		return nil
	}
	name := p.Filename
	if name == "" {
		name = "part" + p.Path
	}
	f, path, err := s.dir.Create("", s.prefix()+"-att"+p.Path, name)
	if err != nil {
		s.fail(err)
		return nil
	}
	return &attachmentFile{f: f, path: path, fail: s.fail}
}

// attachmentFile is an attachment being written. A file that could not be
// written whole is removed, and the failure reported.
type attachmentFile struct {
	f    *os.File
	path string
	fail func(error)
	err  error
}

func (a *attachmentFile) Write(p []byte) (int, error) {
	if a.err != nil {
		return 0, a.err
	}
	n, err := a.f.Write(p)
	if err != nil {
		a.err = err
		a.fail(err)
	}
	return n, err
}

func (a *attachmentFile) Close() error {
	err := a.f.Close()
	if err != nil && a.err == nil {
		a.fail(err)
	}
	if err != nil || a.err != nil {
		os.Remove(a.path)
	}
	return err
}

func (s *messageSink) Write(p []byte) (int, error) {
	s.parser.Write(p)
	if s.eml != nil {
		if _, err := s.eml.Write(p); err != nil {
			s.fail(err)
			s.eml.Close()
			os.Remove(s.emlPath)
			s.eml = nil
		}
	}
	if s.mbox != nil {
		if _, err := s.mbox.Write(p); err != nil {
			s.fail(err)
			s.mbox = nil
		}
	}
	return len(p), nil
}

// Close ends the message: the parse is kept with it, the .eml file gets its
// name, the mbox entry is appended. An async sink only ends the input: its
// parse is kept with the message by finish.
func (s *messageSink) Close() error {
	s.gate.open--
	if s.async {
		s.parser.End()
		return nil
	}
	s.parser.Close()
	m := s.parser.Message()
	s.start.Message.Parsed = m
	if s.eml != nil {
		err := s.eml.Close()
		if err == nil {
			var f *os.File
			var final string
			f, final, err = s.dir.Create(".eml", s.prefix(), s.start.MailFrom, m.Header.Subject)
			if err == nil {
				f.Close()
				err = os.Rename(s.emlPath, final)
			}
		}
		if err != nil {
			s.fail(err)
			os.Remove(s.emlPath)
		}
	}
	if s.mbox != nil {
		if err := s.mbox.Close(); err != nil {
			s.fail(err)
		}
	}
	return nil
}

// finish keeps the parse of an ended async sink with its message, waiting
// for it if need be.
func (s *messageSink) finish() {
	s.start.Message.Parsed = s.parser.Message()
}

// errorList keeps the first extraction errors of a run. Attachments fail
// on their parser's goroutine, so it is locked.
type errorList struct {
	mu   sync.Mutex
	errs []error
	n    int
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n++
	if len(l.errs) < 5 {
		l.errs = append(l.errs, err)
	}
}

func (l *errorList) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return nil
	}
	err := errors.Join(l.errs...)
	if l.n > len(l.errs) {
		err = fmt.Errorf("%w (and %d more)", err, l.n-len(l.errs))
	}
	return fmt.Errorf("writing messages: %w", err)
}
