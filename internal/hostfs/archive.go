package hostfs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Archive is a host backup written by Backup.
type Archive struct {
	Path   string // the tar.gz (for FS.Backup a host path under the root)
	SHA256 string
	Files  int
	// Missing lists requested paths the host does not have (normal: not
	// every host has flanneld or dnsmasq).
	Missing []string
}

// Opener is a Host that streams a file (a large one need not be read
// whole into memory for a backup).
type Opener interface {
	Open(hostPath string) (io.ReadCloser, error)
}

// Open opens a host file for reading.
func (f FS) Open(hostPath string) (io.ReadCloser, error) {
	p, err := f.Path(hostPath)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Backup writes the host paths into a gzip'd tar at dest, a host path under
// the root (see the function Backup).
func (f FS) Backup(paths []string, extra map[string][]byte, dest string) (Archive, error) {
	dp, err := f.Path(dest)
	if err != nil {
		return Archive{Path: dest}, err
	}
	a, err := Backup(f, paths, extra, dp)
	a.Path = dest
	return a, err
}

// Backup writes src's paths (files or directories, recursively) into a
// gzip'd tar at dest, a file on this machine: a host's backup is never left
// only on the host it describes. The archive is mode 0600 like the secrets
// it holds, with its SHA-256 in dest.sha256 in sha256sum's format. Member
// names are host paths without the leading slash, as the seed's `tar
// -zcvf` makes them. extra files (such as a package list) are added by
// name.
func Backup(src Host, paths []string, extra map[string][]byte, dest string) (Archive, error) {
	out := Archive{Path: dest}
	if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
		return out, fmt.Errorf("backup %s: %w", dest, err)
	}
	file, err := os.OpenFile(dest, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return out, fmt.Errorf("backup %s: %w", dest, err)
	}
	sum := sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(file, sum))
	tw := tar.NewWriter(gz)
	werr := func() error {
		for _, hp := range paths {
			fi, err := src.Lstat(hp)
			if errors.Is(err, fs.ErrNotExist) {
				out.Missing = append(out.Missing, hp)
				continue
			}
			if err != nil {
				return err
			}
			if err := addToTar(src, tw, path.Clean(hp), fi, &out); err != nil {
				return err
			}
		}
		for name, data := range extra {
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
		os.Remove(dest)
		return out, fmt.Errorf("backup %s %s to %s: %w", strings.Join(paths, " "), src.Where(), dest, werr)
	}
	out.SHA256 = hex.EncodeToString(sum.Sum(nil))
	line := out.SHA256 + "  " + filepath.Base(dest) + "\n"
	if err := writeAtomic(dest+".sha256", []byte(line), 0o600); err != nil {
		return out, fmt.Errorf("backup checksum: %w", err)
	}
	return out, nil
}

// addToTar adds one host path (fi is its Lstat) and, for a directory,
// everything under it.
func addToTar(src Host, tw *tar.Writer, hp string, fi fs.FileInfo, out *Archive) error {
	link := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if link, err = src.Readlink(hp); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	hdr.Name = strings.TrimPrefix(hp, "/")
	switch {
	case fi.IsDir():
		hdr.Name += "/"
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		entries, err := src.ReadDir(hp)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := addToTar(src, tw, path.Join(hp, e.Name()), e, out); err != nil {
				return err
			}
		}
		return nil
	case !fi.Mode().IsRegular():
		return tw.WriteHeader(hdr)
	}
	r, err := openFile(src, hp)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if n, err := io.Copy(tw, r); err != nil {
		return err
	} else if n != hdr.Size {
		return fmt.Errorf("%s changed while it was read (%d bytes, then %d)", hp, hdr.Size, n)
	}
	out.Files++
	return nil
}

func openFile(src Host, hp string) (io.ReadCloser, error) {
	if o, ok := src.(Opener); ok {
		return o.Open(hp)
	}
	b, err := src.ReadFile(hp)
	return io.NopCloser(bytes.NewReader(b)), err
}

// VerifyBackup re-reads a backup under the root (see the function
// VerifyBackup).
func (f FS) VerifyBackup(dest string) error {
	dp, err := f.Path(dest)
	if err != nil {
		return err
	}
	return VerifyBackup(dp)
}

// VerifyBackup re-reads a backup written by Backup (a file on this
// machine): its SHA-256 must match the .sha256 file and every tar entry
// must read to its end.
func VerifyBackup(dest string) error {
	if err := verifyBackup(dest); err != nil {
		return fmt.Errorf("verify %s: %w", dest, err)
	}
	return nil
}

func verifyBackup(dest string) error {
	want, err := os.ReadFile(dest + ".sha256")
	if err != nil {
		return err
	}
	file, err := os.Open(dest)
	if err != nil {
		return err
	}
	defer file.Close()
	sum := sha256.New()
	gz, err := gzip.NewReader(io.TeeReader(file, sum))
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, file); err != nil {
		return err
	}
	if got := hex.EncodeToString(sum.Sum(nil)); !strings.HasPrefix(string(want), got) {
		return fmt.Errorf("sha256 %s does not match %s", got, strings.TrimSpace(string(want)))
	}
	return nil
}
