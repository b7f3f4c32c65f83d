package hostfs

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Archive is a host backup written by Backup.
type Archive struct {
	Path   string // host path of the tar.gz
	SHA256 string
	Files  int
	// Missing lists requested paths the host does not have (normal: not
	// every host has flanneld or dnsmasq).
	Missing []string
}

// Backup writes the host paths (files or directories, recursively) into a
// gzip'd tar at dest (a host path), mode 0600 like the secrets it holds,
// with its SHA-256 in dest.sha256 in sha256sum's format. Member names are
// host paths without the leading slash, as the seed's `tar -zcvf` makes
// them. extra files (such as a package list) are added by name.
func (f FS) Backup(paths []string, extra map[string][]byte, dest string) (Archive, error) {
	return f.BackupFrom(f, paths, extra, dest)
}

// BackupFrom is Backup of another host's files into dest here: the archive
// of a host is written where day2 runs, never left only on the host it
// describes.
func (f FS) BackupFrom(src Host, paths []string, extra map[string][]byte, dest string) (Archive, error) {
	out := Archive{Path: dest}
	dp, err := f.Path(dest)
	if err != nil {
		return out, err
	}
	if err := os.MkdirAll(filepath.Dir(dp), 0o700); err != nil {
		return out, fmt.Errorf("backup %s: %w", dest, err)
	}
	file, err := os.OpenFile(dp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return out, fmt.Errorf("backup %s: %w", dest, err)
	}
	sum := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(file, sum))
	tw := tar.NewWriter(gz)
	werr := func() error {
		for _, hp := range paths {
			info, err := src.Lstat(hp)
			if errors.Is(err, fs.ErrNotExist) {
				out.Missing = append(out.Missing, hp)
				continue
			}
			if err != nil {
				return fmt.Errorf("%s on %s: %w", hp, src.Name(), err)
			}
			if err := addToTar(tw, src, hp, info, &out); err != nil {
				return err
			}
		}
		for _, name := range slices.Sorted(maps.Keys(extra)) {
			data := extra[name]
			hdr := &tar.Header{Name: strings.TrimPrefix(name, "/"), Mode: 0o600, Size: int64(len(data)), Typeflag: tar.TypeReg}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(data); err != nil {
				return err
			}
			out.Files++
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	}()
	if werr == nil {
		werr = file.Sync()
	}
	if cerr := file.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(dp)
		return out, fmt.Errorf("backup %s: %w", dest, werr)
	}
	out.SHA256 = hex.EncodeToString(sum.Sum(nil))
	line := out.SHA256 + "  " + filepath.Base(dest) + "\n"
	if err := writeAtomic(dp+".sha256", []byte(line), 0o600); err != nil {
		return out, fmt.Errorf("backup checksum: %w", err)
	}
	return out, nil
}

// addToTar adds a host path, a directory with everything under it.
func addToTar(tw *tar.Writer, src Host, hp string, info fs.FileInfo, out *Archive) error {
	link := ""
	var err error
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = src.Readlink(hp); err != nil {
			return fmt.Errorf("%s on %s: %w", hp, src.Name(), err)
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = strings.TrimPrefix(path.Clean(hp), "/")
	var data []byte
	switch {
	case info.IsDir():
		hdr.Name += "/"
	case info.Mode().IsRegular():
		if data, err = src.ReadFile(hp); err != nil {
			return fmt.Errorf("%s on %s: %w", hp, src.Name(), err)
		}
		hdr.Size = int64(len(data)) // what was read, should it have changed since Lstat
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if info.Mode().IsRegular() {
		if _, err := tw.Write(data); err != nil {
			return err
		}
		out.Files++
	}
	if !info.IsDir() {
		return nil
	}
	entries, err := src.ReadDir(hp)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", hp, src.Name(), err)
	}
	for _, e := range entries {
		if err := addToTar(tw, src, path.Join(hp, e.Name()), e, out); err != nil {
			return err
		}
	}
	return nil
}

// Entry is one member of a backup: its header and, for a regular file,
// its content.
type Entry struct {
	Header *tar.Header
	Data   []byte
}

// ReadBackup verifies a backup as VerifyBackup does and returns its
// members in archive order.
func (f FS) ReadBackup(dest string) ([]Entry, error) {
	var out []Entry
	err := f.readBackup(dest, func(h *tar.Header, r io.Reader) error {
		data, err := io.ReadAll(r)
		out = append(out, Entry{Header: h, Data: data})
		return err
	})
	return out, err
}

// VerifyBackup re-reads a backup: its SHA-256 must match the .sha256 file
// and every tar entry must read to its end.
func (f FS) VerifyBackup(dest string) error {
	return f.readBackup(dest, func(_ *tar.Header, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
}

// readBackup reads every member of a backup with each, then checks the
// whole file's SHA-256 against its .sha256.
func (f FS) readBackup(dest string, each func(*tar.Header, io.Reader) error) error {
	dp, err := f.Path(dest)
	if err != nil {
		return err
	}
	want, err := os.ReadFile(dp + ".sha256")
	if err != nil {
		return fmt.Errorf("verify %s: %w", dest, err)
	}
	file, err := os.Open(dp)
	if err != nil {
		return fmt.Errorf("verify %s: %w", dest, err)
	}
	defer file.Close()
	sum := sha256.New()
	gz, err := gzip.NewReader(io.TeeReader(file, sum))
	if err != nil {
		return fmt.Errorf("verify %s: %w", dest, err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("verify %s: %w", dest, err)
		}
		if err := each(h, tr); err != nil {
			return fmt.Errorf("verify %s: %w", dest, err)
		}
	}
	if _, err := io.Copy(io.Discard, file); err != nil {
		return err
	}
	if got := hex.EncodeToString(sum.Sum(nil)); !strings.HasPrefix(string(want), got) {
		return fmt.Errorf("verify %s: sha256 %s does not match %s", dest, got, strings.TrimSpace(string(want)))
	}
	return nil
}
