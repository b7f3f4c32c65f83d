package localcluster

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"

	certv1 "k8s.io/api/certificates/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The pending CertificateSigningRequests the cluster is seeded with, as
// `oc get csr` shows them after a restart (seed 001 §3.2).
const (
	// ValidCSR: the first compute node asks for a serving certificate for
	// its own name and address. Valid; approve it.
	ValidCSR = "csr-node-0-serving"
	// WrongCNCSR: the first infra node asks for a serving certificate in
	// master-0's name (CN system:node:master-0.example.com). Invalid.
	WrongCNCSR = "csr-infra-0-wrong-cn"
	// NewNodeCSR: the 3.11 node bootstrapper asks for the client certificate
	// of a node that has not registered yet.
	NewNodeCSR = "csr-bootstrap-node-new"
	// NewNodeName is the node NewNodeCSR is for; it never exists.
	NewNodeName = "node-new.example.com"
)

// nodeBootstrapper is OpenShift 3.11's bootstrap service account.
const nodeBootstrapper = "system:serviceaccount:openshift-infra:node-bootstrapper"

// csrSeed is one request to create, as requester.
type csrSeed struct {
	name, requester string
	groups          []string
	signer          string
	cn              string
	dns             []string
	ips             []string
	usages          []certv1.KeyUsage
}

// seedCSRs lets nodes and the bootstrapper request certificates (the
// system:node-bootstrapper role, as OpenShift grants it; nobody may approve
// them, so the controller manager leaves them pending) and creates the
// demo's requests, each as its requester.
func (c *Cluster) seedCSRs(ctx context.Context) error {
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "day2-localcluster:node-bootstrapper"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:node-bootstrapper"},
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "system:nodes"},
			{Kind: rbacv1.ServiceAccountKind, Namespace: "openshift-infra", Name: "node-bootstrapper"},
		},
	}
	if err := createObject(ctx, c, "clusterrolebinding "+binding.Name, c.Client.RbacV1().ClusterRoleBindings().Create, binding); err != nil {
		return err
	}
	master := c.Masters[0]
	// The wrong CN: infra-0 asks in master-0's name.
	wrongCN := nodeCSRSeed(NodeCSR{Name: WrongCNCSR, Node: master.Name, Serving: true, DNSNames: []string{master.Name}, IPs: []string{master.IP}})
	wrongCN.requester = "system:node:" + c.Infra[0]
	seeds := []csrSeed{
		nodeCSRSeed(NodeCSR{Name: ValidCSR, Node: c.Workers[0], Serving: true, DNSNames: []string{c.Workers[0]}, IPs: []string{workerIP(0)}}),
		wrongCN,
		nodeCSRSeed(NodeCSR{Name: NewNodeCSR, Node: NewNodeName}),
	}
	for _, s := range seeds {
		if err := c.createCSR(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (c *Cluster) createCSR(ctx context.Context, s csrSeed) error {
	req, err := requestPEM(s.cn, s.dns, s.ips)
	if err != nil {
		return fmt.Errorf("csr %s: %w", s.name, err)
	}
	cfg := rest.CopyConfig(c.RestConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: s.requester, Groups: s.groups}
	as, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("csr %s: client as %s: %w", s.name, s.requester, err)
	}
	csr := &certv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{Name: s.name},
		Spec:       certv1.CertificateSigningRequestSpec{Request: req, SignerName: s.signer, Usages: s.usages},
	}
	// Retried while the new binding reaches the authorizer's cache.
	return createObject(ctx, c, "csr "+s.name, as.CertificatesV1().CertificateSigningRequests().Create, csr)
}

// requestPEM makes a PKCS#10 request with O=system:nodes, as a kubelet does.
func requestPEM(cn string, dns, ips []string) ([]byte, error) {
	key, _, err := newKey()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn, Organization: []string{"system:nodes"}}, DNSNames: dns}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// NodeCSR is a kubelet's request as a test makes it, the way the kubelet
// does: a client certificate asked by the 3.11 node bootstrapper, or a
// serving certificate asked by the node itself for its addresses.
type NodeCSR struct {
	Name, Node string
	Serving    bool
	// IPs and DNSNames of a serving request (the node's own, for a valid
	// one).
	IPs, DNSNames []string
}

// CreateNodeCSR creates the request as its requester would.
func (c *Cluster) CreateNodeCSR(ctx context.Context, r NodeCSR) error {
	return c.createCSR(ctx, nodeCSRSeed(r))
}

func nodeCSRSeed(r NodeCSR) csrSeed {
	if !r.Serving {
		return csrSeed{name: r.Name, requester: nodeBootstrapper, signer: certv1.KubeAPIServerClientKubeletSignerName, cn: "system:node:" + r.Node,
			usages: []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageClientAuth}}
	}
	return csrSeed{name: r.Name, requester: "system:node:" + r.Node, groups: []string{"system:nodes"}, signer: certv1.KubeletServingSignerName,
		cn: "system:node:" + r.Node, dns: r.DNSNames, ips: r.IPs,
		usages: []certv1.KeyUsage{certv1.UsageDigitalSignature, certv1.UsageKeyEncipherment, certv1.UsageServerAuth}}
}
