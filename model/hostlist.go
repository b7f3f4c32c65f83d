package model

import (
	"net"
	"net/url"
	"strings"
)

// HostNode is what ties a host to a Node: the node's name, roles and
// status addresses.
type HostNode struct {
	Name                 string
	Roles                []string
	InternalIP, Hostname string
	// Addresses are every status address (InternalIP, ExternalIP,
	// Hostname, InternalDNS...).
	Addresses []string
}

// TieHosts ties each host to its Node (same name, or the host's name or
// address among the node's addresses) and to its etcd member (named after
// the host or its node, or with a peer or client URL at one of the host's
// addresses). Hosts already tied keep their ties.
func TieHosts(hosts []Host, nodes []HostNode, members []EtcdMember) []Host {
	out := make([]Host, len(hosts))
	for i, h := range hosts {
		names := []string{h.Name, h.Address}
		var node *HostNode
		for j := range nodes {
			if nodeIs(&nodes[j], names) {
				node = &nodes[j]
				break
			}
		}
		if h.Node == "" && node != nil {
			h.Node = node.Name
		}
		if node != nil {
			names = append(names, node.Name)
			names = append(names, node.Addresses...)
		}
		if h.EtcdMember == "" {
			for _, m := range members {
				if memberIs(m, names) {
					h.EtcdMember = m.Name
					break
				}
			}
		}
		out[i] = h
	}
	return out
}

func nodeIs(n *HostNode, names []string) bool {
	if anyEqual(names, n.Name) {
		return true
	}
	for _, a := range n.Addresses {
		if anyEqual(names, a) {
			return true
		}
	}
	return false
}

func memberIs(m EtcdMember, names []string) bool {
	if m.Name != "" && anyEqual(names, m.Name) {
		return true
	}
	for _, u := range append(append([]string(nil), m.PeerURLs...), m.ClientURLs...) {
		if p, err := url.Parse(u); err == nil && p.Hostname() != "" && anyEqual(names, p.Hostname()) {
			return true
		}
	}
	return false
}

// anyEqual compares host names case-insensitively and IPs by value.
func anyEqual(names []string, s string) bool {
	ip := net.ParseIP(s)
	for _, n := range names {
		if n == "" {
			continue
		}
		if strings.EqualFold(n, s) {
			return true
		}
		if ip != nil && ip.Equal(net.ParseIP(n)) {
			return true
		}
	}
	return false
}

// HostsFromNodes is the host list when there is no inventory: one host per
// Node, dialled at its InternalIP (else its Hostname address, else its
// name), in the groups its roles and etcd membership say.
func HostsFromNodes(nodes []HostNode, members []EtcdMember) []Host {
	var out []Host
	for _, n := range nodes {
		h := Host{Name: n.Name, Address: n.Name, Node: n.Name, Source: "node name"}
		switch {
		case n.InternalIP != "":
			h.Address, h.Source = n.InternalIP, "node InternalIP"
		case n.Hostname != "":
			h.Address, h.Source = n.Hostname, "node Hostname"
		}
		out = append(out, h)
	}
	out = TieHosts(out, nodes, members)
	for i := range out {
		roles := map[string]bool{}
		for _, r := range nodes[i].Roles {
			roles[r] = true
		}
		if roles["master"] || roles["control-plane"] {
			out[i].Groups = append(out[i].Groups, "masters")
		}
		if out[i].EtcdMember != "" || roles["etcd"] {
			out[i].Groups = append(out[i].Groups, "etcd")
		}
		out[i].Groups = append(out[i].Groups, "nodes")
	}
	return out
}
