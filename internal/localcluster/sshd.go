package localcluster

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// The local cluster's hosts are simulated like kwok's nodes: each master,
// infra and compute node has a host root laid out like an OpenShift 3.11
// host, and, unless Options.NoSSH, a real OpenSSH sshd on 127.0.0.1 chrooted
// into it, with the system's /usr bind-mounted read-only so real commands
// (sh, cat, stat, tar, curl, df) run there. systemctl, shutdown, reboot,
// poweroff, halt, timedatectl and chronyc are simulators (simulate.go): no
// command run over SSH can reach this machine's systemd.

// SSHDPath is the OpenSSH server the hosts run (Debian's openssh-server;
// tools/sshd.sh installs it).
const SSHDPath = "/usr/sbin/sshd"

// SSHBaseDir holds the directories of clusters whose hosts run sshd: sshd
// chroots only into a directory whose every component is root-owned and
// writable by root alone, which /tmp is not.
const SSHBaseDir = "/var/lib/day2-localcluster"

// Host roles, as openshift_node_group_name names them (node-config-<role>).
const (
	RoleMaster  = "master"
	RoleInfra   = "infra"
	RoleCompute = "compute"
)

// SSHHost is one simulated host as a client reaches it.
type SSHHost struct {
	// Name is the host's inventory and ssh_config name: its node name.
	Name string
	Role string
	// Port is its sshd's port on 127.0.0.1 (0 when the cluster runs no sshd).
	Port int
	// Root is the host root: "/" over SSH.
	Root string
	// Node is the host's Node in the API.
	Node string
}

// simHost is a simulated host and its sshd.
type simHost struct {
	SSHHost
	info hostInfo

	mu         sync.Mutex
	sshd       *proc
	poweredOff bool
}

// sshd paths under the cluster dir, outside every chroot.
func (c *Cluster) sshDir() string                { return filepath.Join(c.Dir, "ssh") }
func (c *Cluster) sshHostDir(name string) string { return filepath.Join(c.sshDir(), "hosts", name) }

// SSHEnabled reports whether the hosts are served by sshd.
func (c *Cluster) SSHEnabled() bool { return !c.opts.NoSSH }

// SSHHosts lists every host: masters, infra nodes, compute nodes.
func (c *Cluster) SSHHosts() []SSHHost {
	out := make([]SSHHost, len(c.hosts))
	for i, h := range c.hosts {
		out[i] = h.SSHHost
	}
	return out
}

// SSHKeyPath is the private key root logs in with on every host.
func (c *Cluster) SSHKeyPath() string { return filepath.Join(c.sshDir(), "id_ed25519") }

// SSHKnownHostsPath is a known_hosts file with every host's key, as
// "[127.0.0.1]:port" (and "[name]:port") entries.
func (c *Cluster) SSHKnownHostsPath() string { return filepath.Join(c.sshDir(), "known_hosts") }

// SSHConfigPath is an ssh_config naming every host (Host <name> <short>).
func (c *Cluster) SSHConfigPath() string { return filepath.Join(c.sshDir(), "ssh_config") }

// InventoryPath is the openshift-ansible inventory in master-0's host root
// (/etc/ansible/hosts there).
func (c *Cluster) InventoryPath() string { return filepath.Join(c.hosts[0].Root, InventoryFile) }

// InventoryFile is where openshift-ansible's inventory lives on master-0.
const InventoryFile = "etc/ansible/hosts"

// SSHFlags are day2's flags (name, value) that reach the hosts with the
// cluster's ssh_config, key, known_hosts and inventory; none without sshd.
func (c *Cluster) SSHFlags() [][2]string {
	if c.opts.NoSSH {
		return nil
	}
	return [][2]string{
		{"ssh-config", c.SSHConfigPath()}, {"ssh-key", c.SSHKeyPath()},
		{"ssh-known-hosts", c.SSHKnownHostsPath()}, {"inventory", c.InventoryPath()},
	}
}

func (c *Cluster) host(name string) (*simHost, error) {
	for _, h := range c.hosts {
		if h.Name == name {
			return h, nil
		}
	}
	return nil, fmt.Errorf("local cluster: no host %q", name)
}

// checkSSHPossible says why the hosts cannot run sshd here, if they cannot.
func checkSSHPossible() error {
	if os.Geteuid() != 0 {
		return errors.New("the simulated hosts' sshd chroots and bind mounts need root (or set Options.NoSSH)")
	}
	if _, err := os.Stat(SSHDPath); err != nil {
		return fmt.Errorf("the simulated hosts need OpenSSH's server: %w (install openssh-server: tools/sshd.sh does it as root)", err)
	}
	return nil
}

// sshClusterDir makes a new cluster dir under SSHBaseDir, owned by this
// process, after clearing the dirs of clusters whose process died without
// stopping them (a test binary killed by its timeout leaves its mounts).
func sshClusterDir() (string, error) {
	reapStaleClusters()
	for attempt := 0; ; attempt++ {
		if err := os.MkdirAll(SSHBaseDir, 0o755); err != nil {
			return "", fmt.Errorf("local cluster dir: %w", err)
		}
		if err := os.Chmod(SSHBaseDir, 0o755); err != nil {
			return "", fmt.Errorf("local cluster dir: %w", err)
		}
		dir, err := os.MkdirTemp(SSHBaseDir, "day2-cluster-")
		// Another cluster's Stop may remove the shared base in between.
		if errors.Is(err, os.ErrNotExist) && attempt < 3 {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("local cluster dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(processID(os.Getpid())), 0o600); err != nil {
			return "", fmt.Errorf("local cluster dir: %w", err)
		}
		return dir, nil
	}
}

// ownerFile names the process that runs a cluster: its pid and start time.
const ownerFile = "owner"

// processID is pid and its start time (clock ticks since boot), which a
// reused pid does not share; "" when pid is not running.
func processID(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 20 {
		return ""
	}
	return fmt.Sprintf("%d %s", pid, fields[19])
}

// reapStaleClusters stops and removes the clusters under SSHBaseDir whose
// owner has gone. Detached clusters (demo --keep, a pids file) are left to
// day2 demo stop.
func reapStaleClusters() {
	dirs, _ := filepath.Glob(filepath.Join(SSHBaseDir, "day2-cluster-*"))
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, pidsFile)); err == nil {
			continue
		}
		owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being created, or not ours
		}
		var pid int
		if _, err := fmt.Sscan(string(owner), &pid); err != nil || processID(pid) == string(owner) {
			continue
		}
		killChrooted(dir)
		killMentioning(dir)
		_ = removeClusterDir(dir)
	}
}

// killMentioning kills the processes whose command line names something
// under dir (a stale cluster's sshd: -f dir/ssh/hosts/…/sshd_config).
func killMentioning(dir string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	prefix := []byte(filepath.Clean(dir) + "/")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && bytes.Contains(cmdline, prefix) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// checkChrootable refuses a dir sshd would refuse to chroot below: every
// component root-owned and not writable by group or others.
func checkChrootable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || st.Uid != 0 || fi.Mode().Perm()&0o022 != 0 {
			return fmt.Errorf("local cluster dir %s: sshd chroots only below directories owned by root and writable by root alone, and %s is not (leave Options.Dir empty to get %s/…)", dir, p, SSHBaseDir)
		}
		if p == "/" {
			return nil
		}
	}
}

// sshKey is a new ed25519 key: the private key in OpenSSH's PEM form and
// the public key.
func sshKey(comment string) ([]byte, ssh.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), sp, nil
}

func authorizedLine(k ssh.PublicKey, comment string) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " " + comment + "\n"
}

// writeSSHFiles writes the user key, authorized_keys, every host's key and
// sshd_config, known_hosts, ssh_config and master-0's inventory.
func (c *Cluster) writeSSHFiles() error {
	if err := os.MkdirAll(c.sshDir(), 0o700); err != nil {
		return err
	}
	priv, pub, err := sshKey("day2-localcluster")
	if err != nil {
		return fmt.Errorf("user key: %w", err)
	}
	if err := os.WriteFile(c.SSHKeyPath(), priv, 0o600); err != nil {
		return err
	}
	line := authorizedLine(pub, "day2-localcluster")
	if err := os.WriteFile(c.SSHKeyPath()+".pub", []byte(line), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(c.sshDir(), "authorized_keys"), []byte(line), 0o600); err != nil {
		return err
	}
	for _, h := range c.hosts {
		if err := c.writeHostKey(h); err != nil {
			return err
		}
		if err := c.writeSSHDConfig(h); err != nil {
			return err
		}
	}
	if err := c.TrustHostKeys(); err != nil {
		return err
	}
	if err := os.WriteFile(c.SSHConfigPath(), []byte(c.sshConfig()), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.InventoryPath()), 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.InventoryPath(), []byte(c.inventory()), 0o644)
}

func (c *Cluster) hostKeyPath(name string) string {
	return filepath.Join(c.sshHostDir(name), "ssh_host_ed25519_key")
}

func (c *Cluster) writeHostKey(h *simHost) error {
	if err := os.MkdirAll(c.sshHostDir(h.Name), 0o700); err != nil {
		return err
	}
	priv, pub, err := sshKey("root@" + h.Name)
	if err != nil {
		return fmt.Errorf("host key of %s: %w", h.Name, err)
	}
	if err := os.WriteFile(c.hostKeyPath(h.Name), priv, 0o600); err != nil {
		return err
	}
	return os.WriteFile(c.hostKeyPath(h.Name)+".pub", []byte(authorizedLine(pub, "root@"+h.Name)), 0o644)
}

func (c *Cluster) writeSSHDConfig(h *simHost) error {
	conf := fmt.Sprintf(`# sshd of the local cluster's simulated host %[1]s (internal/localcluster).
ListenAddress 127.0.0.1:%[2]d
HostKey %[3]s
PidFile %[4]s
ChrootDirectory %[5]s
Subsystem sftp internal-sftp
PermitRootLogin prohibit-password
AuthorizedKeysFile %[6]s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes yes
PrintMotd no
PrintLastLog no
X11Forwarding no
MaxStartups 64:30:128
MaxSessions 64
`, h.Name, h.Port, c.hostKeyPath(h.Name), filepath.Join(c.sshHostDir(h.Name), "sshd.pid"), h.Root, filepath.Join(c.sshDir(), "authorized_keys"))
	return os.WriteFile(filepath.Join(c.sshHostDir(h.Name), "sshd_config"), []byte(conf), 0o600)
}

// TrustHostKeys rewrites known_hosts with every host's current key (after
// RegenerateHostKey, to trust the new one).
func (c *Cluster) TrustHostKeys() error {
	var b strings.Builder
	for _, h := range c.hosts {
		pub, err := os.ReadFile(c.hostKeyPath(h.Name) + ".pub")
		if err != nil {
			return fmt.Errorf("known_hosts: %w", err)
		}
		f := strings.Fields(string(pub))
		fmt.Fprintf(&b, "[127.0.0.1]:%[1]d,[%[2]s]:%[1]d %[3]s %[4]s\n", h.Port, h.Name, f[0], f[1])
	}
	return os.WriteFile(c.SSHKnownHostsPath(), []byte(b.String()), 0o644)
}

func shortName(name string) string { s, _, _ := strings.Cut(name, "."); return s }

func (c *Cluster) sshConfig() string {
	var b strings.Builder
	b.WriteString("# The local cluster's simulated hosts: sshd on 127.0.0.1, chrooted into each host root.\n")
	for _, h := range c.hosts {
		fmt.Fprintf(&b, "\nHost %s %s\n    HostName 127.0.0.1\n    Port %d\n    User root\n    IdentityFile %s\n    IdentitiesOnly yes\n    UserKnownHostsFile %s\n    StrictHostKeyChecking yes\n",
			h.Name, shortName(h.Name), h.Port, c.SSHKeyPath(), c.SSHKnownHostsPath())
	}
	return b.String()
}

// inventory is openshift-ansible's INI inventory of the hosts. The
// imitation's load balancer runs on master-0 (hostroot.go), so [lb] names it.
func (c *Cluster) inventory() string {
	var b strings.Builder
	b.WriteString(`# openshift-ansible inventory of day2's local cluster: each host is an sshd
# on 127.0.0.1 chrooted into its host root.
[OSEv3:children]
masters
nodes
etcd
lb

[OSEv3:vars]
ansible_user=root
openshift_deployment_type=openshift-enterprise
openshift_release=v3.11
openshift_master_cluster_method=native
openshift_master_cluster_hostname=` + c.hosts[0].Name + `
openshift_master_default_subdomain=apps.example.com
os_sdn_network_plugin_name=redhat/openshift-ovs-subnet
openshift_clock_enabled=true
`)
	hostLine := func(h *simHost) string {
		return fmt.Sprintf("%s ansible_host=127.0.0.1 ansible_port=%d ansible_user=root", h.Name, h.Port)
	}
	group := func(name string, hosts []*simHost, extra func(*simHost) string) {
		fmt.Fprintf(&b, "\n[%s]\n", name)
		for _, h := range hosts {
			b.WriteString(hostLine(h) + extra(h) + "\n")
		}
	}
	var masters []*simHost
	for _, h := range c.hosts {
		if h.Role == RoleMaster {
			masters = append(masters, h)
		}
	}
	none := func(*simHost) string { return "" }
	group("masters", masters, none)
	group("etcd", masters, none)
	group("lb", masters[:1], none)
	group("nodes", c.hosts, func(h *simHost) string { return " openshift_node_group_name=node-config-" + h.Role })
	return b.String()
}

// startSSHD starts host h's sshd (not waiting for it to listen).
func (c *Cluster) startSSHD(h *simHost) error {
	p, err := startProc("sshd "+h.Name, SSHDPath, []string{"-D", "-e", "-f", filepath.Join(c.sshHostDir(h.Name), "sshd_config")},
		[]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, c.logFile("sshd-"+h.Name), c.opts.Detach)
	if err != nil {
		return err
	}
	h.sshd = p
	return nil
}

// waitSSHD waits until h's sshd accepts connections.
func (c *Cluster) waitSSHD(h *simHost) error {
	addr := "127.0.0.1:" + strconv.Itoa(h.Port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if e := h.sshd.exitErr(); e != nil {
			return fmt.Errorf("%w (log %s)", e, c.logFile("sshd-"+h.Name))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sshd of %s: not listening on %s after 15s: %w", h.Name, addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startAllSSHD starts every host's sshd; waitAllSSHD waits until they
// listen (in between, the cluster starts etcd).
func (c *Cluster) startAllSSHD() error {
	// sshd keeps its privilege-separation chroot here.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("sshd privilege separation dir: %w", err)
	}
	for _, h := range c.hosts {
		if err := c.startSSHD(h); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) waitAllSSHD() error {
	for _, h := range c.hosts {
		if err := c.waitSSHD(h); err != nil {
			return err
		}
	}
	return nil
}

// StopSSHD stops host name's sshd: new connections to it are refused.
func (c *Cluster) StopSSHD(name string) error {
	h, err := c.host(name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sshd != nil {
		h.sshd.stop(5 * time.Second)
		h.sshd = nil
	}
	return nil
}

// StartSSHD starts host name's sshd again and waits until it listens.
func (c *Cluster) StartSSHD(name string) error {
	h, err := c.host(name)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.opts.NoSSH {
		return fmt.Errorf("start sshd of %s: the cluster runs without sshd", name)
	}
	if h.poweredOff {
		return fmt.Errorf("start sshd of %s: the host is powered off (PowerOn)", name)
	}
	if h.sshd != nil && h.sshd.running() {
		return nil
	}
	if err := c.startSSHD(h); err != nil {
		return err
	}
	return c.waitSSHD(h)
}

// RegenerateHostKey gives host name a new host key and restarts its sshd;
// known_hosts keeps the old key (a changed host key, as after a reinstall)
// until TrustHostKeys.
func (c *Cluster) RegenerateHostKey(name string) error {
	h, err := c.host(name)
	if err != nil {
		return err
	}
	if err := c.StopSSHD(name); err != nil {
		return err
	}
	if err := c.writeHostKey(h); err != nil {
		return err
	}
	return c.StartSSHD(name)
}

// stopAllSSHD stops every sshd and ends the commands still running in the
// host roots.
func (c *Cluster) stopAllSSHD() {
	var wg sync.WaitGroup
	for _, h := range c.hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.mu.Lock()
			if h.sshd != nil {
				h.sshd.stop(5 * time.Second)
				h.sshd = nil
			}
			h.mu.Unlock()
		}()
	}
	wg.Wait()
	killChrooted(c.Dir)
}

// killChrooted kills every process whose root directory is under dir: the
// sessions and commands of the simulated hosts.
func killChrooted(dir string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	prefix := filepath.Clean(dir) + "/"
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		root, err := os.Readlink("/proc/" + e.Name() + "/root")
		if err == nil && strings.HasPrefix(root+"/", prefix) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
