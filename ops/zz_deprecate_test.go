package ops

// This file's name sorts last on purpose: its tests delete nodes (and
// deprecate-master an etcd member) of the package's shared cluster, and go
// test runs files in name order, so every other test meets the cluster whole.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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

// auto answers every prompt: proceed (with the step's own word when it is
// destructive); a problem that says "retry shortly" is retried a few times,
// as an operator would, and any other problem aborts.
type auto struct {
	scripted
	retries int
}

func (a *auto) Ask(ctx context.Context, p Prompt) (Answer, error) {
	a.prompts = append(a.prompts, p)
	switch {
	case p.Problem == "":
		return Answer{Decision: Proceed, Typed: p.Step.Confirm}, nil
	case strings.Contains(p.Problem, "retry shortly") && a.retries < 10:
		a.retries++
		time.Sleep(2 * time.Second)
		return Answer{Decision: Retry}, nil
	}
	return Answer{Decision: Abort}, nil
}

func lastProblem(prompts []Prompt) (string, string) {
	for i := len(prompts) - 1; i >= 0; i-- {
		if prompts[i].Problem != "" {
			return prompts[i].Step.ID, prompts[i].Problem
		}
	}
	return "", ""
}

// Deprecate master-2 from master-0 (seed 003 §5.2.1): refused at the etcd
// member while another member is down; done when all are healthy, leaving 2
// members, the API serving and master-0's etcd.conf edited.
func TestDeprecateMaster(t *testing.T) {
	s, target := session(t), cluster.Masters[2]
	params := map[string]string{"node": target.Name, "master-root": target.Root, "allow-two-members": "true"}

	cluster.StopMember(1)
	p, err := s.Procedure("deprecate-master", params)
	if err != nil {
		t.Fatal(err)
	}
	op := &auto{}
	err = Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)})
	cluster.StartMember(1)
	if step, problem := lastProblem(op.prompts); step != "etcd-remove" || !strings.Contains(problem, "leaves 1 healthy voting members, and a 2-member cluster needs 2") {
		t.Fatalf("with master-1 down the removal must be refused: %v (%s: %s)", err, step, problem)
	}
	waitHealthy(t, s)

	// All healthy now: the same procedure goes through.
	p, err = s.Procedure("deprecate-master", params)
	if err != nil {
		t.Fatal(err)
	}
	op = &auto{}
	j := openJournal(t)
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("deprecate: %v (%s: %s)", err, step, problem)
	}

	snap := waitHealthy(t, s)
	if snap.Voters() != 2 {
		t.Fatalf("want 2 members left, got %d", snap.Voters())
	}
	if _, ok := snap.Member(target.Name); ok {
		t.Fatal("the deprecated master's member is still listed")
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "after-deprecation", Namespace: "default"}}
	if _, err := cluster.Client.CoreV1().ConfigMaps("default").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("API must serve with two members: %v", err)
	}
	conf, _ := os.ReadFile(filepath.Join(cluster.HostRoot(0), "etc/etcd/etcd.conf"))
	env, err := model.ParseEnvFile(conf)
	if err != nil || strings.Contains(env["ETCD_INITIAL_CLUSTER"], target.Name) || strings.Count(env["ETCD_INITIAL_CLUSTER"], "=") != 2 {
		t.Errorf("master-0 etcd.conf ETCD_INITIAL_CLUSTER = %q (%v)", env["ETCD_INITIAL_CLUSTER"], err)
	}
	haproxy, _ := os.ReadFile(filepath.Join(cluster.HostRoot(0), "etc/haproxy/haproxy.cfg"))
	if strings.Contains(string(haproxy), "master2 ") || !strings.Contains(string(haproxy), "    server      master0 192.0.2.11:8443 check\n    server      master1 192.0.2.12:8443 check\n\n") {
		t.Errorf("atomic-openshift-api servers after (only master2, at %s, must go):\n%s", target.IP, haproxy)
	}
	for _, f := range []string{"apiserver.yaml", "controller.yaml", "etcd.yaml"} {
		if _, err := os.Stat(filepath.Join(target.Root, "etc/origin/node/pods/disabled", f)); err != nil {
			t.Errorf("%s not moved to pods/disabled: %v", f, err)
		}
	}
	if cluster.MemberRunning(2) {
		t.Error("the removed member's etcd must be stopped")
	}
	// The backup of master-2's files is on master-0, where day2 runs: never
	// only on the master being taken out.
	backups, _ := filepath.Glob(filepath.Join(cluster.HostRoot(0), "backup", target.Name+"-*.tar.gz"))
	if len(backups) == 0 {
		t.Fatal("no master backup on master-0")
	}
	if names := strings.Join(tarNames(t, backups[len(backups)-1]), "\n"); !strings.Contains(names, "etc/etcd/etcd.conf") {
		t.Errorf("the backup lacks master-2's etcd.conf:\n%s", names)
	}
	fs := hostfs.New(cluster.HostRoot(0))
	if err := fs.VerifyBackup("/backup/" + filepath.Base(backups[len(backups)-1])); err != nil {
		t.Error(err)
	}
	if _, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), target.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node still there: %v", err)
	}
	if _, sum := readOnly(t, j); !sum.Finished || sum.Outcome != model.OutcomeOK {
		t.Errorf("journal: %+v", sum)
	}
}

func waitHealthy(t *testing.T, s *Session) model.EtcdCluster {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap := s.poller.Poll(context.Background())
		if snap.State() == model.QuorumHealthy {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd not healthy: %s %s", snap.Badge(), snap.Err)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// deprecate-master finds the master's member by its etcd.conf's ETCD_NAME
// when the node's name differs (here an FQDN against the member's short
// name), asks for that member's ID at etcd-remove, and refuses to stop
// etcd while the member is still listed. Nothing is run.
func TestDeprecateMasterFindsTheMemberByEtcdName(t *testing.T) {
	s := session(t)
	snap := waitHealthy(t, s)
	var target *localcluster.Master
	for i := range cluster.Masters {
		if _, ok := snap.Member(cluster.Masters[i].Name); ok && i > 0 {
			target = cluster.Masters[i]
			break
		}
	}
	if target == nil {
		t.Fatalf("no member besides master-0: %s", snap.Badge())
	}
	m, _ := snap.Member(target.Name)
	fqdn := target.Name + ".cluster.example.com"
	p, err := s.Procedure("deprecate-master", map[string]string{"node": fqdn, "master-root": target.Root, "allow-two-members": "true"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	remove := stepOf(t, p, "etcd-remove")
	if ok, why := remove.Applies(ctx); !ok {
		t.Fatalf("etcd-remove skipped itself for %s: %s", fqdn, why)
	}
	if err := remove.Check(ctx); err != nil || remove.Confirm != m.IDHex() {
		t.Fatalf("etcd-remove must act on %s (%s): confirm %q, %v", m.IDHex(), target.Name, remove.Confirm, err)
	}
	err = stepOf(t, p, "disable-etcd").Check(ctx)
	if err == nil || !strings.Contains(err.Error(), m.IDHex()) || !strings.Contains(err.Error(), "still listed") {
		t.Fatalf("disable-etcd must refuse while the member is listed: %v", err)
	}
	if !cluster.MemberRunning(slices.Index(cluster.Masters, target)) {
		t.Fatal("the member was stopped")
	}
}
