//go:build unix

package extract

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCreateModes runs with umask 0, so the modes seen are the ones Create
// and NewDir ask for.
func TestCreateModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := filepath.Join(t.TempDir(), "new", "out")
	d, err := NewDir(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, os.ModeDir|0o700)
	checkMode(t, filepath.Dir(dir), os.ModeDir|0o700)

	checkMode(t, filepath.Join(dir, create(t, d, dir, "x", ".eml", "a")), 0o600)

	// A reused file is made 0600 too.
	stale := filepath.Join(dir, "stale.eml")
	if err := os.WriteFile(stale, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := create(t, d, dir, "new", ".eml", "stale"); got != "stale.eml" {
		t.Fatalf("force: created %q, want stale.eml reused", got)
	}
	checkMode(t, stale, 0o600)
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

// TestCreateNeverFollows puts names leading outside the folder where Create
// will look: symlinks to a file outside, a dangling symlink, a hard link and
// a FIFO. None is written through, with or without force.
func TestCreateNeverFollows(t *testing.T) {
	for _, force := range []bool{false, true} {
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		secret := filepath.Join(parent, "secret")
		if err := os.WriteFile(secret, []byte("do not touch"), 0o600); err != nil {
			t.Fatal(err)
		}
		dangling := filepath.Join(parent, "dangling")
		must(t, os.Symlink(secret, filepath.Join(dir, "abs.eml")))
		must(t, os.Symlink("../secret", filepath.Join(dir, "rel.eml")))
		must(t, os.Symlink(dangling, filepath.Join(dir, "dangling.eml")))
		must(t, os.Link(secret, filepath.Join(dir, "hard.eml")))
		must(t, syscall.Mkfifo(filepath.Join(dir, "fifo.eml"), 0o600))

		d, err := NewDir(dir, force)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"abs", "rel", "dangling", "hard", "fifo"} {
			if got, want := create(t, d, dir, "written", ".eml", name), name+" (2).eml"; got != want {
				t.Errorf("force %v: created %q, want %q", force, got, want)
			}
		}
		if s := readFile(t, secret); s != "do not touch" {
			t.Errorf("force %v: the file outside holds %q", force, s)
		}
		if _, err := os.Lstat(dangling); !os.IsNotExist(err) {
			t.Errorf("force %v: the dangling symlink's target was created (%v)", force, err)
		}
		for _, name := range []string{"abs.eml", "rel.eml", "dangling.eml"} {
			if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("force %v: %s is no longer a symlink (%v)", force, name, err)
			}
		}
	}
}

// TestMboxModes runs with umask 0: the mbox and a message's temporary file
// are 0600.
func TestMboxModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	dir := t.TempDir()
	path := filepath.Join(dir, "mail.mbox")
	m, err := OpenMbox(path)
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
	w := m.Begin("a@x", t0)
	writeAll(t, w, "x\r\n")
	for _, name := range listDir(t, dir) {
		checkMode(t, filepath.Join(dir, name), 0o600)
	}
	if n := len(listDir(t, dir)); n != 2 {
		t.Errorf("%d files, want the mbox and a temporary file", n)
	}
	must(t, w.Close())
	closeMbox(t, m, path)
}
