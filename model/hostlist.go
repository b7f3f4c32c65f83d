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

// TieHosts ties each host to its Node and its etcd member: by name first
// (the node or member named like the host or its node), else by address
// (the host's name or address among the node's addresses, or at a
// member's peer or client URL) when exactly one matches: hosts sharing an
// address (behind NAT, or all on 127.0.0.1) are not tied by it. Hosts
// already tied keep their ties.
func TieHosts(hosts []Host, nodes []HostNode, members []EtcdMember) []Host {
	out := make([]Host, len(hosts))
	for i, h := range hosts {
		names := []string{h.Name, h.Address}
		node := -1
		if j := only(len(nodes), func(j int) bool { return anyEqual(names, nodes[j].Name) }); j >= 0 {
			node = j
		} else {
			node = only(len(nodes), func(j int) bool { return anyIn(names, nodes[j].Addresses) })
		}
		if h.Node == "" && node >= 0 {
			h.Node = nodes[node].Name
		}
		addrs := []string{h.Address}
		if node >= 0 {
			names = append(names, nodes[node].Name)
			addrs = append(addrs, nodes[node].Addresses...)
		}
		if h.EtcdMember == "" {
			m := only(len(members), func(j int) bool { return members[j].Name != "" && anyEqual(names, members[j].Name) })
			if m < 0 {
				m = only(len(members), func(j int) bool { return anyIn(addrs, urlHosts(members[j])) })
			}
			if m >= 0 {
				h.EtcdMember = members[m].Name
			}
		}
		out[i] = h
	}
	return out
}

// only is the one index in [0,n) that match holds for, else -1.
func only(n int, match func(int) bool) int {
	found := -1
	for i := 0; i < n; i++ {
		if match(i) {
			if found >= 0 {
				return -1
			}
			found = i
		}
	}
	return found
}

func urlHosts(m EtcdMember) []string {
	var out []string
	for _, u := range append(append([]string(nil), m.PeerURLs...), m.ClientURLs...) {
		if p, err := url.Parse(u); err == nil && p.Hostname() != "" {
			out = append(out, p.Hostname())
		}
	}
	return out
}

func anyIn(names, list []string) bool {
	for _, s := range list {
		if anyEqual(names, s) {
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
