package extract

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

const (
	// nameBudget is the most bytes a name made by Create takes, numbering
	// included.
	nameBudget = 200
	// extBudget is the most bytes an extension takes after its dot.
	extBudget = 16
	// numberReserve is the room kept for a " (N)" suffix.
	numberReserve = len(" (999999999)")
	// maxTries bounds how many numbered names one Create tries.
	maxTries = 100000
)

// Dir writes files into one folder, which it creates (0700) if needed. Files
// are created 0600, never outside the folder, and never over an existing file
// unless force: a name already taken gets " (2)", " (3)"... before its
// extension.
//
// Even with force, a Dir never reuses a file it created itself: two messages
// that would get the same name in one run are numbered. A Dir remembers, for
// each name it made, the next number to try (and with force every name it
// made). It is safe for use by several goroutines.
type Dir struct {
	path  string
	force bool

	mu   sync.Mutex
	next map[string]int  // per unnumbered name, the next number to try
	mine map[string]bool // with force: the names this Dir created
}

// NewDir returns a Dir writing into the folder path, creating it and its
// parents (0700) if needed.
func NewDir(path string, force bool) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	root.Close()
	d := &Dir{path: filepath.Clean(path), force: force, next: make(map[string]int)}
	if force {
		d.mine = make(map[string]bool)
	}
	return d, nil
}

// Create creates a new file named from the given components (each passed
// through SafeName with a share of the 200-byte name budget, joined with "_")
// plus ext (e.g. ".eml"; sanitized too); it returns the file and its path.
// With force, an existing file of that exact name is truncated and reused
// instead of numbering (but a symlink or a non-regular file is never followed
// or reused: numbered instead).
//
// The whole name, numbering included, is at most 200 bytes; the extension
// keeps at most 16 bytes after its dot. Without ext, the numbering goes before
// the last dot of the name, if any. A file reused under force has exactly one
// link (a hard link could lead outside the folder) and is made 0600.
func (d *Dir) Create(ext string, components ...string) (*os.File, string, error) {
	if len(components) == 0 {
		components = []string{""}
	}
	ext = cleanExt(ext)
	budget := nameBudget - numberReserve - len(ext) - (len(components) - 1)
	if budget < len(components) {
		return nil, "", fmt.Errorf("extract: too many name components (%d)", len(components))
	}
	parts := make([]string, len(components))
	for i, c := range components {
		share := budget / (len(components) - i)
		parts[i] = SafeName(c, share)
		budget -= len(parts[i])
	}
	base := strings.Join(parts, "_")
	if ext == "" {
		if i := strings.LastIndexByte(base, '.'); i > 0 {
			base, ext = base[:i], base[i:]
		}
	}

	root, err := os.OpenRoot(d.path)
	if err != nil {
		return nil, "", fmt.Errorf("extract: %w", err)
	}
	defer root.Close()

	d.mu.Lock()
	defer d.mu.Unlock()
	key := base + ext
	n := d.next[key] // 0: the unnumbered name was never made here
	for tries := 0; tries < maxTries; tries++ {
		name := key
		if n >= 2 {
			name = strings.TrimRight(base, " ") + " (" + strconv.Itoa(n) + ")" + ext
		}
		n = max(n, 1) + 1
		f, err := d.open(root, name)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("extract: %w", err)
		}
		d.next[key] = n
		if d.mine != nil {
			d.mine[name] = true
		}
		return f, filepath.Join(d.path, name), nil
	}
	return nil, "", fmt.Errorf("extract: no free name for %q in %s", key, d.path)
}

// open creates name in root, or with force reuses a stale regular file of
// that name; an error matching fs.ErrExist means the name is taken.
func (d *Dir) open(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil || !errors.Is(err, fs.ErrExist) || !d.force || d.mine[name] {
		return f, err
	}
	if f := reuse(root, name); f != nil {
		return f, nil
	}
	return nil, err
}

// reuse opens the existing file name for rewriting and truncates it, if it is
// a regular file with one link that can be made 0600; otherwise it returns
// nil.
func reuse(root *os.Root, name string) *os.File {
	before, err := root.Lstat(name)
	if err != nil || !before.Mode().IsRegular() || links(before) != 1 {
		return nil
	}
	// The open follows no symlink out of the folder (os.Root); the file is
	// checked again once open, in case the name was swapped meanwhile.
	f, err := root.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return nil
	}
	after, err := f.Stat()
	if err != nil || !after.Mode().IsRegular() || links(after) != 1 || !os.SameFile(before, after) ||
		f.Chmod(0o600) != nil || f.Truncate(0) != nil {
		f.Close()
		return nil
	}
	return f
}

// cleanExt returns ext made safe with its leading dot, or "" for none.
func cleanExt(ext string) string {
	e := cutTrim(clean(strings.TrimLeft(ext, ". ")), extBudget)
	if e == "" {
		return ""
	}
	return "." + e
}

// Sub returns a Dir writing into the folder name inside d (name passed through SafeName),
// creating it 0700 if needed; it fails rather than follow a symlink or use a file of that name.
func (d *Dir) Sub(name string) (*Dir, error) {
	name = SafeName(name, nameBudget)
	root, err := os.OpenRoot(d.path)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	defer root.Close()
	if err := root.Mkdir(name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("extract: %w", err)
	}
	fi, err := root.Lstat(name)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("extract: %s exists and is not a folder", filepath.Join(d.path, name))
	}
	return NewDir(filepath.Join(d.path, name), d.force)
}
