package etcd

import (
	"context"
	"os"
	"strings"
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

func newPoller(t *testing.T) *Poller { return newPollerOn(t, cluster) }

// newPollerOn is a poller of cluster c, configured from master-0's host.
func newPollerOn(t *testing.T, c *localcluster.Cluster) *Poller {
	t.Helper()
	cfg, err := Discover(DiscoverOptions{HostRoot: c.HostRoot(0), Getenv: func(string) string { return "" }})
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

// TestEtcdVersions runs the poller and snapshot tests on a cluster of every
// etcd version the local cluster offers: the package's shared cluster for
// the default version, one started here for each other, shared by its
// subtests.
func TestEtcdVersions(t *testing.T) {
	for _, v := range localcluster.EtcdVersions {
		t.Run(v, func(t *testing.T) {
			begin := time.Now()
			c := cluster
			if v != cluster.EtcdVersion() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				var err error
				c, err = localcluster.Start(ctx, localcluster.Options{Workers: 1, EtcdVersion: v})
				cancel()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(c.Stop)
			}
			t.Run("PollHealthyCluster", func(t *testing.T) { testPollHealthyCluster(t, c) })
			t.Run("PollDeadMemberAndLostQuorum", func(t *testing.T) { testPollDeadMemberAndLostQuorum(t, c) })
			t.Run("SnapshotSaveVerifyRestore", func(t *testing.T) { testSnapshotSaveVerifyRestore(t, c) })
			t.Run("ProbeQuorum", func(t *testing.T) { testProbeQuorum(t, c) })
			t.Run("AddWayByVersion", func(t *testing.T) { testAddWayByVersion(t, c) })
			t.Logf("etcd %s: %s", v, time.Since(begin).Round(time.Second))
		})
	}
}

// The snapshot names the cluster's version, the lowest a member reports;
// what the version does not report stays zero (the pane shows "—").
func testPollHealthyCluster(t *testing.T, c *localcluster.Cluster) {
	p := newPollerOn(t, c)
	snap := pollUntil(t, p, "3 healthy members", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })
	if len(snap.Members) != 3 || snap.FaultTolerance() != 1 || snap.Quorum() != 2 {
		t.Fatalf("members=%d ft=%d quorum=%d", len(snap.Members), snap.FaultTolerance(), snap.Quorum())
	}
	if snap.Source != c.HostRoot(0)+"/etc/etcd/etcd.conf" {
		t.Errorf("source = %q", snap.Source)
	}
	leader, ok := snap.Leader()
	if !ok {
		t.Fatal("no leader")
	}
	for i, m := range c.Masters {
		got := member(snap, m.Name)
		if got.ClientURLs[0] != m.ClientURL || got.PeerURLs[0] != m.PeerURL {
			t.Errorf("member %d URLs %v %v, want %s %s", i, got.ClientURLs, got.PeerURLs, m.ClientURL, m.PeerURL)
		}
		if !got.Reached || got.Version == "" || got.DBSize == 0 || got.RaftIndex == 0 || got.LeaderID != leader.ID {
			t.Errorf("member %s status incomplete: %+v", m.Name, got)
		}
		if reports := got.RaftAppliedIndex != 0 && got.DBSizeInUse != 0; reports != model.ReportsAppliedIndex(got.Version) {
			t.Errorf("member %s on %s: applied index %d, in use %d", m.Name, got.Version, got.RaftAppliedIndex, got.DBSizeInUse)
		}
	}
	if !strings.HasPrefix(snap.Version, c.EtcdVersion()+".") || model.SupportsLearners(snap.Version) != (c.EtcdVersion() != "3.3") {
		t.Errorf("cluster version %q on an etcd %s cluster", snap.Version, c.EtcdVersion())
	}
	db, err := p.MemberDB(context.Background(), member(snap, c.Masters[0].Name))
	if err != nil || (db.Quota > 0) != model.ReportsQuota(snap.Version) {
		t.Errorf("quota reported on %s: %+v %v", snap.Version, db, err)
	}
}

func testPollDeadMemberAndLostQuorum(t *testing.T, c *localcluster.Cluster) {
	p := newPollerOn(t, c)
	pollUntil(t, p, "healthy before", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })

	c.StopMember(1)
	t.Cleanup(func() { c.StartMember(1) })
	start := time.Now()
	snap := p.Poll(context.Background())
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a dead member stalled the poll for %v", took)
	}
	dead := member(snap, c.Masters[1].Name)
	if dead.Healthy || dead.Reached || dead.Err == "" {
		t.Errorf("killed member reported %+v", dead)
	}
	// Had it led, the others elect a leader first (etcd 3.3 has no
	// pre-vote by default), and serve no linearizable read meanwhile.
	snap = pollUntil(t, p, "degraded", func(s model.EtcdCluster) bool { return s.State() != model.QuorumLost })
	if snap.State() != model.QuorumDegraded || snap.FaultTolerance() != 0 {
		t.Errorf("one of three down: state %v ft %d", snap.State(), snap.FaultTolerance())
	}

	c.StopMember(2)
	t.Cleanup(func() { c.StartMember(2) })
	snap = pollUntil(t, p, "quorum lost", func(s model.EtcdCluster) bool { return s.State() == model.QuorumLost })
	if len(snap.Members) != 3 {
		t.Fatalf("without quorum the serializable member list must still name all 3, got %d (%s)", len(snap.Members), snap.Err)
	}
	survivor := member(snap, c.Masters[0].Name)
	if !survivor.Reached || survivor.Healthy {
		t.Errorf("survivor should answer status but fail health: %+v", survivor)
	}

	c.StartMember(1)
	c.StartMember(2)
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

// The adapter's own guards: below 3.4 no learner is ever requested (etcd
// 3.3 would add a voter), from 3.4 no voter is added directly. Both are
// refused before any call, and the membership stays as it was.
func testAddWayByVersion(t *testing.T, c *localcluster.Cluster) {
	p := newPollerOn(t, c)
	snap := pollUntil(t, p, "healthy", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })
	peer := []string{"https://127.0.0.1:1"}
	var err error
	want := "has no learners"
	if model.SupportsLearners(snap.Version) {
		_, _, err = p.AddVoter(context.Background(), "never", peer, true, true)
		want = "has learners"
	} else {
		_, _, _, err = p.AddLearner(context.Background(), "never", peer)
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("etcd %s: %v, want a refusal saying %q", snap.Version, err, want)
	}
	if after := p.Poll(context.Background()); len(after.Members) != len(snap.Members) {
		t.Errorf("the membership changed: %d members, was %d", len(after.Members), len(snap.Members))
	}
}
