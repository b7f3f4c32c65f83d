package model

import (
	"crypto/x509"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// CertKind is what a certificate is for, as the Certificates pane shows it.
type CertKind string

const (
	CertCA           CertKind = "CA"
	CertServer       CertKind = "server"
	CertClient       CertKind = "client"
	CertServerClient CertKind = "server+client"
	// CertOther is a leaf whose extended key usages name neither TLS server
	// nor client authentication (code signing, OCSP, ...).
	CertOther CertKind = "other"
)

// CertKindOf classifies a parsed certificate. A leaf without extended key
// usages (or with "any") is valid for both ends of TLS under RFC 5280, so it
// is server+client rather than unknown.
func CertKindOf(c *x509.Certificate) CertKind {
	if c.IsCA {
		return CertCA
	}
	if len(c.ExtKeyUsage) == 0 {
		return CertServerClient
	}
	var server, client bool
	for _, u := range c.ExtKeyUsage {
		server = server || u == x509.ExtKeyUsageServerAuth || u == x509.ExtKeyUsageAny
		client = client || u == x509.ExtKeyUsageClientAuth || u == x509.ExtKeyUsageAny
	}
	switch {
	case server && client:
		return CertServerClient
	case server:
		return CertServer
	case client:
		return CertClient
	default:
		return CertOther
	}
}

// CertSeverity ranks how soon a certificate needs attention.
type CertSeverity int

const (
	CertOK CertSeverity = iota
	CertWarning
	CertCritical
	CertExpired
)

func (s CertSeverity) String() string {
	switch s {
	case CertOK:
		return "ok"
	case CertWarning:
		return "warning"
	case CertCritical:
		return "critical"
	case CertExpired:
		return "expired"
	default:
		return fmt.Sprintf("CertSeverity(%d)", int(s))
	}
}

// CertThresholds are how close to expiry a certificate turns critical or
// warning.
type CertThresholds struct {
	Critical, Warning time.Duration
}

// DefaultCertThresholds: a week leaves time for a planned redeploy of the
// certificates; a month is when to schedule it.
var DefaultCertThresholds = CertThresholds{Critical: 7 * 24 * time.Hour, Warning: 30 * 24 * time.Hour}

// Classify ranks a certificate expiring at notAfter as seen at now. A
// certificate is still valid at the instant notAfter (RFC 5280 includes it),
// so it is expired only after it; the thresholds are inclusive.
func (t CertThresholds) Classify(notAfter, now time.Time) CertSeverity {
	if now.After(notAfter) {
		return CertExpired
	}
	left := notAfter.Sub(now)
	switch {
	case left <= t.Critical:
		return CertCritical
	case left <= t.Warning:
		return CertWarning
	default:
		return CertOK
	}
}

// Certificate is one X.509 certificate found on a host, in a kubeconfig or
// in a secret. It never carries key material.
type Certificate struct {
	SubjectCN string
	Subject   string
	Issuer    string
	Kind      CertKind
	// Source is where it was found, as the operator would look for it: a
	// host path ("/etc/origin/master/ca.crt"), a kubeconfig entry
	// ("/etc/origin/master/admin.kubeconfig (user system:admin)") or a
	// secret ("namespace/name").
	Source string
	// Block is the 0-based index of the PEM block within the source, so a
	// certificate in a bundle can be told from its neighbours.
	Block                 int
	Serial                string
	NotBefore, NotAfter   time.Time
	DNSNames, IPAddresses []string
}

// OpenSSLSerial prints a serial number as `openssl x509 -serial` does (and
// ca.serial.txt holds it): upper-case hex of whole bytes, so an odd number
// of digits keeps its leading zero ("0B", "00" for zero), a negative one
// (invalid, but found in old certificates) with a minus sign.
func OpenSSLSerial(n *big.Int) string {
	b := new(big.Int).Abs(n).Bytes()
	if len(b) == 0 {
		b = []byte{0}
	}
	hex := strings.ToUpper(fmt.Sprintf("%x", b))
	if n.Sign() < 0 {
		return "-" + hex
	}
	return hex
}

// NewCertificate takes what the pane shows from a parsed certificate. The
// serial is printed as `openssl x509 -serial` prints it (OpenSSLSerial).
func NewCertificate(c *x509.Certificate, source string, block int) Certificate {
	cert := Certificate{
		SubjectCN: c.Subject.CommonName,
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		Kind:      CertKindOf(c),
		Source:    source,
		Block:     block,
		NotBefore: c.NotBefore,
		NotAfter:  c.NotAfter,
		DNSNames:  slices.Clone(c.DNSNames),
	}
	if c.SerialNumber != nil {
		cert.Serial = OpenSSLSerial(c.SerialNumber)
	}
	for _, ip := range c.IPAddresses {
		cert.IPAddresses = append(cert.IPAddresses, ip.String())
	}
	return cert
}

// DaysLeft is the whole days until NotAfter, rounded down: 0 on the last
// day, negative once expired. It works in seconds rather than a Duration so
// that far-future certificates (NotAfter in 9999) do not saturate.
func (c Certificate) DaysLeft(now time.Time) int {
	secs := c.NotAfter.Unix() - now.Unix()
	if c.NotAfter.Nanosecond() < now.Nanosecond() {
		secs-- // borrow, so that secs is the floor of the exact difference
	}
	days := secs / 86400
	if secs%86400 < 0 {
		days--
	}
	return int(days)
}

// SortCertsByExpiry orders certificates soonest expiry first, then by source
// and block, so the pane is stable between scans.
func SortCertsByExpiry(certs []Certificate) {
	slices.SortStableFunc(certs, func(a, b Certificate) int {
		if c := a.NotAfter.Compare(b.NotAfter); c != 0 {
			return c
		}
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return a.Block - b.Block
	})
}

// CertNotAfterAnnotation is set by OpenShift 4's certificate rotation on the
// secrets and config maps it manages.
const CertNotAfterAnnotation = "auth.openshift.io/certificate-not-after"

// NotAfterAnnotation reads CertNotAfterAnnotation: ok is false when the
// annotation is absent; a present but unparsable value is an error, so a
// broken annotation is reported rather than taken as "no expiry".
func NotAfterAnnotation(annotations map[string]string) (notAfter time.Time, ok bool, err error) {
	v, ok := annotations[CertNotAfterAnnotation]
	if !ok {
		return time.Time{}, false, nil
	}
	if notAfter, err = time.Parse(time.RFC3339, v); err != nil {
		return time.Time{}, true, fmt.Errorf("annotation %s: %w", CertNotAfterAnnotation, err)
	}
	return notAfter, true, nil
}

// CertReport is one scan of the certificates day2 can see: the host's files
// and kubeconfigs, and the cluster's TLS secrets.
type CertReport struct {
	Certs    []Certificate
	Problems []string // unreadable or malformed files, forbidden lists
	At       time.Time
}

// Tally counts a report's certificates by severity at now.
func (r CertReport) Tally(t CertThresholds, now time.Time) map[CertSeverity]int {
	out := map[CertSeverity]int{}
	for _, c := range r.Certs {
		out[t.Classify(c.NotAfter, now)]++
	}
	return out
}
