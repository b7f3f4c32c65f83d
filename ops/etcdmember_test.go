package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// ownCluster starts a cluster of the test's own: membership changes must not
// touch the package's shared one.
func ownCluster(t *testing.T) *localcluster.Cluster { return ownClusterOf(t, "") }

// ownClusterOf is ownCluster on etcd version v ("" for the default).
func ownClusterOf(t *testing.T, v string) *localcluster.Cluster {
	t.Helper()
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := localcluster.Start(ctx, localcluster.Options{Workers: 1, EtcdVersion: v})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	t.Logf("cluster on etcd %s up in %s", c.EtcdVersion(), time.Since(begin).Round(time.Second))
	return c
}

// eachEtcdVersion runs f once per etcd version the local cluster offers,
// reporting how long each took.
func eachEtcdVersion(t *testing.T, f func(t *testing.T, v string)) {
	for _, v := range localcluster.EtcdVersions {
		t.Run("etcd-"+v, func(t *testing.T) {
			begin := time.Now()
			f(t, v)
			t.Logf("etcd %s: %s", v, time.Since(begin).Round(time.Second))
		})
	}
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

// A wrong member ID is refused when the procedure is built — no run starts,
// so there is nothing to journal — with the members there are; a malformed
// one says what an ID looks like.
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
}

// Seeds 003 §5.2.1.4 and §5.4.4 on a cluster of the test's own, on every
// etcd version: with master-1's machine stopped (etcd SIGKILLed, node
// unreachable), removing healthy master-2 is refused; removing dead
// master-1 is allowed and leaves 2 healthy members (etcd.conf and
// master-config.yaml updated); a fourth host brings the cluster back to 3
// healthy members — from 3.4 added as a learner, started and promoted;
// before 3.4 (no learners) prepared first, then added as a voter and
// started at once, no learner ever requested.
func TestEtcdRemoveThenAddMember(t *testing.T) {
	eachEtcdVersion(t, testEtcdRemoveThenAddMember)
}

func testEtcdRemoveThenAddMember(t *testing.T, version string) {
	c := ownClusterOf(t, version)
	s := sessionOn(t, c)
	learners := model.SupportsLearners(s.poller.Poll(context.Background()).Version)
	if learners != (version != "3.3") {
		t.Fatalf("etcd %s: learners %v (cluster version %q)", version, learners, s.poller.Poll(context.Background()).Version)
	}
	healthy, dead := memberOf(t, s, c.Masters[2].Name), memberOf(t, s, c.Masters[1].Name)

	// master-1's machine stops (seed 001 §5.2.3): etcd down, node unreachable.
	if err := c.StopMachine(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(context.Background(), 30*time.Second, 300*time.Millisecond, func() (bool, string) {
		d, err := s.DiagnoseEtcdMember(context.Background(), dead.ID)
		return err == nil && d.Fault == model.FaultNodeNotReady && d.Path == model.PathReplaceFailed, fmt.Sprintf("%+v %v", d, err)
	}); err != nil {
		t.Fatalf("diagnosis of a stopped machine: %v", err)
	}
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
	checkAddSteps(t, op, sum, host.Name, learners)
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

	// Two of three down (the third answers, but cannot serve a linearizable
	// read): no replacement, quorum recovery instead (seed 001 §5.2).
	c.StopMember(0)
	c.StopMember(2)
	op, sum, _ = runProc(t, s, "etcd-replace-member", map[string]string{"member": healthy.IDHex()})
	if step, problem := lastProblem(op.prompts); step != "diagnose" || !strings.Contains(problem, "quorum is lost (0 of 3 voting members healthy, 2 needed)") || !strings.Contains(problem, "etcd-recover-quorum") {
		t.Errorf("without quorum the replacement must stop at the diagnosis: %s: %s", step, problem)
	}
	if sum.Params["path"] != string(model.PathRecoverQuorum) || len(sum.Steps) != 1 || stepOutcome(t, sum, "diagnose") != model.OutcomeBlocked {
		t.Errorf("journal without quorum: %+v", sum)
	}
}

// checkAddSteps checks the add-member steps of a run that added name: as
// a learner (3.4+), or before 3.4 prepared, added as a voter in a typed,
// destructive step whose plan says the quorum grows at once, and started
// with it — the learner steps skipped, no learner requested.
func checkAddSteps(t *testing.T, op *auto, sum model.RunSummary, name string, learners bool) {
	t.Helper()
	want := map[string]model.Outcome{"prepare-member": model.OutcomeSkipped, "add-voter": model.OutcomeSkipped, "add-learner": model.OutcomeOK,
		"start-member": model.OutcomeOK, "promote": model.OutcomeOK, "verify-member": model.OutcomeOK}
	if !learners {
		want = map[string]model.Outcome{"prepare-member": model.OutcomeOK, "add-voter": model.OutcomeOK, "add-learner": model.OutcomeSkipped,
			"start-member": model.OutcomeSkipped, "promote": model.OutcomeSkipped, "verify-member": model.OutcomeOK}
	}
	for id, w := range want {
		if got := stepOutcome(t, sum, id); got != w {
			t.Errorf("step %s: %s, want %s", id, got, w)
		}
	}
	var progress, plan []string
	for _, e := range op.events {
		progress = append(progress, e.Step+": "+e.Message)
	}
	for _, p := range op.prompts {
		if p.Step.ID == "add-learner" && !learners {
			t.Errorf("a cluster without learners was asked to add one: %v", p.Plan)
		}
		if p.Step.ID == "add-voter" {
			plan = p.Plan
			if !p.Step.Destructive || p.Step.Confirm != name {
				t.Errorf("add-voter must be confirmed by typing %s: %+v", name, p.Step)
			}
		}
	}
	all := strings.Join(progress, "\n")
	if learners {
		if !strings.Contains(all, "add-learner: added "+name+" as learner") || !strings.Contains(all, "tolerate no failure") {
			t.Errorf("add-learner progress:\n%s", all)
		}
		return
	}
	if !strings.Contains(all, "add-voter: added "+name+" as voting member") || !strings.Contains(all, "add-voter: moved ") {
		t.Errorf("add-voter progress (added, then started at once):\n%s", all)
	}
	if p := strings.Join(plan, "\n"); !strings.Contains(p, "a VOTER") || !strings.Contains(p, "the quorum grows at once from 2 of 2 to 2 of 3") || !strings.Contains(p, "tolerates 0 failure(s)") {
		t.Errorf("add-voter plan:\n%s", p)
	}
	if st, _ := sum.Step("promote"); !strings.Contains(st.Error, "has no learners: "+name+" joined as a voter") {
		t.Errorf("promote skipped without its reason: %+v", st)
	}
}

// abortAt answers like auto but aborts the run at one step.
type abortAt struct {
	auto
	step string
}

func (a *abortAt) Ask(ctx context.Context, p Prompt) (Answer, error) {
	if p.Step.ID == a.step {
		a.prompts = append(a.prompts, p)
		return Answer{Decision: Abort}, nil
	}
	return a.auto.Ask(ctx, p)
}

func running(evs []Event, step, prefix string) []string {
	var out []string
	for _, m := range messages(evs, step) {
		if strings.HasPrefix(m, prefix) {
			out = append(out, m)
		}
	}
	return out
}

// Seed 001 §5.2.4.2 on OpenShift 4's API, then seed 003 §5.4.3, then
// etcd-defrag with a learner present, on a cluster of the test's own:
//   - master-1's data dir is corrupted, its etcd crashloops: the replacement
//     stops it, moves manifest and data aside, removes it, deletes its
//     secrets, patches forceRedeploymentReason, adds it back as a learner,
//     starts and promotes it: 3/3 healthy;
//   - healthy master-2 is retired add-first for a new host master-3;
//   - a learner (master-4, never promoted) is skipped by etcd-defrag, which
//     defragments the leader last; then the learner is removed.
func TestEtcdReplaceRetireDefrag(t *testing.T) {
	c := ownCluster(t)
	ctx := context.Background()
	if err := c.InstallEtcdOperatorAPI(ctx); err != nil {
		t.Fatal(err)
	}
	s := sessionOn(t, c)
	old := memberOf(t, s, c.Masters[1].Name)
	// master-1's data dir is a mount point: stop-member moves its contents.
	if err := c.MountEtcdDataDir(1); err != nil {
		t.Fatal(err)
	}

	c.StopMember(1)
	if err := c.CorruptMember(1); err != nil {
		t.Fatal(err)
	}
	c.StartMember(1)
	if err := waitFor(ctx, 30*time.Second, 300*time.Millisecond, func() (bool, string) {
		m, _ := s.poller.Poll(ctx).MemberByID(old.ID)
		return !m.Reached && !c.MemberRunning(1), "master-1 answers or runs: " + m.Err
	}); err != nil {
		t.Fatalf("the corrupted member must crash: %v", err)
	}

	// The test plays cluster-etcd-operator: once the redeployment is
	// forced, it adds master-1 back as a learner, starts and promotes it
	// (with etcd-add-member's steps, in a run and session of its own).
	added := make(chan error, 1)
	var addedAt time.Time
	go func() {
		added <- func() error {
			if err := waitFor(ctx, 3*time.Minute, 300*time.Millisecond, func() (bool, string) {
				spec, err := c.EtcdOperatorSpec(ctx)
				reason, _ := spec["forceRedeploymentReason"].(string)
				return err == nil && reason != "", fmt.Sprintf("no forceRedeploymentReason yet (%v)", err)
			}); err != nil {
				return err
			}
			addedAt = time.Now()
			operator := sessionOn(t, c)
			p, err := operator.Procedure("etcd-add-member", map[string]string{"name": old.Name, "peer-url": old.PeerURLs[0], "client-url": old.ClientURLs[0],
				"member-root": c.HostRoot(1), "skip-backup": "true", "timeout": "2m"})
			if err != nil {
				return err
			}
			return Run(ctx, p, &auto{}, RunOptions{Journal: openJournal(t)})
		}()
	}()
	op, sum, err := runProc(t, s, "etcd-replace-member", map[string]string{"member": old.IDHex(), "member-root": c.HostRoot(1), "timeout": "2m"})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("replace the crashlooping member: %v (%s: %s)", err, step, problem)
	}
	if err := <-added; err != nil {
		t.Fatalf("the operator's add: %v", err)
	}
	// day2 waited for the operator's member and added none of its own.
	if st, ok := sum.Step("add-learner"); ok {
		t.Errorf("day2 added a member itself on OpenShift 4: %+v", st)
	}
	if waited := running(op.events, "await-operator", ""); len(waited) == 0 || !slices.ContainsFunc(waited, func(m string) bool {
		return strings.Contains(m, "the operator has not added the new member yet") || strings.Contains(m, "not promoted yet")
	}) {
		t.Errorf("await-operator must report what it waits for: %q", waited)
	}
	var started time.Time
	if i := slices.IndexFunc(op.events, func(e Event) bool { return e.Step == "await-operator" && e.State == StateRunning }); i >= 0 {
		started = op.events[i].Time
	}
	if started.IsZero() || addedAt.IsZero() || started.After(addedAt.Add(time.Second)) {
		t.Errorf("await-operator must be waiting when the operator adds the member: started %s, added %s", started, addedAt)
	}
	if sum.Params["path"] != string(model.PathReplaceFailed) || sum.Params["fault"] != model.FaultCrashlooping.String() {
		t.Errorf("diagnosis recorded: %v", sum.Params)
	}
	want := map[string]model.Outcome{
		"diagnose": model.OutcomeOK, "stop-member": model.OutcomeOK, "etcd-remove": model.OutcomeOK, "etcd-secrets": model.OutcomeOK,
		"machine": model.OutcomeSkipped, "etcd-redeploy": model.OutcomeOK, "await-operator": model.OutcomeOK, "etcd-backup": model.OutcomeOK,
		"etcd-conf": model.OutcomeOK, "etcd-clients": model.OutcomeSkipped,
	}
	for id, o := range want {
		if got := stepOutcome(t, sum, id); got != o {
			t.Errorf("step %s: %s, want %s", id, got, o)
		}
	}
	if !sum.Finished || sum.Outcome != model.OutcomeOK {
		t.Errorf("journal: %+v", sum)
	}
	snap := waitHealthy(t, s)
	if m, ok := snap.Member(c.Masters[1].Name); snap.Voters() != 3 || !ok || m.ID == old.ID || m.Learner {
		t.Fatalf("want master-1 back as a new voting member: %s %+v", snap.Badge(), m)
	}
	for _, name := range etcdSecretNames(c.Masters[1].Name) {
		if ok, err := c.SecretExists(ctx, localcluster.EtcdNamespace, name); ok || err != nil {
			t.Errorf("secret %s still there (%v)", name, err)
		}
	}
	if ok, _ := c.SecretExists(ctx, localcluster.EtcdNamespace, "etcd-peer-"+c.Masters[0].Name); !ok {
		t.Error("another master's secret was deleted")
	}
	spec, err := c.EtcdOperatorSpec(ctx)
	if reason, _ := spec["forceRedeploymentReason"].(string); err != nil || reason != sum.Params["redeploy-reason"] || !strings.HasPrefix(reason, "single-master-recovery-") {
		t.Errorf("forceRedeploymentReason = %q (%v), journaled %q", reason, err, sum.Params["redeploy-reason"])
	}
	aside, _ := filepath.Glob(filepath.Join(c.HostRoot(1), "var/lib/etcd-backup/etcd-*/member/snap/db"))
	if len(aside) != 1 {
		t.Errorf("the crashlooping member's data must be moved aside, not deleted: %v", aside)
	}
	if mounted, err := hostfs.New(c.HostRoot(1)).IsMountPoint("/" + localcluster.EtcdDataDir); !mounted || err != nil {
		t.Errorf("master-1's data dir must stay mounted: %v %v", mounted, err)
	}

	// Retire healthy master-2 for a new host: add-first.
	retired := memberOf(t, s, c.Masters[2].Name)
	host, err := c.AddMasterHost("master-3.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer host.Stop()
	op, sum, err = runProc(t, s, "etcd-replace-member", map[string]string{
		"member": retired.IDHex(), "member-root": c.HostRoot(2),
		"new-name": host.Name, "new-peer-url": host.PeerURL, "new-client-url": host.ClientURL, "new-root": host.Root, "timeout": "2m",
	})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("retire master-2: %v (%s: %s)", err, step, problem)
	}
	if sum.Params["path"] != string(model.PathRetire) {
		t.Errorf("path %q", sum.Params["path"])
	}
	order := []string{}
	for _, st := range sum.Steps {
		order = append(order, st.ID)
	}
	if i, j := slices.Index(order, "promote"), slices.Index(order, "etcd-remove"); i < 0 || j < i {
		t.Errorf("a healthy member is removed after its replacement is promoted: %v", order)
	}
	for _, id := range []string{"add-learner", "start-member", "promote", "verify-member", "etcd-remove", "etcd-disable", "etcd-conf", "etcd-clients"} {
		if got := stepOutcome(t, sum, id); got != model.OutcomeOK {
			t.Errorf("retire step %s: %s", id, got)
		}
	}
	snap = waitHealthy(t, s)
	if _, ok := snap.Member(retired.Name); ok || snap.Voters() != 3 {
		t.Fatalf("want 3 members without master-2: %s", snap.Badge())
	}
	if urls := masterURLs(t, c.HostRoot(0)); len(urls) != 3 || slices.Contains(urls, retired.ClientURLs[0]) || !slices.Contains(urls, host.ClientURL) {
		t.Errorf("etcdClientInfo.urls after the retirement: %v", urls)
	}

	// A learner that is never promoted: etcd-defrag skips it.
	learner, err := c.AddMasterHost("master-4.example.com")
	if err != nil {
		t.Fatal(err)
	}
	defer learner.Stop()
	p, err := s.Procedure("etcd-add-member", map[string]string{"name": learner.Name, "peer-url": learner.PeerURL, "client-url": learner.ClientURL, "member-root": learner.Root})
	if err != nil {
		t.Fatal(err)
	}
	// Added but not started yet: etcd will not promote it (not in sync), and
	// the promotion keeps retrying, showing how far behind it is.
	if err := Run(ctx, p, &abortAt{step: "start-member"}, RunOptions{Journal: openJournal(t)}); !errors.Is(err, ErrAborted) {
		t.Fatalf("add a learner and stop before starting it: %v", err)
	}
	unstarted, ok := s.poller.Poll(ctx).MemberByPeerURL([]string{learner.PeerURL})
	if !ok || !unstarted.Learner || unstarted.Started() {
		t.Fatalf("want an unstarted learner: %+v", unstarted)
	}
	var reports []string
	err = s.poller.PromoteLearner(ctx, unstarted.ID, 3*time.Second, func(r string) { reports = append(reports, r) })
	if err == nil || !strings.Contains(err.Error(), "still not in sync with the leader") || len(reports) < 2 || !strings.Contains(reports[0], "not in sync yet") {
		t.Fatalf("promoting a learner that has not caught up: %v, reports %q", err, reports)
	}
	// The same procedure again: the learner is there (add-learner is not
	// needed), it is started; stop before the promotion.
	if p, err = s.Procedure("etcd-add-member", map[string]string{"name": learner.Name, "peer-url": learner.PeerURL, "client-url": learner.ClientURL, "member-root": learner.Root}); err != nil {
		t.Fatal(err)
	}
	stop := &abortAt{step: "promote"}
	if err := Run(ctx, p, stop, RunOptions{Journal: openJournal(t)}); !errors.Is(err, ErrAborted) {
		t.Fatalf("start the learner and stop before the promotion: %v", err)
	}
	if !slices.ContainsFunc(stop.events, func(e Event) bool {
		return e.Step == "add-learner" && e.State == StateSkipped && strings.Contains(e.Message, "is a member already")
	}) {
		t.Errorf("add-learner must be skipped for a member already added: %+v", stop.events)
	}
	snap = s.poller.Poll(ctx)
	if m, ok := snap.Member(learner.Name); !ok || !m.Learner || !m.Reached {
		t.Fatalf("want a started learner: %+v", m)
	}
	leader, _ := snap.Leader()

	op, sum, err = runProc(t, s, "etcd-defrag", map[string]string{})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("defrag: %v (%s: %s)", err, step, problem)
	}
	defrags := running(op.events, "defragment", "defragmenting ")
	if len(defrags) != 3 || !strings.Contains(defrags[2], leader.Name+" (leader)") {
		t.Errorf("three voting members, the leader %s last: %q", leader.Name, defrags)
	}
	if skipped := running(op.events, "defragment", learner.Name); len(skipped) != 1 || !strings.Contains(skipped[0], "learner, skipped") {
		t.Errorf("the learner is skipped: %q", messages(op.events, "defragment"))
	}
	if !sum.Finished || sum.Outcome != model.OutcomeOK || stepOutcome(t, sum, "compact") != model.OutcomeOK || stepOutcome(t, sum, "disarm-nospace") != model.OutcomeSkipped {
		t.Errorf("defrag journal: %+v", sum)
	}

	// A learner is removed without any quorum cost.
	lm := memberOf(t, s, learner.Name)
	op, sum, err = runProc(t, s, "etcd-remove-member", map[string]string{"member": lm.IDHex(), "member-root": learner.Root})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("remove the learner: %v (%s: %s)", err, step, problem)
	}
	if snap = waitHealthy(t, s); len(snap.Members) != 3 || !sum.Finished {
		t.Errorf("after removing the learner: %s, %d members", snap.Badge(), len(snap.Members))
	}
}

// Seed 003 §5.4.3 on etcd 3.3 (OpenShift 3.11), where there are no
// learners: master-1's data corrupted, its etcd crashlooping; the
// replacement stops it, removes it, prepares its host again, adds it back
// as a voter in a typed step and starts it at once (no learner requested,
// promote skipped with its reason): 3/3 healthy voters.
func TestEtcdReplaceFailedMemberWithoutLearners(t *testing.T) {
	begin := time.Now()
	c := ownClusterOf(t, "3.3")
	ctx := context.Background()
	s := sessionOn(t, c)
	old := memberOf(t, s, c.Masters[1].Name)
	c.StopMember(1)
	if err := c.CorruptMember(1); err != nil {
		t.Fatal(err)
	}
	c.StartMember(1)
	if err := waitFor(ctx, 30*time.Second, 300*time.Millisecond, func() (bool, string) {
		m, _ := s.poller.Poll(ctx).MemberByID(old.ID)
		return !m.Reached && !c.MemberRunning(1), "master-1 answers or runs: " + m.Err
	}); err != nil {
		t.Fatalf("the corrupted member must crash: %v", err)
	}
	op, sum, err := runProc(t, s, "etcd-replace-member", map[string]string{"member": old.IDHex(), "member-root": c.HostRoot(1), "timeout": "2m"})
	if err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("replace the crashlooping member: %v (%s: %s)", err, step, problem)
	}
	for id, o := range map[string]model.Outcome{"diagnose": model.OutcomeOK, "stop-member": model.OutcomeOK, "etcd-remove": model.OutcomeOK, "etcd-conf": model.OutcomeOK} {
		if got := stepOutcome(t, sum, id); got != o {
			t.Errorf("step %s: %s, want %s", id, got, o)
		}
	}
	checkAddSteps(t, op, sum, c.Masters[1].Name, false)
	snap := waitHealthy(t, s)
	if m, ok := snap.Member(c.Masters[1].Name); snap.Voters() != 3 || !ok || m.ID == old.ID || m.Learner || !strings.HasPrefix(m.Version, "3.3.") {
		t.Fatalf("want master-1 back as a new 3.3 voting member: %s %+v", snap.Badge(), m)
	}
	t.Logf("etcd 3.3 replace: %s", time.Since(begin).Round(time.Second))
}
