package localcluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Mounts of the simulated hosts' chroots. Every mount point lies under the
// cluster directory, and nothing under it is removed while a mount remains:
// a bind mount of the system's /usr must never meet os.RemoveAll.

// bindMount binds src (a file or directory) at target, read-only when ro.
// target must exist and hold no symbolic link in its path: mount(2) would
// follow it out of the host root.
func bindMount(src, target string, ro bool) error {
	if err := noLinks(target); err != nil {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind %s at %s: %w", src, target, err)
	}
	if ro {
		// A bind mount takes read-only only on a remount of itself.
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return fmt.Errorf("make %s read-only: %w", target, err)
		}
	}
	return nil
}

// mountTmpfs mounts a tmpfs of size bytes at target: statfs reports that
// size while only what is written uses memory.
func mountTmpfs(target string, size int64) error {
	if err := noLinks(target); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", target, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size="+strconv.FormatInt(size, 10)); err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", target, err)
	}
	return nil
}

// noLinks refuses a path with a symbolic link in it.
func noLinks(p string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return err
	}
	if real != filepath.Clean(p) {
		return fmt.Errorf("mount at %s: the path goes through a symbolic link (to %s)", p, real)
	}
	return nil
}

// mountsUnder lists the mount points below dir, in the order they were
// mounted (mountinfo's order).
func mountsUnder(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	infos, err := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range infos {
		if m.Mountpoint != dir {
			out = append(out, m.Mountpoint)
		}
	}
	return out, nil
}

// mountSource is the source (device) of the mount at target.
func mountSource(target string) (string, error) {
	target = filepath.Clean(target)
	infos, err := mountinfo.GetMounts(func(m *mountinfo.Info) (skip, stop bool) { return m.Mountpoint != target, false })
	if err != nil {
		return "", err
	}
	if len(infos) == 0 {
		return "", fmt.Errorf("no mount at %s", target)
	}
	// The last mount at target is the one seen there.
	return infos[len(infos)-1].Source, nil
}

// unmountUnder unmounts everything below dir, last mounted first, lazily
// when a mount is busy, and reports what remains mounted.
func unmountUnder(dir string) error {
	points, err := mountsUnder(dir)
	if err != nil {
		return fmt.Errorf("list mounts under %s: %w", dir, err)
	}
	for i := len(points) - 1; i >= 0; i-- {
		err := unix.Unmount(points[i], 0)
		if errors.Is(err, unix.EBUSY) {
			err = unix.Unmount(points[i], unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("unmount %s: %w", points[i], err)
		}
	}
	if left, err := mountsUnder(dir); err != nil || len(left) > 0 {
		return fmt.Errorf("mounts left under %s: %v %v", dir, left, err)
	}
	return nil
}

// removeClusterDir unmounts what is left under dir and removes it, but never
// while anything is still mounted below it.
func removeClusterDir(dir string) error {
	if err := unmountUnder(dir); err != nil {
		return fmt.Errorf("not removing %s: %w", dir, err)
	}
	err := os.RemoveAll(dir)
	// The shared base of chroot-safe cluster dirs goes with its last cluster.
	if filepath.Dir(dir) == SSHBaseDir {
		_ = os.Remove(SSHBaseDir)
	}
	return err
}
