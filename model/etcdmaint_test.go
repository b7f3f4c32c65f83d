package model

import (
	"strings"
	"testing"
)

func led(ms []EtcdMember, leader uint64) []EtcdMember {
	for i := range ms {
		ms[i].Reached, ms[i].LeaderID = true, leader
	}
	return ms
}

func names(ms []EtcdMember) string {
	var n []string
	for _, m := range ms {
		n = append(n, m.Name)
	}
	return strings.Join(n, ",")
}

func TestDefragOrder(t *testing.T) {
	noSpace := func(ms []EtcdMember, i int) []EtcdMember {
		ms[i].Healthy, ms[i].Alarms, ms[i].Err = false, []string{AlarmNoSpace}, "alarm: [NOSPACE]"
		return ms
	}
	corrupt := func(ms []EtcdMember, i int) []EtcdMember {
		ms[i].Healthy, ms[i].Alarms, ms[i].Err = false, []string{AlarmCorrupt}, "alarm: [CORRUPT]"
		return ms
	}
	for _, tc := range []struct {
		name     string
		members  []EtcdMember
		order    string
		skipped  int
		err      string
		leaderID uint64
	}{
		{"leader last", led(members("h", "h", "h"), 1), "b,c,a", 0, "", 1},
		{"learner skipped", led(members("h", "h", "h", "L"), 2), "a,c,b", 1, "", 2},
		{"a voter down refuses", led(members("h", "u", "h"), 1), "", 0, "every voting member must be healthy", 1},
		{"NOSPACE is what defrag cures", noSpace(led(members("h", "h", "h"), 3), 0), "a,b,c", 0, "", 3},
		{"CORRUPT needs investigation", corrupt(led(members("h", "h", "h"), 1), 2), "", 0, "CORRUPT: the members' data differ: needs investigation", 1},
		{"no leader known", members("h", "h", "h"), "", 0, "no leader", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order, skipped, err := EtcdCluster{Members: tc.members}.DefragOrder()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || names(order) != tc.order || len(skipped) != tc.skipped {
				t.Fatalf("order %s skipped %q err %v; want %s, %d skipped", names(order), skipped, err, tc.order, tc.skipped)
			}
		})
	}
}

func TestAlarmsAndDisarm(t *testing.T) {
	ms := members("h", "h")
	ms[0].Alarms = []string{AlarmNoSpace}
	ms[1].Alarms = []string{AlarmCorrupt}
	as := EtcdCluster{Members: ms}.Alarms()
	if len(as) != 2 || as[0].Member != "a" || !strings.Contains(as[0].Advice(), "etcd-defrag") || !strings.Contains(as[1].Advice(), "never disarms") {
		t.Fatalf("alarms %+v", as)
	}
	for _, tc := range []struct {
		size, quota int64
		err         string
	}{
		{100, 200, ""},
		{200, 200, "not under its quota of 200 B"},
		{300, 200, "not under"},
		{1, 0, "quota unknown"},
	} {
		err := DisarmNoSpaceCheck("m", tc.size, tc.quota)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("DisarmNoSpaceCheck(%d, %d) = %v, want %q", tc.size, tc.quota, err, tc.err)
		}
	}
}

func TestServing(t *testing.T) {
	for _, tc := range []struct {
		m    EtcdMember
		want bool
	}{
		{EtcdMember{Healthy: true}, true},
		{EtcdMember{Reached: true, Alarms: []string{AlarmNoSpace}, Err: "alarm: [NOSPACE]"}, true},
		{EtcdMember{Reached: true, Alarms: []string{AlarmNoSpace, AlarmCorrupt}, Err: "alarm: [NOSPACE CORRUPT]"}, false},
		{EtcdMember{Reached: true, Err: "health: timed out"}, false},
		{EtcdMember{Alarms: []string{AlarmNoSpace}, Err: "status: connection refused"}, false},
	} {
		if got := tc.m.Serving(); got != tc.want {
			t.Errorf("%+v: Serving = %v", tc.m, got)
		}
	}
}

// Before 3.6 a member does not report its quota: it comes from its host's
// configuration, in the forms openshift-ansible (etcd.conf) and
// cluster-etcd-operator (etcd-pod.yaml's env) write, else the default.
func TestQuotaOf(t *testing.T) {
	pod := []byte("    env:\n    - name: \"ETCD_QUOTA_BACKEND_BYTES\"\n      value: \"8589934592\"\n")
	flag := []byte("      exec etcd \\\n        --quota-backend-bytes=6442450944 \\\n")
	for _, tc := range []struct {
		name     string
		reported int64
		env      map[string]string
		manifest []byte
		want     int64
		source   string
	}{
		{"reported by 3.6", 4 << 30, map[string]string{"ETCD_QUOTA_BACKEND_BYTES": "1"}, nil, 4 << 30, "reported"},
		{"etcd.conf", 0, map[string]string{"ETCD_QUOTA_BACKEND_BYTES": "4294967296"}, pod, 4294967296, "etcd.conf"},
		{"operator pod env", 0, map[string]string{}, pod, 8589934592, "static pod"},
		{"pod flag", 0, nil, flag, 6442450944, "static pod"},
		{"configured 0 is the default", 0, map[string]string{"ETCD_QUOTA_BACKEND_BYTES": "0"}, nil, 2 << 30, "default"},
		{"nothing", 0, nil, nil, 2 << 30, "default"},
	} {
		q := QuotaOf(tc.reported, tc.env, tc.manifest)
		if q.Bytes != tc.want || !strings.Contains(q.Source, tc.source) {
			t.Errorf("%s: %+v, want %d from %s", tc.name, q, tc.want, tc.source)
		}
	}
}
