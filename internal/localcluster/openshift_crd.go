package localcluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// crdSpec is an OpenShift API the local cluster serves as a
// CustomResourceDefinition: objects are stored as given (no schema), with a
// status subresource as OpenShift's own API has.
type crdSpec struct {
	group, kind, plural, shortName string
	namespaced                     bool
	columns                        []printerColumn
}

type printerColumn struct{ name, jsonPath string }

func (s crdSpec) name() string { return s.plural + "." + s.group }

// GVR is the resource's v1 API.
func (s crdSpec) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: s.group, Version: "v1", Resource: s.plural}
}

var (
	clusterOperatorAPI = crdSpec{
		group: "config.openshift.io", kind: "ClusterOperator", plural: "clusteroperators", shortName: "co",
		columns: []printerColumn{
			{"Version", ".status.versions[?(@.name==\"operator\")].version"},
			{"Available", ".status.conditions[?(@.type==\"Available\")].status"},
			{"Progressing", ".status.conditions[?(@.type==\"Progressing\")].status"},
			{"Degraded", ".status.conditions[?(@.type==\"Degraded\")].status"},
		},
	}
	deploymentConfigAPI = crdSpec{
		group: "apps.openshift.io", kind: "DeploymentConfig", plural: "deploymentconfigs", shortName: "dc", namespaced: true,
		columns: []printerColumn{{"Desired", ".spec.replicas"}, {"Current", ".status.replicas"}},
	}
)

func (s crdSpec) object() *unstructured.Unstructured {
	scope := "Cluster"
	if s.namespaced {
		scope = "Namespaced"
	}
	var cols []any
	for _, c := range s.columns {
		cols = append(cols, map[string]any{"name": c.name, "type": "string", "jsonPath": c.jsonPath})
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": s.name()},
		"spec": map[string]any{
			"group": s.group,
			"scope": scope,
			"names": map[string]any{
				"kind": s.kind, "listKind": s.kind + "List", "plural": s.plural,
				"singular": strings.ToLower(s.kind), "shortNames": []any{s.shortName},
			},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema":                   map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				"subresources":             map[string]any{"status": map[string]any{}},
				"additionalPrinterColumns": cols,
			}},
		},
	}}
}

func (c *Cluster) dynamic() (dynamic.Interface, error) {
	return dynamic.NewForConfig(c.RestConfig)
}

// installAPI creates the CRD and waits until the API serves its objects.
func (c *Cluster) installAPI(ctx context.Context, s crdSpec) error {
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	if err := c.create(ctx, "CRD "+s.name(), func() error {
		_, err := dyn.Resource(crdGVR).Create(ctx, s.object(), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	return poll(ctx, "CRD "+s.name()+" served", 30*time.Second, 50*time.Millisecond, func() (bool, error) {
		_, err := dyn.Resource(s.GVR()).List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, err
	})
}

// InstallDeploymentConfigAPI serves OpenShift 3.11's apps.openshift.io/v1
// DeploymentConfig API as a CRD, for tests of code that reads
// DeploymentConfigs; nothing acts on the objects (no controller makes pods
// or sets their status). The seeded cluster runs Deployments instead.
func (c *Cluster) InstallDeploymentConfigAPI(ctx context.Context) error {
	return c.installAPI(ctx, deploymentConfigAPI)
}

// RemoveDeploymentConfigAPI deletes the DeploymentConfig CRD (and with it
// every DeploymentConfig) and waits until discovery no longer lists it.
func (c *Cluster) RemoveDeploymentConfigAPI(ctx context.Context) error {
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	err = dyn.Resource(crdGVR).Delete(ctx, deploymentConfigAPI.name(), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete CRD %s: %w", deploymentConfigAPI.name(), err)
	}
	gv := deploymentConfigAPI.GVR().GroupVersion().String()
	return poll(ctx, "CRD "+deploymentConfigAPI.name()+" gone", 30*time.Second, 100*time.Millisecond, func() (bool, error) {
		_, err := c.Client.Discovery().ServerResourcesForGroupVersion(gv)
		return apierrors.IsNotFound(err), err
	})
}

// createWithStatus creates obj of the API s, then sets its status through
// the status subresource (create ignores it).
func (c *Cluster) createWithStatus(ctx context.Context, dyn dynamic.Interface, s crdSpec, obj *unstructured.Unstructured) error {
	ri := dyn.Resource(s.GVR())
	var r dynamic.ResourceInterface = ri
	if s.namespaced {
		r = ri.Namespace(obj.GetNamespace())
	}
	status := obj.Object["status"]
	var created *unstructured.Unstructured
	if err := c.create(ctx, s.kind+" "+obj.GetName(), func() error {
		var err error
		created, err = r.Create(ctx, obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			created, err = r.Get(ctx, obj.GetName(), metav1.GetOptions{})
		}
		return err
	}); err != nil {
		return err
	}
	created.Object["status"] = status
	if _, err := r.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("%s %s status: %w", s.kind, obj.GetName(), err)
	}
	return nil
}

// CreateDeploymentConfig creates a DeploymentConfig (the API must be
// installed) with its status as given: desired and current replicas, and
// a selector matching pods that already exist.
func (c *Cluster) CreateDeploymentConfig(ctx context.Context, namespace, name string, selector map[string]string, desired, current, ready int32) error {
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	sel := map[string]any{}
	for k, v := range selector {
		sel[k] = v
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps.openshift.io/v1", "kind": "DeploymentConfig",
		"metadata": map[string]any{"namespace": namespace, "name": name},
		"spec":     map[string]any{"replicas": int64(desired), "selector": sel, "triggers": []any{map[string]any{"type": "ConfigChange"}}},
		"status": map[string]any{
			"latestVersion": int64(1), "replicas": int64(current), "readyReplicas": int64(ready),
			"availableReplicas": int64(ready), "updatedReplicas": int64(current),
		},
	}}
	return c.createWithStatus(ctx, dyn, deploymentConfigAPI, obj)
}
