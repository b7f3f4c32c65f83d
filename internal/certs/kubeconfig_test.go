package certs

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/day2ops/day2/model"
)

// kubeconfigYAML serialises a kubeconfig with one context per user, as
// oc and kubeadm write them.
func kubeconfigYAML(t testing.TB, clusters map[string]*clientcmdapi.Cluster, users map[string]*clientcmdapi.AuthInfo) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters = clusters
	cfg.AuthInfos = users
	for cluster := range clusters {
		for user := range users {
			cfg.Contexts[cluster+"/"+user] = &clientcmdapi.Context{Cluster: cluster, AuthInfo: user}
			cfg.CurrentContext = cluster + "/" + user
		}
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseKubeconfigEmbedded(t *testing.T) {
	ca := newCA(t, "openshift-signer", 5*365*day)
	admin, adminKey := ca.issue(t, spec{cn: "system:admin", kind: model.CertClient, life: 2 * 365 * day})
	data := kubeconfigYAML(t,
		map[string]*clientcmdapi.Cluster{"default/master-0": {Server: "https://master-0:8443", CertificateAuthorityData: ca.pem}},
		map[string]*clientcmdapi.AuthInfo{
			"system:admin": {ClientCertificateData: admin, ClientKeyData: adminKey},
			"token-user":   {Token: "sha256~secret"},
		})
	const src = "/etc/origin/master/admin.kubeconfig"
	certs, err := ParseKubeconfig(src, data, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{src + " (cluster default/master-0 CA)#0", src + " (user system:admin)#0"}
	if got := ids(certs); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if c, _ := bySource(certs, src+" (user system:admin)", 0); c.Kind != model.CertClient || c.SubjectCN != "system:admin" {
		t.Errorf("client cert %+v", c)
	}
	if c, _ := bySource(certs, src+" (cluster default/master-0 CA)", 0); c.Kind != model.CertCA {
		t.Errorf("CA %+v", c)
	}
	assertNoKeyMaterial(t, [][]byte{adminKey}, certs, err)
}

func TestParseKubeconfigPaths(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "kubernetes", 5*365*day)
	node, nodeKey := ca.issue(t, spec{cn: "system:node:node-0", kind: model.CertClient, life: 365 * day})
	tree(t, dir, map[string][]byte{
		"kube/ca.crt":       ca.pem,
		"certs/node.crt":    node,
		"certs/node.key":    nodeKey,
		"kube/other-ca.crt": []byte("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"),
	})
	abs := filepath.Join(dir, "certs/node.crt")
	data := kubeconfigYAML(t,
		map[string]*clientcmdapi.Cluster{
			"local":  {Server: "https://127.0.0.1:6443", CertificateAuthority: "ca.crt"},
			"broken": {Server: "https://127.0.0.1:6443", CertificateAuthority: "other-ca.crt"},
			"gone":   {Server: "https://127.0.0.1:6443", CertificateAuthority: "missing-ca.crt"},
		},
		map[string]*clientcmdapi.AuthInfo{"node": {ClientCertificate: abs, ClientKey: filepath.Join(dir, "certs/node.key")}})
	src := filepath.Join(dir, "kube/node.kubeconfig")
	certs, err := ParseKubeconfig(src, data, filepath.Join(dir, "kube"))
	want := []string{
		src + " (cluster local CA, " + filepath.Join(dir, "kube/ca.crt") + ")#0",
		src + " (user node, " + abs + ")#0",
	}
	if got := ids(certs); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, w := range []string{
		"(cluster broken CA, " + filepath.Join(dir, "kube/other-ca.crt") + ") block 0: malformed PEM",
		"(cluster gone CA): " + filepath.Join(dir, "kube/missing-ca.crt") + ": no such file or directory",
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v, want it to contain %q", err, w)
		}
	}
	assertNoKeyMaterial(t, [][]byte{nodeKey}, certs, err)
}

func TestParseKubeconfigRelativeBaseDir(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "ca", 365*day)
	tree(t, dir, map[string][]byte{"ca.crt": ca.pem})
	t.Chdir(dir)
	data := kubeconfigYAML(t, map[string]*clientcmdapi.Cluster{"c": {CertificateAuthority: "ca.crt"}}, nil)
	certs, err := ParseKubeconfig("kubeconfig", data, ".")
	if err != nil || len(certs) != 1 {
		t.Errorf("relative base dir: %+v, %v", certs, err)
	}
}

func TestParseKubeconfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
		notKubeconfig    bool
	}{
		{"not YAML", "clusters: [\n", "parse kubeconfig src: ", false},
		{"wrong shape", "clusters: 5\n", "parse kubeconfig src: ", false},
		{"another kind", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n", "parse kubeconfig src: not a kubeconfig", true},
		{"bad embedded data", "clusters:\n- name: c\n  cluster:\n    certificate-authority-data: " + "bm90IGEgY2VydA==" + "\n", "src (cluster c CA): no PEM data", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, err := ParseKubeconfig("src", []byte(tc.data), t.TempDir())
			if len(certs) != 0 || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %+v, %v; want error containing %q", certs, err, tc.want)
			}
			if errors.Is(err, errNotKubeconfig) != tc.notKubeconfig {
				t.Errorf("errNotKubeconfig: %v", err)
			}
		})
	}
	if certs, err := ParseKubeconfig("empty", nil, os.TempDir()); len(certs) != 0 || err != nil {
		t.Errorf("empty kubeconfig: %+v, %v", certs, err)
	}
}
