package ops

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/hostssh"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// sshSessionOn is a console on master-0 of c that reaches the other hosts
// over SSH as an operator's would: through the inventory on master-0 and
// the cluster's ssh_config, key and known_hosts (none of this machine's own
// SSH setup).
func sshSessionOn(t *testing.T, c *localcluster.Cluster) *Session {
	t.Helper()
	pool, err := hostssh.New(hostssh.Config{
		KeyFiles: []string{c.SSHKeyPath()}, KnownHosts: []string{c.SSHKnownHostsPath()},
		ConfigFile: c.SSHConfigPath(), AgentSocket: "none", Home: t.TempDir(), DialTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(c.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   c.HostRoot(0), Getenv: func(string) string { return "" }, HostAccess: pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.poller.Close)
	return s
}

// With every master reachable over SSH, etcd-restore leaves the operator
// nothing to do by hand but open the shells the guide asks for: the other
// members are stopped and their data moved aside on their hosts, and grown
// back there, over SSH (no --member-roots). On every etcd version: 3.3
// (OpenShift 3.11) grows back by voter adds, 3.5 and later by learners,
// each host prepared first.
func TestEtcdRestoreOverSSHLeavesNoManualStep(t *testing.T) {
	eachEtcdVersion(t, testEtcdRestoreOverSSHLeavesNoManualStep)
}

func testEtcdRestoreOverSSHLeavesNoManualStep(t *testing.T, version string) {
	c := ownClusterOf(t, version)
	ctx := context.Background()
	s := sshSessionOn(t, c)
	learners := model.SupportsLearners(s.poller.Poll(ctx).Version)
	settle(t, c)
	if err, _, sum := runJournaled(t, s, "etcd-backup", nil, &auto{}); err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("backup: %v %+v", err, sum)
	}
	set, _ := newestBackup(t, c.HostRoot(0), etcdBackupDir)
	old := s.poller.Poll(ctx).ClusterID
	params := map[string]string{
		"snapshot": etcdBackupDir + "/" + set.Snapshot, "config-backup": etcdBackupDir + "/" + set.EtcdConfig,
		"allow-single-voter-add": "true",
	}
	p, err := s.Procedure("etcd-restore", params)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Steps {
		if st.Manual && st.ID != "access" {
			t.Errorf("step %s is manual with every master reachable", st.ID)
		}
	}
	op := &auto{}
	err, recs, sum := runJournaled(t, s, "etcd-restore", params, op)
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("restore: %v (%s: %s)", err, step, problem)
	}
	checkGrownBack(t, s, recs, sum, old, learners)
	for i := 1; i < 3; i++ {
		aside, _ := filepath.Glob(filepath.Join(c.HostRoot(i), localcluster.EtcdDataDir+".day2-*", "member"))
		if len(aside) != 1 {
			t.Errorf("master-%d: the old data dir is not kept aside: %v", i, aside)
		}
		conf, err := os.ReadFile(filepath.Join(c.HostRoot(i), "etc/etcd/etcd.conf"))
		if err != nil || !strings.Contains(string(conf), "ETCD_INITIAL_CLUSTER_STATE=existing") {
			t.Errorf("master-%d etcd.conf not set up to join over SSH: %v\n%s", i, err, conf)
		}
	}
	var plan string
	for _, r := range recs {
		if r.Step == "stop-others" && len(r.Plan) > 0 {
			plan = "\n" + strings.Join(r.Plan, "\n")
		}
	}
	for _, want := range []string{"\non master-1.example.com:\n", "\non master-2.example.com:\n", "mv /etc/origin/node/pods/etcd.yaml"} {
		if !strings.Contains(plan, want) {
			t.Errorf("stop-others' journaled plan lacks %q:\n%s", want, plan)
		}
	}
}

// A master whose sshd is down: etcd-conf edits (or checks) the files of the
// masters it reaches and names the one it does not, with why and the exact
// value to set there by hand, never passing it over silently.
func TestEtcdConfNamesTheHostItDoesNotReach(t *testing.T) {
	s, down := sshSession(t), cluster.Masters[1].Name
	if err := cluster.StopSSHD(down); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.StartSSHD(down) })
	ctx := context.Background()
	st := etcdConfStep(s, s.here())
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := st.Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	for _, want := range []string{
		"manual, on " + down + " (", "refused", ": set ETCD_INITIAL_CLUSTER=", cluster.Masters[0].PeerURL,
		etcdConfPath + " on " + cluster.Masters[2].Name,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("etcd-conf plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, etcdConfPath+" on "+down) {
		t.Errorf("a plan for the host that is down:\n%s", text)
	}
}
