package extract

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// create calls d.Create, writes content to the file, closes it, checks the
// path is inside dir and returns the path's base name.
func create(t *testing.T, d *Dir, dir, content, ext string, components ...string) string {
	t.Helper()
	f, path, err := d.Create(ext, components...)
	if err != nil {
		t.Fatalf("Create(%q, %q): %v", ext, components, err)
	}
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	checkInside(t, dir, path)
	if f.Name() != path {
		t.Errorf("Create(%q, %q): file %q, path %q", ext, components, f.Name(), path)
	}
	return filepath.Base(path)
}

// checkInside fails t unless path names a file directly in dir.
func checkInside(t *testing.T, dir, path string) {
	t.Helper()
	rel, err := filepath.Rel(dir, path)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) ||
		filepath.IsAbs(rel) || strings.ContainsRune(rel, filepath.Separator) {
		t.Errorf("path %q is not a file in %q (rel %q, %v)", path, dir, rel, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestCreateNumbersCollisions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	d, err := NewDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1_Hello (3).eml"), []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range 4 {
		got = append(got, create(t, d, dir, strings.Repeat("x", i), ".eml", "1", "Hello"))
	}
	got = append(got,
		create(t, d, dir, "", "", "report.pdf"),
		create(t, d, dir, "", "", "report.pdf"),
		create(t, d, dir, "", "", "README"),
		create(t, d, dir, "", "", "README"),
		create(t, d, dir, "", ".EML", "HELLO"),
	)
	want := []string{
		"1_Hello.eml", "1_Hello (2).eml", "1_Hello (4).eml", "1_Hello (5).eml",
		"report.pdf", "report (2).pdf", "README", "README (2)", "HELLO.EML",
	}
	if !slices.Equal(got, want) {
		t.Errorf("names = %q, want %q", got, want)
	}
	if s := readFile(t, filepath.Join(dir, "1_Hello (3).eml")); s != "kept" {
		t.Errorf("existing file overwritten: %q", s)
	}
	if s := readFile(t, filepath.Join(dir, "1_Hello (4).eml")); s != "xx" {
		t.Errorf("1_Hello (4).eml holds %q, want %q", s, "xx")
	}
}

func TestCreateForce(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "a.eml")
	if err := os.WriteFile(old, []byte("old content, longer than the new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "b.eml"), 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := NewDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := create(t, d, dir, "new", ".eml", "a"); got != "a.eml" {
		t.Errorf("force: created %q, want the existing a.eml reused", got)
	}
	if s := readFile(t, old); s != "new" {
		t.Errorf("a.eml holds %q, want %q", s, "new")
	}
	// A file this Dir made itself is never reused, even with force.
	if got := create(t, d, dir, "second", ".eml", "a"); got != "a (2).eml" {
		t.Errorf("second a.eml: created %q, want %q", got, "a (2).eml")
	}
	if s := readFile(t, old); s != "new" {
		t.Errorf("a.eml holds %q after the second message, want %q", s, "new")
	}
	// A directory is never reused.
	if got := create(t, d, dir, "", ".eml", "b"); got != "b (2).eml" {
		t.Errorf("name of a directory: created %q, want %q", got, "b (2).eml")
	}

	// Without force the existing file is kept.
	d, err = NewDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := create(t, d, dir, "third", ".eml", "a"); got != "a (3).eml" {
		t.Errorf("no force: created %q, want %q", got, "a (3).eml")
	}
	if s := readFile(t, old); s != "new" {
		t.Errorf("no force: a.eml holds %q, want %q", s, "new")
	}
}

func TestCreateHostileNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	d, err := NewDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	hostile := []string{
		"../../etc/passwd", "..", ".", "/abs/path", "a\\b", "con.txt", "CON", "Lpt9.doc", "nul",
		"\x1b[31mred\x1b[0m", "report\u202egnp.exe", "a\x00b", "   ", "", "..\\..\\x", "a/../../b",
		strings.Repeat("中文", 200), strings.Repeat("../", 100),
	}
	exts := []string{"", ".eml", "eml", "../x", "/etc/passwd", ".\x1b", strings.Repeat("long", 20), ".."}
	n := 0
	for _, name := range hostile {
		for _, ext := range exts {
			for _, comps := range [][]string{{name}, {"7", name}, {name, name, name}} {
				got := create(t, d, dir, "", ext, comps...)
				n++
				if len(got) > nameBudget {
					t.Errorf("Create(%q, %q): name %q is %d bytes", ext, comps, got, len(got))
				}
				if strings.ContainsAny(got, "/\\\x00\x1b") || got == "." || got == ".." {
					t.Errorf("Create(%q, %q): name %q", ext, comps, got)
				}
			}
		}
	}
	if got := len(listDir(t, dir)); got != n {
		t.Errorf("%d files in the folder, want %d", got, n)
	}
	if got := listDir(t, parent); !slices.Equal(got, []string{"out"}) {
		t.Errorf("beside the folder: %q, want only out", got)
	}
}

func TestCreateNameBudget(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 500)
	for i := range 12 {
		got := create(t, d, dir, "", ".eml", "12", long, long)
		if len(got) > nameBudget {
			t.Errorf("name %d is %d bytes: %q", i, len(got), got)
		}
		if !strings.HasPrefix(got, "12_xxx") || !strings.HasSuffix(got, ".eml") {
			t.Errorf("name %d = %q", i, got)
		}
		// The short first component leaves room to the other two, which
		// share it equally.
		if parts := strings.Split(strings.TrimSuffix(got, ".eml"), "_"); len(parts) != 3 ||
			len(strings.TrimRight(parts[2], " ()0123456789")) < len(parts[1])-1 {
			t.Errorf("name %d = %q: the budget is not shared", i, got)
		}
	}
	// The extension is cut, not the name dropped.
	got := create(t, d, dir, "", "."+long, "a")
	if want := "a." + strings.Repeat("x", extBudget); got != want {
		t.Errorf("long extension: %q, want %q", got, want)
	}
	many := make([]string, 100)
	if _, _, err := d.Create(".eml", many...); err == nil {
		t.Error("Create with 100 components: no error")
	}
}

func TestNewDirNotADirectory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDir(file, false); err == nil {
		t.Error("NewDir on a file: no error")
	}
}

// TestSub: a folder per capture inside the output folder, its name made safe, never through a
// symlink or over a file.
func TestSub(t *testing.T) {
	dir := t.TempDir()
	d, err := NewDir(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := d.Sub("1-../../etc/relay.pcap")
	if err != nil {
		t.Fatal(err)
	}
	f, path, err := sub.Create(".eml", "s1-t1")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if rel, err := filepath.Rel(dir, path); err != nil || strings.HasPrefix(rel, "..") || filepath.Dir(rel) == "." {
		t.Errorf("file at %s, not in a folder inside %s", path, dir)
	}
	if _, err := d.Sub("1-../../etc/relay.pcap"); err != nil {
		t.Errorf("the same folder again: %v", err)
	}
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if _, err := d.Sub("link"); err == nil {
		t.Error("Sub followed a symlink")
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sub("file"); err == nil {
		t.Error("Sub took a file for a folder")
	}
}
