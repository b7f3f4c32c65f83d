// Package etcd is day2's adapter to etcd: where the endpoints and client
// certificates are, and a poller that publishes membership, status and
// health snapshots even when quorum is lost.
package etcd

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/day2ops/day2/model"
)

// Config is how to reach etcd.
type Config struct {
	Endpoints         []string
	CACert, Cert, Key string
	// Source says where this came from, for the pane: "flags",
	// "ETCDCTL_* environment" or the etcd.conf path.
	Source string
}

// DiscoverOptions are the inputs discovery looks at, in order.
type DiscoverOptions struct {
	// Flags: used when Endpoints is set.
	Endpoints         []string
	CACert, Cert, Key string
	// HostRoot is where host files are read ("/" in production).
	HostRoot string
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
}

// Host files discovery reads, relative to the host root.
const (
	// EtcdConf is the OpenShift 3.11 etcd configuration file on a master.
	EtcdConf = "etc/etcd/etcd.conf"
	// MasterConfig is the OpenShift 3.11 master configuration; its
	// etcdClientInfo names the API server's etcd client certificate.
	MasterConfig = "etc/origin/master/master-config.yaml"
	// OCP4EtcdCerts holds an OpenShift 4 master's etcd certificates and the
	// etcd.env the etcd static pod sources.
	OCP4EtcdCerts = "etc/kubernetes/static-pod-resources/etcd-certs"
	// KubeadmPKI is a kubeadm control-plane node's certificate directory.
	KubeadmPKI = "etc/kubernetes/pki"
)

// ErrNotFound means no source named any etcd endpoint.
var ErrNotFound = errors.New("no etcd endpoints: pass --etcd-endpoints, set ETCDCTL_ENDPOINTS, or run on a master " +
	"(/etc/etcd/etcd.conf, master-config.yaml etcdClientInfo, OpenShift 4 etcd.env, or kubeadm /etc/kubernetes/pki/etcd)")

// Discover finds the endpoints and client certificates: flags, then the
// ETCDCTL_* environment, then under the host root: OpenShift 3.11
// /etc/etcd/etcd.conf (its client URLs with the member's peer certificate,
// as seed 003 §3.3 does with etcdctl), the master-config.yaml
// etcdClientInfo, OpenShift 4's etcd.env, kubeadm's pki/etcd. Certificate
// files must be readable; a malformed file is an error naming it.
func Discover(o DiscoverOptions) (Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var cfg Config
	switch {
	case len(o.Endpoints) > 0:
		cfg = Config{Endpoints: o.Endpoints, CACert: o.CACert, Cert: o.Cert, Key: o.Key, Source: "flags"}
	case getenv("ETCDCTL_ENDPOINTS") != "":
		cfg = Config{
			Endpoints: splitList(getenv("ETCDCTL_ENDPOINTS")),
			CACert:    getenv("ETCDCTL_CACERT"), Cert: getenv("ETCDCTL_CERT"), Key: getenv("ETCDCTL_KEY"),
			Source: "ETCDCTL_* environment",
		}
	default:
		root := o.HostRoot
		if root == "" {
			root = "/"
		}
		var err error
		for _, source := range []func(string) (Config, error){fromEtcdConf, fromMasterConfig, fromOCP4, fromKubeadm} {
			cfg, err = source(root)
			if !errors.Is(err, ErrNotFound) {
				break
			}
		}
		if err != nil {
			return Config{}, err
		}
	}
	if len(cfg.Endpoints) == 0 {
		return Config{}, ErrNotFound
	}
	for _, f := range []struct{ what, path string }{{"CA certificate", cfg.CACert}, {"client certificate", cfg.Cert}, {"client key", cfg.Key}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return Config{}, fmt.Errorf("etcd %s from %s: %w", f.what, cfg.Source, err)
		}
	}
	return cfg, nil
}

// readHostFile reads rel under the host root; a missing file is ErrNotFound.
func readHostFile(hostRoot, rel string) (string, []byte, error) {
	path := filepath.Join(hostRoot, rel)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return path, nil, ErrNotFound
	}
	if err != nil {
		return path, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return path, data, nil
}

// readEnvFile reads and parses a KEY=VALUE file under the host root.
func readEnvFile(hostRoot, rel string) (string, map[string]string, error) {
	path, data, err := readHostFile(hostRoot, rel)
	if err != nil {
		return path, nil, err
	}
	env, err := model.ParseEnvFile(data)
	if err != nil {
		return path, nil, fmt.Errorf("%s: %w", path, err)
	}
	return path, env, nil
}

// under maps an absolute host path under the host root ("" stays "").
func under(hostRoot, p string) string {
	if p == "" {
		return ""
	}
	return filepath.Join(hostRoot, p)
}

func fromEtcdConf(hostRoot string) (Config, error) {
	path, env, err := readEnvFile(hostRoot, EtcdConf)
	if err != nil {
		return Config{}, err
	}
	eps := splitList(env["ETCD_LISTEN_CLIENT_URLS"])
	if anyWildcard(eps) || len(eps) == 0 {
		eps = splitList(env["ETCD_ADVERTISE_CLIENT_URLS"])
	}
	ca := env["ETCD_TRUSTED_CA_FILE"]
	if ca == "" {
		ca = "/etc/etcd/ca.crt"
	}
	return Config{
		Endpoints: eps, CACert: under(hostRoot, ca), Cert: under(hostRoot, env["ETCD_PEER_CERT_FILE"]), Key: under(hostRoot, env["ETCD_PEER_KEY_FILE"]),
		Source: path,
	}, nil
}

// fromMasterConfig reads etcdClientInfo from master-config.yaml, the
// client identity the API server itself uses (a master that does not run
// etcd has no etcd.conf). Relative paths are relative to the file.
func fromMasterConfig(hostRoot string) (Config, error) {
	path, data, err := readHostFile(hostRoot, MasterConfig)
	if err != nil {
		return Config{}, err
	}
	var mc struct {
		EtcdClientInfo struct {
			CA       string   `json:"ca"`
			CertFile string   `json:"certFile"`
			KeyFile  string   `json:"keyFile"`
			URLs     []string `json:"urls"`
		} `json:"etcdClientInfo"`
	}
	if err := yaml.Unmarshal(data, &mc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	ci := mc.EtcdClientInfo
	if len(ci.URLs) == 0 {
		return Config{}, ErrNotFound
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return under(hostRoot, p)
		}
		return filepath.Join(filepath.Dir(path), p)
	}
	return Config{Endpoints: ci.URLs, CACert: rel(ci.CA), Cert: rel(ci.CertFile), Key: rel(ci.KeyFile), Source: path + " etcdClientInfo"}, nil
}

// fromOCP4 reads the etcd.env the OpenShift 4 etcd static pod sources. Its
// paths are as mounted in the pod (/etc/kubernetes/static-pod-certs); on
// the host they live under static-pod-resources/etcd-certs.
func fromOCP4(hostRoot string) (Config, error) {
	matches, _ := filepath.Glob(filepath.Join(hostRoot, OCP4EtcdCerts, "*", "*", "etcd.env"))
	if len(matches) == 0 {
		return Config{}, ErrNotFound
	}
	rel, _ := filepath.Rel(hostRoot, matches[0])
	path, env, err := readEnvFile(hostRoot, rel)
	if err != nil {
		return Config{}, err
	}
	eps := splitList(env["ETCDCTL_ENDPOINTS"])
	if len(eps) == 0 {
		eps = splitList(env["ALL_ETCD_ENDPOINTS"])
	}
	if len(eps) == 0 {
		return Config{}, fmt.Errorf("%s: neither ETCDCTL_ENDPOINTS nor ALL_ETCD_ENDPOINTS is set", path)
	}
	host := func(p string) string {
		if rest, ok := strings.CutPrefix(p, "/etc/kubernetes/static-pod-certs"); ok {
			return filepath.Join(hostRoot, OCP4EtcdCerts, rest)
		}
		return under(hostRoot, p)
	}
	return Config{Endpoints: eps, CACert: host(env["ETCDCTL_CACERT"]), Cert: host(env["ETCDCTL_CERT"]), Key: host(env["ETCDCTL_KEY"]), Source: path}, nil
}

// fromKubeadm uses a kubeadm control-plane node's etcd CA and the API
// server's etcd client certificate, with the local member's client URL
// (the poller finds the others from the member list).
func fromKubeadm(hostRoot string) (Config, error) {
	dir := filepath.Join(hostRoot, KubeadmPKI)
	ca := filepath.Join(dir, "etcd", "ca.crt")
	if _, err := os.Stat(ca); err != nil {
		return Config{}, ErrNotFound
	}
	cert, key := filepath.Join(dir, "apiserver-etcd-client.crt"), filepath.Join(dir, "apiserver-etcd-client.key")
	if _, err := os.Stat(cert); err != nil {
		cert, key = filepath.Join(dir, "etcd", "healthcheck-client.crt"), filepath.Join(dir, "etcd", "healthcheck-client.key")
	}
	return Config{Endpoints: []string{"https://127.0.0.1:2379"}, CACert: ca, Cert: cert, Key: key, Source: filepath.Join(dir, "etcd")}, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// anyWildcard reports listen URLs such as https://0.0.0.0:2379 that are no
// address to dial.
func anyWildcard(urls []string) bool {
	for _, u := range urls {
		if p, err := url.Parse(u); err == nil && (p.Hostname() == "0.0.0.0" || p.Hostname() == "::") {
			return true
		}
	}
	return false
}
