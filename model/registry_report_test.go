package model

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestProbeTargets(t *testing.T) {
	svc := &RegistryService{Namespace: "default", Name: "docker-registry", ClusterIP: "172.30.1.2", Port: 5000, ProbeAddress: "127.0.0.1:41000"}
	cfg := RegistriesConfig{
		Version: 2,
		Search:  []string{"registry.redhat.io", "docker.io"},
		Registries: []RegistryEntry{
			{Prefix: "*.corp.example.com", Insecure: true},
			{Prefix: "quay.io", Location: "quay.io", Blocked: true},
			{Prefix: "registry.example.com:5000", Location: "registry.example.com:5000", Insecure: true},
			{Prefix: "registry.redhat.io/openshift3", Location: "registry.redhat.io/openshift3",
				Mirrors: []RegistryMirror{{Location: "127.0.0.1:41000/openshift3"}}},
		},
	}
	imports := []ImportRegistry{
		{DomainName: "docker-registry.default.svc:5000"}, {DomainName: "quay.io"}, {DomainName: "*.redhat.com"},
		{DomainName: "registry.example.com:5000", Insecure: true},
		// Insecure for imports, but pulls verify it: probed securely.
		{DomainName: "registry.redhat.io", Insecure: true},
	}
	want := []ProbeTarget{
		{HostPort: "docker-registry.default.svc:5000", Roles: []string{RoleIntegrated, RoleImport}, URL: "https://docker-registry.default.svc:5000", Via: "127.0.0.1:41000"},
		{HostPort: "registry.redhat.io", Roles: []string{RoleSearch, RoleRegistry, RoleImport}, URL: "https://registry.redhat.io"},
		{HostPort: "docker.io", Roles: []string{RoleSearch}, URL: "https://registry-1.docker.io"},
		{HostPort: "registry.example.com:5000", Roles: []string{RoleRegistry, RoleImport}, URL: "https://registry.example.com:5000", Insecure: true},
		{HostPort: "127.0.0.1:41000", Roles: []string{"mirror of registry.redhat.io/openshift3"}, URL: "https://127.0.0.1:41000"},
		{HostPort: "quay.io", Roles: []string{RoleImport}, URL: "https://quay.io"},
	}
	if got := ProbeTargets(svc, cfg, imports); !reflect.DeepEqual(got, want) {
		t.Errorf("ProbeTargets =\n%+v\nwant\n%+v", got, want)
	}
	if got := ProbeTargets(nil, RegistriesConfig{}, nil); len(got) != 0 {
		t.Errorf("nothing configured: %+v", got)
	}
}

func TestRegistryServiceAddress(t *testing.T) {
	s := RegistryService{Namespace: "openshift-image-registry", Name: "image-registry", ClusterIP: "172.30.9.9", Port: 5000}
	if s.HostPort() != "image-registry.openshift-image-registry.svc:5000" || s.Address() != "172.30.9.9:5000" {
		t.Errorf("%s via %s", s.HostPort(), s.Address())
	}
	s.ProbeAddress = "127.0.0.1:5000"
	if s.Address() != "127.0.0.1:5000" {
		t.Errorf("annotated: %s", s.Address())
	}
	s.ProbeAddress, s.ClusterIP = "", "None"
	if s.Address() != "" {
		t.Errorf("headless: %q", s.Address())
	}
}

func TestWithProbe(t *testing.T) {
	r := RegistryReport{ID: 7, Targets: make([]ProbeTarget, 2), Probes: []RegistryProbe{{ReportID: 7}, {ReportID: 7, Index: 1}}}
	p := RegistryProbe{ReportID: 7, Index: 1, Done: true, Results: []ProbeResult{{Status: 401}}}
	got := r.WithProbe(p)
	if !reflect.DeepEqual(got.Probes[1], p) || got.ProbesDone() != 1 {
		t.Errorf("merged: %+v", got.Probes)
	}
	if r.Probes[1].Done || r.ProbesDone() != 0 {
		t.Errorf("WithProbe changed the report it was called on: %+v", r.Probes)
	}
	for _, stale := range []RegistryProbe{{ReportID: 6, Index: 1, Done: true}, {ReportID: 7, Index: 2, Done: true}, {ReportID: 7, Index: -1, Done: true}} {
		if got := r.WithProbe(stale); got.ProbesDone() != 0 {
			t.Errorf("merged %+v", stale)
		}
	}
}

func TestProbeCertNotAfter(t *testing.T) {
	at := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	p := RegistryProbe{Results: []ProbeResult{{Meaning: ProbeTimedOut}, {CertNotAfter: at}}}
	if !p.CertNotAfter().Equal(at) || !(RegistryProbe{}).CertNotAfter().IsZero() {
		t.Errorf("CertNotAfter = %v", p.CertNotAfter())
	}
}

// A secure registry without a certs.d CA is judged by its probe: pending is
// a warning, a verified handshake clears it, a rejected certificate or a
// plain-HTTP answer fails, no answer stays a warning with the reason.
func TestReportFindings(t *testing.T) {
	hosts := []string{"pending.example.com", "cafile.example.com", "verified.example.com", "rejected.example.com", "down.example.com", "plain.example.com", "insecure.example.com"}
	r := RegistryReport{
		ID: 1,
		Config: RegistriesConfig{Version: 1, Search: hosts, Registries: []RegistryEntry{
			{Prefix: "insecure.example.com", Location: "insecure.example.com", Insecure: true},
		}},
		ImportPolicy: []ImportRegistry{{DomainName: "quay.io"}, {DomainName: "legacy.example.com", Insecure: true}},
	}
	r.Targets = ProbeTargets(nil, r.Config, r.ImportPolicy)
	r.Probes = make([]RegistryProbe, len(r.Targets))
	for i := range r.Probes {
		r.Probes[i] = RegistryProbe{ReportID: 1, Index: i}
	}
	r.Targets[1].CAs = []string{"/etc/docker/certs.d/cafile.example.com/ca.crt"}
	done := func(i int, verified bool, meaning, err string) {
		r = r.WithProbe(RegistryProbe{ReportID: 1, Index: i, Done: true, Verified: verified, Results: []ProbeResult{{Meaning: meaning, Err: err}}})
	}
	done(2, true, "healthy", "")
	done(3, false, ProbeCertBad, "x509: certificate signed by unknown authority")
	done(4, false, ProbeTimedOut, "no response within 5s")
	done(5, false, ProbePlainHTTP, "http: server gave HTTP response to HTTPS client")

	got := map[string]RegistryFinding{}
	for _, f := range r.Findings() {
		got[f.Registry] = f
	}
	for reg, want := range map[string]struct{ level, kind, text string }{
		"pending.example.com":  {FindingWarn, FindingUntrusted, "trusted only if the system roots are (not probed yet)"},
		"rejected.example.com": {FindingFail, FindingUntrusted, "not trusted (x509: certificate signed by unknown authority): pulls fail until its CA is in /etc/docker/certs.d/rejected.example.com/ca.crt"},
		"down.example.com":     {FindingWarn, FindingUntrusted, "whether the system roots trust it is unknown (timed out)"},
		"plain.example.com":    {FindingFail, FindingUntrusted, "speaks plain HTTP but is not marked insecure"},
		"insecure.example.com": {FindingWarn, FindingInsecure, "pulls skip TLS verification"},
		"legacy.example.com":   {FindingWarn, FindingInsecureImport, "oc import-image from it skips TLS verification"},
	} {
		f, ok := got[reg]
		if !ok || f.Level != want.level || f.Kind != want.kind || !strings.Contains(f.Message, want.text) {
			t.Errorf("%s: %+v, want %s %s %q", reg, f, want.level, want.kind, want.text)
		}
		delete(got, reg)
	}
	// cafile (certs.d CA), verified (system roots) and quay.io (imports
	// are not pulled) have nothing to fix.
	if len(got) != 0 {
		t.Errorf("unexpected findings: %+v", got)
	}
}
