package ops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// inventoryPath is where openshift-ansible 3.11 keeps the inventory.
const inventoryPath = "/etc/ansible/hosts"

// Hosts lists the cluster's hosts: the Ansible inventory's (--inventory,
// else /etc/ansible/hosts under the host root) when there is one, else one
// per Node; each tied to its Node and etcd member. With an inventory the
// hosts come back even when the API or etcd cannot be read, with an error
// saying what could not be tied.
func (s *Session) Hosts(ctx context.Context) ([]model.Host, error) {
	hosts, err := s.inventoryHosts()
	if err != nil {
		return nil, err
	}
	nodes, nerr := s.hostNodes(ctx)
	var members []model.EtcdMember
	var eerr error
	if eerr = s.etcdReady(); eerr == nil {
		snap := s.poller.Poll(ctx)
		members = snap.Members
		if snap.Err != "" {
			eerr = errors.New(snap.Err)
		}
	}
	if hosts == nil {
		if nerr != nil {
			return nil, fmt.Errorf("hosts: no inventory at %s, and the nodes could not be listed: %w", inventoryPath, nerr)
		}
		return model.HostsFromNodes(nodes, members), nil
	}
	hosts = model.TieHosts(hosts, nodes, members)
	switch {
	case nerr != nil:
		return hosts, fmt.Errorf("hosts not tied to their nodes: %w", nerr)
	case eerr != nil:
		return hosts, fmt.Errorf("hosts not tied to their etcd members: %w", eerr)
	}
	return hosts, nil
}

// inventoryHosts reads the inventory's hosts; nil when there is none.
func (s *Session) inventoryHosts() ([]model.Host, error) {
	var data []byte
	var err error
	src := s.opts.Inventory
	if src != "" {
		data, err = os.ReadFile(src)
	} else {
		src = inventoryPath
		data, err = hostfs.New(s.opts.HostRoot).ReadFile(inventoryPath)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("inventory: %w", err)
	}
	inv, err := model.ParseInventory(data)
	if err != nil {
		return nil, fmt.Errorf("inventory %s: %w", src, err)
	}
	hosts, err := inv.Hosts(src)
	if err != nil {
		return nil, err
	}
	if hosts == nil {
		return nil, fmt.Errorf("inventory %s names no host in the groups %v", src, model.ClusterGroups)
	}
	return hosts, nil
}

func (s *Session) hostNodes(ctx context.Context) ([]model.HostNode, error) {
	list, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := make([]model.HostNode, 0, len(list.Items))
	for _, n := range list.Items {
		hn := model.HostNode{Name: n.Name, Roles: model.RolesFromLabels(n.Labels)}
		for _, a := range n.Status.Addresses {
			hn.Addresses = append(hn.Addresses, a.Address)
			switch {
			case a.Type == corev1.NodeInternalIP && hn.InternalIP == "":
				hn.InternalIP = a.Address
			case a.Type == corev1.NodeHostName && hn.Hostname == "":
				hn.Hostname = a.Address
			}
		}
		out = append(out, hn)
	}
	return out, nil
}

// errNoHostAccess: day2 runs with --no-ssh (or without host access), so
// steps on other hosts are manual.
var errNoHostAccess = errors.New("no host access (--no-ssh)")

// hostNamed matches the host of a node or etcd member by name: the
// inventory name, the node it is tied to, its etcd member, or the short
// form of any of them.
func hostNamed(name string) func(model.Host) bool {
	short := func(s string) string { s, _, _ = strings.Cut(s, "."); return s }
	return func(h model.Host) bool {
		for _, n := range []string{h.Name, h.Node, h.EtcdMember} {
			if n != "" && (n == name || short(n) == short(name)) {
				return true
			}
		}
		return false
	}
}

// inGroup matches the hosts of an inventory group (or node role).
func inGroup(group string) func(model.Host) bool {
	return func(h model.Host) bool { return h.In(group) }
}

// findHosts lists the cluster's hosts match accepts.
func (s *Session) findHosts(ctx context.Context, match func(model.Host) bool) ([]model.Host, error) {
	if s.opts.HostAccess == nil {
		return nil, errNoHostAccess
	}
	all, err := s.Hosts(ctx)
	if all == nil && err != nil {
		return nil, err
	}
	var out []model.Host
	for _, h := range all {
		if match(h) {
			out = append(out, h)
		}
	}
	return out, nil
}
