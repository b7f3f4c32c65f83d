package kube

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"

	"github.com/day2ops/day2/model"
)

// Drainer cordons and drains nodes with k8s.io/kubectl/pkg/drain, the code
// behind `kubectl drain`, reporting per-pod progress.
type Drainer struct {
	client kubernetes.Interface
	// RetryDelay is how long an eviction refused by a PodDisruptionBudget
	// waits before it is tried again.
	RetryDelay time.Duration
}

// NewDrainer makes a drainer with kubectl's safe defaults.
func NewDrainer(client kubernetes.Interface) *Drainer {
	return &Drainer{client: client, RetryDelay: 5 * time.Second}
}

// DrainOptions are the operator's consents and limits.
type DrainOptions struct {
	DeleteEmptyDirData bool          // consent to lose emptyDir data
	Force              bool          // consent to delete pods without a controller
	Timeout            time.Duration // for the whole drain; 0 means kubectl's "forever", which we never pass
}

// node returns the node or an error naming it.
func (d *Drainer) node(ctx context.Context, name string) (*corev1.Node, error) {
	n, err := d.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", name, err)
	}
	return n, nil
}

// Unschedulable reports whether the node is cordoned.
func (d *Drainer) Unschedulable(ctx context.Context, name string) (bool, error) {
	n, err := d.node(ctx, name)
	if err != nil {
		return false, err
	}
	return n.Spec.Unschedulable, nil
}

// Cordon marks the node unschedulable (or schedulable again with false).
func (d *Drainer) Cordon(ctx context.Context, name string, cordon bool) error {
	n, err := d.node(ctx, name)
	if err != nil {
		return err
	}
	h := &drain.Helper{Ctx: ctx, Client: d.client, Out: discard{}, ErrOut: discard{}}
	if err := drain.RunCordonOrUncordon(h, n, cordon); err != nil {
		return fmt.Errorf("cordon %s=%v: %w", name, cordon, err)
	}
	return nil
}

func (d *Drainer) podsOn(ctx context.Context, node string) ([]corev1.Pod, error) {
	list, err := d.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		return nil, fmt.Errorf("pods on %s: %w", node, err)
	}
	return list.Items, nil
}

func drainPod(p *corev1.Pod, pdbs []policyv1.PodDisruptionBudget) model.DrainPod {
	dp := model.DrainPod{Namespace: p.Namespace, Name: p.Name,
		Finished: p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed}
	_, dp.Mirror = p.Annotations[corev1.MirrorPodAnnotationKey]
	if ref := metav1.GetControllerOf(p); ref != nil {
		dp.OwnerKind, dp.OwnerName = ref.Kind, ref.Name
	}
	for _, v := range p.Spec.Volumes {
		if v.EmptyDir != nil {
			dp.EmptyDir = true
		}
	}
	if b := coveringPDB(p, pdbs); b != nil {
		dp.PDB = b.Name
	}
	return dp
}

func coveringPDB(p *corev1.Pod, pdbs []policyv1.PodDisruptionBudget) *policyv1.PodDisruptionBudget {
	for i := range pdbs {
		b := &pdbs[i]
		if b.Namespace != p.Namespace || b.Spec.Selector == nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(p.Labels)) {
			return b
		}
	}
	return nil
}

// Preflight is the read-only look before a drain: what happens to each pod,
// the budgets involved, and the room left on the node's peers.
func (d *Drainer) Preflight(ctx context.Context, name string) (model.DrainPreflight, error) {
	n, err := d.node(ctx, name)
	if err != nil {
		return model.DrainPreflight{}, err
	}
	pre := model.DrainPreflight{Node: name, Roles: model.RolesFromLabels(n.Labels)}
	pods, err := d.podsOn(ctx, name)
	if err != nil {
		return pre, err
	}
	pdbList, err := d.client.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return pre, fmt.Errorf("PodDisruptionBudgets: %w", err)
	}
	seen := map[string]bool{}
	for i := range pods {
		dp := drainPod(&pods[i], pdbList.Items)
		pre.Pods = append(pre.Pods, dp)
		c := dp.Classify()
		if c.Leaves() && c != model.ClassFinished {
			pre.EvictMilliCPU += requestedMilliCPU(&pods[i])
		}
		if b := coveringPDB(&pods[i], pdbList.Items); b != nil && c.Leaves() && !seen[b.Name+"/"+b.Namespace] {
			seen[b.Name+"/"+b.Namespace] = true
			pre.PDBs = append(pre.PDBs, model.PDBStatus{Namespace: b.Namespace, Name: b.Name,
				DesiredHealthy: b.Status.DesiredHealthy, CurrentHealthy: b.Status.CurrentHealthy, DisruptionsAllowed: b.Status.DisruptionsAllowed})
		}
	}
	return pre, d.peerRoom(ctx, n, &pre)
}

// peerRoom counts the other schedulable, Ready nodes sharing a role with n
// and what they can still take.
func (d *Drainer) peerRoom(ctx context.Context, n *corev1.Node, pre *model.DrainPreflight) error {
	nodes, err := d.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	for i := range nodes.Items {
		peer := &nodes.Items[i]
		if peer.Name == n.Name || peer.Spec.Unschedulable || !NodeReady(peer) || !shareRole(model.RolesFromLabels(peer.Labels), pre.Roles) {
			continue
		}
		pods, err := d.podsOn(ctx, peer.Name)
		if err != nil {
			return err
		}
		pre.Peers++
		pre.PeerFreePods += int(peer.Status.Allocatable.Pods().Value()) - len(pods)
		used := int64(0)
		for j := range pods {
			used += requestedMilliCPU(&pods[j])
		}
		pre.PeerFreeMilliCPU += peer.Status.Allocatable.Cpu().MilliValue() - used
	}
	return nil
}

// NodeReady reports whether the node's Ready condition is True.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func shareRole(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func requestedMilliCPU(p *corev1.Pod) int64 {
	var m int64
	for _, c := range p.Spec.Containers {
		m += c.Resources.Requests.Cpu().MilliValue()
	}
	return m
}

// Remaining lists the pods a drain still has to remove from the node.
func (d *Drainer) Remaining(ctx context.Context, name string) ([]model.DrainPod, error) {
	pods, err := d.podsOn(ctx, name)
	if err != nil {
		return nil, err
	}
	var left []model.DrainPod
	for i := range pods {
		if dp := drainPod(&pods[i], nil); dp.Classify().Leaves() {
			left = append(left, dp)
		}
	}
	return left, nil
}

// Drain evicts (or, for finished and consented bare pods, deletes) every pod
// that must leave the node, honouring PodDisruptionBudgets: a refused
// eviction is retried every RetryDelay until Timeout. report receives each
// pod's progress, including where its replacement was scheduled.
func (d *Drainer) Drain(ctx context.Context, name string, o DrainOptions, report func(model.DrainEvent)) error {
	pdbs, err := d.client.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("PodDisruptionBudgets: %w", err)
	}
	track := newReplacements(d.client, time.Now(), report)
	trackCtx, stopTracking := context.WithCancel(ctx)
	trackDone := make(chan struct{})
	go func() { defer close(trackDone); track.run(trackCtx) }()
	defer func() {
		// One last look, so replacements scheduled by now are reported, and
		// never a wait for ones that cannot be scheduled.
		stopTracking()
		<-trackDone
		track.pass(ctx)
	}()
	h := &drain.Helper{
		Ctx: ctx, Client: reportingClient{d.client, report}, Force: o.Force, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true,
		DeleteEmptyDirData: o.DeleteEmptyDirData, Timeout: o.Timeout, EvictErrorRetryDelay: d.RetryDelay,
		Out: discard{},
		ErrOut: lineWriter(func(line string) {
			if ev, ok := d.blocked(ctx, line, pdbs.Items); ok {
				report(ev)
			}
		}),
		OnPodDeletionOrEvictionStarted: func(p *corev1.Pod, _ bool) {
			report(model.DrainEvent{Pod: p.Namespace + "/" + p.Name, Kind: model.DrainEvicting})
		},
		OnPodDeletionOrEvictionFinished: func(p *corev1.Pod, eviction bool, err error) {
			ref := p.Namespace + "/" + p.Name
			if err != nil {
				report(model.DrainEvent{Pod: ref, Kind: model.DrainFailed, Detail: err.Error()})
				return
			}
			report(model.DrainEvent{Pod: ref, Kind: model.DrainGone})
			if owner := metav1.GetControllerOf(p); owner != nil {
				track.add(p, owner.UID)
			}
		},
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("drain %s: a timeout is required", name)
	}
	if err := drain.RunNodeDrain(h, name); err != nil {
		return fmt.Errorf("drain %s: %w", name, err)
	}
	return nil
}

// kubectl's drain reports a refused eviction on ErrOut as:
//
//	error when evicting pods/"frontend-x" -n "myapp" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.
var retryLine = regexp.MustCompile(`evicting pods/"([^"]+)" -n "([^"]+)" \(will retry after [^)]+\): (.*)`)

func (d *Drainer) blocked(ctx context.Context, line string, pdbs []policyv1.PodDisruptionBudget) (model.DrainEvent, bool) {
	m := retryLine.FindStringSubmatch(line)
	if m == nil {
		return model.DrainEvent{}, false
	}
	ev := model.DrainEvent{Pod: m[2] + "/" + m[1], Kind: model.DrainBlocked, Detail: strings.TrimSpace(m[3]) + ", retrying"}
	pod, err := d.client.CoreV1().Pods(m[2]).Get(ctx, m[1], metav1.GetOptions{})
	if err != nil {
		return ev, true
	}
	if b := coveringPDB(pod, pdbs); b != nil {
		if fresh, err := d.client.PolicyV1().PodDisruptionBudgets(b.Namespace).Get(ctx, b.Name, metav1.GetOptions{}); err == nil {
			b = fresh
		}
		ev.Detail = fmt.Sprintf("blocked by PodDisruptionBudget %s/%s (healthy %d/%d, %d disruptions allowed), retrying",
			b.Namespace, b.Name, b.Status.CurrentHealthy, b.Status.DesiredHealthy, b.Status.DisruptionsAllowed)
	}
	return ev, true
}

// replacements finds where evicted pods' replacements were scheduled: one
// list per namespace and second, however many pods the drain evicts.
type replacements struct {
	client kubernetes.Interface
	since  time.Time
	report func(model.DrainEvent)

	mu      sync.Mutex
	pending []gonePod
	claimed map[types.UID]bool // replacement pods already reported
}

type gonePod struct {
	namespace, name, node string
	owner                 types.UID
}

func newReplacements(c kubernetes.Interface, since time.Time, report func(model.DrainEvent)) *replacements {
	return &replacements{client: c, since: since.Truncate(time.Second), report: report, claimed: map[types.UID]bool{}}
}

func (r *replacements) add(p *corev1.Pod, owner types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = append(r.pending, gonePod{namespace: p.Namespace, name: p.Name, node: p.Spec.NodeName, owner: owner})
}

func (r *replacements) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		r.pass(ctx)
	}
}

// pass matches pending evictions with new pods of the same controller
// scheduled on another node, each new pod to one eviction.
func (r *replacements) pass(ctx context.Context) {
	r.mu.Lock()
	namespaces := map[string]bool{}
	for _, g := range r.pending {
		namespaces[g.namespace] = true
	}
	r.mu.Unlock()
	for ns := range namespaces {
		// List without the lock: evictions keep adding while it runs.
		pods, err := r.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		r.mu.Lock()
		left := r.pending[:0]
		for _, g := range r.pending {
			if g.namespace != ns || !r.match(g, pods.Items) {
				left = append(left, g)
			}
		}
		r.pending = left
		r.mu.Unlock()
	}
}

func (r *replacements) match(g gonePod, pods []corev1.Pod) bool {
	for i := range pods {
		p := &pods[i]
		ref := metav1.GetControllerOf(p)
		if ref == nil || ref.UID != g.owner || r.claimed[p.UID] || p.Name == g.name || p.Spec.NodeName == "" ||
			p.Spec.NodeName == g.node || p.CreationTimestamp.Time.Before(r.since) {
			continue
		}
		r.claimed[p.UID] = true
		r.report(model.DrainEvent{Pod: g.namespace + "/" + g.name, Kind: model.DrainReplaced,
			Detail: fmt.Sprintf("%s scheduled on %s", p.Name, p.Spec.NodeName)})
		return true
	}
	return false
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// lineWriter calls fn for every complete line written to it.
type lineWriter func(string)

func (f lineWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if l != "" {
			f(l)
		}
	}
	return len(p), nil
}
