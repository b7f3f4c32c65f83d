package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/day2ops/day2/model"
)

// recentEvents bounds the events the detail view lists.
const recentEvents = 20

// Detail is the node detail view's data: the node and its pods from the
// caches, then its events and the pods' disruption budgets read on demand
// (one node's worth, never the whole cluster per frame). What cannot be read
// is named in Err; the rest is still returned.
func (w *NodeWatcher) Detail(ctx context.Context, client kubernetes.Interface, name string) (model.NodeDetail, error) {
	obj, ok, err := w.nodes.GetStore().GetByKey(name)
	if err != nil || !ok {
		return model.NodeDetail{}, fmt.Errorf("node %s: not in the cache (deleted, or the list has not arrived)", name)
	}
	n := obj.(*corev1.Node)
	d := model.NodeDetail{
		Node: nodeModel(n), Labels: n.Labels, Annotations: n.Annotations,
		Capacity: quantities(n.Status.Capacity), Allocatable: quantities(n.Status.Allocatable),
	}
	for _, t := range n.Spec.Taints {
		d.Taints = append(d.Taints, model.Taint{Key: t.Key, Value: t.Value, Effect: string(t.Effect)})
	}
	for _, c := range n.Status.Conditions {
		d.Conditions = append(d.Conditions, model.NodeCondition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message, Since: c.LastTransitionTime.Time})
	}
	for _, a := range n.Status.Addresses {
		d.Addresses = append(d.Addresses, string(a.Type)+" "+a.Address)
	}
	i := n.Status.NodeInfo
	for _, f := range [][2]string{{"os", i.OSImage}, {"kernel", i.KernelVersion}, {"runtime", i.ContainerRuntimeVersion}, {"kubelet", i.KubeletVersion}, {"arch", i.Architecture}} {
		if f[1] != "" {
			d.System = append(d.System, f[0]+" "+f[1])
		}
	}

	pods := w.activePods(name)
	sort.Slice(pods, func(i, j int) bool {
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
	d.Pods = nodePods(pods)
	cpu, mem := podRequests(pods)
	d.Requested = map[string]string{"cpu": fmt.Sprintf("%dm", cpu), "memory": model.HumanBytes(mem)}
	d.Node.Pods = len(pods)

	var problems []string
	if err := markPDBs(ctx, client, &d, pods); err != nil {
		problems = append(problems, err.Error())
	}
	if d.Events, err = nodeEvents(ctx, client, name); err != nil {
		problems = append(problems, err.Error())
	}
	d.Err = strings.Join(problems, "; ")
	return d, nil
}

func quantities(l corev1.ResourceList) map[string]string {
	out := make(map[string]string, len(l))
	for k, q := range l {
		out[string(k)] = q.String()
	}
	return out
}

func nodePods(pods []*corev1.Pod) []model.NodePod {
	out := make([]model.NodePod, 0, len(pods))
	for _, p := range pods {
		np := model.NodePod{Namespace: p.Namespace, Name: p.Name, Phase: string(p.Status.Phase), Created: p.CreationTimestamp.Time}
		if ref := metav1.GetControllerOf(p); ref != nil {
			np.OwnerKind = ref.Kind
		}
		for _, s := range p.Status.ContainerStatuses {
			np.Restarts += s.RestartCount
		}
		for _, v := range p.Spec.Volumes {
			np.LocalStorage = np.LocalStorage || v.EmptyDir != nil
		}
		out = append(out, np)
	}
	return out
}

// markPDBs names the disruption budget covering each pod, reading the PDBs
// of the pods' namespaces only. Pod labels come from the cache.
func markPDBs(ctx context.Context, client kubernetes.Interface, d *model.NodeDetail, pods []*corev1.Pod) error {
	byNS := map[string][]policyv1.PodDisruptionBudget{}
	for _, p := range pods {
		if _, done := byNS[p.Namespace]; done {
			continue
		}
		list, err := client.PolicyV1().PodDisruptionBudgets(p.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("disruption budgets in %s: %w", p.Namespace, err)
		}
		byNS[p.Namespace] = list.Items
	}
	for i, p := range pods {
		for _, pdb := range byNS[p.Namespace] {
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
				d.Pods[i].PDB = pdb.Name
				break
			}
		}
	}
	return nil
}

// nodeEvents are the newest events about the node, newest first.
func nodeEvents(ctx context.Context, client kubernetes.Interface, name string) ([]model.Event, error) {
	sel := fields.Set{"involvedObject.kind": "Node", "involvedObject.name": name}.AsSelector().String()
	list, err := client.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("events of node %s: %w", name, err)
	}
	out := make([]model.Event, 0, len(list.Items))
	for _, e := range list.Items {
		last := e.LastTimestamp.Time
		if last.IsZero() {
			last = e.EventTime.Time
		}
		if last.IsZero() {
			last = e.CreationTimestamp.Time
		}
		out = append(out, model.Event{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count, Last: last})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Last.After(out[j].Last) })
	if len(out) > recentEvents {
		out = out[:recentEvents]
	}
	return out, nil
}
