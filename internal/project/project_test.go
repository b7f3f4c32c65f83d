package project

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// This package's cluster is its own: the round trip deletes myapp.
var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

var (
	crdGVR   = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	routeGVR = schema.GroupVersionResource{Group: "route.openshift.io", Version: "v1", Resource: "routes"}
	dcGVR    = schema.GroupVersionResource{Group: "apps.openshift.io", Version: "v1", Resource: "deploymentconfigs"}
)

// installRouteAPI serves OpenShift's Route API as a CRD (as the local
// cluster serves DeploymentConfigs).
func installRouteAPI(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	crd := map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "routes.route.openshift.io"},
		"spec": map[string]any{
			"group": "route.openshift.io", "scope": "Namespaced",
			"names": map[string]any{"kind": "Route", "listKind": "RouteList", "plural": "routes", "singular": "route"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema":       map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				"subresources": map[string]any{"status": map[string]any{}}}},
		},
	}
	if _, err := dyn.Resource(crdGVR).Create(ctx, &unstructured.Unstructured{Object: crd}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "routes served", func() bool {
		_, err := dyn.Resource(routeGVR).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil
	})
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seedProject adds to the seeded myapp (Deployments, a Service, a
// PodDisruptionBudget, a bare pod) what a project holds beyond `oc get
// all`: a Secret, a ConfigMap, a ServiceAccount with a token secret, a
// Role and a RoleBinding naming the ServiceAccount, a claim, a
// DeploymentConfig and a Route with a generated host.
func seedProject(t *testing.T, ctx context.Context, dyn dynamic.Interface) {
	t.Helper()
	ns := localcluster.AppNamespace
	cs := cluster.Client
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cs.CoreV1().Namespaces().Update(ctx, func() *corev1.Namespace {
		n, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Labels["team"] = "web"
		n.Annotations = map[string]string{"openshift.io/display-name": "My App", "openshift.io/sa.scc.uid-range": "1000090000/10000"}
		return n
	}(), metav1.UpdateOptions{}))
	must(cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db-credentials"},
		StringData: map[string]string{"password": "s3cret"}}, metav1.CreateOptions{}))
	must(cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "frontend-config"},
		Data: map[string]string{"LOG_LEVEL": "info"}}, metav1.CreateOptions{}))
	// As OpenShift 3.11 lists them: the token secret (left out) and
	// a secret of the project's own (kept).
	must(cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "deployer-bot"},
		Secrets: []corev1.ObjectReference{{Name: "deployer-bot-token"}, {Name: "db-credentials"}}}, metav1.CreateOptions{}))
	must(cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "deployer-bot-token",
		Annotations: map[string]string{corev1.ServiceAccountNameKey: "deployer-bot"}}, Type: corev1.SecretTypeServiceAccountToken}, metav1.CreateOptions{}))
	must(cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "scaler"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "patch"}}}}, metav1.CreateOptions{}))
	must(cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "scaler"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "scaler"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "deployer-bot", Namespace: ns}, {Kind: "Group", APIGroup: "rbac.authorization.k8s.io", Name: "system:serviceaccounts:" + ns}}},
		metav1.CreateOptions{}))
	must(cs.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "uploads"},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}},
		metav1.CreateOptions{}))
	// An outside database behind a Service without a selector: its
	// Endpoints are the project's own.
	must(cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "external-db"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}}}, metav1.CreateOptions{}))
	must(cs.CoreV1().Endpoints(ns).Create(ctx, &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "external-db"},
		Subsets: []corev1.EndpointSubset{{Addresses: []corev1.EndpointAddress{{IP: "10.20.30.40"}}, Ports: []corev1.EndpointPort{{Port: 5432}}}}}, metav1.CreateOptions{}))
	if err := cluster.InstallDeploymentConfigAPI(ctx); err != nil {
		t.Fatal(err)
	}
	installRouteAPI(t, ctx, dyn)
	dc := map[string]any{"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
		"metadata": map[string]any{"name": "ruby-ex", "labels": map[string]any{"app": "ruby-ex"}},
		"spec": map[string]any{"replicas": int64(1), "selector": map[string]any{"deploymentconfig": "ruby-ex"},
			"triggers": []any{map[string]any{"type": "ConfigChange"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"deploymentconfig": "ruby-ex"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "ruby-ex", "image": "docker-registry.default.svc:5000/myapp/ruby-ex@sha256:880c720b23c8d15a53b01db52f7abdcbb2280e03f686a5c8edfef1a2a7b21cee"}}}}}}
	must(dyn.Resource(dcGVR).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: dc}, metav1.CreateOptions{}))
	route := map[string]any{"apiVersion": "route.openshift.io/v1", "kind": "Route",
		"metadata": map[string]any{"name": "frontend", "annotations": map[string]any{"openshift.io/host.generated": "true"}},
		"spec":     map[string]any{"host": "frontend-myapp.apps.example.com", "to": map[string]any{"kind": "Service", "name": "frontend"}}}
	must(dyn.Resource(routeGVR).Namespace(ns).Create(ctx, &unstructured.Unstructured{Object: route}, metav1.CreateOptions{}))
}

// normal is v as the JSON it would be sent as (numbers decoded one way).
func normal(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// compare reads every object of the backup from namespace to, strips it as
// a backup does, and wants it equal to the backup's (renamespaced).
func compare(t *testing.T, ctx context.Context, c *Client, b *Backup, to string) {
	t.Helper()
	n := 0
	for _, f := range b.Manifest.Files {
		objs, err := b.Objects(f.File)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range objs {
			model.Renamespace(want, b.Manifest.Namespace, to)
			name := want["metadata"].(map[string]any)["name"].(string)
			got, err := c.Get(ctx, f.ResourceType, to, name)
			if err != nil {
				t.Errorf("%s %s/%s: %v", f.Kind, to, name, err)
				continue
			}
			if _, keep := model.StripObject(got); !keep {
				t.Errorf("%s %s/%s is now dropped by the strip", f.Kind, to, name)
				continue
			}
			if g, w := normal(t, got), normal(t, want); !reflect.DeepEqual(g, w) {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				t.Errorf("%s %s/%s differs from the backup:\n got %s\nwant %s", f.Kind, to, name, gj, wj)
			}
			n++
		}
	}
	if n != b.Manifest.Objects() || n == 0 {
		t.Errorf("compared %d objects, the backup holds %d", n, b.Manifest.Objects())
	}
}

func fileOf(b *Backup, kind string) (model.ProjectFile, bool) {
	for _, f := range b.Manifest.Files {
		if f.Kind == kind {
			return f, true
		}
	}
	return model.ProjectFile{}, false
}

func names(t *testing.T, b *Backup, kind string) []string {
	t.Helper()
	f, ok := fileOf(b, kind)
	if !ok {
		return nil
	}
	objs, err := b.Objects(f.File)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, o := range objs {
		out = append(out, o["metadata"].(map[string]any)["name"].(string))
	}
	slices.Sort(out)
	return out
}

// Back up myapp with everything a project holds, delete the namespace,
// restore it, and find every object as it was less the stripped fields;
// restore it under a new name; restore again: everything is skipped, or
// with Replace replaced.
func TestBackupDeleteRestore(t *testing.T) {
	ctx := context.Background()
	ns := localcluster.AppNamespace
	dyn, err := dynamic.NewForConfig(cluster.RestConfig)
	if err != nil {
		t.Fatal(err)
	}
	c := New(cluster.Client, dyn)
	seedProject(t, ctx, dyn)

	types, skipped, err := c.Types()
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, ty := range types {
		served = append(served, ty.GroupResource())
	}
	for _, want := range []string{"secrets", "configmaps", "serviceaccounts", "persistentvolumeclaims", "services", "pods",
		"deployments.apps", "replicasets.apps", "roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io",
		"poddisruptionbudgets.policy", "deploymentconfigs.apps.openshift.io", "routes.route.openshift.io"} {
		if !slices.Contains(served, want) {
			t.Errorf("%s not backed up; types: %v", want, served)
		}
	}
	left := map[string]string{}
	for _, s := range skipped {
		left[s.Resource] = s.Reason
	}
	for _, want := range []string{"events", "events.events.k8s.io", "controllerrevisions.apps", "leases.coordination.k8s.io", "localsubjectaccessreviews.authorization.k8s.io"} {
		if left[want] == "" {
			t.Errorf("%s not left out with a reason: %v", want, left)
		}
	}

	// The token controller fills the token secret; wait so the backup
	// sees the namespace as it runs.
	waitFor(t, "token secret filled", func() bool {
		s, err := cluster.Client.CoreV1().Secrets(ns).Get(ctx, "deployer-bot-token", metav1.GetOptions{})
		return err == nil && len(s.Data["token"]) > 0
	})
	start := time.Now()
	b, err := c.Export(ctx, ns, types, skipped, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	host := hostfs.New(t.TempDir())
	file := "/backup/projects/" + model.ProjectBackupName(ns, b.Manifest.TakenAt)
	sum, err := b.Write(host, file)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backup: %d objects in %d files, %s", b.Manifest.Objects(), len(b.Manifest.Files), time.Since(start).Round(time.Millisecond))
	p, _ := host.Path(file)
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive %v %v", fi, err)
	}
	if line, _ := os.ReadFile(p + ".sha256"); string(line) != sum+"  "+filepath.Base(p)+"\n" {
		t.Fatalf("checksum file %q", line)
	}
	b, err = Read(host, file) // what is restored is what was re-read
	if err != nil {
		t.Fatal(err)
	}
	if b.Manifest.KubernetesVersion == "" || !b.Manifest.OpenShift || b.Manifest.Namespace != ns {
		t.Errorf("manifest %+v", b.Manifest)
	}
	for kind, want := range map[string][]string{
		"Deployment": {"cache", "frontend"}, "Service": {"external-db", "frontend"}, "Endpoints": {"external-db"}, "EndpointSlice": nil, "Pod": {"debug"}, "ConfigMap": {"frontend-config"},
		"Secret": {"db-credentials", "frontend-cert"}, "ServiceAccount": {"default", "deployer-bot"}, "Role": {"scaler"}, "RoleBinding": {"scaler"},
		"PersistentVolumeClaim": {"uploads"}, "DeploymentConfig": {"ruby-ex"}, "Route": {"frontend"}, "PodDisruptionBudget": {"frontend"},
		"ReplicaSet": nil,
	} {
		if got := names(t, b, kind); !reflect.DeepEqual(got, want) {
			t.Errorf("%s in the backup: %v, want %v", kind, got, want)
		}
	}
	dropped := map[string]string{}
	for _, d := range b.Manifest.Dropped {
		dropped[d.Kind+" "+d.Name] = d.Reason
	}
	for what, why := range map[string]string{
		"Secret deployer-bot-token": "token of ServiceAccount deployer-bot", "ConfigMap kube-root-ca.crt": "published into every namespace",
		"Endpoints frontend": "kept by the endpoints controller from Service frontend's selector",
	} {
		if !strings.Contains(dropped[what], why) {
			t.Errorf("%s: dropped %q, want %q", what, dropped[what], why)
		}
	}
	owned := 0
	for what, why := range dropped {
		if strings.HasPrefix(what, "Pod ") && strings.Contains(why, "owned by ReplicaSet") || strings.HasPrefix(what, "ReplicaSet ") && strings.Contains(why, "owned by Deployment") {
			owned++
		}
	}
	if owned != 4+2 { // frontend's 3 pods and cache's 1, their 2 ReplicaSets
		t.Errorf("%d owned pods and ReplicaSets left out, want 6: %v", owned, dropped)
	}
	sas, _ := b.Objects("serviceaccounts.yaml")
	for _, sa := range sas {
		if sa["metadata"].(map[string]any)["name"] == "deployer-bot" && !reflect.DeepEqual(normal(t, sa["secrets"]), normal(t, []any{map[string]any{"name": "db-credentials"}})) {
			t.Errorf("deployer-bot's secrets: %v", sa["secrets"])
		}
	}
	if p := b.PinnedImages(); len(p) != 1 || !strings.HasPrefix(p[0], "ruby-ex: ruby-ex=docker-registry.default.svc:5000/myapp/ruby-ex@sha256:") {
		t.Errorf("pinned images %v", p)
	}
	svcs, _ := b.Objects("services.yaml")
	for _, svc := range svcs {
		if spec := svc["spec"].(map[string]any); spec["clusterIP"] != nil || spec["clusterIPs"] != nil {
			t.Errorf("service keeps its ClusterIP: %v", spec)
		}
	}

	// Delete the project and wait for it to go.
	if err := cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	waitFor(t, "namespace "+ns+" gone", func() bool {
		_, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	t.Logf("namespace deleted in %s", time.Since(start).Round(time.Millisecond))

	created, err := c.EnsureNamespace(ctx, b, ns)
	if err != nil || !created {
		t.Fatalf("namespace: %v %v", created, err)
	}
	// The dry run admits every object and stores none.
	dry, err := c.Restore(ctx, b, RestoreOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.Count(model.RestoreFailed) > 0 || dry.Count(model.RestoreCreated) < b.Manifest.Objects()-1 {
		t.Fatalf("dry run: %s\n%s", dry.Summary(true), strings.Join(dry.Lines(true), "\n"))
	}
	if missing, err := c.Missing(ctx, b, ns); err != nil || len(missing) < b.Manifest.Objects()-1 {
		t.Fatalf("the dry run stored objects: only %v missing (%v)", missing, err)
	}
	var order []string
	report, err := c.Restore(ctx, b, RestoreOptions{Progress: func(r model.RestoreResult) {
		if len(order) == 0 || order[len(order)-1] != r.Kind {
			order = append(order, r.Kind)
		}
	}})
	if err != nil || report.Count(model.RestoreFailed) > 0 {
		t.Fatalf("restore: %v %s\n%s", err, report.Summary(false), strings.Join(report.Lines(false), "\n"))
	}
	wantOrder := []string{"ServiceAccount", "Secret", "ConfigMap", "PersistentVolumeClaim", "Role", "RoleBinding", "Service",
		"DeploymentConfig", "Deployment", "Pod", "Endpoints", "PodDisruptionBudget", "Route"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Errorf("restore order %v, want %v", order, wantOrder)
	}
	t.Logf("restore: %s", report.Summary(false))
	compare(t, ctx, c, b, ns)
	nsObj, err := cluster.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || nsObj.Labels["team"] != "web" || nsObj.Annotations["openshift.io/display-name"] != "My App" || nsObj.Annotations["openshift.io/sa.scc.uid-range"] == "" {
		t.Errorf("restored namespace: %v %v", nsObj.ObjectMeta, err)
	}
	// The Deployments run again.
	waitFor(t, "frontend's pods back", func() bool {
		d, err := cluster.Client.AppsV1().Deployments(ns).Get(ctx, "frontend", metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas == 3
	})

	// Under a new name: namespaces and subjects rewritten, the project's
	// UID range not copied.
	to := "myapp-copy"
	if _, err := c.EnsureNamespace(ctx, b, to); err != nil {
		t.Fatal(err)
	}
	if report, err := c.Restore(ctx, b, RestoreOptions{Namespace: to}); err != nil || report.Count(model.RestoreFailed) > 0 {
		t.Fatalf("restore into %s: %v %s\n%s", to, err, report.Summary(false), strings.Join(report.Lines(false), "\n"))
	}
	compare(t, ctx, c, b, to)
	rb, err := cluster.Client.RbacV1().RoleBindings(to).Get(ctx, "scaler", metav1.GetOptions{})
	if err != nil || rb.Subjects[0].Namespace != to || rb.Subjects[1].Name != "system:serviceaccounts:"+to {
		t.Errorf("binding in %s: %+v %v", to, rb, err)
	}
	copyNS, err := cluster.Client.CoreV1().Namespaces().Get(ctx, to, metav1.GetOptions{})
	if err != nil || copyNS.Annotations["openshift.io/sa.scc.uid-range"] != "" || copyNS.Annotations["openshift.io/display-name"] != "My App" {
		t.Errorf("namespace %s: %v %v", to, copyNS.Annotations, err)
	}

	// Again: what exists is skipped; with Replace, replaced.
	again, err := c.Restore(ctx, b, RestoreOptions{})
	if err != nil || again.Count(model.RestoreSkipped) != b.Manifest.Objects() {
		t.Errorf("restore over itself: %v %s", err, again.Summary(false))
	}
	replaced, err := c.Restore(ctx, b, RestoreOptions{Replace: true})
	if err != nil || replaced.Count(model.RestoreReplaced) != b.Manifest.Objects() {
		t.Errorf("replace: %v %s\n%s", err, replaced.Summary(false), strings.Join(replaced.Lines(false), "\n"))
	}
	compare(t, ctx, c, b, ns)
}

// A flipped byte, a truncated copy, a wrong checksum, a file changed with
// the outer checksum made to match, a file the manifest does not list: each
// refused with its reason.
func TestVerifyRefusesCorruptArchives(t *testing.T) {
	b := &Backup{Manifest: model.ProjectManifest{Namespace: "myapp", NamespaceFile: model.ProjectNamespaceFile, TakenAt: time.Now()}, Files: map[string][]byte{}}
	if err := b.add(model.ProjectNamespaceFile, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "myapp"}}); err != nil {
		t.Fatal(err)
	}
	cm := model.ResourceType{Version: "v1", Resource: "configmaps", Kind: "ConfigMap"}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "items": []any{map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": map[string]any{"k": "v"}}}}
	if err := b.add(cm.FileName(), list); err != nil {
		t.Fatal(err)
	}
	b.Manifest.Files = []model.ProjectFile{{File: cm.FileName(), ResourceType: cm, Count: 1, SHA256: sha(b.Files[cm.FileName()])}}
	good, err := b.Pack()
	if err != nil {
		t.Fatal(err)
	}
	line := func(data []byte) string { return sha(data) + "  x.tar.gz\n" }
	if _, err := Verify(good, line(good)); err != nil {
		t.Fatalf("good archive refused: %v", err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	truncated := good[:len(good)-40]
	tampered := &Backup{Manifest: b.Manifest, Files: map[string][]byte{model.ProjectNamespaceFile: b.Files[model.ProjectNamespaceFile],
		cm.FileName(): bytes.Replace(b.Files[cm.FileName()], []byte("k: v"), []byte("k: w"), 1)}}
	tamperedData, _ := tampered.Pack()
	extra := &Backup{Manifest: b.Manifest, Files: map[string][]byte{model.ProjectNamespaceFile: b.Files[model.ProjectNamespaceFile],
		cm.FileName(): b.Files[cm.FileName()], "secrets.yaml": []byte("kind: List\n")}}
	extraData, _ := extra.Pack()
	for name, c := range map[string]struct {
		data []byte
		line string
		why  string
	}{
		"flipped byte":       {flipped, line(good), "does not match the checksum file"},
		"truncated":          {truncated, line(good), "does not match the checksum file"},
		"wrong sha256":       {good, strings.Repeat("0", 64) + "  x.tar.gz\n", "does not match the checksum file"},
		"empty checksum":     {good, "", "holds no sha256"},
		"truncated, resumed": {truncated, line(truncated), "read archive"},
		"file changed":       {tamperedData, line(tamperedData), "configmaps.yaml: sha256"},
		"file not listed":    {extraData, line(extraData), "secrets.yaml is in the archive but not in the manifest"},
	} {
		_, err := Verify(c.data, c.line)
		if err == nil || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%s: %v, want %q", name, err, c.why)
		}
	}
}
