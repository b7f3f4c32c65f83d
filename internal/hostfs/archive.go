package hostfs

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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
			p, err := f.Path(hp)
			if err != nil {
				return err
			}
			if _, err := os.Lstat(p); os.IsNotExist(err) {
				out.Missing = append(out.Missing, hp)
				continue
			}
			if err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				return f.addToTar(tw, path, d, &out)
			}); err != nil {
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

func (f FS) addToTar(tw *tar.Writer, path string, d fs.DirEntry, out *Archive) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(f.Root, path)
	if err != nil {
		return err
	}
	hdr.Name = filepath.ToSlash(rel)
	if info.IsDir() {
		hdr.Name += "/"
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := io.Copy(tw, src); err != nil {
		return err
	}
	out.Files++
	return nil
}

// VerifyBackup re-reads a backup: its SHA-256 must match the .sha256 file
// and every tar entry must read to its end.
func (f FS) VerifyBackup(dest string) error {
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
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("verify %s: %w", dest, err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
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
