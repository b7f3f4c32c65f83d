package certs

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// errNotKubeconfig marks a file that is another kind of Kubernetes object,
// such as OpenShift 4's /etc/kubernetes/kubelet.conf (a KubeletConfiguration).
var errNotKubeconfig = errors.New("not a kubeconfig")

// ParseKubeconfig returns every cluster CA and every user client certificate
// of a kubeconfig, embedded (certificate-authority-data,
// client-certificate-data) or by path (certificate-authority,
// client-certificate; relative paths are relative to baseDir). Source names
// the entry: "<source> (cluster NAME CA)" or "<source> (user NAME)", with the
// file appended for a path. A path that cannot be read or a certificate that
// does not parse is an error; the other entries are still returned. Client
// keys are never read.
func ParseKubeconfig(source string, data []byte, baseDir string) ([]model.Certificate, error) {
	abs, err := filepath.Abs(baseDir)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: base directory: %w", source, err)
	}
	return parseKubeconfig(host{hostfs.New("/")}, source, data, abs)
}

// parseKubeconfig is ParseKubeconfig for a kubeconfig on host h, whose paths
// (and baseDir) are host paths.
func parseKubeconfig(h host, source string, data []byte, baseDir string) ([]model.Certificate, error) {
	cfg, err := clientcmd.Load(data)
	if runtime.IsNotRegisteredError(err) {
		return nil, fmt.Errorf("parse kubeconfig %s: %w: %v", source, errNotKubeconfig, err)
	}
	if err != nil {
		return nil, fmt.Errorf("parse kubeconfig %s: %w", source, err)
	}
	var entries []kubeconfigEntry
	for _, name := range slices.Sorted(maps.Keys(cfg.Clusters)) {
		c := cfg.Clusters[name]
		entries = append(entries, kubeconfigEntry{"cluster " + name + " CA", c.CertificateAuthorityData, c.CertificateAuthority})
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.AuthInfos)) {
		u := cfg.AuthInfos[name]
		entries = append(entries, kubeconfigEntry{"user " + name, u.ClientCertificateData, u.ClientCertificate})
	}
	var certs []model.Certificate
	var errs []error
	for _, e := range entries {
		found, err := e.certificates(h, source, baseDir)
		certs = append(certs, found...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return certs, errors.Join(errs...)
}

// kubeconfigEntry is one certificate a kubeconfig names, in either form.
type kubeconfigEntry struct {
	what string
	data []byte
	path string
}

func (e kubeconfigEntry) certificates(h host, source, baseDir string) ([]model.Certificate, error) {
	var certs []model.Certificate
	var errs []error
	if len(e.data) > 0 {
		found, err := ParsePEM(fmt.Sprintf("%s (%s)", source, e.what), e.data)
		certs = append(certs, found...)
		errs = append(errs, err)
	}
	if e.path != "" {
		p := e.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(baseDir, p)
		}
		if data, err := h.read(p); err != nil {
			errs = append(errs, fmt.Errorf("kubeconfig %s (%s): %w", source, e.what, err))
		} else {
			found, err := ParsePEM(fmt.Sprintf("%s (%s, %s)", source, e.what, p), data)
			certs = append(certs, found...)
			errs = append(errs, err)
		}
	}
	return certs, errors.Join(errs...)
}
