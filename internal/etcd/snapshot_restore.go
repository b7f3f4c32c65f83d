package etcd

import (
	"fmt"
	"os"
	"path/filepath"

	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

// RestoreOptions describe a restore into a new data directory.
type RestoreOptions struct {
	Snapshot string
	// DataDir must not exist or be empty; the restore creates member/snap
	// and member/wal in it.
	DataDir string
	// Name and PeerURLs are the member's; InitialCluster lists the members
	// of the new cluster (this one alone); Token is the new cluster token.
	Name           string
	PeerURLs       []string
	InitialCluster string
	Token          string
	// SkipHashCheck accepts a raw member/snap/db copy (no trailer).
	SkipHashCheck bool
	// RevisionBump raises the newest revision by this much and marks it
	// compacted, so clients that saw later revisions (watch caches, the
	// API server's resourceVersions) relist instead of waiting for revisions
	// that will never come back. For a whole-cluster restore, not when
	// re-seeding one member into a live quorum.
	RevisionBump uint64
}

// DefaultRevisionBump is what OpenShift's cluster-restore.sh bumps by: far
// more than any cluster writes between a snapshot and its restore.
const DefaultRevisionBump = 1_000_000_000

// Restore writes a new data directory from a snapshot with etcdutl's
// snapshot library (what `etcdutl snapshot restore` runs).
func Restore(o RestoreOptions, logger *zap.Logger) error {
	if entries, err := os.ReadDir(o.DataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("restore into %s: the directory is not empty", o.DataDir)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	err := snapshot.NewV3(logger).Restore(snapshot.RestoreConfig{
		SnapshotPath: o.Snapshot, Name: o.Name, OutputDataDir: o.DataDir,
		PeerURLs: o.PeerURLs, InitialCluster: o.InitialCluster, InitialClusterToken: o.Token,
		SkipHashCheck: o.SkipHashCheck, RevisionBump: o.RevisionBump, MarkCompacted: o.RevisionBump > 0,
	})
	if err != nil {
		return fmt.Errorf("restore %s into %s: %w", o.Snapshot, o.DataDir, err)
	}
	for _, sub := range []string{"member/snap/db", "member/wal"} {
		if _, err := os.Stat(filepath.Join(o.DataDir, sub)); err != nil {
			return fmt.Errorf("restore into %s: %w", o.DataDir, err)
		}
	}
	return nil
}
