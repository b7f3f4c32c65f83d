package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/localcluster"
)

// answers reports whether something accepts connections at a client URL.
func answers(clientURL string) bool {
	u, err := url.Parse(clientURL)
	if err != nil {
		return false
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err == nil {
		conn.Close()
	}
	return err == nil
}

// A cluster kept by demo --keep: once this process has let it go, moving a
// master's etcd.yaml still stops and starts its member (the kubelet left
// behind is day2 demo kubelet), and day2 demo stop ends everything.
func TestKeptDemoClusterFollowsItsManifests(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Workers: 1, Keep: true, Detach: true})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = localcluster.StopDetached(c.Dir)
		}
	})
	if err := c.Release(day2Bin, "demo", "kubelet"); err != nil {
		t.Fatal(err)
	}
	pids, err := os.ReadFile(filepath.Join(c.Dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}

	m := c.Masters[1]
	manifest := filepath.Join(m.Root, localcluster.EtcdManifest)
	aside := filepath.Join(m.Root, localcluster.StoppedPodsDir, "etcd.yaml")
	if !answers(m.ClientURL) {
		t.Fatalf("member %s should run after the release", m.Name)
	}
	if err := os.MkdirAll(filepath.Dir(aside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(manifest, aside); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the member stops when its etcd.yaml is moved out", func() bool { return !answers(m.ClientURL) })
	if err := os.Rename(aside, manifest); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the member starts when its etcd.yaml is back", func() bool { return answers(m.ClientURL) })

	// The hosts' sshd outlive the release too.
	node := c.SSHHosts()[len(c.SSHHosts())-1]
	if conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", node.Port), time.Second); err != nil {
		t.Errorf("sshd of %s should run after the release: %v", node.Name, err)
	} else {
		conn.Close()
	}

	out, err := day2(t, t.TempDir(), "demo", "stop", c.Dir).CombinedOutput()
	stopped = true
	if err != nil {
		t.Fatalf("day2 demo stop: %v\n%s", err, out)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("demo stop should remove %s: %v", c.Dir, err)
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), c.Dir) {
		t.Errorf("demo stop should unmount the hosts' chroots under %s", c.Dir)
	}
	for _, f := range strings.Fields(string(pids)) {
		pgid, _ := strconv.Atoi(f)
		if syscall.Kill(-pgid, 0) == nil {
			t.Errorf("process group %d still runs after demo stop", pgid)
		}
	}
	for _, m := range c.Masters {
		if answers(m.ClientURL) {
			t.Errorf("member %s still answers after demo stop", m.Name)
		}
	}
}
