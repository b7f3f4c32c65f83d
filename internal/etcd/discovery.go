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

// EtcdConf is the OpenShift 3.11 etcd configuration file on a master.
const EtcdConf = "etc/etcd/etcd.conf"

// ErrNotFound means no source named any etcd endpoint.
var ErrNotFound = errors.New("no etcd endpoints: pass --etcd-endpoints, set ETCDCTL_ENDPOINTS, or run on a master with /etc/etcd/etcd.conf")

// Discover finds the endpoints and client certificates: flags, then the
// ETCDCTL_* environment, then /etc/etcd/etcd.conf under the host root (its
// client URLs with the member's peer certificate, as seed 003 §3.3 does with
// etcdctl). Certificate files must be readable; a malformed etcd.conf is an
// error naming the file and line.
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
		var err error
		if cfg, err = fromEtcdConf(o.HostRoot); err != nil {
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

func fromEtcdConf(hostRoot string) (Config, error) {
	if hostRoot == "" {
		hostRoot = "/"
	}
	path := filepath.Join(hostRoot, EtcdConf)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, ErrNotFound
	}
	if err != nil {
		return Config{}, fmt.Errorf("read %s: %w", path, err)
	}
	env, err := model.ParseEnvFile(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	eps := splitList(env["ETCD_LISTEN_CLIENT_URLS"])
	if anyWildcard(eps) || len(eps) == 0 {
		eps = splitList(env["ETCD_ADVERTISE_CLIENT_URLS"])
	}
	ca := env["ETCD_TRUSTED_CA_FILE"]
	if ca == "" {
		ca = "/etc/etcd/ca.crt"
	}
	under := func(p string) string {
		if p == "" {
			return ""
		}
		return filepath.Join(hostRoot, p)
	}
	return Config{
		Endpoints: eps, CACert: under(ca), Cert: under(env["ETCD_PEER_CERT_FILE"]), Key: under(env["ETCD_PEER_KEY_FILE"]),
		Source: path,
	}, nil
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
