package model

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ParseMemberID reads a member ID as etcdctl prints it and as `member
// remove` takes it: hexadecimal, without 0x.
func ParseMemberID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(s), "0x"), 16, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%q is not an etcd member ID (hex, as `etcdctl member list` prints it)", s)
	}
	return id, nil
}

// MemberByID finds a member by ID.
func (c EtcdCluster) MemberByID(id uint64) (EtcdMember, bool) {
	for _, m := range c.Members {
		if m.ID == id {
			return m, true
		}
	}
	return EtcdMember{}, false
}

// MemberByPeerURL finds the member that has one of urls as a peer URL (an
// added member that never started has no name yet, only its peer URLs).
func (c EtcdCluster) MemberByPeerURL(urls []string) (EtcdMember, bool) {
	for _, m := range c.Members {
		for _, u := range m.PeerURLs {
			if slices.Contains(urls, u) {
				return m, true
			}
		}
	}
	return EtcdMember{}, false
}

// HostIdentity is what tells a master's etcd member apart when its name
// differs from the node's (an FQDN against a short name, a cloud instance
// name): the ETCD_NAME and peer URLs of the master's etcd.conf, and the
// node's name and addresses.
type HostIdentity struct {
	Node      string
	EtcdName  string
	PeerURLs  []string
	Addresses []string
}

// HostMember finds a master's member: by its etcd.conf's ETCD_NAME, by its
// peer URLs, by the node's name, and last by the node's addresses when the
// peer URLs of exactly one member are on one of them. how says which matched.
func (c EtcdCluster) HostMember(h HostIdentity) (m EtcdMember, how string, ok bool) {
	if h.EtcdName != "" {
		if m, ok := c.Member(h.EtcdName); ok {
			return m, "ETCD_NAME " + h.EtcdName, true
		}
	}
	if len(h.PeerURLs) > 0 {
		if m, ok := c.MemberByPeerURL(h.PeerURLs); ok {
			return m, "peer URL " + firstOf(m.PeerURLs), true
		}
	}
	if m, ok := c.Member(h.Node); ok {
		return m, "node name", true
	}
	var found []EtcdMember
	for _, x := range c.Members {
		if slices.ContainsFunc(x.PeerURLs, func(u string) bool {
			p, err := url.Parse(u)
			return err == nil && slices.Contains(h.Addresses, p.Hostname())
		}) {
			found = append(found, x)
		}
	}
	if len(found) == 1 {
		return found[0], "node address in peer URL " + firstOf(found[0].PeerURLs), true
	}
	return EtcdMember{}, "", false
}

// NoSuchMember is the error for an ID that is not in the cluster; it lists
// the members there are, so a mistyped ID is easy to correct.
func (c EtcdCluster) NoSuchMember(id uint64) error {
	var have []string
	for _, m := range c.Members {
		have = append(have, m.IDHex()+" ("+m.DisplayName()+")")
	}
	return fmt.Errorf("no member %s in the cluster; the members are %s", FormatMemberID(id), strings.Join(have, ", "))
}

// AddCheck decides whether a member named name with peerURLs may join as a
// learner (seed 003 §5.4.4: "check the current etcd cluster status to avoid
// adding new hosts to an unhealthy cluster"; "make sure all unused etcd
// members are removed"): every voting member must be healthy, no other
// learner may be waiting (one at a time), and neither the name nor a peer
// URL may belong to another member. Its warnings say when the cluster
// tolerates no failure while it grows, and when the promotion will leave an
// even number of voting members.
func (c EtcdCluster) AddCheck(name string, peerURLs []string) (warnings []string, err error) {
	if name == "" || len(peerURLs) == 0 {
		return nil, fmt.Errorf("the new member needs a name and a peer URL")
	}
	voters := c.Voters()
	if voters == 0 {
		return nil, fmt.Errorf("no voting member answers")
	}
	var sick []string
	for _, m := range c.Members {
		switch {
		case m.Learner:
			return nil, fmt.Errorf("member %s (%s) is a learner already: promote or remove it first — add members one at a time", m.IDHex(), m.DisplayName())
		case !m.Healthy:
			sick = append(sick, m.DisplayName()+" ("+m.IDHex()+")")
		}
		if m.Name == name {
			return nil, fmt.Errorf("member %s is already named %s", m.IDHex(), name)
		}
		for _, u := range m.PeerURLs {
			if slices.Contains(peerURLs, u) {
				return nil, fmt.Errorf("member %s (%s) already has the peer URL %s", m.IDHex(), m.DisplayName(), u)
			}
		}
	}
	if len(sick) > 0 {
		return nil, fmt.Errorf("not every voting member is healthy (%s): bring them back or remove them before adding one", strings.Join(sick, ", "))
	}
	if c.FaultTolerance() < 1 {
		warnings = append(warnings, fmt.Sprintf("%d voting member(s) tolerate no failure: until %s is promoted and in sync, losing any member stops the cluster", voters, name))
	}
	if after := voters + 1; after%2 == 0 {
		warnings = append(warnings, fmt.Sprintf("after the promotion the cluster has %d voting members (quorum %d): an even count tolerates no more failures than %d — seed 003 §5.4.4: keep an odd number of members", after, QuorumSize(after), after-1))
	}
	return warnings, nil
}

// InitialCluster is the ETCD_INITIAL_CLUSTER a member joining now must
// start with, as `etcdctl member add` prints it: every member's name=peerURL,
// the new member (id, which has no name yet) under name. A member other
// than the new one that never started has no name to give.
func InitialCluster(members []EtcdMember, id uint64, name string) ([]InitialClusterEntry, error) {
	var out []InitialClusterEntry
	for _, m := range members {
		n := m.Name
		if m.ID == id {
			n = name
		}
		if n == "" {
			return nil, fmt.Errorf("member %s never started and has no name: remove it first", m.IDHex())
		}
		for _, u := range m.PeerURLs {
			out = append(out, InitialClusterEntry{Name: n, PeerURL: u})
		}
	}
	return out, nil
}

// LeaderTransferee is the member leadership should move to before the
// leader is removed or restarted: the healthy voting member, other than
// leader, with the newest applied raft index (then the lowest latency).
func (c EtcdCluster) LeaderTransferee(leader uint64) (EtcdMember, bool) {
	var best *EtcdMember
	for i := range c.Members {
		m := &c.Members[i]
		if m.ID == leader || m.Learner || !m.Healthy {
			continue
		}
		if best == nil || m.RaftAppliedIndex > best.RaftAppliedIndex ||
			(m.RaftAppliedIndex == best.RaftAppliedIndex && m.Latency < best.Latency) {
			best = m
		}
	}
	if best == nil {
		return EtcdMember{}, false
	}
	return *best, true
}

// LearnerProgress describes how far a learner is behind the leader, for
// the promote step: etcd promotes a learner only once its log has caught up
// with 90% of the leader's.
func (c EtcdCluster) LearnerProgress(id uint64) string {
	m, ok := c.MemberByID(id)
	if !ok {
		return "not listed"
	}
	l, ok := c.Leader()
	switch {
	case !m.Reached:
		return "not answering yet (" + m.Err + ")"
	case !ok || l.RaftIndex == 0:
		return fmt.Sprintf("raft index %d, leader unknown", m.RaftIndex)
	}
	return fmt.Sprintf("raft index %d of the leader's %d (%d%%; etcd promotes at 90%%)", m.RaftIndex, l.RaftIndex, m.RaftIndex*100/l.RaftIndex)
}
