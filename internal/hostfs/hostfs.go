// Package hostfs does every host file change day2 makes, under a root prefix
// ("/" in production, a master's host root in the demo and tests): an edit
// is planned as a diff first, applied only if the file has not changed since,
// after a backup beside it, and written atomically.
package hostfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/pmezard/go-difflib/difflib"
)

// FS is the host's files under Root.
type FS struct{ Root string }

// New returns the host's files under root ("" means "/").
func New(root string) FS {
	if root == "" {
		root = "/"
	}
	return FS{Root: root}
}

// Path maps a host path (absolute, as the operator knows it) under the
// root. Cleaning an absolute path resolves every ".." at "/" at most, so
// the result never leaves the root.
func (f FS) Path(hostPath string) (string, error) {
	if !filepath.IsAbs(hostPath) {
		return "", fmt.Errorf("host path %q is not absolute", hostPath)
	}
	return filepath.Join(f.Root, filepath.Clean(hostPath)), nil
}

// Exists reports whether a host file exists.
func (f FS) Exists(hostPath string) bool {
	p, err := f.Path(hostPath)
	if err != nil {
		return false
	}
	_, err = os.Stat(p)
	return err == nil
}

// ReadFile reads a host file.
func (f FS) ReadFile(hostPath string) ([]byte, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(p)
}

// Edit is a planned change of one file: what it holds now, what it will
// hold, and the unified diff between them (the dry run).
type Edit struct {
	Path string // host path
	Old  []byte
	New  []byte
	Diff string
}

// Changes reports whether the edit changes anything.
func (e Edit) Changes() bool { return !bytes.Equal(e.Old, e.New) }

// PlanEdit reads a host file and computes the edit transform makes. It
// changes nothing.
func (f FS) PlanEdit(hostPath string, transform func([]byte) ([]byte, error)) (Edit, error) {
	return PlanEdit(f, hostPath, transform)
}

// PlanEdit reads a file of h and computes the edit transform makes. It
// changes nothing.
func PlanEdit(h Host, hostPath string, transform func([]byte) ([]byte, error)) (Edit, error) {
	old, err := h.ReadFile(hostPath)
	if err != nil {
		return Edit{}, fmt.Errorf("plan edit of %s %s: %w", hostPath, h.Where(), err)
	}
	updated, err := transform(old)
	if err != nil {
		return Edit{}, fmt.Errorf("plan edit of %s %s: %w", hostPath, h.Where(), err)
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(old)), B: difflib.SplitLines(string(updated)),
		FromFile: hostPath, ToFile: hostPath + " (after)", Context: 2,
	})
	if err != nil {
		return Edit{}, fmt.Errorf("diff %s: %w", hostPath, err)
	}
	return Edit{Path: hostPath, Old: old, New: updated, Diff: diff}, nil
}

// ErrChanged means the file changed between planning and applying an edit.
var ErrChanged = errors.New("the file changed since the edit was planned; plan it again")

// Apply writes a planned edit (see the function Apply).
func (f FS) Apply(e Edit, now time.Time) (backup string, err error) { return Apply(f, e, now) }

// Apply writes a planned edit on h: it refuses if the file no longer holds
// e.Old, copies the file to <path>.day2-<time>.bak beside it (same mode),
// then replaces it atomically (Host.WriteFile), keeping its mode. It
// returns the backup's host path.
func Apply(h Host, e Edit, now time.Time) (backup string, err error) {
	fi, err := h.Stat(e.Path)
	if err != nil {
		return "", fmt.Errorf("apply edit of %s %s: %w", e.Path, h.Where(), err)
	}
	cur, err := h.ReadFile(e.Path)
	if err != nil {
		return "", fmt.Errorf("apply edit of %s %s: %w", e.Path, h.Where(), err)
	}
	if !bytes.Equal(cur, e.Old) {
		return "", fmt.Errorf("apply edit of %s %s: %w", e.Path, h.Where(), ErrChanged)
	}
	backup = e.Path + ".day2-" + now.UTC().Format("20060102T150405Z") + ".bak"
	if err := h.WriteFile(backup, cur, fi.Mode().Perm()); err != nil {
		return "", fmt.Errorf("back up %s %s: %w", e.Path, h.Where(), err)
	}
	if err := h.WriteFile(e.Path, e.New, fi.Mode().Perm()); err != nil {
		return backup, fmt.Errorf("write %s %s: %w", e.Path, h.Where(), err)
	}
	return backup, nil
}

// writeAtomic writes data to path through a fsync'd temporary file and a
// rename, then fsyncs the directory, so a crash leaves the old or the new
// file, never half of one.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".day2-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Move renames a host file, creating the target's directory; it refuses
// to overwrite.
func (f FS) Move(from, to string) error { return Move(f, from, to) }

// Move renames a file of h, creating the target's directory; it refuses to
// overwrite (a static pod manifest moved to pods/disabled must not replace
// an older one silently).
func Move(h Host, from, to string) error {
	if _, err := h.Lstat(to); err == nil {
		return fmt.Errorf("move %s to %s %s: the target exists", from, to, h.Where())
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("move %s to %s %s: %w", from, to, h.Where(), err)
	}
	if err := h.MkdirAll(path.Dir(path.Clean(to)), 0o755); err != nil {
		return fmt.Errorf("move %s %s: %w", from, h.Where(), err)
	}
	if err := h.Rename(from, to); err != nil {
		return fmt.Errorf("move %s to %s %s: %w", from, to, h.Where(), err)
	}
	return nil
}
