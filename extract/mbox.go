package extract

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

var (
	errMboxClosed    = errors.New("extract: mbox closed")
	errMessageClosed = errors.New("extract: mbox message already closed")
)

// Mbox appends messages to one mbox file in mboxrd format.
//
// An entry is a "From sender date" line, the message with LF line endings
// and every line matching ^>*From  quoted with one more '>', and a blank
// line. An Mbox is safe for use by several goroutines; each of its messages
// is written by one goroutine at a time.
type Mbox struct {
	dir string // where temporary files go

	mu      sync.Mutex
	f       *os.File
	closed  bool
	pending map[*message]struct{} // begun, not yet closed
}

// OpenMbox opens the mbox file path for appending, creating it (0600) if
// absent.
func OpenMbox(path string) (*Mbox, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	return &Mbox{dir: filepath.Dir(path), f: f, pending: make(map[*message]struct{})}, nil
}

// Begin starts one message from envelope sender (empty: "MAILER-DAEMON")
// received at t; the message's bytes (as received: CRLF line endings) are
// written to the returned writer and appended to the mbox, atomically as one
// entry, when it is closed. Several messages may be in progress at once
// (sessions interleave in a capture): each is buffered in its own temporary
// file (in the mbox's folder, 0600, removed afterwards), never in memory, and
// entries are appended in the order their writers are closed.
//
// Spaces, control and format characters and invalid UTF-8 in from become
// '_'. An error creating the temporary file is returned by the writer's
// Write and Close. Messages still in progress when the Mbox is closed are
// discarded.
func (m *Mbox) Begin(from string, t time.Time) io.WriteCloser {
	msg := &message{m: m, head: "From " + envelopeSender(from) + " " + t.UTC().Format(time.ANSIC) + "\n"}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		msg.err = errMboxClosed
		return msg
	}
	tmp, err := os.CreateTemp(m.dir, ".smtpscope-mbox-*")
	if err != nil {
		msg.err = fmt.Errorf("extract: %w", err)
		return msg
	}
	msg.tmp = tmp
	msg.q.w = bufio.NewWriterSize(tmp, 4096)
	m.pending[msg] = struct{}{}
	return msg
}

// Close discards the messages still in progress and closes the mbox file.
func (m *Mbox) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errMboxClosed
	}
	m.closed = true
	pending := m.pending
	m.pending = nil
	err := m.f.Close()
	m.mu.Unlock()

	for msg := range pending {
		msg.mu.Lock()
		if !msg.done {
			msg.done = true
			msg.err = errMboxClosed
			if rerr := msg.discard(); err == nil {
				err = rerr
			}
		}
		msg.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	return nil
}

// append adds one entry: head, then the quoted message in tmp. On failure
// the mbox is cut back to its former size, so no partial entry stays.
func (m *Mbox) append(head string, tmp *os.File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errMboxClosed
	}
	fi, err := m.f.Stat()
	if err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	if _, err = tmp.Seek(0, io.SeekStart); err == nil {
		if _, err = io.WriteString(m.f, head); err == nil {
			_, err = io.Copy(m.f, tmp)
		}
	}
	if err != nil {
		m.f.Truncate(fi.Size())
		return fmt.Errorf("extract: %w", err)
	}
	return nil
}

// message is one mbox entry in progress, quoted into its temporary file.
type message struct {
	m    *Mbox
	head string // the entry's "From " line

	mu   sync.Mutex
	tmp  *os.File
	q    quoter
	err  error // sticky: every later Write and Close returns it
	done bool  // closed or discarded
}

func (msg *message) Write(p []byte) (int, error) {
	msg.mu.Lock()
	defer msg.mu.Unlock()
	if msg.done {
		if msg.err != nil {
			return 0, msg.err
		}
		return 0, errMessageClosed
	}
	if msg.err != nil {
		return 0, msg.err
	}
	msg.q.write(p)
	if msg.q.err != nil {
		msg.err = fmt.Errorf("extract: %w", msg.q.err)
		return 0, msg.err
	}
	return len(p), nil
}

// Close appends the message to the mbox and removes its temporary file.
func (msg *message) Close() error {
	msg.mu.Lock()
	defer msg.mu.Unlock()
	if msg.done {
		if msg.err != nil {
			return msg.err
		}
		return errMessageClosed
	}
	msg.done = true
	if msg.tmp == nil {
		return msg.err
	}
	err := msg.err
	if err == nil {
		msg.q.finish()
		if msg.q.err == nil {
			msg.q.err = msg.q.w.Flush()
		}
		if msg.q.err != nil {
			err = fmt.Errorf("extract: %w", msg.q.err)
		} else {
			err = msg.m.append(msg.head, msg.tmp)
		}
	}
	msg.m.mu.Lock()
	delete(msg.m.pending, msg)
	msg.m.mu.Unlock()
	if rerr := msg.discard(); err == nil && rerr != nil {
		err = fmt.Errorf("extract: %w", rerr)
	}
	msg.err = err
	return err
}

// discard closes and removes the temporary file.
func (msg *message) discard() error {
	cerr := msg.tmp.Close()
	if err := os.Remove(msg.tmp.Name()); err != nil {
		return err
	}
	return cerr
}

// quoteState is where the quoter is in a line.
type quoteState uint8

const (
	// stateLineStart: at the start of a line or after its leading '>'s.
	stateLineStart quoteState = iota
	// stateFrom: part of "From " seen after the line's leading '>'s.
	stateFrom
	// stateText: inside a line that needs no quoting.
	stateText
)

const fromLine = "From "

// quoter turns message bytes pushed in any pieces into mboxrd: CRLF becomes
// LF and a line matching ^>*From  gets one more '>'. It holds back at most a
// CR and the four bytes "From".
type quoter struct {
	w       *bufio.Writer
	err     error // the first write error
	state   quoteState
	matched int  // in stateFrom: bytes of "From " seen
	cr      bool // a CR is held back: it may start a CRLF
	last    byte // the last byte written, 0 before any
}

func (q *quoter) write(p []byte) {
	for len(p) > 0 {
		if q.cr {
			q.cr = false
			if p[0] == '\n' {
				q.put("\n")
				q.state = stateLineStart
				p = p[1:]
				continue
			}
			q.put("\r") // a bare CR stays
		}
		switch q.state {
		case stateLineStart:
			switch p[0] {
			case '>':
				q.put(">")
				p = p[1:]
			case 'F':
				q.state, q.matched = stateFrom, 1
				p = p[1:]
			default:
				q.state = stateText
			}
		case stateFrom:
			if p[0] != fromLine[q.matched] {
				q.put(fromLine[:q.matched])
				q.state = stateText
				break
			}
			q.matched++
			p = p[1:]
			if q.matched == len(fromLine) {
				q.put(">" + fromLine)
				q.state = stateText
			}
		case stateText:
			i := bytes.IndexAny(p, "\r\n")
			if i < 0 {
				q.putBytes(p)
				return
			}
			q.putBytes(p[:i])
			if p[i] == '\n' {
				q.put("\n")
				q.state = stateLineStart
			} else {
				q.cr = true
			}
			p = p[i+1:]
		}
	}
}

// finish writes what is held back and ends the entry: the message ends with
// a newline (unless empty), then a blank line follows.
func (q *quoter) finish() {
	if q.cr {
		q.cr = false
		q.put("\r")
	}
	if q.state == stateFrom {
		q.put(fromLine[:q.matched])
	}
	q.state = stateText
	if q.last != 0 && q.last != '\n' {
		q.put("\n")
	}
	q.put("\n")
}

// put writes s, keeping the first error.
func (q *quoter) put(s string) {
	if len(s) == 0 || q.err != nil {
		return
	}
	_, q.err = q.w.WriteString(s)
	q.last = s[len(s)-1]
}

// putBytes writes p, keeping the first error.
func (q *quoter) putBytes(p []byte) {
	if len(p) == 0 || q.err != nil {
		return
	}
	_, q.err = q.w.Write(p)
	q.last = p[len(p)-1]
}

// envelopeSender is from made fit for a "From " line: no spaces, controls,
// format characters or invalid UTF-8 (each becomes '_'), "MAILER-DAEMON"
// when empty.
func envelopeSender(from string) string {
	if from == "" {
		return "MAILER-DAEMON"
	}
	var b strings.Builder
	b.Grow(len(from))
	for i := 0; i < len(from); {
		r, size := utf8.DecodeRuneInString(from[i:])
		i += size
		if r == utf8.RuneError && size == 1 || r == ' ' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			b.WriteByte('_')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}
