package model

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// EtcdMember is one member of the etcd cluster: its membership record plus
// what its own endpoint answered to the status and health probes.
type EtcdMember struct {
	ID         uint64
	Name       string
	PeerURLs   []string
	ClientURLs []string
	Learner    bool

	// Reached is true when the member's own endpoint answered the status call.
	Reached bool
	// Healthy is true when a linearizable read through this member succeeded
	// (what `etcdctl endpoint health` checks) and it raised no alarm.
	Healthy bool
	// Err says why the member is not healthy (timeout, refused, alarm...).
	Err     string
	Latency time.Duration

	Version          string
	DBSize           int64
	DBSizeInUse      int64
	RaftTerm         uint64
	RaftIndex        uint64
	RaftAppliedIndex uint64
	// LeaderID is the leader this member reports.
	LeaderID uint64
	// LeaderChanges is etcd_server_leader_changes_seen_total: the leader
	// changes this member has seen since it started; -1 when not read.
	LeaderChanges int64
	Alarms        []string
}

// IDHex is the member ID as etcdctl prints it and as `member remove` takes it.
func (m EtcdMember) IDHex() string { return FormatMemberID(m.ID) }

// FormatMemberID renders a member ID in etcdctl's hex form.
func FormatMemberID(id uint64) string { return fmt.Sprintf("%x", id) }

// Started reports whether the member has ever joined: etcd lists a member
// that was added but never started with an empty name and no client URLs.
func (m EtcdMember) Started() bool { return m.Name != "" || len(m.ClientURLs) > 0 }

// DisplayName is the member name, or "(unstarted)" for a member that never joined.
func (m EtcdMember) DisplayName() string {
	if !m.Started() {
		return "(unstarted)"
	}
	return m.Name
}

// QuorumState classifies the cluster for the header badge and the pane banner.
type QuorumState int

const (
	// QuorumUnknown: nothing has been learned yet, or no member could be listed.
	QuorumUnknown QuorumState = iota
	// QuorumHealthy: every voting member is healthy.
	QuorumHealthy
	// QuorumDegraded: quorum holds but some voting member is unhealthy.
	QuorumDegraded
	// QuorumLost: fewer healthy voters than the quorum size.
	QuorumLost
)

func (s QuorumState) String() string {
	switch s {
	case QuorumHealthy:
		return "healthy"
	case QuorumDegraded:
		return "degraded"
	case QuorumLost:
		return "NO QUORUM"
	default:
		return "unknown"
	}
}

// EtcdCluster is an immutable snapshot of the etcd cluster.
type EtcdCluster struct {
	Members   []EtcdMember
	ClusterID uint64
	// Source says where the endpoints and certificates came from
	// (flags, ETCDCTL_* environment, /etc/etcd/etcd.conf ...).
	Source    string
	Endpoints []string
	// Err is set when the member list itself could not be read.
	Err      string
	PolledAt time.Time
	// LeaderChanges counts the leader changes the poller has seen since it
	// started (a flapping leader means slow disks or a loaded network).
	LeaderChanges int
	// Version is the cluster's etcd version: the lowest a member reported
	// (LowestVersion); "" when no member answered.
	Version string
}

// MostLeaderChanges is the highest leader-change counter among the members
// (each counts since it started); ok is false when none was read.
func (c EtcdCluster) MostLeaderChanges() (n int64, ok bool) {
	for _, m := range c.Members {
		if m.LeaderChanges >= 0 && (!ok || m.LeaderChanges > n) {
			n, ok = m.LeaderChanges, true
		}
	}
	return n, ok
}

// QuorumSize is the number of voting members that must agree: ⌊n/2⌋+1.
func QuorumSize(voters int) int { return voters/2 + 1 }

// Voters counts the members that vote (learners do not).
func (c EtcdCluster) Voters() int {
	n := 0
	for _, m := range c.Members {
		if !m.Learner {
			n++
		}
	}
	return n
}

// HealthyVoters counts the voting members whose health probe passed.
func (c EtcdCluster) HealthyVoters() int {
	n := 0
	for _, m := range c.Members {
		if !m.Learner && m.Healthy {
			n++
		}
	}
	return n
}

// Quorum is the quorum size of the current voting membership.
func (c EtcdCluster) Quorum() int { return QuorumSize(c.Voters()) }

// FaultTolerance is how many more voting members may fail before quorum is
// lost; negative when quorum is already lost.
func (c EtcdCluster) FaultTolerance() int { return c.HealthyVoters() - c.Quorum() }

// State classifies the snapshot.
func (c EtcdCluster) State() QuorumState {
	voters := c.Voters()
	switch {
	case voters == 0:
		return QuorumUnknown
	case c.HealthyVoters() < QuorumSize(voters):
		return QuorumLost
	case c.HealthyVoters() < voters:
		return QuorumDegraded
	default:
		return QuorumHealthy
	}
}

// Leader is the member most reached members name as leader, if any.
func (c EtcdCluster) Leader() (EtcdMember, bool) {
	votes := map[uint64]int{}
	for _, m := range c.Members {
		if m.Reached && m.LeaderID != 0 {
			votes[m.LeaderID]++
		}
	}
	var best uint64
	for id, n := range votes {
		if n > votes[best] || (n == votes[best] && id < best) {
			best = id
		}
	}
	for _, m := range c.Members {
		if m.ID == best && best != 0 {
			return m, true
		}
	}
	return EtcdMember{}, false
}

// Badge is the short quorum summary for the header, e.g.
// "etcd 3/3 healthy · ft 1" or "etcd NO QUORUM 1/3".
func (c EtcdCluster) Badge() string {
	voters := c.Voters()
	if voters == 0 {
		if c.Err != "" {
			return "etcd unreachable"
		}
		return "etcd …"
	}
	state := c.State()
	if state == QuorumLost {
		return fmt.Sprintf("etcd NO QUORUM %d/%d", c.HealthyVoters(), voters)
	}
	return fmt.Sprintf("etcd %d/%d %s · ft %d", c.HealthyVoters(), voters, state, c.FaultTolerance())
}

// SortMembers orders members by name, unstarted ones last, then by ID, so
// rows do not jump between polls.
func SortMembers(ms []EtcdMember) {
	sort.SliceStable(ms, func(i, j int) bool {
		a, b := ms[i], ms[j]
		if a.Started() != b.Started() {
			return a.Started()
		}
		if a.Name != b.Name {
			return strings.Compare(a.Name, b.Name) < 0
		}
		return a.ID < b.ID
	})
}

// RemovalCheck decides whether member id may be removed (seed 003
// §5.2.1.4, §5.4.5): it must exist; the healthy voters left must still
// make a quorum of the smaller cluster; and a cluster is never shrunk to or
// from two members unless allowTwo (a typed override), since two members
// tolerate no failure at all. Removing the leader is allowed with a warning
// (etcd elects another, with a short pause in writes).
func (c EtcdCluster) RemovalCheck(id uint64, allowTwo bool) (warnings []string, err error) {
	var target *EtcdMember
	for i := range c.Members {
		if c.Members[i].ID == id {
			target = &c.Members[i]
		}
	}
	if target == nil {
		return nil, fmt.Errorf("no member %s in the cluster", FormatMemberID(id))
	}
	if target.Learner {
		return nil, nil // a learner does not vote: removing it never costs quorum
	}
	voters := c.Voters()
	healthyAfter := c.HealthyVoters()
	if target.Healthy {
		healthyAfter--
	}
	if need := QuorumSize(voters - 1); healthyAfter < need {
		return nil, fmt.Errorf("removing %s (%s) leaves %d healthy voting members, and a %d-member cluster needs %d: bring the unhealthy members back first",
			target.DisplayName(), target.IDHex(), healthyAfter, voters-1, need)
	}
	if (voters == 2 || voters-1 == 2) && !allowTwo {
		return nil, fmt.Errorf("removing %s shrinks the cluster from %d to %d members; a two-member cluster tolerates no failure — allow it explicitly to go on",
			target.DisplayName(), voters, voters-1)
	}
	if l, ok := c.Leader(); ok && l.ID == id {
		warnings = append(warnings, fmt.Sprintf("%s is the leader: the others elect a new one, writes pause for about an election timeout", target.DisplayName()))
	}
	return warnings, nil
}

// Member finds a member by name.
func (c EtcdCluster) Member(name string) (EtcdMember, bool) {
	for _, m := range c.Members {
		if m.Name == name {
			return m, true
		}
	}
	return EtcdMember{}, false
}
