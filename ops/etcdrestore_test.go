package ops

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// handsOn answers like auto and, the first time a step in do is asked,
// first does what that manual step asks of the operator on other hosts.
type handsOn struct {
	auto
	t    *testing.T
	do   map[string]func() error
	done map[string]bool
}

func (h *handsOn) Ask(ctx context.Context, p Prompt) (Answer, error) {
	if f := h.do[p.Step.ID]; f != nil && p.Problem == "" && !h.done[p.Step.ID] {
		if h.done == nil {
			h.done = map[string]bool{}
		}
		h.done[p.Step.ID] = true
		if err := f(); err != nil {
			h.t.Errorf("operator's work for %s: %v", p.Step.ID, err)
			return Answer{Decision: Abort}, nil
		}
	}
	return h.auto.Ask(ctx, p)
}

// stopForGood is what stop-others asks on master i: its etcd static pod
// manifest to pods-stopped, the member gone, its data dir moved aside. A
// member the test had killed is released: without its manifest it stays
// down.
func stopForGood(c *localcluster.Cluster, i int) error { return stopForGoodAs(c, i, ".old") }

// stopForGoodAs is stopForGood moving the data dir aside with suffix (a
// cluster restored twice keeps both).
func stopForGoodAs(c *localcluster.Cluster, i int, suffix string) error {
	root := c.HostRoot(i)
	if err := os.MkdirAll(filepath.Join(root, localcluster.StoppedPodsDir), 0o755); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(root, localcluster.EtcdManifest), filepath.Join(root, localcluster.StoppedPodsDir, "etcd.yaml")); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.MemberRunning(i) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still runs", c.Masters[i].Name)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.StartMember(i)
	return os.Rename(filepath.Join(root, localcluster.EtcdDataDir), filepath.Join(root, localcluster.EtcdDataDir+suffix))
}

func memberRoots(c *localcluster.Cluster) string {
	var parts []string
	for _, m := range c.Masters[1:] {
		parts = append(parts, m.Name+"="+m.Root)
	}
	return strings.Join(parts, ",")
}

func tarNames(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names
}

// checkGrownBack asserts the journal shows every step done and etcd is
// three healthy voting members again, in a new cluster: grown back with
// learners from etcd 3.4, before that (learners false) member by member as
// voters in the guide's order, no learner step run.
func checkGrownBack(t *testing.T, s *Session, recs []model.JournalRecord, sum model.RunSummary, oldCluster uint64, learners bool) {
	t.Helper()
	if !sum.Finished || sum.Outcome != model.OutcomeOK {
		t.Fatalf("journal: %+v", sum)
	}
	ends := stepEnds(recs)
	ok := []string{"stop-others", "stop-etcd", "move-data", "restore", "restore-conf", "start-etcd", "verify-cluster",
		"add-learner-1", "start-member-1", "promote-1", "verify-member-1", "add-learner-2", "promote-2", "verify-member-2", "etcd-conf"}
	skipped := []string{"prepare-member-1", "add-voter-1", "prepare-member-2", "add-voter-2"}
	if !learners {
		ok = []string{"stop-others", "stop-etcd", "move-data", "restore", "restore-conf", "start-etcd", "verify-cluster",
			"prepare-member-1", "add-voter-1", "verify-member-1", "prepare-member-2", "add-voter-2", "verify-member-2", "etcd-conf"}
		skipped = []string{"add-learner-1", "start-member-1", "promote-1", "add-learner-2", "start-member-2", "promote-2"}
	}
	for _, id := range ok {
		if ends[id].Outcome != model.OutcomeOK {
			t.Errorf("step %s: %+v", id, ends[id])
		}
	}
	for _, id := range skipped {
		if ends[id].Outcome != model.OutcomeSkipped {
			t.Errorf("step %s: %+v, want skipped", id, ends[id])
		}
	}
	snap := waitHealthy(t, s)
	if snap.Voters() != 3 || snap.ClusterID == oldCluster {
		t.Errorf("after: %s, cluster %x (was %x)", snap.Badge(), snap.ClusterID, oldCluster)
	}
}

// etcd-restore of a snapshot taken before a namespace was created: the
// namespace is gone, the API serves, the other masters are members again
// (learner first), the old data kept aside. The OpenShift 4 backup rules
// come first: --force during a rollout marks the files possibly dirty and
// takes the static pod resources.
func TestEtcdRestoreReturnsToTheSnapshot(t *testing.T) {
	eachEtcdVersion(t, testEtcdRestoreReturnsToTheSnapshot)
}

func testEtcdRestoreReturnsToTheSnapshot(t *testing.T, version string) {
	c := ownClusterOf(t, version)
	ctx := context.Background()
	s := sessionOn(t, c)
	learners := model.SupportsLearners(s.poller.Poll(ctx).Version)
	root, dir := c.HostRoot(0), etcdBackupDir
	// master-0's data dir on a disk of its own, as the guide recommends:
	// the restore moves its contents, never the mount point.
	if err := c.MountEtcdDataDir(0); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteStaticPodResources(0); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallClusterVersion(ctx, "4.7.2"); err != nil {
		t.Fatal(err)
	}

	err, _, sum := runJournaled(t, s, "etcd-backup", map[string]string{"force": "true"}, &auto{})
	if err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("forced backup: %v %+v", err, sum)
	}
	dirty, m := newestBackup(t, root, dir)
	if !strings.Contains(dirty.Snapshot, model.DirtyMarker) || !m.PossiblyDirty || !strings.Contains(m.DirtyReason, "kube-apiserver") || m.OpenShiftVersion != "4.7.2" {
		t.Errorf("forced backup: %s %+v", dirty.Snapshot, m)
	}
	static := filepath.Join(root, dir, dirty.StaticResources)
	if err := hostfs.New(root).VerifyBackup(dir + "/" + dirty.StaticResources); err != nil {
		t.Fatal(err)
	}
	names := strings.Join(tarNames(t, static), "\n")
	for _, want := range []string{"kube-apiserver-pod-6/secrets/encryption-config/encryption-config", "etcd-pod-6/etcd-pod.yaml", "kube-scheduler-pod-6/", "kube-controller-manager-pod-6/"} {
		if !strings.Contains(names, want) {
			t.Errorf("static resources lack %s:\n%s", want, names)
		}
	}
	if strings.Contains(names, "-pod-5") {
		t.Errorf("static resources hold an old revision:\n%s", names)
	}

	settle(t, c)
	time.Sleep(1100 * time.Millisecond)
	if err, _, sum := runJournaled(t, s, "etcd-backup", nil, &auto{}); err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("backup: %v %+v", err, sum)
	}
	set, m := newestBackup(t, root, dir)
	if m.PossiblyDirty || strings.Contains(set.Snapshot, model.DirtyMarker) {
		t.Fatalf("a backup with every operator settled is clean: %s %+v", set.Snapshot, m)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "after-backup"}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	old := s.poller.Poll(ctx).ClusterID
	op := &handsOn{t: t, do: map[string]func() error{"stop-others": func() error {
		return errors.Join(stopForGood(c, 1), stopForGood(c, 2))
	}}}
	err, recs, sum := runJournaled(t, s, "etcd-restore", map[string]string{
		"snapshot": dir + "/" + set.Snapshot, "config-backup": dir + "/" + set.EtcdConfig, "member-roots": memberRoots(c),
		"allow-single-voter-add": "true", // before etcd 3.4, the first grow-back add (one voter to two)
	}, op)
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("restore: %v (%s: %s)", err, step, problem)
	}
	checkGrownBack(t, s, recs, sum, old, learners)
	for _, r := range recs {
		if r.Event == model.EventStepStart && r.Step == "restore" && !strings.Contains(strings.Join(r.Plan, "\n"), "returns the WHOLE cluster to the snapshot's point in time") {
			t.Errorf("the restore's plan must say it returns the whole cluster to the snapshot: %v", r.Plan)
		}
	}

	if _, err := c.Client.CoreV1().Namespaces().Get(ctx, "after-backup", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the namespace created after the snapshot must be gone: %v", err)
	}
	if _, err := c.Client.AppsV1().Deployments(localcluster.AppNamespace).Get(ctx, "frontend", metav1.GetOptions{}); err != nil {
		t.Errorf("the snapshot's objects must be served: %v", err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after-restore", Namespace: "default"}}
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Errorf("the API must take writes after the restore: %v", err)
	}
	if asides, _ := filepath.Glob(filepath.Join(root, localcluster.EtcdDataDir+".day2-*", "member/snap/db")); len(asides) != 1 {
		t.Errorf("the old data must be kept aside: %v", asides)
	}
	if mounted, err := hostfs.New(root).IsMountPoint("/" + localcluster.EtcdDataDir); !mounted || err != nil {
		t.Errorf("the data dir must still be its own filesystem, holding the restored member: %v %v", mounted, err)
	}
}
