package model

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestShutdownOrder(t *testing.T) {
	nodes := []Node{
		{Name: "node-1", Roles: []string{"compute"}},
		{Name: "master-0", Roles: []string{"master"}},
		{Name: "infra-0", Roles: []string{"infra"}},
		{Name: "cp-1", Roles: []string{"control-plane", "master"}},
		{Name: "node-0", Roles: nil},
		{Name: "both", Roles: []string{"infra", "master"}},
	}
	want := []ShutdownGroup{
		{Role: ShutdownWorkers, Nodes: []string{"node-0", "node-1"}},
		{Role: ShutdownInfra, Nodes: []string{"infra-0"}},
		{Role: ShutdownMasters, Nodes: []string{"both", "cp-1", "master-0"}},
	}
	if got := ShutdownOrder(nodes); !reflect.DeepEqual(got, want) {
		t.Fatalf("ShutdownOrder = %+v, want %+v", got, want)
	}
	if got := ShutdownOrder([]Node{{Name: "m", Roles: []string{"master"}}}); len(got) != 1 || got[0].Role != ShutdownMasters {
		t.Fatalf("waves without nodes are left out: %+v", got)
	}
}

func TestCheckDowntime(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	d := RestartDeadline{NotAfter: now.Add(48 * time.Hour), Source: "secret x/y"}
	for _, c := range []struct {
		expected time.Duration
		want     string
	}{
		{0, ""},
		{24 * time.Hour, ""},
		{48 * time.Hour, "outlasts 2026-12-06T12:00:00Z (secret x/y)"},
		{72 * time.Hour, "expected downtime of 72h0m0s outlasts"},
	} {
		err := d.CheckDowntime(now, c.expected)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("expected %s: %v, want %q", c.expected, err, c.want)
		}
	}
	if err := d.CheckDowntime(now.Add(49*time.Hour), 0); err == nil || !strings.Contains(err.Error(), "expired 1h0m0s ago") {
		t.Errorf("past the deadline any shutdown is refused: %v", err)
	}
}

func TestEarliestRestartDeadline(t *testing.T) {
	now := time.Now()
	certs := []Certificate{
		{Source: "/etc/origin/master/openshift-router.crt", NotAfter: now.Add(-time.Hour)},
		{Source: "/etc/origin/master/registry.crt", NotAfter: now.Add(time.Hour)},
		{Source: "default/router-certs", NotAfter: now.Add(2 * time.Hour)},
		{Source: "/etc/kubernetes/static-pod-resources/kube-apiserver-certs/secrets/x/tls.crt", NotAfter: now.Add(3 * time.Hour)},
		{Source: "/etc/origin/node/system:node:n.kubeconfig (user system:node:n)", SubjectCN: "system:node:n", NotAfter: now.Add(5 * time.Hour)},
		{Source: "/etc/etcd/peer.crt", SubjectCN: "m", NotAfter: now.Add(4 * time.Hour)},
		{Source: "/etc/origin/master/master.server.crt", NotAfter: now.Add(6 * time.Hour)},
	}
	if kubeadm, ok := EarliestRestartDeadline([]Certificate{{Source: "/etc/kubernetes/pki/apiserver-kubelet-client.crt", SubjectCN: "kube-apiserver-kubelet-client", NotAfter: now}}); !ok || !kubeadm.NotAfter.Equal(now) {
		t.Errorf("kubeadm's certificates count: %+v %v", kubeadm, ok)
	}
	d, ok := EarliestRestartDeadline(certs)
	if !ok || d.Source != "/etc/etcd/peer.crt (m)" || !d.NotAfter.Equal(now.Add(4*time.Hour)) {
		t.Fatalf("EarliestRestartDeadline = %+v %v", d, ok)
	}
	if _, ok := EarliestRestartDeadline(certs[:4]); ok {
		t.Fatal("no restart certificate among router, registry, secrets and OpenShift 4 static pod files")
	}
}

func TestOperatorsNotSettled(t *testing.T) {
	cos := ClusterOperators{Served: true, Items: []ClusterOperator{
		{Name: "dns", Available: "True", Progressing: "False", Degraded: "False"},
		{Name: "ingress", Available: "True", Progressing: "False", Degraded: "True", Message: "1/2 replicas"},
		{Name: "kube-apiserver", Available: "True", Progressing: "True", Degraded: "False"},
	}}
	if got := OperatorsNotSettled(cos, false); !reflect.DeepEqual(got, []string{"kube-apiserver Progressing"}) {
		t.Errorf("progressing only: %v", got)
	}
	if got := OperatorsNotSettled(cos, true); !reflect.DeepEqual(got, []string{"ingress Degraded: 1/2 replicas", "kube-apiserver Progressing"}) {
		t.Errorf("progressing or degraded: %v", got)
	}
}
