package model

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

// requestPEM signs a PKCS#10 request with a fresh key.
func requestPEM(t *testing.T, tmpl x509.CertificateRequest) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &tmpl, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
}

func TestParseCSRRequest(t *testing.T) {
	u, _ := url.Parse("spiffe://cluster/ns/x")
	p := requestPEM(t, x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: "system:node:n1", Organization: []string{"system:nodes"}},
		DNSNames: []string{"n1"}, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")}, EmailAddresses: []string{"a@b"}, URIs: []*url.URL{u},
	})
	r, err := ParseCSRRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.CommonName != "system:node:n1" || r.Organizations[0] != "system:nodes" || r.DNSNames[0] != "n1" ||
		r.IPAddresses[0] != "10.0.0.1" || r.Emails[0] != "a@b" || r.URIs[0] != u.String() || r.KeyAlgorithm != "ECDSA" {
		t.Fatalf("decoded %+v", r)
	}

	block, _ := pem.Decode(p)
	tampered := append([]byte(nil), block.Bytes...)
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	for name, in := range map[string][]byte{
		"not PEM":     []byte("hello"),
		"wrong block": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: block.Bytes}),
		"garbage DER": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2, 3}}),
		"bad sig":     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: tampered}),
	} {
		if _, err := ParseCSRRequest(in); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCSRCondition(t *testing.T) {
	for _, tc := range []struct {
		c    CSR
		want string
		pend bool
	}{
		{CSR{}, "Pending", true},
		{CSR{Approved: true}, "Approved", false},
		{CSR{Approved: true, Issued: true}, "Approved,Issued", false},
		{CSR{Denied: true}, "Denied", false},
		{CSR{Approved: true, Failed: true}, "Approved,Failed", false},
	} {
		if got := tc.c.Condition(); got != tc.want || tc.c.Pending() != tc.pend {
			t.Errorf("%+v: condition %q pending %v, want %q %v", tc.c, got, tc.c.Pending(), tc.want, tc.pend)
		}
	}
}

func TestValidateCSR(t *testing.T) {
	nodes := map[string]NodeAddresses{
		"n1": {IPs: []string{"10.0.0.1", "203.0.113.5"}, DNSNames: []string{"n1", "n1.example.com"}},
	}
	lookup := func(name string) (NodeAddresses, bool) { a, ok := nodes[name]; return a, ok }
	client := func(mod func(*CSR)) CSR {
		c := CSR{
			Signer: SignerKubeletClient, Requester: "system:node:n1",
			Usages:  []string{UsageDigitalSignature, UsageKeyEncipherment, UsageClientAuth},
			Request: CSRRequest{CommonName: "system:node:n1", Organizations: []string{NodesGroup}},
		}
		mod(&c)
		return c
	}
	serving := func(mod func(*CSR)) CSR {
		c := CSR{
			Signer: SignerKubeletServing, Requester: "system:node:n1",
			Usages: []string{UsageDigitalSignature, UsageKeyEncipherment, UsageServerAuth},
			Request: CSRRequest{CommonName: "system:node:n1", Organizations: []string{NodesGroup},
				DNSNames: []string{"n1.example.com"}, IPAddresses: []string{"10.0.0.1", "203.0.113.5"}},
		}
		mod(&c)
		return c
	}
	same := func(*CSR) {}
	for _, tc := range []struct {
		name   string
		csr    CSR
		want   CSRVerdictKind
		reason string // a substring of one reason
	}{
		{"client renewal by the node", client(same), CSRValid, ""},
		{"client without key encipherment (ECDSA)", client(func(c *CSR) { c.Usages = []string{UsageDigitalSignature, UsageClientAuth} }), CSRValid, ""},
		{"client by the OpenShift 4 bootstrapper", client(func(c *CSR) {
			c.Requester = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
		}), CSRValid, ""},
		{"client by the 3.11 bootstrapper", client(func(c *CSR) { c.Requester = "system:serviceaccount:openshift-infra:node-bootstrapper" }), CSRValid, ""},
		{"client by a kubeadm bootstrap token", client(func(c *CSR) {
			c.Requester, c.Groups = "system:bootstrap:abcdef", []string{"system:bootstrappers", "system:authenticated"}
		}), CSRValid, ""},
		{"bootstrap token user outside the bootstrappers group", client(func(c *CSR) { c.Requester = "system:bootstrap:abcdef" }), CSRInvalid, "neither the node itself nor a node bootstrapper"},
		{"client for a node not there yet, by the bootstrapper", client(func(c *CSR) {
			c.Requester = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
			c.Request.CommonName = "system:node:n9"
		}), CSRNewNode, "no node named n9 yet"},
		{"client renewal for a node that does not exist", client(func(c *CSR) {
			c.Requester, c.Request.CommonName = "system:node:n9", "system:node:n9"
		}), CSRInvalid, "no node named n9"},
		{"CN without the node prefix", client(func(c *CSR) { c.Request.CommonName = "n1" }), CSRInvalid, `CN "n1" is not system:node:`},
		{"CN prefix with no name", client(func(c *CSR) { c.Request.CommonName = "system:node:" }), CSRInvalid, "is not system:node:"},
		{"CN of another node", client(func(c *CSR) { c.Request.CommonName = "system:node:n2" }), CSRInvalid, "a node may only ask for its own identity"},
		{"O missing", client(func(c *CSR) { c.Request.Organizations = nil }), CSRInvalid, "O is none, want exactly system:nodes"},
		{"O with system:masters too", client(func(c *CSR) { c.Request.Organizations = []string{NodesGroup, "system:masters"} }), CSRInvalid, "want exactly system:nodes"},
		{"client auth missing", client(func(c *CSR) { c.Usages = []string{UsageDigitalSignature} }), CSRInvalid, `usage "client auth" missing`},
		{"digital signature missing", client(func(c *CSR) { c.Usages = []string{UsageClientAuth} }), CSRInvalid, `usage "digital signature" missing`},
		{"server auth on a client request", client(func(c *CSR) { c.Usages = append(c.Usages, UsageServerAuth) }), CSRInvalid, `usage "server auth" not allowed`},
		{"client request with SANs", client(func(c *CSR) { c.Request.DNSNames = []string{"n1"} }), CSRInvalid, "a kubelet client certificate has none"},
		{"client request by a stranger", client(func(c *CSR) { c.Requester = "alice" }), CSRInvalid, "requested by alice"},
		{"undecodable request", client(func(c *CSR) { c.RequestErr = "request is not PEM" }), CSRInvalid, "request is not PEM"},

		{"serving by the node", serving(same), CSRValid, ""},
		{"serving naming only an IP", serving(func(c *CSR) { c.Request.DNSNames = nil }), CSRValid, ""},
		{"serving by the bootstrapper", serving(func(c *CSR) {
			c.Requester = "system:serviceaccount:openshift-machine-config-operator:node-bootstrapper"
		}), CSRInvalid, "requested by the node itself"},
		{"serving for another node", serving(func(c *CSR) { c.Requester = "system:node:n2" }), CSRInvalid, "a node may only ask for its own identity"},
		{"serving for a node that does not exist", serving(func(c *CSR) {
			c.Requester, c.Request.CommonName = "system:node:n9", "system:node:n9"
		}), CSRInvalid, "no node named n9"},
		{"serving IP not the node's", serving(func(c *CSR) { c.Request.IPAddresses = []string{"10.0.0.99"} }), CSRInvalid, "IP SAN 10.0.0.99 is not an address of node n1"},
		{"serving DNS not the node's", serving(func(c *CSR) { c.Request.DNSNames = []string{"evil.example.com"} }), CSRInvalid, "DNS SAN evil.example.com is not an address of node n1"},
		{"serving without SANs", serving(func(c *CSR) { c.Request.DNSNames, c.Request.IPAddresses = nil, nil }), CSRInvalid, "no DNS or IP SANs"},
		{"serving with an email SAN", serving(func(c *CSR) { c.Request.Emails = []string{"a@b"} }), CSRInvalid, "email or URI SANs"},
		{"serving with a URI SAN", serving(func(c *CSR) { c.Request.URIs = []string{"spiffe://x"} }), CSRInvalid, "email or URI SANs"},
		{"serving without server auth", serving(func(c *CSR) { c.Usages = []string{UsageDigitalSignature} }), CSRInvalid, `usage "server auth" missing`},
		{"serving with client auth", serving(func(c *CSR) { c.Usages = append(c.Usages, UsageClientAuth) }), CSRInvalid, `usage "client auth" not allowed`},

		{"another signer", CSR{Signer: "example.com/custom"}, CSRUnchecked, "day2 checks kubelet client and serving requests only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := ValidateCSR(tc.csr, lookup)
			if v.Kind != tc.want {
				t.Fatalf("verdict %v %q, want %v", v.Kind, v.Reasons, tc.want)
			}
			if tc.reason == "" && len(v.Reasons) > 0 {
				t.Fatalf("reasons %q for a %v request", v.Reasons, v.Kind)
			}
			if tc.reason != "" && !strings.Contains(strings.Join(v.Reasons, "\n"), tc.reason) {
				t.Fatalf("reasons %q lack %q", v.Reasons, tc.reason)
			}
		})
	}
}

func TestInferSigner(t *testing.T) {
	node := CSRRequest{CommonName: "system:node:n1", Organizations: []string{NodesGroup}}
	for _, tc := range []struct {
		name   string
		req    CSRRequest
		usages []string
		want   string
	}{
		{"kubelet client", node, []string{UsageDigitalSignature, UsageKeyEncipherment, UsageClientAuth}, SignerKubeletClient},
		{"kubelet serving", node, []string{UsageDigitalSignature, UsageKeyEncipherment, UsageServerAuth}, SignerKubeletServing},
		{"node CN without the group", CSRRequest{CommonName: "system:node:n1"}, []string{UsageServerAuth}, SignerKubeletServing},
		{"node group with another CN", CSRRequest{CommonName: "n1", Organizations: []string{NodesGroup}}, []string{UsageClientAuth}, SignerKubeletClient},
		{"not a node", CSRRequest{CommonName: "alice", Organizations: []string{"devs"}}, []string{UsageClientAuth}, SignerLegacyUnknown},
	} {
		if got := InferSigner(tc.req, tc.usages); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestCSRsPendingCount(t *testing.T) {
	cs := CSRs{Items: []CSR{
		{Verdict: CSRVerdict{Kind: CSRValid}},
		{Verdict: CSRVerdict{Kind: CSRInvalid}},
		{Approved: true, Verdict: CSRVerdict{Kind: CSRInvalid}},
		{Denied: true},
	}}
	if p, i := cs.PendingCount(); p != 2 || i != 1 {
		t.Fatalf("pending %d invalid %d, want 2 1", p, i)
	}
}

func TestApprovalGuard(t *testing.T) {
	node := CSRRequest{CommonName: NodeUserPrefix + "node-9"}
	for _, tc := range []struct {
		name    string
		c       CSR
		word    string
		errWant string
	}{
		{"valid: a plain yes", CSR{Name: "a", Verdict: CSRVerdict{Kind: CSRValid}}, "", ""},
		{"new node: its name", CSR{Name: "b", Request: node, Verdict: CSRVerdict{Kind: CSRNewNode}}, "node-9", ""},
		{"unchecked: the CSR's name", CSR{Name: "c", Signer: "example.com/other", Verdict: CSRVerdict{Kind: CSRUnchecked}}, "c", ""},
		{"invalid: never, every rule", CSR{Name: "d", Verdict: CSRVerdict{Kind: CSRInvalid, Reasons: []string{"rule one", "rule two"}}}, "", "INVALID, never approved (deny it: day2 run csr-deny --csr d): rule one; rule two"},
		{"denied: never", CSR{Name: "e", Denied: true, Message: "Day2Denied: no", Verdict: CSRVerdict{Kind: CSRValid}}, "", "was denied (Day2Denied: no)"},
		{"failed: never", CSR{Name: "f", Approved: true, Failed: true, Verdict: CSRVerdict{Kind: CSRValid}}, "", "failed"},
	} {
		word, err := ApprovalGuard(tc.c)
		switch {
		case tc.errWant == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.errWant != "" && (err == nil || !strings.Contains(err.Error(), tc.errWant)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.errWant)
		case word != tc.word:
			t.Errorf("%s: word %q, want %q", tc.name, word, tc.word)
		}
	}
}

func TestDecisionMessage(t *testing.T) {
	if got := DecisionMessage(true, "alice", CSRVerdict{Kind: CSRValid}); got != "approved by alice with day2 (verdict valid)" {
		t.Errorf("approval: %q", got)
	}
	if got := DecisionMessage(false, "", CSRVerdict{Kind: CSRInvalid, Reasons: []string{"no node named x"}}); got != "denied by ? with day2 (verdict INVALID): no node named x" {
		t.Errorf("denial: %q", got)
	}
}

func TestCheckIssuedCertificate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(cn string) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	}
	want := CSRRequest{CommonName: "system:node:node-0"}
	if err := CheckIssuedCertificate(issue("system:node:node-0"), want); err != nil {
		t.Errorf("a matching certificate: %v", err)
	}
	for name, pemBytes := range map[string][]byte{
		"nothing yet":  nil,
		"another CN":   issue("system:node:node-1"),
		"not PEM":      []byte("garbage"),
		"a request":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1}}),
		"broken bytes": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}),
	} {
		if err := CheckIssuedCertificate(pemBytes, want); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
