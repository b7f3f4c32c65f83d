package etcd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

func copyFile(t *testing.T, from, to string, n int64) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	r := io.Reader(src)
	if n >= 0 {
		r = io.LimitReader(src, n)
	}
	if _, err := io.Copy(dst, r); err != nil {
		t.Fatal(err)
	}
}

// A snapshot saved from one member verifies; each damaged or unfit copy is
// refused with its own reason; a restore from it writes a data directory.
func testSnapshotSaveVerifyRestore(t *testing.T, c *localcluster.Cluster) {
	p := newPollerOn(t, c)
	dir := t.TempDir()
	dest := filepath.Join(dir, "snapshot.db")
	m, err := p.SaveSnapshot(context.Background(), c.Masters[0].ClientURL, dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.MemberName != c.Masters[0].Name || m.ClusterID == "" || m.EtcdVersion == "" || m.DBSize <= 0 {
		t.Errorf("source: %+v", m)
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot mode: %v %v", fi, err)
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Errorf(".part left behind: %v", err)
	}
	info, err := VerifySnapshot(dest, false)
	if err != nil {
		t.Fatal(err)
	}
	// Only etcd 3.6 records a storage version in its database.
	if info.Raw || len(info.SHA256) != 64 || info.Revision <= 0 || info.DBSize != m.DBSize || (info.StorageVersion != "") != model.EtcdVersionAtLeast(m.EtcdVersion, 3, 6) {
		t.Errorf("info: %+v", info)
	}
	if _, err := p.SaveSnapshot(context.Background(), c.Masters[0].ClientURL, dest, nil); err == nil {
		t.Error("saving over an existing snapshot must be refused")
	}

	truncated := filepath.Join(dir, "truncated.db")
	copyFile(t, dest, truncated, fi.Size()/2)
	flipped := filepath.Join(dir, "flipped.db")
	copyFile(t, dest, flipped, -1)
	data, _ := os.ReadFile(flipped)
	data[len(data)/3] ^= 0x01
	if err := os.WriteFile(flipped, data, 0o600); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, "snapshot_x.db.part")
	copyFile(t, dest, part, -1)

	// A raw member/snap/db, copied from a stopped member's data directory.
	c.StopMember(2)
	raw := filepath.Join(dir, "db")
	copyFile(t, filepath.Join(c.HostRoot(2), localcluster.EtcdDataDir, "member/snap/db"), raw, -1)
	c.StartMember(2)

	for _, tc := range []struct {
		name, path string
		want       error
		says       string
	}{
		{"truncated", truncated, ErrTruncated, "the database needs"},
		{"one byte flipped", flipped, ErrChecksum, "altered or damaged"},
		{".part", part, ErrPartialSnapshot, "did not finish"},
		{"raw member/snap/db", raw, ErrRawDB, "integrity cannot be proven"},
	} {
		_, err := VerifySnapshot(tc.path, false)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: got %v, want %v saying %q", tc.name, err, tc.want, tc.says)
		}
	}
	// The raw copy is a sound database: accepted where raw is allowed.
	if ri, err := VerifySnapshot(raw, true); err != nil || !ri.Raw || ri.Revision <= 0 {
		t.Errorf("raw copy with allowRaw: %+v %v", ri, err)
	}

	restored := filepath.Join(dir, "restored")
	o := RestoreOptions{Snapshot: dest, DataDir: restored, Name: "solo", PeerURLs: []string{"https://127.0.0.1:2380"},
		InitialCluster: "solo=https://127.0.0.1:2380", Token: "new-token", RevisionBump: DefaultRevisionBump}
	if err := Restore(o, nil); err != nil {
		t.Fatal(err)
	}
	ri, err := VerifySnapshot(filepath.Join(restored, "member/snap/db"), true)
	if err != nil || ri.Revision < info.Revision+DefaultRevisionBump {
		t.Errorf("restored db: revision %d, want ≥ %d+bump (%v)", ri.Revision, info.Revision, err)
	}
	if err := Restore(o, nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a used dir: %v", err)
	}
	o.DataDir, o.Snapshot = filepath.Join(dir, "from-raw"), raw
	if err := Restore(o, nil); err == nil {
		t.Error("a raw copy must need SkipHashCheck")
	}
	o.DataDir, o.SkipHashCheck = filepath.Join(dir, "from-raw2"), true
	if err := Restore(o, nil); err != nil {
		t.Errorf("raw copy with skip-hash-check: %v", err)
	}
	pollUntil(t, p, "master-2 back", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })
}

// With two members down the survivor still answers serializable reads but
// no linearizable one; with all up every member serves both.
func testProbeQuorum(t *testing.T, c *localcluster.Cluster) {
	p := newPollerOn(t, c)
	probes, err := p.ProbeQuorum(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := model.QuorumLostCheck(probes); err == nil {
		t.Fatalf("healthy cluster called lost: %+v", probes)
	}
	c.StopMember(1)
	c.StopMember(2)
	defer func() {
		c.StartMember(1)
		c.StartMember(2)
		pollUntil(t, p, "members back", func(s model.EtcdCluster) bool { return s.State() == model.QuorumHealthy })
	}()
	probes, err = p.ProbeQuorum(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := model.QuorumLostCheck(probes); err != nil {
		t.Fatalf("two of three down must be lost quorum: %v", err)
	}
	best, why, err := model.RecommendSurvivor(probes)
	if err != nil || best.Name != c.Masters[0].Name {
		t.Fatalf("survivor %s (%s): %v", best.Name, why, err)
	}
	for _, pr := range probes {
		if pr.Member.Name == c.Masters[0].Name && (!pr.Serializable || pr.Linearizable) {
			t.Errorf("survivor probe: %+v", pr)
		}
	}
	if Answers(context.Background(), c.Masters[1].ClientURL) || !Answers(context.Background(), c.Masters[0].ClientURL) {
		t.Error("Answers must tell a stopped member from a running one")
	}
}
