package localcluster

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// writeHostRoots lays out every host root: with sshd, its chroot first (the
// /var tmpfs goes under the files written there), then its files.
func (c *Cluster) writeHostRoots(masters, infra []hostInfo, cas certAuthorities, now time.Time) error {
	hostsDir := filepath.Join(c.Dir, "hosts")
	simDir := filepath.Join(c.Dir, "sim")
	if !c.opts.NoSSH {
		if err := privateHostsDir(hostsDir); err != nil {
			return err
		}
		if err := writeSimulators(simDir); err != nil {
			return fmt.Errorf("host simulators: %w", err)
		}
	}
	for _, sh := range c.hosts {
		h := sh.info
		if err := os.MkdirAll(sh.Root, 0o755); err != nil {
			return err
		}
		if !c.opts.NoSSH {
			if err := prepareChroot(sh.Root, profileOf(h), simDir, filepath.Join(c.Dir, "disks")); err != nil {
				return fmt.Errorf("host root %s: %w", h.name, err)
			}
		}
		var fs *fileSet
		var err error
		if h.role == RoleMaster {
			fs, err = hostRoot(sh.Root, h, masters, infra, cas, c.APIServer, now)
		} else {
			fs, err = nodeHostRoot(sh.Root, h, masters, cas, c.APIServer, now)
		}
		if err != nil {
			return fmt.Errorf("host root %s: %w", h.name, err)
		}
		if err := fs.write(); err != nil {
			return err
		}
	}
	return nil
}
