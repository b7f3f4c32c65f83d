package ops

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/internal/localcluster"
)

const (
	benchNamespace = "bench"
	benchPods      = 109 // plus the sdn DaemonSet pod: 110, the node's pod capacity
	benchRounds    = 3
)

// BenchmarkDrain110Pods drains a node carrying 110 pods with day2 and with
// `kubectl drain` (same flags: ignore DaemonSets, delete emptyDir data,
// force, each pod's own grace period), alternating, benchRounds each, and
// reports the medians and their ratio (target: day2/kubectl ≤ 1.0). Run it
// with `make bench` (-benchtime=1x: every round is a full drain).
func BenchmarkDrain110Pods(b *testing.B) {
	ctx := context.Background()
	// A node of its own: the sdn DaemonSet pod and benchPods pinned pods.
	node := "bench-0.example.com"
	if err := cluster.AddNode(ctx, node, "compute", "127.2.0.1"); err != nil {
		b.Fatal(err)
	}
	setUpBenchPods(b, node)
	s := session(b)
	kubeconfig := filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig)
	var day2, kubectl []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < benchRounds; r++ {
			start := time.Now()
			p, err := s.Procedure("drain", map[string]string{"node": node, "delete-emptydir-data": "true", "force": "true"})
			if err != nil {
				b.Fatal(err)
			}
			if err := Run(ctx, p, &auto{}, RunOptions{Journal: openJournal(b)}); err != nil {
				b.Fatal(err)
			}
			day2 = append(day2, time.Since(start))
			restoreBenchNode(b, node)

			start = time.Now()
			cmd := exec.Command(filepath.Join(cluster.ToolsDir, "kubectl"), "--kubeconfig", kubeconfig, "drain", node,
				"--ignore-daemonsets", "--delete-emptydir-data", "--force", "--grace-period=-1", "--timeout=5m")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("kubectl drain: %v\n%s", err, out)
			}
			kubectl = append(kubectl, time.Since(start))
			restoreBenchNode(b, node)
		}
	}
	b.StopTimer()
	d, k := median(day2), median(kubectl)
	b.ReportMetric(d.Seconds(), "day2-s")
	b.ReportMetric(k.Seconds(), "kubectl-s")
	b.ReportMetric(d.Seconds()/k.Seconds(), "day2/kubectl")
	fmt.Printf("drain of %d pods: day2 %v, kubectl %v (medians of %d alternating runs; ratio %.2f, target ≤ 1.0)\n",
		benchPods+1, d.Round(time.Millisecond), k.Round(time.Millisecond), len(day2), d.Seconds()/k.Seconds())
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// setUpBenchPods pins benchPods small pods to node.
func setUpBenchPods(b *testing.B, node string) {
	ctx := context.Background()
	_, _ = cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace}}, metav1.CreateOptions{})
	replicas := int32(benchPods)
	labels := map[string]string{"app": "bench"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: benchNamespace},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{"kubernetes.io/hostname": node},
					Containers: []corev1.Container{{Name: "c", Image: "registry.example.com:5000/bench:1", Resources: corev1.ResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("1Mi")}}}},
				},
			},
		},
	}
	if _, err := cluster.Client.AppsV1().Deployments(benchNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	waitBenchPods(b, node)
}

// restoreBenchNode uncordons node and waits until its pods are back.
func restoreBenchNode(b *testing.B, node string) {
	if _, err := cluster.Client.CoreV1().Nodes().Patch(context.Background(), node, types.MergePatchType,
		[]byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{}); err != nil {
		b.Fatal(err)
	}
	waitBenchPods(b, node)
}

func waitBenchPods(b *testing.B, node string) {
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		pods, err := cluster.Client.CoreV1().Pods(benchNamespace).List(context.Background(), metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
		running := 0
		if err == nil {
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
					running++
				}
			}
		}
		if running == benchPods {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	b.Fatalf("%d bench pods never Running on %s", benchPods, node)
}
