package model

// Host is one machine of the cluster as day2 reaches it: from the Ansible
// inventory of an OpenShift 3.11 cluster (its groups and host variables),
// else from a Node's addresses, tied to its Node and etcd member when they
// are known.
type Host struct {
	// Name is the inventory host name, else the node name.
	Name string
	// Address is what to dial (ansible_host, else the name or the node's
	// InternalIP); Port 0 and User "" mean ssh_config's or the defaults.
	Address string
	Port    int
	User    string
	// Groups are the inventory groups the host is in (masters, etcd, nodes,
	// lb, new_masters, new_nodes), or the node's roles when there is no
	// inventory.
	Groups []string
	// NodeGroup is openshift_node_group_name (node-config-master,
	// node-config-infra, node-config-compute...).
	NodeGroup string
	// Node and EtcdMember tie the host to the cluster ("" when it has none:
	// a load balancer, a host not yet joined).
	Node       string
	EtcdMember string
	// Source says where the host came from ("inventory /etc/ansible/hosts",
	// "node InternalIP").
	Source string
}

// In reports whether the host is in an inventory group (or has that role).
func (h Host) In(group string) bool {
	for _, g := range h.Groups {
		if g == group {
			return true
		}
	}
	return false
}
