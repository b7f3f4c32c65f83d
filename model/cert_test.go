package model

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"
)

func TestCertKindOf(t *testing.T) {
	server, client := x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth
	for _, tc := range []struct {
		name string
		ca   bool
		eku  []x509.ExtKeyUsage
		want CertKind
	}{
		{"CA", true, nil, CertCA},
		{"CA with server usage is still a CA", true, []x509.ExtKeyUsage{server}, CertCA},
		{"server", false, []x509.ExtKeyUsage{server}, CertServer},
		{"client", false, []x509.ExtKeyUsage{client}, CertClient},
		{"peer: server and client", false, []x509.ExtKeyUsage{client, server}, CertServerClient},
		{"no extended usage is valid for both", false, nil, CertServerClient},
		{"any usage", false, []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CertServerClient},
		{"code signing only", false, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, CertOther},
		{"server among others", false, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning, server}, CertServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CertKindOf(&x509.Certificate{IsCA: tc.ca, ExtKeyUsage: tc.eku}); got != tc.want {
				t.Errorf("CertKindOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCertSeverityString(t *testing.T) {
	for s, want := range map[CertSeverity]string{
		CertOK: "ok", CertWarning: "warning", CertCritical: "critical", CertExpired: "expired", CertSeverity(9): "CertSeverity(9)",
	} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		left time.Duration
		want CertSeverity
	}{
		{"a year", 365 * day, CertOK},
		{"just over 30 days", 30*day + time.Nanosecond, CertOK},
		{"exactly 30 days", 30 * day, CertWarning},
		{"25 days", 25 * day, CertWarning},
		{"just over 7 days", 7*day + time.Nanosecond, CertWarning},
		{"exactly 7 days", 7 * day, CertCritical},
		{"5 days", 5 * day, CertCritical},
		{"expires this instant, still valid", 0, CertCritical},
		{"one nanosecond past", -time.Nanosecond, CertExpired},
		{"a year ago", -365 * day, CertExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := DefaultCertThresholds.Classify(now.Add(tc.left), now); got != tc.want {
				t.Errorf("Classify = %v, want %v", got, tc.want)
			}
		})
	}
	custom := CertThresholds{Critical: time.Hour, Warning: 2 * time.Hour}
	if got := custom.Classify(now.Add(90*time.Minute), now); got != CertWarning {
		t.Errorf("custom thresholds: Classify = %v, want warning", got)
	}
}

func TestDaysLeft(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		notAfter time.Time
		want     int
	}{
		{"exactly 30 days", now.Add(30 * day), 30},
		{"30 days less a nanosecond rounds down", now.Add(30*day - time.Nanosecond), 29},
		{"30 and a half days", now.Add(30*day + 12*time.Hour), 30},
		{"last day", now.Add(time.Hour), 0},
		{"this instant", now, 0},
		{"a nanosecond ago is expired", now.Add(-time.Nanosecond), -1},
		{"a second ago", now.Add(-time.Second), -1},
		{"exactly a day ago", now.Add(-day), -1},
		{"a day and a second ago", now.Add(-day - time.Second), -2},
		{"far future does not saturate", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), 2912383},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Certificate{NotAfter: tc.notAfter}).DaysLeft(now); got != tc.want {
				t.Errorf("DaysLeft = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestDaysLeftAgreesWithClassify(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, d := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond, -48 * time.Hour} {
		c := Certificate{NotAfter: now.Add(d)}
		expired := DefaultCertThresholds.Classify(c.NotAfter, now) == CertExpired
		if (c.DaysLeft(now) < 0) != expired {
			t.Errorf("%v: DaysLeft %d but expired=%v", d, c.DaysLeft(now), expired)
		}
	}
}

func TestSortCertsByExpiry(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certs := []Certificate{
		{Source: "/b", Block: 0, NotAfter: t0.Add(48 * time.Hour)},
		{Source: "/b", Block: 2, NotAfter: t0},
		{Source: "/a", Block: 5, NotAfter: t0.Add(time.Hour)},
		{Source: "/b", Block: 1, NotAfter: t0},
		{Source: "/a", Block: 3, NotAfter: t0},
	}
	SortCertsByExpiry(certs)
	var got []string
	for _, c := range certs {
		got = append(got, c.Source+"#"+string(rune('0'+c.Block)))
	}
	want := []string{"/a#3", "/b#1", "/b#2", "/a#5", "/b#0"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestNewCertificate(t *testing.T) {
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	na := nb.AddDate(1, 0, 0)
	x := &x509.Certificate{
		Subject:      pkix.Name{CommonName: "master.example.com", Organization: []string{"ops"}},
		Issuer:       pkix.Name{CommonName: "openshift-signer@1"},
		SerialNumber: big.NewInt(0xabc1),
		NotBefore:    nb,
		NotAfter:     na,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"master.example.com", "kubernetes"},
		IPAddresses:  []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")},
	}
	c := NewCertificate(x, "/etc/origin/master/master.server.crt", 2)
	if c.SubjectCN != "master.example.com" || c.Subject != "CN=master.example.com,O=ops" || c.Issuer != "CN=openshift-signer@1" {
		t.Errorf("names: %q %q %q", c.SubjectCN, c.Subject, c.Issuer)
	}
	if c.Kind != CertServer || c.Serial != "ABC1" || c.Block != 2 || c.Source != "/etc/origin/master/master.server.crt" {
		t.Errorf("kind %q serial %q block %d source %q", c.Kind, c.Serial, c.Block, c.Source)
	}
	if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
		t.Errorf("validity %v..%v", c.NotBefore, c.NotAfter)
	}
	if !slices.Equal(c.DNSNames, x.DNSNames) || !slices.Equal(c.IPAddresses, []string{"10.0.0.1", "fd00::1"}) {
		t.Errorf("SANs %v %v", c.DNSNames, c.IPAddresses)
	}
	x.DNSNames[0] = "changed"
	if c.DNSNames[0] != "master.example.com" {
		t.Error("DNSNames shares the parsed certificate's slice")
	}
}

func TestNotAfterAnnotation(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ann     map[string]string
		want    time.Time
		ok, err bool
	}{
		{"absent", map[string]string{"other": "x"}, time.Time{}, false, false},
		{"nil map", nil, time.Time{}, false, false},
		{"UTC", map[string]string{CertNotAfterAnnotation: "2026-05-01T10:00:00Z"}, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), true, false},
		{"offset", map[string]string{CertNotAfterAnnotation: "2026-05-01T12:00:00+02:00"}, time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), true, false},
		{"malformed", map[string]string{CertNotAfterAnnotation: "next tuesday"}, time.Time{}, true, true},
		{"empty", map[string]string{CertNotAfterAnnotation: ""}, time.Time{}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := NotAfterAnnotation(tc.ann)
			if !got.Equal(tc.want) || ok != tc.ok || (err != nil) != tc.err {
				t.Errorf("= %v, %v, %v; want %v, %v, err %v", got, ok, err, tc.want, tc.ok, tc.err)
			}
		})
	}
}

// Serials as `openssl x509 -noout -serial` prints them.
func TestOpenSSLSerial(t *testing.T) {
	huge, _ := new(big.Int).SetString("0a1b2c3d4e5f60718293a4b5c6d7e8f901", 16)
	for _, c := range []struct {
		n    *big.Int
		want string
	}{
		{big.NewInt(0), "00"},
		{big.NewInt(11), "0B"}, // ca.serial.txt's "0B"
		{big.NewInt(0xabc1), "ABC1"},
		{big.NewInt(0x80), "80"}, // DER's padding byte is not printed
		{big.NewInt(0x1234), "1234"},
		{big.NewInt(0x10000), "010000"},
		{huge, "0A1B2C3D4E5F60718293A4B5C6D7E8F901"},
		{big.NewInt(-0x1ff), "-01FF"},
	} {
		if got := OpenSSLSerial(c.n); got != c.want {
			t.Errorf("%s: got %s, want %s", c.n, got, c.want)
		}
	}
}
