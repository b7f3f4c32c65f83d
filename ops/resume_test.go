package ops

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// resumer runs a procedure the way an operator whose sessions keep dying
// would: every session is interrupted inside one step — after its Run did
// its work and before the runner journals the step's end (or, for the steps
// in before, once its start is journaled and before Run does anything) —
// and the next session is a fresh procedure built from the journaled
// parameters and resumed from the journal, as `day2 run --resume` does.
// So every step is interrupted once, and every Verify is asked on resume
// whether an interrupted step finished, with only the journaled run state.
type resumer struct {
	t      *testing.T
	s      *Session
	op     *handsOn
	before map[string]bool
	// pause between sessions: a value decided from the clock in a second
	// session would differ from the first's.
	pause time.Duration
}

type resumed struct {
	recs        []model.JournalRecord
	sum         model.RunSummary
	steps       int // of the procedure
	sessions    int
	interrupted []string
}

func (r *resumer) run(name string, params map[string]string) resumed {
	t := r.t
	t.Helper()
	if r.op == nil {
		r.op = &handsOn{t: t}
	}
	j := openJournal(t)
	hit := map[string]bool{}
	var out resumed
	var resume *model.RunSummary
	for out.sessions = 1; out.sessions <= 100; out.sessions++ {
		p := params
		if resume != nil {
			p = resume.Params // as day2 run --resume does
		}
		proc, err := r.s.Procedure(name, p)
		if err != nil {
			t.Fatalf("%s session %d: build: %v", name, out.sessions, err)
		}
		out.steps = len(proc.Steps)
		ctx, cancel := context.WithCancel(context.Background())
		for _, st := range proc.Steps {
			interruptOnce(st, hit, r.before[st.ID], cancel, &out.interrupted)
		}
		err = Run(ctx, proc, r.op, RunOptions{Journal: j, User: "test", Host: "test", Resume: resume})
		cancel()
		out.recs, out.sum = readOnly(t, j)
		if err == nil {
			return out
		}
		if !errors.Is(err, ErrInterrupted) {
			step, problem := lastProblem(r.op.prompts)
			t.Fatalf("%s session %d: %v (%s: %s)", name, out.sessions, err, step, problem)
		}
		sum := out.sum
		resume = &sum
		time.Sleep(r.pause)
	}
	t.Fatalf("%s: not finished after %d sessions", name, out.sessions)
	return out
}

// interruptOnce makes the first Run of st (an operator's word for a manual
// or read-only step) cancel the run's context, once per step ID over every
// session.
func interruptOnce(st *Step, hit map[string]bool, before bool, cancel func(), interrupted *[]string) {
	run := st.Run
	st.Run = func(ctx context.Context, progress func(string)) error {
		first := !hit[st.ID]
		hit[st.ID] = true
		if first && before {
			*interrupted = append(*interrupted, st.ID+" (before its Run)")
			cancel()
			return context.Canceled
		}
		var err error
		if run != nil {
			err = run(ctx, progress)
		}
		if first && err == nil {
			*interrupted = append(*interrupted, st.ID)
			cancel()
		}
		return err
	}
}

// complete checks the journal holds every step ended and the run finished,
// after one session per step.
func (o resumed) complete(t *testing.T, name string) {
	t.Helper()
	if !o.sum.Finished || o.sum.Outcome != model.OutcomeOK || len(o.sum.Steps) != o.steps {
		t.Fatalf("%s: journal not complete: %+v", name, o.sum)
	}
	for _, st := range o.sum.Steps {
		if !st.Done() {
			t.Errorf("%s: step %s ended %s (%s)", name, st.ID, st.Outcome, st.Error)
		}
	}
	if len(o.interrupted) == 0 || o.sessions != len(o.interrupted)+1 {
		t.Errorf("%s: %d sessions for %d interruptions (%v)", name, o.sessions, len(o.interrupted), o.interrupted)
	}
	t.Logf("%s: %d sessions, interrupted in %v", name, o.sessions, o.interrupted)
}

// Cordon, uncordon, drain, etcd-backup, etcd-verify-snapshot and etcd-defrag
// on the package's cluster, each interrupted in every step and resumed.
// The backup's snapshot step is interrupted before it writes anything, with
// an older backup in the directory: the resumed run takes its own snapshot
// and leaves the older backup's manifest alone.
func TestResumeAfterEveryStepShared(t *testing.T) {
	s := session(t)
	ctx := context.Background()
	r := &resumer{t: t, s: s}

	node := frontendNode(t)
	r.run("cordon", map[string]string{"node": node}).complete(t, "cordon")
	if !unschedulable(t, node) {
		t.Error("cordon: the node must be unschedulable")
	}
	r.run("uncordon", map[string]string{"node": node}).complete(t, "uncordon")
	if unschedulable(t, node) {
		t.Error("uncordon: the node must be schedulable")
	}
	r.run("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true"}).complete(t, "drain")
	t.Cleanup(func() { uncordon(t, s, node) })
	if left, _ := kube.NewDrainer(s.client).Remaining(ctx, node); !unschedulable(t, node) || len(left) != 0 {
		t.Errorf("drain: cordoned %v, pods left %v", unschedulable(t, node), left)
	}

	settle(t, cluster)
	root, dir := cluster.HostRoot(0), "/backup/etcd-resume"
	if err, _, sum := runJournaled(t, s, "etcd-backup", map[string]string{"backup-dir": dir}, &auto{}); err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("first backup: %v %+v", err, sum)
	}
	older, _ := newestBackup(t, root, dir)
	olderManifest, err := os.ReadFile(filepath.Join(root, dir, older.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // backups are named by the second
	r.before = map[string]bool{"snapshot": true}
	out := r.run("etcd-backup", map[string]string{"backup-dir": dir})
	r.before = nil
	out.complete(t, "etcd-backup")
	set, ok := backupSetKey.Get(&RunState{values: out.sum.State})
	if !ok || set.Snapshot == older.Snapshot {
		t.Fatalf("the run state must name the run's own backup: %+v (older %s)", set, older.Snapshot)
	}
	m, err := etcd.ReadManifest(filepath.Join(root, dir, set.Manifest))
	if err != nil || m.Snapshot != set.Snapshot || m.Endpoint == "" || m.ClusterID == "" {
		t.Fatalf("the run's manifest: %+v %v", m, err)
	}
	if info, err := s.VerifySnapshot(dir + "/" + set.Snapshot); err != nil || info.SHA256 != m.SHA256 {
		t.Errorf("the run's snapshot: %v, sha %s, manifest %s", err, info.SHA256, m.SHA256)
	}
	if after, _ := os.ReadFile(filepath.Join(root, dir, older.Manifest)); string(after) != string(olderManifest) {
		t.Errorf("the older backup's manifest was rewritten:\n%s\nwas\n%s", after, olderManifest)
	}
	if err := hostfs.New(root).VerifyBackup(dir + "/" + set.EtcdConfig); err != nil {
		t.Error(err)
	}

	r.run("etcd-verify-snapshot", map[string]string{"snapshot": dir + "/" + set.Snapshot}).complete(t, "etcd-verify-snapshot")
	voters := waitHealthy(t, s).Voters() // other tests of the package may have removed one
	r.run("etcd-defrag", map[string]string{"timeout": "2m"}).complete(t, "etcd-defrag")
	if snap := waitHealthy(t, s); snap.Voters() != voters {
		t.Errorf("after defrag: %s, %d voting members before", snap.Badge(), voters)
	}
}

// The membership procedures on a cluster of the test's own, each
// interrupted in every step and resumed: deprecate-master master-2 (one
// master backup, verified, however many sessions), add a new host, retire
// master-1 for another new host, remove that one again, then decommission
// an infra node.
func TestResumeAfterEveryStepMembership(t *testing.T) {
	c := ownCluster(t)
	s := sessionOn(t, c)
	ctx := context.Background()
	r := &resumer{t: t, s: s, pause: 1100 * time.Millisecond}

	target := c.Masters[2]
	r.run("deprecate-master", map[string]string{"node": target.Name, "master-root": target.Root, "allow-two-members": "true"}).complete(t, "deprecate-master")
	snap := waitHealthy(t, s)
	if _, ok := snap.Member(target.Name); ok || snap.Voters() != 2 {
		t.Fatalf("deprecate-master: %s, %s still listed: %v", snap.Badge(), target.Name, ok)
	}
	// The master's backup is written where day2 runs (master-0).
	backups, _ := filepath.Glob(filepath.Join(c.HostRoot(0), "backup", target.Name+"-*.tar.gz"))
	if len(backups) != 1 {
		t.Fatalf("deprecate-master: one master backup, however often the run resumed: %v", backups)
	}
	if err := hostfs.New(c.HostRoot(0)).VerifyBackup("/backup/" + filepath.Base(backups[0])); err != nil {
		t.Error(err)
	}
	if _, err := c.Client.CoreV1().Nodes().Get(ctx, target.Name, metav1.GetOptions{}); err == nil {
		t.Error("deprecate-master: the node is still there")
	}
	if urls := masterURLs(t, c.HostRoot(0)); len(urls) != 2 || slices.Contains(urls, target.ClientURL) {
		t.Errorf("deprecate-master: master-0 etcdClientInfo.urls = %v", urls)
	}

	h3, err := c.AddMasterHost("master-3.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer h3.Stop()
	r.run("etcd-add-member", map[string]string{"name": h3.Name, "peer-url": h3.PeerURL, "client-url": h3.ClientURL, "member-root": h3.Root, "timeout": "2m"}).complete(t, "etcd-add-member")
	snap = waitHealthy(t, s)
	if m, ok := snap.Member(h3.Name); snap.Voters() != 3 || !ok || m.Learner || !m.Healthy {
		t.Fatalf("etcd-add-member: %s %+v", snap.Badge(), m)
	}
	if env := envOf(t, filepath.Join(h3.Root, localcluster.EtcdConfPath)); env["ETCD_INITIAL_CLUSTER_STATE"] != "existing" || strings.Count(env["ETCD_INITIAL_CLUSTER"], "=") != 3 {
		t.Errorf("etcd-add-member: the new host's etcd.conf: %v", env)
	}

	h4, err := c.AddMasterHost("master-4.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer h4.Stop()
	retired := memberOf(t, s, c.Masters[1].Name)
	r.run("etcd-replace-member", map[string]string{
		"member": retired.IDHex(), "member-root": c.HostRoot(1), "new-name": h4.Name, "new-peer-url": h4.PeerURL,
		"new-client-url": h4.ClientURL, "new-root": h4.Root, "timeout": "2m",
	}).complete(t, "etcd-replace-member")
	snap = waitHealthy(t, s)
	if _, ok := snap.MemberByID(retired.ID); ok || snap.Voters() != 3 {
		t.Fatalf("etcd-replace-member: %s, retired member listed: %v", snap.Badge(), ok)
	}

	h4m := memberOf(t, s, h4.Name)
	r.run("etcd-remove-member", map[string]string{"member": h4m.IDHex(), "allow-two-members": "true", "member-root": h4.Root}).complete(t, "etcd-remove-member")
	snap = waitHealthy(t, s)
	if _, ok := snap.MemberByID(h4m.ID); ok || snap.Voters() != 2 {
		t.Fatalf("etcd-remove-member: %s, removed member listed: %v", snap.Badge(), ok)
	}
	if env := envOf(t, filepath.Join(c.HostRoot(0), localcluster.EtcdConfPath)); strings.Contains(env["ETCD_INITIAL_CLUSTER"], h4.Name) || strings.Count(env["ETCD_INITIAL_CLUSTER"], "=") != 2 {
		t.Errorf("etcd-remove-member: master-0 ETCD_INITIAL_CLUSTER = %q", env["ETCD_INITIAL_CLUSTER"])
	}

	infra := c.Infra[2]
	node, err := c.Client.CoreV1().Nodes().Get(ctx, infra, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, a := range node.Status.Addresses {
		addrs = append(addrs, a.Address)
	}
	addrs = model.HAProxyNodeAddresses(infra, addrs)
	cfgPath := filepath.Join(c.HostRoot(0), localcluster.HAProxyConfigPath)
	before, _ := os.ReadFile(cfgPath)
	r.run("decommission", map[string]string{"node": infra}).complete(t, "decommission")
	if _, err := c.Client.CoreV1().Nodes().Get(ctx, infra, metav1.GetOptions{}); err == nil {
		t.Error("decommission: the node is still there")
	}
	after, _ := os.ReadFile(cfgPath)
	had, left := model.HAProxyServersAt(string(before), addrs, model.HAProxyRouterPorts), model.HAProxyServersAt(string(after), addrs, model.HAProxyRouterPorts)
	if len(had) == 0 || len(left) != 0 || len(model.ParseHAProxyServers(string(after))) != len(model.ParseHAProxyServers(string(before)))-len(had) {
		t.Errorf("decommission: %s's router servers before %v, after %v", infra, had, left)
	}
}

// restoredMemberID is the ID etcd gives a member restored from a snapshot
// with these peer URLs and cluster token (etcd's computeMemberID): the
// data dir's own record of the token it was restored with.
func restoredMemberID(peerURLs []string, token string) uint64 {
	urls := slices.Clone(peerURLs)
	sort.Strings(urls)
	sum := sha1.Sum([]byte(strings.Join(urls, "") + token))
	return binary.BigEndian.Uint64(sum[:8])
}

// etcd-restore, then etcd-recover-quorum, on a cluster of the test's own,
// each interrupted in every step and resumed: the token etcd.conf names is
// the one the restore used (the restored member's ID is derived from it),
// and the cluster ends three healthy members serving the snapshot's data.
func TestResumeAfterEveryStepRestoreRecover(t *testing.T) {
	c := ownCluster(t)
	s := sessionOn(t, c)
	settle(t, c)
	r := &resumer{t: t, s: s, pause: 1100 * time.Millisecond}
	checkToken := func(name string, out resumed) {
		t.Helper()
		env := envOf(t, filepath.Join(c.HostRoot(0), localcluster.EtcdConfPath))
		m := memberOf(t, s, c.Masters[0].Name)
		if want := restoredMemberID([]string{c.Masters[0].PeerURL}, env["ETCD_INITIAL_CLUSTER_TOKEN"]); m.ID != want {
			t.Errorf("%s: etcd.conf's token %q is not the one the restore used (member %s, that token gives %x)", name, env["ETCD_INITIAL_CLUSTER_TOKEN"], m.IDHex(), want)
		}
		if tok, _ := rebuildTokenKey.Get(&RunState{values: out.sum.State}); tok != env["ETCD_INITIAL_CLUSTER_TOKEN"] {
			t.Errorf("%s: journaled token %q, etcd.conf %q", name, tok, env["ETCD_INITIAL_CLUSTER_TOKEN"])
		}
	}

	// The journal is complete (complete); etcd is three healthy voting
	// members again, in a new cluster.
	checkNewCluster := func(name string, old uint64) {
		t.Helper()
		if snap := waitHealthy(t, s); snap.Voters() != 3 || snap.ClusterID == old {
			t.Errorf("%s: after: %s, cluster %x (was %x)", name, snap.Badge(), snap.ClusterID, old)
		}
	}

	set, old := backupBetween(t, c, s, "before-backup", "after-backup")
	r.op = &handsOn{t: t, do: map[string]func() error{"stop-others": func() error {
		return errors.Join(stopForGoodAs(c, 1, ".old"), stopForGoodAs(c, 2, ".old"))
	}}}
	out := r.run("etcd-restore", map[string]string{"snapshot": etcdBackupDir + "/" + set.Snapshot, "member-roots": memberRoots(c)})
	out.complete(t, "etcd-restore")
	checkNewCluster("etcd-restore", old)
	checkToken("etcd-restore", out)
	if !hasConfigMap(t, c, "before-backup") || hasConfigMap(t, c, "after-backup") {
		t.Error("etcd-restore: the API must serve the snapshot's objects, and only those")
	}

	time.Sleep(1100 * time.Millisecond) // backups are named by the second
	set, old = backupBetween(t, c, s, "", "after-second-backup")
	loseQuorum(t, c, s)
	r.op = &handsOn{t: t, do: map[string]func() error{"stop-others": func() error {
		return errors.Join(stopForGoodAs(c, 1, ".old2"), stopForGoodAs(c, 2, ".old2"))
	}}}
	out = r.run("etcd-recover-quorum", map[string]string{"snapshot": etcdBackupDir + "/" + set.Snapshot, "member-roots": memberRoots(c)})
	out.complete(t, "etcd-recover-quorum")
	checkNewCluster("etcd-recover-quorum", old)
	checkToken("etcd-recover-quorum", out)
	if !hasConfigMap(t, c, "before-backup") || hasConfigMap(t, c, "after-second-backup") {
		t.Error("etcd-recover-quorum: the API must serve the second snapshot's objects, and only those")
	}
}
