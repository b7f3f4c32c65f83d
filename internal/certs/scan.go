package certs

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// certDirs are scanned recursively.
var certDirs = []string{
	"/etc/origin/master", "/etc/origin/node", "/etc/etcd", // OpenShift 3.11
	"/etc/kubernetes/pki",                  // kubeadm
	"/etc/kubernetes/static-pod-resources", // OpenShift 4
}

// kubernetesDir's own files (not its subdirectories, which hold manifests
// and CNI configs) are kubeadm's admin.conf, kubelet.conf, ... and OpenShift
// 4's kubeconfig and kubelet-ca.crt.
const kubernetesDir = "/etc/kubernetes"

const etcdConf = "/etc/etcd/etcd.conf"

// nodeConfigs are the OpenShift 3.11 configs whose certificate paths may
// point outside the scanned directories.
var nodeConfigs = []string{"/etc/origin/master/master-config.yaml", "/etc/origin/node/node-config.yaml"}

// ScanHost finds the certificates of a master or node under root ("/" in
// production): Scan of this machine's files.
func ScanHost(root string) (certs []model.Certificate, problems []error) {
	return Scan(hostfs.New(root))
}

// Scan finds the certificates of a master or node, this one or another over
// SSH: the certificate directories of OpenShift 3.11, kubeadm and OpenShift
// 4, and the files that etcd.conf, master-config.yaml and node-config.yaml
// name. Sources are host paths. A missing directory or config is normal
// (another distribution, another role); an unreadable or malformed file is
// a problem naming its path, and the scan goes on. Each file is read once,
// however many times it is reached.
func Scan(h hostfs.Host) (certs []model.Certificate, problems []error) {
	s := &scanner{host: host{h}, seen: map[string]bool{}}
	for _, dir := range certDirs {
		s.walk(dir, true)
	}
	s.walk(kubernetesDir, false)
	s.etcdConf()
	for _, cfg := range nodeConfigs {
		s.yamlConfig(cfg)
	}
	return s.certs, s.problems
}

type fileKind int

const (
	notCert fileKind = iota
	pemFile
	kubeconfigFile
)

// classify decides from its name alone whether a file is read, and how; a
// .key file is never opened.
func classify(hostPath string) fileKind {
	base := filepath.Base(hostPath)
	switch {
	case isKeyFile(base):
		return notCert
	case base == "kubeconfig", strings.HasSuffix(base, ".kubeconfig"),
		strings.HasSuffix(base, ".conf") && strings.HasPrefix(hostPath, kubernetesDir+"/"):
		return kubeconfigFile
	case strings.HasSuffix(base, ".crt"), strings.HasSuffix(base, ".pem"), strings.HasSuffix(base, ".cert"),
		strings.HasPrefix(base, "ca-bundle"):
		return pemFile
	default:
		return notCert
	}
}

type scanner struct {
	host
	seen     map[string]bool // host paths requested or resolved
	certs    []model.Certificate
	problems []error
}

func (s *scanner) problem(err error) { s.problems = append(s.problems, err) }

// walk scans the files of dir and, when deep, of its subdirectories;
// symbolic links to directories are not followed (ReadDir does not stat
// through them), so a loop cannot trap the scan.
func (s *scanner) walk(dir string, deep bool) {
	entries, err := s.fs.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		s.problem(fmt.Errorf("%s: %w", dir, pathErr(err)))
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case !e.IsDir():
			s.file(p, classify(p), "")
		case deep:
			s.walk(p, true)
		}
	}
}

// file parses one file once; via names the config entry that pointed at it,
// for problems.
func (s *scanner) file(hostPath string, kind fileKind, via string) {
	if kind == notCert || !s.firstVisit(hostPath) {
		return
	}
	certs, err := s.parse(hostPath, kind)
	s.certs = append(s.certs, certs...)
	// A file named like a kubeconfig that is another kind of object
	// (OpenShift 4's kubelet.conf) is simply not one: nothing to report.
	if err == nil || errors.Is(err, errNotKubeconfig) {
		return
	}
	if via != "" {
		err = fmt.Errorf("%s: %w", via, err)
	}
	s.problem(err)
}

// firstVisit records hostPath and the file behind it, and reports whether
// neither was seen before. A path that does not resolve counts as visited so
// that its problem is reported by the caller, once.
func (s *scanner) firstVisit(hostPath string) bool {
	p := filepath.Clean(hostPath)
	if s.seen[p] {
		return false
	}
	s.seen[p] = true
	resolved, err := s.resolve(p)
	if err != nil || resolved == p {
		return true
	}
	if s.seen[resolved] {
		return false
	}
	s.seen[resolved] = true
	return true
}

func (s *scanner) parse(hostPath string, kind fileKind) ([]model.Certificate, error) {
	data, err := s.read(hostPath)
	if err != nil {
		return nil, err
	}
	if kind == kubeconfigFile {
		return parseKubeconfig(s.host, hostPath, data, filepath.Dir(hostPath))
	}
	return ParsePEM(hostPath, data)
}

// readConfig reads a config file; ok is false when it is absent or broken
// (the latter reported).
func (s *scanner) readConfig(hostPath string) (data []byte, ok bool) {
	data, err := s.read(hostPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	if err != nil {
		s.problem(err)
		return nil, false
	}
	return data, true
}

// etcdConf scans the certificates etcd.conf names (ETCD_CERT_FILE,
// ETCD_TRUSTED_CA_FILE, ETCD_PEER_*): they may live outside /etc/etcd.
func (s *scanner) etcdConf() {
	data, ok := s.readConfig(etcdConf)
	if !ok {
		return
	}
	env, err := model.ParseEnvFile(data)
	if err != nil {
		s.problem(fmt.Errorf("%s: %w", etcdConf, err))
		return
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		if isEtcdCertVar(k) && classify(env[k]) == pemFile {
			s.file(env[k], pemFile, etcdConf+" "+k)
		}
	}
}

// isEtcdCertVar excludes the key variables by name as well as by the .key
// suffix, so a key stored as .pem is not opened either.
func isEtcdCertVar(k string) bool {
	return strings.HasPrefix(k, "ETCD_") && strings.HasSuffix(k, "_FILE") && !strings.Contains(k, "KEY")
}

// yamlConfig scans the certificates a master-config.yaml or node-config.yaml
// names; relative paths are relative to the config's directory.
func (s *scanner) yamlConfig(hostPath string) {
	data, ok := s.readConfig(hostPath)
	if !ok {
		return
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		s.problem(fmt.Errorf("%s: %w", hostPath, err))
		return
	}
	for _, r := range certRefs("", doc) {
		p := r.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(hostPath), p)
		}
		s.file(p, pemFile, hostPath+" "+r.key)
	}
}

// certRef is a certificate path named in a YAML config, with the key that
// names it ("etcdClientInfo.ca").
type certRef struct{ key, path string }

// certRefs walks a decoded YAML document for string values of certificate
// keys: certFile, ca, clientCA, masterCA and the like (keyFile is not one).
func certRefs(prefix string, node any) []certRef {
	var refs []certRef
	switch n := node.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(n)) {
			key := strings.TrimPrefix(prefix+"."+k, ".")
			if v, ok := n[k].(string); ok && v != "" && isCertKey(k) {
				refs = append(refs, certRef{key, v})
			}
			refs = append(refs, certRefs(key, n[k])...)
		}
	case []any:
		for i, v := range n {
			refs = append(refs, certRefs(fmt.Sprintf("%s[%d]", prefix, i), v)...)
		}
	}
	return refs
}

func isCertKey(k string) bool {
	return k == "ca" || strings.HasSuffix(k, "CA") || strings.HasSuffix(k, "certFile") || strings.HasSuffix(k, "CertFile")
}
