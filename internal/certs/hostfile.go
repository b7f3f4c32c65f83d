package certs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxFileSize bounds what is read as a certificate or kubeconfig: the largest
// real ones are trust bundles of a few hundred KiB, and a bound keeps a
// misnamed log or disk image from being slurped.
const maxFileSize = 8 << 20

// maxSymlinks is how many links resolve follows, as the kernel's MAXSYMLINKS.
const maxSymlinks = 40

// host reads files named by their path on the host ("/etc/etcd/ca.crt")
// under a root prefix: "/" in production, a fixture directory in tests.
type host struct{ root string }

// real is where a host path is in this process's file system.
func (h host) real(hostPath string) string { return filepath.Join(h.root, hostPath) }

// resolve follows symbolic links of the file itself within the root, so an
// absolute link such as kubelet-client-current.pem -> /etc/origin/node/... is
// read under the root and the file behind two names is recognised as one.
func (h host) resolve(hostPath string) (string, error) {
	p := filepath.Clean(hostPath)
	for range maxSymlinks {
		fi, err := os.Lstat(h.real(p))
		if err != nil {
			return "", fmt.Errorf("%s: %w", hostPath, pathErr(err))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		target, err := os.Readlink(h.real(p))
		if err != nil {
			return "", fmt.Errorf("%s: %w", hostPath, pathErr(err))
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(p), target)
		}
		p = filepath.Clean(target)
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", hostPath)
}

// read returns the contents of the regular file at hostPath, following
// links within the root. A .key file is refused, also behind a link, and so
// are devices and FIFOs: opening a FIFO blocks and a device may not end.
func (h host) read(hostPath string) ([]byte, error) {
	if isKeyFile(hostPath) {
		return nil, fmt.Errorf("%s: a .key file is never opened", hostPath)
	}
	resolved, err := h.resolve(hostPath)
	if err != nil {
		return nil, err
	}
	if isKeyFile(resolved) {
		return nil, fmt.Errorf("%s: links to %s; a .key file is never opened", hostPath, resolved)
	}
	real := h.real(resolved)
	fi, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostPath, pathErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", hostPath)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostPath, pathErr(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostPath, pathErr(err))
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, not a certificate file", hostPath, maxFileSize>>20)
	}
	return data, nil
}

// pathErr drops the *fs.PathError wrapper, whose path carries the root
// prefix, so messages name the host path only once and as the operator knows it.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func isKeyFile(p string) bool { return strings.HasSuffix(p, ".key") }
