package model

import (
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseInventoryFiles(t *testing.T) {
	m := []string{"masters", "etcd", "nodes"}
	tests := []struct {
		file string
		want []Host
	}{
		{"testdata/inventory-311-ha.ini", []Host{
			{Name: "ocp-master1.ocp.example.com", Address: "ocp-master1.ocp.example.com", User: "cloud-user", Groups: m, NodeGroup: "node-config-master"},
			{Name: "ocp-master2.ocp.example.com", Address: "ocp-master2.ocp.example.com", User: "cloud-user", Groups: m, NodeGroup: "node-config-master"},
			{Name: "ocp-master3.ocp.example.com", Address: "ocp-master3.ocp.example.com", User: "cloud-user", Groups: m, NodeGroup: "node-config-master"},
			{Name: "ocp-lb.ocp.example.com", Address: "ocp-lb.ocp.example.com", User: "root", Groups: []string{"lb"}},
			{Name: "ocp-infra1.ocp.example.com", Address: "ocp-infra1.ocp.example.com", User: "cloud-user", Groups: []string{"nodes"}, NodeGroup: "node-config-infra"},
			{Name: "ocp-infra2.ocp.example.com", Address: "ocp-infra2.ocp.example.com", User: "cloud-user", Groups: []string{"nodes"}, NodeGroup: "node-config-infra"},
			{Name: "ocp-node1.ocp.example.com", Address: "10.0.1.21", User: "cloud-user", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
			{Name: "ocp-node2.ocp.example.com", Address: "10.0.1.22", Port: 2222, User: "cloud-user", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
			{Name: "ocp-node3.ocp.example.com", Address: "ocp-node3.ocp.example.com", Port: 2200, User: "cloud-user", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
		}},
		{"testdata/inventory-311-scaleup.ini", []Host{
			{Name: "master-0.example.com", Address: "master-0.example.com", User: "root", Groups: m, NodeGroup: "node-config-master"},
			{Name: "master-1.example.com", Address: "master-1.example.com", User: "root", Groups: m, NodeGroup: "node-config-master"},
			{Name: "master-2.example.com", Address: "master-2.example.com", User: "root", Groups: []string{"new_masters"}, NodeGroup: "node-config-master"},
			{Name: "node-a.example.com", Address: "192.168.0.50", User: "root", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
			{Name: "node-b.example.com", Address: "192.168.0.50", User: "root", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
			{Name: "node-01.example.com", Address: "node-01.example.com", User: "root", Groups: []string{"new_nodes"}, NodeGroup: "node-config-compute"},
			{Name: "node-03.example.com", Address: "node-03.example.com", User: "root", Groups: []string{"new_nodes"}, NodeGroup: "node-config-compute"},
		}},
		{"testdata/inventory-311-glusterfs.ini", []Host{
			{Name: "master", Address: "master", Port: 2022, User: "root", Groups: []string{"masters", "nodes"}, NodeGroup: "node-config-master-infra"},
			{Name: "node11.example.com", Address: "node11.example.com", Port: 2022, User: "root", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
			{Name: "node12.example.com", Address: "node12.example.com", Port: 2022, User: "root", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
			{Name: "node13.example.com", Address: "node13.example.com", Port: 2022, User: "root", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			inv, err := ParseInventory(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inv.Hosts(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].Source = "inventory " + tt.file
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hosts:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestInventoryVarsAndGroups(t *testing.T) {
	data, _ := os.ReadFile("testdata/inventory-311-ha.ini")
	inv, err := ParseInventory(data)
	if err != nil {
		t.Fatal(err)
	}
	// [x:vars] values are taken whole: quotes around them go, # inside stays.
	if v, _ := inv.Var("ocp-node1.ocp.example.com", "oreg_auth_password"); v != "p@ss word#1" {
		t.Errorf("oreg_auth_password = %q", v)
	}
	if v, _ := inv.Var("ocp-master1.ocp.example.com", "openshift_node_groups"); !strings.HasPrefix(v, "[{'name': 'node-config-master'") {
		t.Errorf("openshift_node_groups = %q", v)
	}
	if v, _ := inv.Var("ocp-master1.ocp.example.com", "openshift_release"); v != "3.11" {
		t.Errorf("openshift_release = %q", v)
	}
	if got := inv.GroupHosts("OSEv3"); len(got) != 9 {
		t.Errorf("OSEv3 (through :children) has %d hosts: %v", len(got), got)
	}
	data, _ = os.ReadFile("testdata/inventory-311-glusterfs.ini")
	if inv, err = ParseInventory(data); err != nil {
		t.Fatal(err)
	}
	if v, _ := inv.Var("node12.example.com", "glusterfs_devices"); v != `[ "/dev/xvdc", "/dev/xvdd" ]` {
		t.Errorf("glusterfs_devices = %q", v)
	}
	if got := inv.GroupHosts("glusterfs"); !reflect.DeepEqual(got, []string{"node11.example.com", "node12.example.com", "node13.example.com"}) {
		t.Errorf("glusterfs = %v", got)
	}
}

// A child group's variable wins over its parent's; a host's own over both.
func TestInventoryVarPrecedence(t *testing.T) {
	inv, err := ParseInventory([]byte(`
[all:vars]
ansible_user=everyone
[OSEv3:children]
nodes
[OSEv3:vars]
ansible_user=parent
ansible_port=22
[nodes:vars]
ansible_user=child
[nodes]
n1
n2 ansible_user=own
[other]
n3
`))
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"n1": "child", "n2": "own", "n3": "everyone"} {
		if v, _ := inv.Var(host, "ansible_user"); v != want {
			t.Errorf("%s: ansible_user = %q, want %q", host, v, want)
		}
	}
	if v, _ := inv.Var("n1", "ansible_port"); v != "22" {
		t.Errorf("n1: ansible_port = %q (from OSEv3:vars)", v)
	}
}

func TestExpandHostRange(t *testing.T) {
	tests := map[string][]string{
		"node[1:3].example.com": {"node1.example.com", "node2.example.com", "node3.example.com"},
		"node[01:03]":           {"node01", "node02", "node03"},
		"node[8:10]":            {"node8", "node9", "node10"},
		"master[a:c]":           {"mastera", "masterb", "masterc"},
		"n[1:5:2]":              {"n1", "n3", "n5"},
		"r[1:2]-[a:b]":          {"r1-a", "r1-b", "r2-a", "r2-b"},
		"[:1]x":                 {"0x", "1x"},
		"plain.example.com":     {"plain.example.com"},
	}
	for in, want := range tests {
		got, err := expandHostRange(in, maxInventoryHosts)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"n[3:1]", "n[a:3]", "n[1:", "n[1:2:0]", "n[0:999999]"} {
		if got, err := expandHostRange(bad, maxInventoryHosts); err == nil {
			t.Errorf("%s: want an error, got %v", bad, got)
		}
	}
}

func TestParseInventoryRefuses(t *testing.T) {
	yaml, _ := os.ReadFile("testdata/inventory-yaml.yml")
	if _, err := ParseInventory(yaml); !errors.Is(err, ErrYAMLInventory) {
		t.Errorf("YAML inventory: %v", err)
	}
	if _, err := ParseInventory([]byte("---\nall:\n")); !errors.Is(err, ErrYAMLInventory) {
		t.Errorf("YAML document start: %v", err)
	}
	for name, in := range map[string]string{
		"bad section":   "[masters:hosts]\nm1\n",
		"unterminated":  "[masters]\nm1 a='b\n",
		"not key=value": "[masters]\nm1 novalue\n",
		"cycle":         "[a:children]\nb\n[b:children]\na\n",
		"bad port":      "[masters]\nm1 ansible_port=ssh\n",
		"vars no =":     "[x:vars]\njustakey\n",
	} {
		inv, err := ParseInventory([]byte(in))
		if err == nil {
			_, err = inv.Hosts("test")
		}
		if err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestTieHosts(t *testing.T) {
	nodes := []HostNode{
		{Name: "master-0.example.com", Roles: []string{"master"}, InternalIP: "10.0.0.10", Addresses: []string{"10.0.0.10", "master-0.example.com"}},
		{Name: "10.0.0.11", Roles: []string{"compute"}, InternalIP: "10.0.0.11", Hostname: "node-1", Addresses: []string{"10.0.0.11", "node-1"}},
	}
	members := []EtcdMember{
		{Name: "etcd-a", PeerURLs: []string{"https://10.0.0.10:2380"}},
		{Name: "lb.example.com", ClientURLs: []string{"https://10.0.0.99:2379"}},
	}
	got := TieHosts([]Host{
		{Name: "master-0.example.com", Address: "master-0.example.com"},
		{Name: "node-1", Address: "node-1"},
		{Name: "lb.example.com", Address: "10.0.0.99"},
	}, nodes, members)
	want := [][2]string{{"master-0.example.com", "etcd-a"}, {"10.0.0.11", ""}, {"", "lb.example.com"}}
	for i, w := range want {
		if got[i].Node != w[0] || got[i].EtcdMember != w[1] {
			t.Errorf("%s: node %q member %q, want %v", got[i].Name, got[i].Node, got[i].EtcdMember, w)
		}
	}
	// Hosts sharing an address (the local cluster's, all on 127.0.0.1) are
	// tied by name only.
	local := []EtcdMember{{Name: "m0", PeerURLs: []string{"https://127.0.0.1:2380"}}, {Name: "m1", PeerURLs: []string{"https://127.0.0.1:2381"}}}
	got = TieHosts([]Host{{Name: "m1", Address: "127.0.0.1"}, {Name: "n0", Address: "127.0.0.1"}}, nil, local)
	if got[0].EtcdMember != "m1" || got[1].EtcdMember != "" {
		t.Errorf("shared address: %+v", got)
	}
	hosts := HostsFromNodes(nodes, members)
	if hosts[0].Address != "10.0.0.10" || hosts[0].Source != "node InternalIP" || !reflect.DeepEqual(hosts[0].Groups, []string{"masters", "etcd", "nodes"}) {
		t.Errorf("master host: %+v", hosts[0])
	}
	if hosts[1].EtcdMember != "" || !reflect.DeepEqual(hosts[1].Groups, []string{"nodes"}) || hosts[1].Node != "10.0.0.11" {
		t.Errorf("node host: %+v", hosts[1])
	}
}

func FuzzParseInventory(f *testing.F) {
	for _, file := range []string{"testdata/inventory-311-ha.ini", "testdata/inventory-311-scaleup.ini", "testdata/inventory-311-glusterfs.ini"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("[a:children]\nb\n[b]\nh[1:3] x='y z'\n[b:vars]\nansible_port=22\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseInventory(data)
		if err != nil {
			return
		}
		if len(inv.HostOrder) > maxInventoryHosts {
			t.Fatalf("%d hosts", len(inv.HostOrder))
		}
		hosts, err := inv.Hosts("fuzz")
		if err != nil {
			return
		}
		for _, h := range hosts {
			if h.Name == "" || len(h.Groups) == 0 || h.Address == "" || h.Port < 0 || h.Port > 65535 {
				t.Fatalf("bad host %+v", h)
			}
			for _, g := range h.Groups {
				if !slices.Contains(inv.GroupHosts(g), h.Name) {
					t.Fatalf("%s listed in %s, which does not hold it", h.Name, g)
				}
			}
		}
	})
}
