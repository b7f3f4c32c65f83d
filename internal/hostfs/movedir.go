package hostfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MoveDir moves the directory from to to, which must not exist or be an
// empty directory (an empty mount point). The guide moves etcd's data dir
// aside with `mv /var/lib/etcd /var/lib/etcd.old`, but it also recommends a
// dedicated disk mounted at /var/lib/etcd, and a mount point cannot be
// renamed (EBUSY) nor renamed across filesystems (EXDEV). So:
//   - a plain directory on to's filesystem is renamed;
//   - a mount point keeps its place and its contents move: renamed when to
//     is on the same filesystem, otherwise copied to to's filesystem
//     (fsync'd, complete before anything is removed) and then removed;
//   - the same copy moves a directory onto another filesystem (a scratch
//     dir restored beside an empty mount point).
//
// A failed copy leaves the source whole and removes its partial copy.
func (f FS) MoveDir(from, to string) error {
	src, err := f.Path(from)
	if err != nil {
		return err
	}
	dst, err := f.Path(to)
	if err != nil {
		return err
	}
	wrap := func(err error) error { return fmt.Errorf("move %s to %s: %w", from, to, err) }
	if rel, err := filepath.Rel(src, dst); err == nil && !strings.HasPrefix(rel, "..") {
		return wrap(errors.New("the target is inside the source"))
	}
	mounted, err := isMountPoint(src)
	if err != nil {
		return wrap(err)
	}
	dstExists := false
	switch entries, err := os.ReadDir(dst); {
	case err == nil && len(entries) > 0:
		return wrap(errors.New("the target exists and is not empty"))
	case err == nil:
		dstExists = true
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return wrap(err)
		}
	default:
		return wrap(err)
	}
	same, err := sameFilesystem(src, dst)
	if err != nil {
		return wrap(err)
	}
	switch {
	case same && !mounted && !dstExists:
		err = os.Rename(src, dst)
	case same:
		if err = moveEntries(src, dst, dstExists); err == nil && !mounted {
			err = os.Remove(src)
		}
	default:
		err = copyThenRemove(src, dst, dstExists, mounted)
	}
	if err != nil {
		return wrap(err)
	}
	return syncDir(filepath.Dir(dst))
}

// DescribeMoveDir says what MoveDir(from, to) will do, for a plan.
func (f FS) DescribeMoveDir(from, to string) string {
	if m, _ := f.IsMountPoint(from); m {
		return fmt.Sprintf("move the contents of %s to %s (%s is a mount point, its own filesystem: it stays mounted, emptied)", from, to, from)
	}
	if m, _ := f.IsMountPoint(to); m {
		return fmt.Sprintf("move the contents of %s into %s (a mount point, its own filesystem), then remove %s", from, to, from)
	}
	return fmt.Sprintf("mv %s %s", from, to)
}

// IsMountPoint tells whether a host directory is the root of a filesystem.
func (f FS) IsMountPoint(hostPath string) (bool, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return false, err
	}
	return isMountPoint(p)
}

func devOf(p string) (uint64, uint64, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return 0, 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("%s: no device number", p)
	}
	return uint64(st.Dev), uint64(st.Ino), nil
}

// isMountPoint compares the device of p with its parent's (a bind mount of
// a directory of the same filesystem shares the device: it is told by its
// inode being its parent's, which is how "/" is recognised too).
func isMountPoint(p string) (bool, error) {
	dev, ino, err := devOf(p)
	if err != nil {
		return false, err
	}
	pdev, pino, err := devOf(filepath.Dir(p))
	if err != nil {
		return false, err
	}
	if dev != pdev || ino == pino {
		return true, nil
	}
	return isBindMount(p)
}

// sameFilesystem tells whether src and the place of dst (dst itself when it
// exists, else its parent) are on one filesystem, so rename(2) works.
func sameFilesystem(src, dst string) (bool, error) {
	sdev, _, err := devOf(src)
	if err != nil {
		return false, err
	}
	at := dst
	if _, err := os.Lstat(dst); err != nil {
		at = filepath.Dir(dst)
	}
	ddev, _, err := devOf(at)
	if err != nil {
		return false, err
	}
	if sdev != ddev {
		return false, nil
	}
	// A bind mount shares the device yet rename(2) across it fails with
	// EXDEV: treat either end being one as another filesystem.
	for _, p := range []string{src, at} {
		if b, err := isBindMount(p); err != nil || b {
			return false, err
		}
	}
	return true, nil
}

// moveEntries renames every entry of src into dst (same filesystem).
func moveEntries(src, dst string, dstExists bool) error {
	if !dstExists {
		if err := mkdirLike(dst, src); err != nil {
			return err
		}
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.Rename(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return syncDir(src)
}

// copyThenRemove copies src's contents to a partial directory beside dst,
// puts them in place by rename, then removes the source's contents (and
// src itself unless it is a mount point).
func copyThenRemove(src, dst string, dstExists, mounted bool) error {
	// The copy is made on dst's filesystem, so putting it in place is a
	// rename: beside dst, or inside it when dst is an (empty) mount point.
	partial := dst + ".day2-partial"
	if dstExists {
		partial = filepath.Join(dst, ".day2-partial")
	}
	if err := os.RemoveAll(partial); err != nil {
		return err
	}
	if err := copyTree(src, partial); err != nil {
		os.RemoveAll(partial)
		return fmt.Errorf("copy: %w", err)
	}
	if dstExists {
		if err := moveEntries(partial, dst, true); err != nil {
			return err
		}
		if err := os.Remove(partial); err != nil {
			return err
		}
	} else if err := os.Rename(partial, dst); err != nil {
		return err
	}
	if !mounted {
		return os.RemoveAll(src)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(src, e.Name())); err != nil {
			return err
		}
	}
	return syncDir(src)
}

// copyTree copies a directory tree (directories, regular files, symlinks)
// keeping modes, and fsyncs every file.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			return copyFile(p, target, info.Mode().Perm())
		}
		return fmt.Errorf("%s: not a file, directory or symlink", p)
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func mkdirLike(dst, like string) error {
	fi, err := os.Stat(like)
	if err != nil {
		return err
	}
	return os.Mkdir(dst, fi.Mode().Perm())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// isBindMount tells whether p is listed as a mount point in
// /proc/self/mountinfo: a bind mount of a directory of the same filesystem
// has its parent's device, so only the mount table knows it. Where there
// is no mount table, nothing is.
func isBindMount(p string) (bool, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false, err
	}
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		// id parent major:minor root mountpoint options ...
		if fields := strings.Fields(line); len(fields) > 4 && unescapeMountinfo(fields[4]) == real {
			return true, nil
		}
	}
	return false, nil
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// MoveDirOn is MoveDir on any host. FS moves the directory itself; another
// host runs the same decisions as one shell script there: mountpoint(1)
// tells a mount point (its contents move, it stays mounted), a non-empty
// target refuses, and mv copies across filesystems before it removes.
func MoveDirOn(ctx context.Context, h Host, from, to string) error {
	if f, ok := h.(FS); ok {
		return f.MoveDir(from, to)
	}
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	script := fmt.Sprintf(`set -e; src=%s; dst=%s
if [ -e "$dst" ] && [ -n "$(ls -A "$dst")" ]; then echo "the target exists and is not empty" >&2; exit 1; fi
mkdir -p "$(dirname "$dst")"
if mountpoint -q "$src"; then mkdir -p "$dst"; find "$src" -mindepth 1 -maxdepth 1 -exec mv -t "$dst" {} +
elif [ -d "$dst" ]; then find "$src" -mindepth 1 -maxdepth 1 -exec mv -t "$dst" {} + && rmdir "$src"
else mv "$src" "$dst"; fi
sync`, q(from), q(to))
	r, err := h.Run(ctx, Command{Line: script, Timeout: 10 * time.Minute})
	if err == nil {
		err = r.Err()
	}
	if err != nil {
		return fmt.Errorf("move %s to %s %s: %w", from, to, h.Where(), err)
	}
	return nil
}

// DescribeMoveDirOn says what MoveDirOn will do, for a plan.
func DescribeMoveDirOn(h Host, from, to string) string {
	if f, ok := h.(FS); ok {
		return f.DescribeMoveDir(from, to)
	}
	return fmt.Sprintf("mv %s %s %s (only its contents if it is a mount point: it stays mounted)", from, to, h.Where())
}
