package ops

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	certv1 "k8s.io/api/certificates/v1"

	"github.com/day2ops/day2/internal/hostssh"
	"github.com/day2ops/day2/internal/localcluster"
)

// kubeletClientPEM is a kubelet's client certificate file as the kubelet's
// certificate manager writes it: the certificate, then its key, in one
// file.
func kubeletClientPEM(t *testing.T, node string, notAfter time.Time) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "system:node:" + node, Organization: []string{"system:nodes"}},
		NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
}

// A node whose kubelet client certificate expired (this host's, read under
// the host root through the kubelet's absolute link) asks again through the
// node bootstrapper: detect shows it, its client request is approved and
// issued, the serving request the node makes next is shown and approved on
// the operator's word, an invalid request is left alone, and the run ends
// with the nodes Ready.
func TestRecoverExpiredCerts(t *testing.T) {
	node := cluster.Workers[2]
	root := t.TempDir()
	pki := filepath.Join(root, "var/lib/kubelet/pki")
	if err := os.MkdirAll(pki, 0o700); err != nil {
		t.Fatal(err)
	}
	const issued = "kubelet-client-2024-01-01-00-00-00.pem"
	if err := os.WriteFile(filepath.Join(pki, issued), kubeletClientPEM(t, node, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/var/lib/kubelet/pki/"+issued, filepath.Join(pki, "kubelet-client-current.pem")); err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   root, Getenv: func(string) string { return "" }, User: csrTester,
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	client, serving := "csr-test-recover-client", "csr-test-recover-serving"
	if err := cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: client, Node: node}); err != nil {
		t.Fatal(err)
	}
	// The kubelet asks for its serving certificate once it has its client
	// one: here, once the serving CSRs pending by then are dealt with, so
	// that it arrives during the watch.
	var created error
	var followPlan string
	op := &followUpOp{
		onFollowUpAsk: func(p Prompt) {
			if plan := strings.Join(p.Plan, "\n"); strings.Contains(plan, serving) {
				followPlan = plan
				wantPending(t, serving)
			}
		},
		onEvent: func(e Event) {
			if e.Step == "serving-approve-valid-csrs" && (e.State == StateDone || e.State == StateSkipped) {
				if len(getCSR(t, client).Status.Certificate) == 0 {
					created = errors.New("the client CSR was not issued before the serving step ended")
					return
				}
				created = cluster.CreateNodeCSR(ctx, localcluster.NodeCSR{Name: serving, Node: node, Serving: true, IPs: nodeIPs(t, node)})
			}
		},
	}
	p, err := s.Procedure("recover-expired-certs", map[string]string{"watch": "8s", "timeout": "20s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, p, op, RunOptions{Journal: openJournal(t), User: csrTester}); err != nil {
		t.Fatal(err)
	}
	if created != nil {
		t.Fatal(created)
	}
	detect := strings.Join(op.prompts[0].Plan, "\n")
	for _, want := range []string{"/var/lib/kubelet/pki/kubelet-client-current.pem under " + root + " (system:node:" + node + "): EXPIRED 2025-01-01",
		"csr " + client + ": kubernetes.io/kube-apiserver-client-kubelet", "every node is Ready"} {
		if !strings.Contains(detect, want) {
			t.Errorf("detect plan lacks %q:\n%s", want, detect)
		}
	}
	if !strings.Contains(followPlan, "csr "+serving+": ") || !strings.Contains(followPlan, "verdict valid") {
		t.Errorf("the serving request was not shown for a decision:\n%s", followPlan)
	}
	wantDecided(t, client, certv1.CertificateApproved, "Day2Approved")
	wantDecided(t, serving, certv1.CertificateApproved, "Day2Approved")
	wantPending(t, localcluster.WrongCNCSR)
	var last string
	for _, e := range op.events {
		if e.Step == "nodes-ready" {
			last = string(e.State)
		}
	}
	if last != string(StateDone) {
		t.Errorf("nodes-ready ended %q", last)
	}
}

// Over SSH, detect reads every node host's kubelet client certificate: an
// expired one on a compute node (3.11's path, behind the kubelet's
// absolute link) is named with its host.
func TestRecoverExpiredCertsReadsHostsOverSSH(t *testing.T) {
	node := cluster.Workers[0]
	var root string
	for _, h := range cluster.SSHHosts() {
		if h.Name == node {
			root = h.Root
		}
	}
	dir := filepath.Join(root, "etc/origin/node/certificates")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	const issued = "kubelet-client-2023-05-01-10-00-00.pem"
	if err := os.WriteFile(filepath.Join(dir, issued), kubeletClientPEM(t, node, time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "kubelet-client-current.pem")
	if err := os.Symlink("/etc/origin/node/certificates/"+issued, link); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(link); os.Remove(filepath.Join(dir, issued)) })
	pool, err := hostssh.New(hostssh.Config{KeyFiles: []string{cluster.SSHKeyPath()}, ConfigFile: cluster.SSHConfigPath(),
		KnownHosts: []string{cluster.SSHKnownHostsPath()}, AgentSocket: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig), HostRoot: cluster.HostRoot(0),
		Getenv: func(string) string { return "" }, User: csrTester, HostAccess: pool, Inventory: cluster.InventoryPath(),
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Procedure("recover-expired-certs", map[string]string{"watch": "0"})
	if err != nil {
		t.Fatal(err)
	}
	op := &scripted{answers: []Answer{{Decision: Abort}}}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t), User: csrTester}); !errors.Is(err, ErrAborted) {
		t.Fatal(err)
	}
	plan := strings.Join(op.prompts[0].Plan, "\n")
	want := "/etc/origin/node/certificates/kubelet-client-current.pem on " + node + " (system:node:" + node + "): EXPIRED 2024-05-01"
	if !strings.Contains(plan, want) || strings.Contains(plan, "not reached") || op.prompts[0].Problem != "" {
		t.Fatalf("detect over SSH, want %q:\n%s\nproblem: %s", want, plan, op.prompts[0].Problem)
	}
}
