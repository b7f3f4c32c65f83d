package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/day2ops/day2/model"
)

// Kinds of object a workload runs as.
const (
	KindDeploymentConfig = "DeploymentConfig"
	KindDeployment       = "Deployment"
)

// DeploymentConfigsGVR is OpenShift 3.11's DeploymentConfig API.
var DeploymentConfigsGVR = schema.GroupVersionResource{Group: "apps.openshift.io", Version: "v1", Resource: "deploymentconfigs"}

// workloadPlace is where a workload may run.
type workloadPlace struct{ kind, namespace, name string }

func (p workloadPlace) String() string { return p.kind + " " + p.namespace + "/" + p.name }

// Where the registry and the router run, in the order looked at: OpenShift
// 3.11's DeploymentConfigs in default (seed 003 §3.4), the same names as
// Deployments, then OpenShift 4's operands.
var (
	registryPlaces = []workloadPlace{
		{KindDeploymentConfig, "default", "docker-registry"},
		{KindDeployment, "default", "docker-registry"},
		{KindDeployment, "openshift-image-registry", "image-registry"},
	}
	routerPlaces = []workloadPlace{
		{KindDeploymentConfig, "default", "router"},
		{KindDeployment, "default", "router"},
		{KindDeployment, "openshift-ingress", "router-default"},
	}
)

// Workloads reads the integrated registry and the router (in that order):
// desired, current and ready replicas and their pods. DeploymentConfigs are
// read with the dynamic client when discovery lists apps.openshift.io. A
// role found nowhere has Err naming every place looked at, or why a place
// could not be read (forbidden).
func Workloads(ctx context.Context, client kubernetes.Interface) []model.Workload {
	dcServed, dcErr := resourceServed(client, DeploymentConfigsGVR)
	// The discovery client is an unversioned JSON REST client, which is all
	// the dynamic client needs.
	dyn := dynamic.New(client.Discovery().RESTClient())
	return []model.Workload{
		findWorkload(ctx, client, dyn, "registry", registryPlaces, dcServed, dcErr),
		findWorkload(ctx, client, dyn, "router", routerPlaces, dcServed, dcErr),
	}
}

func findWorkload(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, role string, places []workloadPlace, dcServed bool, dcErr error) model.Workload {
	var missing, errs []string
	if dcErr != nil {
		errs = append(errs, dcErr.Error())
	}
	for _, p := range places {
		if p.kind == KindDeploymentConfig && !dcServed {
			continue
		}
		w, err := readWorkload(ctx, client, dyn, p)
		switch {
		case err == nil:
			w.Role = role
			return w
		case apierrors.IsNotFound(err):
			missing = append(missing, p.String())
		default:
			errs = append(errs, fmt.Sprintf("%s: %v", p, err))
		}
	}
	msg := "not found: no " + strings.Join(missing, ", no ")
	if !dcServed && dcErr == nil {
		msg += " (no apps.openshift.io DeploymentConfig API)"
	}
	if len(errs) > 0 {
		// Why a place could not be read matters more than where nothing was.
		msg = strings.Join(errs, "; ")
	}
	return model.Workload{Role: role, Err: msg}
}

// readWorkload reads the object at p and its pods; the error is the
// object's (not found, forbidden). A pod list that fails is the workload's
// Err.
func readWorkload(ctx context.Context, client kubernetes.Interface, dyn dynamic.Interface, p workloadPlace) (model.Workload, error) {
	w := model.Workload{Kind: p.kind, Namespace: p.namespace, Name: p.name}
	var sel labels.Selector
	if p.kind == KindDeploymentConfig {
		u, err := dyn.Resource(DeploymentConfigsGVR).Namespace(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
		if err != nil {
			return w, err
		}
		w.Desired, w.Current, w.Ready, sel = deploymentConfigState(u)
	} else {
		d, err := client.AppsV1().Deployments(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
		if err != nil {
			return w, err
		}
		w.Desired = 1
		if d.Spec.Replicas != nil {
			w.Desired = *d.Spec.Replicas
		}
		w.Current, w.Ready = d.Status.Replicas, d.Status.ReadyReplicas
		if sel, err = metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil {
			w.Err = fmt.Sprintf("%s: selector: %v", p, err)
			return w, nil
		}
	}
	if sel == nil || sel.Empty() {
		// An empty selector would claim every pod of the namespace.
		w.Err = fmt.Sprintf("%s has no pod selector", p)
		return w, nil
	}
	pods, err := client.CoreV1().Pods(p.namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		w.Err = fmt.Sprintf("list pods of %s: %v", p, err)
		return w, nil
	}
	for i := range pods.Items {
		w.Pods = append(w.Pods, workloadPod(&pods.Items[i]))
	}
	sort.Slice(w.Pods, func(i, j int) bool { return w.Pods[i].Name < w.Pods[j].Name })
	return w, nil
}

// deploymentConfigState reads what `oc get dc` shows: DESIRED is
// spec.replicas, CURRENT status.replicas; and the pod selector, a plain
// label map in a DeploymentConfig.
func deploymentConfigState(u *unstructured.Unstructured) (desired, current, ready int32, sel labels.Selector) {
	num := func(fields ...string) int32 {
		v, _, _ := unstructured.NestedInt64(u.Object, fields...)
		return int32(v)
	}
	m, _, _ := unstructured.NestedStringMap(u.Object, "spec", "selector")
	return num("spec", "replicas"), num("status", "replicas"), num("status", "readyReplicas"), labels.SelectorFromSet(m)
}

func workloadPod(p *corev1.Pod) model.WorkloadPod {
	phase := string(p.Status.Phase)
	if p.DeletionTimestamp != nil {
		phase = "Terminating" // as oc get pods shows it
	}
	return model.WorkloadPod{Name: p.Name, Node: p.Spec.NodeName, Phase: phase, Ready: podutils.IsPodReady(p)}
}

// The Services in front of the integrated registry, in the order looked at.
var registryServices = []workloadPlace{
	{"Service", "default", "docker-registry"},
	{"Service", "openshift-image-registry", "image-registry"},
}

// RegistryService finds the integrated registry's Service and the port it
// serves the registry on (5000 when it has several). Not found anywhere is
// an error naming where it looked.
func RegistryService(ctx context.Context, client kubernetes.Interface) (*model.RegistryService, error) {
	var missing, errs []string
	for _, p := range registryServices {
		svc, err := client.CoreV1().Services(p.namespace).Get(ctx, p.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			missing = append(missing, p.namespace+"/"+p.name)
			continue
		case err != nil:
			errs = append(errs, fmt.Sprintf("service %s/%s: %v", p.namespace, p.name, err))
			continue
		case len(svc.Spec.Ports) == 0:
			return nil, fmt.Errorf("service %s/%s has no port", p.namespace, p.name)
		}
		port := svc.Spec.Ports[0].Port
		for _, sp := range svc.Spec.Ports {
			if sp.Port == 5000 {
				port = sp.Port
			}
		}
		return &model.RegistryService{
			Namespace: svc.Namespace, Name: svc.Name, ClusterIP: svc.Spec.ClusterIP, Port: port,
			ProbeAddress: svc.Annotations[model.RegistryProbeAddressAnnotation],
		}, nil
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("registry service: %s", strings.Join(errs, "; "))
	}
	return nil, fmt.Errorf("no registry service: no %s", strings.Join(missing, ", no "))
}

// deploymentsGVR is apps/v1 Deployments, scaled the same way as DCs.
var deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

// WorkloadPath is the API path of a workload's object, for plans.
func WorkloadPath(w model.Workload) string {
	if w.Kind == KindDeploymentConfig {
		return fmt.Sprintf("/apis/apps.openshift.io/v1/namespaces/%s/deploymentconfigs/%s", w.Namespace, w.Name)
	}
	return fmt.Sprintf("/apis/apps/v1/namespaces/%s/deployments/%s", w.Namespace, w.Name)
}

// ScaleWorkload sets a DeploymentConfig's or Deployment's spec.replicas
// with a merge patch (what `oc scale` changes), through the dynamic client
// so OpenShift 3.11's DeploymentConfigs need no typed client.
func ScaleWorkload(ctx context.Context, client kubernetes.Interface, w model.Workload, replicas int32) error {
	gvr := deploymentsGVR
	if w.Kind == KindDeploymentConfig {
		gvr = DeploymentConfigsGVR
	}
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, replicas)
	_, err := dynamic.New(client.Discovery().RESTClient()).Resource(gvr).Namespace(w.Namespace).Patch(ctx, w.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("scale %s %s/%s to %d: %w", w.Kind, w.Namespace, w.Name, replicas, err)
	}
	return nil
}
