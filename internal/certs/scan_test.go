package certs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/day2ops/day2/model"
)

// openShift3Master lays out a 3.11 master under a new root: certificates
// with a spread of expiry, a bundle, kubeconfigs both embedded and by path,
// configs that name certificates outside the scanned directories, a
// malformed file, a FIFO, and .key files that hold certificates (which must
// never be opened).
func openShift3Master(t *testing.T) (root string, keys [][]byte) {
	root = t.TempDir()
	masterCA := newCA(t, "openshift-signer", 5*365*day)
	etcdCA := newCA(t, "etcd-signer", 5*365*day)
	proxyCA := newCA(t, "openshift-front-proxy-ca", 5*365*day)
	leaf := func(cn string, kind model.CertKind, life time.Duration) []byte {
		cert, key := masterCA.issue(t, spec{cn: cn, kind: kind, life: life})
		keys = append(keys, key)
		return cert
	}
	// keyFile holds a certificate, so opening it would show in the results.
	keyFile := func(cn string) []byte {
		cert, key := masterCA.issue(t, spec{cn: cn, kind: model.CertServer, life: 365 * day})
		keys = append(keys, key)
		return concat(key, cert)
	}
	admin, adminKey := masterCA.issue(t, spec{cn: "system:admin", kind: model.CertClient, life: 2 * 365 * day})
	kubelet, kubeletKey := masterCA.issue(t, spec{cn: "system:node:master-0", kind: model.CertClient, life: 365 * day})
	keys = append(keys, adminKey, kubeletKey)
	const m, n = "/etc/origin/master/", "/etc/origin/node/"
	tree(t, root, map[string][]byte{
		m + "ca.crt":                  masterCA.pem,
		m + "ca-bundle.crt":           concat(masterCA.pem, etcdCA.pem, proxyCA.pem),
		m + "master.etcd-ca.crt":      etcdCA.pem,
		m + "master.server.crt":       leaf("master-0.example.com", model.CertServer, 365*day),
		m + "master.server.key":       keyFile("in-master.server.key"),
		m + "openshift-router.crt":    leaf("router", model.CertServer, -3*day),
		m + "registry.crt":            leaf("docker-registry.default.svc", model.CertServer, 5*day),
		m + "master.proxy-client.crt": leaf("system:master-proxy", model.CertClient, 25*day),
		m + "broken.crt":              []byte("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n"),
		m + "session-secrets.yaml":    []byte("secrets: []\n"),
		"/opt/etcd-client/client.crt": leaf("system:master", model.CertClient, 365*day),
		"/opt/etcd-client/client.key": keyFile("in-client.key"),
		"/etc/pki/named/console.crt":  leaf("console.example.com", model.CertServer, 365*day),
		m + "admin.kubeconfig": kubeconfigYAML(t,
			map[string]*clientcmdapi.Cluster{"default/master-0": {Server: "https://master-0:8443", CertificateAuthorityData: masterCA.pem}},
			map[string]*clientcmdapi.AuthInfo{"system:admin": {ClientCertificateData: admin, ClientKeyData: adminKey}}),
		m + "master-config.yaml": []byte(`apiVersion: v1
kind: MasterConfig
etcdClientInfo:
  ca: master.etcd-ca.crt
  certFile: /opt/etcd-client/client.crt
  keyFile: /opt/etcd-client/client.key
  urls: [https://master-0.example.com:2379]
kubeletClientInfo:
  ca: ca-bundle.crt
  certFile: master.kubelet-client.crt
  keyFile: master.kubelet-client.key
  port: 10250
oauthConfig:
  masterCA: ca-bundle.crt
servingInfo:
  certFile: master.server.crt
  clientCA: ca.crt
  keyFile: master.server.key
  namedCertificates:
  - certFile: ../../pki/named/console.crt
    keyFile: ../../pki/named/console.key
    names: [console.example.com]
`),
		n + "ca.crt":     masterCA.pem,
		n + "server.crt": leaf("master-0.example.com", model.CertServer, 365*day),
		n + "server.key": keyFile("in-node-server.key"),
		n + "node-config.yaml": []byte(`kind: NodeConfig
servingInfo:
  certFile: server.crt
  clientCA: ca.crt
  keyFile: server.key
`),
		n + "certificates/kubelet-client-2026-01-01-00-00-00.pem": concat(kubeletKey, kubelet),
		n + "system:node:master-0.kubeconfig": kubeconfigYAML(t,
			map[string]*clientcmdapi.Cluster{"master-0": {Server: "https://master-0:8443", CertificateAuthority: "ca.crt"}},
			map[string]*clientcmdapi.AuthInfo{"system:node:master-0": {
				ClientCertificate: n + "certificates/kubelet-client-current.pem",
				ClientKey:         n + "certificates/kubelet-client-current.pem",
			}}),
		"/etc/etcd/ca.crt":       etcdCA.pem,
		"/etc/etcd/ca/ca.crt":    etcdCA.pem,
		"/etc/etcd/server.crt":   leaf("master-0.example.com", model.CertServerClient, 365*day),
		"/etc/etcd/server.key":   keyFile("in-etcd-server.key"),
		"/srv/etcd/peer.crt":     leaf("master-0.example.com", model.CertServerClient, 365*day),
		"/srv/etcd/peer-key.pem": keyFile("in-peer-key.pem"),
		"/etc/etcd/etcd.conf": []byte(`ETCD_NAME=master-0.example.com
ETCD_DATA_DIR=/var/lib/etcd/
ETCD_CERT_FILE=/etc/etcd/server.crt
ETCD_KEY_FILE=/etc/etcd/server.key
ETCD_TRUSTED_CA_FILE=/etc/etcd/ca.crt
ETCD_PEER_CERT_FILE=/srv/etcd/peer.crt
ETCD_PEER_KEY_FILE=/srv/etcd/peer-key.pem
ETCD_PEER_TRUSTED_CA_FILE=/etc/etcd/ca.crt
`),
	})
	// kubelet-client-current.pem links to the dated file by its absolute
	// host path, as the kubelet makes it.
	if err := os.Symlink(n+"certificates/kubelet-client-2026-01-01-00-00-00.pem", filepath.Join(root, n, "certificates/kubelet-client-current.pem")); err != nil {
		t.Fatal(err)
	}
	// A FIFO blocks whoever opens it: named .crt it must be refused, named
	// .key it must not even be looked at.
	for _, p := range []string{n + "pipe.crt", m + "pipe.key"} {
		if err := syscall.Mkfifo(filepath.Join(root, p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root, keys
}

func TestScanHostOpenShift3(t *testing.T) {
	root, keys := openShift3Master(t)
	certs, problems := ScanHost(root)

	const nodeKC = "/etc/origin/node/system:node:master-0.kubeconfig"
	want := []string{
		"/etc/etcd/ca.crt#0",
		"/etc/etcd/ca/ca.crt#0",
		"/etc/etcd/server.crt#0",
		"/etc/origin/master/admin.kubeconfig (cluster default/master-0 CA)#0",
		"/etc/origin/master/admin.kubeconfig (user system:admin)#0",
		"/etc/origin/master/ca-bundle.crt#0",
		"/etc/origin/master/ca-bundle.crt#1",
		"/etc/origin/master/ca-bundle.crt#2",
		"/etc/origin/master/ca.crt#0",
		"/etc/origin/master/master.etcd-ca.crt#0",
		"/etc/origin/master/master.proxy-client.crt#0",
		"/etc/origin/master/master.server.crt#0",
		"/etc/origin/master/openshift-router.crt#0",
		"/etc/origin/master/registry.crt#0",
		"/etc/origin/node/ca.crt#0",
		"/etc/origin/node/certificates/kubelet-client-2026-01-01-00-00-00.pem#1",
		"/etc/origin/node/server.crt#0",
		nodeKC + " (cluster master-0 CA, /etc/origin/node/ca.crt)#0",
		nodeKC + " (user system:node:master-0, /etc/origin/node/certificates/kubelet-client-current.pem)#1",
		"/etc/pki/named/console.crt#0",
		"/opt/etcd-client/client.crt#0",
		"/srv/etcd/peer.crt#0",
	}
	if got := ids(certs); !slices.Equal(got, want) {
		t.Errorf("certificates:\n got %q\nwant %q", got, want)
	}

	bundle := []string{}
	for i := range 3 {
		c, _ := bySource(certs, "/etc/origin/master/ca-bundle.crt", i)
		bundle = append(bundle, c.SubjectCN)
	}
	if !slices.Equal(bundle, []string{"openshift-signer", "etcd-signer", "openshift-front-proxy-ca"}) {
		t.Errorf("bundle %v", bundle)
	}
	for src, sev := range map[string]model.CertSeverity{
		"/etc/origin/master/openshift-router.crt":    model.CertExpired,
		"/etc/origin/master/registry.crt":            model.CertCritical,
		"/etc/origin/master/master.proxy-client.crt": model.CertWarning,
		"/etc/origin/master/master.server.crt":       model.CertOK,
	} {
		c, _ := bySource(certs, src, 0)
		if got := model.DefaultCertThresholds.Classify(c.NotAfter, now); got != sev {
			t.Errorf("%s: %v, want %v", src, got, sev)
		}
	}
	for _, c := range certs {
		if strings.HasPrefix(c.SubjectCN, "in-") {
			t.Errorf("a .key file was read: %s from %s", c.SubjectCN, c.Source)
		}
	}

	wantProblems := []string{
		"parse /etc/origin/master/broken.crt block 0: malformed PEM",
		"/etc/origin/master/master-config.yaml kubeletClientInfo.certFile: /etc/origin/master/master.kubelet-client.crt: no such file or directory",
		"/etc/origin/node/pipe.crt: not a regular file",
	}
	var gotProblems []string
	for _, p := range problems {
		gotProblems = append(gotProblems, p.Error())
	}
	slices.Sort(gotProblems)
	slices.Sort(wantProblems)
	if !slices.Equal(gotProblems, wantProblems) {
		t.Errorf("problems:\n got %q\nwant %q", gotProblems, wantProblems)
	}
	assertNoKeyMaterial(t, keys, certs, nil)
}

// openShift4AndKubeadm lays out the /etc/kubernetes of a kubeadm control
// plane and an OpenShift 4 master at once (their paths do not collide).
func openShift4AndKubeadm(t *testing.T) string {
	root := t.TempDir()
	ca := newCA(t, "kubernetes", 10*365*day)
	leaf := func(cn string, kind model.CertKind) []byte {
		cert, _ := ca.issue(t, spec{cn: cn, kind: kind, life: 365 * day})
		return cert
	}
	keyAndCert := func() []byte {
		cert, key := ca.issue(t, spec{cn: "in-a-key-file", kind: model.CertServer, life: 365 * day})
		return concat(key, cert)
	}
	admin, adminKey := ca.issue(t, spec{cn: "kubernetes-admin", kind: model.CertClient, life: 365 * day})
	const k, spr = "/etc/kubernetes/", "/etc/kubernetes/static-pod-resources/"
	tree(t, root, map[string][]byte{
		k + "admin.conf": kubeconfigYAML(t,
			map[string]*clientcmdapi.Cluster{"kubernetes": {Server: "https://cp:6443", CertificateAuthorityData: ca.pem}},
			map[string]*clientcmdapi.AuthInfo{"kubernetes-admin": {ClientCertificateData: admin, ClientKeyData: adminKey}}),
		// OpenShift 4's kubelet.conf is a KubeletConfiguration, not a kubeconfig.
		k + "kubelet.conf":      []byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"),
		k + "kubelet-ca.crt":    ca.pem,
		k + "manifests/x.crt":   []byte("not scanned: manifests are not a certificate directory"),
		k + "pki/ca.crt":        ca.pem,
		k + "pki/apiserver.crt": leaf("kube-apiserver", model.CertServer),
		k + "pki/apiserver.key": keyAndCert(),
		k + "pki/etcd/peer.crt": leaf("cp", model.CertServerClient),
		spr + "kube-apiserver-certs/secrets/service-network-serving-certkey/tls.crt": leaf("172.30.0.1", model.CertServer),
		spr + "kube-apiserver-certs/secrets/service-network-serving-certkey/tls.key": keyAndCert(),
		spr + "kube-apiserver-certs/configmaps/trusted-ca-bundle/ca-bundle.crt":      ca.pem,
		spr + "kube-apiserver-pod-7/configmaps/kube-apiserver-cert-syncer-kubeconfig/kubeconfig": kubeconfigYAML(t,
			map[string]*clientcmdapi.Cluster{"local": {Server: "https://localhost:6443", CertificateAuthorityData: ca.pem}},
			map[string]*clientcmdapi.AuthInfo{"sa": {TokenFile: "/var/run/secrets/token"}}),
	})
	return root
}

func TestScanHostKubeadmAndOpenShift4(t *testing.T) {
	certs, problems := ScanHost(openShift4AndKubeadm(t))
	const spr = "/etc/kubernetes/static-pod-resources/"
	want := []string{
		"/etc/kubernetes/admin.conf (cluster kubernetes CA)#0",
		"/etc/kubernetes/admin.conf (user kubernetes-admin)#0",
		"/etc/kubernetes/kubelet-ca.crt#0",
		"/etc/kubernetes/pki/apiserver.crt#0",
		"/etc/kubernetes/pki/ca.crt#0",
		"/etc/kubernetes/pki/etcd/peer.crt#0",
		spr + "kube-apiserver-certs/configmaps/trusted-ca-bundle/ca-bundle.crt#0",
		spr + "kube-apiserver-certs/secrets/service-network-serving-certkey/tls.crt#0",
		spr + "kube-apiserver-pod-7/configmaps/kube-apiserver-cert-syncer-kubeconfig/kubeconfig (cluster local CA)#0",
	}
	if got := ids(certs); !slices.Equal(got, want) {
		t.Errorf("certificates:\n got %q\nwant %q", got, want)
	}
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
}

func TestScanHostEmptyRoot(t *testing.T) {
	certs, problems := ScanHost(t.TempDir())
	if len(certs) != 0 || len(problems) != 0 {
		t.Errorf("empty host: %v, %v", certs, problems)
	}
}

func TestScanHostBrokenConfigs(t *testing.T) {
	root := t.TempDir()
	tree(t, root, map[string][]byte{
		"/etc/etcd/etcd.conf":                             []byte("ETCD_CERT_FILE=/etc/etcd/server.crt\nthis is not an assignment\n"),
		"/etc/origin/master/master-config.yaml":           []byte("servingInfo: [unclosed\n"),
		"/etc/origin/node/node-config.yaml":               []byte("servingInfo:\n  certFile: /etc/origin/node/server.key\n"),
		"/etc/kubernetes/pki/front-proxy-ca.crt":          nil, // empty: nothing found, nothing wrong
		"/etc/kubernetes/pki/sa.pub":                      []byte("not a certificate name"),
		"/etc/kubernetes/static-pod-resources/kubeconfig": []byte("clusters: 5\n"),
	})
	if err := os.Symlink("/etc/origin/node/nowhere.crt", filepath.Join(root, "etc/origin/node/dangling.crt")); err != nil {
		t.Fatal(err)
	}
	certs, problems := ScanHost(root)
	if len(certs) != 0 {
		t.Errorf("certificates %v", ids(certs))
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Error())
	}
	for _, w := range []string{
		"/etc/etcd/etcd.conf: line 2: not a KEY=VALUE assignment",
		"/etc/origin/master/master-config.yaml: ",
		"/etc/origin/node/node-config.yaml servingInfo.certFile: /etc/origin/node/server.key: a .key file is never opened",
		"/etc/origin/node/dangling.crt: no such file or directory",
		"parse kubeconfig /etc/kubernetes/static-pod-resources/kubeconfig: ",
	} {
		if !slices.ContainsFunc(got, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("no problem starting %q in %q", w, got)
		}
	}
	if len(got) != 5 {
		t.Errorf("%d problems, want 5: %q", len(got), got)
	}
}

// The local cluster's master host roots carry the expiry spread the
// certificates pane is for; a scan must find it with the right severities
// and no problems.
func TestScanLocalClusterMaster(t *testing.T) {
	if cluster == nil {
		t.Skip("no local cluster in fuzz mode")
	}
	certs, problems := ScanHost(cluster.HostRoot(0))
	for _, p := range problems {
		t.Errorf("problem: %v", p)
	}
	now := time.Now()
	want := map[string]model.CertSeverity{
		"/etc/origin/master/openshift-router.crt":    model.CertExpired,
		"/etc/origin/master/registry.crt":            model.CertCritical,
		"/etc/origin/master/master.proxy-client.crt": model.CertWarning,
		"/etc/origin/master/master.server.crt":       model.CertOK,
		"/etc/etcd/peer.crt":                         model.CertOK,
	}
	found := map[string]bool{}
	for _, c := range certs {
		if sev, ok := want[c.Source]; ok {
			found[c.Source] = true
			if got := model.DefaultCertThresholds.Classify(c.NotAfter, now); got != sev {
				t.Errorf("%s: %v, want %v", c.Source, got, sev)
			}
		}
	}
	for src := range want {
		if !found[src] {
			t.Errorf("scan missed %s", src)
		}
	}
	kubeconfigUsers := 0
	for _, c := range certs {
		if strings.Contains(c.Source, "admin.kubeconfig (user system:admin)") {
			kubeconfigUsers++
		}
	}
	if kubeconfigUsers != 1 {
		t.Errorf("the admin kubeconfig's client certificate should be found once, got %d", kubeconfigUsers)
	}
}
