package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/day2ops/day2/internal/hostfs"
)

// maxFileSize bounds what is read as a certificate or kubeconfig: the largest
// real ones are trust bundles of a few hundred KiB, and a bound keeps a
// misnamed log or disk image from being slurped.
const maxFileSize = 8 << 20

// maxSymlinks is how many links resolve follows, as the kernel's MAXSYMLINKS.
const maxSymlinks = 40

// host reads files named by their path on the host ("/etc/etcd/ca.crt"):
// this machine's under a root prefix ("/" in production, a fixture directory
// in tests), or another's over SSH.
type host struct{ fs hostfs.Host }

// resolve follows symbolic links of the file itself within the host, so an
// absolute link such as kubelet-client-current.pem -> /etc/origin/node/... is
// read under the root and the file behind two names is recognised as one.
func (h host) resolve(hostPath string) (string, error) {
	p := filepath.Clean(hostPath)
	for range maxSymlinks {
		fi, err := h.fs.Lstat(p)
		if err != nil {
			return "", fmt.Errorf("%s: %w", hostPath, pathErr(err))
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil
		}
		target, err := h.fs.Readlink(p)
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
// links within the host. A .key file is refused, also behind a link, and so
// are devices and FIFOs (opening a FIFO blocks and a device may not end) and
// files too large to be certificates, before they are opened.
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
	fi, err := h.fs.Stat(resolved)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hostPath, pathErr(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", hostPath)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, not a certificate file", hostPath, maxFileSize>>20)
	}
	data, err := h.fs.ReadFile(resolved)
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
