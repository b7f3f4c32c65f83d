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
// members are removed"): the cluster must have learners (etcd 3.4+), every
// voting member must be healthy, no other learner may be waiting (one at a
// time), and neither the name nor a peer URL may belong to another member.
// Its warnings say when the cluster tolerates no failure while it grows,
// and when the promotion will leave an even number of voting members.
func (c EtcdCluster) AddCheck(name string, peerURLs []string) (warnings []string, err error) {
	if !SupportsLearners(c.Version) {
		return nil, c.noLearners()
	}
	if err := c.joinCheck(name, peerURLs); err != nil {
		return nil, err
	}
	voters := c.Voters()
	if c.FaultTolerance() < 1 {
		warnings = append(warnings, fmt.Sprintf("%d voting member(s) tolerate no failure: until %s is promoted and in sync, losing any member stops the cluster", voters, name))
	}
	if after := voters + 1; after%2 == 0 {
		warnings = append(warnings, fmt.Sprintf("after the promotion the cluster has %d voting members (quorum %d): an even count tolerates no more failures than %d — seed 003 §5.4.4: keep an odd number of members", after, QuorumSize(after), after-1))
	}
	return warnings, nil
}

// noLearners is why no learner may be asked for: the version is unknown
// (nothing is guessed) or older than 3.4.
func (c EtcdCluster) noLearners() error {
	if c.Version == "" {
		return fmt.Errorf("no member reported its etcd version: learners exist only from etcd 3.4, and day2 does not guess")
	}
	return fmt.Errorf("etcd %s has no learners (they exist from 3.4): etcd 3.3 takes `member add --learner` as a voter add", c.Version)
}

// joinCheck is what any add requires: a name and peer URL of its own and
// every voting member healthy, no learner waiting.
func (c EtcdCluster) joinCheck(name string, peerURLs []string) error {
	if name == "" || len(peerURLs) == 0 {
		return fmt.Errorf("the new member needs a name and a peer URL")
	}
	if c.Voters() == 0 {
		return fmt.Errorf("no voting member answers")
	}
	var sick []string
	for _, m := range c.Members {
		switch {
		case m.Learner:
			return fmt.Errorf("member %s (%s) is a learner already: promote or remove it first — add members one at a time", m.IDHex(), m.DisplayName())
		case !m.Healthy:
			sick = append(sick, m.DisplayName()+" ("+m.IDHex()+")")
		}
		if m.Name == name {
			return fmt.Errorf("member %s is already named %s", m.IDHex(), name)
		}
		for _, u := range m.PeerURLs {
			if slices.Contains(peerURLs, u) {
				return fmt.Errorf("member %s (%s) already has the peer URL %s", m.IDHex(), m.DisplayName(), u)
			}
		}
	}
	if len(sick) > 0 {
		return fmt.Errorf("not every voting member is healthy (%s): bring them back or remove them before adding one", strings.Join(sick, ", "))
	}
	return nil
}

// VoterAdd is the quorum arithmetic of adding a voting member directly
// (etcd before 3.4, seed 003 §5.4.4.2: `member add`, then start it at
// once): the quorum grows the moment etcd accepts the add, while the new
// member counts as down until it has started and caught up.
type VoterAdd struct {
	Voters, QuorumBefore, QuorumAfter int
	// ToleranceWhileJoining is how many of the existing members may fail
	// until the new member is healthy; negative: none may, and the cluster
	// has no quorum at all until the new member runs.
	ToleranceWhileJoining int
}

// Words say, for the plan, what the add does to the quorum.
func (v VoterAdd) Words(name string) []string {
	out := []string{fmt.Sprintf("the quorum grows at once from %d of %d to %d of %d: %s counts as a voter from the moment etcd accepts the add, and as down until it has started and caught up",
		v.QuorumBefore, v.Voters, v.QuorumAfter, v.Voters+1, name)}
	if v.ToleranceWhileJoining < 0 {
		return append(out, fmt.Sprintf("until %s is healthy the cluster has NO quorum: writes stop, and should it fail to start the cluster stays down until it does (or is rebuilt from a snapshot)", name))
	}
	return append(out, fmt.Sprintf("until %s is healthy the cluster tolerates %d failure(s) (%d now)", name, v.ToleranceWhileJoining, v.Voters-v.QuorumBefore))
}

// VoterAddCheck decides whether a member may join as a voter (the only
// way before etcd 3.4): the cluster must be older than 3.4 (a newer one
// adds a learner), pass joinCheck, and keep its quorum should the new
// member fail to start. From one member that is impossible (two voters
// need both), so it is refused unless day2 starts the new member itself
// right after the add (startsItself: its host's files are here) and the
// operator allowed it (allowOne, a typed override) — the guide's own way of
// growing a restored single member back on 3.3 (seed 003 §5.4.2.2).
func (c EtcdCluster) VoterAddCheck(name string, peerURLs []string, startsItself, allowOne bool) (VoterAdd, error) {
	if c.Version == "" {
		return VoterAdd{}, c.noLearners()
	}
	if SupportsLearners(c.Version) {
		return VoterAdd{}, fmt.Errorf("etcd %s has learners: the member joins as a learner, never directly as a voter", c.Version)
	}
	if err := c.joinCheck(name, peerURLs); err != nil {
		return VoterAdd{}, err
	}
	v := c.Voters()
	add := VoterAdd{Voters: v, QuorumBefore: QuorumSize(v), QuorumAfter: QuorumSize(v + 1)}
	add.ToleranceWhileJoining = v - add.QuorumAfter
	if add.ToleranceWhileJoining < 0 {
		switch {
		case !startsItself:
			return add, fmt.Errorf("adding a voter to %d member(s) needs %d of %d for quorum: the cluster stops until %s runs. Refused unless day2 starts it itself right after the add (give its host root, --member-root)", v, add.QuorumAfter, v+1, name)
		case !allowOne:
			return add, fmt.Errorf("adding a voter to %d member(s) needs %d of %d for quorum: the cluster stops until %s runs, and stays down should it fail to start. day2 starts it at once; allow it explicitly (allow-single-voter-add) to go on", v, add.QuorumAfter, v+1, name)
		}
	}
	return add, nil
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
