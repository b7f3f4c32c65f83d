package hostfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/day2ops/day2/internal/localcluster"
)

// etcdData writes a small etcd-like data dir under dir.
func etcdData(t *testing.T, dir string) {
	t.Helper()
	for p, content := range map[string]string{"member/snap/db": "bolt", "member/wal/0000000000000000-0000000000000000.wal": "wal"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("snap/db", filepath.Join(dir, "member/db-link")); err != nil {
		t.Fatal(err)
	}
}

func checkData(t *testing.T, dir string) {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, "member/snap/db")); err != nil || string(b) != "bolt" {
		t.Fatalf("%s/member/snap/db: %q %v", dir, b, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "member/wal/0000000000000000-0000000000000000.wal")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("wal: %v %v", fi, err)
	}
	if l, err := os.Readlink(filepath.Join(dir, "member/db-link")); err != nil || l != "snap/db" {
		t.Fatalf("symlink: %q %v", l, err)
	}
}

func empty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 0 {
		t.Fatalf("%s must stay, empty: %v %v", dir, entries, err)
	}
}

func TestMoveDirPlain(t *testing.T) {
	f := root(t, nil)
	data := filepath.Join(f.Root, "var/lib/etcd")
	etcdData(t, data)
	if got := f.DescribeMoveDir("/var/lib/etcd", "/var/lib/etcd.old"); got != "mv /var/lib/etcd /var/lib/etcd.old" {
		t.Errorf("describe: %s", got)
	}
	if err := f.MoveDir("/var/lib/etcd", "/var/lib/etcd.old"); err != nil {
		t.Fatal(err)
	}
	checkData(t, filepath.Join(f.Root, "var/lib/etcd.old"))
	if f.Exists("/var/lib/etcd") {
		t.Error("a plain data dir is renamed away")
	}
	// Never over a non-empty target.
	etcdData(t, data)
	if err := f.MoveDir("/var/lib/etcd", "/var/lib/etcd.old"); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("over a full target: %v", err)
	}
	checkData(t, data)
}

// The data dir on its own filesystem (a loop-device ext4, as the guide's
// dedicated disk): renaming it fails with EBUSY, so its contents move out
// (across filesystems: copied, then removed) and it stays mounted, empty;
// a restore made beside it moves back in.
func TestMoveDirMountPoint(t *testing.T) {
	for _, kind := range []string{"loop", "bind"} {
		t.Run(kind, func(t *testing.T) {
			f := root(t, nil)
			data := filepath.Join(f.Root, "var/lib/etcd")
			mountFS(t, kind, data)
			etcdData(t, data)
			if err := os.Rename(data, data+".old"); !errors.Is(err, syscall.EBUSY) && !errors.Is(err, syscall.EXDEV) {
				t.Fatalf("renaming a mount point: %v, want EBUSY", err)
			}
			if got := f.DescribeMoveDir("/var/lib/etcd", "/var/lib/etcd.old"); !strings.Contains(got, "is a mount point") {
				t.Errorf("describe: %s", got)
			}
			if err := f.MoveDir("/var/lib/etcd", "/var/lib/etcd.old"); err != nil {
				t.Fatal(err)
			}
			checkData(t, filepath.Join(f.Root, "var/lib/etcd.old"))
			empty(t, data)
			if m, err := f.IsMountPoint("/var/lib/etcd"); err != nil || !m {
				t.Fatalf("still mounted: %v %v", m, err)
			}
			// The restore's scratch dir, on the parent filesystem, moves into
			// the empty mount point (a rename would fail with EXDEV).
			etcdData(t, filepath.Join(f.Root, "var/lib/etcd.day2-restore"))
			if err := f.MoveDir("/var/lib/etcd.day2-restore", "/var/lib/etcd"); err != nil {
				t.Fatal(err)
			}
			checkData(t, data)
			if f.Exists("/var/lib/etcd.day2-restore") || f.Exists("/var/lib/etcd.day2-restore.day2-partial") {
				t.Error("the scratch dir and its partial copy must be gone")
			}
			if err := f.MoveDir("/var/lib/etcd", "/var/lib/etcd/.day2-aside"); err == nil || !strings.Contains(err.Error(), "inside the source") {
				t.Errorf("a dir cannot be moved into itself: %v", err)
			}
		})
	}
}

// mountFS mounts a fresh filesystem at dir: a loop-device ext4, or a bind
// mount of a directory of the same filesystem (EXDEV across it all the same).
func mountFS(t *testing.T, kind, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("mounting a filesystem needs root")
	}
	if kind == "loop" {
		umount, err := localcluster.MountLoopFS(filepath.Join(t.TempDir(), "disk.img"), dir, 16<<20)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := umount(); err != nil {
				t.Error(err)
			}
		})
		return
	}
	src := t.TempDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", src, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount --bind: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
}
