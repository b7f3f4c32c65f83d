package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Project backup and restore (seed 003 §4.7, §6.1, §6.2): which of a
// namespace's objects a backup keeps, how each is stripped so it can be
// created again, and the order a restore creates them in. Objects are the
// API's JSON decoded into maps, as the dynamic client holds them.

// ResourceType is one namespaced type the API serves, as discovery names it.
type ResourceType struct {
	Group    string `json:"group,omitempty"`
	Version  string `json:"version"`
	Resource string `json:"resource"` // plural, e.g. deployments
	Kind     string `json:"kind"`
	// Verbs are discovery's; a type is backed up only when it can be listed
	// and created.
	Verbs []string `json:"-"`
}

// APIVersion is group/version ("v1" for the core group).
func (t ResourceType) APIVersion() string {
	if t.Group == "" {
		return t.Version
	}
	return t.Group + "/" + t.Version
}

// GroupResource is resource.group, as RBAC and `oc api-resources -o name`
// name it ("secrets", "deployments.apps").
func (t ResourceType) GroupResource() string {
	if t.Group == "" {
		return t.Resource
	}
	return t.Resource + "." + t.Group
}

// FileName is the type's file in a project backup, one per kind.
func (t ResourceType) FileName() string { return t.GroupResource() + ".yaml" }

func hasVerb(verbs []string, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// notBackedUp are types a project backup leaves out by design, with why:
// controllers re-create them, they are views of other types, or they are
// records of what happened rather than what should exist.
var notBackedUp = map[string]string{
	"events":                                          "records of what happened, not objects to re-create",
	"events.events.k8s.io":                            "records of what happened, not objects to re-create",
	"controllerrevisions.apps":                        "history kept by the StatefulSet and DaemonSet controllers",
	"leases.coordination.k8s.io":                      "held by running components (leader election), re-taken when they run",
	"csistoragecapacities.storage.k8s.io":             "published by the CSI driver",
	"pods.metrics.k8s.io":                             "metrics, not objects",
	"imagestreamtags.image.openshift.io":              "a view of the ImageStreams (backed up with them)",
	"imagestreamimages.image.openshift.io":            "a view of the ImageStreams (backed up with them)",
	"imagetags.image.openshift.io":                    "a view of the ImageStreams (backed up with them)",
	"roles.authorization.openshift.io":                "the same objects as roles.rbac.authorization.k8s.io (backed up there)",
	"rolebindings.authorization.openshift.io":         "the same objects as rolebindings.rbac.authorization.k8s.io (backed up there)",
	"deployments.extensions":                          "the same objects as deployments.apps (backed up there)",
	"daemonsets.extensions":                           "the same objects as daemonsets.apps (backed up there)",
	"replicasets.extensions":                          "the same objects as replicasets.apps (backed up there)",
	"ingresses.extensions":                            "the same objects as ingresses.networking.k8s.io (backed up there)",
	"networkpolicies.extensions":                      "the same objects as networkpolicies.networking.k8s.io (backed up there)",
	"appliedclusterresourcequotas.quota.openshift.io": "a view of the cluster's ClusterResourceQuotas",
}

// SkipType says whether a project backup leaves a namespaced type out, and
// why: the guide's loop over `oc api-resources --namespaced=true` meets
// types that cannot be exported (MethodNotAllowed) or would come back twice.
func SkipType(t ResourceType) (string, bool) {
	if why, ok := notBackedUp[t.GroupResource()]; ok {
		return why, true
	}
	if !hasVerb(t.Verbs, "list") {
		return "cannot be listed", true
	}
	if !hasVerb(t.Verbs, "create") {
		return "cannot be created (read-only)", true
	}
	return "", false
}

// Dropped is an object a backup leaves out, with why.
type Dropped struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// Skipped is a type a backup leaves out, with why.
type Skipped struct {
	Resource string `json:"resource"` // resource.group
	Reason   string `json:"reason"`
}

// ProjectFile is one kind's file in a project backup.
type ProjectFile struct {
	File string `json:"file"`
	ResourceType
	Count  int    `json:"count"`
	SHA256 string `json:"sha256"`
}

// ProjectManifest is manifest.json of a project backup: what it holds and
// where it came from.
type ProjectManifest struct {
	Namespace         string        `json:"namespace"`
	TakenAt           time.Time     `json:"takenAt"`
	KubernetesVersion string        `json:"kubernetesVersion"`
	OpenShift         bool          `json:"openshift,omitempty"`
	Host              string        `json:"host,omitempty"`
	NamespaceFile     string        `json:"namespaceFile"`
	Files             []ProjectFile `json:"files"`
	SkippedTypes      []Skipped     `json:"skippedTypes,omitempty"`
	Dropped           []Dropped     `json:"droppedObjects,omitempty"`
	// Stripped lists the fields removed from every object (StrippedFields).
	Stripped []string `json:"strippedFields"`
}

// ProjectManifestFile is the manifest's name in the archive.
const ProjectManifestFile = "manifest.json"

// ProjectNamespaceFile is the namespace object's file in the archive.
const ProjectNamespaceFile = "namespace.yaml"

// Objects is how many objects the backup holds (the namespace aside).
func (m ProjectManifest) Objects() int {
	n := 0
	for _, f := range m.Files {
		n += f.Count
	}
	return n
}

// Check refuses a manifest a restore cannot trust.
func (m ProjectManifest) Check() error {
	if m.Namespace == "" || m.NamespaceFile == "" {
		return fmt.Errorf("manifest names no namespace")
	}
	seen := map[string]bool{}
	for _, f := range m.Files {
		if f.File == "" || f.Resource == "" || f.Version == "" || f.Kind == "" || len(f.SHA256) != 64 {
			return fmt.Errorf("manifest entry %+v is incomplete", f)
		}
		if seen[f.File] {
			return fmt.Errorf("manifest lists %s twice", f.File)
		}
		seen[f.File] = true
	}
	return nil
}

// ProjectBackupName is the archive's file name for a namespace at a time.
func ProjectBackupName(ns string, t time.Time) string {
	return fmt.Sprintf("project-%s-%s.tar.gz", ns, t.UTC().Format("2006-01-02_150405"))
}

// StrippedFields are what a re-create cannot carry: the server sets them.
var StrippedFields = []string{
	"status", "metadata.uid", "metadata.resourceVersion", "metadata.creationTimestamp",
	"metadata.managedFields", "metadata.generation", "metadata.selfLink", "metadata.generateName",
	"metadata.ownerReferences", "metadata.deletionTimestamp", "metadata.deletionGracePeriodSeconds",
	"controller-set annotations (deployment revision, PV binding, provisioner, selected node)",
	"Service spec.clusterIP/clusterIPs (not None)", "PVC spec.volumeName", "Pod spec.nodeName",
	"Job selector and controller-uid labels", "Route spec.host when generated",
	"ServiceAccount references to the token and registry secrets left out",
}

// controllerAnnotations are annotations controllers set on what they act
// on; a re-created object gets them anew.
var controllerAnnotations = []string{
	"deployment.kubernetes.io/revision",
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
	"openshift.io/deployment-config.latest-version",
}

// autoConfigMaps are published into every namespace by controllers.
var autoConfigMaps = map[string]bool{"kube-root-ca.crt": true, "openshift-service-ca.crt": true}

// StripObject makes obj (one listed object, modified in place) fit to be
// created again, or says why the backup leaves it out: objects a controller
// owns (pods of a ReplicaSet, ReplicaSets of a Deployment, builds of a
// BuildConfig) come back from their owner, service-account token secrets
// and the CA ConfigMaps from their controllers.
func StripObject(obj map[string]any) (string, bool) {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		return "no metadata", false
	}
	name, _ := meta["name"].(string)
	for _, o := range slice(meta["ownerReferences"]) {
		ref, _ := o.(map[string]any)
		if c, _ := ref["controller"].(bool); c {
			return fmt.Sprintf("owned by %v %v: re-created by it", ref["kind"], ref["name"]), false
		}
	}
	switch kind {
	case "Secret":
		typ, _ := obj["type"].(string)
		ann, _ := meta["annotations"].(map[string]any)
		switch {
		case typ == "kubernetes.io/service-account-token":
			return fmt.Sprintf("token of ServiceAccount %v: the token controller makes a new one", ann["kubernetes.io/service-account.name"]), false
		case typ == "kubernetes.io/dockercfg" && ann["openshift.io/token-secret.name"] != nil:
			return fmt.Sprintf("registry credentials of ServiceAccount %v: OpenShift makes new ones", ann["kubernetes.io/service-account.name"]), false
		}
	case "ConfigMap":
		if autoConfigMaps[name] {
			return "published into every namespace by a controller", false
		}
	}
	delete(obj, "status")
	for _, f := range []string{"uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink",
		"generateName", "ownerReferences", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		delete(meta, f)
	}
	if ann, ok := meta["annotations"].(map[string]any); ok {
		for _, a := range controllerAnnotations {
			delete(ann, a)
		}
		if len(ann) == 0 {
			delete(meta, "annotations")
		}
	}
	spec, _ := obj["spec"].(map[string]any)
	switch kind {
	case "Service":
		if spec != nil && spec["clusterIP"] != "None" {
			delete(spec, "clusterIP")
			delete(spec, "clusterIPs")
		}
	case "PersistentVolumeClaim":
		delete(spec, "volumeName")
	case "Pod":
		delete(spec, "nodeName")
	case "Job":
		stripJobSelector(spec)
	case "Route":
		if ann, _ := meta["annotations"].(map[string]any); ann["openshift.io/host.generated"] == "true" {
			delete(spec, "host")
		}
	}
	return "", true
}

// ControllerKept says whether an Endpoints or EndpointSlice object is kept
// by a controller, and by which: the endpoints of a Service with a selector
// (selected holds their names), and the slices a controller manages (the
// endpointslice controller's, the mirroring of hand-made Endpoints). The
// Endpoints of a Service without a selector are the project's own (an
// outside database behind a Service) and are backed up.
func ControllerKept(obj map[string]any, selected map[string]bool) (string, bool) {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	switch obj["kind"] {
	case "Endpoints":
		if selected[name] {
			return "kept by the endpoints controller from Service " + name + "'s selector", true
		}
	case "EndpointSlice":
		labels, _ := meta["labels"].(map[string]any)
		if m, _ := labels["endpointslice.kubernetes.io/managed-by"].(string); m != "" {
			return "kept by " + m, true
		}
	}
	return "", false
}

// DropSecretRefs removes from a ServiceAccount its references to secrets
// the backup left out (dropped, by name): the token and registry secrets
// the cluster made for it (OpenShift 3.11 lists them in `secrets` and
// `imagePullSecrets`) are made anew, under new names, for the restored one.
func DropSecretRefs(sa map[string]any, dropped map[string]bool) {
	for _, field := range []string{"secrets", "imagePullSecrets"} {
		refs, ok := sa[field].([]any)
		if !ok {
			continue
		}
		kept := []any{}
		for _, r := range refs {
			ref, _ := r.(map[string]any)
			if name, _ := ref["name"].(string); !dropped[name] {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			delete(sa, field)
		} else {
			sa[field] = kept
		}
	}
}

// allocated are the spec fields the cluster fills in on create that a
// strip removes and an update may not change.
var allocated = map[string][]string{
	"Service":               {"clusterIP", "clusterIPs"},
	"PersistentVolumeClaim": {"volumeName"},
	"Pod":                   {"nodeName"},
}

// KeepAllocated carries into obj, before it replaces live (an update), the
// values the cluster allocated to live that the backup stripped: an update
// that changed a Service's ClusterIP, a claim's volume or a pod's node
// would be refused.
func KeepAllocated(obj, live map[string]any) {
	spec, _ := obj["spec"].(map[string]any)
	liveSpec, _ := live["spec"].(map[string]any)
	if spec == nil || liveSpec == nil {
		return
	}
	kind, _ := obj["kind"].(string)
	for _, f := range allocated[kind] {
		if _, set := spec[f]; !set && liveSpec[f] != nil {
			spec[f] = liveSpec[f]
		}
	}
}

// stripJobSelector removes the selector and labels the Job controller
// generates from the Job's uid; created again with them, the API refuses
// the Job (the selector must be generated) unless manualSelector is set.
func stripJobSelector(spec map[string]any) {
	if spec == nil {
		return
	}
	if m, _ := spec["manualSelector"].(bool); m {
		return
	}
	delete(spec, "selector")
	tmpl, _ := spec["template"].(map[string]any)
	meta, _ := tmpl["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	for _, l := range []string{"controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name"} {
		delete(labels, l)
	}
}

// StripNamespace makes a namespace object fit to be created again: the
// strip of every object, the finalizers the server adds, and the name label
// the server sets.
func StripNamespace(obj map[string]any) {
	StripObject(obj)
	delete(obj, "spec")
	if meta, ok := obj["metadata"].(map[string]any); ok {
		if labels, ok := meta["labels"].(map[string]any); ok {
			delete(labels, "kubernetes.io/metadata.name")
			if len(labels) == 0 {
				delete(meta, "labels")
			}
		}
	}
}

// sccAnnotations are OpenShift's per-project UID, group and SELinux ranges:
// a project restored under a new name must get ranges of its own.
var sccAnnotations = []string{"openshift.io/sa.scc.mcs", "openshift.io/sa.scc.supplemental-groups", "openshift.io/sa.scc.uid-range"}

// RenameNamespace rewrites a namespace object for a restore under a new
// name: the name, and OpenShift's ranges (the old project's, still in use
// when it exists on the same cluster).
func RenameNamespace(obj map[string]any, to string) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	meta["name"] = to
	if ann, ok := meta["annotations"].(map[string]any); ok {
		for _, a := range sccAnnotations {
			delete(ann, a)
		}
	}
}

// Renamespace rewrites an object for a restore into namespace to (from the
// backup's namespace from): metadata.namespace, and the subjects of
// RoleBindings that name the old namespace (its ServiceAccounts, or the
// group of them all).
func Renamespace(obj map[string]any, from, to string) {
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	meta["namespace"] = to
	if from == to || obj["kind"] != "RoleBinding" {
		return
	}
	for _, s := range slice(obj["subjects"]) {
		sub, _ := s.(map[string]any)
		if sub == nil {
			continue
		}
		if sub["namespace"] == from {
			sub["namespace"] = to
		}
		if sub["kind"] == "Group" && sub["name"] == "system:serviceaccounts:"+from {
			sub["name"] = "system:serviceaccounts:" + to
		}
		if sub["kind"] == "User" {
			// system:serviceaccount:NS:NAME, as OpenShift 3.11's
			// `oc policy add-role-to-user` writes a service account.
			if n, _ := sub["name"].(string); strings.HasPrefix(n, "system:serviceaccount:"+from+":") {
				sub["name"] = "system:serviceaccount:" + to + ":" + strings.TrimPrefix(n, "system:serviceaccount:"+from+":")
			}
		}
	}
}

func slice(v any) []any { s, _ := v.([]any); return s }

// restoreOrder is the rank of a kind in a restore: what others refer to
// comes first (seed 003 §6.2 creates the project, then its objects).
var restoreOrder = map[string]int{
	"ServiceAccount": 1, "Secret": 2, "ConfigMap": 3, "PersistentVolumeClaim": 4,
	"Role": 5, "RoleBinding": 6, "Service": 7, "ImageStream": 8,
	"Deployment": 9, "DeploymentConfig": 9, "StatefulSet": 9, "DaemonSet": 9, "ReplicaSet": 9,
	"ReplicationController": 9, "Job": 9, "CronJob": 9, "Pod": 9, "BuildConfig": 9,
}

// restoreRankOthers is every other kind's rank: Routes, autoscalers,
// disruption budgets, network policies, custom resources.
const restoreRankOthers = 10

// RestoreRank is a kind's place in a restore's order.
func RestoreRank(kind string) int {
	if r, ok := restoreOrder[kind]; ok {
		return r
	}
	return restoreRankOthers
}

// SortForRestore orders a backup's files in dependency order (ties by file
// name, so the order is stable).
func SortForRestore(files []ProjectFile) {
	sort.SliceStable(files, func(i, j int) bool {
		ri, rj := RestoreRank(files[i].Kind), RestoreRank(files[j].Kind)
		if ri != rj {
			return ri < rj
		}
		return files[i].File < files[j].File
	})
}

// RestoreOutcome is what a restore did (or its dry run would do) with one
// object.
type RestoreOutcome string

const (
	RestoreCreated  RestoreOutcome = "created"
	RestoreReplaced RestoreOutcome = "replaced"
	RestoreSkipped  RestoreOutcome = "skipped"
	RestoreFailed   RestoreOutcome = "failed"
)

// RestoreResult is one object's outcome.
type RestoreResult struct {
	Kind    string         `json:"kind"`
	Name    string         `json:"name"`
	Outcome RestoreOutcome `json:"outcome"`
	Detail  string         `json:"detail,omitempty"`
}

// RestoreReport sums a restore's results up.
type RestoreReport []RestoreResult

// Count is how many results have outcome o.
func (r RestoreReport) Count(o RestoreOutcome) int {
	n := 0
	for _, x := range r {
		if x.Outcome == o {
			n++
		}
	}
	return n
}

// Summary is "created 5, replaced 0, skipped 2, failed 1"; of a dry run,
// "would create 5, replace 0, skip 2, fail 1".
func (r RestoreReport) Summary(dryRun bool) string {
	format := "created %d, replaced %d, skipped %d, failed %d"
	if dryRun {
		format = "would create %d, replace %d, skip %d, fail %d"
	}
	return fmt.Sprintf(format,
		r.Count(RestoreCreated), r.Count(RestoreReplaced), r.Count(RestoreSkipped), r.Count(RestoreFailed))
}

// Lines is one line per object, in order: "created Deployment frontend".
func (r RestoreReport) Lines(dryRun bool) []string {
	out := make([]string, len(r))
	for i, x := range r {
		o := string(x.Outcome)
		if dryRun && x.Outcome != RestoreFailed && x.Outcome != RestoreSkipped {
			o = "would be " + o
		} else if dryRun && x.Outcome == RestoreFailed {
			o = "would fail"
		}
		out[i] = fmt.Sprintf("%s %s %s", o, x.Kind, x.Name)
		if x.Detail != "" {
			out[i] += ": " + x.Detail
		}
	}
	return out
}

// PinnedImages are the container images of a DeploymentConfig's template
// pinned by digest, "container=image". The guide warns of them (seed 003
// §4.7): an image built into the internal registry is referenced by its
// sha, which a restored environment does not have until it is built or
// pushed again.
func PinnedImages(obj map[string]any) []string {
	if obj["kind"] != "DeploymentConfig" {
		return nil
	}
	spec, _ := obj["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	var out []string
	for _, field := range []string{"initContainers", "containers"} {
		for _, c := range slice(pod[field]) {
			ctr, _ := c.(map[string]any)
			if img, _ := ctr["image"].(string); strings.Contains(img, "@sha256:") {
				out = append(out, fmt.Sprintf("%v=%s", ctr["name"], img))
			}
		}
	}
	return out
}

// PVCDataPlan is what a restore's plan says of the claims' data, which a
// project backup does not hold: how seed 003 §4.8 / §6.4 moves it.
func PVCDataPlan(claims []string, ns string) []string {
	if len(claims) == 0 {
		return nil
	}
	out := []string{fmt.Sprintf("PVC data is not in a project backup (seed 003 §4.8, §6.4): the claims %s come back empty; move their data as the guide does:", strings.Join(claims, ", ")),
		"  before: oc rsync <pod>:<mount path> ./<dir> -n <old namespace>   (from a pod that mounts the claim; use the application's own backup tool where it has one)",
		fmt.Sprintf("  after:  oc rsync ./<dir> <pod>:<mount path> -n %s   (into a pod of the restored project mounting the claim, then restart the application)", ns),
	}
	return out
}
