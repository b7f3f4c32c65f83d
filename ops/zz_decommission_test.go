package ops

// This file's name sorts last on purpose: its tests delete nodes (and
// deprecate-master an etcd member) of the package's shared cluster, and go
// test runs files in name order, so every other test meets the cluster whole.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// Decommission an infra node end to end (seed 003 §5.3.1), including the
// haproxy edit and restart on the inventory's load balancer host (master-0)
// over SSH.
func TestDecommissionInfraNode(t *testing.T) {
	s, node := sshSessionOn(t, cluster), cluster.Infra[2]
	cfgPath := filepath.Join(cluster.HostRoot(0), "etc/haproxy/haproxy.cfg")
	before, err := os.ReadFile(cfgPath)
	if err != nil || !strings.Contains(string(before), "backend atomic-openshift-api") {
		t.Fatalf("seeded haproxy.cfg (openshift-ansible's form): %v", err)
	}
	p, err := s.Procedure("decommission", map[string]string{"node": node})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{
		{Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed, Typed: node}, // preflight, cordon, evict
		{Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed}, // scale, haproxy, restart
		{Decision: Proceed}, {Decision: Proceed, Typed: node}, // verify-empty, delete
	}}
	j := openJournal(t)
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); err != nil {
		t.Fatalf("%v (prompts: %d)", err, len(op.prompts))
	}

	// The haproxy plan was the exact diff; the file lost only that node.
	var haproxyPlan []string
	for _, pr := range op.prompts {
		if pr.Step.ID == "haproxy" {
			haproxyPlan = pr.Plan
		}
	}
	plan := strings.Join(haproxyPlan, "\n")
	if !strings.HasPrefix(plan, "edit /etc/haproxy/haproxy.cfg on master-0.example.com ") {
		t.Errorf("the haproxy edit is not made over SSH on the [lb] host:\n%s", plan)
	}
	for _, pr := range op.prompts {
		if pr.Step.ID == "haproxy-restart" && pr.Step.Manual {
			t.Error("haproxy-restart is manual although the load balancer host is reachable")
		}
	}
	if log, err := os.ReadFile(filepath.Join(cluster.HostRoot(0), localcluster.SimLog)); err != nil || !strings.Contains(string(log), "systemctl restart haproxy") {
		t.Errorf("haproxy was not restarted on master-0: %v\n%s", err, log)
	}
	// openshift-ansible-style names: router2 is the node only by its address.
	removed := []string{"    server router2 127.0.20.3:80 check", "    server router2 127.0.20.3:443 check"}
	for _, l := range removed {
		if !strings.Contains(plan, "-"+l) {
			t.Errorf("haproxy plan must show the diff:\n%s", plan)
		}
	}
	after, _ := os.ReadFile(cfgPath)
	if want := strings.Replace(strings.Replace(string(before), removed[0]+"\n", "", 1), removed[1]+"\n", "", 1); want != string(after) {
		t.Errorf("haproxy.cfg changed beyond the two lines:\n%s", after)
	}
	backups, _ := filepath.Glob(cfgPath + ".day2-*.bak")
	if len(backups) != 1 {
		t.Fatalf("want one backup beside haproxy.cfg, got %v", backups)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != string(before) {
		t.Error("the backup must hold the original")
	}

	// The node is gone, and the infra services are one replica smaller.
	if _, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("node %s still there: %v", node, err)
	}
	for _, name := range []string{"router", "docker-registry"} {
		d, err := cluster.Client.AppsV1().Deployments("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || *d.Spec.Replicas != 2 {
			t.Errorf("%s replicas: %v %v", name, d.Spec.Replicas, err)
		}
	}
	_, sum := readOnly(t, j)
	if !sum.Finished || sum.Outcome != model.OutcomeOK || len(sum.Steps) != 8 {
		t.Fatalf("journal: %+v", sum)
	}
}

// A master is refused at the first step, pointing to deprecate-master;
// nothing is cordoned.
func TestDecommissionRefusesAMaster(t *testing.T) {
	s, master := session(t), cluster.Masters[0].Name
	before := unschedulable(t, master)
	p, err := s.Procedure("decommission", map[string]string{"node": master, "delete-emptydir-data": "true", "force": "true"})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{{Decision: Abort}}}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); !errors.Is(err, ErrAborted) {
		t.Fatalf("want aborted, got %v", err)
	}
	if len(op.prompts) != 1 || op.prompts[0].Step.ID != "preflight" || !strings.Contains(op.prompts[0].Problem, "use deprecate-master") || allowed(Proceed, op.prompts[0].Choices) {
		t.Fatalf("a master must be refused at the preflight: %+v", op.prompts)
	}
	if unschedulable(t, master) != before {
		t.Fatal("the master's schedulability changed")
	}
}

// On a worker the infra-only steps skip themselves, and say why.
func TestDecommissionSkipsInfraStepsOnAWorker(t *testing.T) {
	s := session(t)
	p, err := s.Procedure("decommission", map[string]string{"node": cluster.Workers[2], "delete-emptydir-data": "true", "force": "true"})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t), DryRun: true}); err != nil {
		t.Fatal(err)
	}
	skipped := map[string]string{}
	for _, e := range op.events {
		if e.State == StateSkipped {
			skipped[e.Step] = e.Message
		}
	}
	for _, id := range []string{"scale-infra", "haproxy", "haproxy-restart"} {
		if !strings.Contains(skipped[id], "is not an infra node") {
			t.Errorf("%s on a worker: %q", id, skipped[id])
		}
	}
	if _, ok := skipped["delete-node"]; ok {
		t.Error("delete-node applies to every node")
	}
}

// On OpenShift 3.11 the router and registry are DeploymentConfigs: the
// scale-infra step finds and scales those, not Deployments.
func TestScaleInfraScalesDeploymentConfigs(t *testing.T) {
	ctx := context.Background()
	s := session(t)
	if err := cluster.InstallDeploymentConfigAPI(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.RemoveDeploymentConfigAPI(context.Background()) })
	for _, name := range []string{"docker-registry", "router"} {
		if err := cluster.CreateDeploymentConfig(ctx, "default", name, map[string]string{"app": name}, 3, 3, 3); err != nil {
			t.Fatal(err)
		}
	}
	infra := func(context.Context) (bool, string) { return true, "" }
	st := scaleInfraStep(s, cluster.Infra[0], infra)
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
	plan, err := st.Plan(ctx)
	// One replica per schedulable infra node left (the decommission test may
	// have deleted one already).
	left := 0
	for _, n := range cluster.Infra[1:] {
		if node, err := cluster.Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{}); err == nil && !node.Spec.Unschedulable {
			left++
		}
	}
	want := fmt.Sprintf(`{"spec":{"replicas":%d}}`, left)
	if err != nil || len(plan) != 2 || !strings.Contains(plan[0], "/apis/apps.openshift.io/v1/namespaces/default/deploymentconfigs/docker-registry") ||
		!strings.Contains(plan[0], want) {
		t.Fatalf("plan %q, %v", plan, err)
	}
	if err := st.Verify(ctx); err == nil {
		t.Error("verify passed before scaling")
	}
	before, err := cluster.Client.AppsV1().Deployments("default").Get(ctx, "router", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Run(ctx, func(string) {}); err != nil {
		t.Fatal(err)
	}
	if err := st.Verify(ctx); err != nil {
		t.Error(err)
	}
	after, err := cluster.Client.AppsV1().Deployments("default").Get(ctx, "router", metav1.GetOptions{})
	if err != nil || *after.Spec.Replicas != *before.Spec.Replicas {
		t.Errorf("the router Deployment must be left alone when DeploymentConfigs run it: %v", err)
	}
}

// sessionAt is a console whose host root is master i's.
func sessionAt(t *testing.T, i int) *Session {
	t.Helper()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(i), Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.poller != nil {
		t.Cleanup(s.poller.Close)
	}
	return s
}

// procStep is the step id of the procedure built with params.
func procStep(t *testing.T, s *Session, name string, params map[string]string, id string) *Step {
	t.Helper()
	p, err := s.Procedure(name, params)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range p.Steps {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("%s has no step %s", name, id)
	return nil
}

// The load balancer step of decommission and deprecate-master on master-1's
// hand-built haproxy.cfg (listen sections, masters by FQDN, routers by
// short name, one without a port): exactly the node's lines go, and the
// node-exporter server at the same short name stays.
func TestHAProxyStepOnListenSections(t *testing.T) {
	s := sessionAt(t, 1)
	cfgPath := filepath.Join(cluster.HostRoot(1), localcluster.HAProxyConfigPath)
	for _, c := range []struct {
		proc, node string
		params     map[string]string
		removed    []string
	}{
		{"decommission", cluster.Infra[1], nil, []string{"    server router-b infra-1 check", "    server router-b infra-1:443 check"}},
		{"deprecate-master", cluster.Masters[0].Name, map[string]string{"master-root": cluster.Masters[0].Root}, []string{"    server api-a master-0.example.com:8443 check inter 5s"}},
	} {
		before, err := os.ReadFile(cfgPath)
		if err != nil || !strings.Contains(string(before), "listen openshift-api") {
			t.Fatalf("master-1's haproxy.cfg (listen sections): %v", err)
		}
		params := map[string]string{"node": c.node}
		for k, v := range c.params {
			params[k] = v
		}
		step := procStep(t, s, c.proc, params, "haproxy")
		op := &auto{}
		if err := Run(context.Background(), &Procedure{Name: c.proc, Steps: []*Step{step}}, op, RunOptions{Journal: openJournal(t)}); err != nil {
			t.Fatalf("%s haproxy step: %v", c.proc, err)
		}
		if step.Manual {
			t.Errorf("%s: the step went manual with the node's servers here", c.proc)
		}
		plan := strings.Join(op.prompts[0].Plan, "\n")
		after, _ := os.ReadFile(cfgPath)
		want := string(before)
		for _, l := range c.removed {
			if !strings.Contains(plan, "\n-"+l+"\n") {
				t.Errorf("%s plan must show %q:\n%s", c.proc, l, plan)
			}
			want = strings.Replace(want, l+"\n", "", 1)
		}
		if want != string(after) {
			t.Errorf("%s: haproxy.cfg changed beyond %q:\n%s", c.proc, c.removed, after)
		}
		if !strings.Contains(string(after), "    server infra-1 infra-1:9100 check") {
			t.Error("the node-exporter server must stay")
		}
	}
}

// Where this host's haproxy.cfg does not send to the node (master-2 has
// none; master-0's sends nothing to a master's router ports), the step is
// manual and says why, never a silent "done".
func TestHAProxyStepManualWhenNothingMatches(t *testing.T) {
	for _, c := range []struct {
		root int
		proc string
		node string
		why  string
	}{
		{2, "decommission", cluster.Infra[0], "there is no /etc/haproxy/haproxy.cfg under " + cluster.HostRoot(2)},
		{0, "deprecate-master", cluster.Workers[0], "has no server at " + cluster.Workers[0]},
	} {
		s := sessionAt(t, c.root)
		step := procStep(t, s, c.proc, map[string]string{"node": c.node}, "haproxy")
		before, _ := os.ReadFile(filepath.Join(cluster.HostRoot(c.root), localcluster.HAProxyConfigPath))
		if err := step.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		plan, _ := step.Plan(context.Background())
		if !step.Manual || !strings.HasPrefix(plan[0], "MANUAL: nothing is removed here: ") || !strings.Contains(plan[0], c.why) || !strings.Contains(plan[1], "on the load balancer host") {
			t.Errorf("%s %s: manual %v, plan %q", c.proc, c.node, step.Manual, plan)
		}
		var progress []string
		if err := step.Run(context.Background(), func(m string) { progress = append(progress, m) }); err != nil || len(progress) != 1 || !strings.HasPrefix(progress[0], "manual: ") {
			t.Errorf("run: %v %q", err, progress)
		}
		if after, _ := os.ReadFile(filepath.Join(cluster.HostRoot(c.root), localcluster.HAProxyConfigPath)); string(after) != string(before) {
			t.Error("a manual step must not edit this host's file")
		}
	}
}
