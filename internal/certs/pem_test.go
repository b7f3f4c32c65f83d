package certs

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/model"
)

func TestParsePEMBundle(t *testing.T) {
	root := newCA(t, "root-ca", 5*365*day)
	inter, _ := root.issue(t, spec{cn: "intermediate-ca", kind: model.CertCA, life: 3 * 365 * day})
	leaf, _ := root.issue(t, spec{cn: "etcd-peer", kind: model.CertServerClient, life: 365 * day})
	certs, err := ParsePEM("/etc/origin/master/ca-bundle.crt", concat(root.pem, []byte("# comment between blocks\n"), inter, leaf))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, c := range certs {
		if c.Block != i || c.Source != "/etc/origin/master/ca-bundle.crt" {
			t.Errorf("cert %d: block %d source %q", i, c.Block, c.Source)
		}
		got = append(got, c.SubjectCN+" "+string(c.Kind))
	}
	if want := []string{"root-ca CA", "intermediate-ca CA", "etcd-peer server+client"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if certs[2].Issuer != "CN=root-ca" || certs[2].DNSNames != nil {
		t.Errorf("leaf issuer %q DNS %v", certs[2].Issuer, certs[2].DNSNames)
	}
}

func TestParsePEMKinds(t *testing.T) {
	ca := newCA(t, "ca", 365*day)
	for _, kind := range []model.CertKind{model.CertServer, model.CertClient, model.CertServerClient} {
		cert, _ := ca.issue(t, spec{cn: "x", kind: kind, life: day})
		certs, err := ParsePEM("x", cert)
		if err != nil || len(certs) != 1 || certs[0].Kind != kind {
			t.Errorf("%s: %+v, %v", kind, certs, err)
		}
	}
}

// A combined file such as kubelet-client-current.pem holds the key too: the
// key block is skipped but still counts as a block.
func TestParsePEMSkipsKeys(t *testing.T) {
	ca := newCA(t, "ca", 365*day)
	cert, key := ca.issue(t, spec{cn: "system:node:node-0", kind: model.CertClient, life: 365 * day})
	csr := pemBlock("CERTIFICATE REQUEST", []byte("not even DER"))
	certs, err := ParsePEM("/etc/origin/node/certificates/kubelet-client-current.pem", concat(key, csr, cert))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || certs[0].Block != 2 || certs[0].SubjectCN != "system:node:node-0" {
		t.Fatalf("got %+v", certs)
	}
	assertNoKeyMaterial(t, [][]byte{key}, certs, err)

	certs, err = ParsePEM("only-a-key.pem", key)
	if len(certs) != 0 || err != nil {
		t.Errorf("key only: %+v, %v", certs, err)
	}
}

func TestParsePEMErrors(t *testing.T) {
	ca := newCA(t, "ca", 365*day)
	good, _ := ca.issue(t, spec{cn: "good", kind: model.CertServer, life: day})
	garbage := pemBlock("CERTIFICATE", []byte("this is no DER"))
	for _, tc := range []struct {
		name      string
		data      []byte
		wantCerts []int // blocks returned
		wantErr   string
	}{
		{"empty", nil, nil, ""},
		{"blank", []byte("\n  \n"), nil, ""},
		{"bad block between good ones", concat(good, garbage, good), []int{0, 2}, "parse src block 1: x509: "},
		{"broken base64 after a good block", concat(good, []byte("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n")), []int{0}, "parse src block 1: malformed PEM"},
		{"unterminated block", concat(good, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n")), []int{0}, "parse src block 1: malformed PEM"},
		{"text, no PEM", []byte("this is not a certificate\n"), nil, "parse src: no PEM data"},
		{"DER is not PEM", []byte{0x30, 0x82, 0x01, 0x0a}, nil, "parse src: no PEM data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParsePEM("src", tc.data)
			var blocks []int
			for _, c := range certs {
				blocks = append(blocks, c.Block)
			}
			if !slices.Equal(blocks, tc.wantCerts) {
				t.Errorf("blocks %v, want %v", blocks, tc.wantCerts)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestParsePEMSeverities(t *testing.T) {
	ca := newCA(t, "ca", 365*day)
	for _, tc := range []struct {
		life time.Duration
		want model.CertSeverity
		days int
	}{
		{-2 * day, model.CertExpired, -3},
		{5*day + time.Hour, model.CertCritical, 5},
		{25*day + time.Hour, model.CertWarning, 25},
		{365 * day, model.CertOK, 364},
	} {
		cert, _ := ca.issue(t, spec{cn: "x", kind: model.CertServer, life: tc.life})
		certs, err := ParsePEM("x", cert)
		if err != nil {
			t.Fatal(err)
		}
		c := certs[0]
		if got := model.DefaultCertThresholds.Classify(c.NotAfter, now); got != tc.want {
			t.Errorf("life %v: severity %v, want %v", tc.life, got, tc.want)
		}
		// NotAfter is truncated to the second, so the day count may be one
		// less than the life in whole days, never more.
		if got := c.DaysLeft(now); got != tc.days && got != tc.days+1 {
			t.Errorf("life %v: %d days left, want %d", tc.life, got, tc.days)
		}
	}
}
