package model

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSkipType(t *testing.T) {
	all := []string{"get", "list", "create", "update", "delete", "watch"}
	for _, c := range []struct {
		t    ResourceType
		skip string // "" = backed up
	}{
		{ResourceType{Version: "v1", Resource: "secrets", Kind: "Secret", Verbs: all}, ""},
		{ResourceType{Group: "apps.openshift.io", Version: "v1", Resource: "deploymentconfigs", Kind: "DeploymentConfig", Verbs: all}, ""},
		{ResourceType{Group: "route.openshift.io", Version: "v1", Resource: "routes", Kind: "Route", Verbs: all}, ""},
		{ResourceType{Group: "example.com", Version: "v1", Resource: "widgets", Kind: "Widget", Verbs: all}, ""},
		{ResourceType{Version: "v1", Resource: "events", Kind: "Event", Verbs: all}, "records of what happened"},
		{ResourceType{Group: "events.k8s.io", Version: "v1", Resource: "events", Kind: "Event", Verbs: all}, "records of what happened"},
		{ResourceType{Version: "v1", Resource: "endpoints", Kind: "Endpoints", Verbs: all}, ""},
		{ResourceType{Group: "apps", Version: "v1", Resource: "controllerrevisions", Kind: "ControllerRevision", Verbs: all}, "StatefulSet and DaemonSet"},
		{ResourceType{Group: "extensions", Version: "v1beta1", Resource: "deployments", Kind: "Deployment", Verbs: all}, "the same objects as deployments.apps"},
		{ResourceType{Group: "authorization.openshift.io", Version: "v1", Resource: "rolebindings", Kind: "RoleBinding", Verbs: all}, "rbac.authorization.k8s.io"},
		{ResourceType{Group: "image.openshift.io", Version: "v1", Resource: "imagestreamtags", Kind: "ImageStreamTag", Verbs: all}, "a view of the ImageStreams"},
		{ResourceType{Group: "authorization.k8s.io", Version: "v1", Resource: "localsubjectaccessreviews", Kind: "LocalSubjectAccessReview", Verbs: []string{"create"}}, "cannot be listed"},
		{ResourceType{Group: "metrics.example", Version: "v1", Resource: "usage", Kind: "Usage", Verbs: []string{"get", "list"}}, "cannot be created"},
	} {
		why, skip := SkipType(c.t)
		if skip != (c.skip != "") || !strings.Contains(why, c.skip) {
			t.Errorf("%s: skip %v %q, want %q", c.t.GroupResource(), skip, why, c.skip)
		}
	}
}

func TestStripObject(t *testing.T) {
	meta := `"uid":"u1","resourceVersion":"42","creationTimestamp":"2026-01-01T00:00:00Z","generation":3,"selfLink":"/x","managedFields":[{"manager":"kubectl"}]`
	for _, c := range []struct {
		name, in string
		dropped  string // "" = kept
		want     string // the kept object
	}{
		{"deployment", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"frontend","namespace":"myapp",` + meta + `,"labels":{"app":"frontend"},"annotations":{"deployment.kubernetes.io/revision":"2","team":"web"}},"spec":{"replicas":3},"status":{"replicas":3}}`,
			"", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"frontend","namespace":"myapp","labels":{"app":"frontend"},"annotations":{"team":"web"}},"spec":{"replicas":3}}`},
		{"replicaset of a deployment", `{"kind":"ReplicaSet","metadata":{"name":"frontend-5d9c","ownerReferences":[{"kind":"Deployment","name":"frontend","controller":true,"uid":"u0"}]}}`,
			"owned by Deployment frontend", ""},
		{"pod of a replicaset", `{"kind":"Pod","metadata":{"name":"frontend-5d9c-x2","generateName":"frontend-5d9c-","ownerReferences":[{"kind":"ReplicaSet","name":"frontend-5d9c","controller":true}]}}`,
			"owned by ReplicaSet frontend-5d9c", ""},
		{"bare pod", `{"kind":"Pod","metadata":{"name":"debug",` + meta + `},"spec":{"nodeName":"node-1","containers":[{"name":"c"}]},"status":{"phase":"Running"}}`,
			"", `{"kind":"Pod","metadata":{"name":"debug"},"spec":{"containers":[{"name":"c"}]}}`},
		{"non-controller owner", `{"kind":"ConfigMap","metadata":{"name":"x","ownerReferences":[{"kind":"Widget","name":"w"}]}}`,
			"", `{"kind":"ConfigMap","metadata":{"name":"x"}}`},
		{"service", `{"kind":"Service","metadata":{"name":"frontend"},"spec":{"clusterIP":"10.0.0.4","clusterIPs":["10.0.0.4"],"ports":[{"port":8080}]}}`,
			"", `{"kind":"Service","metadata":{"name":"frontend"},"spec":{"ports":[{"port":8080}]}}`},
		{"headless service", `{"kind":"Service","metadata":{"name":"db"},"spec":{"clusterIP":"None","clusterIPs":["None"]}}`,
			"", `{"kind":"Service","metadata":{"name":"db"},"spec":{"clusterIP":"None","clusterIPs":["None"]}}`},
		{"token secret", `{"kind":"Secret","type":"kubernetes.io/service-account-token","metadata":{"name":"default-token-8mmrk","annotations":{"kubernetes.io/service-account.name":"default"}}}`,
			"token of ServiceAccount default", ""},
		{"openshift dockercfg", `{"kind":"Secret","type":"kubernetes.io/dockercfg","metadata":{"name":"builder-dockercfg-x","annotations":{"kubernetes.io/service-account.name":"builder","openshift.io/token-secret.name":"builder-token-y"}}}`,
			"registry credentials of ServiceAccount builder", ""},
		{"user dockercfg", `{"kind":"Secret","type":"kubernetes.io/dockercfg","metadata":{"name":"pull"},"data":{".dockercfg":"e30="}}`,
			"", `{"kind":"Secret","type":"kubernetes.io/dockercfg","metadata":{"name":"pull"},"data":{".dockercfg":"e30="}}`},
		{"root ca", `{"kind":"ConfigMap","metadata":{"name":"kube-root-ca.crt"}}`, "published into every namespace", ""},
		{"service ca", `{"kind":"ConfigMap","metadata":{"name":"openshift-service-ca.crt"}}`, "published into every namespace", ""},
		{"pvc", `{"kind":"PersistentVolumeClaim","metadata":{"name":"data","annotations":{"pv.kubernetes.io/bind-completed":"yes","volume.kubernetes.io/selected-node":"n1"}},"spec":{"volumeName":"pv-1","resources":{"requests":{"storage":"1Gi"}}}}`,
			"", `{"kind":"PersistentVolumeClaim","metadata":{"name":"data"},"spec":{"resources":{"requests":{"storage":"1Gi"}}}}`},
		{"job", `{"kind":"Job","metadata":{"name":"once"},"spec":{"selector":{"matchLabels":{"controller-uid":"u"}},"template":{"metadata":{"labels":{"controller-uid":"u","job-name":"once","app":"x"}}}}}`,
			"", `{"kind":"Job","metadata":{"name":"once"},"spec":{"template":{"metadata":{"labels":{"app":"x"}}}}}`},
		{"job with manual selector", `{"kind":"Job","metadata":{"name":"m"},"spec":{"manualSelector":true,"selector":{"matchLabels":{"a":"b"}}}}`,
			"", `{"kind":"Job","metadata":{"name":"m"},"spec":{"manualSelector":true,"selector":{"matchLabels":{"a":"b"}}}}`},
		{"generated route host", `{"kind":"Route","metadata":{"name":"web","annotations":{"openshift.io/host.generated":"true"}},"spec":{"host":"web-myapp.apps.example.com","to":{"name":"web"}}}`,
			"", `{"kind":"Route","metadata":{"name":"web","annotations":{"openshift.io/host.generated":"true"}},"spec":{"to":{"name":"web"}}}`},
		{"chosen route host", `{"kind":"Route","metadata":{"name":"web"},"spec":{"host":"shop.example.com"}}`,
			"", `{"kind":"Route","metadata":{"name":"web"},"spec":{"host":"shop.example.com"}}`},
	} {
		o := obj(t, c.in)
		why, keep := StripObject(o)
		if keep != (c.dropped == "") || !strings.Contains(why, c.dropped) {
			t.Errorf("%s: keep %v %q, want dropped %q", c.name, keep, why, c.dropped)
			continue
		}
		if keep && !reflect.DeepEqual(o, obj(t, c.want)) {
			got, _ := json.Marshal(o)
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestNamespaceStripAndRename(t *testing.T) {
	ns := obj(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"myapp","uid":"u","resourceVersion":"1",
		"labels":{"kubernetes.io/metadata.name":"myapp","team":"web"},
		"annotations":{"openshift.io/display-name":"My App","openshift.io/sa.scc.uid-range":"1000090000/10000","openshift.io/sa.scc.mcs":"s0:c9,c4","openshift.io/sa.scc.supplemental-groups":"1000090000/10000"}},
		"spec":{"finalizers":["kubernetes"]},"status":{"phase":"Active"}}`)
	StripNamespace(ns)
	same := obj(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"myapp","labels":{"team":"web"},
		"annotations":{"openshift.io/display-name":"My App","openshift.io/sa.scc.uid-range":"1000090000/10000","openshift.io/sa.scc.mcs":"s0:c9,c4","openshift.io/sa.scc.supplemental-groups":"1000090000/10000"}}}`)
	if !reflect.DeepEqual(ns, same) {
		t.Fatalf("stripped namespace: %v", ns)
	}
	RenameNamespace(ns, "myapp-copy")
	renamed := obj(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"myapp-copy","labels":{"team":"web"},"annotations":{"openshift.io/display-name":"My App"}}}`)
	if !reflect.DeepEqual(ns, renamed) {
		t.Fatalf("renamed namespace: %v", ns)
	}
}

func TestRenamespace(t *testing.T) {
	rb := obj(t, `{"kind":"RoleBinding","metadata":{"name":"edit","namespace":"myapp"},"roleRef":{"kind":"Role","name":"editor"},"subjects":[
		{"kind":"ServiceAccount","name":"deployer","namespace":"myapp"},
		{"kind":"ServiceAccount","name":"robot","namespace":"ci"},
		{"kind":"Group","name":"system:serviceaccounts:myapp"},
		{"kind":"User","name":"system:serviceaccount:myapp:builder"},
		{"kind":"User","name":"alice"}]}`)
	Renamespace(rb, "myapp", "myapp-copy")
	want := obj(t, `{"kind":"RoleBinding","metadata":{"name":"edit","namespace":"myapp-copy"},"roleRef":{"kind":"Role","name":"editor"},"subjects":[
		{"kind":"ServiceAccount","name":"deployer","namespace":"myapp-copy"},
		{"kind":"ServiceAccount","name":"robot","namespace":"ci"},
		{"kind":"Group","name":"system:serviceaccounts:myapp-copy"},
		{"kind":"User","name":"system:serviceaccount:myapp-copy:builder"},
		{"kind":"User","name":"alice"}]}`)
	if !reflect.DeepEqual(rb, want) {
		got, _ := json.Marshal(rb)
		t.Fatalf("renamespaced binding: %s", got)
	}
	cm := obj(t, `{"kind":"ConfigMap","metadata":{"name":"c","namespace":"myapp"},"data":{"ns":"myapp"}}`)
	Renamespace(cm, "myapp", "other")
	if !reflect.DeepEqual(cm, obj(t, `{"kind":"ConfigMap","metadata":{"name":"c","namespace":"other"},"data":{"ns":"myapp"}}`)) {
		t.Fatalf("renamespaced config map: %v", cm)
	}
}

func TestSortForRestore(t *testing.T) {
	kinds := map[string]string{
		"routes.route.openshift.io.yaml": "Route", "deployments.apps.yaml": "Deployment", "secrets.yaml": "Secret",
		"serviceaccounts.yaml": "ServiceAccount", "rolebindings.rbac.authorization.k8s.io.yaml": "RoleBinding",
		"roles.rbac.authorization.k8s.io.yaml": "Role", "services.yaml": "Service", "configmaps.yaml": "ConfigMap",
		"persistentvolumeclaims.yaml": "PersistentVolumeClaim", "poddisruptionbudgets.policy.yaml": "PodDisruptionBudget",
		"deploymentconfigs.apps.openshift.io.yaml": "DeploymentConfig", "imagestreams.image.openshift.io.yaml": "ImageStream",
		"pods.yaml": "Pod", "widgets.example.com.yaml": "Widget",
	}
	var files []ProjectFile
	for f, k := range kinds {
		files = append(files, ProjectFile{File: f, ResourceType: ResourceType{Kind: k}})
	}
	SortForRestore(files)
	var got []string
	for _, f := range files {
		got = append(got, f.Kind)
	}
	want := []string{"ServiceAccount", "Secret", "ConfigMap", "PersistentVolumeClaim", "Role", "RoleBinding", "Service", "ImageStream",
		"DeploymentConfig", "Deployment", "Pod", "PodDisruptionBudget", "Route", "Widget"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestProjectManifestCheck(t *testing.T) {
	good := ProjectManifest{Namespace: "myapp", NamespaceFile: ProjectNamespaceFile, Files: []ProjectFile{
		{File: "secrets.yaml", ResourceType: ResourceType{Version: "v1", Resource: "secrets", Kind: "Secret"}, Count: 1, SHA256: strings.Repeat("a", 64)},
	}}
	if err := good.Check(); err != nil {
		t.Fatal(err)
	}
	noNS := good
	noNS.Namespace = ""
	twice := good
	twice.Files = append(twice.Files, good.Files[0])
	noSum := good
	noSum.Files = []ProjectFile{{File: "secrets.yaml", ResourceType: good.Files[0].ResourceType, Count: 1}}
	for name, m := range map[string]ProjectManifest{"no namespace": noNS, "file twice": twice, "no sha256": noSum} {
		if err := m.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := ProjectBackupName("myapp", time.Date(2026, 12, 4, 21, 5, 9, 0, time.UTC)); n != "project-myapp-2026-12-04_210509.tar.gz" {
		t.Errorf("name %s", n)
	}
}

func TestControllerKept(t *testing.T) {
	selected := map[string]bool{"frontend": true}
	for _, c := range []struct {
		in, why string // "" = the project's own
	}{
		{`{"kind":"Endpoints","metadata":{"name":"frontend"}}`, "endpoints controller from Service frontend's selector"},
		{`{"kind":"Endpoints","metadata":{"name":"external-db"},"subsets":[{"addresses":[{"ip":"10.1.2.3"}]}]}`, ""},
		{`{"kind":"EndpointSlice","metadata":{"name":"frontend-x7","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslice-controller.k8s.io"}}}`, "kept by endpointslice-controller.k8s.io"},
		{`{"kind":"EndpointSlice","metadata":{"name":"external-db-k2","labels":{"endpointslice.kubernetes.io/managed-by":"endpointslicemirroring-controller.k8s.io"}}}`, "endpointslicemirroring"},
		{`{"kind":"EndpointSlice","metadata":{"name":"by-hand"}}`, ""},
		{`{"kind":"ConfigMap","metadata":{"name":"frontend"}}`, ""},
	} {
		why, kept := ControllerKept(obj(t, c.in), selected)
		if kept != (c.why != "") || !strings.Contains(why, c.why) {
			t.Errorf("%s: %v %q, want %q", c.in, kept, why, c.why)
		}
	}
}

func TestDropSecretRefs(t *testing.T) {
	dropped := map[string]bool{"default-token-8mmrk": true, "default-dockercfg-5x2kq": true}
	sa := obj(t, `{"kind":"ServiceAccount","metadata":{"name":"default"},
		"secrets":[{"name":"default-token-8mmrk"},{"name":"default-dockercfg-5x2kq"},{"name":"git-ssh"}],
		"imagePullSecrets":[{"name":"default-dockercfg-5x2kq"}]}`)
	DropSecretRefs(sa, dropped)
	if want := obj(t, `{"kind":"ServiceAccount","metadata":{"name":"default"},"secrets":[{"name":"git-ssh"}]}`); !reflect.DeepEqual(sa, want) {
		t.Errorf("service account: %v", sa)
	}
}

func TestPinnedImages(t *testing.T) {
	dc := obj(t, `{"kind":"DeploymentConfig","spec":{"template":{"spec":{
		"initContainers":[{"name":"init","image":"busybox:1.36"}],
		"containers":[{"name":"ruby-ex","image":"10.111.255.221:5000/myproject/ruby-ex@sha256:880c720b23c8d15a53b01db52f7abdcbb2280e03f686a5c8edfef1a2a7b21cee"},{"name":"side","image":"registry.redhat.io/rhel7:7.9"}]}}}}`)
	want := []string{"ruby-ex=10.111.255.221:5000/myproject/ruby-ex@sha256:880c720b23c8d15a53b01db52f7abdcbb2280e03f686a5c8edfef1a2a7b21cee"}
	if got := PinnedImages(dc); !reflect.DeepEqual(got, want) {
		t.Errorf("pinned %v", got)
	}
	dc["kind"] = "Deployment"
	if got := PinnedImages(dc); got != nil {
		t.Errorf("a Deployment: %v", got)
	}
}

func TestKeepAllocated(t *testing.T) {
	for _, c := range []struct{ name, obj, live, want string }{
		{"pod", `{"kind":"Pod","spec":{"containers":[]}}`, `{"kind":"Pod","spec":{"nodeName":"n1"}}`, `{"kind":"Pod","spec":{"containers":[],"nodeName":"n1"}}`},
		{"pvc", `{"kind":"PersistentVolumeClaim","spec":{}}`, `{"spec":{"volumeName":"pv-1"}}`, `{"kind":"PersistentVolumeClaim","spec":{"volumeName":"pv-1"}}`},
		{"service", `{"kind":"Service","spec":{}}`, `{"spec":{"clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1"]}}`, `{"kind":"Service","spec":{"clusterIP":"10.0.0.1","clusterIPs":["10.0.0.1"]}}`},
		{"headless kept", `{"kind":"Service","spec":{"clusterIP":"None"}}`, `{"spec":{"clusterIP":"None","clusterIPs":["None"]}}`, `{"kind":"Service","spec":{"clusterIP":"None","clusterIPs":["None"]}}`},
		{"other kinds untouched", `{"kind":"ConfigMap","spec":{}}`, `{"spec":{"nodeName":"n1"}}`, `{"kind":"ConfigMap","spec":{}}`},
	} {
		o := obj(t, c.obj)
		KeepAllocated(o, obj(t, c.live))
		if !reflect.DeepEqual(o, obj(t, c.want)) {
			t.Errorf("%s: %v", c.name, o)
		}
	}
}

func TestRestoreReport(t *testing.T) {
	r := RestoreReport{
		{Kind: "ServiceAccount", Name: "default", Outcome: RestoreSkipped, Detail: "exists"},
		{Kind: "Deployment", Name: "frontend", Outcome: RestoreCreated},
		{Kind: "Pod", Name: "debug", Outcome: RestoreFailed, Detail: "forbidden"},
	}
	if s := r.Summary(false); s != "created 1, replaced 0, skipped 1, failed 1" {
		t.Errorf("summary %q", s)
	}
	if s := r.Summary(true); s != "would create 1, replace 0, skip 1, fail 1" {
		t.Errorf("dry-run summary %q", s)
	}
	want := []string{"skipped ServiceAccount default: exists", "would be created Deployment frontend", "would fail Pod debug: forbidden"}
	if got := r.Lines(true); !reflect.DeepEqual(got, want) {
		t.Errorf("dry-run lines %q", got)
	}
	if got := r.Lines(false)[1]; got != "created Deployment frontend" {
		t.Errorf("line %q", got)
	}
	if PVCDataPlan(nil, "x") != nil {
		t.Error("a plan for no claims")
	}
	if p := PVCDataPlan([]string{"data"}, "myapp"); len(p) != 3 || !strings.Contains(p[0], "§4.8, §6.4") || !strings.Contains(p[2], "oc rsync ./<dir> <pod>:<mount path> -n myapp") {
		t.Errorf("pvc plan %q", p)
	}
}
