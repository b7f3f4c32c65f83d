package model

import (
	"strings"
	"testing"
)

func TestClassifyDrainPod(t *testing.T) {
	for _, tc := range []struct {
		pod  DrainPod
		want PodClass
	}{
		{DrainPod{OwnerKind: "ReplicaSet"}, ClassEvict},
		{DrainPod{OwnerKind: "ReplicaSet", EmptyDir: true}, ClassEmptyDir},
		{DrainPod{}, ClassBare},
		{DrainPod{EmptyDir: true}, ClassBare},
		{DrainPod{OwnerKind: "DaemonSet", EmptyDir: true}, ClassDaemonSet},
		{DrainPod{Mirror: true}, ClassMirror},
		{DrainPod{Finished: true}, ClassFinished},
		{DrainPod{OwnerKind: "DaemonSet", Finished: true}, ClassDaemonSet},
	} {
		if got := tc.pod.Classify(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.pod, got, tc.want)
		}
	}
	if ClassDaemonSet.Leaves() || ClassMirror.Leaves() || !ClassBare.Leaves() {
		t.Error("only DaemonSet and mirror pods stay")
	}
}

func preflight() DrainPreflight {
	return DrainPreflight{
		Node: "node-0", Roles: []string{"compute"},
		Pods: []DrainPod{
			{Namespace: "myapp", Name: "frontend-1", OwnerKind: "ReplicaSet", PDB: "frontend"},
			{Namespace: "myapp", Name: "cache-1", OwnerKind: "ReplicaSet", EmptyDir: true},
			{Namespace: "myapp", Name: "debug"},
			{Namespace: "openshift-sdn", Name: "sdn-x", OwnerKind: "DaemonSet"},
		},
		PDBs:  []PDBStatus{{Namespace: "myapp", Name: "frontend", DesiredHealthy: 2, CurrentHealthy: 3, DisruptionsAllowed: 1}},
		Peers: 2, PeerFreePods: 200, PeerFreeMilliCPU: 6000, EvictMilliCPU: 360,
	}
}

func TestConsentsAndLeaving(t *testing.T) {
	p := preflight()
	if got := len(p.Leaving()); got != 3 {
		t.Fatalf("leaving = %d, want 3 (DaemonSet pod stays)", got)
	}
	c := p.Consents(false, false)
	if len(c) != 2 || !strings.Contains(c[0], "myapp/cache-1") || !strings.Contains(c[1], "myapp/debug") {
		t.Fatalf("consents = %v", c)
	}
	if c := p.Consents(true, true); len(c) != 0 {
		t.Fatalf("both allowed: %v", c)
	}
	if w := p.Warnings(); len(w) != 0 {
		t.Fatalf("healthy preflight warns: %v", w)
	}
}

func TestDrainWarnings(t *testing.T) {
	p := preflight()
	p.PDBs[0].DisruptionsAllowed, p.PDBs[0].CurrentHealthy = 0, 2
	p.Peers, p.PeerFreePods = 1, 2
	w := strings.Join(p.Warnings(), "\n")
	for _, want := range []string{"myapp/frontend allows 0 disruptions now (healthy 2/2)", "room for 2 more pods, 3 are leaving"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	infra := DrainPreflight{Roles: []string{"infra"}, Peers: 1, PeerFreePods: 100}
	if w := strings.Join(infra.Warnings(), "\n"); !strings.Contains(w, "only 1 other infra node(s) would remain") {
		t.Errorf("infra rule missing: %s", w)
	}
	alone := DrainPreflight{Roles: []string{"compute"}, Pods: []DrainPod{{Namespace: "a", Name: "b", OwnerKind: "ReplicaSet"}}}
	if w := strings.Join(alone.Warnings(), "\n"); !strings.Contains(w, "no other schedulable compute node: 1 pods will stay Pending") {
		t.Errorf("capacity warning missing: %s", w)
	}
}

func TestDrainEventString(t *testing.T) {
	e := DrainEvent{Pod: "myapp/frontend-1", Kind: DrainBlocked, Detail: "PodDisruptionBudget myapp/frontend (healthy 2/2), retrying"}
	if e.String() != "blocked myapp/frontend-1: PodDisruptionBudget myapp/frontend (healthy 2/2), retrying" {
		t.Errorf("String = %q", e.String())
	}
}
