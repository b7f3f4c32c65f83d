package etcd

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

var cluster *localcluster.Cluster

func TestMain(m *testing.M) {
	os.Exit(localcluster.Main(m, localcluster.Options{}, func(c *localcluster.Cluster) { cluster = c }))
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	cfg, err := Discover(DiscoverOptions{HostRoot: cluster.HostRoot(0), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPoller(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// pollUntil polls until cond holds or the deadline passes, returning the last snapshot.
func pollUntil(t *testing.T, p *Poller, what string, cond func(model.EtcdCluster) bool) model.EtcdCluster {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		snap := p.Poll(context.Background())
		if cond(snap) {
			return snap
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: last snapshot %+v", what, snap)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func member(snap model.EtcdCluster, name string) model.EtcdMember {
	for _, m := range snap.Members {
		if m.Name == name {
			return m
		}
	}
	return model.EtcdMember{}
}

func TestPollHealthyCluster(t *testing.T) {
	p := newPoller(t)
	snap := pollUntil(t, p, "3 healthy members", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })
	if len(snap.Members) != 3 || snap.FaultTolerance() != 1 || snap.Quorum() != 2 {
		t.Fatalf("members=%d ft=%d quorum=%d", len(snap.Members), snap.FaultTolerance(), snap.Quorum())
	}
	if snap.Source != cluster.HostRoot(0)+"/etc/etcd/etcd.conf" {
		t.Errorf("source = %q", snap.Source)
	}
	leader, ok := snap.Leader()
	if !ok {
		t.Fatal("no leader")
	}
	for i, m := range cluster.Masters {
		got := member(snap, m.Name)
		if got.ClientURLs[0] != m.ClientURL || got.PeerURLs[0] != m.PeerURL {
			t.Errorf("member %d URLs %v %v, want %s %s", i, got.ClientURLs, got.PeerURLs, m.ClientURL, m.PeerURL)
		}
		if !got.Reached || got.Version == "" || got.DBSize == 0 || got.RaftIndex == 0 || got.LeaderID != leader.ID {
			t.Errorf("member %s status incomplete: %+v", m.Name, got)
		}
	}
}

func TestPollDeadMemberAndLostQuorum(t *testing.T) {
	p := newPoller(t)
	pollUntil(t, p, "healthy before", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })

	cluster.StopMember(1)
	t.Cleanup(func() { cluster.StartMember(1) })
	start := time.Now()
	snap := p.Poll(context.Background())
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a dead member stalled the poll for %v", took)
	}
	dead := member(snap, cluster.Masters[1].Name)
	if dead.Healthy || dead.Reached || dead.Err == "" {
		t.Errorf("killed member reported %+v", dead)
	}
	if snap.State() != model.QuorumDegraded || snap.FaultTolerance() != 0 {
		t.Errorf("one of three down: state %v ft %d", snap.State(), snap.FaultTolerance())
	}

	cluster.StopMember(2)
	t.Cleanup(func() { cluster.StartMember(2) })
	snap = pollUntil(t, p, "quorum lost", func(s model.EtcdCluster) bool { return s.State() == model.QuorumLost })
	if len(snap.Members) != 3 {
		t.Fatalf("without quorum the serializable member list must still name all 3, got %d (%s)", len(snap.Members), snap.Err)
	}
	survivor := member(snap, cluster.Masters[0].Name)
	if !survivor.Reached || survivor.Healthy {
		t.Errorf("survivor should answer status but fail health: %+v", survivor)
	}

	cluster.StartMember(1)
	cluster.StartMember(2)
	pollUntil(t, p, "healthy after restart", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })
}

func TestPollUnreachableEndpoints(t *testing.T) {
	p, err := NewPoller(Config{Endpoints: []string{"https://127.0.0.1:1"}, Source: "test"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	snap := p.Poll(context.Background())
	if snap.Err == "" || snap.State() != model.QuorumUnknown || snap.Badge() != "etcd unreachable" {
		t.Errorf("unreachable etcd: %+v badge %q", snap, snap.Badge())
	}
}

func TestLeaderChangesCounted(t *testing.T) {
	p := newPoller(t)
	snap := pollUntil(t, p, "a leader", func(c model.EtcdCluster) bool { _, ok := c.Leader(); return ok && c.State() == model.QuorumHealthy })
	if snap.LeaderChanges != 0 {
		t.Fatalf("changes %d before any change", snap.LeaderChanges)
	}
	old, _ := snap.Leader()
	// etcd's own counter, read from every member's /metrics.
	snap = pollUntil(t, p, "leader-change counters read", func(c model.EtcdCluster) bool {
		for _, m := range c.Members {
			if m.LeaderChanges < 1 { // each member saw at least the first election
				return false
			}
		}
		return true
	})
	before := map[string]int64{}
	for _, m := range snap.Members {
		before[m.Name] = m.LeaderChanges
	}
	victim := -1
	for i, m := range cluster.Masters {
		if m.Name == old.Name {
			victim = i
		}
	}
	cluster.StopMember(victim)
	t.Cleanup(func() { cluster.StartMember(victim) })
	snap = pollUntil(t, p, "a new leader", func(c model.EtcdCluster) bool { l, ok := c.Leader(); return ok && l.ID != old.ID })
	if snap.LeaderChanges != 1 {
		t.Errorf("changes %d after the leader was killed, want 1", snap.LeaderChanges)
	}
	pollUntil(t, p, "survivors' counters up", func(c model.EtcdCluster) bool {
		for _, m := range c.Members {
			if m.Name != old.Name && m.LeaderChanges <= before[m.Name] {
				return false
			}
		}
		return true
	})
	cluster.StartMember(victim)
	pollUntil(t, p, "member back", func(c model.EtcdCluster) bool { return c.State() == model.QuorumHealthy })
}
