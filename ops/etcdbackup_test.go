package ops

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// runJournaled builds and runs a procedure with op, in a journal of its
// own, and returns the run's error and its journal records and summary.
func runJournaled(t *testing.T, s *Session, name string, params map[string]string, op Operator) (error, []model.JournalRecord, model.RunSummary) {
	t.Helper()
	p, err := s.Procedure(name, params)
	if err != nil {
		t.Fatal(err)
	}
	j := openJournal(t)
	err = Run(context.Background(), p, op, RunOptions{Journal: j, User: "test", Host: "test"})
	recs, sum := readOnly(t, j)
	return err, recs, sum
}

// stepEnds maps each step to the outcome and error of its last record.
func stepEnds(recs []model.JournalRecord) map[string]model.JournalRecord {
	out := map[string]model.JournalRecord{}
	for _, r := range recs {
		if r.Event == model.EventStepEnd {
			out[r.Step] = r
		}
	}
	return out
}

// kubeAPIRollout is the rollout the local clusters are seeded with.
const kubeAPIRollout = "NodeInstallerProgressing: 1 node is at revision 7; 2 nodes are at revision 8"

// settle ends the seeded kube-apiserver rollout for the test, and starts it
// again after.
func settle(t *testing.T, c *localcluster.Cluster) {
	t.Helper()
	ctx := context.Background()
	if err := c.SetOperatorProgressing(ctx, "kube-apiserver", false, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.SetOperatorProgressing(ctx, "kube-apiserver", true, kubeAPIRollout); err != nil {
			t.Error(err)
		}
	})
}

func newestBackup(t *testing.T, root, dir string) (model.BackupSet, model.SnapshotManifest) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	set, ok := model.NewestBackupSet(names)
	if !ok {
		t.Fatalf("no backup in %s: %v", dir, names)
	}
	m, err := etcd.ReadManifest(filepath.Join(root, dir, set.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	return set, m
}

// etcd-backup on this host's member: a verified snapshot with its manifest
// and the /etc/etcd archive, mode 0600; retention keeps the newest two; the
// verifier refuses a truncated copy, a flipped byte, a .part and a raw
// member/snap/db copy, each with its reason, in the journal too.
func TestEtcdBackupAndVerifier(t *testing.T) {
	s := session(t)
	root, dir := cluster.HostRoot(0), "/backup/etcd-test"
	params := map[string]string{"backup-dir": dir, "keep": "2"}

	// The cluster is seeded with kube-apiserver rolling out: refused.
	err, recs, sum := runJournaled(t, s, "etcd-backup", params, &auto{})
	if e := stepEnds(recs)["preflight"]; err == nil || sum.Outcome != model.OutcomeAborted || e.Outcome != model.OutcomeBlocked ||
		!strings.Contains(e.Error, "the kube-apiserver operator is Progressing (NodeInstallerProgressing") || !strings.Contains(e.Error, "--force") {
		t.Fatalf("backup during a rollout: %v %+v", err, e)
	}
	if _, err := os.Stat(filepath.Join(root, dir)); !os.IsNotExist(err) {
		t.Errorf("a refused backup wrote %s: %v", dir, err)
	}
	settle(t, cluster)

	other := s.poller.Poll(context.Background())
	m1, _ := other.Member(cluster.Masters[1].Name)
	for i := 0; i < 3; i++ {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // backups are named by the second
		}
		params["member"] = map[bool]string{true: m1.IDHex()}[i == 1] // the second from master-1, by hex ID
		err, recs, sum := runJournaled(t, s, "etcd-backup", params, &auto{})
		if err != nil || !sum.Finished || sum.Outcome != model.OutcomeOK {
			t.Fatalf("backup %d: %v %+v", i, err, sum)
		}
		ends := stepEnds(recs)
		for _, st := range []string{"preflight", "snapshot", "verify", "config"} {
			if ends[st].Outcome != model.OutcomeOK {
				t.Errorf("backup %d: step %s: %+v", i, st, ends[st])
			}
		}
		if ends["static-resources"].Outcome != model.OutcomeSkipped || !strings.Contains(ends["static-resources"].Error, "no static pod revisions") {
			t.Errorf("static-resources on 3.11: %+v", ends["static-resources"])
		}
		if want := map[bool]model.Outcome{true: model.OutcomeOK, false: model.OutcomeSkipped}[i == 2]; ends["retention"].Outcome != want {
			t.Errorf("backup %d: retention %+v, want %s", i, ends["retention"], want)
		}
	}

	set, m := newestBackup(t, root, dir)
	snap := s.poller.Poll(context.Background())
	if m.MemberName != cluster.Masters[0].Name || m.Endpoint != cluster.Masters[0].ClientURL || m.ClusterID != model.FormatMemberID(snap.ClusterID) ||
		m.Revision <= 0 || len(m.SHA256) != 64 || !strings.HasPrefix(m.KubernetesVersion, "v1.") || m.EtcdVersion == "" ||
		time.Since(m.TakenAt) > time.Minute || m.PossiblyDirty || m.OpenShiftVersion != "" {
		t.Errorf("manifest: %+v", m)
	}
	for _, f := range []string{set.Snapshot, set.Manifest, set.EtcdConfig, set.EtcdConfig + ".sha256"} {
		fi, err := os.Stat(filepath.Join(root, dir, f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, fi, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(root, dir, set.Snapshot)); fi == nil || fi.Size() != m.DBSize+32 {
		t.Errorf("snapshot size %v, manifest DB size %d", fi, m.DBSize)
	}
	if err := hostfs.New(root).VerifyBackup(dir + "/" + set.EtcdConfig); err != nil {
		t.Error(err)
	}
	backups, err := s.EtcdBackups(dir)
	if err != nil || len(backups) != 2 || backups[0].Snapshot != set.Snapshot || backups[1].MemberName != cluster.Masters[1].Name || backups[1].Endpoint != cluster.Masters[1].ClientURL {
		t.Errorf("EtcdBackups: %+v %v (want 2, newest %s, the older from %s)", backups, err, set.Snapshot, cluster.Masters[1].Name)
	}
	if info, err := s.VerifySnapshot(dir + "/" + set.Snapshot); err != nil || info.SHA256 != m.SHA256 || info.Revision != m.Revision {
		t.Errorf("VerifySnapshot: %+v %v", info, err)
	}

	// Damaged and unfit copies, each refused with its reason.
	good, err := os.ReadFile(filepath.Join(root, dir, set.Snapshot))
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x20
	copies := []struct {
		name string
		data []byte
		want error
		says string
	}{
		{"truncated.db", good[:len(good)*2/3], etcd.ErrTruncated, "truncated"},
		{"flipped.db", flipped, etcd.ErrChecksum, "SHA-256 mismatch"},
		{"snapshot.db.part", good, etcd.ErrPartialSnapshot, ".part file of a save that did not finish"},
		// What the snapshot API streams is the member's bbolt file; without
		// the trailer it is exactly a member/snap/db copy.
		{"db", good[:len(good)-32], etcd.ErrRawDB, "raw member/snap/db copy"},
	}
	for _, c := range copies {
		if err := os.WriteFile(filepath.Join(root, dir, c.name), c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.VerifySnapshot(dir + "/" + c.name)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.name, err, c.want, c.says)
		}
		err, recs, sum := runJournaled(t, s, "etcd-verify-snapshot", map[string]string{"snapshot": dir + "/" + c.name}, &auto{})
		if err == nil || sum.Outcome != model.OutcomeAborted {
			t.Errorf("%s: the verifier must block: %v %+v", c.name, err, sum)
		}
		if e := stepEnds(recs)["verify"]; e.Outcome != model.OutcomeBlocked || !strings.Contains(e.Error, c.says) {
			t.Errorf("%s: journal %+v", c.name, e)
		}
	}
	err, _, sum = runJournaled(t, s, "etcd-verify-snapshot", map[string]string{"snapshot": dir + "/" + set.Snapshot}, &auto{})
	if err != nil || sum.Outcome != model.OutcomeOK {
		t.Errorf("verifier on the good snapshot: %v %+v", err, sum)
	}
	// A dry run of a restore plans every step and changes nothing.
	proc, err := s.Procedure("etcd-restore", map[string]string{"snapshot": dir + "/" + set.Snapshot})
	if err != nil {
		t.Fatal(err)
	}
	dry := openJournal(t)
	if err := Run(context.Background(), proc, &auto{}, RunOptions{DryRun: true, Journal: dry}); err != nil {
		t.Fatal(err)
	}
	dryRecs, drySum := readOnly(t, dry)
	if drySum.Outcome != model.OutcomePlanned {
		t.Errorf("dry run: %+v", drySum)
	}
	// Every other member is to be grown back (the shared cluster may have
	// lost master-2 to the deprecate-master test by now).
	for _, m := range s.poller.Poll(context.Background()).Members {
		if m.Name != cluster.Masters[0].Name && !strings.Contains(drySum.Params["members"], m.Name+"=") {
			t.Errorf("dry run would not grow %s back: members=%q", m.Name, drySum.Params["members"])
		}
	}
	for _, id := range []string{"preflight", "stop-etcd", "move-data", "restore", "restore-conf", "start-etcd", "verify-cluster"} {
		if e := stepEnds(dryRecs)[id]; e.Outcome != model.OutcomePlanned || len(e.Plan) == 0 {
			t.Errorf("dry run step %s: %+v", id, e)
		}
	}
	if !strings.Contains(strings.Join(stepEnds(dryRecs)["preflight"].Plan, "\n"), "returns the WHOLE cluster to the snapshot's point in time") {
		t.Errorf("the plan must say what a restore does: %v", stepEnds(dryRecs)["preflight"].Plan)
	}
	if !cluster.MemberRunning(0) || !hostfs.New(root).Exists("/"+localcluster.EtcdManifest) || !hostfs.New(root).Exists("/"+localcluster.EtcdDataDir+"/member") {
		t.Error("a dry run must leave etcd as it was")
	}

	// The outage starts at stop-others (stop-etcd with one member): the
	// typed word is asked there, before anything is stopped; proceeding
	// without it stops nothing.
	bare := &bareYes{}
	err, recs, _ = runJournaled(t, s, "etcd-restore", map[string]string{"snapshot": dir + "/" + set.Snapshot}, bare)
	step, problem := lastProblem(bare.prompts)
	if err == nil || (step != "stop-others" && step != "stop-etcd") || !strings.Contains(problem, `type "`+cluster.Masters[0].Name+`"`) {
		t.Errorf("a restore must ask for the typed word before the outage: %v (%s: %s)", err, step, problem)
	}
	for _, r := range recs {
		if r.Event == model.EventStepStart && (r.Step == "stop-others" || r.Step == "stop-etcd") {
			t.Errorf("%s started without the typed word", r.Step)
		}
	}

	// A restore refuses the damaged copy at its pre-check, before anything changes.
	err, recs, _ = runJournaled(t, s, "etcd-restore", map[string]string{"snapshot": dir + "/flipped.db"}, &auto{})
	if e := stepEnds(recs)["preflight"]; err == nil || e.Outcome != model.OutcomeBlocked || !strings.Contains(e.Error, "SHA-256 mismatch") {
		t.Errorf("restore of a flipped copy: %v %+v", err, e)
	}
	if !cluster.MemberRunning(0) || !hostfs.New(root).Exists("/"+localcluster.EtcdManifest) {
		t.Error("a refused restore must leave etcd running")
	}
}

// Retention counts only verified backups (with a manifest) towards --keep:
// newer snapshots that were never verified do not push the only verified
// backup out. Unverified files and .part leftovers older than it are
// removed, newer ones are listed in the plan and kept.
func TestRetentionKeepsTheNewestVerifiedBackup(t *testing.T) {
	s := session(t)
	settle(t, cluster)
	root, dir := cluster.HostRoot(0), "/backup/etcd-retention"
	if err, _, sum := runJournaled(t, s, "etcd-backup", map[string]string{"backup-dir": dir}, &auto{}); err != nil || sum.Outcome != model.OutcomeOK {
		t.Fatalf("backup: %v %+v", err, sum)
	}
	verified, _ := newestBackup(t, root, dir)
	at := backupTime(verified)
	data, err := os.ReadFile(filepath.Join(root, dir, verified.Snapshot))
	if err != nil {
		t.Fatal(err)
	}
	name := func(d time.Duration, suffix string) string {
		return model.NewBackupSet(at.Add(d), false).Snapshot + suffix
	}
	newer := []string{name(time.Hour, ""), name(2*time.Hour, ""), name(3*time.Hour, ".part")}
	older := []string{name(-time.Hour, ".part"), name(-2*time.Hour, "")}
	for _, n := range append(slices.Clone(newer), older...) {
		if err := os.WriteFile(filepath.Join(root, dir, n), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	p, err := s.Procedure("etcd-backup", map[string]string{"backup-dir": dir, "keep": "1"})
	if err != nil {
		t.Fatal(err)
	}
	p.Steps = slices.DeleteFunc(p.Steps, func(st *Step) bool { return st.ID != "retention" })
	op := &auto{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: openJournal(t)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{verified.Snapshot, verified.Manifest, verified.EtcdConfig}, newer...) {
		if _, err := os.Stat(filepath.Join(root, dir, f)); err != nil {
			t.Errorf("%s must be kept: %v", f, err)
		}
	}
	for _, f := range older {
		if _, err := os.Stat(filepath.Join(root, dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is older than the newest verified backup: it must be removed (%v)", f, err)
		}
	}
	plan := strings.Join(op.prompts[0].Plan, "\n")
	for _, want := range []string{newer[0] + "   # never verified (no manifest), newer than any verified backup: kept",
		newer[2] + "   # leftover of an interrupted write", older[1] + "   # never verified (no manifest), older than the newest verified backup " + verified.Snapshot} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan must list %q:\n%s", want, plan)
		}
	}
}

// bareYes proceeds with every step without typing any word, as a careless
// operator (or --yes) would, and aborts at the first problem.
type bareYes struct{ scripted }

func (b *bareYes) Ask(ctx context.Context, p Prompt) (Answer, error) {
	b.prompts = append(b.prompts, p)
	if p.Problem != "" {
		return Answer{Decision: Abort}, nil
	}
	return Answer{Decision: Proceed}, nil
}

// A membership change first looks for a verified backup newer than 24 h in
// --backup-dir and, with none, takes one (etcd-backup's snapshot, verify and
// config); the next run finds it and says so; --skip-backup is the typed
// override, journaled.
func TestMembershipChangeTakesABackupFirst(t *testing.T) {
	s := session(t)
	root, dir := cluster.HostRoot(0), "/backup/etcd-first"
	params := map[string]string{"name": "new-host", "peer-url": "https://127.0.0.1:59980", "client-url": "https://127.0.0.1:59979", "backup-dir": dir}
	run := func(params map[string]string) model.RunSummary {
		t.Helper()
		p, err := s.Procedure("etcd-add-member", params)
		if err != nil {
			t.Fatal(err)
		}
		if p.Steps[0].ID != "etcd-backup" {
			t.Fatalf("the backup check must come first: %s", p.Steps[0].ID)
		}
		j := openJournal(t)
		if err := Run(context.Background(), p, &abortAt{step: "add-learner"}, RunOptions{Journal: j}); !errors.Is(err, ErrAborted) {
			t.Fatalf("want aborted at add-learner: %v", err)
		}
		_, sum := readOnly(t, j)
		return sum
	}
	sum := run(params)
	if got := stepOutcome(t, sum, "etcd-backup"); got != model.OutcomeOK {
		t.Fatalf("with no backup in %s one is taken: %s %+v", dir, got, sum.Steps)
	}
	set, m := newestBackup(t, root, dir)
	if m.Revision <= 0 || len(m.SHA256) != 64 || time.Since(m.TakenAt) > time.Minute {
		t.Errorf("the backup taken first: %+v", m)
	}
	if err := hostfs.New(root).VerifyBackup(dir + "/" + set.EtcdConfig); err != nil {
		t.Errorf("the backup taken first lacks /etc/etcd: %v", err)
	}

	st, _ := run(params).Step("etcd-backup")
	if st.Outcome != model.OutcomeSkipped || !strings.Contains(st.Error, "verified backup "+set.Snapshot) {
		t.Errorf("a recent verified backup is enough: %+v", st)
	}

	params["backup-dir"], params["skip-backup"] = "/backup/etcd-none", "true"
	st, _ = run(params).Step("etcd-backup")
	if st.Outcome != model.OutcomeSkipped || !strings.Contains(st.Error, "typed override --skip-backup") {
		t.Errorf("--skip-backup must be journaled: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(root, "/backup/etcd-none")); !os.IsNotExist(err) {
		t.Errorf("--skip-backup wrote a backup: %v", err)
	}
}
