package ops

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

func configMap(t *testing.T, c *localcluster.Cluster, name string) {
	t.Helper()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	if _, err := c.Client.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func hasConfigMap(t *testing.T, c *localcluster.Cluster, name string) bool {
	t.Helper()
	_, err := c.Client.CoreV1().ConfigMaps("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("configmap %s: %v", name, err)
	}
	return err == nil
}

// loseQuorum kills masters 1 and 2 and waits until the survivor no longer
// serves linearizable reads.
func loseQuorum(t *testing.T, c *localcluster.Cluster, s *Session) {
	t.Helper()
	c.StopMember(1)
	c.StopMember(2)
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap := s.poller.Poll(context.Background())
		if snap.State() == model.QuorumLost && strings.Contains(snap.Badge(), "NO QUORUM") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("quorum not lost: %s %s", snap.Badge(), snap.Err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Two of three members killed: etcd-recover-quorum from the backup brings up
// a one-member cluster serving the snapshot's objects, then the two others
// come back as learners, are promoted, and the cluster is 3/3. On every
// etcd version: the backup, its verification and the restored data dir
// work on each, and before 3.4 the two come back as voters, one at a time,
// the first (one member to two) only with the typed override.
func TestEtcdRecoverQuorumFromBackup(t *testing.T) {
	eachEtcdVersion(t, testEtcdRecoverQuorumFromBackup)
}

func testEtcdRecoverQuorumFromBackup(t *testing.T, version string) {
	c := ownClusterOf(t, version)
	s := sessionOn(t, c)
	learners := model.SupportsLearners(s.poller.Poll(context.Background()).Version)
	settle(t, c)
	configMap(t, c, "before-backup")
	if err, _, sum := runJournaled(t, s, "etcd-backup", nil, &auto{}); err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("backup: %v %+v", err, sum)
	}
	set, _ := newestBackup(t, c.HostRoot(0), etcdBackupDir)
	configMap(t, c, "after-backup")
	old := s.poller.Poll(context.Background()).ClusterID

	// With quorum held the recovery is refused: replace members instead.
	err, recs, _ := runJournaled(t, s, "etcd-recover-quorum", map[string]string{"snapshot": etcdBackupDir + "/" + set.Snapshot}, &auto{})
	if e := stepEnds(recs)["detect"]; err == nil || e.Outcome != model.OutcomeBlocked || !strings.Contains(e.Error, "quorum holds (3 of 3") {
		t.Fatalf("recovery with quorum: %v %+v", err, e)
	}

	loseQuorum(t, c, s)
	op := &handsOn{t: t, do: map[string]func() error{"stop-others": func() error {
		return errors.Join(stopForGood(c, 1), stopForGood(c, 2))
	}}}
	err, recs, sum := runJournaled(t, s, "etcd-recover-quorum", map[string]string{
		"snapshot": etcdBackupDir + "/" + set.Snapshot, "member-roots": memberRoots(c), "allow-single-voter-add": "true",
	}, op)
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("recover: %v (%s: %s)", err, step, problem)
	}
	checkGrownBack(t, s, recs, sum, old, learners)
	if !learners {
		var plan string
		for _, r := range recs {
			if r.Event == model.EventStepStart && r.Step == "add-voter-1" {
				plan = strings.Join(r.Plan, "\n")
			}
		}
		if !strings.Contains(plan, "from 1 of 1 to 2 of 2") || !strings.Contains(plan, "NO quorum") {
			t.Errorf("the one-to-two voter add must say the cluster has no quorum until the member runs:\n%s", plan)
		}
	}
	snap := s.poller.Poll(context.Background())
	for _, m := range snap.Members {
		if m.Learner || m.Version == "" || !strings.HasPrefix(m.Version, version+".") {
			t.Errorf("member %s: learner %v, version %q (want a %s voter)", m.Name, m.Learner, m.Version, version)
		}
	}
	var detect string
	for _, r := range recs {
		if r.Event == model.EventStepStart && r.Step == "detect" {
			detect = strings.Join(r.Plan, "\n")
		}
	}
	for _, want := range []string{c.Masters[0].Name + "  answers serializable reads only: no quorum  raft index", "does not answer",
		"recommended survivor: " + c.Masters[0].Name + " has the newest data"} {
		if !strings.Contains(detect, want) {
			t.Errorf("detect plan lacks %q:\n%s", want, detect)
		}
	}
	if !hasConfigMap(t, c, "before-backup") || hasConfigMap(t, c, "after-backup") {
		t.Error("the API must serve the snapshot's objects, and only those")
	}
	if _, err := c.Client.AppsV1().Deployments(localcluster.AppNamespace).Get(context.Background(), "frontend", metav1.GetOptions{}); err != nil {
		t.Errorf("seeded objects: %v", err)
	}
}

// Without a backup, the typed override rebuilds from the survivor's own
// data: what it had is kept (a write made before the loss). The old members
// are stopped all the same; none grows back when --members names the
// survivor alone.
func TestEtcdRecoverQuorumFromMemberData(t *testing.T) {
	c := ownCluster(t)
	s := sessionOn(t, c)
	configMap(t, c, "before-loss")
	loseQuorum(t, c, s)
	if _, err := s.Procedure("etcd-recover-quorum", map[string]string{"members": c.Masters[0].Name + "=" + c.Masters[0].PeerURL}); err == nil {
		t.Fatal("neither --snapshot nor --from-member-data: refused")
	}
	op := &handsOn{t: t, do: map[string]func() error{"stop-others": func() error {
		return errors.Join(stopForGood(c, 1), stopForGood(c, 2))
	}}}
	err, recs, sum := runJournaled(t, s, "etcd-recover-quorum", map[string]string{
		"from-member-data": "true", "members": c.Masters[0].Name + "=" + c.Masters[0].PeerURL,
	}, op)
	if err != nil || sum.Outcome != model.OutcomeOK {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("recover from member data: %v (%s: %s)", err, step, problem)
	}
	ends := stepEnds(recs)
	if ends["stop-others"].Outcome != model.OutcomeOK || ends["restore"].Outcome != model.OutcomeOK || ends["add-learner-1"].Outcome != "" {
		t.Errorf("journal: stop-others %+v, restore %+v", ends["stop-others"], ends["restore"])
	}
	for _, r := range recs {
		if r.Event == model.EventStepStart && r.Step == "restore" && !strings.Contains(strings.Join(r.Plan, "\n"), "--skip-hash-check") {
			t.Errorf("restore plan: %v", r.Plan)
		}
		if r.Event == model.EventStepStart && r.Step == "preflight" && !strings.Contains(strings.Join(r.Plan, "\n"), "DATA LOSS") {
			t.Errorf("preflight plan must warn of data loss: %v", r.Plan)
		}
	}
	snap := waitHealthy(t, s)
	if snap.Voters() != 1 || !hasConfigMap(t, c, "before-loss") {
		t.Errorf("after: %s; before-loss kept: %v", snap.Badge(), hasConfigMap(t, c, "before-loss"))
	}
}
