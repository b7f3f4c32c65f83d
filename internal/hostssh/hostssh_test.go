package hostssh

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/sys/unix"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// The tests reach the local cluster's hosts: each a real OpenSSH sshd on
// 127.0.0.1 chrooted into its host root.
var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(localcluster.Main(m, localcluster.Options{Workers: 1}, func(c *localcluster.Cluster) { cluster = c }))
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// newPool reaches the cluster's hosts with its key and known_hosts, nothing
// of this machine's own SSH setup (an empty home, no agent).
func newPool(t *testing.T, edit func(*Config)) *Pool {
	t.Helper()
	c := Config{
		KeyFiles: []string{cluster.SSHKeyPath()}, KnownHosts: []string{cluster.SSHKnownHostsPath()},
		ConfigFile: os.DevNull, AgentSocket: "none", Home: t.TempDir(), DialTimeout: 10 * time.Second,
	}
	if edit != nil {
		edit(&c)
	}
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// inventoryHosts are the hosts as master-0's /etc/ansible/hosts names them.
func inventoryHosts(t *testing.T) map[string]model.Host {
	t.Helper()
	data, err := os.ReadFile(cluster.InventoryPath())
	if err != nil {
		t.Fatal(err)
	}
	inv, err := model.ParseInventory(data)
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := inv.Hosts("/etc/ansible/hosts")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]model.Host{}
	for _, h := range hosts {
		out[h.Name] = h
	}
	return out
}

func simHost(t *testing.T, role string, i int) localcluster.SSHHost {
	t.Helper()
	n := 0
	for _, h := range cluster.SSHHosts() {
		if h.Role == role {
			if n == i {
				return h
			}
			n++
		}
	}
	t.Fatalf("no %s host #%d", role, i)
	return localcluster.SSHHost{}
}

func open(t *testing.T, p *Pool, name string) *Host {
	t.Helper()
	h, ok := inventoryHosts(t)[name]
	if !ok {
		t.Fatalf("%s is not in the inventory", name)
	}
	host, err := p.Open(ctxT(t, 30*time.Second), h)
	if err != nil {
		t.Fatal(err)
	}
	return host.(*Host)
}

// Every inventory host answers as itself.
func TestInventoryHostsAnswer(t *testing.T) {
	p := newPool(t, nil)
	for name, h := range inventoryHosts(t) {
		host, err := p.Open(ctxT(t, 30*time.Second), h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := host.ReadFile("/etc/hostname")
		if err != nil || strings.TrimSpace(string(b)) != name {
			t.Errorf("%s: /etc/hostname = %q, %v", name, b, err)
		}
	}
}

func TestRunExitCodeOutputAndTimeout(t *testing.T) {
	sh := simHost(t, localcluster.RoleCompute, 0)
	h := open(t, newPool(t, nil), sh.Name)
	r, err := h.Run(ctxT(t, 30*time.Second), hostfs.Command{Line: "cat; echo err >&2; cat /etc/hostname; exit 7", Stdin: []byte("in\n")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Exit != 7 || r.Stdout != "in\n"+sh.Name+"\n" || r.Stderr != "err\n" || r.Host != sh.Name {
		t.Errorf("result %+v", r)
	}
	if r.Err() == nil || !strings.Contains(r.Err().Error(), "exit 7: err") {
		t.Errorf("Err() = %v", r.Err())
	}
	start := time.Now()
	_, err = h.Run(ctxT(t, 30*time.Second), hostfs.Command{Line: "sleep 20", Timeout: 2 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "no answer within 2s") {
		t.Errorf("timeout: %v", err)
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("a 2s timeout took %s", took)
	}
	// Output beyond MaxOutput is dropped, and said so.
	r, err = h.Run(ctxT(t, 30*time.Second), hostfs.Command{Line: fmt.Sprintf("head -c %d /dev/zero", MaxOutput+10)})
	if err != nil || len(r.Stdout) < MaxOutput || !strings.HasSuffix(r.Stdout, "[day2: 10 more bytes not kept]") {
		t.Errorf("big output: %d bytes, %v", len(r.Stdout), err)
	}
	// The connection is shared: the session after a timeout works.
	if r, err := h.Run(ctxT(t, 30*time.Second), hostfs.Command{Line: "true"}); err != nil || r.Exit != 0 {
		t.Errorf("after a timeout: %+v %v", r, err)
	}
}

func TestFilesOverSFTP(t *testing.T) {
	sh := simHost(t, localcluster.RoleInfra, 0)
	h := open(t, newPool(t, nil), sh.Name)
	if err := h.WriteFile("/etc/day2-test/a.conf", []byte("one\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.Join(sh.Root, "etc/day2-test/a.conf"))
	if err != nil || string(onDisk) != "one\n" {
		t.Fatalf("the host root holds %q, %v", onDisk, err)
	}
	if b, err := h.ReadFile("/etc/day2-test/a.conf"); err != nil || string(b) != "one\n" {
		t.Errorf("ReadFile = %q, %v", b, err)
	}
	fi, err := h.Stat("/etc/day2-test/a.conf")
	if err != nil || fi.Mode().Perm() != 0o640 || fi.Size() != 4 {
		t.Errorf("Stat = %v %v", fi, err)
	}
	if err := h.WriteFile("/etc/day2-test/a.conf", []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("a.conf", filepath.Join(sh.Root, "etc/day2-test/link")); err != nil {
		t.Fatal(err)
	}
	if target, err := h.Readlink("/etc/day2-test/link"); err != nil || target != "a.conf" {
		t.Errorf("Readlink = %q, %v", target, err)
	}
	if fi, err := h.Lstat("/etc/day2-test/link"); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Lstat = %v, %v", fi, err)
	}
	if err := h.Rename("/etc/day2-test/a.conf", "/etc/day2-test/b.conf"); err != nil {
		t.Fatal(err)
	}
	list, err := h.ReadDir("/etc/day2-test")
	if err != nil || len(list) != 2 || list[0].Name() != "b.conf" || list[1].Name() != "link" {
		t.Errorf("ReadDir = %v, %v", list, err)
	}
	if _, err := h.ReadFile("/etc/day2-test/a.conf"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), sh.Name+":/etc/day2-test/a.conf") {
		t.Errorf("a renamed file: %v", err)
	}
	if err := h.MkdirAll("/etc/day2-test/x/y", 0o700); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(sh.Root, "etc/day2-test/x/y")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("MkdirAll: %v %v", fi, err)
	}
	for _, p := range []string{"/etc/day2-test/x/y", "/etc/day2-test/x", "/etc/day2-test/link", "/etc/day2-test/b.conf", "/etc/day2-test"} {
		if err := h.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(sh.Root, "etc/day2-test")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed directory: %v", err)
	}
	// /var is the host's own filesystem (a tmpfs of its size).
	st, err := h.StatFS("/var")
	if err != nil {
		t.Fatal(err)
	}
	var want unix.Statfs_t
	if err := unix.Statfs(filepath.Join(sh.Root, "var"), &want); err != nil {
		t.Fatal(err)
	}
	if st.Size != want.Blocks*uint64(want.Bsize) || st.Free == 0 || st.Free > st.Size {
		t.Errorf("StatFS(/var) = %+v, the host root's /var has %d bytes", st, want.Blocks*uint64(want.Bsize))
	}
	if _, err := h.ReadFile("etc/hostname"); err == nil {
		t.Error("a relative path must be refused")
	}
}

func TestPlanEditAndApplyOverSSH(t *testing.T) {
	sh := simHost(t, localcluster.RoleInfra, 1)
	h := open(t, newPool(t, nil), sh.Name)
	const p = "/etc/day2-edit/haproxy.cfg"
	if err := h.WriteFile(p, []byte("a\nb\nc\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(sh.Root, "etc/day2-edit")) })
	drop := func(b []byte) ([]byte, error) { return bytes.Replace(b, []byte("b\n"), nil, 1), nil }
	e, err := hostfs.PlanEdit(h, p, drop)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.Diff, "-b") {
		t.Errorf("diff:\n%s", e.Diff)
	}
	now := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	backup, err := hostfs.Apply(h, e, now)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(sh.Root, backup)); string(b) != "a\nb\nc\n" {
		t.Errorf("backup %s holds %q", backup, b)
	}
	fi, err := os.Stat(filepath.Join(sh.Root, p))
	if b, _ := os.ReadFile(filepath.Join(sh.Root, p)); string(b) != "a\nc\n" || err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("after apply: %q, %v", b, fi)
	}
	// Someone edits the file between the plan and the apply.
	e, err = hostfs.PlanEdit(h, p, func(b []byte) ([]byte, error) { return append(b, "d\n"...), nil })
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sh.Root, p), []byte("changed\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := hostfs.Apply(h, e, now.Add(time.Minute)); !errors.Is(err, hostfs.ErrChanged) || !strings.Contains(err.Error(), "on "+sh.Name) {
		t.Fatalf("want ErrChanged on %s, got %v", sh.Name, err)
	}
	if b, _ := os.ReadFile(filepath.Join(sh.Root, p)); string(b) != "changed\n" {
		t.Errorf("a refused edit wrote %q", b)
	}
	// Move refuses to overwrite, and moves otherwise.
	if err := hostfs.Move(h, p, backup); err == nil || !strings.Contains(err.Error(), "the target exists") {
		t.Errorf("move over a file: %v", err)
	}
	if err := hostfs.Move(h, p, "/etc/day2-edit/disabled/haproxy.cfg"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sh.Root, "etc/day2-edit/disabled/haproxy.cfg")); err != nil {
		t.Error(err)
	}
}

// A host's files are backed up into a directory of this machine.
func TestBackupOfARemoteHost(t *testing.T) {
	sh := simHost(t, localcluster.RoleCompute, 0)
	h := open(t, newPool(t, nil), sh.Name)
	dest := filepath.Join(t.TempDir(), "backups", sh.Name+".tar.gz")
	a, err := hostfs.Backup(h, []string{"/etc/origin/node", "/etc/no-such-dir"}, map[string][]byte{"rpm-qa.txt": []byte("atomic-openshift-node-3.11\n")}, dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Missing) != 1 || a.Missing[0] != "/etc/no-such-dir" || a.SHA256 == "" {
		t.Errorf("archive %+v", a)
	}
	if fi, err := os.Stat(dest); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("local archive: %v %v", fi, err)
	}
	if err := hostfs.VerifyBackup(dest); err != nil {
		t.Fatal(err)
	}
	// The archive holds every file of the host's /etc/origin/node as it is there.
	f, _ := os.Open(dest)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Name == "rpm-qa.txt" {
			continue
		}
		files++
		got, _ := io.ReadAll(tr)
		want, err := os.ReadFile(filepath.Join(sh.Root, hdr.Name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: archived %d bytes, the host has %d (%v)", hdr.Name, len(got), len(want), err)
		}
	}
	if files == 0 || files+1 != a.Files {
		t.Errorf("%d files archived, Backup says %d", files, a.Files)
	}
	// A corrupted archive fails verification.
	b, _ := os.ReadFile(dest)
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(dest, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := hostfs.VerifyBackup(dest); err == nil {
		t.Error("a corrupted archive verified")
	}
}

// knownKey is the host key known_hosts holds for a host's port.
func knownKey(t *testing.T, port int) ssh.PublicKey {
	t.Helper()
	data, err := os.ReadFile(cluster.SSHKnownHostsPath())
	if err != nil {
		t.Fatal(err)
	}
	for len(data) > 0 {
		_, hosts, key, _, rest, err := ssh.ParseKnownHosts(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			if h == "[127.0.0.1]:"+strconv.Itoa(port) {
				return key
			}
		}
		data = rest
	}
	t.Fatalf("no known key for port %d", port)
	return nil
}

func TestUnknownHostKeyRefused(t *testing.T) {
	sh := simHost(t, localcluster.RoleCompute, 0)
	// A known_hosts that knows every host but this one.
	data, err := os.ReadFile(cluster.SSHKnownHostsPath())
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(data), "\n") {
		if !strings.Contains(l, fmt.Sprintf("]:%d ", sh.Port)) {
			keep = append(keep, l)
		}
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(strings.Join(keep, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, func(c *Config) { c.KnownHosts = []string{kh} })
	_, err = p.Open(ctxT(t, 30*time.Second), inventoryHosts(t)[sh.Name])
	want := ssh.FingerprintSHA256(knownKey(t, sh.Port))
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "ssh-keyscan -p "+strconv.Itoa(sh.Port)+" 127.0.0.1") {
		t.Fatalf("want a refusal naming %s and ssh-keyscan, got %v", want, err)
	}
	if after, _ := os.ReadFile(kh); string(after) != strings.Join(keep, "\n") {
		t.Error("known_hosts was changed")
	}
}

func TestChangedHostKeyRefused(t *testing.T) {
	sh := simHost(t, localcluster.RoleMaster, 2)
	old := knownKey(t, sh.Port)
	if err := cluster.RegenerateHostKey(sh.Name); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, nil)
	_, err := p.Open(ctxT(t, 30*time.Second), inventoryHosts(t)[sh.Name])
	// Trust the new key again for the other tests, and learn it.
	if terr := cluster.TrustHostKeys(); terr != nil {
		t.Fatal(terr)
	}
	offered := knownKey(t, sh.Port)
	if !errors.Is(err, ErrHostKey) || !strings.Contains(err.Error(), "CHANGED") ||
		!strings.Contains(err.Error(), ssh.FingerprintSHA256(offered)) || !strings.Contains(err.Error(), ssh.FingerprintSHA256(old)) {
		t.Fatalf("want a refusal naming the offered %s and the known %s, got %v", ssh.FingerprintSHA256(offered), ssh.FingerprintSHA256(old), err)
	}
	if _, err := newPool(t, nil).Open(ctxT(t, 30*time.Second), inventoryHosts(t)[sh.Name]); err != nil {
		t.Fatalf("after trusting the new key: %v", err)
	}
}

func TestProxyJump(t *testing.T) {
	jump, target := simHost(t, localcluster.RoleMaster, 1), simHost(t, localcluster.RoleCompute, 0)
	conf := filepath.Join(t.TempDir(), "ssh_config")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`Host target
    HostName 127.0.0.1
    Port %d
    User root
    ProxyJump bastion

Host bastion
    HostName 127.0.0.1
    Port %d
    User root
`, target.Port, jump.Port)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, func(c *Config) { c.ConfigFile = conf })
	host, err := p.Open(ctxT(t, 30*time.Second), model.Host{Name: "target", Address: "target"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := host.ReadFile("/etc/hostname")
	if err != nil || strings.TrimSpace(string(b)) != target.Name {
		t.Errorf("through the jump host: /etc/hostname = %q, %v", b, err)
	}
	h := host.(*Host)
	if len(h.c.hops) != 1 || !strings.HasSuffix(h.c.hops[0].RemoteAddr().String(), ":"+strconv.Itoa(jump.Port)) {
		t.Errorf("hops %v, want one to port %d", h.c.hops, jump.Port)
	}
	if err := cluster.StopSSHD(jump.Name); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := cluster.StartSSHD(jump.Name); err != nil {
			t.Fatal(err)
		}
	}()
	_, err = newPool(t, func(c *Config) { c.ConfigFile = conf }).Open(ctxT(t, 30*time.Second), model.Host{Name: "target", Address: "target"})
	if err == nil || !strings.Contains(err.Error(), "ProxyJump bastion") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("with the jump host down: %v", err)
	}
}

func TestStoppedSSHDAndRedial(t *testing.T) {
	sh := simHost(t, localcluster.RoleInfra, 2)
	p := newPool(t, func(c *Config) { c.DialTimeout = 3 * time.Second })
	h := open(t, p, sh.Name)
	if err := cluster.StopSSHD(sh.Name); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if !restarted {
			cluster.StartSSHD(sh.Name)
		}
	}()
	start := time.Now()
	_, err := newPool(t, func(c *Config) { c.DialTimeout = 3 * time.Second }).Open(ctxT(t, 30*time.Second), inventoryHosts(t)[sh.Name])
	if err == nil || !strings.Contains(err.Error(), "is sshd running there?") || !strings.Contains(err.Error(), sh.Name) {
		t.Errorf("a stopped sshd: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("refused after %s, beyond the 3s dial timeout", took)
	}
	// Sessions outlive a stopped sshd, as OpenSSH's do; drop the open
	// connection as a network would: the next call redials, and says why
	// it cannot while sshd is down.
	h.c.client.Close()
	for h.c.alive() {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := h.ReadFile("/etc/hostname"); err == nil || !strings.Contains(err.Error(), "is sshd running there?") {
		t.Errorf("redial with sshd down: %v", err)
	}
	if err := cluster.StartSSHD(sh.Name); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if r, err := h.Run(ctxT(t, 30*time.Second), hostfs.Command{Line: "cat /etc/hostname"}); err != nil || strings.TrimSpace(r.Stdout) != sh.Name {
		t.Errorf("after sshd came back: %+v %v", r, err)
	}
}

// A host that accepts TCP but never speaks SSH fails within the dial
// timeout.
func TestDialTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(fmt.Sprintf("[127.0.0.1]:%d %s", port, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(knownKey(t, simHost(t, localcluster.RoleMaster, 0).Port)))))), 0o644)
	p := newPool(t, func(c *Config) { c.DialTimeout = 2 * time.Second; c.KnownHosts = []string{kh} })
	start := time.Now()
	_, err = p.Open(ctxT(t, 30*time.Second), model.Host{Name: "silent", Address: "127.0.0.1", Port: port, User: "root"})
	if err == nil || !strings.Contains(err.Error(), "no answer within 2s") {
		t.Errorf("a silent host: %v", err)
	}
	if took := time.Since(start); took > 4*time.Second {
		t.Errorf("gave up after %s", took)
	}
}

// serveAgent serves an ssh-agent holding keys on a socket of its own.
func serveAgent(t *testing.T, keys ...any) string {
	t.Helper()
	ring := agent.NewKeyring()
	for _, k := range keys {
		if err := ring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				agent.ServeAgent(ring, c)
			}()
		}
	}()
	return sock
}

// The agent's keys are offered first; a passphrase-protected key file
// without an agent is skipped, and the refusal says why.
func TestAgentAndPassphraseKeys(t *testing.T) {
	sh := simHost(t, localcluster.RoleCompute, 0)
	raw, err := os.ReadFile(cluster.SSHKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKeyWithPassphrase(key, "day2 test", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	locked := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(locked, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	h := inventoryHosts(t)[sh.Name]
	_, err = newPool(t, func(c *Config) { c.KeyFiles = []string{locked} }).Open(ctxT(t, 30*time.Second), h)
	if err == nil || !strings.Contains(err.Error(), locked+" is passphrase-protected") || !strings.Contains(err.Error(), "ssh-add") {
		t.Errorf("a locked key without an agent: %v", err)
	}
	sock := serveAgent(t, key)
	host, err := newPool(t, func(c *Config) { c.KeyFiles = []string{locked}; c.AgentSocket = sock }).Open(ctxT(t, 30*time.Second), h)
	if err != nil {
		t.Fatalf("through the agent: %v", err)
	}
	if b, err := host.ReadFile("/etc/hostname"); err != nil || strings.TrimSpace(string(b)) != sh.Name {
		t.Errorf("/etc/hostname = %q, %v", b, err)
	}
}

// The cluster's ssh_config alone (HostName, Port, User, IdentityFile,
// IdentitiesOnly, UserKnownHostsFile) reaches a host by its short name.
func TestSSHConfigAlone(t *testing.T) {
	sh := simHost(t, localcluster.RoleMaster, 0)
	short, _, _ := strings.Cut(sh.Name, ".")
	p, err := New(Config{ConfigFile: cluster.SSHConfigPath(), Home: t.TempDir(), AgentSocket: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	host, err := p.Open(ctxT(t, 30*time.Second), model.Host{Name: short, Address: short})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := host.ReadFile("/etc/hostname"); err != nil || strings.TrimSpace(string(b)) != sh.Name {
		t.Errorf("/etc/hostname = %q, %v", b, err)
	}
	if host.Name() != short || host.Where() != "on "+short {
		t.Errorf("Name %q, Where %q", host.Name(), host.Where())
	}
}

// freezer forwards TCP connections to target until frozen, then keeps them
// open and silent, as a host that vanished without a FIN.
type freezer struct {
	l      net.Listener
	frozen chan struct{}
}

func newFreezer(t *testing.T, target string) *freezer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{l: l, frozen: make(chan struct{})}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			t.Cleanup(func() { in.Close(); out.Close() })
			pipe := func(dst, src net.Conn) {
				buf := make([]byte, 32*1024)
				for {
					n, err := src.Read(buf)
					select {
					case <-f.frozen:
						return // drop everything from now on
					default:
					}
					if err != nil {
						return
					}
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return f
}

// A connection that goes silent fails the next call within about two dial
// timeouts (the keepalive's interval), not never.
func TestSilentConnectionFails(t *testing.T) {
	sh := simHost(t, localcluster.RoleCompute, 0)
	f := newFreezer(t, "127.0.0.1:"+strconv.Itoa(sh.Port))
	port := f.l.Addr().(*net.TCPAddr).Port
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := fmt.Sprintf("[127.0.0.1]:%d %s", port, ssh.MarshalAuthorizedKey(knownKey(t, sh.Port)))
	if err := os.WriteFile(kh, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, func(c *Config) { c.DialTimeout = 2 * time.Second; c.KnownHosts = []string{kh} })
	host, err := p.Open(ctxT(t, 30*time.Second), model.Host{Name: sh.Name, Address: "127.0.0.1", Port: port, User: "root"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := host.ReadFile("/etc/hostname"); err != nil {
		t.Fatal(err)
	}
	close(f.frozen)
	start := time.Now()
	_, err = host.ReadFile("/etc/hostname")
	if err == nil {
		t.Fatal("a read over a silent connection succeeded")
	}
	if took := time.Since(start); took > 8*time.Second {
		t.Errorf("failed after %s, want within about two 2s intervals", took)
	}
}
