package localcluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// The registry behind the docker-registry Service is a real distribution
// registry: trusted through the masters' certs.d, 401 to anonymous
// clients, 200 with the htpasswd credentials, serving a certificate for
// the Service's names.
func TestRegistryIsReal(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	addr, err := cluster.RegistryAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("registry at %s, want loopback", addr)
	}
	caPEM, err := os.ReadFile(filepath.Join(cluster.HostRoot(1), "etc/docker/certs.d", addr, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("no CA in certs.d")
	}
	// Checked as a pull by the Service's name would check it.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "docker-registry.default.svc"}}}
	defer hc.CloseIdleConnections()
	get := func(path string, auth bool) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+addr+path, nil)
		if auth {
			req.SetBasicAuth(RegistryUser, RegistryPassword)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get("/v2/", false)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" ||
		!strings.Contains(resp.Header.Get("WWW-Authenticate"), `realm="day2-localcluster"`) {
		t.Errorf("anonymous /v2/: %s %v", resp.Status, resp.Header)
	}
	leaf := resp.TLS.PeerCertificates[0]
	if left := time.Until(leaf.NotAfter); left < 25*24*time.Hour || left > 26*24*time.Hour {
		t.Errorf("serving certificate expires in %s, want 25 days", left)
	}
	if !slices.Contains(leaf.DNSNames, "docker-registry.default.svc.cluster.local") {
		t.Errorf("serving certificate names %v", leaf.DNSNames)
	}
	var catalog struct{ Repositories []string }
	resp = get("/v2/_catalog", true)
	if err := json.NewDecoder(resp.Body).Decode(&catalog); resp.StatusCode != http.StatusOK || err != nil || catalog.Repositories == nil {
		t.Errorf("/v2/_catalog with credentials: %s %v %+v", resp.Status, err, catalog)
	}
	if resp := get("/healthz", false); resp.StatusCode != http.StatusNotFound {
		t.Errorf("/healthz: %s, want 404 (upstream distribution has none)", resp.Status)
	}
}

func TestMastersTrustAndMirrorTheRegistry(t *testing.T) {
	addr, err := cluster.RegistryAddress(ctxT(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cluster.Masters {
		conf, err := os.ReadFile(filepath.Join(m.Root, RegistryMirrorConf))
		if err != nil || !strings.Contains(string(conf), `location = "`+addr+`/openshift3"`) {
			t.Errorf("%s: drop-in %v:\n%s", m.Name, err, conf)
		}
		if _, err := os.Stat(filepath.Join(m.Root, "etc/docker/certs.d", addr, "ca.crt")); err != nil {
			t.Errorf("%s: %v", m.Name, err)
		}
	}
}

func TestTLSSecretsSpreadOfExpiry(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	for _, s := range []struct {
		ns, name string
		days     float64
	}{{"default", "router-certs", -3}, {AppNamespace, "frontend-cert", 5}, {"default", "docker-registry-tls", 25}} {
		sec, err := cluster.Client.CoreV1().Secrets(s.ns).Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(sec.Data[corev1.TLSCertKey])
		if block == nil {
			t.Fatalf("%s/%s: no PEM in tls.crt", s.ns, s.name)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if sec.Type != corev1.SecretTypeTLS || err != nil {
			t.Fatalf("%s/%s: type %s, %v", s.ns, s.name, sec.Type, err)
		}
		if days := time.Until(cert.NotAfter).Hours() / 24; days < s.days-0.5 || days > s.days+1 {
			t.Errorf("%s/%s expires in %.1f days, want %v", s.ns, s.name, days, s.days)
		}
	}
}

func TestClusterOperatorsOneDegraded(t *testing.T) {
	ctx := ctxT(t, 10*time.Second)
	dyn, err := dynamic.NewForConfig(cluster.RestConfig)
	if err != nil {
		t.Fatal(err)
	}
	list, err := dyn.Resource(clusterOperatorAPI.GVR()).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var degraded []string
	for _, co := range list.Items {
		conds, _, _ := unstructured.NestedSlice(co.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Degraded" && m["status"] == "True" {
				degraded = append(degraded, co.GetName())
			}
		}
	}
	if len(list.Items) != len(clusterOperators) || !slices.Equal(degraded, []string{"ingress"}) {
		t.Errorf("%d operators, degraded %v; want %d, [ingress]", len(list.Items), degraded, len(clusterOperators))
	}
}
