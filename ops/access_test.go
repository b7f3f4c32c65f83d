package ops

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// grant binds user to a ClusterRole cluster-wide: an existing one (view),
// or one made of exactly rules.
func grant(t *testing.T, user, role string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx, rbac := context.Background(), cluster.Client.RbacV1()
	if rules != nil {
		if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: role}, Rules: rules}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rbac.ClusterRoles().Delete(ctx, role, metav1.DeleteOptions{}) })
	}
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: user + "-" + role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rbac.ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{}) })
}

// rulesFor is the ClusterRole granting exactly rights (all cluster-wide
// here: the tests bind it with a ClusterRoleBinding).
func rulesFor(rights []model.Right) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, r := range rights {
		res := r.Resource
		if r.Subresource != "" {
			res += "/" + r.Subresource
		}
		rules = append(rules, rbacv1.PolicyRule{Verbs: []string{r.Verb}, APIGroups: []string{r.Group}, Resources: []string{res}})
	}
	return rules
}

// sessionAs is a session on master-0 acting as user (impersonated).
func sessionAs(t *testing.T, user string) *Session {
	t.Helper()
	s, err := NewSession(SessionOptions{Kubeconfig: kubeconfigAs(t, user), HostRoot: cluster.HostRoot(0), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func names(rs []model.Right) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	slices.Sort(out)
	return out
}

// An operator with the view role only, and one who may read and patch
// nodes but not evict: before anything is offered and again before the
// first step, day2 names exactly the rights missing; the run is blocked at
// its first step and the API sees no change made as either of them.
func TestPrechecksNameMissingRights(t *testing.T) {
	grant(t, "day2-viewer", "view", nil)
	grant(t, "day2-node-operator", "day2-test-nodes", []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "patch"}, APIGroups: []string{""}, Resources: []string{"nodes"}}})
	node := cluster.Workers[0]
	const listCOs = "list clusteroperators.config.openshift.io"
	viewerDrain := []string{"create pods/eviction in all namespaces", "get nodes", "list nodes", "patch nodes"}
	csr := []string{"approve signers.certificates.k8s.io", "get certificatesigningrequests.certificates.k8s.io",
		"list certificatesigningrequests.certificates.k8s.io", "update certificatesigningrequests.certificates.k8s.io/approval"}
	operatorDrain := []string{"create pods/eviction in all namespaces", "get daemonsets.apps in all namespaces", "get pods in all namespaces",
		"get poddisruptionbudgets.policy in all namespaces", "list poddisruptionbudgets.policy in all namespaces", "list pods in all namespaces"}
	// What each may not do, by procedure. Of OpenShift's groups the local
	// cluster serves config.openshift.io (ClusterOperators) only, so the
	// rights in the others are not asked for.
	for _, tc := range []struct {
		user    string
		missing map[string][]string
	}{
		{"day2-viewer", map[string][]string{
			"drain": viewerDrain, "cordon": {"get nodes", "patch nodes"}, "uncordon": {"get nodes", "patch nodes"},
			"deprecate-master":    append(slices.Clone(viewerDrain), "delete nodes", listCOs),
			"decommission":        append(slices.Clone(viewerDrain), "delete nodes", "patch deployments.apps in default"),
			"etcd-replace-member": {"get nodes", listCOs},
			"etcd-backup":         {listCOs}, "etcd-add-member": {listCOs}, "etcd-remove-member": {listCOs},
			"csr-approve": csr, "csr-deny": csr, "recover-expired-certs": append(slices.Clone(csr), "list nodes"),
			"cluster-shutdown": {"get nodes", "list nodes", "patch nodes", listCOs, "get secrets in openshift-kube-apiserver-operator"},
			"cluster-restart":  append([]string{"get nodes", "list nodes", "patch nodes", listCOs}, csr...),
			"host-backup":      {"list nodes"}, "host-restore": {"list nodes"}, "registry-trust": {"list nodes"},
			"registries-edit": {"list nodes"}, // and the drain's with --drain: TestRightsOfARunFollowItsParameters
		}},
		{"day2-node-operator", map[string][]string{
			"drain":               operatorDrain,
			"deprecate-master":    append(slices.Clone(operatorDrain), "delete nodes", "get endpoints in default", listCOs),
			"decommission":        append(slices.Clone(operatorDrain), "delete nodes", "get deployments.apps in default", "patch deployments.apps in default"),
			"etcd-replace-member": {"get pods in openshift-etcd", listCOs},
			"etcd-restore":        {"list namespaces"}, "etcd-recover-quorum": {"list namespaces"},
			"project-backup": {"get namespaces"}, "project-restore": {"get namespaces"},
			"etcd-backup": {listCOs}, "etcd-add-member": {listCOs}, "etcd-remove-member": {listCOs},
			"csr-approve": csr, "csr-deny": csr, "recover-expired-certs": csr,
			"cluster-shutdown": {listCOs, "get secrets in openshift-kube-apiserver-operator"},
			"cluster-restart":  append([]string{listCOs, "get deployments.apps in default", "list pods in default"}, csr...),
		}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			s := sessionAs(t, tc.user)
			since := time.Now()
			ctx := context.Background()

			// What the console is told before it offers anything.
			acc := s.ProcedureAccess(ctx)
			if acc.Err != "" {
				t.Fatal(acc.Err)
			}
			for _, name := range ProcedureNames() {
				w := slices.Sorted(slices.Values(tc.missing[name]))
				if got := names(acc.Missing[name]); !slices.Equal(got, w) {
					t.Errorf("%s missing %q, want %q", name, got, w)
				}
			}

			// The pre-check blocks the first step and names the same rights.
			p, err := s.Procedure("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true"})
			if err != nil {
				t.Fatal(err)
			}
			op := &scripted{answers: []Answer{{Decision: Abort}}}
			if err := Run(ctx, p, op, RunOptions{Journal: openJournal(t)}); !errors.Is(err, ErrAborted) {
				t.Fatalf("run: %v", err)
			}
			if len(op.prompts) != 1 || op.prompts[0].Step.ID != "preflight" {
				t.Fatalf("want one prompt, at the first step: %+v", op.prompts)
			}
			problem := op.prompts[0].Problem
			if problem != "check: "+model.MissingRightsText(acc.Missing["drain"]) {
				t.Errorf("blocked with %q", problem)
			}
			for _, r := range tc.missing["drain"] {
				if !strings.Contains(problem, r) {
					t.Errorf("the pre-check does not name %q: %s", r, problem)
				}
			}
			if !slices.Equal(op.prompts[0].Choices, []Decision{Retry, Abort}) {
				t.Errorf("a blocked pre-check offers %v", op.prompts[0].Choices)
			}

			evs, err := cluster.AuditEvents(tc.user, since)
			if err != nil {
				t.Fatal(err)
			}
			reviews := 0
			for _, e := range evs {
				if e.Mutating() {
					t.Errorf("%s changed something: %s %s", tc.user, e.Verb, e.RequestURI)
				}
				if e.ObjectRef != nil && e.ObjectRef.Resource == "selfsubjectaccessreviews" {
					reviews++
				}
			}
			if reviews == 0 {
				t.Fatal("the audit log shows no access review as this user: the check proves nothing")
			}
			if unschedulable(t, node) {
				t.Errorf("%s was cordoned", node)
			}
		})
	}
}

// A user granted exactly the drain's rights drains a node: the list is
// complete (a right the steps use but the list lacks would fail the run).
func TestDrainWithExactlyItsRights(t *testing.T) {
	grant(t, "day2-drainer", "day2-test-drain", rulesFor(ProcedureRights("drain")))
	s, node := sessionAs(t, "day2-drainer"), frontendNode(t)
	if acc := s.ProcedureAccess(context.Background()); acc.Refusal("drain") != "" || acc.Refusal("cordon") != "" || acc.Refusal("decommission") == "" {
		t.Errorf("access: %+v", acc)
	}
	p, err := s.Procedure("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true"})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed, Typed: node}}}
	err = Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)})
	t.Cleanup(func() { uncordon(t, session(t), node) })
	if err != nil {
		t.Fatalf("drain as a user with exactly its rights: %v (prompts %+v)", err, op.prompts)
	}
	for _, pr := range op.prompts {
		if pr.Problem != "" {
			t.Errorf("step %s: %s", pr.Step.ID, pr.Problem)
		}
	}
}

// etcd procedures that write first prove etcd accepts day2's client
// certificate: with one from another CA the first step is blocked and says
// so, before anything is planned against the members.
func TestEtcdPrecheckRejectsAForeignCertificate(t *testing.T) {
	pki := filepath.Join(cluster.Dir, "pki")
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig), HostRoot: cluster.HostRoot(0),
		EtcdEndpoints: cluster.EtcdEndpoints(), EtcdCACert: cluster.EtcdCA,
		// The API server's serving pair: signed by the cluster CA, which
		// etcd does not trust.
		EtcdCert: filepath.Join(pki, "apiserver.crt"), EtcdKey: filepath.Join(pki, "apiserver.key"),
		Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Procedure("etcd-defrag", nil)
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{{Decision: Abort}}}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); !errors.Is(err, ErrAborted) {
		t.Fatalf("run: %v", err)
	}
	if len(op.prompts) != 1 || op.prompts[0].Index != 0 || !strings.Contains(op.prompts[0].Problem, "etcd does not accept day2's client certificate "+filepath.Join(pki, "apiserver.crt")) {
		t.Errorf("prompts: %+v", op.prompts)
	}
	// The master's own certificate is accepted: the same procedure passes
	// its pre-check (a dry run shows the first step unblocked).
	op = &scripted{}
	if err := Run(context.Background(), mustProcedure(t, session(t), "etcd-defrag"), op, RunOptions{Journal: openJournal(t), DryRun: true}); err != nil {
		t.Fatal(err)
	}
	for _, e := range op.events {
		if e.Index == 0 && e.State == StatePlanned && e.Message != "" {
			t.Errorf("admin's dry run: first step says %q", e.Message)
		}
	}
}

func mustProcedure(t *testing.T, s *Session, name string) *Procedure {
	t.Helper()
	p, err := s.Procedure(name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The rights lists as data: the procedures built on the drain ask for its
// rights too, and the etcd procedures that change membership or data
// through the etcd API check the certificate first.
func TestProcedureRightsCompose(t *testing.T) {
	for _, name := range []string{"decommission", "deprecate-master"} {
		for _, r := range drainRights {
			if !slices.Contains(ProcedureRights(name), r) {
				t.Errorf("%s lacks the drain's %q", name, r)
			}
		}
		if !slices.Contains(ProcedureRights(name), model.Right{Verb: "delete", Resource: "nodes"}) {
			t.Errorf("%s deletes the Node but does not ask for it", name)
		}
	}
	for _, name := range []string{"etcd-add-member", "etcd-remove-member", "etcd-replace-member", "etcd-defrag", "deprecate-master", "cluster-shutdown"} {
		if !catalog[name].etcdAccess {
			t.Errorf("%s writes to etcd without checking the certificate first", name)
		}
	}
	// Restoring and restarting work while etcd (and so the API) may be
	// down: no etcd read first.
	for _, name := range []string{"etcd-restore", "etcd-recover-quorum", "etcd-verify-snapshot", "cluster-restart"} {
		if catalog[name].etcdAccess {
			t.Errorf("%s would be blocked by an etcd that does not answer", name)
		}
	}
}

// The runner asks the pre-check before the first step's own check, blocks
// that step while it fails (retry asks again), and once it passed never
// again in the run.
func TestPrecheckBlocksTheFirstStepUntilItPasses(t *testing.T) {
	w := newWorld()
	p := w.proc()
	calls := 0
	p.Precheck = func(context.Context) error {
		calls++
		if calls == 1 {
			return errors.New("your credentials may not patch nodes")
		}
		return nil
	}
	op := &scripted{answers: []Answer{{Decision: Retry}, {Decision: Proceed}, {Decision: Proceed}, {Decision: Proceed, Typed: "node-1"}}}
	j := openJournal(t)
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || op.prompts[0].Problem != "check: your credentials may not patch nodes" || op.prompts[1].Problem != "" {
		t.Errorf("pre-check called %d times; prompts %+v", calls, op.prompts)
	}
	if !slices.Equal(w.ran, []string{"first", "optional", "delete"}) {
		t.Errorf("ran %v", w.ran)
	}
	recs, _ := readOnly(t, j)
	if recs[1].Step != "first" || recs[1].Outcome != model.OutcomeBlocked || !strings.Contains(recs[1].Error, "patch nodes") {
		t.Errorf("the block is not journaled at the first step: %+v", recs[1])
	}
}

// A right only a parameter uses is asked for only when it is given: an
// operator who may list and patch nodes but not evict runs registries-edit
// (it is offered and its pre-check passes), and is refused with --drain,
// by the eviction right named.
func TestRightsOfARunFollowItsParameters(t *testing.T) {
	grant(t, "day2-registry-editor", "day2-test-registry-editor", []rbacv1.PolicyRule{{Verbs: []string{"get", "list", "patch"}, APIGroups: []string{""}, Resources: []string{"nodes"}}})
	s, ctx := sessionAs(t, "day2-registry-editor"), context.Background()
	if why := s.ProcedureAccess(ctx).Refusal("registries-edit"); why != "" {
		t.Errorf("registries-edit not offered: %s", why)
	}
	params := map[string]string{"hosts": cluster.Workers[0], "add-search": "registry.example.com:5000"}
	p, err := s.Procedure("registries-edit", params)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Precheck(ctx); err != nil {
		t.Errorf("without --drain: %v", err)
	}
	params["drain"] = "true"
	if p, err = s.Procedure("registries-edit", params); err != nil {
		t.Fatal(err)
	}
	if err := p.Precheck(ctx); err == nil || !strings.Contains(err.Error(), "create pods/eviction in all namespaces") {
		t.Errorf("with --drain: %v", err)
	}
}
