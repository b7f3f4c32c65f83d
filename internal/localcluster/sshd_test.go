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

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	out, _ = sshRun(t, h, "/usr/bin/systemctl is-active docker; /bin/systemctl is-active crio; /sbin/shutdown -r +10 >/dev/null; cat /run/day2-sim/shutdown; /usr/sbin/shutdown -c")
	if !strings.HasPrefix(out, "active\ninactive\nreboot ") {
		t.Errorf("full paths: %q, want the simulator's answers and a recorded reboot", out)
	}
	if _, ok := cluster.ShutdownRequested(h.Name); ok {
		t.Error("shutdown -c left the reboot pending")
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

// The generated ssh_config alone takes OpenSSH's client to a host by its
// short name (port, user, key and known_hosts from the file), and SFTP
// reports the host's own /var (statvfs@openssh.com).
func TestSSHConfigAndSFTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ssh", "-F", cluster.SSHConfigPath(), "-o", "BatchMode=yes", "master-2", "cat /etc/hostname").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "master-2.example.com" {
		t.Errorf("ssh -F ssh_config master-2: %v %q", err, out)
	}
	// An interactive login gets a terminal.
	out, err = exec.CommandContext(ctx, "ssh", "-F", cluster.SSHConfigPath(), "-tt", "-o", "BatchMode=yes", "infra-0", "tty").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "/dev/pts/") {
		t.Errorf("ssh -tt infra-0 tty: %v %q", err, out)
	}
	sftp := exec.CommandContext(ctx, "sftp", "-F", cluster.SSHConfigPath(), "-b", "-", "node-0")
	sftp.Stdin = strings.NewReader("df /var\nget /etc/origin/node/node-config.yaml " + filepath.Join(t.TempDir(), "nc.yaml") + "\n")
	out, err = sftp.CombinedOutput()
	if err != nil {
		t.Fatalf("sftp node-0: %v\n%s", err, out)
	}
	// sftp's df prints sizes in KiB: node-0's /var is 10 GiB.
	if !strings.Contains(string(out), strconv.FormatInt(profileOf(sshHostInfo(t, "node-0.example.com")).varSize>>10, 10)) {
		t.Errorf("sftp df /var on node-0:\n%s", out)
	}
}

func TestInventoryNamesEveryHost(t *testing.T) {
	data, err := os.ReadFile(cluster.InventoryPath())
	if err != nil {
		t.Fatal(err)
	}
	inv := string(data)
	for _, section := range []string{"[OSEv3:children]", "[OSEv3:vars]", "[masters]", "[etcd]", "[lb]", "[nodes]"} {
		if !strings.Contains(inv, "\n"+section+"\n") {
			t.Errorf("inventory has no %s", section)
		}
	}
	for _, h := range cluster.SSHHosts() {
		line := h.Name + " ansible_host=127.0.0.1 ansible_port=" + strconv.Itoa(h.Port) + " ansible_user=root openshift_node_group_name=node-config-" + h.Role + "\n"
		if !strings.Contains(inv, line) {
			t.Errorf("inventory's [nodes] lacks %q", line)
		}
	}
	if filepath.Dir(filepath.Dir(cluster.InventoryPath())) != filepath.Join(cluster.HostRoot(0), "etc") {
		t.Errorf("inventory at %s, want master-0's /etc/ansible/hosts", cluster.InventoryPath())
	}
}

// A changed host key is refused by OpenSSH until known_hosts is updated.
func TestRegenerateHostKey(t *testing.T) {
	h := sshHost(t, "infra-0.example.com")
	if err := cluster.RegenerateHostKey(h.Name); err != nil {
		t.Fatal(err)
	}
	out, err := sshRun(t, h, "true")
	if err == nil || !strings.Contains(out, "HOST IDENTIFICATION HAS CHANGED") {
		t.Errorf("ssh after a key change: %v %q, want a refused changed key", err, out)
	}
	if err := cluster.TrustHostKeys(); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, h, "true"); err != nil {
		t.Errorf("ssh with the new key trusted: %v %q", err, out)
	}
}

// shutdown run on a host powers it off: its sshd refuses, its Node turns
// NotReady; PowerOn brings both back.
func TestShutdownOverSSH(t *testing.T) {
	h := sshHost(t, cluster.Workers[len(cluster.Workers)-1])
	ctx := ctxT(t, 90*time.Second)
	out, err := sshRun(t, h, "shutdown -h +5 && cat /run/day2-sim/shutdown")
	if err != nil || !strings.Contains(out, "Shutdown scheduled for") {
		t.Fatalf("shutdown -h +5: %v %q", err, out)
	}
	if r, ok := cluster.ShutdownRequested(h.Name); !ok || r.Action != "poweroff" || time.Until(r.Due) < 4*time.Minute {
		t.Errorf("ShutdownRequested = %+v %v, want a poweroff in 5 minutes", r, ok)
	}
	if out, err := sshRun(t, h, "shutdown -c"); err != nil {
		t.Fatalf("shutdown -c: %v %q", err, out)
	}
	if _, ok := cluster.ShutdownRequested(h.Name); ok {
		t.Error("shutdown -c left the request")
	}
	// The session ends with the machine: ssh may report it or not.
	_, _ = sshRun(t, h, "systemctl stop docker; shutdown -h now; sleep 10")
	if err := poll(ctx, h.Name+" powered off", 20*time.Second, 100*time.Millisecond, func() (bool, error) {
		return cluster.PoweredOff(h.Name), nil
	}); err != nil {
		t.Fatal(err)
	}
	if out, err := sshRun(t, h, "true"); err == nil || !strings.Contains(out, "Connection refused") {
		t.Errorf("ssh to a powered-off host: %v %q", err, out)
	}
	// The Node follows the machine (as a node controller would, later): the
	// power-off is marked before its Node is made NotReady.
	if err := poll(ctx, h.Node+" NotReady", 20*time.Second, 100*time.Millisecond, func() (bool, error) {
		n, err := cluster.Client.CoreV1().Nodes().Get(ctx, h.Node, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		t.Errorf("after its host powered off: %v", err)
	}
	if err := cluster.PowerOn(ctx, h.Name); err != nil {
		t.Fatal(err)
	}
	// Booted: enabled units run again, whatever was stopped by hand.
	if out, err := sshRun(t, h, "systemctl is-active docker"); err != nil || out != "active\n" {
		t.Errorf("after power on: %v %q", err, out)
	}
}

// The guide's own commands answer on the hosts: df -hT lists / and /var
// (seed 003 §3.6), master-1's /var/lib/docker is a real xfs with ftype=1
// (§3.7), timedatectl (§2.1) answers from the simulator.
func TestGuideCommandsOnHosts(t *testing.T) {
	out, err := sshRun(t, sshHost(t, "master-1.example.com"), "df -hT; stat -f -c %T /var/lib/docker; xfs_info /var/lib/docker | grep -o 'ftype=1'; timedatectl")
	if err != nil {
		t.Fatalf("ssh master-1: %v\n%s", err, out)
	}
	for _, want := range []string{" /var\n", "tmpfs", "50G", "/var/lib/docker\n", "\nxfs\nftype=1\n", "NTP synchronized: yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("master-1's output lacks %q:\n%s", want, out)
		}
	}
}

// docker info (seed 003 §3.7) reports each host's storage: overlay2 on
// master-1's real xfs, infra-1's devicemapper thin pool; with docker
// stopped it cannot connect, as the client says.
func TestDockerInfoOnHosts(t *testing.T) {
	out, err := sshRun(t, sshHost(t, "master-1.example.com"), "docker info")
	if err != nil || !strings.Contains(out, "Storage Driver: overlay2\n Backing Filesystem: xfs\n Supports d_type: true\n") {
		t.Errorf("master-1 docker info: %v\n%s", err, out)
	}
	infra1 := sshHost(t, "infra-1.example.com")
	out, err = sshRun(t, infra1, "docker info")
	if err != nil || !strings.Contains(out, "Storage Driver: devicemapper\n Pool Name: docker--vg-docker--pool\n") || !strings.Contains(out, " Data Space Used: 27.08 GB\n") {
		t.Errorf("infra-1 docker info: %v\n%s", err, out)
	}
	out, err = sshRun(t, infra1, "systemctl stop docker; docker info; echo rc=$?; systemctl start docker")
	if err != nil || !strings.Contains(out, "Is the docker daemon running?") || !strings.Contains(out, "rc=1") {
		t.Errorf("docker info with docker stopped: %v\n%s", err, out)
	}
}

// Every verdict of the host checks has a host: entropy below 800 and below
// 1000, no NTP evidence and chrony's, a devicemapper thin pool, a tun0 MTU
// against node-config's, a /var below a node's 15 GB; every other host is
// healthy on each.
func TestHostSpread(t *testing.T) {
	read := func(h SSHHost, rel string) string {
		b, err := os.ReadFile(filepath.Join(h.Root, rel))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	count := map[string][]string{}
	for _, h := range cluster.SSHHosts() {
		e, _ := strconv.Atoi(read(h, "proc/sys/kernel/random/entropy_avail"))
		switch {
		case e < 800:
			count["entropy<800"] = append(count["entropy<800"], h.Name)
		case e < 1000:
			count["entropy<1000"] = append(count["entropy<1000"], h.Name)
		}
		if read(h, "run/systemd/timesync/synchronized") == "" && read(h, "var/lib/chrony/drift") != "" {
			count["chrony"] = append(count["chrony"], h.Name)
		}
		if strings.Contains(read(h, "etc/sysconfig/docker-storage"), "dm.thinpooldev=/dev/mapper/docker--vg-docker--pool") {
			count["devicemapper"] = append(count["devicemapper"], h.Name)
		}
		if !strings.Contains(read(h, "etc/origin/node/node-config.yaml"), "mtu: "+read(h, "sys/class/net/tun0/mtu")+"\n") {
			count["tun0-mtu"] = append(count["tun0-mtu"], h.Name)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(filepath.Join(h.Root, "var"), &st); err != nil {
			t.Fatal(err)
		}
		need := int64(15e9)
		if h.Role == RoleMaster {
			need = 40e9
		}
		if int64(st.Blocks)*int64(st.Bsize) < need { //nolint:unconvert // Bsize is uint32 on s390x
			count["small-var"] = append(count["small-var"], h.Name)
		}
	}
	want := map[string][]string{
		"entropy<800": {"master-2.example.com"}, "entropy<1000": {"master-0.example.com"}, "chrony": {"infra-0.example.com"},
		"devicemapper": {"infra-1.example.com"}, "tun0-mtu": {"infra-2.example.com"}, "small-var": {"node-0.example.com"},
	}
	for k, v := range want {
		if strings.Join(count[k], ",") != strings.Join(v, ",") {
			t.Errorf("%s: %v, want %v", k, count[k], v)
		}
	}
}

// A cluster whose process died without stopping it (a test binary killed by
// its timeout) is unmounted and removed by the next cluster's start; a
// running one's is not.
func TestReapStaleCluster(t *testing.T) {
	stale, err := sshClusterDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, ownerFile), []byte("999999999 1"), 0o600); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(stale, "hosts", "h", "var")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mountTmpfs(mnt, 1<<20); err != nil {
		t.Fatal(err)
	}
	fresh, err := sshClusterDir()
	if err != nil {
		t.Fatal(err)
	}
	defer removeClusterDir(fresh)
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale cluster dir %s still there: %v", stale, err)
		_ = removeClusterDir(stale)
	}
	if left, _ := mountsUnder(stale); len(left) > 0 {
		t.Errorf("mounts left: %v", left)
	}
	if _, err := os.Stat(cluster.Dir); err != nil {
		t.Errorf("the running cluster's dir went too: %v", err)
	}
}
