package model

import "slices"

// Workload is a cluster service the operator checks by replica counts: the
// integrated registry and the router (seed 003 §3.1.3: DESIRED = CURRENT).
type Workload struct {
	// Role is "registry" or "router".
	Role string
	// Kind is the object that runs it: DeploymentConfig (OpenShift 3.11),
	// Deployment, or "" when none was found.
	Kind      string
	Namespace string
	Name      string

	Desired, Current, Ready int32
	Pods                    []WorkloadPod
	// Err says why the workload could not be read (forbidden, not found).
	Err string
}

// WorkloadPod is one pod of a workload and where it runs.
type WorkloadPod struct {
	Name, Node, Phase string
	Ready             bool
}

// Found reports whether an object running the workload was found.
func (w Workload) Found() bool { return w.Kind != "" }

// Settled is the seed's rule: the rollout is complete when DESIRED = CURRENT
// (and every current replica is ready).
func (w Workload) Settled() bool {
	return w.Found() && w.Desired == w.Current && w.Current == w.Ready
}

// Nodes are the distinct nodes its pods are scheduled on, in pod order.
func (w Workload) Nodes() []string {
	var nodes []string
	for _, p := range w.Pods {
		if p.Node != "" && !slices.Contains(nodes, p.Node) {
			nodes = append(nodes, p.Node)
		}
	}
	return nodes
}
