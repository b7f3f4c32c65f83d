package model

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Alarm names as etcd reports them.
const (
	AlarmNoSpace = "NOSPACE"
	AlarmCorrupt = "CORRUPT"
)

// EtcdAlarm is one active alarm of one member.
type EtcdAlarm struct {
	MemberID uint64
	Member   string
	Alarm    string
}

// Advice says what the operator does about the alarm: NOSPACE is cleared
// by etcd-defrag (compact, defragment, then disarm once the database is
// under its quota); CORRUPT is never disarmed by day2: the members' data
// differ and someone must find out why.
func (a EtcdAlarm) Advice() string {
	switch a.Alarm {
	case AlarmNoSpace:
		return "the database reached its quota and etcd refuses writes: run etcd-defrag (compacts, defragments, then disarms NOSPACE once the database is under quota)"
	case AlarmCorrupt:
		return "the members' data differ: needs investigation (compare `etcdctl endpoint hashkv`, replace the corrupt member from a healthy one); day2 never disarms it"
	default:
		return "unknown alarm: needs investigation"
	}
}

// Alarms lists every member's active alarms, by member name.
func (c EtcdCluster) Alarms() []EtcdAlarm {
	var out []EtcdAlarm
	for _, m := range c.Members {
		for _, a := range m.Alarms {
			out = append(out, EtcdAlarm{MemberID: m.ID, Member: m.DisplayName(), Alarm: a})
		}
	}
	return out
}

// DefragOrder is the order etcd-defrag defragments members in: one at a
// time, the followers by name and the leader last (defragmenting the leader
// stalls writes while it runs, and would move leadership if it took long);
// learners are skipped (they serve no clients and catch up from the leader).
// It refuses while a voting member is unhealthy (defragmenting one more
// could cost quorum) or a CORRUPT alarm is raised.
func (c EtcdCluster) DefragOrder() (order []EtcdMember, skipped []string, err error) {
	for _, a := range c.Alarms() {
		if a.Alarm == AlarmCorrupt {
			return nil, nil, fmt.Errorf("member %s raised CORRUPT: %s", a.Member, a.Advice())
		}
	}
	var sick []string
	for _, m := range c.Members {
		switch {
		case m.Learner:
			skipped = append(skipped, fmt.Sprintf("%s (%s): learner, skipped", m.DisplayName(), m.IDHex()))
		case !m.Serving():
			sick = append(sick, m.DisplayName()+": "+orDash(m.Err))
		default:
			order = append(order, m)
		}
	}
	if len(sick) > 0 {
		return nil, nil, fmt.Errorf("every voting member must be healthy before a defragmentation: %s", strings.Join(sick, "; "))
	}
	leader, ok := c.Leader()
	if !ok {
		return nil, nil, fmt.Errorf("no leader known")
	}
	sort.SliceStable(order, func(i, j int) bool {
		if a, b := order[i].ID == leader.ID, order[j].ID == leader.ID; a != b {
			return b
		}
		return order[i].Name < order[j].Name
	})
	return order, skipped, nil
}

// Serving reports a member that serves linearizable reads: a healthy one,
// or one whose only trouble is the NOSPACE alarm (the poller calls it
// unhealthy, but it still reads, deletes, compacts and defragments — which
// is what cures it).
func (m EtcdMember) Serving() bool {
	if m.Healthy {
		return true
	}
	return m.Reached && strings.HasPrefix(m.Err, "alarm:") && !slices.ContainsFunc(m.Alarms, func(a string) bool { return a != AlarmNoSpace })
}

// DisarmNoSpaceCheck decides whether a member's NOSPACE alarm may be
// disarmed: only once its database (dbSize, after compaction and
// defragmentation) is under its quota — otherwise the next write raises it
// again.
func DisarmNoSpaceCheck(member string, dbSize, quota int64) error {
	if quota <= 0 {
		return fmt.Errorf("%s: quota unknown", member)
	}
	if dbSize >= quota {
		return fmt.Errorf("%s: the database is %s, still not under its quota of %s: free space first (delete data, compact, defragment)", member, HumanBytes(dbSize), HumanBytes(quota))
	}
	return nil
}

// DefaultQuotaBytes is etcd's backend quota when none is configured.
const DefaultQuotaBytes int64 = 2 << 30

// BackendQuota is a member's backend quota and where it was read.
type BackendQuota struct {
	Bytes  int64
	Source string
}

// quotaFlag and quotaEnv find the quota in a static pod manifest: as the
// flag (`--quota-backend-bytes=8589934592`, in args or a shell command) or
// as the container's ETCD_QUOTA_BACKEND_BYTES variable (OpenShift 4's
// etcd-pod.yaml: `- name: "ETCD_QUOTA_BACKEND_BYTES"` then `value: "..."`).
var (
	quotaFlag = regexp.MustCompile(`--quota-backend-bytes[= ]"?(\d+)`)
	quotaEnv  = regexp.MustCompile(`ETCD_QUOTA_BACKEND_BYTES"?\s*\n\s*value:\s*"?(\d+)`)
)

// QuotaOf is the quota a member reported (etcd 3.6+ does), else the one its
// host configures: ETCD_QUOTA_BACKEND_BYTES in etcd.conf (env), else
// --quota-backend-bytes in its static pod manifest, else etcd's 2 GiB
// default. A configured 0 means the default, as etcd reads it.
func QuotaOf(reported int64, env map[string]string, manifest []byte) BackendQuota {
	if reported > 0 {
		return BackendQuota{reported, "reported by the member"}
	}
	if n, err := strconv.ParseInt(strings.TrimSpace(env["ETCD_QUOTA_BACKEND_BYTES"]), 10, 64); err == nil && n > 0 {
		return BackendQuota{n, "ETCD_QUOTA_BACKEND_BYTES in etcd.conf"}
	}
	for _, re := range []*regexp.Regexp{quotaFlag, quotaEnv} {
		if m := re.FindSubmatch(manifest); m != nil {
			if n, err := strconv.ParseInt(string(m[1]), 10, 64); err == nil && n > 0 {
				return BackendQuota{n, "--quota-backend-bytes of the etcd static pod"}
			}
		}
	}
	return BackendQuota{DefaultQuotaBytes, "etcd's default (none configured)"}
}
