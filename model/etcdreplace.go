package model

import (
	"fmt"
	"strings"
)

// MemberFault is why an etcd member is unhealthy, in the terms of seed 001
// §5.2.3, which decide how it is replaced.
type MemberFault int

const (
	// FaultNone: the member is healthy (it is being retired, not repaired).
	FaultNone MemberFault = iota
	// FaultMachineStopped: its machine is not running.
	FaultMachineStopped
	// FaultNodeNotReady: its node is NotReady or tainted unreachable.
	FaultNodeNotReady
	// FaultCrashlooping: its node is Ready but etcd does not answer: the
	// etcd pod is crashlooping (or was stopped).
	FaultCrashlooping
	// FaultNotAnswering: etcd does not answer and no node of that name
	// tells more (a dedicated etcd host).
	FaultNotAnswering
)

func (f MemberFault) String() string {
	switch f {
	case FaultNone:
		return "healthy"
	case FaultMachineStopped:
		return "machine stopped"
	case FaultNodeNotReady:
		return "node NotReady"
	case FaultCrashlooping:
		return "etcd pod crashlooping"
	default:
		return "not answering"
	}
}

// ReplacePath is the order in which a member is replaced.
type ReplacePath string

const (
	// PathRetire: a healthy member is retired: add the new one as a
	// learner, promote it, then remove the old one (seed 003 §5.4.3), so
	// the fault tolerance never drops.
	PathRetire ReplacePath = "retire-healthy"
	// PathReplaceFailed: a failed member is removed first, then its
	// replacement is added as a learner and promoted (seed 001 §5.2.4).
	PathReplaceFailed ReplacePath = "replace-failed"
	// PathRecoverQuorum: quorum is lost; no membership change can be made,
	// the cluster must be recovered (etcd-recover-quorum).
	PathRecoverQuorum ReplacePath = "recover-quorum"
)

// MemberHost is what the cluster says about the host of an etcd member
// (its node has the member's name).
type MemberHost struct {
	NodeFound   bool
	NodeReady   bool
	Unreachable bool // the node.kubernetes.io/unreachable taint
	// MachineState is the Machine's providerStatus.instanceState (OpenShift
	// 4 Machine API), empty when unknown.
	MachineState string
	// PodStatus is the etcd pod's status as `oc get pods` prints it
	// (Running, Error, CrashLoopBackOff), empty when unknown.
	PodStatus string
	// ManifestPresent is whether the member's static pod manifest is in
	// place, when its host's files are reachable from here (nil otherwise).
	ManifestPresent *bool
}

// MemberDiagnosis is the outcome of the decision tree of seed 001 §5.2.3.
type MemberDiagnosis struct {
	Member EtcdMember
	Fault  MemberFault
	Path   ReplacePath
	// Reasons are the findings, in the order the seed checks them.
	Reasons []string
}

// DiagnoseMember finds out why member id is unhealthy and how to replace it:
// quorum first (without it, go to quorum recovery instead — seed 001 §5.2),
// then the machine, the node (unreachable taint, NotReady), then the etcd
// pod; a healthy member is retired add-first.
func (c EtcdCluster) DiagnoseMember(id uint64, h MemberHost) (MemberDiagnosis, error) {
	m, ok := c.MemberByID(id)
	if !ok {
		return MemberDiagnosis{}, c.NoSuchMember(id)
	}
	if m.Learner {
		return MemberDiagnosis{}, fmt.Errorf("member %s (%s) is a learner: remove it (etcd-remove-member) and add its replacement", m.IDHex(), m.DisplayName())
	}
	d := MemberDiagnosis{Member: m}
	say := func(format string, a ...any) { d.Reasons = append(d.Reasons, fmt.Sprintf(format, a...)) }
	say("quorum: %d of %d voting members healthy, %d needed", c.HealthyVoters(), c.Voters(), c.Quorum())
	if c.State() == QuorumLost {
		d.Fault, d.Path = FaultNotAnswering, PathRecoverQuorum
		if m.Healthy {
			d.Fault = FaultNone
		}
		say("quorum is lost: no member can be removed or added — recover the cluster with etcd-recover-quorum instead")
		return d, nil
	}
	if m.Healthy {
		d.Fault, d.Path = FaultNone, PathRetire
		say("%s is healthy: it is retired by adding its replacement first, then removing it", m.DisplayName())
		return d, nil
	}
	d.Path = PathReplaceFailed
	say("%s is unhealthy: %s", m.DisplayName(), orDash(m.Err))
	switch {
	case h.MachineState != "" && !strings.EqualFold(h.MachineState, "running"):
		d.Fault = FaultMachineStopped
		say("its machine is %s", h.MachineState)
	case !h.NodeFound:
		d.Fault = FaultNotAnswering
		say("no node is named %s: etcd runs on a host that is not a node", m.Name)
	case h.Unreachable:
		d.Fault = FaultNodeNotReady
		say("node %s has the node.kubernetes.io/unreachable taint", m.Name)
	case !h.NodeReady:
		d.Fault = FaultNodeNotReady
		say("node %s is NotReady", m.Name)
	default:
		d.Fault = FaultCrashlooping
		switch {
		case h.PodStatus != "":
			say("node %s is Ready; its etcd pod is %s", m.Name, h.PodStatus)
		case h.ManifestPresent != nil && !*h.ManifestPresent:
			say("node %s is Ready; its etcd static pod manifest is not in place (stopped)", m.Name)
		default:
			say("node %s is Ready but etcd does not answer: its etcd pod is crashlooping", m.Name)
		}
	}
	return d, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
