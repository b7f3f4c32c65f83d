package model

import (
	"reflect"
	"testing"
	"time"
)

func TestRolesFromLabels(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   []string
	}{
		{nil, []string{}},
		{map[string]string{"node-role.kubernetes.io/master": "true", "node-role.kubernetes.io/infra": ""}, []string{"infra", "master"}},
		{map[string]string{"kubernetes.io/role": "compute", "node-role.kubernetes.io/compute": "true"}, []string{"compute"}},
		{map[string]string{"node-role.kubernetes.io/": "x", "kubernetes.io/role": ""}, []string{}},
	} {
		if got := RolesFromLabels(tc.labels); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RolesFromLabels(%v) = %v, want %v", tc.labels, got, tc.want)
		}
	}
}

func TestIsControlPlane(t *testing.T) {
	if !IsControlPlane([]string{"infra", "master"}) || !IsControlPlane([]string{"control-plane"}) || IsControlPlane([]string{"infra", "compute"}) || IsControlPlane(nil) {
		t.Error("masters are master or control-plane, nothing else")
	}
}

func TestNodeStatusColumns(t *testing.T) {
	n := Node{Readiness: NodeReady, Unschedulable: true}
	if n.Status() != "Ready,SchedulingDisabled" {
		t.Errorf("Status = %q", n.Status())
	}
	if (Node{}).Status() != "Unknown" {
		t.Errorf("a node without a Ready condition is Unknown")
	}
	if (Node{}).RoleList() != "<none>" || (Node{Roles: []string{"infra", "master"}}).RoleList() != "infra,master" {
		t.Errorf("RoleList wrong")
	}
	total, ready := Nodes{Items: []Node{{Readiness: NodeReady}, {Readiness: NodeNotReady}}}.Counts()
	if total != 2 || ready != 1 {
		t.Errorf("Counts = %d/%d", ready, total)
	}
}

func TestHumanAge(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second:                      "0s",
		42 * time.Second:                  "42s",
		5*time.Minute + 3*time.Second:     "5m3s",
		7 * time.Minute:                   "7m",
		90 * time.Minute:                  "90m",
		5*time.Hour + 3*time.Minute:       "5h3m",
		20 * time.Hour:                    "20h",
		3*24*time.Hour + 4*time.Hour:      "3d4h",
		400 * 24 * time.Hour:              "400d",
		3*365*24*time.Hour + 48*time.Hour: "3y2d",
	} {
		if got := HumanAge(d); got != want {
			t.Errorf("HumanAge(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestHumanBytesAndLatency(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 25 << 20: "25.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{850 * time.Microsecond: "850µs", 12 * time.Millisecond: "12ms", 1200 * time.Millisecond: "1.2s"} {
		if got := HumanLatency(d); got != want {
			t.Errorf("HumanLatency(%v) = %q, want %q", d, got, want)
		}
	}
}
