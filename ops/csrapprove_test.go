package ops

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

const csrTester = "csr-tester"

// csrSession is a cluster-admin session whose journal user is csrTester.
func csrSession(t *testing.T) *Session {
	t.Helper()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(0), Getenv: func(string) string { return "" }, User: csrTester,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func getCSR(t *testing.T, name string) *certv1.CertificateSigningRequest {
	t.Helper()
	c, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// condition is the request's condition of type typ, if any.
func condition(c *certv1.CertificateSigningRequest, typ certv1.RequestConditionType) (certv1.CertificateSigningRequestCondition, bool) {
	for _, cond := range c.Status.Conditions {
		if cond.Type == typ {
			return cond, true
		}
	}
	return certv1.CertificateSigningRequestCondition{}, false
}

// wantDecided checks the request carries day2's condition of typ, naming
// the approver, and, for an approval, an issued certificate.
func wantDecided(t *testing.T, name string, typ certv1.RequestConditionType, reason string) {
	t.Helper()
	c := getCSR(t, name)
	cond, ok := condition(c, typ)
	if !ok || cond.Reason != reason || !strings.Contains(cond.Message, "by "+csrTester) {
		t.Fatalf("csr %s: want condition %s reason %s by %s, have %+v", name, typ, reason, csrTester, c.Status.Conditions)
	}
	if typ == certv1.CertificateApproved && len(c.Status.Certificate) == 0 {
		t.Fatalf("csr %s approved but no certificate issued", name)
	}
}

func wantPending(t *testing.T, name string) {
	t.Helper()
	if c := getCSR(t, name); len(c.Status.Conditions) > 0 {
		t.Fatalf("csr %s should still be pending: %+v", name, c.Status.Conditions)
	}
}

func runCSR(t *testing.T, s *Session, proc string, params map[string]string, op Operator) error {
	t.Helper()
	p, err := s.Procedure(proc, params)
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), p, op, RunOptions{Journal: openJournal(t), User: csrTester})
}

// nodeIPs are a node's addresses as a valid serving request names them.
func nodeIPs(t *testing.T, name string) []string {
	t.Helper()
	n, err := cluster.Client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ips = append(ips, a.Address)
		}
	}
	return ips
}

// The seeded requests, one by one: the valid one is approved on a plain yes
// and its certificate issued; the INVALID one is refused at its check with
// every failed rule, also for a scripted --yes run; the bootstrap request
// for a node that does not exist takes that node's name typed.
func TestCSRApproveGuards(t *testing.T) {
	s := csrSession(t)
	noWatch := map[string]string{"watch": "0"}
	with := func(csr string) map[string]string { return map[string]string{"csr": csr, "watch": "0"} }

	if err := runCSR(t, s, "csr-approve", with(localcluster.ValidCSR), &scripted{answers: []Answer{{Decision: Proceed}}}); err != nil {
		t.Fatal(err)
	}
	wantDecided(t, localcluster.ValidCSR, certv1.CertificateApproved, model.CSRApprovedReason)

	op := &scripted{answers: []Answer{{Decision: Abort}}}
	if err := runCSR(t, s, "csr-approve", with(localcluster.WrongCNCSR), op); !errors.Is(err, ErrAborted) {
		t.Fatalf("approving the INVALID request: %v", err)
	}
	last := op.prompts[len(op.prompts)-1]
	if !strings.Contains(last.Problem, "INVALID") || !strings.Contains(last.Problem, "a node may only ask for its own identity") ||
		slices.Contains(last.Choices, Proceed) || !strings.Contains(strings.Join(last.Plan, "\n"), "csr-deny --csr "+localcluster.WrongCNCSR) {
		t.Fatalf("INVALID request offered as %+v", last)
	}
	var out strings.Builder
	yes := &TextOperator{In: strings.NewReader(""), Out: &out, Yes: true}
	if err := runCSR(t, s, "csr-approve", with(localcluster.WrongCNCSR), yes); !errors.Is(err, ErrAborted) {
		t.Fatalf("approving the INVALID request with --yes: %v\n%s", err, out.String())
	}
	wantPending(t, localcluster.WrongCNCSR)

	// new node?: a bare yes and a wrong word are refused, the node's name
	// approves it.
	op = &scripted{answers: []Answer{{Decision: Proceed}, {Decision: Proceed, Typed: localcluster.ValidCSR}, {Decision: Proceed, Typed: localcluster.NewNodeName}}}
	if err := runCSR(t, s, "csr-approve", with(localcluster.NewNodeCSR), op); err != nil {
		t.Fatal(err)
	}
	if len(op.prompts) != 3 || !op.prompts[0].Step.Destructive || op.prompts[0].Step.Confirm != localcluster.NewNodeName ||
		!strings.Contains(op.prompts[1].Problem, localcluster.NewNodeName) {
		t.Fatalf("new node prompts: %+v", op.prompts)
	}
	wantDecided(t, localcluster.NewNodeCSR, certv1.CertificateApproved, model.CSRApprovedReason)

	if _, err := s.Procedure("csr-approve", noWatch); err == nil {
		t.Fatal("csr-approve without --csr or --all-valid was built")
	}
}

// Deny answers an invalid request; a denied request is never approved
// afterwards.
func TestCSRDeny(t *testing.T) {
	s := csrSession(t)
	ctx := context.Background()
	master := cluster.Masters[0].Name
	// A serving request as infra-1 for a master's address: INVALID.
	if err := cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: "csr-test-deny", Node: cluster.Infra[1], Serving: true, IPs: nodeIPs(t, master)}); err != nil {
		t.Fatal(err)
	}
	if err := runCSR(t, s, "csr-deny", map[string]string{"csr": "csr-test-deny"}, &scripted{answers: []Answer{{Decision: Proceed}}}); err != nil {
		t.Fatal(err)
	}
	wantDecided(t, "csr-test-deny", certv1.CertificateDenied, model.CSRDeniedReason)
	op := &scripted{answers: []Answer{{Decision: Abort}}}
	if err := runCSR(t, s, "csr-approve", map[string]string{"csr": "csr-test-deny", "watch": "0"}, op); !errors.Is(err, ErrAborted) {
		t.Fatal(err)
	}
	if !strings.Contains(op.prompts[0].Problem, "was denied") {
		t.Fatalf("approving a denied request: %q", op.prompts[0].Problem)
	}
}

// followUpOp answers every prompt with proceed, and records whether each
// follow-up request was still pending when its prompt came: nothing is
// approved before the operator's word.
type followUpOp struct {
	scripted
	onFollowUpAsk func(p Prompt)
	onEvent       func(e Event)
}

func (o *followUpOp) Notify(e Event) {
	o.scripted.Notify(e)
	if o.onEvent != nil {
		o.onEvent(e)
	}
}

func (o *followUpOp) Ask(ctx context.Context, p Prompt) (Answer, error) {
	o.prompts = append(o.prompts, p)
	if strings.Contains(p.Step.ID, "csr-follow-ups") && o.onFollowUpAsk != nil {
		o.onFollowUpAsk(p)
	}
	return Answer{Decision: Proceed}, nil
}

// "Approve all valid" lists and approves every valid pending request at
// once (a bootstrap client request of an existing node among them), leaves
// the invalid and new-node ones alone, then sees the serving request the
// node makes once its client certificate is approved, shows it with its
// verdict and approves it only on the operator's word.
func TestCSRApproveAllValidAndFollowUps(t *testing.T) {
	s := csrSession(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	node := cluster.Workers[1]
	client, serving := "csr-test-client-"+node, "csr-test-serving-"+node
	if err := cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: client, Node: node}); err != nil {
		t.Fatal(err)
	}
	// The kubelet: once its client certificate is approved, it asks for a
	// serving one.
	done := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			c, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, client, metav1.GetOptions{})
			if err == nil {
				if _, ok := condition(c, certv1.CertificateApproved); ok {
					done <- cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: serving, Node: node, Serving: true, IPs: nodeIPs(t, node), DNSNames: []string{node}})
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		done <- ctx.Err()
	}()
	var followPlan string
	op := &followUpOp{onFollowUpAsk: func(p Prompt) {
		plan := strings.Join(p.Plan, "\n")
		if strings.Contains(plan, serving) {
			followPlan = plan
			wantPending(t, serving)
		}
	}}
	if err := runCSR(t, s, "csr-approve", map[string]string{"all-valid": "true", "watch": "8s"}, op); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	first := strings.Join(op.prompts[0].Plan, "\n")
	if !strings.Contains(first, "csr "+client+": ") || !strings.Contains(first, "not approved: INVALID requests never are (deny it: day2 run csr-deny --csr "+localcluster.WrongCNCSR+")") {
		t.Fatalf("approve-all plan:\n%s", first)
	}
	if !strings.Contains(followPlan, "csr "+serving+": "+model.SignerKubeletServing) || !strings.Contains(followPlan, "verdict valid") {
		t.Fatalf("the follow-up request was not shown with its verdict:\n%s", followPlan)
	}
	wantDecided(t, client, certv1.CertificateApproved, model.CSRApprovedReason)
	wantDecided(t, serving, certv1.CertificateApproved, model.CSRApprovedReason)
	wantPending(t, localcluster.WrongCNCSR)
}

// An operator without the right to approve is told which rights are
// missing before anything is planned, and the request stays pending.
func TestCSRApproveForbidden(t *testing.T) {
	grant(t, "day2-csr-reader", "day2-test-csr-read", []rbacv1.PolicyRule{
		{Verbs: []string{"get", "list", "watch"}, APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}},
		{Verbs: []string{"update"}, APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}},
	})
	s := sessionAs(t, "day2-csr-reader")
	if err := cluster.CreateNodeCSR(context.Background(), localcluster.NodeCSR{Name: "csr-test-forbidden", Node: cluster.Workers[2]}); err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{{Decision: Abort}}}
	if err := runCSR(t, s, "csr-approve", map[string]string{"csr": "csr-test-forbidden", "watch": "0"}, op); !errors.Is(err, ErrAborted) {
		t.Fatal(err)
	}
	if p := op.prompts[0].Problem; !strings.Contains(p, "may not approve signers.certificates.k8s.io") {
		t.Fatalf("blocked with %q", p)
	}
	wantPending(t, "csr-test-forbidden")

	// Past day2's own pre-check, the API server's refusal names the signer.
	api, err := kube.NewCSRAPI(s.client)
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.Decide(context.Background(), "csr-test-forbidden", true, "day2-csr-reader", nil)
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "signer") {
		t.Fatalf("approve without the signer's right: %v", err)
	}
	wantPending(t, "csr-test-forbidden")
}

// askThen runs do at the first prompt, then answers as scripted.
type askThen struct {
	scripted
	do   func()
	done bool
}

func (a *askThen) Ask(ctx context.Context, p Prompt) (Answer, error) {
	if !a.done {
		a.done = true
		a.do()
	}
	return a.scripted.Ask(ctx, p)
}

// The request is validated again right before the approval: one planned
// valid whose node is gone by the time the operator says yes is not
// approved, and the step says why.
func TestCSRApproveRevalidates(t *testing.T) {
	s := csrSession(t)
	ctx := context.Background()
	const node, ip = "csr-tmp-node.example.com", "192.0.2.250"
	if _, err := cluster.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}) })
	// The node controllers taint a new node at once: update what is there.
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := cluster.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
		_, err = cluster.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: "csr-test-revalidate", Node: node, Serving: true, IPs: []string{ip}}); err != nil {
		t.Fatal(err)
	}
	op := &askThen{scripted: scripted{answers: []Answer{{Decision: Proceed}, {Decision: Abort}}}, do: func() {
		if err := cluster.Client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{}); err != nil {
			t.Error(err)
		}
	}}
	if err := runCSR(t, s, "csr-approve", map[string]string{"csr": "csr-test-revalidate", "watch": "0"}, op); !errors.Is(err, ErrAborted) {
		t.Fatal(err)
	}
	if plan := strings.Join(op.prompts[0].Plan, "\n"); !strings.Contains(plan, "verdict valid") {
		t.Fatalf("planned as:\n%s", plan)
	}
	if p := op.prompts[1].Problem; !strings.Contains(p, "INVALID") || !strings.Contains(p, "no node named "+node) {
		t.Fatalf("approval after the node went: %q", p)
	}
	wantPending(t, "csr-test-revalidate")
}
