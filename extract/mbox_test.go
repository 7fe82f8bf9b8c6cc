package extract

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	t0 = time.Date(2026, 11, 22, 0, 26, 42, 707335000, time.UTC)
	// t1 is 2 Jan 2026 13:04:05 UTC.
	t1 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("EET", 2*3600))
)

// quotingMessage has every kind of line mboxrd quoting must tell apart.
const quotingMessage = "From x\r\n" +
	">From y\r\n" +
	">>From z\r\n" +
	"Fromage\r\n" +
	"From\r\n" +
	"From:\r\n" +
	" From x\r\n" +
	"x From y\r\n" +
	">>>>From \r\n" +
	">\r\n" +
	"\r\n" +
	"From \r\n" +
	">F\r\n" +
	"bare\rCR\r\r\n" +
	"lf only\n" +
	"From end"

// wantQuoted is quotingMessage as an mboxrd entry body.
const wantQuoted = ">From x\n" +
	">>From y\n" +
	">>>From z\n" +
	"Fromage\n" +
	"From\n" +
	"From:\n" +
	" From x\n" +
	"x From y\n" +
	">>>>>From \n" +
	">\n" +
	"\n" +
	">From \n" +
	">F\n" +
	"bare\rCR\r\n" +
	"lf only\n" +
	">From end\n" +
	"\n"

// quote runs the quoter on message pushed in the given pieces.
func quote(t *testing.T, pieces ...string) string {
	t.Helper()
	var buf bytes.Buffer
	q := quoter{w: bufio.NewWriterSize(&buf, 16)}
	for _, p := range pieces {
		q.write([]byte(p))
	}
	q.finish()
	if err := q.w.Flush(); err != nil || q.err != nil {
		t.Fatal(err, q.err)
	}
	return buf.String()
}

func TestQuoter(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "\n"},
		{"\r\n", "\n\n"},
		{"a", "a\n\n"},
		{"a\r\n", "a\n\n"},
		{"a\r", "a\r\n\n"},
		{"a\r\r\n", "a\r\n\n"},
		{"F", "F\n\n"},
		{"From", "From\n\n"},
		{">>Fro", ">>Fro\n\n"},
		{"From ", ">From \n\n"},
		{"From \r\nFrom ", ">From \n>From \n\n"},
		{"\rFrom x", "\rFrom x\n\n"},
		{"Fr\rom x", "Fr\rom x\n\n"},
		{"FFrom x", "FFrom x\n\n"},
		{">>From\tx", ">>From\tx\n\n"},
		{"no\r\nnewline at end", "no\nnewline at end\n\n"},
		{quotingMessage, wantQuoted},
	}
	for _, tt := range tests {
		if got := quote(t, tt.in); got != tt.want {
			t.Errorf("quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestQuoterSplits pushes quotingMessage cut at every pair of offsets, and a
// byte at a time: the result never depends on the cuts.
func TestQuoterSplits(t *testing.T) {
	m := quotingMessage
	for i := 0; i <= len(m); i++ {
		for j := i; j <= len(m); j++ {
			if got := quote(t, m[:i], m[i:j], m[j:]); got != wantQuoted {
				t.Fatalf("cut at %d and %d: %q, want %q", i, j, got, wantQuoted)
			}
		}
	}
	var bytewise []string
	for i := range len(m) {
		bytewise = append(bytewise, m[i:i+1])
	}
	if got := quote(t, bytewise...); got != wantQuoted {
		t.Fatalf("byte by byte: %q, want %q", got, wantQuoted)
	}
}

// entry is one message read back from an mbox.
type entry struct {
	sender, date, body string
}

// readMboxrd parses an mboxrd file: a line starting "From " begins an entry,
// one '>' is removed from a line matching ^>+From , and each entry's last
// line, which must be blank, is dropped.
func readMboxrd(t *testing.T, data string) []entry {
	t.Helper()
	if data != "" && !strings.HasSuffix(data, "\n") {
		t.Fatalf("mbox does not end with a newline: %q", data)
	}
	var entries []entry
	for _, line := range strings.SplitAfter(data, "\n") {
		if line == "" {
			continue
		}
		if head, ok := strings.CutPrefix(line, "From "); ok {
			sender, date, ok := strings.Cut(strings.TrimSuffix(head, "\n"), " ")
			if !ok {
				t.Fatalf("bad From line %q", line)
			}
			entries = append(entries, entry{sender: sender, date: date})
			continue
		}
		if len(entries) == 0 {
			t.Fatalf("mbox does not start with a From line: %q", data)
		}
		if rest := strings.TrimLeft(line, ">"); len(rest) < len(line) && strings.HasPrefix(rest, "From ") {
			line = line[1:]
		}
		entries[len(entries)-1].body += line
	}
	for i, e := range entries {
		body, ok := strings.CutSuffix(e.body, "\n")
		if !ok || body != "" && !strings.HasSuffix(body, "\n") {
			t.Fatalf("entry %d does not end with a blank line: %q", i, e.body)
		}
		entries[i].body = body
	}
	return entries
}

// normalize is message as it should read back from an mbox: LF line endings,
// ending with a newline unless empty.
func normalize(message string) string {
	m := strings.ReplaceAll(message, "\r\n", "\n")
	if m != "" && !strings.HasSuffix(m, "\n") {
		m += "\n"
	}
	return m
}

func openMbox(t *testing.T) (*Mbox, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mail.mbox")
	m, err := OpenMbox(path)
	if err != nil {
		t.Fatal(err)
	}
	return m, path
}

func writeAll(t *testing.T, w io.Writer, pieces ...string) {
	t.Helper()
	for _, p := range pieces {
		if n, err := io.WriteString(w, p); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
}

func closeMbox(t *testing.T, m *Mbox, path string) string {
	t.Helper()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, filepath.Dir(path)); !slices.Equal(names, []string{filepath.Base(path)}) {
		t.Errorf("beside the mbox: %q, want only it (temporary files removed)", names)
	}
	return readFile(t, path)
}

func TestMboxInterleaved(t *testing.T) {
	m, path := openMbox(t)
	first := "Subject: one\r\n\r\nFrom the first session\r\n"
	second := "Subject: two\r\n\r\n>From the second\r\nno newline"
	a := m.Begin("alice@example.com", t0)
	b := m.Begin("", t1)
	writeAll(t, a, first[:10])
	writeAll(t, b, second[:20])
	writeAll(t, a, first[10:])
	writeAll(t, b, second[20:])
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got := closeMbox(t, m, path)
	want := "From MAILER-DAEMON Fri Jan  2 13:04:05 2026\n" +
		"Subject: two\n\n>>From the second\nno newline\n\n" +
		"From alice@example.com Sun Nov 22 00:26:42 2026\n" +
		"Subject: one\n\n>From the first session\n\n"
	if got != want {
		t.Errorf("mbox:\n%q\nwant\n%q", got, want)
	}
	entries := readMboxrd(t, got)
	wantEntries := []entry{
		{"MAILER-DAEMON", "Fri Jan  2 13:04:05 2026", normalize(second)},
		{"alice@example.com", "Sun Nov 22 00:26:42 2026", normalize(first)},
	}
	if !slices.Equal(entries, wantEntries) {
		t.Errorf("read back %q, want %q", entries, wantEntries)
	}
}

// TestMboxSplits writes quotingMessage cut at every offset, each as its own
// message, and reads them all back.
func TestMboxSplits(t *testing.T) {
	m, path := openMbox(t)
	msg := quotingMessage
	for i := 0; i <= len(msg); i++ {
		w := m.Begin("s@x", t0)
		writeAll(t, w, msg[:i], msg[i:])
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data := closeMbox(t, m, path)
	entries := readMboxrd(t, data)
	if len(entries) != len(msg)+1 {
		t.Fatalf("%d entries, want %d", len(entries), len(msg)+1)
	}
	for i, e := range entries {
		if e.body != normalize(msg) {
			t.Errorf("cut at %d: read back %q, want %q", i, e.body, normalize(msg))
		}
	}
	if want := strings.Repeat("From s@x Sun Nov 22 00:26:42 2026\n"+wantQuoted, len(msg)+1); data != want {
		t.Errorf("mbox differs from the expected quoting")
	}
}

func TestMboxMessages(t *testing.T) {
	messages := []string{
		"",
		"\r\n",
		"no newline at end",
		"Subject: x\r\n\r\nbody\r\n",
		"LF only\nFrom here\n",
		quotingMessage,
		"From \r\n\r\nFrom \r\n",
		"ends in CR\r",
		strings.Repeat(">", 10000) + "From long\r\n",
		strings.Repeat("line\r\n", 5000),
	}
	m, path := openMbox(t)
	for _, msg := range messages {
		w := m.Begin("s@x", t0)
		writeAll(t, w, msg)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	entries := readMboxrd(t, closeMbox(t, m, path))
	if len(entries) != len(messages) {
		t.Fatalf("%d entries, want %d", len(entries), len(messages))
	}
	for i, e := range entries {
		if want := normalize(messages[i]); e.body != want {
			t.Errorf("message %d: read back %q, want %q", i, e.body, want)
		}
	}
}

func TestMboxSender(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "MAILER-DAEMON"},
		{"alice@example.com", "alice@example.com"},
		{"a b@x", "a_b@x"},
		{"a\tb\r\n\x00@x", "a_b___@x"},
		{"\x1b[31m@x", "_[31m@x"},
		{"a\u202eb\u00a0c\x85@x\xff", "a_b_c_@x_"},
		{"ü@例え.jp", "ü@例え.jp"},
	}
	m, path := openMbox(t)
	for _, tt := range tests {
		w := m.Begin(tt.in, t0)
		writeAll(t, w, "x\r\n")
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	entries := readMboxrd(t, closeMbox(t, m, path))
	if len(entries) != len(tests) {
		t.Fatalf("%d entries, want %d", len(entries), len(tests))
	}
	for i, tt := range tests {
		if e := entries[i]; e.sender != tt.want || e.date != "Sun Nov 22 00:26:42 2026" || e.body != "x\n" {
			t.Errorf("Begin(%q): read back %+v, want sender %q", tt.in, e, tt.want)
		}
	}
}

// TestMboxAppends opens an existing mbox: entries go after what it holds.
func TestMboxAppends(t *testing.T) {
	m, path := openMbox(t)
	w := m.Begin("a@x", t0)
	writeAll(t, w, "one\r\n")
	must(t, w.Close())
	closeMbox(t, m, path)

	m, err := OpenMbox(path)
	if err != nil {
		t.Fatal(err)
	}
	w = m.Begin("b@x", t0)
	writeAll(t, w, "two\r\n")
	must(t, w.Close())
	entries := readMboxrd(t, closeMbox(t, m, path))
	want := []entry{{"a@x", "Sun Nov 22 00:26:42 2026", "one\n"}, {"b@x", "Sun Nov 22 00:26:42 2026", "two\n"}}
	if !slices.Equal(entries, want) {
		t.Errorf("read back %q, want %q", entries, want)
	}
}

// TestMboxUnfinished closes the mbox with a message in progress: it is
// dropped, its temporary file removed, and its writer fails from then on.
func TestMboxUnfinished(t *testing.T) {
	m, path := openMbox(t)
	done := m.Begin("a@x", t0)
	open := m.Begin("b@x", t0)
	writeAll(t, open, "partial\r\n")
	writeAll(t, done, "whole\r\n")
	must(t, done.Close())
	if err := done.Close(); err == nil {
		t.Error("second Close: no error")
	}
	if _, err := done.Write([]byte("x")); err == nil {
		t.Error("Write after Close: no error")
	}
	entries := readMboxrd(t, closeMbox(t, m, path))
	if want := []entry{{"a@x", "Sun Nov 22 00:26:42 2026", "whole\n"}}; !slices.Equal(entries, want) {
		t.Errorf("read back %q, want %q", entries, want)
	}
	if _, err := open.Write([]byte("more")); err == nil {
		t.Error("Write after the mbox closed: no error")
	}
	if err := open.Close(); err == nil {
		t.Error("Close after the mbox closed: no error")
	}
	late := m.Begin("c@x", t0)
	if _, err := late.Write([]byte("x")); err == nil {
		t.Error("Write to a message begun after the mbox closed: no error")
	}
	if err := late.Close(); err == nil {
		t.Error("Close of a message begun after the mbox closed: no error")
	}
	if err := m.Close(); err == nil {
		t.Error("second Mbox.Close: no error")
	}
	if names := listDir(t, filepath.Dir(path)); !slices.Equal(names, []string{filepath.Base(path)}) {
		t.Errorf("beside the mbox: %q, want only it", names)
	}
}

// TestMboxBeginFails begins a message when no temporary file can be made:
// the writer reports it and the mbox is untouched.
func TestMboxBeginFails(t *testing.T) {
	m, path := openMbox(t)
	m.dir = filepath.Join(filepath.Dir(path), "missing")
	w := m.Begin("a@x", t0)
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write: no error")
	}
	if err := w.Close(); err == nil {
		t.Error("Close: no error")
	}
	if data := closeMbox(t, m, path); data != "" {
		t.Errorf("mbox holds %q", data)
	}
}

// TestMboxConcurrent writes messages from several goroutines at once: every
// entry reads back whole.
func TestMboxConcurrent(t *testing.T) {
	m, path := openMbox(t)
	const workers, each = 8, 20
	done := make(chan struct{})
	for g := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range each {
				w := m.Begin("g@x", t0)
				for range 50 {
					io.WriteString(w, strings.Repeat(string(rune('a'+g)), 100)+"\r\nFrom x\r\n")
				}
				if err := w.Close(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	entries := readMboxrd(t, closeMbox(t, m, path))
	if len(entries) != workers*each {
		t.Fatalf("%d entries, want %d", len(entries), workers*each)
	}
	for i, e := range entries {
		g := e.body[0] - 'a'
		if want := strings.Repeat(strings.Repeat(string(rune('a'+g)), 100)+"\nFrom x\n", 50); e.body != want {
			t.Errorf("entry %d is mixed up: %.80q", i, e.body)
		}
	}
}

// TestMboxTempInFolder checks a message in progress is in a temporary file
// beside the mbox, not in memory.
func TestMboxTempInFolder(t *testing.T) {
	m, path := openMbox(t)
	w := m.Begin("a@x", t0)
	big := strings.Repeat("0123456789abcdef", 1<<12) // 64 KiB
	writeAll(t, w, big)
	names := listDir(t, filepath.Dir(path))
	if len(names) != 2 {
		t.Fatalf("beside the mbox: %q, want one temporary file", names)
	}
	tmp := names[0]
	if tmp == filepath.Base(path) {
		tmp = names[1]
	}
	fi, err := os.Stat(filepath.Join(filepath.Dir(path), tmp))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < int64(len(big))-4096 {
		t.Errorf("temporary file holds %d bytes of %d written", fi.Size(), len(big))
	}
	must(t, w.Close())
	entries := readMboxrd(t, closeMbox(t, m, path))
	if len(entries) != 1 || entries[0].body != big+"\n" {
		t.Error("the message did not read back")
	}
}
