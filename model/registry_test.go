package model

import (
	"reflect"
	"testing"
)

func TestRegistryFindings(t *testing.T) {
	trustedSet := func(hps ...string) func(string) bool {
		return func(hp string) bool {
			for _, h := range hps {
				if h == hp {
					return true
				}
			}
			return false
		}
	}
	warn := func(reg, msg string) RegistryFinding { return RegistryFinding{reg, FindingWarn, FindingInsecure, msg} }
	fail := func(reg, hp string) RegistryFinding {
		return RegistryFinding{reg, FindingFail, FindingUntrusted, "registry without a trusted CA: pulls fail until its CA is in /etc/docker/certs.d/" + hp + "/ca.crt"}
	}
	for _, tc := range []struct {
		name    string
		cfg     RegistriesConfig
		trusted func(string) bool
		want    []RegistryFinding
	}{
		{
			name: "v1 seed 7.3.4: insecure localhost, block all, the rest trusted",
			cfg: RegistriesConfig{
				Version: 1,
				Search:  []string{"registry.redhat.io", "docker.io", "localhost:5000"},
				Registries: []RegistryEntry{
					{Prefix: "all", Location: "all", Blocked: true},
					{Prefix: "localhost:5000", Location: "localhost:5000", Insecure: true},
				},
			},
			trusted: trustedSet("registry.redhat.io", "docker.io"),
			want:    []RegistryFinding{warn("localhost:5000", "insecure registry: pulls skip TLS verification")},
		},
		{
			name:    "secure search registry without a CA fails",
			cfg:     RegistriesConfig{Version: 1, Search: []string{"registry.redhat.io", "my.registry.example.com"}},
			trusted: trustedSet("registry.redhat.io"),
			want:    []RegistryFinding{fail("my.registry.example.com", "my.registry.example.com")},
		},
		{
			name: "docker: a blocked registry in the search list is whitelisted, so checked",
			cfg: RegistriesConfig{Version: 1, Reading: ReadingDocker, Search: []string{"a.example.com"},
				Registries: []RegistryEntry{{Prefix: "a.example.com", Location: "a.example.com", Blocked: true}}},
			trusted: trustedSet(),
			want:    []RegistryFinding{fail("a.example.com", "a.example.com")},
		},
		{
			name: "v2: a blocked registry is not pulled from, even when searched",
			cfg: RegistriesConfig{Version: 2, Search: []string{"a.example.com"},
				Registries: []RegistryEntry{{Prefix: "a.example.com", Location: "a.example.com", Blocked: true, Insecure: true}}},
			trusted: trustedSet(),
		},
		{
			name: "v2 mirrors: insecure mirror warns, untrusted mirror fails, rewritten location checked",
			cfg: RegistriesConfig{Version: 2, Search: []string{"docker.io"},
				Registries: []RegistryEntry{{Prefix: "docker.io", Location: "docker-proxy.example.com:5000/hub", Mirrors: []RegistryMirror{
					{Location: "mirror-a.example.com", Insecure: true},
					{Location: "mirror-b.example.com:5000/ns"},
				}}}},
			trusted: trustedSet("docker-proxy.example.com:5000"),
			want: []RegistryFinding{
				warn("mirror-a.example.com", "insecure mirror of docker.io: pulls skip TLS verification"),
				{"mirror-b.example.com:5000/ns", FindingFail, FindingUntrusted, "mirror of docker.io without a trusted CA: pulls fail until its CA is in /etc/docker/certs.d/mirror-b.example.com:5000/ca.crt"},
			},
		},
		{
			name: "wildcard prefix: insecure flag applies to the searched host, no CA check on the pattern",
			cfg: RegistriesConfig{Version: 2, Search: []string{"r.corp.example.com:5000", "s.corp.example.com"},
				Registries: []RegistryEntry{
					{Prefix: "*.example.com"},
					{Prefix: "*.corp.example.com", Insecure: true},
				}},
			trusted: trustedSet(),
			want: []RegistryFinding{
				warn("r.corp.example.com:5000", "insecure registry: pulls skip TLS verification"),
				warn("s.corp.example.com", "insecure registry: pulls skip TLS verification"),
				warn("*.corp.example.com", "insecure registry: pulls skip TLS verification"),
			},
		},
		{
			name: "each location reported once",
			cfg: RegistriesConfig{Version: 2, Search: []string{"x.example.com"}, Registries: []RegistryEntry{
				{Prefix: "x.example.com", Location: "x.example.com"},
				{Prefix: "quay.io/ns", Location: "quay.io/ns", Mirrors: []RegistryMirror{{Location: "x.example.com"}}},
			}},
			trusted: trustedSet("quay.io"),
			want:    []RegistryFinding{fail("x.example.com", "x.example.com")},
		},
		{name: "empty config", trusted: trustedSet()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cfg.Findings(tc.trusted); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Findings =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// A blocked source with mirrors is pulled from its mirrors only, and a
// mirror inside a blocked scope is never contacted (containers/image checks
// each pull source's own registry entry).
func TestPullEndpointsBlockedWithMirrors(t *testing.T) {
	c := RegistriesConfig{Version: 2, Reading: ReadingContainers, Registries: []RegistryEntry{
		{Prefix: "registry.redhat.io", Location: "registry.redhat.io", Blocked: true, Mirrors: []RegistryMirror{
			{Location: "mirror.example.com:5000/rh"}, {Location: "quay.io/rh-mirror"}, {Location: "mirror.blocked.example.com/rh"},
		}},
		{Prefix: "quay.io", Location: "quay.io", Blocked: true},
		{Prefix: "*.blocked.example.com", Blocked: true},
		{Prefix: "quay.io/open", Location: "quay.io/open"}, // a longer, unblocked prefix wins
	}}
	var got []string
	for _, ep := range c.pullEndpoints() {
		got = append(got, ep.location+" "+ep.role)
	}
	want := []string{"mirror.example.com:5000/rh mirror of registry.redhat.io", "quay.io/open registry"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pull endpoints %q, want %q", got, want)
	}
	if !c.BlockedScope("quay.io/rh-mirror") || c.BlockedScope("quay.io/open/x") || c.BlockedScope("quay.iox/a") || !c.BlockedScope("a.blocked.example.com:5000/x") {
		t.Error("blocked scopes")
	}
}

func TestEntryFor(t *testing.T) {
	c := RegistriesConfig{Registries: []RegistryEntry{
		{Prefix: "*.example.com"},
		{Prefix: "*.corp.example.com"},
		{Prefix: "corp.example.com"},
		{Prefix: "quay.io/ns"},
	}}
	for host, want := range map[string]string{
		"a.example.com":         "*.example.com",
		"a.corp.example.com":    "*.corp.example.com",
		"a.corp.example.com:80": "*.corp.example.com",
		"corp.example.com":      "corp.example.com",
		"example.com":           "",
		"notexample.com":        "",
		"quay.io":               "",
	} {
		e, ok := c.entryFor(host)
		if ok != (want != "") || e.Prefix != want {
			t.Errorf("entryFor(%q) = %q, %v; want %q", host, e.Prefix, ok, want)
		}
	}
}

func TestProbeMeaning(t *testing.T) {
	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/v2/", 200, "v2 registry, anonymous access"},
		{"/v2/", 401, "alive, wants authentication"},
		{"/v2/", 404, "not a v2 registry"},
		{"/v2/", 503, "unavailable"},
		{"/v2", 401, "alive, wants authentication"},
		{"/v2/", 403, "forbidden"},
		{"/v2/", 500, "server error"},
		{"/healthz", 200, "healthy"},
		{"/healthz", 503, "unhealthy"},
		{"/healthz", 404, "no /healthz endpoint"},
		{"/healthz", 401, "wants authentication"},
		{"/healthz", 302, "redirected"},
		{"/version", 200, "ok"},
		{"/version", 404, "not found"},
		{"/healthz", 99, "unexpected status 99"},
	} {
		if got := ProbeMeaning(tc.path, tc.status); got != tc.want {
			t.Errorf("ProbeMeaning(%q, %d) = %q, want %q", tc.path, tc.status, got, tc.want)
		}
	}
}
