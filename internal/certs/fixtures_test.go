package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/model"
)

// now is the fixtures' reference time; certificates are generated relative
// to it and classified against it.
var now = time.Now()

const day = 24 * time.Hour

// spec describes a certificate to generate.
type spec struct {
	cn   string
	kind model.CertKind
	life time.Duration // NotAfter - now; negative for an expired certificate
}

// issuer signs fixture certificates with an ECDSA P-256 key (fast to make).
type issuer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCA makes a self-signed CA valid for life from now.
func newCA(t testing.TB, cn string, life time.Duration) *issuer {
	t.Helper()
	key := newKey(t)
	der, cert := sign(t, template(spec{cn: cn, kind: model.CertCA, life: life}), nil, key, nil)
	return &issuer{cert: cert, key: key, pem: pemBlock("CERTIFICATE", der)}
}

// issue returns a certificate signed by ca, and its private key as PEM.
func (ca *issuer) issue(t testing.TB, s spec) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newKey(t)
	der, _ := sign(t, template(s), ca.cert, key, ca.key)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("CERTIFICATE", der), pemBlock("EC PRIVATE KEY", keyDER)
}

func template(s spec) *x509.Certificate {
	serial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: s.cn},
		NotBefore:             now.Add(-365 * day),
		NotAfter:              now.Add(s.life).Truncate(time.Second),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	switch s.kind {
	case model.CertCA:
		tmpl.IsCA = true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	case model.CertServer:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{s.cn}
	case model.CertClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	case model.CertServerClient:
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	}
	return tmpl
}

// sign signs tmpl for key by parent (self-signed when parent is nil).
func sign(t testing.TB, tmpl, parent *x509.Certificate, key, parentKey *ecdsa.PrivateKey) ([]byte, *x509.Certificate) {
	t.Helper()
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return der, cert
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// tree writes files (host path → content) under root, creating directories.
func tree(t testing.TB, root string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		real := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(real, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// ids renders certificates as "source#block" for comparing whole results.
func ids(certs []model.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, fmt.Sprintf("%s#%d", c.Source, c.Block))
	}
	slices.Sort(out)
	return out
}

func bySource(certs []model.Certificate, source string, block int) (model.Certificate, bool) {
	for _, c := range certs {
		if c.Source == source && c.Block == block {
			return c, true
		}
	}
	return model.Certificate{}, false
}

func concat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// assertNoKeyMaterial fails if any text of the results or the error carries
// part of a private key: results are meant for screens and logs.
func assertNoKeyMaterial(t testing.TB, keyPEMs [][]byte, certs []model.Certificate, err error) {
	t.Helper()
	dump := fmt.Sprintf("%+v", certs)
	if err != nil {
		dump += err.Error()
	}
	for _, k := range keyPEMs {
		for _, line := range strings.Split(string(k), "\n") {
			if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(dump, line[:16]) {
				t.Fatalf("results carry private key material %q", line[:16])
			}
		}
	}
}
