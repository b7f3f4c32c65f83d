package kube

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"
	certv1beta1 "k8s.io/api/certificates/v1beta1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// impersonating is a client acting as user (the harness admin may
// impersonate anyone).
func impersonating(t *testing.T, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	cfg := rest.CopyConfig(cluster.RestConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func csrByName(cs model.CSRs, name string) (model.CSR, bool) {
	for _, c := range cs.Items {
		if c.Name == name {
			return c, true
		}
	}
	return model.CSR{}, false
}

// checkSeededCSRs: the local cluster's valid request is valid, the one
// with a wrong CN invalid, and the bootstrap request for a node that has
// not registered is a new node.
func checkSeededCSRs(t *testing.T, cs model.CSRs) {
	t.Helper()
	valid, ok1 := csrByName(cs, localcluster.ValidCSR)
	wrong, ok2 := csrByName(cs, localcluster.WrongCNCSR)
	newNode, ok3 := csrByName(cs, localcluster.NewNodeCSR)
	if !ok1 || !ok2 || !ok3 {
		t.Fatalf("seeded requests missing from %+v", cs)
	}
	node0 := cluster.Workers[0]
	if valid.Verdict.Kind != model.CSRValid || valid.Requester != "system:node:"+node0 || valid.Signer != model.SignerKubeletServing ||
		valid.Condition() != "Pending" || valid.Request.CommonName != "system:node:"+node0 ||
		strings.Join(valid.Request.DNSNames, ",") != node0 || len(valid.Request.IPAddresses) != 1 || valid.Created.IsZero() {
		t.Errorf("valid request: %+v", valid)
	}
	if wrong.Verdict.Kind != model.CSRInvalid || !strings.Contains(strings.Join(wrong.Verdict.Reasons, "\n"), "a node may only ask for its own identity") {
		t.Errorf("wrong-CN request: %+v", wrong)
	}
	if newNode.Verdict.Kind != model.CSRNewNode || !newNode.Pending() || !strings.HasSuffix(newNode.Requester, ":openshift-infra:node-bootstrapper") {
		t.Errorf("new-node request: %+v", newNode)
	}
}

// newRequest makes a PEM request for a kubelet serving certificate.
func newRequest(t *testing.T, cn string, dns ...string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn, Organization: []string{model.NodesGroup}}, DNSNames: dns,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestCSRWatcher(t *testing.T) {
	ch, nodes := watcher(t)
	until(t, ch, "nodes synced", func(n model.Nodes) bool { return n.Synced })
	w := NewCSRWatcher(cluster.Client, nodes)
	w.MinInterval = 50 * time.Millisecond
	snaps := make(chan model.CSRs, 100)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		if err := w.Run(ctx, func(c model.CSRs) { snaps <- c }); err != nil {
			t.Error(err)
		}
	}()
	next := func(what string, cond func(model.CSRs) bool) model.CSRs {
		t.Helper()
		timeout := time.After(30 * time.Second)
		var last model.CSRs
		for {
			select {
			case last = <-snaps:
				if cond(last) {
					return last
				}
			case <-timeout:
				t.Fatalf("%s: last snapshot %+v", what, last)
			}
		}
	}
	checkSeededCSRs(t, next("seeded requests", func(c model.CSRs) bool { return c.Synced && len(c.Items) >= 3 }))

	// The cache keeps decoded entries, not the PEM.
	w.mu.Lock()
	store := w.csrs.GetStore()
	w.mu.Unlock()
	for _, obj := range store.List() {
		if _, ok := obj.(*csrEntry); !ok {
			t.Fatalf("cache holds %T, not a trimmed entry", obj)
		}
	}

	// A new request shows up; once approved, the controller manager signs
	// it and the condition follows.
	node1 := cluster.Workers[1%len(cluster.Workers)]
	name := "csr-test-watch"
	csr := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: certv1.CertificateSigningRequestSpec{Request: newRequest(t, "system:node:"+node1, node1), SignerName: certv1.KubeletServingSignerName,
			Usages: []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageServerAuth}},
	}
	as := impersonating(t, "system:node:"+node1, "system:nodes")
	if _, err := as.CertificatesV1().CertificateSigningRequests().Create(ctx, csr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	got, _ := csrByName(next("new request", func(c model.CSRs) bool { _, ok := csrByName(c, name); return ok }), name)
	if got.Verdict.Kind != model.CSRValid || got.Condition() != "Pending" {
		t.Fatalf("new request: %+v", got)
	}
	live, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Status.Conditions = append(live.Status.Conditions, certv1.CertificateSigningRequestCondition{
		Type: certv1.CertificateApproved, Status: corev1.ConditionTrue, Reason: "Day2Test", Message: "approved by the test",
	})
	if _, err := cluster.Client.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, name, live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	got, _ = csrByName(next("approved and issued", func(c model.CSRs) bool {
		r, ok := csrByName(c, name)
		return ok && r.Issued
	}), name)
	if got.Condition() != "Approved,Issued" || got.Message != "Day2Test: approved by the test" {
		t.Fatalf("approved request: condition %q message %q", got.Condition(), got.Message)
	}

	if err := cluster.Client.CertificatesV1().CertificateSigningRequests().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next("deleted request gone", func(c model.CSRs) bool { _, ok := csrByName(c, name); return !ok })
}

// OpenShift 3.11 serves only v1beta1, whose requests name no signer and
// whose conditions have no status: the signer is inferred and a listed
// condition is in force. (The local cluster serves v1 only, so this is read
// from objects as 3.11 returns them.)
func TestCSRFromV1beta1(t *testing.T) {
	node1 := cluster.Workers[0]
	o := &certv1beta1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "csr-x7k2q"},
		Spec: certv1beta1.CertificateSigningRequestSpec{
			Request: newRequest(t, "system:node:"+node1, node1), Username: "system:node:" + node1,
			Usages: []certv1beta1.KeyUsage{certv1beta1.UsageDigitalSignature, certv1beta1.UsageKeyEncipherment, certv1beta1.UsageServerAuth},
		},
		Status: certv1beta1.CertificateSigningRequestStatus{
			Conditions:  []certv1beta1.CertificateSigningRequestCondition{{Type: certv1beta1.CertificateApproved, Reason: "AutoApproved"}},
			Certificate: []byte("issued"),
		},
	}
	entry, err := trimCSR(o)
	if err != nil {
		t.Fatal(err)
	}
	c := entry.(*csrEntry).csr
	if c.Signer != model.SignerKubeletServing || !c.SignerInferred || c.Condition() != "Approved,Issued" || c.Message != "AutoApproved" {
		t.Fatalf("from v1beta1: %+v", c)
	}
	signer := model.SignerLegacyUnknown
	o.Spec.SignerName = &signer
	o.Spec.Usages = []certv1beta1.KeyUsage{certv1beta1.UsageDigitalSignature, certv1beta1.UsageClientAuth}
	if c := csrModel(fromV1beta1(o)); c.Signer != model.SignerKubeletClient || !c.SignerInferred {
		t.Fatalf("legacy-unknown signer: %+v", c)
	}
}

func TestListCSRs(t *testing.T) {
	cs := ListCSRs(context.Background(), cluster.Client)
	if !cs.Synced || cs.Err != "" {
		t.Fatalf("list: %+v", cs)
	}
	checkSeededCSRs(t, cs)
	if p, i := cs.PendingCount(); p < 3 || i < 1 {
		t.Fatalf("pending %d, invalid %d", p, i)
	}
}

func TestListCSRsForbidden(t *testing.T) {
	cs := ListCSRs(context.Background(), impersonating(t, "day2-nobody"))
	if cs.Synced || !strings.Contains(cs.Err, "forbidden") {
		t.Fatalf("a user without rights got %+v", cs)
	}
}
