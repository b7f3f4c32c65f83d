package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Readiness is a node's Ready condition as kubectl reports it.
type Readiness string

const (
	NodeReady    Readiness = "Ready"
	NodeNotReady Readiness = "NotReady"
	NodeUnknown  Readiness = "Unknown"
)

// Node is the trimmed view of a Kubernetes node that the console renders.
type Node struct {
	Name           string
	Readiness      Readiness
	Unschedulable  bool
	Roles          []string
	Created        time.Time
	KubeletVersion string
	InternalIP     string
	Pods           int
	// CPUPct and MemPct are the active pods' requests as a percentage of the
	// node's allocatable (-1 when allocatable is unknown), as `oc describe
	// node` prints them under "Allocated resources".
	CPUPct, MemPct int
	// Pressure lists the pressure conditions that are True (MemoryPressure,
	// DiskPressure, PIDPressure) and NetworkUnavailable.
	Pressure []string
	Taints   int
}

// Status is the STATUS column as `oc get nodes` prints it, e.g.
// "Ready,SchedulingDisabled" (seed 003 §3.5.2).
func (n Node) Status() string {
	s := string(n.Readiness)
	if s == "" {
		s = string(NodeUnknown)
	}
	if n.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// RoleList is the ROLES column: comma-joined, "<none>" when the node has none.
func (n Node) RoleList() string {
	if len(n.Roles) == 0 {
		return "<none>"
	}
	return strings.Join(n.Roles, ",")
}

// Percent renders a request percentage ("-" when unknown).
func Percent(p int) string {
	if p < 0 {
		return "-"
	}
	return fmt.Sprintf("%d%%", p)
}

// PressureList is the PRESSURE column: the conditions that are on, or "-".
func (n Node) PressureList() string {
	if len(n.Pressure) == 0 {
		return "-"
	}
	return strings.Join(n.Pressure, ",")
}

// RolePrefix is the label prefix that names a node role, as kubectl reads it.
const RolePrefix = "node-role.kubernetes.io/"

// RolesFromLabels derives a node's roles the way kubectl does: from
// node-role.kubernetes.io/<role> label keys and the legacy kubernetes.io/role
// label value, sorted and de-duplicated.
func RolesFromLabels(labels map[string]string) []string {
	seen := map[string]bool{}
	for k, v := range labels {
		switch {
		case strings.HasPrefix(k, RolePrefix):
			if role := strings.TrimPrefix(k, RolePrefix); role != "" {
				seen[role] = true
			}
		case k == "kubernetes.io/role" && v != "":
			seen[v] = true
		}
	}
	roles := make([]string, 0, len(seen))
	for r := range seen {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}

// IsControlPlane reports whether roles (RolesFromLabels) make a node a
// master: OpenShift 3.11's "master", Kubernetes' "control-plane".
func IsControlPlane(roles []string) bool {
	for _, r := range roles {
		if r == "master" || r == "control-plane" {
			return true
		}
	}
	return false
}

// Nodes is an immutable snapshot of the cluster's nodes, sorted by name.
type Nodes struct {
	Items []Node
	// Synced is false until the first full list has arrived; an empty list
	// before that means "loading", not "no nodes".
	Synced bool
	// PodsSynced is false until the pod cache has synced (or when pods
	// cannot be listed); pod counts mean nothing before that.
	PodsSynced bool
	// Err is the last watch error (RBAC forbidden, API unreachable), if any.
	Err string
}

// Counts summarises a node snapshot for the pane title.
func (ns Nodes) Counts() (total, ready int) {
	for _, n := range ns.Items {
		if n.Readiness == NodeReady {
			ready++
		}
	}
	return len(ns.Items), ready
}
