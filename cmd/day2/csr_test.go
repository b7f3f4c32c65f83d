package main

import (
	"context"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/localcluster"
)

func csrCondition(t *testing.T, name string) string {
	t.Helper()
	c, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var conds []string
	for _, cond := range c.Status.Conditions {
		conds = append(conds, string(cond.Type))
	}
	if len(c.Status.Certificate) > 0 {
		conds = append(conds, "Issued")
	}
	return strings.Join(conds, ",")
}

// `day2 run csr-approve --all-valid --yes` approves the valid requests it
// lists, then watches: the requests that follow are shown with their
// verdicts and, with --yes, only the valid ones are approved; a "new
// node?" one among them waits for csr-approve --csr and the typed name.
func TestRunCSRApproveAllValidYes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	node := cluster.Workers[1]
	client, serving, stranger := "csr-cli-client", "csr-cli-serving", "csr-cli-new-node"
	if err := cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: client, Node: node}); err != nil {
		t.Fatal(err)
	}
	n, err := cluster.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			ips = append(ips, a.Address)
		}
	}
	followed := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if strings.Contains(csrCondition(t, client), "Approved") {
				err := cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: serving, Node: node, Serving: true, IPs: ips})
				if err == nil {
					err = cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: stranger, Node: "node-stranger.example.com"})
				}
				followed <- err
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		followed <- ctx.Err()
	}()
	out, err := day2(t, t.TempDir(), "run", "csr-approve", "--all-valid", "--watch", "6s", "--yes").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{"csr " + client + ": ", "not approved: INVALID requests never are (deny it: day2 run csr-deny --csr " + localcluster.WrongCNCSR + ")",
		"csr " + serving + ": kubernetes.io/kubelet-serving", "csr " + stranger + ": ", "verdict new node?", "not approved here: new node? needs a typed word"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	for name, want := range map[string]string{client: "Approved,Issued", serving: "Approved,Issued", stranger: "", localcluster.WrongCNCSR: ""} {
		if got := csrCondition(t, name); got != want {
			t.Errorf("csr %s is %q, want %q", name, got, want)
		}
	}
	c, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, serving, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cond := c.Status.Conditions[0]; cond.Type != certv1.CertificateApproved || cond.Reason != "Day2Approved" || !strings.Contains(cond.Message, "with day2 (verdict valid)") {
		t.Errorf("approval recorded as %+v", cond)
	}

	help, err := day2(t, t.TempDir(), "run", "--help").CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"csr-approve", "--all-valid", "csr-deny", "recover-expired-certs", "--watch"} {
		if !strings.Contains(string(help), want) {
			t.Errorf("run --help lacks %q", want)
		}
	}
}
