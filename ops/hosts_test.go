package ops

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/localcluster"
)

// The hosts come from master-0's inventory, each tied to its Node and the
// masters to their etcd members.
func TestHostsFromInventory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hosts, err := session(t).Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(cluster.SSHHosts()); len(hosts) != want {
		t.Fatalf("%d hosts, want %d: %+v", len(hosts), want, hosts)
	}
	members := map[string]bool{}
	for _, m := range cluster.Masters {
		members[m.Name] = true
	}
	for _, h := range hosts {
		if h.Source != "inventory /etc/ansible/hosts" || h.Address != "127.0.0.1" || h.Port == 0 || h.User != "root" {
			t.Errorf("%s: %+v", h.Name, h)
		}
		if h.Node != h.Name {
			t.Errorf("%s tied to node %q", h.Name, h.Node)
		}
		if h.In("masters") != members[h.Name] || h.In("masters") != (h.EtcdMember != "") || !h.In("nodes") {
			t.Errorf("%s: groups %v, etcd member %q", h.Name, h.Groups, h.EtcdMember)
		}
	}
}

// Without an inventory, the hosts are the nodes, at their InternalIP.
func TestHostsFromNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   t.TempDir(), Getenv: func(string) string { return "" },
		EtcdEndpoints: []string{cluster.Masters[0].ClientURL}, EtcdCACert: cluster.EtcdCA, EtcdCert: cluster.EtcdCert, EtcdKey: cluster.EtcdKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := s.Hosts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(cluster.SSHHosts()); len(hosts) != want {
		t.Fatalf("%d hosts, want %d", len(hosts), want)
	}
	ips := map[string]string{}
	for _, m := range cluster.Masters {
		ips[m.Name] = m.IP
	}
	masters := 0
	for _, h := range hosts {
		if h.Node != h.Name || h.Source != "node InternalIP" || h.Address == "" || h.Address == h.Name {
			t.Errorf("%+v", h)
		}
		if ip, ok := ips[h.Name]; ok {
			masters++
			if h.Address != ip || !h.In("masters") || h.EtcdMember == "" {
				t.Errorf("master %+v, want address %s, masters, an etcd member", h, ip)
			}
		}
	}
	if masters != len(cluster.Masters) {
		t.Errorf("%d masters among the hosts", masters)
	}
}
