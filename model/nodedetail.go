package model

import "time"

// NodeDetail is everything the node detail view shows about one node.
type NodeDetail struct {
	Node
	Labels      map[string]string
	Annotations map[string]string // only those an operator acts on
	Taints      []Taint
	Conditions  []NodeCondition
	Capacity    map[string]string // resource name → quantity
	Allocatable map[string]string
	// Requested is the sum of the active pods' requests (cpu, memory).
	Requested map[string]string
	Addresses []string // "InternalIP 10.0.0.1"
	System    []string // "kernel 3.10.0", "os CentOS…", "runtime cri-o://1.11"
	Pods      []NodePod
	Events    []Event
	// Err says what could not be read (events forbidden...); the rest is shown.
	Err string
}

// Taint is one node taint.
type Taint struct{ Key, Value, Effect string }

func (t Taint) String() string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + t.Effect
}

// NodeCondition is one node condition with its reason.
type NodeCondition struct {
	Type, Status, Reason, Message string
	Since                         time.Time
}

// Bad reports whether the condition is in its unhealthy state: Ready not
// True, or any other condition (pressure, NetworkUnavailable) True.
func (c NodeCondition) Bad() bool {
	if c.Type == "Ready" {
		return c.Status != "True"
	}
	return c.Status == "True"
}

// NodePod is one pod on a node, with what matters for draining it.
type NodePod struct {
	Namespace, Name string
	// OwnerKind is the kind of the controller (ReplicaSet, DaemonSet…), ""
	// for a bare pod and "Node" for a static pod's mirror.
	OwnerKind string
	Phase     string
	Restarts  int32
	// LocalStorage: the pod has emptyDir volumes, lost when it is evicted.
	LocalStorage bool
	// PDB names the disruption budget covering the pod ("" for none).
	PDB     string
	Created time.Time
}

// Event is one Kubernetes event about an object.
type Event struct {
	Type, Reason, Message string
	Count                 int32
	Last                  time.Time
}
