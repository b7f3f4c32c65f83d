package model

import (
	"strconv"
	"strings"
)

// What etcd releases report and support differs (etcd's CHANGELOGs):
// learners and the status fields raftAppliedIndex, dbSizeInUse and
// isLearner arrived in 3.4; the status's dbSizeQuota in 3.6. OpenShift 3.11
// runs 3.2/3.3, OpenShift 4 runs 3.5.

// ParseEtcdVersion reads "3.3.27" (or "3.5") into its major and minor
// numbers; ok is false for anything else, including "".
func ParseEtcdVersion(v string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}

// EtcdVersionAtLeast reports whether v is a known version of at least
// major.minor; an unknown version is never "at least" anything.
func EtcdVersionAtLeast(v string, major, minor int) bool {
	ma, mi, ok := ParseEtcdVersion(v)
	return ok && (ma > major || (ma == major && mi >= minor))
}

// SupportsLearners reports whether a cluster of version v has learners
// (3.4+). An unknown version does not: etcd 3.3 accepts `member add
// --learner` from a newer client and adds a voting member.
func SupportsLearners(v string) bool { return EtcdVersionAtLeast(v, 3, 4) }

// ReportsAppliedIndex, ReportsDBSizeInUse and ReportsQuota say whether a
// member of version v fills in the status field at all: when it does not,
// the field is unknown, not zero.
func ReportsAppliedIndex(v string) bool { return EtcdVersionAtLeast(v, 3, 4) }

// ReportsDBSizeInUse: see ReportsAppliedIndex.
func ReportsDBSizeInUse(v string) bool { return EtcdVersionAtLeast(v, 3, 4) }

// ReportsQuota: see ReportsAppliedIndex.
func ReportsQuota(v string) bool { return EtcdVersionAtLeast(v, 3, 6) }

// LowestVersion is the lowest version the members that answered report:
// a cluster speaks the oldest member's protocol (etcd's cluster version is
// the minimum of its members'). "" when no member answered.
func LowestVersion(members []EtcdMember) string {
	var low string
	for _, m := range members {
		if _, _, ok := ParseEtcdVersion(m.Version); !ok || !m.Reached {
			continue
		}
		if low == "" || versionLess(m.Version, low) {
			low = m.Version
		}
	}
	return low
}

// versionLess compares two parseable versions field by field.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// Unreported is how a field the member's version does not send is shown.
const Unreported = "—"

// AppliedIndexText is the member's raft applied index, or Unreported
// before etcd 3.4.
func (m EtcdMember) AppliedIndexText() string {
	if !ReportsAppliedIndex(m.Version) {
		return Unreported
	}
	return strconv.FormatUint(m.RaftAppliedIndex, 10)
}

// DBSizeInUseText is the part of the database in use, or Unreported before
// etcd 3.4.
func (m EtcdMember) DBSizeInUseText() string {
	if !ReportsDBSizeInUse(m.Version) {
		return Unreported
	}
	return HumanBytes(m.DBSizeInUse)
}
