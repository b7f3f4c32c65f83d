package ops

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// ownCluster starts a cluster of the test's own: membership changes must not
// touch the package's shared one.
func ownCluster(t *testing.T) *localcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// sessionOn is a console on master-0 of c.
func sessionOn(t *testing.T, c *localcluster.Cluster) *Session {
	t.Helper()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(c.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   c.HostRoot(0), Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.poller.Close)
	return s
}

// runProc builds and runs a procedure with the auto operator, in a journal
// of its own, and returns the operator, the journal's summary and the run's
// error.
func runProc(t *testing.T, s *Session, name string, params map[string]string) (*auto, model.RunSummary, error) {
	t.Helper()
	p, err := s.Procedure(name, params)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	op := &auto{}
	j := openJournal(t)
	err = Run(context.Background(), p, op, RunOptions{Journal: j})
	_, sum := readOnly(t, j)
	return op, sum, err
}

func stepOutcome(t *testing.T, sum model.RunSummary, id string) model.Outcome {
	t.Helper()
	st, ok := sum.Step(id)
	if !ok {
		t.Fatalf("journal has no step %s: %+v", id, sum.Steps)
	}
	return st.Outcome
}

func memberOf(t *testing.T, s *Session, name string) model.EtcdMember {
	t.Helper()
	m, ok := s.poller.Poll(context.Background()).Member(name)
	if !ok {
		t.Fatalf("no member %s", name)
	}
	return m
}

func envOf(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env, err := model.ParseEnvFile(data)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func masterURLs(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, localcluster.MasterConfigPath))
	if err != nil {
		t.Fatal(err)
	}
	_, urls, err := model.EditEtcdClientURLs(data, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return urls
}

// A wrong member ID is refused before anything runs, with the members there
// are; a malformed one says what an ID looks like.
func TestEtcdRemoveMemberWrongID(t *testing.T) {
	s := session(t)
	_, err := s.Procedure("etcd-remove-member", map[string]string{"member": "bad"})
	if err == nil || !strings.Contains(err.Error(), "no member bad in the cluster; the members are ") || !strings.Contains(err.Error(), cluster.Masters[0].Name) {
		t.Fatalf("wrong ID: %v", err)
	}
	_, err = s.Procedure("etcd-remove-member", map[string]string{"member": "master-1.example.com"})
	if err == nil || !strings.Contains(err.Error(), "is not an etcd member ID") {
		t.Fatalf("a name is no ID: %v", err)
	}
	j := openJournal(t)
	if runs, _ := j.Runs(); len(runs) != 0 {
		t.Fatalf("nothing may be journaled: %v", runs)
	}
}

// Seeds 003 §5.2.1.4 and §5.4.4 on a cluster of the test's own: with
// master-1 SIGKILLed, removing healthy master-2 is refused; removing dead
// master-1 is allowed and leaves 2 healthy members (etcd.conf and
// master-config.yaml updated); a fourth host added as a learner, started
// and promoted brings the cluster back to 3 healthy members.
func TestEtcdRemoveThenAddMember(t *testing.T) {
	c := ownCluster(t)
	s := sessionOn(t, c)
	healthy, dead := memberOf(t, s, c.Masters[2].Name), memberOf(t, s, c.Masters[1].Name)

	c.StopMember(1)
	op, sum, err := runProc(t, s, "etcd-remove-member", map[string]string{"member": healthy.IDHex(), "allow-two-members": "true"})
	if step, problem := lastProblem(op.prompts); step != "etcd-remove" || !strings.Contains(problem, "leaves 1 healthy voting members, and a 2-member cluster needs 2") {
		t.Fatalf("removing a healthy member while another is down must be refused: %v (%s: %s)", err, step, problem)
	}
	if !sum.Finished || sum.Outcome != model.OutcomeAborted || stepOutcome(t, sum, "etcd-remove") != model.OutcomeBlocked {
		t.Errorf("journal of the refused run: %+v", sum)
	}
	if _, ok := s.poller.Poll(context.Background()).MemberByID(healthy.ID); !ok {
		t.Fatal("the healthy member was removed")
	}

	op, sum, err = runProc(t, s, "etcd-remove-member", map[string]string{"member": dead.IDHex(), "allow-two-members": "true", "member-root": c.HostRoot(1)})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("remove the dead member: %v (%s: %s)", err, step, problem)
	}
	snap := waitHealthy(t, s)
	if snap.Voters() != 2 {
		t.Fatalf("want 2 members, got %s", snap.Badge())
	}
	if !sum.Finished || sum.Outcome != model.OutcomeOK || sum.Params["name"] != dead.Name || sum.Params["peer-urls"] != dead.PeerURLs[0] {
		t.Errorf("journal of the removal: %+v", sum)
	}
	for _, id := range []string{"etcd-remove", "etcd-disable", "etcd-conf", "etcd-clients"} {
		if got := stepOutcome(t, sum, id); got != model.OutcomeOK {
			t.Errorf("step %s: %s", id, got)
		}
	}
	if got := stepOutcome(t, sum, "etcd-move-leader"); got != model.OutcomeSkipped {
		t.Errorf("a dead member does not lead: etcd-move-leader %s", got)
	}
	env := envOf(t, filepath.Join(c.HostRoot(0), localcluster.EtcdConfPath))
	if strings.Contains(env["ETCD_INITIAL_CLUSTER"], dead.Name) || strings.Count(env["ETCD_INITIAL_CLUSTER"], "=") != 2 {
		t.Errorf("master-0 ETCD_INITIAL_CLUSTER = %q", env["ETCD_INITIAL_CLUSTER"])
	}
	if urls := masterURLs(t, c.HostRoot(0)); len(urls) != 2 || slices.Contains(urls, dead.ClientURLs[0]) {
		t.Errorf("master-0 etcdClientInfo.urls = %v", urls)
	}
	if _, err := os.Stat(filepath.Join(c.HostRoot(1), "etc/origin/node/pods/disabled/etcd.yaml")); err != nil {
		t.Errorf("the removed member's manifest: %v", err)
	}

	// Grow back: a new host, added as a learner, started, promoted.
	host, err := c.AddMasterHost("master-3.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Stop()
	op, sum, err = runProc(t, s, "etcd-add-member", map[string]string{
		"name": host.Name, "peer-url": host.PeerURL, "client-url": host.ClientURL, "member-root": host.Root, "timeout": "2m",
	})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("add member: %v (%s: %s)", err, step, problem)
	}
	snap = waitHealthy(t, s)
	m, ok := snap.Member(host.Name)
	if snap.Voters() != 3 || !ok || m.Learner || !m.Healthy {
		t.Fatalf("want 3 healthy voting members with %s: %s %+v", host.Name, snap.Badge(), m)
	}
	if !sum.Finished || sum.Outcome != model.OutcomeOK {
		t.Errorf("journal of the add: %+v", sum)
	}
	for _, id := range []string{"add-learner", "start-member", "promote", "verify-member", "etcd-conf", "etcd-clients"} {
		if got := stepOutcome(t, sum, id); got != model.OutcomeOK {
			t.Errorf("step %s: %s", id, got)
		}
	}
	var sawLearner, sawWarning bool
	for _, e := range op.events {
		sawLearner = sawLearner || (e.Step == "add-learner" && strings.Contains(e.Message, "added "+host.Name+" as learner"))
		sawWarning = sawWarning || (e.Step == "add-learner" && strings.Contains(e.Message, "tolerate no failure"))
	}
	if !sawLearner || !sawWarning {
		t.Errorf("add-learner progress: learner %v, no-tolerance warning %v", sawLearner, sawWarning)
	}
	newEnv := envOf(t, filepath.Join(host.Root, localcluster.EtcdConfPath))
	if newEnv["ETCD_INITIAL_CLUSTER_STATE"] != "existing" || strings.Count(newEnv["ETCD_INITIAL_CLUSTER"], "=") != 3 || newEnv["ETCD_NAME"] != host.Name {
		t.Errorf("the new host's etcd.conf: %v", newEnv)
	}
	env = envOf(t, filepath.Join(c.HostRoot(0), localcluster.EtcdConfPath))
	if !strings.Contains(env["ETCD_INITIAL_CLUSTER"], host.Name+"="+host.PeerURL) {
		t.Errorf("master-0 ETCD_INITIAL_CLUSTER = %q", env["ETCD_INITIAL_CLUSTER"])
	}
	if urls := masterURLs(t, c.HostRoot(0)); len(urls) != 3 || !slices.Contains(urls, host.ClientURL) {
		t.Errorf("master-0 etcdClientInfo.urls = %v", urls)
	}
}
