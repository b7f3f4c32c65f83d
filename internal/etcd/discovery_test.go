package etcd

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeRoot(t *testing.T, conf string, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range append(files, EtcdConf) {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, EtcdConf), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDiscoverOrder(t *testing.T) {
	root := writeRoot(t, "ETCD_LISTEN_CLIENT_URLS=https://10.0.0.1:2379\nETCD_PEER_CERT_FILE=/etc/etcd/peer.crt\nETCD_PEER_KEY_FILE=/etc/etcd/peer.key\n",
		"etc/etcd/ca.crt", "etc/etcd/peer.crt", "etc/etcd/peer.key")
	ca := filepath.Join(root, "etc/etcd/ca.crt")

	// Flags win over everything.
	cfg, err := Discover(DiscoverOptions{Endpoints: []string{"https://a:2379"}, CACert: ca, HostRoot: root,
		Getenv: env(map[string]string{"ETCDCTL_ENDPOINTS": "https://b:2379"})})
	if err != nil || cfg.Source != "flags" || cfg.Endpoints[0] != "https://a:2379" {
		t.Fatalf("flags: %+v %v", cfg, err)
	}
	// Then the environment.
	cfg, err = Discover(DiscoverOptions{HostRoot: root, Getenv: env(map[string]string{
		"ETCDCTL_ENDPOINTS": "https://b:2379, https://c:2379", "ETCDCTL_CACERT": ca})})
	if err != nil || cfg.Source != "ETCDCTL_* environment" || !reflect.DeepEqual(cfg.Endpoints, []string{"https://b:2379", "https://c:2379"}) {
		t.Fatalf("env: %+v %v", cfg, err)
	}
	// Then etcd.conf, paths mapped under the host root.
	cfg, err = Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Endpoints: []string{"https://10.0.0.1:2379"}, CACert: ca, Cert: filepath.Join(root, "etc/etcd/peer.crt"),
		Key: filepath.Join(root, "etc/etcd/peer.key"), Source: filepath.Join(root, EtcdConf)}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("etcd.conf: got %+v\nwant %+v", cfg, want)
	}
}

func TestDiscoverWildcardListenUsesAdvertise(t *testing.T) {
	root := writeRoot(t, "ETCD_LISTEN_CLIENT_URLS=https://0.0.0.0:2379\nETCD_ADVERTISE_CLIENT_URLS=https://10.0.0.2:2379\n", "etc/etcd/ca.crt")
	cfg, err := Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)})
	if err != nil || cfg.Endpoints[0] != "https://10.0.0.2:2379" {
		t.Fatalf("got %+v %v", cfg, err)
	}
}

func TestDiscoverErrors(t *testing.T) {
	if _, err := Discover(DiscoverOptions{HostRoot: t.TempDir(), Getenv: env(nil)}); !errors.Is(err, ErrNotFound) {
		t.Errorf("empty host: %v, want ErrNotFound", err)
	}
	root := writeRoot(t, "ETCD_NAME=m0\nthis is not an assignment\n")
	if _, err := Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)}); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("malformed etcd.conf: %v, want an error naming line 2", err)
	}
	_, err := Discover(DiscoverOptions{Endpoints: []string{"https://a:2379"}, Cert: "/nonexistent/peer.crt", Getenv: env(nil)})
	if err == nil || !strings.Contains(err.Error(), "client certificate") {
		t.Errorf("missing cert: %v", err)
	}
}

// put writes files (path → content) under a new host root.
func put(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for f, content := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDiscoverOtherSources(t *testing.T) {
	// A 3.11 master without etcd on it: master-config.yaml's etcdClientInfo,
	// paths relative to the file.
	root := put(t, map[string]string{
		MasterConfig: "kind: MasterConfig\netcdClientInfo:\n  ca: master.etcd-ca.crt\n  certFile: master.etcd-client.crt\n" +
			"  keyFile: master.etcd-client.key\n  urls:\n  - https://etcd0.example.com:2379\n  - https://etcd1.example.com:2379\n",
		"etc/origin/master/master.etcd-ca.crt": "x", "etc/origin/master/master.etcd-client.crt": "x", "etc/origin/master/master.etcd-client.key": "x",
	})
	cfg, err := Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)})
	if err != nil || len(cfg.Endpoints) != 2 || cfg.Cert != filepath.Join(root, "etc/origin/master/master.etcd-client.crt") ||
		!strings.HasSuffix(cfg.Source, "master-config.yaml etcdClientInfo") {
		t.Errorf("master-config: %+v %v", cfg, err)
	}

	// OpenShift 4: etcd.env with the pod's paths mapped to the host's.
	certs := OCP4EtcdCerts
	root = put(t, map[string]string{
		certs + "/configmaps/etcd-scripts/etcd.env": "export ALL_ETCD_ENDPOINTS=\"https://10.0.0.5:2379,https://10.0.0.6:2379\"\n" +
			"export ETCDCTL_CACERT=\"/etc/kubernetes/static-pod-certs/configmaps/etcd-serving-ca/ca-bundle.crt\"\n" +
			"export ETCDCTL_CERT=\"/etc/kubernetes/static-pod-certs/secrets/etcd-all-certs/etcd-peer-m0.crt\"\n" +
			"export ETCDCTL_KEY=\"/etc/kubernetes/static-pod-certs/secrets/etcd-all-certs/etcd-peer-m0.key\"\n",
		certs + "/configmaps/etcd-serving-ca/ca-bundle.crt": "x",
		certs + "/secrets/etcd-all-certs/etcd-peer-m0.crt":  "x", certs + "/secrets/etcd-all-certs/etcd-peer-m0.key": "x",
	})
	cfg, err = Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)})
	if err != nil || len(cfg.Endpoints) != 2 || cfg.CACert != filepath.Join(root, certs, "configmaps/etcd-serving-ca/ca-bundle.crt") ||
		!strings.HasSuffix(cfg.Source, "etcd.env") {
		t.Errorf("OpenShift 4: %+v %v", cfg, err)
	}

	// kubeadm: the etcd CA and the API server's etcd client certificate.
	root = put(t, map[string]string{
		KubeadmPKI + "/etcd/ca.crt": "x", KubeadmPKI + "/apiserver-etcd-client.crt": "x", KubeadmPKI + "/apiserver-etcd-client.key": "x",
	})
	cfg, err = Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)})
	if err != nil || cfg.Endpoints[0] != "https://127.0.0.1:2379" || cfg.Key != filepath.Join(root, KubeadmPKI, "apiserver-etcd-client.key") {
		t.Errorf("kubeadm: %+v %v", cfg, err)
	}

	// A malformed master-config is an error naming the file, not "not found".
	root = put(t, map[string]string{MasterConfig: "etcdClientInfo: [unclosed\n"})
	if _, err := Discover(DiscoverOptions{HostRoot: root, Getenv: env(nil)}); err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "master-config.yaml") {
		t.Errorf("malformed master-config: %v", err)
	}
}
