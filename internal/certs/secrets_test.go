package certs

import (
	"context"
	"flag"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	// Every fuzz worker is a process of its own that runs TestMain again
	// (with the coordinator's -test.fuzz): one cluster each would swamp the
	// machine, and fuzzing needs none.
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

// tlsSecret holds a leaf and its CA in tls.crt, optionally ca.crt, and a
// certificate in tls.key, so reading tls.key would show in the results.
func tlsSecret(t testing.TB, ns, name string, withCA bool) (*corev1.Secret, [][]byte) {
	ca := newCA(t, name+"-ca", 365*day)
	leaf, key := ca.issue(t, spec{cn: name + ".svc", kind: model.CertServer, life: 30 * day})
	decoy, _ := ca.issue(t, spec{cn: "in-tls.key", kind: model.CertServer, life: day})
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: concat(leaf, ca.pem), corev1.TLSPrivateKeyKey: concat(key, decoy)},
	}
	if withCA {
		s.Data["ca.crt"] = ca.pem
	}
	return s, [][]byte{key}
}

func TestSecretCertificates(t *testing.T) {
	s, keys := tlsSecret(t, "openshift-ingress", "router-certs", true)
	certs, err := SecretCertificates(s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"openshift-ingress/router-certs (ca.crt)#0", "openshift-ingress/router-certs#0", "openshift-ingress/router-certs#1"}
	if got := ids(certs); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	for _, c := range certs {
		if c.SubjectCN == "in-tls.key" {
			t.Error("tls.key was read")
		}
	}
	assertNoKeyMaterial(t, keys, certs, err)

	s.Data[corev1.TLSCertKey] = []byte("garbage")
	if certs, err := SecretCertificates(s); len(certs) != 1 || err == nil || !strings.Contains(err.Error(), "parse openshift-ingress/router-certs: no PEM data") {
		t.Errorf("bad tls.crt: %v, %v", ids(certs), err)
	}
	s.Type = corev1.SecretTypeOpaque
	if _, err := SecretCertificates(s); err == nil || !strings.Contains(err.Error(), "not kubernetes.io/tls") {
		t.Errorf("opaque secret: %v", err)
	}
}

// listRecorder records the secret list requests a client makes.
type listRecorder struct {
	mu   sync.Mutex
	urls []string
	next http.RoundTripper
}

func (r *listRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/secrets") {
		r.mu.Lock()
		r.urls = append(r.urls, req.URL.RawQuery)
		r.mu.Unlock()
	}
	return r.next.RoundTrip(req)
}

func TestListTLSSecrets(t *testing.T) {
	if cluster == nil {
		t.Skip("no local cluster while fuzzing")
	}
	ctx := context.Background()
	var keys [][]byte
	create := func(s *corev1.Secret) {
		t.Helper()
		if _, err := cluster.Client.CoreV1().Secrets(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cluster.Client.CoreV1().Secrets(s.Namespace).Delete(context.Background(), s.Name, metav1.DeleteOptions{})
		})
	}
	for _, s := range []struct {
		ns, name string
		withCA   bool
	}{{"default", "registry-certificates", false}, {"myapp", "frontend-tls", true}} {
		secret, k := tlsSecret(t, s.ns, s.name, s.withCA)
		keys = append(keys, k...)
		create(secret)
	}
	// An Opaque secret with the same keys must not be listed.
	opaque, _ := tlsSecret(t, "myapp", "not-tls", true)
	opaque.Type = corev1.SecretTypeOpaque
	create(opaque)

	rec := &listRecorder{}
	cfg := rest.CopyConfig(cluster.RestConfig)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { rec.next = rt; return rec })
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	certs, problems := ListTLSSecrets(ctx, client, 1)
	if len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	got := ids(certs)
	for _, w := range []string{
		"default/registry-certificates#0", "default/registry-certificates#1",
		"myapp/frontend-tls#0", "myapp/frontend-tls#1", "myapp/frontend-tls (ca.crt)#0",
	} {
		if !slices.Contains(got, w) {
			t.Errorf("missing %s in %v", w, got)
		}
	}
	for _, c := range certs {
		if strings.HasPrefix(c.Source, "myapp/not-tls") || c.SubjectCN == "in-tls.key" {
			t.Errorf("listed %s (%s)", c.Source, c.SubjectCN)
		}
	}
	assertNoKeyMaterial(t, keys, certs, nil)

	// Two TLS secrets at one per page take at least two requests, each
	// filtered by type and limited, all but the first continuing.
	if len(rec.urls) < 2 {
		t.Fatalf("%d list requests, want paging: %v", len(rec.urls), rec.urls)
	}
	for i, q := range rec.urls {
		if !strings.Contains(q, "limit=1") || !strings.Contains(q, "fieldSelector=type%3Dkubernetes.io%2Ftls") || strings.Contains(q, "continue=") != (i > 0) {
			t.Errorf("request %d: %s", i, q)
		}
	}
}
