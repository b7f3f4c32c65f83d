package model

import (
	"strings"
	"testing"
)

func members(spec ...string) []EtcdMember {
	// each spec: "h" healthy voter, "u" unhealthy voter, "l" healthy learner, "L" unhealthy learner
	var ms []EtcdMember
	for i, s := range spec {
		ms = append(ms, EtcdMember{ID: uint64(i + 1), Name: string(rune('a' + i)), Healthy: s == "h" || s == "l", Learner: s == "l" || s == "L"})
	}
	return ms
}

func TestQuorumMaths(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		spec                        []string
		voters, quorum, healthy, ft int
		state                       QuorumState
	}{
		{"empty", nil, 0, 1, 0, -1, QuorumUnknown},
		{"one healthy", []string{"h"}, 1, 1, 1, 0, QuorumHealthy},
		{"two healthy tolerates nothing", []string{"h", "h"}, 2, 2, 2, 0, QuorumHealthy},
		{"three healthy", []string{"h", "h", "h"}, 3, 2, 3, 1, QuorumHealthy},
		{"three, one down", []string{"h", "u", "h"}, 3, 2, 2, 0, QuorumDegraded},
		{"three, two down", []string{"u", "u", "h"}, 3, 2, 1, -1, QuorumLost},
		{"four healthy tolerates one", []string{"h", "h", "h", "h"}, 4, 3, 4, 1, QuorumHealthy},
		{"five, two down", []string{"h", "u", "h", "u", "h"}, 5, 3, 3, 0, QuorumDegraded},
		{"learner does not vote", []string{"h", "h", "h", "l"}, 3, 2, 3, 1, QuorumHealthy},
		{"unhealthy learner does not degrade", []string{"h", "h", "h", "L"}, 3, 2, 3, 1, QuorumHealthy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := EtcdCluster{Members: members(tc.spec...)}
			if got := c.Voters(); got != tc.voters {
				t.Errorf("Voters = %d, want %d", got, tc.voters)
			}
			if got := c.Quorum(); got != tc.quorum {
				t.Errorf("Quorum = %d, want %d", got, tc.quorum)
			}
			if got := c.HealthyVoters(); got != tc.healthy {
				t.Errorf("HealthyVoters = %d, want %d", got, tc.healthy)
			}
			if got := c.FaultTolerance(); got != tc.ft {
				t.Errorf("FaultTolerance = %d, want %d", got, tc.ft)
			}
			if got := c.State(); got != tc.state {
				t.Errorf("State = %v, want %v", got, tc.state)
			}
		})
	}
}

func TestBadge(t *testing.T) {
	for _, tc := range []struct {
		c    EtcdCluster
		want string
	}{
		{EtcdCluster{}, "etcd …"},
		{EtcdCluster{Err: "context deadline exceeded"}, "etcd unreachable"},
		{EtcdCluster{Members: members("h", "h", "h")}, "etcd 3/3 healthy · ft 1"},
		{EtcdCluster{Members: members("h", "u", "h")}, "etcd 2/3 degraded · ft 0"},
		{EtcdCluster{Members: members("u", "u", "h")}, "etcd NO QUORUM 1/3"},
	} {
		if got := tc.c.Badge(); got != tc.want {
			t.Errorf("Badge = %q, want %q", got, tc.want)
		}
	}
}

func TestLeaderIsMajorityView(t *testing.T) {
	ms := members("h", "h", "h")
	ms[0].Reached, ms[0].LeaderID = true, 2
	ms[1].Reached, ms[1].LeaderID = true, 2
	ms[2].Reached, ms[2].LeaderID = true, 3 // stale view
	l, ok := EtcdCluster{Members: ms}.Leader()
	if !ok || l.ID != 2 {
		t.Fatalf("Leader = %v %v, want member 2", l.ID, ok)
	}
	ms[0].Reached, ms[1].Reached, ms[2].Reached = false, false, false
	if _, ok := (EtcdCluster{Members: ms}).Leader(); ok {
		t.Fatal("no reached member should mean no known leader")
	}
}

func TestMemberIdentity(t *testing.T) {
	m := EtcdMember{ID: 0x8e9e05c52164694d}
	if m.IDHex() != "8e9e05c52164694d" {
		t.Errorf("IDHex = %s", m.IDHex())
	}
	if m.Started() || m.DisplayName() != "(unstarted)" {
		t.Errorf("member without name or client URLs must be unstarted")
	}
	ms := []EtcdMember{{ID: 9}, {ID: 3, Name: "m-b"}, {ID: 2, Name: "m-a"}}
	SortMembers(ms)
	if ms[0].Name != "m-a" || ms[1].Name != "m-b" || ms[2].ID != 9 {
		t.Errorf("SortMembers order = %+v", ms)
	}
}

func TestRemovalCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spec     []string
		remove   uint64
		allowTwo bool
		wantErr  string
	}{
		{"healthy five, remove one", []string{"h", "h", "h", "h", "h"}, 5, false, ""},
		{"three healthy to two needs the override", []string{"h", "h", "h"}, 3, false, "shrinks the cluster from 3 to 2"},
		{"three healthy to two with override", []string{"h", "h", "h"}, 3, true, ""},
		{"remove a healthy one while another is down", []string{"h", "u", "h"}, 3, true, "leaves 1 healthy voting members, and a 2-member cluster needs 2"},
		{"remove the dead one", []string{"h", "u", "h"}, 2, true, ""},
		{"four with one down, remove a healthy one", []string{"h", "h", "u", "h"}, 1, true, ""},
		{"two to one needs the override", []string{"h", "h"}, 2, false, "shrinks the cluster from 2 to 1"},
		{"learner is always removable", []string{"h", "u", "l"}, 3, false, ""},
		{"unknown member", []string{"h", "h", "h"}, 9, true, "no member 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := EtcdCluster{Members: members(tc.spec...)}
			_, err := c.RemovalCheck(tc.remove, tc.allowTwo)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
	c := EtcdCluster{Members: members("h", "h", "h", "h", "h")}
	for i := range c.Members {
		c.Members[i].Reached, c.Members[i].LeaderID = true, 1
	}
	if w, err := c.RemovalCheck(1, false); err != nil || len(w) != 1 || !strings.Contains(w[0], "is the leader") {
		t.Fatalf("removing the leader warns: %v %v", w, err)
	}
}

func TestMostLeaderChanges(t *testing.T) {
	c := EtcdCluster{Members: []EtcdMember{{LeaderChanges: -1}, {LeaderChanges: 0}, {LeaderChanges: 3}}}
	if n, ok := c.MostLeaderChanges(); !ok || n != 3 {
		t.Errorf("most = %d %v, want 3", n, ok)
	}
	c = EtcdCluster{Members: []EtcdMember{{LeaderChanges: -1}}}
	if _, ok := c.MostLeaderChanges(); ok {
		t.Error("no counter read: want not ok")
	}
}
