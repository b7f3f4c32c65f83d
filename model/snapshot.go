package model

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// SnapshotInfo is what verifying an etcd snapshot file found: the SHA-256
// trailer the snapshot API appends matched, and a read-only bbolt
// consistency check passed.
type SnapshotInfo struct {
	Path string
	// Size is the file's size; DBSize the bbolt database without the trailer.
	Size   int64
	DBSize int64
	// SHA256 is the database's digest (hex), equal to the trailer; empty for
	// a raw member/snap/db copy, which has none.
	SHA256 string
	// Raw is a member/snap/db copied from a data directory (no trailer):
	// only a quorum recovery from a member's own data accepts it.
	Raw bool
	// Revision is the newest revision in the database, StorageVersion the
	// etcd storage version it records (empty before etcd 3.6), and
	// ConsistentIndex/Term the raft position it was taken at.
	Revision        int64
	StorageVersion  string
	ConsistentIndex uint64
	Term            uint64
	// Took is how long the verification took.
	Took time.Duration
}

// SnapshotManifest is the JSON file written beside a verified snapshot: where
// it came from and what it holds (seed 003 §5.4.1, seed 001 §5.1).
type SnapshotManifest struct {
	Snapshot       string    `json:"snapshot"` // file name, beside the manifest
	TakenAt        time.Time `json:"takenAt"`
	Host           string    `json:"host,omitempty"`
	Endpoint       string    `json:"endpoint"`
	MemberName     string    `json:"memberName"`
	MemberID       string    `json:"memberID"`  // hex, as etcdctl prints it
	ClusterID      string    `json:"clusterID"` // hex
	EtcdVersion    string    `json:"etcdVersion"`
	StorageVersion string    `json:"storageVersion,omitempty"`
	Revision       int64     `json:"revision"`
	RaftIndex      uint64    `json:"raftIndex"`
	DBSize         int64     `json:"dbSize"`
	SHA256         string    `json:"sha256"`
	// KubernetesVersion is the API server's version; OpenShiftVersion the
	// ClusterVersion's on OpenShift 4 (a restore needs a backup of the same
	// z-stream release, seed 001 §5.3.2.2).
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	OpenShiftVersion  string `json:"openshiftVersion,omitempty"`
	// PossiblyDirty: taken with --force while a control-plane operator was
	// rolling out, as cluster-backup.sh marks it.
	PossiblyDirty bool   `json:"possiblyDirty,omitempty"`
	DirtyReason   string `json:"dirtyReason,omitempty"`
	VerifiedIn    string `json:"verifiedIn,omitempty"`
}

// Backup file names, as OpenShift 4's cluster-backup.sh writes them
// (seed 001 §5.1.1): snapshot_<stamp>.db and static_kuberesources_<stamp>.tar.gz,
// with __POSSIBLY_DIRTY__ after the stamp when forced during a rollout. day2
// adds the manifest (snapshot_<stamp>.json) and this host's /etc/etcd
// (etcd-config_<stamp>.tar.gz, with its .sha256).
const (
	SnapshotPrefix        = "snapshot_"
	StaticResourcesPrefix = "static_kuberesources_"
	EtcdConfigPrefix      = "etcd-config_"
	DirtyMarker           = "__POSSIBLY_DIRTY__"
	backupStampLayout     = "2006-01-02_150405"
)

// BackupSet names the files of one backup.
type BackupSet struct {
	Stamp           string // 2006-01-02_150405 (UTC), plus DirtyMarker when dirty
	Snapshot        string
	Manifest        string
	EtcdConfig      string
	StaticResources string
}

// NewBackupSet names the files of a backup taken at t.
func NewBackupSet(t time.Time, dirty bool) BackupSet {
	stamp := t.UTC().Format(backupStampLayout)
	if dirty {
		stamp += DirtyMarker
	}
	s, _ := BackupSetOf(SnapshotPrefix + stamp + ".db")
	return s
}

// BackupSetOf names the files of the backup a snapshot file belongs to.
func BackupSetOf(snapshot string) (BackupSet, bool) {
	stamp, ok := backupStamp(snapshot)
	if !ok || !strings.HasPrefix(snapshot, SnapshotPrefix) || !strings.HasSuffix(snapshot, ".db") {
		return BackupSet{}, false
	}
	return BackupSet{
		Stamp: stamp, Snapshot: snapshot, Manifest: SnapshotPrefix + stamp + ".json",
		EtcdConfig: EtcdConfigPrefix + stamp + ".tar.gz", StaticResources: StaticResourcesPrefix + stamp + ".tar.gz",
	}, true
}

// NewestBackupSet is the newest backup whose snapshot is among names.
func NewestBackupSet(names []string) (BackupSet, bool) {
	var best BackupSet
	for _, n := range names {
		if s, ok := BackupSetOf(n); ok && s.Stamp > best.Stamp {
			best = s
		}
	}
	return best, best.Stamp != ""
}

// ManifestFor is the manifest's name beside a snapshot file.
func ManifestFor(snapshot string) string {
	return strings.TrimSuffix(snapshot, path.Ext(snapshot)) + ".json"
}

// backupStamp returns the stamp of a file day2's backup wrote, or false
// for any other file (retention never touches those).
func backupStamp(name string) (string, bool) {
	for _, prefix := range []string{SnapshotPrefix, StaticResourcesPrefix, EtcdConfigPrefix} {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || len(rest) < len(backupStampLayout) {
			continue
		}
		if _, err := time.Parse(backupStampLayout, rest[:len(backupStampLayout)]); err != nil {
			continue
		}
		stamp := rest[:len(backupStampLayout)]
		tail := rest[len(backupStampLayout):]
		if strings.HasPrefix(tail, DirtyMarker) {
			stamp, tail = stamp+DirtyMarker, tail[len(DirtyMarker):]
		}
		switch tail {
		case ".db", ".json", ".tar.gz", ".tar.gz.sha256":
			return stamp, true
		}
	}
	return "", false
}

// BackupFile is a file of a backup directory that retention names, with why.
type BackupFile struct {
	Name string
	Why  string
}

// RetentionPlan is what retention removes from a backup directory, and what
// it lists but keeps.
type RetentionPlan struct {
	Remove []BackupFile
	Keep   []BackupFile
}

// PlanRetention decides, from the file names of a backup directory, what
// keeping the newest keep backups removes (keep ≤ 0 keeps all). Only a
// verified backup (its snapshot has its manifest) counts towards keep, so
// the newest verified one is never removed. A backup without a manifest
// (never verified) and the .part leftovers of an interrupted write are
// removed only when older than the newest verified backup, named as such;
// newer ones (a backup in progress, one still to verify) are listed and
// kept. Only files of day2's naming are ever picked; a set is dated by its
// stamp, so a dirty and a clean backup of the same second stay apart.
func PlanRetention(names []string, keep int) RetentionPlan {
	var plan RetentionPlan
	if keep <= 0 {
		return plan
	}
	byStamp, parts := map[string][]string{}, map[string][]string{}
	present := map[string]bool{}
	for _, n := range names {
		present[n] = true
		if s, ok := backupStamp(n); ok {
			byStamp[s] = append(byStamp[s], n)
		} else if s, ok := backupStamp(strings.TrimSuffix(n, ".part")); ok && strings.HasSuffix(n, ".part") {
			parts[s] = append(parts[s], n)
		}
	}
	var verified, unverified []string
	for s := range byStamp {
		set := BackupSet{Snapshot: SnapshotPrefix + s + ".db", Manifest: SnapshotPrefix + s + ".json"}
		if present[set.Snapshot] && present[set.Manifest] {
			verified = append(verified, s)
		} else {
			unverified = append(unverified, s)
		}
	}
	// The layout sorts by time; the dirty marker sorts after its second.
	sort.Sort(sort.Reverse(sort.StringSlice(verified)))
	newest := ""
	if len(verified) > 0 {
		newest = verified[0]
	}
	add := func(to *[]BackupFile, files []string, why string) {
		for _, n := range files {
			*to = append(*to, BackupFile{Name: n, Why: why})
		}
	}
	for _, s := range verified[min(keep, len(verified)):] {
		add(&plan.Remove, byStamp[s], fmt.Sprintf("verified, older than the newest %d verified backups", keep))
	}
	for _, s := range unverified {
		if s < newest {
			add(&plan.Remove, byStamp[s], "never verified (no manifest), older than the newest verified backup "+SnapshotPrefix+newest+".db")
		} else {
			add(&plan.Keep, byStamp[s], "never verified (no manifest), newer than any verified backup: kept (in progress, or verify it with etcd-verify-snapshot)")
		}
	}
	for s, files := range parts {
		if s < newest {
			add(&plan.Remove, files, "leftover of an interrupted write, older than the newest verified backup "+SnapshotPrefix+newest+".db")
		} else {
			add(&plan.Keep, files, "leftover of an interrupted write, newer than any verified backup: kept (a write may be in progress)")
		}
	}
	for _, l := range [][]BackupFile{plan.Remove, plan.Keep} {
		sort.Slice(l, func(i, j int) bool { return l[i].Name < l[j].Name })
	}
	return plan
}

// OperatorStatus is an OpenShift 4 ClusterOperator's conditions.
type OperatorStatus struct {
	Name                             string
	Available, Progressing, Degraded bool
	Message                          string // the Progressing condition's message
}

// BackupOperators are the ClusterOperators whose rollout makes a backup
// unreliable (cluster-backup.sh refuses while any is Progressing).
var BackupOperators = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// BackupBlockers says, for each of BackupOperators that is Progressing, why
// a backup taken now may be inconsistent with the static pod resources.
func BackupBlockers(ops []OperatorStatus) []string {
	var out []string
	for _, name := range BackupOperators {
		for _, o := range ops {
			if o.Name == name && o.Progressing {
				msg := fmt.Sprintf("the %s operator is Progressing", name)
				if o.Message != "" {
					msg += " (" + o.Message + ")"
				}
				out = append(out, msg)
			}
		}
	}
	return out
}

// StaticPodComponents are the static pod resource directories an OpenShift 4
// backup takes, newest revision of each (seed 001 §5.1.1's script output).
var StaticPodComponents = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"}

// LatestStaticPodDirs picks, from the entries of
// /etc/kubernetes/static-pod-resources, the newest revision directory
// (<component>-pod-<N>, highest N) of each of StaticPodComponents.
func LatestStaticPodDirs(entries []string) []string {
	var out []string
	for _, c := range StaticPodComponents {
		best, bestN := "", -1
		for _, e := range entries {
			rest, ok := strings.CutPrefix(e, c+"-pod-")
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(rest); err == nil && n > bestN {
				best, bestN = e, n
			}
		}
		if best != "" {
			out = append(out, best)
		}
	}
	return out
}
