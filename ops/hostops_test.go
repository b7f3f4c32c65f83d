package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// rootAccess reaches hosts as fixture roots here, by name: the HostAccess
// of tests until the local cluster's hosts answer over SSH.
type rootAccess map[string]string

type namedRoot struct {
	hostfs.FS
	name string
}

func (n namedRoot) Name() string { return n.name }

func (a rootAccess) Open(_ context.Context, h model.Host) (hostfs.Host, error) {
	root, ok := a[h.Name]
	if !ok {
		return nil, fmt.Errorf("no route to host %s", h.Name)
	}
	return namedRoot{hostfs.New(root), h.Name}, nil
}

func (a rootAccess) Close() error { return nil }

func hostSession(t *testing.T, access HostAccess) *Session {
	t.Helper()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(0), Getenv: func(string) string { return "" },
		HostAccess: access,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeRoot lays files out under a new fixture root.
func writeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// fromMaster is a file of a local cluster master's root, as the local
// cluster lays out what openshift-ansible and the RHEL packages write.
func fromMaster(t *testing.T, i int, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cluster.HostRoot(i), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// nodeRoot is a 3.11 compute node's files (seed 003 §4.2's listing, less
// flanneld, iptables and CNI, which it does not use).
func nodeRoot(t *testing.T, name string) string {
	return writeRoot(t, map[string]string{
		"etc/origin/node/node-config.yaml":                           strings.ReplaceAll(fromMaster(t, 1, "etc/origin/node/node-config.yaml"), cluster.Masters[1].Name, name),
		"etc/origin/node/ca.crt":                                     fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/origin/node/node-dnsmasq.conf":                          "server=/in-addr.arpa/127.0.0.1\nserver=/cluster.local/127.0.0.1\n",
		"etc/sysconfig/atomic-openshift-node":                        "DEBUG_LOGLEVEL=2\n",
		"etc/sysconfig/docker":                                       fromMaster(t, 1, "etc/sysconfig/docker"),
		"etc/sysconfig/docker-network":                               "DOCKER_NETWORK_OPTIONS=' --mtu=1450'\n",
		"etc/sysconfig/docker-storage-setup":                         "STORAGE_DRIVER=overlay2\n",
		"etc/dnsmasq.conf":                                           "conf-dir=/etc/dnsmasq.d\n",
		"etc/dnsmasq.d/origin-dns.conf":                              "no-resolv\ndomain-needed\n",
		"etc/pki/ca-trust/source/anchors/openshift-ca.crt":           fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/docker/certs.d/docker-registry.default.svc:5000/ca.crt": fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/containers/registries.conf":                             fromMaster(t, 2, "etc/containers/registries.conf"),
		"etc/origin/node/system:node:" + name + ".kubeconfig":        "apiVersion: v1\nkind: Config\n",
		"etc/origin/node/pods/.keep":                                 "",
		"etc/sysconfig/docker-storage-setup.rpmnew":                  "STORAGE_DRIVER=devicemapper\n",
		"etc/origin/cloudprovider/openstack.conf":                    "[Global]\nauth-url = https://keystone.example.com:5000/v3\n",
		"etc/pki/ca-trust/source/anchors/registry-ca.crt":            fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/dnsmasq.d/node-dnsmasq.conf":                            "server=/cluster.local/172.30.0.1\n",
		"etc/docker/certs.d/registry.redhat.io/redhat-ca.crt":        fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/origin/node/client-ca.crt":                              fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/origin/node/server.crt":                                 fromMaster(t, 1, "etc/origin/node/ca.crt"),
		"etc/origin/node/resolv.conf":                                "nameserver 10.0.0.2\n",
		"etc/origin/node/bootstrap.kubeconfig":                       "apiVersion: v1\nkind: Config\n",
		"etc/sysconfig/docker-storage":                               "DOCKER_STORAGE_OPTIONS='--storage-driver overlay2'\n",
	})
}

// backUp runs host-backup of node into a backup directory of the test's
// here, and returns the archive's host path, its members and manifest.
func backUp(t *testing.T, s *Session, node string) (string, []string, model.HostBackupManifest) {
	t.Helper()
	dir := "/backup/" + strings.ToLower(t.Name())
	t.Cleanup(func() { os.RemoveAll(filepath.Join(cluster.HostRoot(0), dir)) })
	p, err := s.Procedure("host-backup", map[string]string{"host": node, "backup-dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	op := &auto{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("host-backup: %v (%s: %s)", err, step, problem)
	}
	matches, _ := filepath.Glob(filepath.Join(cluster.HostRoot(0), dir, node+"-*.tar.gz"))
	if len(matches) != 1 {
		t.Fatalf("archives here: %v", matches)
	}
	archive := strings.TrimPrefix(matches[0], cluster.HostRoot(0))
	entries, err := s.here().ReadBackup(archive)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var m model.HostBackupManifest
	for _, e := range entries {
		names = append(names, e.Header.Name)
		if e.Header.Name == model.ManifestFile {
			if err := json.Unmarshal(e.Data, &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	return archive, names, m
}

// A node's backup (seed 003 §4.2, §4.3) written here, then one changed
// file of it restored (§5.3.3) and only that one.
func TestHostBackupAndRestoreNode(t *testing.T) {
	node := cluster.Workers[0]
	root := nodeRoot(t, node)
	s := hostSession(t, rootAccess{node: root})
	archive, names, m := backUp(t, s, node)
	if fi, err := os.Stat(filepath.Join(cluster.HostRoot(0), archive)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive mode: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(root, archive)); err == nil {
		t.Fatal("the archive was written on the host it describes")
	}
	for _, want := range []string{
		"etc/origin/node/node-config.yaml", "etc/sysconfig/atomic-openshift-node", "etc/sysconfig/docker",
		"etc/sysconfig/docker-network", "etc/sysconfig/docker-storage-setup.rpmnew", "etc/dnsmasq.d/origin-dns.conf",
		"etc/pki/ca-trust/source/anchors/registry-ca.crt", "etc/docker/certs.d/docker-registry.default.svc:5000/ca.crt",
		model.ManifestFile,
	} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not in the archive: %v", want, names)
		}
	}
	if slices.Contains(names, "etc/containers/registries.conf") {
		t.Error("registries.conf is not in the guide's node file set")
	}
	if m.Host != node || m.Role != "node" || !slices.Equal(m.Missing, []string{"/etc/sysconfig/iptables", "/etc/sysconfig/flanneld", "/etc/cni"}) {
		t.Errorf("manifest: %+v", m)
	}
	// A fixture root has no /bin/sh, let alone rpm: the package list is
	// missing, and the manifest says why (the shell, not rpm).
	if !strings.HasPrefix(m.Packages, "no package list: ") || !strings.Contains(m.Packages, "/bin/sh") || strings.Contains(m.Packages, "rpm is not installed") {
		t.Errorf("packages: %q", m.Packages)
	}

	// Two files change on the node; only node-config.yaml is restored.
	cfg := filepath.Join(root, "etc/origin/node/node-config.yaml")
	orig, _ := os.ReadFile(cfg)
	changed := strings.Replace(string(orig), "mtu: 1450", "mtu: 9000", 1)
	if changed == string(orig) {
		t.Fatal("fixture: no mtu line to change")
	}
	os.WriteFile(cfg, []byte(changed), 0o640)
	net := filepath.Join(root, "etc/sysconfig/docker-network")
	os.WriteFile(net, []byte("DOCKER_NETWORK_OPTIONS=' --mtu=9000'\n"), 0o640)

	// Nothing selected: the diff lists the changes and waits.
	p, err := s.Procedure("host-restore", map[string]string{"host": node, "backup": archive})
	if err != nil {
		t.Fatal(err)
	}
	op := &auto{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err == nil {
		t.Fatal("a restore with no file selected went through")
	}
	step, problem := lastProblem(op.prompts)
	if step != "diff" || !strings.Contains(problem, "no file selected") {
		t.Fatalf("want the diff step waiting for a selection, got %s: %s", step, problem)
	}
	plan := strings.Join(op.prompts[len(op.prompts)-1].Plan, "\n")
	for _, want := range []string{
		"changed   /etc/origin/node/node-config.yaml", "-  mtu: 9000", "+  mtu: 1450",
		"changed   /etc/sysconfig/docker-network", "unchanged /etc/sysconfig/docker\n",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("the diff plan lacks %q:\n%s", want, plan)
		}
	}

	p, err = s.Procedure("host-restore", map[string]string{"host": node, "backup": archive, "files": "/etc/origin/node/node-config.yaml"})
	if err != nil {
		t.Fatal(err)
	}
	op = &auto{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("host-restore: %v (%s: %s)", err, step, problem)
	}
	if got, _ := os.ReadFile(cfg); string(got) != string(orig) {
		t.Errorf("node-config.yaml not restored:\n%s", got)
	}
	if got, _ := os.ReadFile(net); !strings.Contains(string(got), "9000") {
		t.Error("docker-network was restored though not selected")
	}
	baks, _ := filepath.Glob(cfg + ".day2-*.bak")
	if len(baks) != 1 {
		t.Fatalf("backups beside node-config.yaml: %v", baks)
	}
	if b, _ := os.ReadFile(baks[0]); string(b) != changed {
		t.Error("the backup does not hold the replaced content")
	}
	states := map[string]string{}
	for _, e := range op.events {
		if e.State == StateSkipped || e.State == StateDone {
			states[e.Step] = string(e.State) + " " + e.Message
		}
	}
	if !strings.Contains(states["restorecon"], "skipped not needed: SELinux is not enabled: no /sys/fs/selinux/enforce on "+node) {
		t.Errorf("restorecon: %q", states["restorecon"])
	}
	if !strings.HasPrefix(states["restart"], "skipped") || !strings.HasPrefix(states["reboot"], "done") {
		t.Errorf("node-config.yaml takes the manual reboot, not a restart: %v", states)
	}
}

// registries-edit keeps each file's form: the RHEL 7 v1 tables on a docker
// node, the v2 file on a CRI-O node (seed 003 §7.3).
func TestRegistriesEditKeepsEachForm(t *testing.T) {
	v1, v2 := cluster.Workers[0], cluster.Workers[1]
	v1Conf, v2Conf := fromMaster(t, 2, "etc/containers/registries.conf"), fromMaster(t, 0, "etc/containers/registries.conf")
	roots := rootAccess{
		v1: writeRoot(t, map[string]string{
			"etc/origin/node/node-config.yaml": fromMaster(t, 2, "etc/origin/node/node-config.yaml"),
			"etc/containers/registries.conf":   v1Conf,
		}),
		v2: writeRoot(t, map[string]string{
			"etc/origin/node/node-config.yaml": fromMaster(t, 0, "etc/origin/node/node-config.yaml"),
			"etc/containers/registries.conf":   v2Conf,
		}),
	}
	s := hostSession(t, roots)
	p, err := s.Procedure("registries-edit", map[string]string{"hosts": v1 + "," + v2, "add-search": "my.registry.example.com", "add-insecure": "localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	// The restarts need commands on the hosts; on fixture roots they fail,
	// and the operator skips them.
	op := &skipFailed{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		t.Fatalf("registries-edit: %v (%v)", err, op.problems)
	}
	for _, h := range []struct{ name, before, form string }{{v1, v1Conf, "v1"}, {v2, v2Conf, "v2"}} {
		after, err := os.ReadFile(filepath.Join(roots[h.name], "etc/containers/registries.conf"))
		if err != nil {
			t.Fatal(err)
		}
		diff := diffOf(t, h.before, string(after))
		switch h.form {
		case "v1":
			if !strings.Contains(diff, "+registries = ['registry.example.com:5000', 'localhost:5000']") || !strings.Contains(diff, "+registries = ['registry.redhat.io', 'docker.io', 'my.registry.example.com']") || strings.Contains(diff, "[[registry]]") {
				t.Errorf("v1 edit:\n%s", diff)
			}
		case "v2":
			if !strings.Contains(diff, `+unqualified-search-registries = ["registry.redhat.io", "docker.io", "my.registry.example.com"]`) || !strings.Contains(diff, "+[[registry]]") || !strings.Contains(diff, `+location = "localhost:5000"`) || strings.Contains(diff, "registries.search") {
				t.Errorf("v2 edit:\n%s", diff)
			}
		}
		baks, _ := filepath.Glob(filepath.Join(roots[h.name], "etc/containers/registries.conf.day2-*.bak"))
		if len(baks) != 1 {
			t.Errorf("%s: backups %v", h.name, baks)
		}
	}
	if len(op.problems) != 2 || !strings.Contains(op.problems[0], "restart-"+v1) || !strings.Contains(op.problems[1], "restart-"+v2) {
		t.Errorf("want the two restarts failing on fixture roots, got %v", op.problems)
	}
}

// skipFailed proceeds, and skips a step that failed or is blocked.
type skipFailed struct {
	scripted
	problems []string
}

func (o *skipFailed) Ask(_ context.Context, p Prompt) (Answer, error) {
	o.prompts = append(o.prompts, p)
	if p.Problem == "" {
		return Answer{Decision: Proceed, Typed: p.Step.Confirm}, nil
	}
	o.problems = append(o.problems, p.Step.ID+": "+p.Problem)
	if slices.Contains(p.Choices, Skip) {
		return Answer{Decision: Skip}, nil
	}
	return Answer{Decision: Abort}, nil
}

func diffOf(t *testing.T, a, b string) string {
	t.Helper()
	e, err := hostfs.PlanEdit(namedRoot{hostfs.New(writeRoot(t, map[string]string{"f": a})), "x"}, "/f", func([]byte) ([]byte, error) { return []byte(b), nil })
	if err != nil {
		t.Fatal(err)
	}
	return e.Diff
}

// registry-trust installs the CA on three hosts; the probe runs on each.
func TestRegistryTrustThreeHosts(t *testing.T) {
	addr, err := cluster.RegistryAddress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{cluster.Workers[0], cluster.Workers[1], cluster.Workers[2]}
	roots := rootAccess{}
	for _, h := range hosts {
		roots[h] = writeRoot(t, map[string]string{"etc/origin/node/node-config.yaml": fromMaster(t, 1, "etc/origin/node/node-config.yaml")})
	}
	s := hostSession(t, roots)
	ca := "/etc/origin/master/ca.crt"
	p, err := s.Procedure("registry-trust", map[string]string{"registry": addr, "ca": ca, "hosts": strings.Join(hosts, ",")})
	if err != nil {
		t.Fatal(err)
	}
	op := &skipFailed{}
	err = Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)})
	want := fromMaster(t, 0, ca)
	for _, h := range hosts {
		for _, f := range []string{"etc/docker/certs.d/" + addr + "/ca.crt", "etc/containers/certs.d/" + addr + "/ca.crt"} {
			if got, rerr := os.ReadFile(filepath.Join(roots[h], f)); rerr != nil || string(got) != want {
				t.Errorf("%s: %s: %v", h, f, rerr)
			}
		}
	}
	// Without commands on the hosts the anchors are skipped and the first
	// probe blocks the run, saying why.
	if err == nil || len(op.problems) != 4 || !strings.HasPrefix(op.problems[0], "anchor-"+hosts[0]) || !strings.HasPrefix(op.problems[3], "probe-"+hosts[0]) {
		t.Errorf("run: %v, problems %v", err, op.problems)
	}
}

// sshSession reaches the shared local cluster's hosts as day2 does: its
// inventory, ssh_config, key and known_hosts, over real sshd.
func sshSession(t *testing.T) *Session {
	t.Helper()
	if !cluster.SSHEnabled() {
		t.Fatal("the local cluster runs no sshd")
	}
	return sshSessionOn(t, cluster)
}

// sshRoot is a host's root directory on this machine, to look at what
// day2 did there over SSH.
func sshRoot(t *testing.T, name string) string {
	t.Helper()
	for _, h := range cluster.SSHHosts() {
		if h.Name == name {
			return h.Root
		}
	}
	t.Fatalf("no host %s", name)
	return ""
}

// keepFiles puts files of a host root back as they were when the test ends
// and removes day2's backups beside them: the cluster is shared.
func keepFiles(t *testing.T, root string, rels ...string) {
	t.Helper()
	saved := map[string][]byte{}
	for _, r := range rels {
		b, err := os.ReadFile(filepath.Join(root, r))
		if err != nil {
			t.Fatal(err)
		}
		saved[r] = b
	}
	t.Cleanup(func() {
		for r, b := range saved {
			os.WriteFile(filepath.Join(root, r), b, 0o644)
			baks, _ := filepath.Glob(filepath.Join(root, r) + ".day2-*.bak")
			for _, b := range baks {
				os.Remove(b)
			}
		}
	})
}

// simLog is what the simulated systemctl of a host did.
func simLog(t *testing.T, root string) string {
	b, _ := os.ReadFile(filepath.Join(root, localcluster.SimLog))
	return string(b)
}

// Over SSH: node-0's backup written here, then /etc/sysconfig/docker
// restored from it and only that file, docker restarted by systemctl.
func TestHostBackupAndRestoreOverSSH(t *testing.T) {
	s, node := sshSession(t), cluster.Workers[0]
	root := sshRoot(t, node)
	keepFiles(t, root, "etc/sysconfig/docker", "etc/sysconfig/docker-network")
	archive, names, m := backUp(t, s, node)
	for _, want := range []string{"etc/sysconfig/docker", "etc/cni/net.d/80-openshift-network.conf", "etc/origin/node/node-config.yaml", "etc/sysconfig/flanneld"} {
		if !slices.Contains(names, want) {
			t.Errorf("%s not in the archive", want)
		}
	}
	// This machine's /usr has no rpm: the manifest says so.
	if m.Host != node || m.Packages != "no package list: rpm is not installed on "+node {
		t.Errorf("manifest: %+v", m)
	}

	docker := filepath.Join(root, "etc/sysconfig/docker")
	orig, _ := os.ReadFile(docker)
	os.WriteFile(docker, []byte(strings.Replace(string(orig), "--selinux-enabled", "--selinux-enabled --debug", 1)), 0o644)
	os.WriteFile(filepath.Join(root, "etc/sysconfig/docker-network"), []byte("DOCKER_NETWORK_OPTIONS=' --mtu=9000'\n"), 0o644)
	before := simLog(t, root)

	p, err := s.Procedure("host-restore", map[string]string{"host": node, "backup": archive, "files": "/etc/sysconfig/docker"})
	if err != nil {
		t.Fatal(err)
	}
	op := &auto{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("host-restore: %v (%s: %s)", err, step, problem)
	}
	var diffPlan string
	for _, pr := range op.prompts {
		if pr.Step.ID == "diff" {
			diffPlan = strings.Join(pr.Plan, "\n")
		}
	}
	for _, want := range []string{
		"changed   /etc/sysconfig/docker\n", "-OPTIONS=' --selinux-enabled --debug --log-driver", "+OPTIONS=' --selinux-enabled --log-driver",
		"changed   /etc/sysconfig/docker-network", "unchanged /etc/sysconfig/docker-storage\n", "selected: /etc/sysconfig/docker (changed)",
	} {
		if !strings.Contains(diffPlan, want) {
			t.Errorf("the diff plan lacks %q:\n%s", want, diffPlan)
		}
	}
	if got, _ := os.ReadFile(docker); string(got) != string(orig) {
		t.Errorf("/etc/sysconfig/docker not restored:\n%s", got)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "etc/sysconfig/docker-network")); !strings.Contains(string(got), "9000") {
		t.Error("docker-network was restored though not selected")
	}
	if log := strings.TrimPrefix(simLog(t, root), before); !strings.Contains(log, "systemctl restart docker") {
		t.Errorf("docker not restarted on %s: %q", node, log)
	}
}

// registry-trust on three hosts over SSH, then a TLS probe of the local
// cluster's registry from each of them with curl.
func TestRegistryTrustOverSSH(t *testing.T) {
	s := sshSession(t)
	addr, err := cluster.RegistryAddress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	hosts := []string{cluster.Workers[0], cluster.Workers[1], cluster.Infra[1]}
	for _, h := range hosts {
		root := sshRoot(t, h)
		t.Cleanup(func() {
			os.RemoveAll(filepath.Join(root, "etc/docker/certs.d", addr))
			os.RemoveAll(filepath.Join(root, "etc/containers/certs.d", addr))
		})
	}
	p, err := s.Procedure("registry-trust", map[string]string{"registry": addr, "ca": "/etc/origin/master/ca.crt", "hosts": strings.Join(hosts, ",")})
	if err != nil {
		t.Fatal(err)
	}
	op := &skipFailed{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		t.Fatalf("registry-trust: %v (%v)", err, op.problems)
	}
	// This machine is no RHEL: update-ca-trust is missing on every host,
	// and the anchor steps were skipped with that reason; nothing else.
	if len(op.problems) != 3 {
		t.Errorf("problems: %v", op.problems)
	}
	for _, pr := range op.problems {
		if !strings.HasPrefix(pr, "anchor-") || !strings.Contains(pr, "update-ca-trust is not on") {
			t.Errorf("unexpected problem: %s", pr)
		}
	}
	probes := 0
	for _, pr := range op.prompts {
		if strings.HasPrefix(pr.Step.ID, "probe-") {
			if plan := strings.Join(pr.Plan, "\n"); !strings.Contains(plan, "HTTP 401 from https://"+addr+"/v2/: TLS verified") {
				t.Errorf("%s: %s", pr.Step.ID, plan)
			}
			probes++
		}
	}
	if probes != 3 {
		t.Errorf("%d probes, want 3", probes)
	}
	for _, h := range hosts {
		if _, err := os.Stat(filepath.Join(sshRoot(t, h), "etc/containers/certs.d", addr, "ca.crt")); err != nil {
			t.Error(err)
		}
	}
}

// registries-edit over SSH on a docker node with the v1 file and a CRI-O
// node with the v2 file: each keeps its form, each runtime restarted.
func TestRegistriesEditOverSSH(t *testing.T) {
	s := sshSession(t)
	v1, v2 := cluster.Workers[1], cluster.Workers[0]
	for _, h := range []string{v1, v2} {
		keepFiles(t, sshRoot(t, h), "etc/containers/registries.conf")
	}
	before := map[string]string{v1: fromRoot(t, v1), v2: fromRoot(t, v2)}
	logs := map[string]string{v1: simLog(t, sshRoot(t, v1)), v2: simLog(t, sshRoot(t, v2))}
	p, err := s.Procedure("registries-edit", map[string]string{"hosts": v1 + "," + v2, "add-search": "my.registry.example.com", "add-insecure": "localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	op, j := &auto{}, openJournal(t)
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("registries-edit: %v (%s: %s)", err, step, problem)
	}
	// What ran on each host is in the journal, with the host and exit code.
	runs, err := j.Runs()
	if err != nil || len(runs) != 1 {
		t.Fatal(runs, err)
	}
	journaled, _ := os.ReadFile(runs[0].Path)
	for _, want := range []string{`"event":"progress","step":"restart-` + v1 + `","message":"` + v1 + `: ` + "`systemctl restart docker`" + ` exit 0`} {
		if !strings.Contains(string(journaled), want) {
			t.Errorf("journal lacks %s:\n%s", want, journaled)
		}
	}
	d1, d2 := diffOf(t, before[v1], fromRoot(t, v1)), diffOf(t, before[v2], fromRoot(t, v2))
	if !strings.Contains(d1, "+registries = ['registry.redhat.io', 'docker.io', 'my.registry.example.com']") || !strings.Contains(d1, "'localhost:5000']") || strings.Contains(d1, "[[registry]]") {
		t.Errorf("v1 on %s:\n%s", v1, d1)
	}
	if !strings.Contains(d2, `"my.registry.example.com"]`) || !strings.Contains(d2, "+[[registry]]") || strings.Contains(d2, "registries.search") {
		t.Errorf("v2 on %s:\n%s", v2, d2)
	}
	for h, unit := range map[string]string{v1: "docker", v2: "crio"} {
		if log := strings.TrimPrefix(simLog(t, sshRoot(t, h)), logs[h]); !strings.Contains(log, "systemctl restart "+unit) {
			t.Errorf("%s: %s not restarted: %q", h, unit, log)
		}
	}
}

func fromRoot(t *testing.T, host string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sshRoot(t, host), "etc/containers/registries.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// host-backup --all over SSH with one host's sshd down: every other host
// is backed up and verified, the one down is reported and fails the step.
func TestHostBackupAllOneHostDown(t *testing.T) {
	s, down := sshSession(t), cluster.Workers[2]
	if err := cluster.StopSSHD(down); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.StartSSHD(down) })
	dir := "/backup/" + strings.ToLower(t.Name())
	t.Cleanup(func() { os.RemoveAll(filepath.Join(cluster.HostRoot(0), dir)) })
	p, err := s.Procedure("host-backup", map[string]string{"all": "true", "backup-dir": dir})
	if err != nil {
		t.Fatal(err)
	}
	hosts := strings.Split(p.Params["hosts"], ",")
	if len(hosts) != len(cluster.SSHHosts()) {
		t.Fatalf("--all resolved to %v", hosts)
	}
	op := &skipFailed{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		t.Fatalf("host-backup --all: %v (%v)", err, op.problems)
	}
	if len(op.problems) != 1 || !strings.HasPrefix(op.problems[0], "backup: ") || !strings.Contains(op.problems[0], "1 of "+fmt.Sprint(len(hosts))+" hosts failed") || !strings.Contains(op.problems[0], down+": reach "+down) {
		t.Fatalf("want the backup step failing for %s alone: %v", down, op.problems)
	}
	for _, h := range hosts {
		matches, _ := filepath.Glob(filepath.Join(cluster.HostRoot(0), dir, h+"-*.tar.gz"))
		switch {
		case h == down && len(matches) != 0:
			t.Errorf("%s: an archive of a host that is down: %v", h, matches)
		case h != down && len(matches) != 1:
			t.Errorf("%s: archives %v", h, matches)
		case h != down:
			if err := hostfs.VerifyBackup(matches[0]); err != nil {
				t.Error(err)
			}
		}
	}
	var reports []string
	for _, e := range op.events {
		if e.Step == "backup" && e.State == StateRunning && e.Message != "" {
			reports = append(reports, e.Message)
		}
	}
	if len(reports) != len(hosts) {
		t.Errorf("one report per host, got %d:\n%s", len(reports), strings.Join(reports, "\n"))
	}
}

// registries-edit --drain drains each node before its runtime restarts and
// uncordons it after, reusing the drain's steps for that host.
func TestRegistriesEditDrainSteps(t *testing.T) {
	s, node := hostSession(t, rootAccess{}), cluster.Workers[1]
	p, err := s.Procedure("registries-edit", map[string]string{"hosts": node, "add-search": "quay.io", "drain": "true"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range p.Steps {
		ids = append(ids, st.ID)
		if st.Explain == "" || strings.HasPrefix(st.Explain, "(") {
			t.Errorf("%s: no explanation: %q", st.ID, st.Explain)
		}
		if st.ID == "evict-"+node && (!st.Destructive || st.Confirm != node) {
			t.Errorf("the eviction must ask for %s: %+v", node, st)
		}
	}
	want := []string{"preflight", "cordon", "evict", "edit", "restart", "uncordon"}
	for i := range want {
		want[i] += "-" + node
	}
	if !slices.Equal(ids, want) {
		t.Errorf("steps %v, want %v", ids, want)
	}
	if _, err := s.Procedure("registries-edit", map[string]string{"hosts": node}); err == nil {
		t.Error("registries-edit without a change was built")
	}
}
