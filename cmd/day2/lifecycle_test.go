package main

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/model"
)

// `day2 run cluster-shutdown --dry-run`: the signer expires in ten days, so
// a month's expected downtime is refused at the preflight, whose plan shows
// the date; every wave's plan is printed with each host's command, and
// nothing is cordoned.
func TestRunClusterShutdownDryRun(t *testing.T) {
	ctx := context.Background()
	ns, name := "openshift-kube-apiserver-operator", "kube-apiserver-to-kubelet-signer"
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	notAfter := time.Now().Add(10 * 24 * time.Hour).UTC().Truncate(time.Second)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
		Annotations: map[string]string{model.CertNotAfterAnnotation: notAfter.Format(time.RFC3339)}}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: nil, corev1.TLSPrivateKeyKey: nil}}
	if _, err := cluster.Client.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.Client.CoreV1().Secrets(ns).Delete(ctx, name, metav1.DeleteOptions{}) })
	out, err := day2(t, t.TempDir(), "run", "cluster-shutdown", "--dry-run", "--expected-downtime", "720h", "--no-ssh").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"refused: an expected downtime of 720h0m0s outlasts " + notAfter.Format(time.RFC3339),
		"restart the cluster before " + notAfter.Format(time.RFC3339),
		"on " + cluster.Workers[0] + ": shutdown -h 1",
		"on " + cluster.Masters[2].Name + ": shutdown -h 1",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	n, err := cluster.Client.CoreV1().Nodes().Get(ctx, cluster.Workers[0], metav1.GetOptions{})
	if err != nil || n.Spec.Unschedulable {
		t.Errorf("the dry run cordoned %s (%v)", cluster.Workers[0], err)
	}
}
