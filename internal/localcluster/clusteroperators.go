package localcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// What an OpenShift 4 etcd backup reads besides the ClusterOperators the
// cluster is seeded with (seed 001 §5.1.1): the ClusterVersion's release and
// the static pod resource revisions on the master.

var clusterVersionAPI = crdSpec{group: "config.openshift.io", kind: "ClusterVersion", plural: "clusterversions", shortName: "cv"}

// StaticPodResourcesDir is OpenShift 4's static pod revisions directory,
// relative to a host root.
const StaticPodResourcesDir = "etc/kubernetes/static-pod-resources"

// InstallClusterVersion serves the ClusterVersion API and creates
// "version" with the release as its desired version.
func (c *Cluster) InstallClusterVersion(ctx context.Context, release string) error {
	if err := c.installAPI(ctx, clusterVersionAPI); err != nil {
		return err
	}
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	return c.createWithStatus(ctx, dyn, clusterVersionAPI, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
		"metadata": map[string]any{"name": "version"},
		"spec":     map[string]any{"channel": "stable-4.7"},
		"status":   map[string]any{"desired": map[string]any{"version": release}},
	}})
}

// SetOperatorProgressing sets the Progressing condition of a seeded
// ClusterOperator, as its operator does when a rollout starts (with msg)
// and when it settles.
func (c *Cluster) SetOperatorProgressing(ctx context.Context, name string, progressing bool, msg string) error {
	return c.SetOperatorCondition(ctx, name, "Progressing", progressing, "NodeInstaller", msg)
}

// SetOperatorCondition sets one condition (Progressing, Degraded,
// Available) of a seeded ClusterOperator: True with reason and msg, or
// False as an operator reports a settled state (AsExpected, no message).
func (c *Cluster) SetOperatorCondition(ctx context.Context, name, typ string, on bool, reason, msg string) error {
	dyn, err := c.dynamic()
	if err != nil {
		return err
	}
	r := dyn.Resource(clusterOperatorAPI.GVR())
	co, err := r.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("clusteroperator %s: %w", name, err)
	}
	conds, _, _ := unstructured.NestedSlice(co.Object, "status", "conditions")
	status := "False"
	if on {
		status = "True"
	} else {
		reason, msg = "AsExpected", ""
	}
	cond := map[string]any{"type": typ, "status": status, "reason": reason, "message": msg,
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
	replaced := false
	for i, x := range conds {
		if m, ok := x.(map[string]any); ok && m["type"] == typ {
			conds[i], replaced = cond, true
		}
	}
	if !replaced {
		conds = append(conds, cond)
	}
	if err := unstructured.SetNestedSlice(co.Object, conds, "status", "conditions"); err != nil {
		return err
	}
	if _, err := r.UpdateStatus(ctx, co, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("clusteroperator %s status: %w", name, err)
	}
	return nil
}

// WriteStaticPodResources lays out master i's static pod resource revisions
// the way OpenShift 4 keeps them: two revisions of the kube-apiserver,
// kube-controller-manager, kube-scheduler and etcd pods, the newer
// kube-apiserver one holding an encryption configuration.
func (c *Cluster) WriteStaticPodResources(i int) error {
	fs := newFileSet(c.HostRoot(i))
	for _, comp := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"} {
		for _, rev := range []int{5, 6} {
			dir := filepath.Join(StaticPodResourcesDir, fmt.Sprintf("%s-pod-%d", comp, rev))
			fs.add(filepath.Join(dir, comp+"-pod.yaml"), fmt.Appendf(nil, "# %s static pod, revision %d\n", comp, rev))
			if comp == "kube-apiserver" && rev == 6 {
				fs.add(filepath.Join(dir, "secrets/encryption-config/encryption-config"), []byte("kind: EncryptionConfiguration\n"))
			}
		}
	}
	if err := fs.write(); err != nil {
		return fmt.Errorf("static pod resources of %s: %w", c.Masters[i].Name, err)
	}
	return nil
}
