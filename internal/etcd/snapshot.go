package etcd

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/storage/mvcc"
	"go.etcd.io/etcd/server/v3/storage/schema"

	"github.com/day2ops/day2/model"
)

// Reasons a snapshot file is refused; the errors VerifySnapshot returns wrap
// one of them and say what was found.
var (
	ErrPartialSnapshot = errors.New("partial snapshot")
	ErrRawDB           = errors.New("raw member/snap/db copy without a SHA-256 trailer")
	ErrTruncated       = errors.New("truncated or not an etcd snapshot")
	ErrChecksum        = errors.New("SHA-256 mismatch")
	ErrCorrupt         = errors.New("bbolt consistency check failed")
)

// trailer is the SHA-256 digest the snapshot API appends to the database.
const trailer = sha256.Size

// hasTrailer is etcd's own test for a snapshot with a digest: bbolt files
// are whole pages (multiples of 512), so the digest leaves 32 over.
func hasTrailer(size int64) bool { return size%512 == trailer }

// SaveSnapshot streams a snapshot from the one member at endpoint (never
// several: a snapshot is one member's point in time) with the Maintenance
// API, as `etcdctl snapshot save` does: into dest.part (mode 0600), fsync'd,
// then renamed to dest and the directory fsync'd. dest must not exist. It
// returns what the member said about itself; progress, when set, gets the
// bytes written about once a second.
func (p *Poller) SaveSnapshot(ctx context.Context, endpoint, dest string, progress func(int64)) (model.SnapshotManifest, error) {
	var out model.SnapshotManifest
	if _, err := os.Lstat(dest); err == nil {
		return out, fmt.Errorf("snapshot %s: the file exists", dest)
	}
	// A client of its own: the poller's have sub-second keepalive timeouts,
	// too short for a long stream on a busy host.
	c, err := clientv3.New(clientv3.Config{
		Endpoints: []string{endpoint}, TLS: p.tls, DialTimeout: 5 * time.Second, Logger: p.logger,
		DialKeepAliveTime: 30 * time.Second, DialKeepAliveTimeout: 30 * time.Second,
	})
	if err != nil {
		return out, fmt.Errorf("snapshot from %s: %w", endpoint, err)
	}
	defer c.Close()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := c.Status(sctx, endpoint)
	cancel()
	if err != nil {
		return out, fmt.Errorf("snapshot from %s: status: %s", endpoint, describe(err))
	}
	out = model.SnapshotManifest{
		Endpoint: endpoint, MemberID: model.FormatMemberID(st.Header.MemberId), ClusterID: model.FormatMemberID(st.Header.ClusterId),
		EtcdVersion: st.Version, RaftIndex: st.RaftIndex,
	}
	if list, err := c.MemberList(ctx, clientv3.WithSerializable()); err == nil {
		for _, m := range list.Members {
			if m.ID == st.Header.MemberId {
				out.MemberName = m.Name
			}
		}
	}

	part := dest + ".part"
	f, err := os.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return out, fmt.Errorf("snapshot: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(part)
		}
	}()
	resp, err := c.SnapshotWithVersion(ctx)
	if err != nil {
		return out, fmt.Errorf("snapshot from %s: %s", endpoint, describe(err))
	}
	defer resp.Snapshot.Close()
	out.StorageVersion = resp.Version
	w := io.Writer(f)
	if progress != nil {
		w = &progressWriter{w: f, report: progress, next: time.Now().Add(time.Second)}
	}
	size, err := io.CopyBuffer(w, resp.Snapshot, make([]byte, 1<<20))
	if err != nil {
		return out, fmt.Errorf("snapshot from %s: after %d bytes: %s", endpoint, size, describe(err))
	}
	if !hasTrailer(size) {
		return out, fmt.Errorf("snapshot from %s: %d bytes and no SHA-256 trailer: the stream ended early", endpoint, size)
	}
	if err := f.Sync(); err != nil {
		return out, fmt.Errorf("snapshot: fsync %s: %w", part, err)
	}
	if err := f.Close(); err != nil {
		return out, fmt.Errorf("snapshot: %w", err)
	}
	if err := os.Rename(part, dest); err != nil {
		return out, fmt.Errorf("snapshot: %w", err)
	}
	ok = true
	out.DBSize = size - trailer
	return out, syncDir(filepath.Dir(dest))
}

type progressWriter struct {
	w      io.Writer
	n      int64
	next   time.Time
	report func(int64)
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.n += int64(n)
	if now := time.Now(); now.After(pw.next) {
		pw.next = now.Add(time.Second)
		pw.report(pw.n)
	}
	return n, err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// VerifySnapshot checks a snapshot file without changing it: not a .part
// left by an unfinished save; its SHA-256 trailer matches the database; and
// a read-only bbolt consistency check of every page passes. allowRaw
// accepts a member/snap/db copied from a data directory (no trailer, so
// only the bbolt check vouches for it). The errors wrap ErrPartialSnapshot,
// ErrRawDB, ErrTruncated, ErrChecksum or ErrCorrupt.
func VerifySnapshot(path string, allowRaw bool) (model.SnapshotInfo, error) {
	start := time.Now()
	info := model.SnapshotInfo{Path: path}
	if strings.HasSuffix(path, ".part") {
		return info, fmt.Errorf("%s: %w: the .part file of a save that did not finish; take a new snapshot", path, ErrPartialSnapshot)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return info, err
	}
	if !fi.Mode().IsRegular() {
		return info, fmt.Errorf("%s is not a regular file", path)
	}
	info.Size = fi.Size()
	info.DBSize = info.Size
	if hasTrailer(info.Size) {
		info.DBSize = info.Size - trailer
		if info.SHA256, err = checkTrailer(path, info.DBSize); err != nil {
			return info, err
		}
	} else {
		info.Raw = true
	}
	// A raw copy that is refused anyway is only told apart from a damaged
	// file, not checked page by page.
	if err := checkBolt(path, &info, !info.Raw || allowRaw); err != nil {
		return info, err
	}
	if info.Raw && !allowRaw {
		return info, fmt.Errorf("%s: %w: its integrity cannot be proven; take a snapshot with the snapshot API (etcd-backup), or restore it only with etcd-recover-quorum --from-member-data", path, ErrRawDB)
	}
	info.Took = time.Since(start)
	return info, nil
}

// checkTrailer hashes the database part and compares it with the trailer.
func checkTrailer(path string, dbSize int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, io.LimitReader(f, dbSize), make([]byte, 1<<20)); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	want := make([]byte, trailer)
	if _, err := io.ReadFull(f, want); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	got := h.Sum(nil)
	if string(got) != string(want) {
		return "", fmt.Errorf("%s: %w: the trailer says %x, the content hashes to %x: the file was altered or damaged after it was written", path, ErrChecksum, want, got)
	}
	return hex.EncodeToString(got), nil
}

// checkBolt opens the database read-only, makes sure every page it needs
// is inside the file (bbolt memory-maps it: reading past the end would
// fault), runs bbolt's consistency check when full and reads the etcd
// metadata.
func checkBolt(path string, info *model.SnapshotInfo, full bool) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return fmt.Errorf("%s: %w: %d bytes is not a bbolt database plus a 32-byte SHA-256 trailer (%v)", path, ErrTruncated, info.Size, err)
	}
	defer db.Close()
	return db.View(func(tx *bolt.Tx) error {
		if need := tx.Size(); need > info.DBSize {
			return fmt.Errorf("%s: %w: the database needs %d bytes, the file holds %d", path, ErrTruncated, need, info.DBSize)
		}
		if full {
			var problems []string
			for e := range tx.Check() {
				problems = append(problems, e.Error())
			}
			if len(problems) > 0 {
				return fmt.Errorf("%s: %w: %d problems, first: %s", path, ErrCorrupt, len(problems), problems[0])
			}
		}
		keys, meta := tx.Bucket(schema.Key.Name()), tx.Bucket(schema.Meta.Name())
		if keys == nil || meta == nil {
			return fmt.Errorf("%s: %w: a bbolt file without etcd's key and meta buckets", path, ErrCorrupt)
		}
		if k, _ := keys.Cursor().Last(); k != nil {
			info.Revision = mvcc.BytesToRev(k).Main
		}
		if v := meta.Get(schema.MetaConsistentIndexKeyName); len(v) == 8 {
			info.ConsistentIndex = binary.BigEndian.Uint64(v)
		}
		if v := meta.Get(schema.MetaTermKeyName); len(v) == 8 {
			info.Term = binary.BigEndian.Uint64(v)
		}
		if v := schema.ReadStorageVersionFromSnapshot(tx); v != nil {
			info.StorageVersion = v.String()
		}
		return nil
	})
}

// WriteManifest writes a snapshot's manifest (JSON, mode 0600) through a
// fsync'd temporary file and a rename, so a manifest is never half there:
// its presence says the snapshot beside it was verified.
func WriteManifest(path string, m model.SnapshotManifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("manifest %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// ReadManifest reads a snapshot's manifest.
func ReadManifest(path string) (model.SnapshotManifest, error) {
	var m model.SnapshotManifest
	data, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", path, err)
	}
	return m, nil
}
