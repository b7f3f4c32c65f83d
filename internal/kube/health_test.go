package kube

import (
	"context"
	"strings"
	"testing"
	"time"

	coordv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/day2ops/day2/model"
)

func TestProbeAPI(t *testing.T) {
	ctx := context.Background()
	for _, path := range []string{"/healthz", "/readyz"} {
		p := ProbeAPI(ctx, cluster.Client, path)
		if p.Status != 200 || p.Err != "" || !strings.Contains(p.Body, "[+]ping ok") {
			t.Errorf("%s: %+v", path, p)
		}
	}
	if p := ProbeAPI(ctx, cluster.Client, "/no-such-endpoint"); p.Status != 404 || p.Err != "" {
		t.Errorf("404: %+v", p)
	}
	// The health endpoints are public; a stranger may read them too.
	if p := ProbeAPI(ctx, impersonating(t, "day2-nobody"), "/readyz"); p.Status != 200 {
		t.Errorf("readyz as a stranger: %+v", p)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if p := ProbeAPI(canceled, cluster.Client, "/healthz"); p.Status != 0 || !strings.Contains(p.Err, "canceled") {
		t.Errorf("canceled: %+v", p)
	}
}

func TestLeadersFromLeases(t *testing.T) {
	recs := Leaders(context.Background(), cluster.Client)
	if len(recs) != 2 {
		t.Fatalf("records %+v", recs)
	}
	for i, want := range []struct{ component, source string }{
		{"controllers", "lease kube-system/kube-controller-manager"},
		{"scheduler", "lease kube-system/kube-scheduler"},
	} {
		r := recs[i]
		if r.Component != want.component || r.Source != want.source || !r.Found || r.Holder == "" || r.Err != "" ||
			r.LeaseDuration <= 0 || time.Since(r.Renewed) > time.Minute {
			t.Errorf("%s: %+v", want.component, r)
		}
	}
	for _, r := range Leaders(context.Background(), impersonating(t, "day2-nobody")) {
		if r.Found || !strings.Contains(r.Err, "forbidden") {
			t.Errorf("a stranger read %+v", r)
		}
	}
}

// On 3.11 the controllers' config map is the record, and the scheduler is
// part of the controllers.
func TestLeadersOpenShift311(t *testing.T) {
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "openshift-master-controllers", Annotations: map[string]string{
		model.LeaderAnnotation: `{"holderIdentity":"master-master-1.example.com-192.0.2.12-dnwrtcl4","leaseDurationSeconds":15,"acquireTime":"2018-02-17T18:16:54Z","renewTime":"2018-02-19T13:50:33Z","leaderTransitions":16}`,
	}}}
	if _, err := cluster.Client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cluster.Client.CoreV1().ConfigMaps("kube-system").Delete(ctx, cm.Name, metav1.DeleteOptions{})
	}()
	recs := Leaders(ctx, cluster.Client)
	if len(recs) != 1 || recs[0].Source != "configmap kube-system/openshift-master-controllers" || recs[0].Transitions != 16 ||
		model.LeaderHost(recs[0].Holder) != "master-1.example.com" {
		t.Fatalf("records %+v", recs)
	}
}

// A lease nobody renews: found, with its old renew time, for the check to
// call stale.
func TestLeaderStaleLease(t *testing.T) {
	ctx := context.Background()
	holder, dur := "gone-master_1234", int32(15)
	old := metav1.NewMicroTime(time.Now().Add(-10 * time.Minute))
	lease := &coordv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "openshift-kube-scheduler", Name: "kube-scheduler"},
		Spec: coordv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &old}}
	rec := readLeaderOrFail(t, ctx, lease)
	if rec.Holder != holder || rec.LeaseDuration != 15*time.Second || time.Since(rec.Renewed) < 9*time.Minute {
		t.Fatalf("record %+v", rec)
	}
}

func readLeaderOrFail(t *testing.T, ctx context.Context, lease *coordv1.Lease) model.LeaderRecord {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: lease.Namespace}}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoordinationV1().Leases(lease.Namespace).Create(ctx, lease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cluster.Client.CoordinationV1().Leases(lease.Namespace).Delete(ctx, lease.Name, metav1.DeleteOptions{})
	}()
	rec, err := readLeader(ctx, cluster.Client, leaderSource{"lease", lease.Namespace, lease.Name})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestStorageClasses(t *testing.T) {
	ctx := context.Background()
	if sc := StorageClasses(ctx, cluster.Client); sc.Err != "" || len(sc.Items) != 0 {
		t.Fatalf("the local cluster has storage classes: %+v", sc)
	}
	for _, sc := range []*storagev1.StorageClass{
		{ObjectMeta: metav1.ObjectMeta{Name: "ssd"}, Provisioner: "kubernetes.io/gce-pd"},
		{ObjectMeta: metav1.ObjectMeta{Name: "standard", Annotations: map[string]string{"storageclass.beta.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubernetes.io/gce-pd"},
	} {
		if _, err := cluster.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = cluster.Client.StorageV1().StorageClasses().Delete(ctx, sc.Name, metav1.DeleteOptions{}) }()
	}
	sc := StorageClasses(ctx, cluster.Client)
	if len(sc.Items) != 2 || sc.Items[0].Name != "ssd" || sc.Items[0].Default || !sc.Items[1].Default || sc.Items[1].Provisioner != "kubernetes.io/gce-pd" {
		t.Fatalf("classes %+v", sc)
	}
	if sc := StorageClasses(ctx, impersonating(t, "day2-nobody")); !strings.Contains(sc.Err, "forbidden") {
		t.Fatalf("a stranger listed %+v", sc)
	}
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// clusterOperatorCRD defines config.openshift.io/v1 ClusterOperator loosely
// (any fields kept), with a status subresource as OpenShift's has.
var clusterOperatorCRD = map[string]any{
	"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
	"metadata": map[string]any{"name": "clusteroperators.config.openshift.io"},
	"spec": map[string]any{
		"group": "config.openshift.io", "scope": "Cluster",
		"names": map[string]any{"plural": "clusteroperators", "singular": "clusteroperator", "kind": "ClusterOperator", "listKind": "ClusterOperatorList"},
		"versions": []any{map[string]any{
			"name": "v1", "served": true, "storage": true,
			"subresources": map[string]any{"status": map[string]any{}},
			"schema":       map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
		}},
	},
}

func TestClusterOperators(t *testing.T) {
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(cluster.RestConfig)
	if err != nil {
		t.Fatal(err)
	}
	served, err := resourceServed(cluster.Client, clusterOperatorsGVR)
	if err != nil {
		t.Fatal(err)
	}
	if !served {
		if co := ClusterOperators(ctx, cluster.Client); co.Served || co.Err != "" {
			t.Fatalf("a cluster without config.openshift.io: %+v", co)
		}
		if _, err := dyn.Resource(crdGVR).Create(ctx, &unstructured.Unstructured{Object: clusterOperatorCRD}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = dyn.Resource(crdGVR).Delete(ctx, "clusteroperators.config.openshift.io", metav1.DeleteOptions{})
		}()
		deadline := time.Now().Add(30 * time.Second)
		for served, _ = resourceServed(cluster.Client, clusterOperatorsGVR); !served; served, _ = resourceServed(cluster.Client, clusterOperatorsGVR) {
			if time.Now().After(deadline) {
				t.Fatal("the ClusterOperator CRD is not served")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	cond := func(typ, status, msg string) any {
		return map[string]any{"type": typ, "status": status, "message": msg, "lastTransitionTime": "2024-05-01T12:00:00Z"}
	}
	for name, conds := range map[string][]any{
		"day2-test-dns":  {cond("Available", "True", ""), cond("Progressing", "False", ""), cond("Degraded", "False", "")},
		"day2-test-etcd": {cond("Available", "True", ""), cond("Progressing", "True", ""), cond("Degraded", "True", "EtcdMembersDegraded: 2 of 3 members are available")},
	} {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "config.openshift.io/v1", "kind": "ClusterOperator", "metadata": map[string]any{"name": name},
		}}
		created, err := dyn.Resource(clusterOperatorsGVR).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = dyn.Resource(clusterOperatorsGVR).Delete(ctx, name, metav1.DeleteOptions{}) }()
		created.Object["status"] = map[string]any{"conditions": conds}
		_, err = dyn.Resource(clusterOperatorsGVR).UpdateStatus(ctx, created, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) { // a definition without the status subresource
			_, err = dyn.Resource(clusterOperatorsGVR).Update(ctx, created, metav1.UpdateOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	co := ClusterOperators(ctx, cluster.Client)
	if !co.Served || co.Err != "" {
		t.Fatalf("operators: %+v", co)
	}
	got := map[string]model.ClusterOperator{}
	for _, o := range co.Items {
		got[o.Name] = o
	}
	if o := got["day2-test-dns"]; o.Available != "True" || o.Degraded != "False" || o.Progressing != "False" || o.Message != "" {
		t.Errorf("dns: %+v", o)
	}
	if o := got["day2-test-etcd"]; o.Degraded != "True" || o.Progressing != "True" || !strings.Contains(o.Message, "2 of 3 members") {
		t.Errorf("etcd: %+v", o)
	}
	if co := ClusterOperators(ctx, impersonating(t, "day2-nobody")); !co.Served || !strings.Contains(co.Err, "forbidden") {
		t.Errorf("a stranger listed %+v", co)
	}
}
