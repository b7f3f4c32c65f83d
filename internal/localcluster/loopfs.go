package localcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// MountLoopFS makes an ext4 filesystem of size bytes in the file image and
// mounts it at dir through a loop device, as the guide's dedicated disk for
// /var/lib/etcd. It needs root. The returned function unmounts it (which
// detaches the loop device: mount -o loop sets it to autoclear) and removes
// the image.
func MountLoopFS(image, dir string, size int64) (unmount func() error, err error) {
	if err := mountLoop(image, dir, size, "mkfs.ext4", "-F", "-q"); err != nil {
		return nil, err
	}
	// A fresh ext4 has lost+found; etcd's data dir should hold only its own.
	if err := os.Remove(filepath.Join(dir, "lost+found")); err != nil {
		_ = runCmd("umount", dir)
		os.Remove(image)
		return nil, err
	}
	return func() error {
		if err := runCmd("umount", dir); err != nil {
			return err
		}
		return os.Remove(image)
	}, nil
}

// mountLoop makes a filesystem with mkfs (its command and options) in the
// sparse file image of size bytes and mounts it at dir through a loop
// device that detaches itself when unmounted (mount -o loop sets autoclear).
func mountLoop(image, dir string, size int64, mkfs ...string) error {
	if err := os.WriteFile(image, nil, 0o600); err != nil {
		return err
	}
	if err := os.Truncate(image, size); err != nil {
		return err
	}
	if err := runCmd(mkfs[0], append(mkfs[1:], image)...); err != nil {
		os.Remove(image)
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := runCmd("mount", "-o", "loop", image, dir); err != nil {
		os.Remove(image)
		return err
	}
	return nil
}

func runCmd(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %v: %w: %s", name, args, err, out)
	}
	return nil
}

// MountEtcdDataDir puts master i's etcd data dir on a filesystem of its
// own, as seed 003 recommends for /var/lib/etcd: it stops the member, mounts
// a 512 MiB sparse loop-device ext4 at the data dir (etcd preallocates 64
// MiB WAL files), copies the data in and lets the member run again. The filesystem is unmounted (and its loop device
// detached) when the cluster stops, after every process.
func (c *Cluster) MountEtcdDataDir(i int) error {
	m := c.Masters[i]
	dir := filepath.Join(m.Root, EtcdDataDir)
	saved := dir + ".before-mount"
	c.StopMember(i)
	defer c.StartMember(i)
	if err := waitStopped(c, i); err != nil {
		return err
	}
	if err := os.Rename(dir, saved); err != nil {
		return fmt.Errorf("mount %s: %w", dir, err)
	}
	umount, err := MountLoopFS(filepath.Join(c.Dir, "etcd-disk-"+strconv.Itoa(i)+".img"), dir, 512<<20)
	if err != nil {
		_ = os.Rename(saved, dir)
		return err
	}
	c.cleanups = append(c.cleanups, func() { _ = umount() })
	if out, err := exec.Command("cp", "-a", saved+"/.", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("cp -a %s/. %s: %w: %s", saved, dir, err, out)
	}
	return os.RemoveAll(saved)
}

func waitStopped(c *Cluster, i int) error {
	for deadline := time.Now().Add(10 * time.Second); c.MemberRunning(i); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd member %s did not stop", c.Masters[i].Name)
		}
	}
	return nil
}
