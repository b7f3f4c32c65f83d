package kube

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/day2ops/day2/model"
)

// podsByNode indexes the pod cache by spec.nodeName.
const podsByNode = "node"

// NodeWatcher keeps node and pod informers (watches, trimmed objects, pods
// indexed by node) and publishes a model.Nodes snapshot whenever they change,
// at most once per MinInterval.
type NodeWatcher struct {
	// Two factories so the pods (ten times the nodes, or more) are listed
	// only once the nodes are: the first frame shows every node sooner.
	nodeFactory, podFactory informers.SharedInformerFactory
	nodes                   cache.SharedIndexInformer
	pods                    cache.SharedIndexInformer
	// MinInterval bounds how often snapshots are rebuilt on a busy cluster.
	MinInterval time.Duration

	changes *changes
}

// NewNodeWatcher prepares the informers; Run starts them.
func NewNodeWatcher(client kubernetes.Interface) (*NodeWatcher, error) {
	nf := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim))
	pf := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTransform(trim))
	w := &NodeWatcher{
		nodeFactory: nf, podFactory: pf, nodes: nf.Core().V1().Nodes().Informer(), pods: pf.Core().V1().Pods().Informer(),
		MinInterval: 200 * time.Millisecond, changes: newChanges(),
	}
	if err := w.pods.AddIndexers(cache.Indexers{podsByNode: func(obj any) ([]string, error) {
		if p, ok := obj.(*corev1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("index pods by node: %w", err)
	}
	for name, inf := range map[string]cache.SharedIndexInformer{"nodes": w.nodes, "pods": w.pods} {
		if err := w.changes.watch(inf, name); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Run starts the informers and hands snapshots to publish until ctx ends.
func (w *NodeWatcher) Run(ctx context.Context, publish func(model.Nodes)) {
	w.nodeFactory.Start(ctx.Done())
	defer w.nodeFactory.Shutdown()
	defer w.podFactory.Shutdown()
	go func() {
		// Pods follow once the nodes are listed, or after a few seconds
		// when the node list is slow or forbidden.
		wait, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		cache.WaitForCacheSync(wait.Done(), w.nodes.HasSynced)
		w.podFactory.Start(ctx.Done())
	}()
	w.changes.publishLoop(ctx, w.MinInterval, func() { publish(w.Snapshot()) })
}

// Snapshot builds the current model.Nodes from the caches.
func (w *NodeWatcher) Snapshot() model.Nodes {
	snap := model.Nodes{Synced: w.nodes.HasSynced(), PodsSynced: w.pods.HasSynced(), Err: w.changes.lastErr()}
	for _, obj := range w.nodes.GetStore().List() {
		n, ok := obj.(*corev1.Node)
		if !ok {
			continue
		}
		item := nodeModel(n)
		if snap.PodsSynced {
			pods := w.activePods(n.Name)
			item.Pods = len(pods)
			cpu, mem := podRequests(pods)
			item.CPUPct = percentOf(cpu, n.Status.Allocatable, corev1.ResourceCPU)
			item.MemPct = percentOf(mem, n.Status.Allocatable, corev1.ResourceMemory)
		}
		snap.Items = append(snap.Items, item)
	}
	sort.Slice(snap.Items, func(i, j int) bool { return snap.Items[i].Name < snap.Items[j].Name })
	return snap
}

// activePods are the node's pods that are not finished, as kubectl
// describe node's "Non-terminated Pods", read from the by-node index.
func (w *NodeWatcher) activePods(node string) []*corev1.Pod {
	objs, err := w.pods.GetIndexer().ByIndex(podsByNode, node)
	if err != nil {
		return nil
	}
	pods := make([]*corev1.Pod, 0, len(objs))
	for _, obj := range objs {
		if p, ok := obj.(*corev1.Pod); ok && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			pods = append(pods, p)
		}
	}
	return pods
}

// podRequests sums the containers' CPU (millicores) and memory (bytes)
// requests, as the scheduler counts them against allocatable.
func podRequests(pods []*corev1.Pod) (cpuMilli, memBytes int64) {
	for _, p := range pods {
		for _, c := range p.Spec.Containers {
			cpuMilli += c.Resources.Requests.Cpu().MilliValue()
			memBytes += c.Resources.Requests.Memory().Value()
		}
	}
	return cpuMilli, memBytes
}

// percentOf is used as a percentage of the node's allocatable resource, -1
// when the node reports none.
func percentOf(used int64, alloc corev1.ResourceList, name corev1.ResourceName) int {
	q, ok := alloc[name]
	if !ok {
		return -1
	}
	total := q.Value()
	if name == corev1.ResourceCPU {
		total = q.MilliValue()
	}
	if total <= 0 {
		return -1
	}
	return int(used * 100 / total)
}

func nodeModel(n *corev1.Node) model.Node {
	m := model.Node{
		Name: n.Name, Unschedulable: n.Spec.Unschedulable, Roles: model.RolesFromLabels(n.Labels),
		Created: n.CreationTimestamp.Time, KubeletVersion: n.Status.NodeInfo.KubeletVersion, Readiness: model.NodeUnknown,
	}
	for _, c := range n.Status.Conditions {
		switch {
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue:
			m.Readiness = model.NodeReady
		case c.Type == corev1.NodeReady && c.Status == corev1.ConditionFalse:
			m.Readiness = model.NodeNotReady
		case c.Type != corev1.NodeReady && c.Status == corev1.ConditionTrue:
			m.Pressure = append(m.Pressure, string(c.Type))
		}
	}
	m.Taints = len(n.Spec.Taints)
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP && m.InternalIP == "" {
			m.InternalIP = a.Address
		}
	}
	return m
}

// ListNodes reads every node once, as the Nodes pane shows them (without
// pod counts), sorted by name: for procedures that act on the whole
// cluster and must see it as it is now, not a cache.
func ListNodes(ctx context.Context, client kubernetes.Interface) ([]model.Node, error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]model.Node, len(list.Items))
	for i := range list.Items {
		out[i] = nodeModel(&list.Items[i])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
