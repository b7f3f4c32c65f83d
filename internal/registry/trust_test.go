package registry

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/day2ops/day2/model"
)

func TestTrustedCAs(t *testing.T) {
	root := writeFiles(t, map[string]string{
		"etc/docker/certs.d/registry.example.com:5000/ca.crt":        "a",
		"etc/docker/certs.d/registry.example.com:5000/client.cert":   "client certificate, not a CA",
		"etc/docker/certs.d/registry.example.com:5000/client.key":    "key",
		"etc/containers/certs.d/registry.example.com:5000/extra.crt": "b",
		"etc/docker/certs.d/registry.example.com/ca.crt":             "other port, other directory",
		"etc/docker/certs.d/10.10.10.10/ca.crt":                      "c",
		"etc/ca.crt":                                                 "outside certs.d",
	})
	if err := os.Mkdir(filepath.Join(root, "etc/docker/certs.d/registry.example.com:5000/dir.crt"), 0o755); err != nil {
		t.Fatal(err)
	}
	for hostport, want := range map[string][]string{
		"registry.example.com:5000": {
			"/etc/docker/certs.d/registry.example.com:5000/ca.crt",
			"/etc/containers/certs.d/registry.example.com:5000/extra.crt",
		},
		"10.10.10.10":        {"/etc/docker/certs.d/10.10.10.10/ca.crt"},
		"unknown.example":    nil,
		"..":                 nil,
		"../..":              nil,
		"10.10.10.10/../..":  nil,
		"":                   nil,
		"registry.example.*": nil,
	} {
		if got := TrustedCAs(root, hostport); !reflect.DeepEqual(got, want) {
			t.Errorf("TrustedCAs(%q) = %q, want %q", hostport, got, want)
		}
	}
}

func TestTLSConfigForRejectsBadCAFile(t *testing.T) {
	root := writeFiles(t, map[string]string{"etc/docker/certs.d/r.example.com/ca.crt": "not PEM"})
	_, err := TLSConfigFor(root, "r.example.com")
	if err == nil || !strings.Contains(err.Error(), "/etc/docker/certs.d/r.example.com/ca.crt: no PEM certificate") {
		t.Errorf("error = %v, want one naming the CA file", err)
	}
}

func TestAllowedRegistriesForImport(t *testing.T) {
	// Seed 003 §7.3.7's list, with an insecure entry as the demo masters have.
	root := writeFiles(t, map[string]string{MasterConfig: `apiVersion: v1
kind: MasterConfig
imagePolicyConfig:
  internalRegistryHostname: docker-registry.default.svc:5000
  allowedRegistriesForImport:
  - domainName: docker.io
  - domainName: '\*.docker.io'
  - domainName: '*.redhat.com'
  - domainName: 'my.registry.example.com'
  - domainName: registry.example.com:5000
    insecure: true
`})
	got, err := AllowedRegistriesForImport(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []model.ImportRegistry{
		{DomainName: "docker.io"}, {DomainName: `\*.docker.io`}, {DomainName: "*.redhat.com"},
		{DomainName: "my.registry.example.com"}, {DomainName: "registry.example.com:5000", Insecure: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}

	if got, err := AllowedRegistriesForImport(t.TempDir()); err != nil || got != nil {
		t.Errorf("no master-config.yaml: %v, %v; want nothing and no error", got, err)
	}

	root = writeFiles(t, map[string]string{MasterConfig: "imagePolicyConfig:\n  allowedRegistriesForImport: docker.io\n"})
	if _, err := AllowedRegistriesForImport(root); err == nil || !strings.HasPrefix(err.Error(), "/etc/origin/master/master-config.yaml: ") {
		t.Errorf("malformed: error = %v, want one naming the file", err)
	}
}
