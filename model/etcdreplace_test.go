package model

import (
	"strings"
	"testing"
)

func TestDiagnoseMember(t *testing.T) {
	yes, no := true, false
	ready := MemberHost{NodeFound: true, NodeReady: true}
	for _, tc := range []struct {
		name   string
		spec   []string
		host   MemberHost
		fault  MemberFault
		path   ReplacePath
		reason string
	}{
		{"healthy member is retired add-first", []string{"h", "h", "h"}, ready, FaultNone, PathRetire, "retired by adding its replacement first"},
		{"machine stopped (seed 001 §5.2.3)", []string{"h", "u", "h"}, MemberHost{NodeFound: true, MachineState: "stopped"}, FaultMachineStopped, PathReplaceFailed, "machine is stopped"},
		{"running machine, unreachable node", []string{"h", "u", "h"}, MemberHost{NodeFound: true, NodeReady: true, Unreachable: true, MachineState: "running"}, FaultNodeNotReady, PathReplaceFailed, "unreachable taint"},
		{"node NotReady", []string{"h", "u", "h"}, MemberHost{NodeFound: true}, FaultNodeNotReady, PathReplaceFailed, "is NotReady"},
		{"pod in Error", []string{"h", "u", "h"}, MemberHost{NodeFound: true, NodeReady: true, PodStatus: "Error"}, FaultCrashlooping, PathReplaceFailed, "etcd pod is Error"},
		{"Ready node, etcd silent", []string{"h", "u", "h"}, MemberHost{NodeFound: true, NodeReady: true, ManifestPresent: &yes}, FaultCrashlooping, PathReplaceFailed, "crashlooping"},
		{"Ready node, manifest moved out", []string{"h", "u", "h"}, MemberHost{NodeFound: true, NodeReady: true, ManifestPresent: &no}, FaultCrashlooping, PathReplaceFailed, "not in place"},
		{"dedicated etcd host", []string{"h", "u", "h"}, MemberHost{}, FaultNotAnswering, PathReplaceFailed, "not a node"},
		{"quorum lost: recover instead (seed 001 §5.2)", []string{"h", "u", "u"}, ready, FaultNotAnswering, PathRecoverQuorum, "etcd-recover-quorum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := EtcdCluster{Members: members(tc.spec...)}
			d, err := c.DiagnoseMember(2, tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if d.Fault != tc.fault || d.Path != tc.path {
				t.Errorf("fault %v path %v, want %v %v", d.Fault, d.Path, tc.fault, tc.path)
			}
			if !strings.Contains(strings.Join(d.Reasons, "\n"), tc.reason) {
				t.Errorf("reasons %q lack %q", d.Reasons, tc.reason)
			}
			if !strings.HasPrefix(d.Reasons[0], "quorum: ") {
				t.Errorf("quorum is checked first: %q", d.Reasons)
			}
		})
	}
	c := EtcdCluster{Members: members("h", "l")}
	if _, err := c.DiagnoseMember(2, ready); err == nil || !strings.Contains(err.Error(), "learner") {
		t.Errorf("a learner is not replaced: %v", err)
	}
	if _, err := c.DiagnoseMember(9, ready); err == nil || !strings.Contains(err.Error(), "no member 9") {
		t.Errorf("unknown member: %v", err)
	}
}
