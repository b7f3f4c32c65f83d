package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/model"
)

// ProbeAPI GETs an API server health endpoint (/healthz, /readyz) with
// ?verbose, so a failing answer names the checks that fail.
func ProbeAPI(ctx context.Context, client kubernetes.Interface, path string) model.APIProbe {
	p := model.APIProbe{Path: path}
	res := client.Discovery().RESTClient().Get().AbsPath(path).Param("verbose", "").Do(ctx)
	res.StatusCode(&p.Status)
	body, err := res.Raw()
	p.Body = string(body)
	if err != nil && p.Status == 0 {
		p.Err = fmt.Sprintf("GET %s: %v", path, err)
	}
	return p
}

// leaderSource is one place a leader-election record may be.
type leaderSource struct {
	kind, namespace, name string // kind: "configmap" (annotation) or "lease"
}

func (s leaderSource) String() string { return s.kind + " " + s.namespace + "/" + s.name }

// The 3.11 controllers' record (seed 003 §3.9), then the Kubernetes and
// OpenShift 4 leases.
var (
	openshiftControllers = leaderSource{"configmap", "kube-system", "openshift-master-controllers"}
	controllerLeases     = []leaderSource{{"lease", "kube-system", "kube-controller-manager"}}
	schedulerLeases      = []leaderSource{{"lease", "kube-system", "kube-scheduler"}, {"lease", "openshift-kube-scheduler", "kube-scheduler"}}
)

// Leaders reads who leads the controllers and the scheduler. On OpenShift
// 3.11 the master controllers (which include the scheduler) record their
// leader in the openshift-master-controllers config map, and only that
// record is reported.
func Leaders(ctx context.Context, client kubernetes.Interface) []model.LeaderRecord {
	controllers := findLeader(ctx, client, "controllers", append([]leaderSource{openshiftControllers}, controllerLeases...))
	if controllers.Found && controllers.Source == openshiftControllers.String() {
		return []model.LeaderRecord{controllers}
	}
	return []model.LeaderRecord{controllers, findLeader(ctx, client, "scheduler", schedulerLeases)}
}

// findLeader returns the first record found among sources. A source that
// cannot be read (forbidden) does not stop the search, but when nothing is
// found its error is reported rather than "absent".
func findLeader(ctx context.Context, client kubernetes.Interface, component string, sources []leaderSource) model.LeaderRecord {
	var errs, names []string
	for _, s := range sources {
		names = append(names, s.String())
		rec, err := readLeader(ctx, client, s)
		switch {
		case err == nil:
			rec.Component, rec.Source = component, s.String()
			return rec
		case !apierrors.IsNotFound(err):
			errs = append(errs, fmt.Sprintf("%s: %v", s, err))
		}
	}
	rec := model.LeaderRecord{Component: component, Source: strings.Join(names, ", ")}
	if len(errs) > 0 {
		rec.Err = strings.Join(errs, "; ")
	}
	return rec
}

func readLeader(ctx context.Context, client kubernetes.Interface, s leaderSource) (model.LeaderRecord, error) {
	if s.kind == "configmap" {
		cm, err := client.CoreV1().ConfigMaps(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
		if err != nil {
			return model.LeaderRecord{}, err
		}
		v, ok := cm.Annotations[model.LeaderAnnotation]
		if !ok {
			return model.LeaderRecord{Found: true}, nil // exists, nobody holds it
		}
		return model.ParseLeaderAnnotation(v)
	}
	l, err := client.CoordinationV1().Leases(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if err != nil {
		return model.LeaderRecord{}, err
	}
	rec := model.LeaderRecord{Found: true}
	if l.Spec.HolderIdentity != nil {
		rec.Holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		rec.Renewed = l.Spec.RenewTime.Time
	}
	if l.Spec.LeaseDurationSeconds != nil {
		rec.LeaseDuration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	if l.Spec.LeaseTransitions != nil {
		rec.Transitions = *l.Spec.LeaseTransitions
	}
	return rec, nil
}

// StorageClasses lists the StorageClasses and which are default (seed 003
// §2.3's `oc get storageclass`).
func StorageClasses(ctx context.Context, client kubernetes.Interface) model.StorageClasses {
	list, err := client.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return model.StorageClasses{Err: fmt.Sprintf("list storageclasses: %v", err)}
	}
	var out model.StorageClasses
	for _, sc := range list.Items {
		out.Items = append(out.Items, model.StorageClass{Name: sc.Name, Provisioner: sc.Provisioner, Default: model.IsDefaultStorageClass(sc.Annotations)})
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out
}

var clusterOperatorsGVR = schema.GroupVersionResource{Group: "config.openshift.io", Version: "v1", Resource: "clusteroperators"}

// ClusterOperators lists OpenShift 4's ClusterOperators and their
// conditions (seed 001 §3.2's `oc get clusteroperators`); Served is false
// when the config.openshift.io API does not exist.
func ClusterOperators(ctx context.Context, client kubernetes.Interface) model.ClusterOperators {
	if served, err := resourceServed(client, clusterOperatorsGVR); err != nil {
		return model.ClusterOperators{Served: true, Err: err.Error()}
	} else if !served {
		return model.ClusterOperators{}
	}
	// The discovery client is an unversioned REST client, which is all the
	// dynamic client needs. It may ask for protobuf first (see tune), but a
	// ClusterOperator is a custom resource, always served as JSON.
	dyn := dynamic.New(client.Discovery().RESTClient())
	list, err := dyn.Resource(clusterOperatorsGVR).List(ctx, metav1.ListOptions{})
	if err != nil {
		return model.ClusterOperators{Served: true, Err: fmt.Sprintf("list clusteroperators: %v", err)}
	}
	out := model.ClusterOperators{Served: true}
	for _, u := range list.Items {
		out.Items = append(out.Items, clusterOperator(u))
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].Name < out.Items[j].Name })
	return out
}

// resourceServed asks discovery whether gvr exists; a group that is not
// there at all is "not served", not an error.
func resourceServed(client kubernetes.Interface, gvr schema.GroupVersionResource) (bool, error) {
	list, err := client.Discovery().ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("discover %s: %w", gvr.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource {
			return true, nil
		}
	}
	return false, nil
}

func clusterOperator(u unstructured.Unstructured) model.ClusterOperator {
	co := model.ClusterOperator{Name: u.GetName()}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var unavailable string
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		typ, _ := m["type"].(string)
		status, _ := m["status"].(string)
		msg, _ := m["message"].(string)
		switch typ {
		case "Available":
			co.Available = status
			if status == "False" {
				unavailable = msg
			}
		case "Progressing":
			co.Progressing = status
		case "Degraded":
			co.Degraded = status
			if status == "True" {
				co.Message = msg
			}
		}
	}
	if co.Message == "" {
		co.Message = unavailable
	}
	return co
}
