package ops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

func session(t testing.TB) *Session {
	t.Helper()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(0), Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func unschedulable(t *testing.T, node string) bool {
	n, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n.Spec.Unschedulable
}

func uncordon(t *testing.T, s *Session, node string) {
	p, err := s.Procedure("uncordon", map[string]string{"node": node})
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), p, &scripted{answers: []Answer{{Decision: Proceed}}}, RunOptions{Journal: openJournal(t)}); err != nil {
		t.Fatalf("uncordon %s: %v", node, err)
	}
	if unschedulable(t, node) {
		t.Fatalf("%s still cordoned", node)
	}
}

func messages(evs []Event, step string) []string {
	var out []string
	for _, e := range evs {
		if e.Step == step && e.State == StateRunning && e.Message != "" {
			out = append(out, e.Message)
		}
	}
	return out
}

// frontendNode is a worker that surely has a pod to evict (where the
// scheduler put pods varies between runs).
func frontendNode(t *testing.T) string {
	t.Helper()
	node, err := cluster.NodeOf(context.Background(), localcluster.AppNamespace, "app=frontend")
	if err != nil {
		t.Fatal(err)
	}
	return node
}

func TestDrainWorker(t *testing.T) {
	s, node := session(t), frontendNode(t)
	p, err := s.Procedure("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true"})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := kube.NewDrainer(s.client).Remaining(context.Background(), node)
	if len(before) == 0 {
		t.Fatalf("%s has no pods to drain", node)
	}
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed, Typed: node}}}
	j := openJournal(t)
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uncordon(t, s, node) })
	if !unschedulable(t, node) {
		t.Error("drained node must be cordoned")
	}
	if left, _ := kube.NewDrainer(s.client).Remaining(context.Background(), node); len(left) != 0 {
		t.Fatalf("pods left on %s: %v", node, left)
	}
	// Each pod: evicting, evicted (the API accepted it), gone, then (for
	// controller pods) replaced elsewhere.
	msgs := messages(op.events, "evict")
	for _, pod := range before {
		order := []string{"evicting " + pod.Ref(), "evicted " + pod.Ref(), "gone " + pod.Ref()}
		if pod.OwnerKind != "" {
			order = append(order, "replaced "+pod.Ref())
		}
		at := -1
		for _, want := range order {
			found := -1
			for i, m := range msgs {
				if strings.HasPrefix(m, want) && i > at {
					found = i
					break
				}
			}
			if found < 0 {
				t.Errorf("no %q after position %d in %v", want, at, msgs)
				break
			}
			at = found
		}
	}
	for _, m := range msgs {
		if strings.HasPrefix(m, "replaced ") && strings.Contains(m, "scheduled on "+node) {
			t.Errorf("replacement on the drained node: %s", m)
		}
	}
	_, sum := readOnly(t, j)
	for _, id := range []string{"preflight", "cordon", "evict"} {
		if st, _ := sum.Step(id); st.Outcome != model.OutcomeOK {
			t.Errorf("journal: step %s = %+v", id, st)
		}
	}
}

func setMinAvailable(t *testing.T, n int) {
	patch := []byte(`{"spec":{"minAvailable":` + string(rune('0'+n)) + `}}`)
	if _, err := cluster.Client.PolicyV1().PodDisruptionBudgets(localcluster.AppNamespace).Patch(context.Background(), "frontend",
		types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitAllowed(t *testing.T, want int32) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		b, err := cluster.Client.PolicyV1().PodDisruptionBudgets(localcluster.AppNamespace).Get(context.Background(), "frontend", metav1.GetOptions{})
		if err == nil && b.Status.DisruptionsAllowed == want && b.Status.ObservedGeneration == b.Generation {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("PDB frontend never allowed %d disruptions", want)
}

func TestDrainBlockedByPDBStopsAtTimeoutCordoned(t *testing.T) {
	s, node := session(t), frontendNode(t)
	setMinAvailable(t, 3)
	t.Cleanup(func() { setMinAvailable(t, 2) })
	waitAllowed(t, 0)

	p, err := s.Procedure("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true", "timeout": "8s"})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed, Typed: node}, {Decision: Abort}}}
	err = Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)})
	t.Cleanup(func() { uncordon(t, s, node) })
	if !errors.Is(err, ErrAborted) {
		t.Fatalf("want the run aborted after the timeout, got %v", err)
	}
	if plan := strings.Join(op.prompts[0].Plan, "\n"); !strings.Contains(plan, "PodDisruptionBudget myapp/frontend allows 0 disruptions now") {
		t.Errorf("pre-flight must name the budget:\n%s", plan)
	}
	blocked := false
	for _, m := range messages(op.events, "evict") {
		if strings.Contains(m, "blocked by PodDisruptionBudget myapp/frontend") && strings.Contains(m, "0 disruptions allowed") {
			blocked = true
		}
	}
	if !blocked {
		t.Errorf("progress must report the PDB block: %v", messages(op.events, "evict"))
	}
	last := op.prompts[len(op.prompts)-1]
	if !strings.Contains(last.Problem, "stays cordoned") {
		t.Errorf("the failure must say the node stays cordoned: %q", last.Problem)
	}
	if !unschedulable(t, node) {
		t.Error("after a timed-out drain the node must stay cordoned")
	}
}

func TestDryRunMakesNoMutatingCall(t *testing.T) {
	s, node := session(t), cluster.Workers[1]
	since := time.Now()
	p, err := s.Procedure("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true"})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t), DryRun: true}); err != nil {
		t.Fatal(err)
	}
	evs, err := cluster.AuditEvents(localcluster.MasterAdmin, since)
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	for _, e := range evs {
		if e.Mutating() {
			t.Errorf("dry run made a mutating call: %s %s", e.Verb, e.RequestURI)
		} else {
			reads++
		}
	}
	if reads == 0 {
		t.Fatal("the audit log shows no call by day2 at all: the check proves nothing")
	}
	if unschedulable(t, node) {
		t.Error("dry run cordoned the node")
	}
}
