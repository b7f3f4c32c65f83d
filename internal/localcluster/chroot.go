package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A simulated host's chroot: the system's /usr read-only (and /bin, /sbin,
// /lib* as the system has them: links into /usr on a merged-/usr Debian,
// else read-only binds), /dev/null, zero, random, urandom, tty, ptmx and
// pts (interactive logins get a terminal), a tmpfs
// /var of the host's disk size, and the simulators over every systemd
// command. /proc and /sys are fixture files, never the kernel's.

// privateHostsDir makes the hosts dir a private mount, so nothing mounted
// below it propagates to the system's mounts, even on a host whose / is a
// shared mount (systemd's default).
func privateHostsDir(dir string) error {
	if err := bindMount(dir, dir, false); err != nil {
		return err
	}
	return makePrivate(dir)
}

func makePrivate(target string) error {
	if err := unix.Mount("", target, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s a private mount: %w", target, err)
	}
	return nil
}

// dockerDiskSize is the xfs /var/lib/docker's size: seed 003 §3.6's 15 GB
// and some.
const dockerDiskSize = 20 * gib

// chrootDevices are bound from the system into every host's /dev.
var chrootDevices = []string{"null", "zero", "urandom", "random", "tty", "ptmx"}

// prepareChroot lays out host root root for sshd's ChrootDirectory, its
// /var a tmpfs of the profile's size (and /var/lib/docker an xfs in an image
// under diskDir where the profile says so), the simulators of simDir over
// the system's commands.
func prepareChroot(root string, p hostProfile, simDir, diskDir string) error {
	for _, d := range []string{"usr", "dev", "etc", "root", "run", "var", "proc", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777|os.ModeSticky); err != nil {
		return err
	}
	if err := privateBind("/usr", filepath.Join(root, "usr"), true); err != nil {
		return err
	}
	for _, d := range []string{"bin", "sbin", "lib", "lib32", "lib64", "libx32"} {
		fi, err := os.Lstat("/" + d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			continue
		case err != nil:
			return err
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink("/" + d)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, filepath.Join(root, d)); err != nil {
				return err
			}
		default:
			if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
				return err
			}
			if err := privateBind("/"+d, filepath.Join(root, d), true); err != nil {
				return err
			}
		}
	}
	for _, d := range chrootDevices {
		p := filepath.Join(root, "dev", d)
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return err
		}
		if err := privateBind("/dev/"+d, p, false); err != nil {
			return err
		}
	}
	// Terminals: sshd opens a session's pty by its /dev/pts name.
	if err := os.MkdirAll(filepath.Join(root, "dev/pts"), 0o755); err != nil {
		return err
	}
	if err := privateBind("/dev/pts", filepath.Join(root, "dev/pts"), false); err != nil {
		return err
	}
	if err := mountTmpfs(filepath.Join(root, "var"), p.varSize); err != nil {
		return err
	}
	if p.dockerXFS {
		if err := os.MkdirAll(diskDir, 0o700); err != nil {
			return err
		}
		// xfs wants 300 MiB at least; the image is sparse.
		image := filepath.Join(diskDir, filepath.Base(root)+"-docker.img")
		if err := mountLoop(image, filepath.Join(root, "var/lib/docker"), dockerDiskSize, "mkfs.xfs", "-f", "-q", "-n", "ftype=1"); err != nil {
			return fmt.Errorf("/var/lib/docker on xfs: %w", err)
		}
		if err := makePrivate(filepath.Join(root, "var/lib/docker")); err != nil {
			return err
		}
		// xfs_info and xfs_spaceman find a mounted xfs by its device.
		dev, err := mountSource(filepath.Join(root, "var/lib/docker"))
		if err != nil {
			return err
		}
		if err := bindDevice(root, dev); err != nil {
			return err
		}
	}
	return mountSimulators(root, simDir)
}

// bindDevice binds the system's device node dev at the same path in root.
func bindDevice(root, dev string) error {
	if !strings.HasPrefix(dev, "/dev/") {
		return fmt.Errorf("%s is not a device", dev)
	}
	p := filepath.Join(root, dev)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return err
	}
	return privateBind(dev, p, false)
}

func privateBind(src, target string, ro bool) error {
	if err := bindMount(src, target, ro); err != nil {
		return err
	}
	return makePrivate(target)
}

// mountSimulators binds the simulator over each simulated command the
// system has as a file (a link to one, like Debian's /usr/sbin/shutdown ->
// /bin/systemctl, reaches the simulator through it), and the simulators'
// directory over /usr/local/sbin, first in root's PATH, for the commands the
// system lacks.
func mountSimulators(root, simDir string) error {
	done := map[string]bool{}
	for _, cmd := range simulatedCommands {
		for _, dir := range []string{"/usr/bin", "/usr/sbin", "/bin", "/sbin"} {
			real, err := filepath.EvalSymlinks(filepath.Join(dir, cmd))
			if err != nil || done[real] {
				continue
			}
			// The chroot mirrors the system's /usr and its top-level links,
			// so the command resolves to the same file there.
			if err := privateBind(filepath.Join(simDir, cmd), filepath.Join(root, real), true); err != nil {
				return err
			}
			done[real] = true
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "usr/local/sbin")); err == nil && fi.IsDir() {
		return privateBind(simDir, filepath.Join(root, "usr/local/sbin"), true)
	}
	return nil
}
