package localcluster

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sshRun runs a command on host h with the system's OpenSSH client and the
// cluster's key and known_hosts, as an operator's ssh would.
func sshRun(t *testing.T, h SSHHost, command string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", "none", "-i", cluster.SSHKeyPath(), "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile="+cluster.SSHKnownHostsPath(), "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-o", "ConnectTimeout=5", "-p", strconv.Itoa(h.Port), "root@127.0.0.1", command)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func sshHost(t *testing.T, name string) SSHHost {
	t.Helper()
	for _, h := range cluster.SSHHosts() {
		if h.Name == name {
			return h
		}
	}
	t.Fatalf("no host %s in %v", name, cluster.SSHHosts())
	return SSHHost{}
}

func TestSSHHostsEveryNode(t *testing.T) {
	hosts := cluster.SSHHosts()
	if want := len(cluster.Masters) + len(cluster.Infra) + len(cluster.Workers); len(hosts) != want {
		t.Fatalf("%d SSH hosts, want %d", len(hosts), want)
	}
	roles := map[string]int{}
	ports := map[int]bool{}
	for _, h := range hosts {
		roles[h.Role]++
		if h.Port == 0 || ports[h.Port] {
			t.Errorf("%s: port %d (zero or shared)", h.Name, h.Port)
		}
		ports[h.Port] = true
	}
	if roles[RoleMaster] != 3 || roles[RoleInfra] != 3 || roles[RoleCompute] != len(cluster.Workers) {
		t.Errorf("roles %v", roles)
	}
}

func TestSSHReadsHostFiles(t *testing.T) {
	h := sshHost(t, "node-0.example.com")
	out, err := sshRun(t, h, "cat /proc/sys/kernel/random/entropy_avail; stat -f -c '%T %b %S' /var; cat /etc/hostname")
	if err != nil {
		t.Fatalf("ssh %s: %v: %s", h.Name, err, out)
	}
	want, err := os.ReadFile(filepath.Join(h.Root, "proc/sys/kernel/random/entropy_avail"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != strings.TrimSpace(string(want)) {
		t.Fatalf("output %q, want entropy %q first", out, want)
	}
	// /var is the host's own filesystem: node-0's is small (10 GiB).
	f := strings.Fields(lines[1])
	blocks, _ := strconv.ParseInt(f[1], 10, 64)
	bsize, _ := strconv.ParseInt(f[2], 10, 64)
	if f[0] != "tmpfs" || blocks*bsize != profileOf(sshHostInfo(t, h.Name)).varSize {
		t.Errorf("stat -f /var = %q, want tmpfs of %d bytes", lines[1], profileOf(sshHostInfo(t, h.Name)).varSize)
	}
	if lines[2] != h.Name {
		t.Errorf("hostname %q, want %q", lines[2], h.Name)
	}
}

func sshHostInfo(t *testing.T, name string) hostInfo {
	t.Helper()
	h, err := cluster.host(name)
	if err != nil {
		t.Fatal(err)
	}
	return h.info
}

func TestSSHSimulatedSystemctl(t *testing.T) {
	h := sshHost(t, "infra-1.example.com")
	out, err := sshRun(t, h, "systemctl is-active docker && systemctl stop docker; systemctl is-active docker; echo rc=$?; systemctl restart docker.service && systemctl is-active docker")
	if err != nil {
		t.Fatalf("ssh: %v: %s", err, out)
	}
	if want := "active\ninactive\nrc=3\nactive\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	log, err := os.ReadFile(filepath.Join(h.Root, SimLog))
	if err != nil || !strings.Contains(string(log), "systemctl stop docker") || !strings.Contains(string(log), "systemctl restart docker") {
		t.Errorf("simulator log %q (%v), want the stop and the restart", log, err)
	}
	// The system's systemctl is out of reach, even by its full path.
	out, _ = sshRun(t, h, "/usr/bin/systemctl is-active docker; /bin/systemctl is-active crio; /sbin/reboot; cat /run/day2-sim/shutdown")
	if !strings.HasPrefix(out, "active\ninactive\nreboot ") {
		t.Errorf("full paths: %q, want the simulator's answers and a recorded reboot", out)
	}
	if err := os.Remove(filepath.Join(h.Root, SimShutdown)); err != nil {
		t.Fatal(err)
	}
}

func TestSSHStoppedHostRefuses(t *testing.T) {
	down, up := sshHost(t, "node-0.example.com"), sshHost(t, "master-1.example.com")
	if err := cluster.StopSSHD(down.Name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.StartSSHD(down.Name); err != nil {
			t.Error(err)
		}
	})
	out, err := sshRun(t, down, "true")
	if err == nil || !strings.Contains(out, "Connection refused") {
		t.Errorf("ssh to a stopped sshd: %v %q, want connection refused", err, out)
	}
	if out, err := sshRun(t, up, "cat /proc/sys/kernel/osrelease"); err != nil || strings.TrimSpace(out) != demoKernelRelease {
		t.Errorf("ssh %s: %v %q", up.Name, err, out)
	}
}
