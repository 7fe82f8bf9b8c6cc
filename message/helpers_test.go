package message

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// crlf turns the LF line ends of a test message into CRLF.
func crlf(s string) string {
	return strings.ReplaceAll(s, "\n", "\r\n")
}

// base64Lines encodes b as base64 in lines of 76 characters, each ended by CRLF.
func base64Lines(b []byte) string {
	enc := base64.StdEncoding.EncodeToString(b)
	var sb strings.Builder
	for len(enc) > 76 {
		sb.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	sb.WriteString(enc + "\r\n")
	return sb.String()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// allBytes holds every byte value once.
var allBytes = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// splitter cuts a message into the pieces written to the Parser.
type splitter struct {
	name string
	cut  func(msg []byte) [][]byte
}

func pieces(msg []byte, size func(i int) int) [][]byte {
	var out [][]byte
	for i := 0; len(msg) > 0; i++ {
		n := min(max(size(i), 1), len(msg))
		out = append(out, msg[:n])
		msg = msg[n:]
	}
	return out
}

var splitters = []splitter{
	{"whole", func(m []byte) [][]byte { return [][]byte{m} }},
	{"1-byte", func(m []byte) [][]byte { return pieces(m, func(int) int { return 1 }) }},
	{"odd", func(m []byte) [][]byte {
		return pieces(m, func(i int) int { return 1 + i%2 })
	}},
	{"random-1", randomSplit(1)},
	{"random-2", randomSplit(2)},
	{"random-3", randomSplit(3)},
}

func randomSplit(seed int64) func([]byte) [][]byte {
	return func(m []byte) [][]byte {
		r := rand.New(rand.NewSource(seed))
		return pieces(m, func(int) int {
			if r.Intn(4) == 0 {
				return 1 + r.Intn(3)
			}
			return 1 + r.Intn(700)
		})
	}
}

// extracted collects what the Part callback received.
type extracted struct {
	mu     sync.Mutex
	bodies map[string]*bytes.Buffer
	closed map[string]int
}

func newExtracted() *extracted {
	return &extracted{bodies: map[string]*bytes.Buffer{}, closed: map[string]int{}}
}

type extractWriter struct {
	e    *extracted
	path string
}

func (w extractWriter) Write(b []byte) (int, error) {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	return w.e.bodies[w.path].Write(b)
}

func (w extractWriter) Close() error {
	w.e.mu.Lock()
	defer w.e.mu.Unlock()
	w.e.closed[w.path]++
	return nil
}

func (e *extracted) part(p *Part) io.WriteCloser {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bodies[p.Path] = &bytes.Buffer{}
	return extractWriter{e, p.Path}
}

// parse feeds the pieces to a Parser, through a buffer overwritten after each Write to catch a
// Parser that keeps it.
func parse(o Options, parts [][]byte) *Message {
	o.HashMessage = true // the golden dumps show it
	p := NewParser(o)
	var scratch []byte
	for _, b := range parts {
		scratch = append(scratch[:0], b...)
		n, err := p.Write(scratch)
		if n != len(b) || err != nil {
			panic(fmt.Sprintf("Write = %d, %v", n, err))
		}
		for i := range scratch {
			scratch[i] = 'X'
		}
	}
	p.Close()
	return p.Message()
}

// dump writes everything a Message holds, one fact a line.
func dump(m *Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "size %d\nsha256 %s\n", m.Size, m.SHA256)
	h := m.Header
	for _, f := range []struct {
		k string
		v []string
	}{{"from", h.From}, {"sender", h.Sender}, {"reply-to", h.ReplyTo}, {"to", h.To}, {"cc", h.Cc}, {"bcc", h.Bcc}} {
		for _, a := range f.v {
			fmt.Fprintf(&b, "%s %q\n", f.k, a)
		}
	}
	fmt.Fprintf(&b, "subject %q\ndate %q\nmessage-id %q\nin-reply-to %q\nuser-agent %q\n",
		h.Subject, h.Date, h.MessageID, h.InReplyTo, h.UserAgent)
	fmt.Fprintf(&b, "received %d first %q last %q\ncontent-type %q\n", h.Received, h.FirstReceived, h.LastReceived, h.ContentType)
	for _, p := range m.Parts {
		fmt.Fprintf(&b, "part %s depth=%d type=%q charset=%q encoding=%q disposition=%q filename=%q size=%d sha256=%q attachment=%v\n",
			p.Path, p.Depth, p.ContentType, p.Charset, p.Encoding, p.Disposition, p.Filename, p.Size, p.SHA256, p.Attachment)
		for _, pr := range p.Problems {
			fmt.Fprintf(&b, "  problem %q\n", pr)
		}
	}
	fmt.Fprintf(&b, "dropped parts %d\npreview %q\n", m.DroppedParts, m.Preview)
	for _, pr := range m.Problems {
		fmt.Fprintf(&b, "problem %q\n", pr)
	}
	return b.String()
}

// liveGoroutines counts the goroutines that run, leaving out the idle parse workers (see
// spawn): those wait for the next message and hold nothing of the last one.
func liveGoroutines() int {
	return runtime.NumGoroutine() - int(idleWorkers.Load())
}

// waitGoroutines waits until no more goroutines run than base (from liveGoroutines).
func waitGoroutines(t testing.TB, base int) {
	t.Helper()
	for range 100 {
		if liveGoroutines() <= base {
			return
		}
		runtime.Gosched()
	}
	deadline := time.Now().Add(2 * time.Second)
	for liveGoroutines() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", liveGoroutines(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}
