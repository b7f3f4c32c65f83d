package registry

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// certsDirs hold one directory of CA files per registry host[:port]: docker's
// (seed 003 §7.2.1) and containers/image's.
var certsDirs = []string{"etc/docker/certs.d", "etc/containers/certs.d"}

// TrustedCAs lists, as host paths, the CA files installed for a registry:
// the *.crt files of certs.d/<hostport>/ (docker reads .crt as CAs and .cert
// as client certificates). A hostport that is not a plain directory name
// has none.
func TrustedCAs(root, hostport string) []string {
	if hostport == "" || hostport == "." || hostport == ".." || strings.ContainsAny(hostport, `/\`) {
		return nil
	}
	var cas []string
	for _, dir := range certsDirs {
		rel := path.Join(dir, hostport)
		entries, err := os.ReadDir(filepath.Join(root, rel))
		if err != nil {
			continue // no directory: no CA from it
		}
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".crt") {
				cas = append(cas, "/"+path.Join(rel, e.Name()))
			}
		}
	}
	return cas
}

// TLSConfigFor is the client TLS configuration a pull from hostport gets:
// the system roots plus the registry's certs.d CAs. An unreadable CA file,
// or one without a certificate, is an error naming it.
func TLSConfigFor(root, hostport string) (*tls.Config, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		// No system roots on this host: only certs.d can make a registry trusted.
		pool = x509.NewCertPool()
	}
	for _, ca := range TrustedCAs(root, hostport) {
		data, err := os.ReadFile(filepath.Join(root, ca))
		if err != nil {
			return nil, fmt.Errorf("registry CA %s: %w", ca, err)
		}
		if !pool.AppendCertsFromPEM(data) {
			return nil, fmt.Errorf("registry CA %s: no PEM certificate in it", ca)
		}
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
