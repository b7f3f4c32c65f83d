package model

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Signers of the CertificateSigningRequests day2 validates: a kubelet's
// client certificate (its identity towards the API) and its serving
// certificate (port 10250).
const (
	SignerKubeletClient  = "kubernetes.io/kube-apiserver-client-kubelet"
	SignerKubeletServing = "kubernetes.io/kubelet-serving"
)

// SignerLegacyUnknown is what Kubernetes 1.18 to 1.21 put on
// certificates.k8s.io/v1beta1 requests it could not attribute to a signer.
const SignerLegacyUnknown = "kubernetes.io/legacy-unknown"

// InferSigner names the signer of a request made before signers existed
// (certificates.k8s.io/v1beta1 without signerName: OpenShift 3.11): a
// request for a node's identity (CN system:node:… or O system:nodes) is a
// kubelet serving request when it asks for server auth, else a kubelet
// client request; anything else is legacy-unknown. Looser than the API
// server's own defaulting on purpose: an odd request for a node identity
// gets validated (and flagged), not waved through as unknown.
func InferSigner(r CSRRequest, usages []string) string {
	if !strings.HasPrefix(r.CommonName, NodeUserPrefix) && !slices.Contains(r.Organizations, NodesGroup) {
		return SignerLegacyUnknown
	}
	if slices.Contains(usages, UsageServerAuth) {
		return SignerKubeletServing
	}
	return SignerKubeletClient
}

// Key usages as certificates.k8s.io names them in spec.usages.
const (
	UsageDigitalSignature = "digital signature"
	UsageKeyEncipherment  = "key encipherment"
	UsageClientAuth       = "client auth"
	UsageServerAuth       = "server auth"
)

// NodeUserPrefix and NodesGroup make a kubelet's identity:
// CN=system:node:<node name>, O=system:nodes.
const (
	NodeUserPrefix = "system:node:"
	NodesGroup     = "system:nodes"
)

// nodeBootstrappers are the service accounts that ask for a new node's first
// client certificate: OpenShift 4's machine-config bootstrapper (the
// REQUESTOR of seed 001 §3.2's `oc get csr`) and OpenShift 3.11's.
var nodeBootstrappers = []string{
	"system:serviceaccount:openshift-machine-config-operator:node-bootstrapper",
	"system:serviceaccount:openshift-infra:node-bootstrapper",
}

// kubeadm's TLS bootstrap tokens authenticate as system:bootstrap:<token id>
// in this group.
const (
	bootstrapTokenPrefix = "system:bootstrap:"
	bootstrappersGroup   = "system:bootstrappers"
)

// CSRRequest is what a decoded PKCS#10 request asks for; the raw bytes are
// not kept.
type CSRRequest struct {
	CommonName    string
	Organizations []string
	DNSNames      []string
	IPAddresses   []string
	Emails        []string
	URIs          []string
	// KeyAlgorithm is "RSA", "ECDSA", "Ed25519" or "unknown".
	KeyAlgorithm string
}

// ParseCSRRequest decodes spec.request: a PEM "CERTIFICATE REQUEST" block.
// The signature is checked, so a request tampered with after signing is an
// error.
func ParseCSRRequest(pemBytes []byte) (CSRRequest, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return CSRRequest{}, errors.New("request is not PEM")
	}
	if block.Type != "CERTIFICATE REQUEST" {
		return CSRRequest{}, fmt.Errorf("request is a PEM %q block, not CERTIFICATE REQUEST", block.Type)
	}
	req, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return CSRRequest{}, fmt.Errorf("parse request: %w", err)
	}
	if err := req.CheckSignature(); err != nil {
		return CSRRequest{}, fmt.Errorf("request signature: %w", err)
	}
	out := CSRRequest{
		CommonName: req.Subject.CommonName, Organizations: slices.Clone(req.Subject.Organization),
		DNSNames: slices.Clone(req.DNSNames), Emails: slices.Clone(req.EmailAddresses), KeyAlgorithm: "unknown",
	}
	for _, ip := range req.IPAddresses {
		out.IPAddresses = append(out.IPAddresses, ip.String())
	}
	for _, u := range req.URIs {
		out.URIs = append(out.URIs, u.String())
	}
	switch req.PublicKey.(type) {
	case *rsa.PublicKey:
		out.KeyAlgorithm = "RSA"
	case *ecdsa.PublicKey:
		out.KeyAlgorithm = "ECDSA"
	case ed25519.PublicKey:
		out.KeyAlgorithm = "Ed25519"
	}
	return out, nil
}

// CSR is one CertificateSigningRequest as the Certificates pane lists it.
type CSR struct {
	Name string
	// Requester is spec.username: who created the request (REQUESTOR).
	Requester string
	Groups    []string
	Signer    string
	// SignerInferred: the request named no signer (v1beta1, OpenShift
	// 3.11) and Signer is InferSigner's.
	SignerInferred bool
	Created        time.Time
	Usages         []string
	Request        CSRRequest
	// RequestErr says why spec.request could not be decoded.
	RequestErr string
	// The conditions; Issued means a certificate has been signed.
	Approved, Denied, Failed, Issued bool
	// Message is the reason and message of the deciding condition, e.g.
	// who approved or why it was denied.
	Message string
	Verdict CSRVerdict
}

// Pending reports whether nobody has decided on the request yet.
func (c CSR) Pending() bool { return !c.Approved && !c.Denied && !c.Failed }

// Condition is the CONDITION column as `oc get csr` prints it:
// "Pending", "Approved,Issued", "Denied", ...
func (c CSR) Condition() string {
	var parts []string
	for _, p := range []struct {
		on   bool
		name string
	}{{c.Approved, "Approved"}, {c.Denied, "Denied"}, {c.Failed, "Failed"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "Pending")
	}
	if c.Issued {
		parts = append(parts, "Issued")
	}
	return strings.Join(parts, ",")
}

// NodeName is the node the request asks an identity for: the CN after
// "system:node:", or "" when the CN is not a node's.
func (c CSR) NodeName() string {
	name, ok := strings.CutPrefix(c.Request.CommonName, NodeUserPrefix)
	if !ok {
		return ""
	}
	return name
}

// CSRs is a snapshot of the cluster's CertificateSigningRequests, oldest
// first.
type CSRs struct {
	Items []CSR
	// Synced is false until both the requests and the nodes they are checked
	// against have been listed; verdicts mean nothing before that.
	Synced bool
	// Err is the last list or watch error (forbidden, unreachable).
	Err string
}

// PendingCount counts the undecided requests and, among them, the invalid
// ones.
func (cs CSRs) PendingCount() (pending, invalid int) {
	for _, c := range cs.Items {
		if c.Pending() {
			pending++
			if c.Verdict.Kind == CSRInvalid {
				invalid++
			}
		}
	}
	return pending, invalid
}

// CSRVerdictKind is day2's judgement of a request.
type CSRVerdictKind int

const (
	// CSRUnchecked: a signer day2 has no rules for, or nodes not loaded yet.
	CSRUnchecked CSRVerdictKind = iota
	// CSRValid: every rule holds.
	CSRValid
	// CSRNewNode: a well-formed bootstrap request for a node that does not
	// exist yet, as a joining node's first request is; approve it only when
	// you are adding that node.
	CSRNewNode
	// CSRInvalid: some rule fails; do not approve.
	CSRInvalid
)

func (k CSRVerdictKind) String() string {
	switch k {
	case CSRValid:
		return "valid"
	case CSRNewNode:
		return "new node?"
	case CSRInvalid:
		return "INVALID"
	default:
		return "-"
	}
}

// CSRVerdict is a verdict with the reasons for it (every rule that failed,
// or why the request was not checked).
type CSRVerdict struct {
	Kind    CSRVerdictKind
	Reasons []string
}

// NodeAddresses are a node's status addresses as a serving certificate may
// name them: IPs (InternalIP, ExternalIP) and DNS names (Hostname,
// InternalDNS, ExternalDNS).
type NodeAddresses struct {
	IPs, DNSNames []string
}

// csrProfile is what a kubelet certificate of one signer must look like.
type csrProfile struct {
	required, optional []string
	serving            bool
}

var csrProfiles = map[string]csrProfile{
	SignerKubeletClient:  {required: []string{UsageDigitalSignature, UsageClientAuth}, optional: []string{UsageKeyEncipherment}},
	SignerKubeletServing: {required: []string{UsageDigitalSignature, UsageServerAuth}, optional: []string{UsageKeyEncipherment}, serving: true},
}

// ValidateCSR checks a kubelet's request the way an operator should before
// `oc adm certificate approve` (seed 001 §3.2 "verify that it is valid"),
// with the rules Kubernetes' own approver and OpenShift's machine approver
// apply: CN system:node:<an existing node>, O exactly system:nodes, the
// signer's usages (client: digital signature and client auth; serving:
// digital signature and server auth; key encipherment optional, nothing
// else), a consistent requester (the node itself, or for a client
// certificate a node bootstrapper), no SANs on a client certificate, and on
// a serving certificate only IPs and DNS names that are the node's own
// addresses. node looks up a node by name.
func ValidateCSR(c CSR, node func(name string) (NodeAddresses, bool)) CSRVerdict {
	profile, ok := csrProfiles[c.Signer]
	if !ok {
		return CSRVerdict{Kind: CSRUnchecked, Reasons: []string{fmt.Sprintf("signer %s: day2 checks kubelet client and serving requests only", c.Signer)}}
	}
	if c.RequestErr != "" {
		return CSRVerdict{Kind: CSRInvalid, Reasons: []string{c.RequestErr}}
	}
	var bad []string
	r := c.Request
	name := c.NodeName()
	if name == "" {
		bad = append(bad, fmt.Sprintf("CN %q is not %s<node name>", r.CommonName, NodeUserPrefix))
	}
	if !slices.Equal(r.Organizations, []string{NodesGroup}) {
		bad = append(bad, fmt.Sprintf("O is %s, want exactly %s", quoteList(r.Organizations), NodesGroup))
	}
	bad = append(bad, checkUsages(c.Usages, profile)...)

	bootstrap := false
	switch {
	case strings.HasPrefix(c.Requester, NodeUserPrefix):
		if c.Requester != r.CommonName {
			bad = append(bad, fmt.Sprintf("requested by %s for %s: a node may only ask for its own identity", c.Requester, r.CommonName))
		}
	case !profile.serving && isNodeBootstrapper(c.Requester, c.Groups):
		bootstrap = true
	case profile.serving:
		bad = append(bad, fmt.Sprintf("requested by %s: a serving certificate is requested by the node itself (%s)", c.Requester, orUnknown(r.CommonName)))
	default:
		bad = append(bad, fmt.Sprintf("requested by %s: neither the node itself nor a node bootstrapper", c.Requester))
	}

	if profile.serving {
		if len(r.Emails) > 0 || len(r.URIs) > 0 {
			bad = append(bad, fmt.Sprintf("email or URI SANs %s: a kubelet serving certificate has none", quoteList(append(slices.Clone(r.Emails), r.URIs...))))
		}
		if len(r.DNSNames) == 0 && len(r.IPAddresses) == 0 {
			bad = append(bad, "no DNS or IP SANs: a serving certificate must name the node's addresses")
		}
	} else if sans := append(append(append(slices.Clone(r.DNSNames), r.IPAddresses...), r.Emails...), r.URIs...); len(sans) > 0 {
		bad = append(bad, fmt.Sprintf("SANs %s: a kubelet client certificate has none", quoteList(sans)))
	}

	newNode := false
	if name != "" {
		addrs, found := node(name)
		switch {
		case !found && bootstrap:
			newNode = true
		case !found:
			bad = append(bad, fmt.Sprintf("no node named %s", name))
		case profile.serving:
			bad = append(bad, sansNotOwned("IP", r.IPAddresses, addrs.IPs, name)...)
			bad = append(bad, sansNotOwned("DNS", r.DNSNames, addrs.DNSNames, name)...)
		}
	}
	switch {
	case len(bad) > 0:
		return CSRVerdict{Kind: CSRInvalid, Reasons: bad}
	case newNode:
		return CSRVerdict{Kind: CSRNewNode, Reasons: []string{fmt.Sprintf("no node named %s yet: a joining node asks for its client certificate before it registers; approve only if you are adding %s", name, name)}}
	default:
		return CSRVerdict{Kind: CSRValid}
	}
}

func checkUsages(usages []string, p csrProfile) []string {
	var bad []string
	for _, u := range p.required {
		if !slices.Contains(usages, u) {
			bad = append(bad, fmt.Sprintf("usage %q missing", u))
		}
	}
	for _, u := range usages {
		if !slices.Contains(p.required, u) && !slices.Contains(p.optional, u) {
			bad = append(bad, fmt.Sprintf("usage %q not allowed for this signer", u))
		}
	}
	return bad
}

func isNodeBootstrapper(user string, groups []string) bool {
	return slices.Contains(nodeBootstrappers, user) ||
		(strings.HasPrefix(user, bootstrapTokenPrefix) && slices.Contains(groups, bootstrappersGroup))
}

func sansNotOwned(kind string, sans, owned []string, node string) []string {
	var bad []string
	for _, s := range sans {
		if !slices.Contains(owned, s) {
			bad = append(bad, fmt.Sprintf("%s SAN %s is not an address of node %s (it has %s)", kind, s, node, quoteList(owned)))
		}
	}
	return bad
}

func quoteList(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// Condition reasons day2 writes on the requests it decides, so `oc describe
// csr` says who decided (the message names the approver and the verdict).
const (
	CSRApprovedReason = "Day2Approved"
	CSRDeniedReason   = "Day2Denied"
)

// ApprovalGuard says what approving c takes, by its verdict: "" for a valid
// request (the operator's plain yes), the node's name for a "new node?"
// request (the operator types it: they are adding that node), the request's
// own name for one day2 has no rules for (a typed override). An invalid
// request, one already denied or failed, is never approved: the error says
// why, every failed rule.
func ApprovalGuard(c CSR) (word string, err error) {
	switch {
	case c.Denied:
		return "", fmt.Errorf("csr %s was denied (%s): a denied request cannot be approved; the requester must ask again", c.Name, orUnknown(c.Message))
	case c.Failed:
		return "", fmt.Errorf("csr %s failed (%s): the requester must ask again", c.Name, orUnknown(c.Message))
	}
	switch c.Verdict.Kind {
	case CSRValid:
		return "", nil
	case CSRNewNode:
		return c.NodeName(), nil
	case CSRInvalid:
		return "", fmt.Errorf("csr %s is INVALID, never approved (deny it: day2 run csr-deny --csr %s): %s", c.Name, c.Name, strings.Join(c.Verdict.Reasons, "; "))
	}
	return c.Name, nil
}

// DecisionMessage is the condition message of a decision day2 makes:
// who decided, and day2's verdict at that moment.
func DecisionMessage(approve bool, user string, v CSRVerdict) string {
	verb := "denied"
	if approve {
		verb = "approved"
	}
	msg := fmt.Sprintf("%s by %s with day2 (verdict %s)", verb, orUnknown(user), v.Kind)
	if len(v.Reasons) > 0 {
		msg += ": " + strings.Join(v.Reasons, "; ")
	}
	return msg
}

// CheckIssuedCertificate checks status.certificate of an approved request:
// a PEM certificate that parses and names the identity that was asked for
// (the signer's own checks passed if it signed at all).
func CheckIssuedCertificate(certPEM []byte, r CSRRequest) error {
	if len(certPEM) == 0 {
		return errors.New("no certificate issued yet")
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("status.certificate is not a PEM CERTIFICATE")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("issued certificate: %w", err)
	}
	if cert.Subject.CommonName != r.CommonName {
		return fmt.Errorf("issued certificate is for CN %q, the request asked for %q", cert.Subject.CommonName, r.CommonName)
	}
	return nil
}
