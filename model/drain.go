package model

import (
	"fmt"
	"sort"
	"strings"
)

// DrainPod is what a drain needs to know about one pod on the node.
type DrainPod struct {
	Namespace, Name      string
	OwnerKind, OwnerName string // empty for a bare pod
	Mirror               bool   // a static pod's mirror
	EmptyDir             bool   // has emptyDir volumes
	Finished             bool   // Succeeded or Failed
	PDB                  string // the PodDisruptionBudget that covers it, if any
}

// Ref is namespace/name.
func (p DrainPod) Ref() string { return p.Namespace + "/" + p.Name }

// PodClass is what a drain does with a pod (the rules of kubectl drain).
type PodClass string

const (
	ClassEvict     PodClass = "evict"
	ClassEmptyDir  PodClass = "evict, emptyDir data is deleted"
	ClassBare      PodClass = "delete, not recreated (no controller)"
	ClassDaemonSet PodClass = "ignored (DaemonSet)"
	ClassMirror    PodClass = "ignored (static pod mirror)"
	ClassFinished  PodClass = "delete (finished)"
)

// Classify decides a pod's fate in a drain.
func (p DrainPod) Classify() PodClass {
	switch {
	case p.Mirror:
		return ClassMirror
	case p.OwnerKind == "DaemonSet":
		return ClassDaemonSet
	case p.Finished:
		return ClassFinished
	case p.OwnerKind == "":
		return ClassBare
	case p.EmptyDir:
		return ClassEmptyDir
	default:
		return ClassEvict
	}
}

// Leaves reports whether the drain removes the pod from the node.
func (c PodClass) Leaves() bool { return c != ClassDaemonSet && c != ClassMirror }

// PDBStatus is a PodDisruptionBudget as the drain sees it.
type PDBStatus struct {
	Namespace, Name    string
	DesiredHealthy     int32
	CurrentHealthy     int32
	DisruptionsAllowed int32
}

// Ref is namespace/name.
func (p PDBStatus) Ref() string { return p.Namespace + "/" + p.Name }

// DrainPreflight is the read-only look before a drain (seed 003 §5.3.1, §7.1.1).
type DrainPreflight struct {
	Node  string
	Roles []string
	Pods  []DrainPod
	PDBs  []PDBStatus // covering pods that will be evicted
	// Peers are the other schedulable nodes with the same role.
	Peers int
	// PeerFreePods is how many more pods the peers accept (allocatable pods
	// minus pods running there); PeerFreeMilliCPU likewise for CPU requests.
	PeerFreePods     int
	PeerFreeMilliCPU int64
	// EvictMilliCPU is the CPU the evicted pods request.
	EvictMilliCPU int64
}

// Leaving lists the pods the drain removes, sorted.
func (p DrainPreflight) Leaving() []DrainPod {
	var out []DrainPod
	for _, pod := range p.Pods {
		if pod.Classify().Leaves() {
			out = append(out, pod)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref() < out[j].Ref() })
	return out
}

// Consents lists what the operator must explicitly allow before the drain
// may start: deleting emptyDir data, deleting bare pods for good.
func (p DrainPreflight) Consents(deleteEmptyDirData, force bool) []string {
	var emptyDir, bare []string
	for _, pod := range p.Pods {
		switch pod.Classify() {
		case ClassEmptyDir:
			emptyDir = append(emptyDir, pod.Ref())
		case ClassBare:
			bare = append(bare, pod.Ref())
		}
	}
	var out []string
	if len(emptyDir) > 0 && !deleteEmptyDirData {
		out = append(out, fmt.Sprintf("pods with emptyDir volumes lose that data: %s (allow with --delete-emptydir-data)", strings.Join(emptyDir, ", ")))
	}
	if len(bare) > 0 && !force {
		out = append(out, fmt.Sprintf("pods without a controller are deleted and never come back: %s (allow with --force)", strings.Join(bare, ", ")))
	}
	return out
}

// Warnings are what the operator should weigh before draining: budgets that
// allow no disruption now, too little room elsewhere, and the seed's rule
// that an infra node may go only while at least two others remain.
func (p DrainPreflight) Warnings() []string {
	var out []string
	for _, b := range p.PDBs {
		if b.DisruptionsAllowed < 1 {
			out = append(out, fmt.Sprintf("PodDisruptionBudget %s allows 0 disruptions now (healthy %d/%d): its pods wait until it allows one",
				b.Ref(), b.CurrentHealthy, b.DesiredHealthy))
		}
	}
	leaving := 0
	for _, pod := range p.Leaving() {
		if pod.Classify() != ClassFinished {
			leaving++
		}
	}
	switch {
	case p.Peers == 0 && leaving > 0:
		out = append(out, fmt.Sprintf("no other schedulable %s node: %d pods will stay Pending", roleName(p.Roles), leaving))
	case leaving > p.PeerFreePods:
		out = append(out, fmt.Sprintf("the other %s nodes have room for %d more pods, %d are leaving", roleName(p.Roles), p.PeerFreePods, leaving))
	case p.EvictMilliCPU > p.PeerFreeMilliCPU:
		out = append(out, fmt.Sprintf("the evicted pods request %dm CPU, the other %s nodes have %dm free", p.EvictMilliCPU, roleName(p.Roles), p.PeerFreeMilliCPU))
	}
	if hasRoleName(p.Roles, "infra") && p.Peers < 2 {
		out = append(out, fmt.Sprintf("only %d other infra node(s) would remain: keep at least two for the router and registry (seed 003 §5.3.1)", p.Peers))
	}
	return out
}

func roleName(roles []string) string {
	if len(roles) == 0 {
		return "unlabelled"
	}
	return strings.Join(roles, ",")
}

func hasRoleName(roles []string, role string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

// DrainEventKind is a pod's progress through a drain.
type DrainEventKind string

const (
	DrainEvicting DrainEventKind = "evicting"
	DrainBlocked  DrainEventKind = "blocked"
	DrainEvicted  DrainEventKind = "evicted"
	DrainGone     DrainEventKind = "gone"
	DrainReplaced DrainEventKind = "replaced"
	DrainFailed   DrainEventKind = "failed"
)

// DrainEvent is one progress line of a drain.
type DrainEvent struct {
	Pod    string // namespace/name
	Kind   DrainEventKind
	Detail string // PDB and health when blocked, the new pod and node when replaced, the error
}

func (e DrainEvent) String() string {
	if e.Detail == "" {
		return fmt.Sprintf("%s %s", e.Kind, e.Pod)
	}
	return fmt.Sprintf("%s %s: %s", e.Kind, e.Pod, e.Detail)
}
