package kube

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

// watch runs a NodeWatcher built from master-0's admin kubeconfig (as day2
// finds it on a master) and returns its snapshots.
func watch(t *testing.T) <-chan model.Nodes {
	ch, _ := watcher(t)
	return ch
}

func watcher(t *testing.T) (<-chan model.Nodes, *NodeWatcher) {
	t.Helper()
	t.Setenv("KUBECONFIG", "")
	t.Setenv("HOME", t.TempDir())
	target, err := LoadConfig(ConfigOptions{HostRoot: cluster.HostRoot(0)})
	if err != nil {
		t.Fatal(err)
	}
	if target.Source != cluster.HostRoot(0)+"/etc/origin/master/admin.kubeconfig" {
		t.Errorf("config source = %q, want the master's admin.kubeconfig", target.Source)
	}
	client, err := kubernetes.NewForConfig(target.Config)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan model.Nodes, 100)
	w, err := NewNodeWatcher(client)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go w.Run(ctx, func(n model.Nodes) { ch <- n })
	return ch, w
}

func until(t *testing.T, ch <-chan model.Nodes, what string, cond func(model.Nodes) bool) model.Nodes {
	t.Helper()
	timeout := time.After(30 * time.Second)
	var last model.Nodes
	for {
		select {
		case last = <-ch:
			if cond(last) {
				return last
			}
		case <-timeout:
			t.Fatalf("%s: last snapshot %+v", what, last)
		}
	}
}

func TestNodeSnapshots(t *testing.T) {
	ch := watch(t)
	snap := until(t, ch, "synced with pods", func(n model.Nodes) bool { return n.Synced && n.PodsSynced && len(n.Items) == 9 })
	total, ready := snap.Counts()
	if total != 9 || ready != 9 {
		t.Errorf("counts %d/%d, want 9/9", ready, total)
	}
	pods := 0
	for _, n := range snap.Items {
		pods += n.Pods
		master := len(n.Roles) == 1 && n.Roles[0] == "master"
		if master != (n.Status() == "Ready,SchedulingDisabled") {
			t.Errorf("%s roles %v status %s", n.Name, n.Roles, n.Status())
		}
		if n.InternalIP == "" || n.KubeletVersion == "" || n.Created.IsZero() {
			t.Errorf("%s incomplete: %+v", n.Name, n)
		}
	}
	if pods != cluster.ExpectedPods() {
		t.Errorf("pods by node add up to %d, want %d", pods, cluster.ExpectedPods())
	}

	// A cordon shows up through the watch, with no re-list.
	node := cluster.Workers[0]
	patch := func(v string) {
		_, err := cluster.Client.CoreV1().Nodes().Patch(context.Background(), node, types.StrategicMergePatchType,
			[]byte(`{"spec":{"unschedulable":`+v+`}}`), metav1.PatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	patch("true")
	t.Cleanup(func() { patch("false") })
	until(t, ch, "cordon seen", func(n model.Nodes) bool {
		for _, it := range n.Items {
			if it.Name == node {
				return it.Status() == "Ready,SchedulingDisabled"
			}
		}
		return false
	})
}

// The node carrying the frontend pod: requests add up against allocatable,
// and the detail view lists its pods with their PDB and local-storage marks.
func TestNodeRequestsAndDetail(t *testing.T) {
	ch, w := watcher(t)
	node, err := cluster.NodeOf(context.Background(), localcluster.AppNamespace, "app=cache")
	if err != nil {
		t.Fatal(err)
	}
	snap := until(t, ch, "synced with pods", func(n model.Nodes) bool { return n.Synced && n.PodsSynced && len(n.Items) == 9 })
	var item model.Node
	for _, n := range snap.Items {
		if n.Name == node {
			item = n
		}
	}
	// Allocatable is 3500m and 15Gi; every seeded pod requests CPU and memory.
	if item.CPUPct <= 0 || item.CPUPct > 100 || item.MemPct <= 0 || item.MemPct > 100 {
		t.Errorf("%s requests cpu %d%% mem %d%%, want within (0,100]", node, item.CPUPct, item.MemPct)
	}
	if item.Taints != 0 || len(item.Pressure) != 0 {
		t.Errorf("%s taints %d pressure %v, want none", node, item.Taints, item.Pressure)
	}

	d, err := w.Detail(context.Background(), cluster.Client, node)
	if err != nil {
		t.Fatal(err)
	}
	if d.Err != "" {
		t.Errorf("detail problems: %s", d.Err)
	}
	if len(d.Pods) != item.Pods || d.Labels["kubernetes.io/hostname"] != node || d.Allocatable["cpu"] != "3500m" {
		t.Errorf("detail pods %d (want %d), labels %v, allocatable %v", len(d.Pods), item.Pods, d.Labels, d.Allocatable)
	}
	var cache *model.NodePod
	for i, p := range d.Pods {
		if p.Namespace == localcluster.AppNamespace && strings.HasPrefix(p.Name, "cache-") {
			cache = &d.Pods[i]
		}
		if p.Namespace == localcluster.AppNamespace && strings.HasPrefix(p.Name, "frontend-") && p.PDB != "frontend" {
			t.Errorf("frontend pod %s without its PDB mark", p.Name)
		}
	}
	if cache == nil || !cache.LocalStorage || cache.OwnerKind != "ReplicaSet" || cache.PDB != "" {
		t.Errorf("cache pod = %+v, want local storage, owner ReplicaSet, no PDB", cache)
	}
	if _, err := w.Detail(context.Background(), cluster.Client, "no-such-node"); err == nil {
		t.Error("detail of a missing node must fail")
	}
}

func TestTrimKeepsOnlyWhatIsShown(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}},
			Annotations: map[string]string{"big": "x", mirrorPodAnnotation: "hash"}},
		Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{
			{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}},
		}, Containers: []corev1.Container{{Name: "c", Image: "img", Command: []string{"long"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Name: "c", RestartCount: 4, Image: "img"}}},
	}
	got, _ := trim(pod)
	p := got.(*corev1.Pod)
	if p.ManagedFields != nil || p.Annotations["big"] != "" || p.Annotations[mirrorPodAnnotation] != "hash" {
		t.Errorf("metadata not trimmed right: %+v", p.ObjectMeta)
	}
	if len(p.Spec.Volumes) != 1 || p.Spec.Volumes[0].EmptyDir == nil || p.Spec.Containers[0].Command != nil || p.Spec.NodeName != "n1" {
		t.Errorf("spec not trimmed right: %+v", p.Spec)
	}
	if p.Status.ContainerStatuses[0].RestartCount != 4 || p.Status.ContainerStatuses[0].Image != "" {
		t.Errorf("status not trimmed right: %+v", p.Status)
	}
	node := &corev1.Node{Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"x"}}}}}
	if n, _ := trim(node); len(n.(*corev1.Node).Status.Images) != 0 {
		t.Error("node images must be dropped")
	}
	if s, _ := trim("tombstone"); s != "tombstone" {
		t.Error("other objects must pass through")
	}
}
