package hostfs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func root(t *testing.T, files map[string]string) FS {
	r := t.TempDir()
	for p, content := range files {
		full := filepath.Join(r, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return New(r)
}

func TestPlanAndApplyEdit(t *testing.T) {
	f := root(t, map[string]string{"etc/haproxy/haproxy.cfg": "a\nb\nc\n"})
	drop := func(b []byte) ([]byte, error) { return bytes.Replace(b, []byte("b\n"), nil, 1), nil }
	e, err := f.PlanEdit("/etc/haproxy/haproxy.cfg", drop)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Changes() || !strings.Contains(e.Diff, "-b") || !strings.Contains(e.Diff, "--- /etc/haproxy/haproxy.cfg") {
		t.Fatalf("diff:\n%s", e.Diff)
	}
	if got, _ := f.ReadFile("/etc/haproxy/haproxy.cfg"); string(got) != "a\nb\nc\n" {
		t.Fatal("planning must not write")
	}
	now := time.Date(2026, 11, 21, 3, 4, 5, 0, time.UTC)
	backup, err := f.Apply(e, now)
	if err != nil {
		t.Fatal(err)
	}
	if backup != "/etc/haproxy/haproxy.cfg.day2-20261121T030405Z.bak" {
		t.Errorf("backup = %s", backup)
	}
	if got, _ := f.ReadFile(backup); string(got) != "a\nb\nc\n" {
		t.Errorf("backup holds %q", got)
	}
	if got, _ := f.ReadFile("/etc/haproxy/haproxy.cfg"); string(got) != "a\nc\n" {
		t.Errorf("file holds %q", got)
	}
	p, _ := f.Path("/etc/haproxy/haproxy.cfg")
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".haproxy.cfg.day2-*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestApplyRefusesAChangedFile(t *testing.T) {
	f := root(t, map[string]string{"etc/etcd/etcd.conf": "ETCD_NAME=m0\n"})
	e, err := f.PlanEdit("/etc/etcd/etcd.conf", func(b []byte) ([]byte, error) { return append(b, "X=1\n"...), nil })
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.Path("/etc/etcd/etcd.conf")
	if err := os.WriteFile(p, []byte("ETCD_NAME=changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(e, time.Now()); !errors.Is(err, ErrChanged) {
		t.Fatalf("want ErrChanged, got %v", err)
	}
	if got, _ := f.ReadFile("/etc/etcd/etcd.conf"); string(got) != "ETCD_NAME=changed\n" {
		t.Fatal("a refused edit must leave the file alone")
	}
}

func TestPathStaysUnderRoot(t *testing.T) {
	f := New(t.TempDir())
	if _, err := f.Path("etc/x"); err == nil {
		t.Error("a relative host path must be refused")
	}
	for _, up := range []string{"/etc/../../x", "/../x"} {
		if p, _ := f.Path(up); p != filepath.Join(f.Root, "x") {
			t.Errorf("Path(%q) = %s, want it kept under the root", up, p)
		}
	}
	if p, err := f.Path("/etc/haproxy/haproxy.cfg"); err != nil || !strings.HasPrefix(p, f.Root) {
		t.Errorf("Path = %s %v", p, err)
	}
	if _, err := f.PlanEdit("/etc/missing", func(b []byte) ([]byte, error) { return b, nil }); err == nil || !strings.Contains(err.Error(), "/etc/missing") {
		t.Errorf("missing file: %v", err)
	}
}

func TestBackupAndVerify(t *testing.T) {
	f := root(t, map[string]string{
		"etc/origin/master/master-config.yaml": "kind: MasterConfig\n",
		"etc/origin/master/ca.key":             "KEY",
		"etc/sysconfig/iptables":               "*filter\n",
	})
	a, err := f.Backup([]string{"/etc/origin", "/etc/sysconfig/iptables", "/etc/sysconfig/flanneld"},
		map[string][]byte{"packages.txt": []byte("bash-4.2\n")}, "/backup/master-2-20261121.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	if a.Files != 4 || len(a.Missing) != 1 || a.Missing[0] != "/etc/sysconfig/flanneld" || len(a.SHA256) != 64 {
		t.Fatalf("archive %+v", a)
	}
	p, _ := f.Path(a.Path)
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup mode: %v %v", fi, err)
	}
	if err := f.VerifyBackup(a.Path); err != nil {
		t.Fatal(err)
	}
	// One flipped byte is caught.
	data, _ := os.ReadFile(p)
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.VerifyBackup(a.Path); err == nil {
		t.Fatal("a corrupted backup verified")
	}
	if _, err := f.Backup([]string{"/etc/origin"}, nil, a.Path); err == nil {
		t.Fatal("an existing backup must never be overwritten")
	}
}

func TestMoveRefusesToOverwrite(t *testing.T) {
	f := root(t, map[string]string{"etc/origin/node/pods/apiserver.yaml": "a", "etc/origin/node/pods/disabled/old.yaml": "o"})
	if err := f.Move("/etc/origin/node/pods/apiserver.yaml", "/etc/origin/node/pods/disabled/apiserver.yaml"); err != nil {
		t.Fatal(err)
	}
	if f.Exists("/etc/origin/node/pods/apiserver.yaml") || !f.Exists("/etc/origin/node/pods/disabled/apiserver.yaml") {
		t.Fatal("move did not move")
	}
	if err := f.Move("/etc/origin/node/pods/disabled/old.yaml", "/etc/origin/node/pods/disabled/apiserver.yaml"); err == nil {
		t.Fatal("move over an existing file must be refused")
	}
}

func TestLocalHostRunReportsExitAndTimeout(t *testing.T) {
	h := New("/")
	r, err := h.Run(context.Background(), Command{Line: "echo out; echo err >&2; exit 3"})
	if err != nil || r.Exit != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" || r.Err() == nil {
		t.Fatalf("run = %+v, %v", r, err)
	}
	if _, err := h.Run(context.Background(), Command{Line: "sleep 5", Timeout: 100 * time.Millisecond}); err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("timeout err = %v", err)
	}
}
