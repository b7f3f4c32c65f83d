package kube

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// settledWorkloads waits until both workloads are found and settled with
// want replicas (a test before may have moved pods), and returns them.
func settledWorkloads(t *testing.T, want int32) []model.Workload {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ws := Workloads(context.Background(), cluster.Client)
		ok := len(ws) == 2
		for _, w := range ws {
			ok = ok && w.Settled() && w.Desired == want && len(w.Pods) == int(want)
		}
		if ok || time.Now().After(deadline) {
			return ws
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The seeded 3.11 cluster runs router and docker-registry as Deployments,
// three replicas each, one per infra node (seed 003 §3.4).
func TestWorkloadsDeployments(t *testing.T) {
	ws := settledWorkloads(t, 3)
	for i, role := range []string{"registry", "router"} {
		w := ws[i]
		name := map[string]string{"registry": "docker-registry", "router": "router"}[role]
		if w.Role != role || w.Kind != KindDeployment || w.Namespace != "default" || w.Name != name || w.Err != "" {
			t.Errorf("%s: %+v", role, w)
		}
		if w.Desired != 3 || w.Current != 3 || w.Ready != 3 || !w.Settled() {
			t.Errorf("%s: desired %d current %d ready %d", role, w.Desired, w.Current, w.Ready)
		}
		nodes := w.Nodes()
		slices.Sort(nodes)
		if !slices.Equal(nodes, cluster.Infra) {
			t.Errorf("%s runs on %v, want %v", role, nodes, cluster.Infra)
		}
		for _, p := range w.Pods {
			if !strings.HasPrefix(p.Name, name+"-") || p.Phase != "Running" || !p.Ready {
				t.Errorf("%s pod %+v", role, p)
			}
		}
	}
}

// With the apps.openshift.io API served, DeploymentConfigs are read (with
// their own counts, DESIRED and CURRENT as `oc get dc` shows them); once it
// is gone, the Deployments again.
func TestWorkloadsDeploymentConfigs(t *testing.T) {
	ctx := context.Background()
	settledWorkloads(t, 3)
	if err := cluster.InstallDeploymentConfigAPI(ctx); err != nil {
		t.Fatal(err)
	}
	removed := false
	t.Cleanup(func() {
		if !removed {
			_ = cluster.RemoveDeploymentConfigAPI(context.Background())
		}
	})
	// The DeploymentConfigs select the running pods; nothing reconciles
	// them, so their status is what the test says: the router is rolling.
	if err := cluster.CreateDeploymentConfig(ctx, "default", "docker-registry", map[string]string{"app": "docker-registry"}, 3, 3, 3); err != nil {
		t.Fatal(err)
	}
	if err := cluster.CreateDeploymentConfig(ctx, "default", "router", map[string]string{"app": "router"}, 3, 2, 1); err != nil {
		t.Fatal(err)
	}
	// As day2 reads them, with its own client configuration (JSON: a real
	// OpenShift API server would answer protobuf, which the dynamic client
	// cannot decode).
	target, err := LoadConfig(ConfigOptions{Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig)})
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(target.Config)
	if err != nil {
		t.Fatal(err)
	}
	ws := Workloads(ctx, client)
	reg, router := ws[0], ws[1]
	if reg.Kind != KindDeploymentConfig || reg.Name != "docker-registry" || reg.Desired != 3 || reg.Current != 3 || reg.Ready != 3 ||
		!reg.Settled() || len(reg.Pods) != 3 || len(reg.Nodes()) != 3 || reg.Err != "" {
		t.Errorf("registry DC: %+v", reg)
	}
	if router.Kind != KindDeploymentConfig || router.Desired != 3 || router.Current != 2 || router.Ready != 1 || router.Settled() || len(router.Pods) != 3 {
		t.Errorf("router DC: %+v", router)
	}

	if err := cluster.RemoveDeploymentConfigAPI(ctx); err != nil {
		t.Fatal(err)
	}
	removed = true
	for _, w := range Workloads(ctx, cluster.Client) {
		if w.Kind != KindDeployment || !w.Settled() {
			t.Errorf("without the DC API: %+v", w)
		}
	}
}

// OpenShift 4 runs the registry as the image-registry Deployment of
// openshift-image-registry (here with no replicas, so that no pod joins the
// shared cluster).
func TestWorkloadsOpenShift4(t *testing.T) {
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "openshift-image-registry"}}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
	})
	zero := int32(0)
	labels := map[string]string{"docker-registry": "default"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "image-registry"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "registry", Image: "quay.io/openshift/origin-docker-registry:4.14"}}},
			},
		},
	}
	if _, err := cluster.Client.AppsV1().Deployments(ns.Name).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.New(cluster.Client.Discovery().RESTClient())
	// Where the 3.11 objects are absent, as on OpenShift 4.
	w := findWorkload(ctx, cluster.Client, dyn, "registry", registryPlaces[2:], false, nil)
	if w.Kind != KindDeployment || w.Namespace != "openshift-image-registry" || w.Name != "image-registry" || w.Err != "" ||
		w.Desired != 0 || len(w.Pods) != 0 || !w.Settled() {
		t.Errorf("OpenShift 4 registry: %+v", w)
	}
	// Both present: the 3.11 place wins.
	if w := Workloads(ctx, cluster.Client)[0]; w.Namespace != "default" {
		t.Errorf("registry read from %s", w.Namespace)
	}
}

func TestWorkloadsNotFoundOrForbidden(t *testing.T) {
	ctx := context.Background()
	dyn := dynamic.New(cluster.Client.Discovery().RESTClient())
	places := []workloadPlace{{KindDeploymentConfig, "nowhere", "router"}, {KindDeployment, "nowhere", "router"}, {KindDeployment, "openshift-ingress", "router-default"}}
	w := findWorkload(ctx, cluster.Client, dyn, "router", places, false, nil)
	want := "not found: no Deployment nowhere/router, no Deployment openshift-ingress/router-default (no apps.openshift.io DeploymentConfig API)"
	if w.Found() || w.Role != "router" || w.Err != want {
		t.Errorf("not found: %+v\nwant Err %q", w, want)
	}
	w = findWorkload(ctx, cluster.Client, dyn, "router", places, true, nil)
	if w.Found() || !strings.HasPrefix(w.Err, "not found: no DeploymentConfig nowhere/router, no Deployment nowhere/router") || strings.Contains(w.Err, "API") {
		t.Errorf("not found with the DC API: %+v", w)
	}
	w = findWorkload(ctx, cluster.Client, dyn, "router", places, false, fmt.Errorf("discover apps.openshift.io/v1: boom"))
	if w.Found() || !strings.Contains(w.Err, "discover apps.openshift.io/v1: boom") {
		t.Errorf("discovery error: %+v", w)
	}

	for _, w := range Workloads(ctx, impersonating(t, "day2-nobody")) {
		if w.Found() || !strings.Contains(w.Err, "Deployment default/") || !strings.Contains(w.Err, "forbidden") {
			t.Errorf("a stranger read %+v", w)
		}
	}
}

func TestRegistryService(t *testing.T) {
	ctx := context.Background()
	svc, err := RegistryService(ctx, cluster.Client)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := cluster.RegistryAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if svc.Namespace != "default" || svc.Name != "docker-registry" || svc.Port != 5000 || !strings.HasPrefix(svc.ClusterIP, "172.30.") ||
		svc.ProbeAddress != addr || svc.Address() != addr || svc.HostPort() != "docker-registry.default.svc:5000" {
		t.Errorf("service %+v (address %s)", svc, addr)
	}
	if _, err := RegistryService(ctx, impersonating(t, "day2-nobody")); err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("a stranger: %v", err)
	}
}
