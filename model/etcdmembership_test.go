package model

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMemberID(t *testing.T) {
	for in, want := range map[string]uint64{"8e9e05c52164694d": 0x8e9e05c52164694d, "0x2A": 42, " ABC ": 0xabc} {
		if got, err := ParseMemberID(in); err != nil || got != want {
			t.Errorf("ParseMemberID(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "master-0.example.com", "12345678901234567"} {
		if _, err := ParseMemberID(in); err == nil || !strings.Contains(err.Error(), "not an etcd member ID") {
			t.Errorf("ParseMemberID(%q) = %v, want a clear error", in, err)
		}
	}
}

func withPeers(ms []EtcdMember) []EtcdMember {
	for i := range ms {
		ms[i].PeerURLs = []string{"https://" + ms[i].Name + ":2380"}
	}
	return ms
}

// A master's member is found although its name is not the node's: by
// ETCD_NAME, by peer URL, by node name, by a node address only when one
// member is on it.
func TestHostMember(t *testing.T) {
	c := EtcdCluster{Members: []EtcdMember{
		{ID: 1, Name: "master-0.ec2.internal", PeerURLs: []string{"https://10.0.0.1:2380"}},
		{ID: 2, Name: "ip-10-0-0-2", PeerURLs: []string{"https://10.0.0.2:2380"}},
		{ID: 3, Name: "master-2", PeerURLs: []string{"https://10.0.0.3:2380"}},
		{ID: 4, Name: "", PeerURLs: []string{"https://10.0.0.3:12380"}}, // unstarted, same host as master-2
	}}
	for _, tc := range []struct {
		h       HostIdentity
		id      uint64
		how     string
		notHere bool
	}{
		{h: HostIdentity{Node: "master-0", EtcdName: "master-0.ec2.internal"}, id: 1, how: "ETCD_NAME"},
		{h: HostIdentity{Node: "master-1.example.com", EtcdName: "master-1", PeerURLs: []string{"https://10.0.0.2:2380"}}, id: 2, how: "peer URL"},
		{h: HostIdentity{Node: "master-2"}, id: 3, how: "node name"},
		{h: HostIdentity{Node: "master-1.example.com", Addresses: []string{"10.0.0.2", "master-1"}}, id: 2, how: "node address"},
		{h: HostIdentity{Node: "master-2.example.com", Addresses: []string{"10.0.0.3"}}, notHere: true}, // two members there
		{h: HostIdentity{Node: "master-9", EtcdName: "master-9", Addresses: []string{"10.0.0.9"}}, notHere: true},
	} {
		m, how, ok := c.HostMember(tc.h)
		if ok == tc.notHere || (ok && (m.ID != tc.id || !strings.HasPrefix(how, tc.how))) {
			t.Errorf("HostMember(%+v) = %d by %q, %v", tc.h, m.ID, how, ok)
		}
	}
}

func TestAddCheck(t *testing.T) {
	for _, tc := range []struct {
		name      string
		spec      []string
		newName   string
		peer      string
		err       string
		warnings  int
		wantEven  bool
		wantNoTol bool
	}{
		{"three healthy: the fourth makes an even count", []string{"h", "h", "h"}, "d", "https://d:2380", "", 1, true, false},
		{"four healthy: the fifth is odd", []string{"h", "h", "h", "h"}, "e", "https://e:2380", "", 0, false, false},
		{"two healthy after a failed member was removed", []string{"h", "h"}, "c", "https://c:2380", "", 1, false, true},
		{"one member grows back (after a restore)", []string{"h"}, "b", "https://b:2380", "", 2, true, true},
		{"a voting member is down", []string{"h", "u", "h"}, "d", "https://d:2380", "not every voting member is healthy (b (2))", 0, false, false},
		{"one learner at a time", []string{"h", "h", "h", "l"}, "e", "https://e:2380", "is a learner already", 0, false, false},
		{"name taken", []string{"h", "h", "h"}, "b", "https://x:2380", "already named b", 0, false, false},
		{"peer URL taken", []string{"h", "h", "h"}, "x", "https://c:2380", "already has the peer URL https://c:2380", 0, false, false},
		{"nothing answers", []string{"u", "u", "u"}, "d", "https://d:2380", "not every voting member is healthy", 0, false, false},
		{"no name", []string{"h"}, "", "https://d:2380", "needs a name", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := EtcdCluster{Members: withPeers(members(tc.spec...)), Version: "3.5.21"}
			w, err := c.AddCheck(tc.newName, []string{tc.peer})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(w) != tc.warnings {
				t.Fatalf("warnings %q, err %v; want %d warnings", w, err, tc.warnings)
			}
			all := strings.Join(w, "\n")
			if got := strings.Contains(all, "even count"); got != tc.wantEven {
				t.Errorf("even-count warning %v, want %v: %q", got, tc.wantEven, w)
			}
			if got := strings.Contains(all, "tolerate no failure"); got != tc.wantNoTol {
				t.Errorf("no-tolerance warning %v, want %v: %q", got, tc.wantNoTol, w)
			}
		})
	}
}

func TestInitialCluster(t *testing.T) {
	ms := withPeers(members("h", "h"))
	ms = append(ms, EtcdMember{ID: 7, PeerURLs: []string{"https://new:2380"}, Learner: true}) // just added: no name yet
	got, err := InitialCluster(ms, 7, "new")
	want := []InitialClusterEntry{{"a", "https://a:2380"}, {"b", "https://b:2380"}, {"new", "https://new:2380"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("InitialCluster = %v, %v", got, err)
	}
	if FormatInitialCluster(got) != "a=https://a:2380,b=https://b:2380,new=https://new:2380" {
		t.Errorf("format: %s", FormatInitialCluster(got))
	}
	// Another member that never started cannot be named.
	ms = append(ms, EtcdMember{ID: 9, PeerURLs: []string{"https://ghost:2380"}})
	if _, err := InitialCluster(ms, 7, "new"); err == nil || !strings.Contains(err.Error(), "never started") {
		t.Fatalf("err = %v", err)
	}
}

func TestLeaderTransferee(t *testing.T) {
	ms := members("h", "h", "h", "u", "l")
	ms[1].RaftAppliedIndex, ms[1].Latency = 100, 5*time.Millisecond
	ms[2].RaftAppliedIndex, ms[2].Latency = 100, 2*time.Millisecond
	ms[3].RaftAppliedIndex = 500 // unhealthy: never
	ms[4].RaftAppliedIndex = 900 // learner: never
	c := EtcdCluster{Members: ms}
	if m, ok := c.LeaderTransferee(1); !ok || m.Name != "c" {
		t.Fatalf("transferee = %v %v, want c (same index, lower latency)", m.Name, ok)
	}
	ms[1].RaftAppliedIndex = 101
	if m, _ := c.LeaderTransferee(1); m.Name != "b" {
		t.Fatalf("transferee = %v, want b (newest applied index)", m.Name)
	}
	if _, ok := (EtcdCluster{Members: members("h", "u")}).LeaderTransferee(1); ok {
		t.Fatal("no healthy voter but the leader: nowhere to move")
	}
}

func TestLearnerProgress(t *testing.T) {
	ms := members("h", "h", "l")
	for i := range ms {
		ms[i].Reached, ms[i].LeaderID = true, 1
	}
	ms[0].RaftIndex, ms[2].RaftIndex = 1000, 450
	c := EtcdCluster{Members: ms}
	if got := c.LearnerProgress(3); got != "raft index 450 of the leader's 1000 (45%; etcd promotes at 90%)" {
		t.Errorf("progress = %q", got)
	}
	ms[2].Reached, ms[2].Err = false, "connection refused"
	if got := c.LearnerProgress(3); !strings.Contains(got, "not answering yet (connection refused)") {
		t.Errorf("progress = %q", got)
	}
	if got := c.LearnerProgress(42); got != "not listed" {
		t.Errorf("progress = %q", got)
	}
}

func TestNoSuchMemberListsTheMembers(t *testing.T) {
	c := EtcdCluster{Members: members("h", "h")}
	err := c.NoSuchMember(0xbad)
	if err == nil || err.Error() != "no member bad in the cluster; the members are 1 (a), 2 (b)" {
		t.Fatalf("err = %v", err)
	}
}

// No learner is ever asked of a cluster that has none or whose version is
// unknown: etcd 3.3 takes a learner add as a voter add.
func TestAddCheckNeedsLearners(t *testing.T) {
	for v, want := range map[string]string{"3.3.27": "etcd 3.3.27 has no learners", "": "no member reported its etcd version", "garbage": "has no learners"} {
		c := EtcdCluster{Members: withPeers(members("h", "h", "h")), Version: v}
		if _, err := c.AddCheck("d", []string{"https://d:2380"}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("version %q: err = %v, want %q", v, err, want)
		}
	}
}

func TestVoterAddCheck(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		version                string
		spec                   []string
		startsItself, allowOne bool
		err                    string
		quorumAfter, tolerance int
	}{
		{"three healthy on 3.3", "3.3.27", []string{"h", "h", "h"}, false, false, "", 3, 0},
		{"two healthy on 3.3", "3.3.27", []string{"h", "h"}, false, false, "", 2, 0},
		{"four healthy on 3.2", "3.2.28", []string{"h", "h", "h", "h"}, false, false, "", 3, 1},
		{"one member, started by hand", "3.3.27", []string{"h"}, false, true, "Refused unless day2 starts it itself", 2, -1},
		{"one member, started by day2, not allowed", "3.3.27", []string{"h"}, true, false, "allow it explicitly", 2, -1},
		{"one member, started by day2, allowed", "3.3.27", []string{"h"}, true, true, "", 2, -1},
		{"a voter is down", "3.3.27", []string{"h", "u", "h"}, true, true, "not every voting member is healthy", 0, 0},
		{"version unknown", "", []string{"h", "h", "h"}, true, true, "no member reported its etcd version", 0, 0},
		{"3.4 has learners", "3.4.0", []string{"h", "h", "h"}, true, true, "has learners", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := EtcdCluster{Members: withPeers(members(tc.spec...)), Version: tc.version}
			add, err := c.VoterAddCheck("z", []string{"https://z:2380"}, tc.startsItself, tc.allowOne)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || add.QuorumAfter != tc.quorumAfter || add.ToleranceWhileJoining != tc.tolerance {
				t.Fatalf("%+v, %v; want quorum %d, tolerance %d", add, err, tc.quorumAfter, tc.tolerance)
			}
			words := strings.Join(add.Words("z"), "\n")
			if !strings.Contains(words, "the quorum grows at once") || (tc.tolerance < 0) != strings.Contains(words, "NO quorum") {
				t.Errorf("plan words: %s", words)
			}
		})
	}
}

func TestEtcdVersions(t *testing.T) {
	for v, want := range map[string][4]bool{
		"3.3.27": {false, false, false, false}, "3.4.0": {true, true, true, false}, "3.5.21": {true, true, true, false},
		"3.6.5": {true, true, true, true}, "": {false, false, false, false}, "4.0.0": {true, true, true, true},
	} {
		got := [4]bool{SupportsLearners(v), ReportsAppliedIndex(v), ReportsDBSizeInUse(v), ReportsQuota(v)}
		if got != want {
			t.Errorf("%q: learners, applied, in use, quota = %v, want %v", v, got, want)
		}
	}
	ms := []EtcdMember{{Version: "3.5.21", Reached: true}, {Version: "3.3.27", Reached: true}, {Version: "3.3.9", Reached: false}, {Version: "3.10.0", Reached: true}}
	if got := LowestVersion(ms); got != "3.3.27" {
		t.Errorf("LowestVersion = %q (an unreached member does not count; 3.10 > 3.5)", got)
	}
	if got := LowestVersion([]EtcdMember{{Reached: false}}); got != "" {
		t.Errorf("nothing answered: %q", got)
	}
}
