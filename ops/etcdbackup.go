package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

const (
	// etcdBackupDir is where etcd-backup writes by default (a host path).
	etcdBackupDir = "/backup/etcd"
	etcdConfDir   = "/etc/etcd"
	// staticPodResources is OpenShift 4's directory of static pod revisions.
	staticPodResources = "/etc/kubernetes/static-pod-resources"
)

// etcdHere is this host's member as its /etc/etcd/etcd.conf describes it.
func etcdHere(here hostfs.Host) (model.EtcdHostConf, error) {
	data, err := here.ReadFile(etcdConfPath)
	if err != nil {
		return model.EtcdHostConf{}, err
	}
	env, err := model.ParseEnvFile(data)
	if err != nil {
		return model.EtcdHostConf{}, fmt.Errorf("%s: %w", etcdConfPath, err)
	}
	c, err := model.EtcdHostConfFrom(env)
	if err != nil {
		return c, fmt.Errorf("%s: %w", etcdConfPath, err)
	}
	return c, nil
}

// etcd-backup's run state: the backup's file names, decided once by the
// first look, and what its manifest says about where the snapshot came
// from (the member, the cluster's versions, then what the snapshot stream
// reported), so a resumed run verifies and describes this run's files and
// never another backup in the same directory.
var (
	backupSetKey    = stateKey[model.BackupSet]("backup-set")
	backupSourceKey = stateKey[model.SnapshotManifest]("backup-source")
)

// etcdBackup is what the steps of one etcd-backup run share: its
// parameters, the run state, and what this session's look found (for the
// plans).
type etcdBackup struct {
	s     *Session
	here  hostfs.FS
	dir   string // host path
	name  string // the member asked for; "" = this host's
	keep  int
	force bool
	// anyMember: without this host's member (no etcd.conf here, or it does
	// not answer), snapshot a healthy voting member instead.
	anyMember bool
	state     *RunState

	prepared bool
	member   model.EtcdMember
	ocp      openShift
}

func buildEtcdBackup(s *Session, p params) (*Procedure, error) {
	keep, err := strconv.Atoi(p["keep"])
	if err != nil || keep < 0 {
		return nil, fmt.Errorf("--keep %q: want the number of backups to keep (0 keeps all)", p["keep"])
	}
	if !path.IsAbs(p["backup-dir"]) {
		return nil, fmt.Errorf("--backup-dir %q: want an absolute host path", p["backup-dir"])
	}
	b := &etcdBackup{s: s, here: hostfs.New(s.opts.HostRoot), dir: path.Clean(p["backup-dir"]), name: p["member"], keep: keep, force: p.bool("force"), state: NewRunState()}
	return &Procedure{State: b.state, Steps: []*Step{
		b.preflightStep(), b.snapshotStep(), b.verifyStep(), b.configStep(), b.staticResourcesStep(), b.retentionStep(),
	}}, nil
}

// prepare finds the member to snapshot and, on OpenShift 4, refuses while a
// control-plane operator rolls out (unless forced: the files are then marked
// possibly dirty), as cluster-backup.sh does (seed 001 §5.1.1).
func (b *etcdBackup) prepare(ctx context.Context) error {
	if b.prepared {
		return nil
	}
	if err := b.s.etcdReady(); err != nil {
		return err
	}
	name := b.name
	if name == "" {
		c, err := etcdHere(b.here)
		if err != nil && !b.anyMember {
			return fmt.Errorf("no --member given and this host's etcd.conf cannot tell its member: %w", err)
		}
		name = c.Name
	}
	snap := b.s.poller.Poll(ctx)
	if snap.Err != "" {
		return errors.New(snap.Err)
	}
	m, ok := snap.Member(name)
	if !ok { // the etcd pane and etcdctl name members by hex ID
		if id, err := model.ParseMemberID(name); err == nil {
			m, ok = snap.MemberByID(id)
		}
	}
	if b.anyMember && (!ok || !m.Reached) {
		for _, x := range snap.Members {
			if x.Reached && x.Healthy && !x.Learner {
				m, ok = x, true
				break
			}
		}
	}
	switch {
	case !ok:
		var names []string
		for _, x := range snap.Members {
			names = append(names, x.Name)
		}
		return fmt.Errorf("no etcd member %q (members: %s)", name, strings.Join(names, ", "))
	case !m.Reached:
		return fmt.Errorf("member %s does not answer (%s): snapshot another member with --member", name, m.Err)
	}
	ocp, err := b.s.openShift(ctx)
	if err != nil {
		return err
	}
	dirty := false
	if blockers := model.BackupBlockers(ocp.operators); len(blockers) > 0 {
		if !b.force {
			return fmt.Errorf("refused: %s; a reliable backup needs no rollout in progress: retry when it settles, or --force (the files are then named %s)",
				strings.Join(blockers, "; "), model.DirtyMarker)
		}
		dirty = true
	}
	if err := b.roomFor(m.DBSize); err != nil {
		return err
	}
	b.member, b.ocp, b.prepared = m, ocp, true
	backupSetKey.Decide(b.state, func() model.BackupSet { return model.NewBackupSet(time.Now(), dirty) })
	backupSourceKey.Decide(b.state, func() model.SnapshotManifest {
		src := model.SnapshotManifest{Endpoint: first(m.ClientURLs), MemberName: m.Name, MemberID: m.IDHex(),
			KubernetesVersion: ocp.kubeVersion, OpenShiftVersion: ocp.version}
		if dirty {
			src.PossiblyDirty, src.DirtyReason = true, strings.Join(model.BackupBlockers(ocp.operators), "; ")
		}
		return src
	})
	return nil
}

// set is the backup's file names as the run decided them (zero before).
func (b *etcdBackup) set() model.BackupSet {
	set, _ := backupSetKey.Get(b.state)
	return set
}

// roomFor checks the backup directory's file system can take a snapshot of
// size bytes, with a tenth to spare.
func (b *etcdBackup) roomFor(size int64) error {
	dir, err := b.here.Path(b.dir)
	if err != nil {
		return err
	}
	for {
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			break
		}
		dir = filepath.Dir(dir)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space under %s: %w", b.dir, err)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < size+size/10 {
		return fmt.Errorf("%s has %s free, a snapshot of this member needs about %s", b.dir, model.HumanBytes(free), model.HumanBytes(size+size/10))
	}
	return nil
}

// file is the real path of a file of the backup directory.
func (b *etcdBackup) file(name string) string {
	p, _ := b.here.Path(path.Join(b.dir, name))
	return p
}

// current is the backup this run is writing, as its state names it.
func (b *etcdBackup) current() (model.BackupSet, error) {
	set, ok := backupSetKey.Get(b.state)
	if !ok {
		return set, errors.New("this run has not chosen its backup files yet")
	}
	return set, nil
}

func (b *etcdBackup) names() ([]string, error) {
	entries, err := os.ReadDir(b.file(""))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

func (b *etcdBackup) preflightStep() *Step {
	return &Step{
		ID: "preflight", Title: "Choose the member and check a backup can be taken now",
		Check: b.prepare,
		Plan: func(ctx context.Context) (Plan, error) {
			plan := Plan{"read only: etcd member list (serializable) and the member's status"}
			if b.member.Name == "" {
				return plan, nil
			}
			m := b.member
			plan = append(plan, fmt.Sprintf("snapshot source: %s (%s) at %s only — DB %s, raft index %d, %s",
				m.Name, m.IDHex(), first(m.ClientURLs), model.HumanBytes(m.DBSize), m.RaftIndex, healthWord(m)))
			plan = append(plan, b.ocp.describe()...)
			set := b.set()
			plan = append(plan, fmt.Sprintf("files in %s under %s: %s, %s, %s", b.dir, b.here.Root, set.Snapshot, set.Manifest, set.EtcdConfig))
			if strings.Contains(set.Stamp, model.DirtyMarker) {
				plan = append(plan, "WARNING: --force during a rollout: the backup is marked "+model.DirtyMarker+" and may not match the static pod resources")
			}
			return plan, nil
		},
	}
}

func healthWord(m model.EtcdMember) string {
	if m.Healthy {
		return "healthy"
	}
	return "not serving linearizable reads (" + m.Err + "): the snapshot is its own last state"
}

func (b *etcdBackup) snapshotStep() *Step {
	return &Step{
		ID: "snapshot", Title: "Take the etcd snapshot",
		Check: b.prepare,
		Plan: func(context.Context) (Plan, error) {
			snap, src := path.Join(b.dir, b.set().Snapshot), b.source()
			return Plan{
				fmt.Sprintf("Maintenance.Snapshot (gRPC stream) from %s at %s — one member, its own point in time", src.MemberName, src.Endpoint),
				fmt.Sprintf("write %s.part (mode 0600), fsync, rename to %s", snap, snap),
				fmt.Sprintf("the same as: etcdctl --endpoints %s snapshot save %s", src.Endpoint, snap),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			dir := b.file("")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			set, err := b.current()
			if err != nil {
				return err
			}
			start, pre := time.Now(), b.source()
			src, err := b.s.poller.SaveSnapshot(ctx, pre.Endpoint, b.file(set.Snapshot), func(n int64) {
				progress(fmt.Sprintf("%s written", model.HumanBytes(n)))
			})
			if err != nil {
				return err
			}
			// What the stream reported, with what the first look recorded
			// about the cluster around it.
			src.KubernetesVersion, src.OpenShiftVersion, src.PossiblyDirty, src.DirtyReason = pre.KubernetesVersion, pre.OpenShiftVersion, pre.PossiblyDirty, pre.DirtyReason
			backupSourceKey.Set(b.state, src)
			progress(fmt.Sprintf("%s: %s in %s", set.Snapshot, model.HumanBytes(src.DBSize), time.Since(start).Round(time.Millisecond)))
			return nil
		},
		// The snapshot is renamed into place only once complete: this
		// run's file there means the step finished.
		Verify: func(context.Context) error {
			set, err := b.current()
			if err != nil {
				return err
			}
			_, err = os.Stat(b.file(set.Snapshot))
			return err
		},
	}
}

func (b *etcdBackup) verifyStep() *Step {
	return &Step{
		ID: "verify", Title: "Verify the snapshot and write its manifest",
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				"read the snapshot: the SHA-256 trailer must match the database, and a read-only bbolt consistency check of every page must pass",
				fmt.Sprintf("then write %s (JSON, 0600): etcd version, cluster ID, member, revision, DB size, sha256, Kubernetes/OpenShift version, time",
					path.Join(b.dir, b.set().Manifest)),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			set, err := b.current()
			if err != nil {
				return err
			}
			info, err := etcd.VerifySnapshot(b.file(set.Snapshot), false)
			if err != nil {
				return err
			}
			progress(fmt.Sprintf("sha256 %s matches; bbolt check passed; revision %d (verified in %s)", info.SHA256, info.Revision, info.Took.Round(time.Millisecond)))
			m := b.source()
			m.Snapshot, m.TakenAt, m.Host = set.Snapshot, backupTime(set), b.s.opts.Host
			m.Revision, m.DBSize, m.SHA256, m.VerifiedIn = info.Revision, info.DBSize, info.SHA256, info.Took.Round(time.Millisecond).String()
			if m.StorageVersion == "" {
				m.StorageVersion = info.StorageVersion
			}
			return etcd.WriteManifest(b.file(set.Manifest), m)
		},
		Verify: func(context.Context) error {
			set, err := b.current()
			if err != nil {
				return err
			}
			m, err := etcd.ReadManifest(b.file(set.Manifest))
			if err != nil {
				return fmt.Errorf("no manifest: the snapshot was not verified: %w", err)
			}
			fi, err := os.Stat(b.file(set.Snapshot))
			if err != nil {
				return err
			}
			if fi.Size() != m.DBSize+32 || fi.Mode().Perm() != 0o600 {
				return fmt.Errorf("%s is %d bytes, mode %v; its manifest says %d bytes plus the trailer, mode 0600", set.Snapshot, fi.Size(), fi.Mode().Perm(), m.DBSize)
			}
			return nil
		},
	}
}

// source is what the run recorded about the snapshot's origin.
func (b *etcdBackup) source() model.SnapshotManifest {
	m, _ := backupSourceKey.Get(b.state)
	return m
}

func backupTime(set model.BackupSet) time.Time {
	t, _ := time.Parse("2006-01-02_150405", strings.TrimSuffix(set.Stamp, model.DirtyMarker))
	return t
}

// configStep backs up this host's /etc/etcd: etcd.conf and the member's
// certificates, unique to each member (seed 003 §5.4.1.1.1).
func (b *etcdBackup) configStep() *Step {
	return b.archiveStep("config", "Back up this host's etcd configuration and certificates",
		func() []string { return []string{etcdConfDir} },
		func(s model.BackupSet) string { return s.EtcdConfig },
		" — etcd.conf, the CA, peer and server certificates: unique to each member",
		func(context.Context) (bool, string) {
			if !b.here.Exists(etcdConfDir) {
				return false, "no " + etcdConfDir + " on this host"
			}
			return true, ""
		})
}

// staticResourcesStep is OpenShift 4's second backup file: the newest
// revision of each control-plane static pod's resources (and with them the
// etcd encryption keys), seed 001 §5.1.1.
func (b *etcdBackup) staticResourcesStep() *Step {
	dirs := func() []string {
		p, _ := b.here.Path(staticPodResources)
		entries, _ := os.ReadDir(p)
		var names []string
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
		var out []string
		for _, d := range model.LatestStaticPodDirs(names) {
			out = append(out, path.Join(staticPodResources, d))
		}
		return out
	}
	return b.archiveStep("static-resources", "Back up the static pod resources (OpenShift 4)", dirs,
		func(s model.BackupSet) string { return s.StaticResources },
		"; it holds the encryption keys of an encrypted etcd: keep it apart from the snapshot",
		func(ctx context.Context) (bool, string) {
			if err := b.prepare(ctx); err == nil && !b.ocp.present {
				return false, "not OpenShift 4 (no ClusterOperator API)"
			}
			if len(dirs()) == 0 {
				return false, "no static pod revisions under " + staticPodResources
			}
			return true, ""
		})
}

// archiveStep backs host paths up into one file of the backup, mode 0600
// with its .sha256, and re-reads it to verify.
func (b *etcdBackup) archiveStep(id, title string, paths func() []string, name func(model.BackupSet) string, note string, applies func(context.Context) (bool, string)) *Step {
	dest := func() (string, error) {
		set, err := b.current()
		return path.Join(b.dir, name(set)), err
	}
	return &Step{
		ID: id, Title: title, Applies: applies,
		Plan: func(context.Context) (Plan, error) {
			return Plan{fmt.Sprintf("tar.gz of %s → %s under %s, mode 0600, with its .sha256, re-read to verify%s",
				strings.Join(paths(), " "), path.Join(b.dir, name(b.set())), b.here.Root, note)}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			d, err := dest()
			if err != nil {
				return err
			}
			a, err := b.here.Backup(paths(), nil, d)
			if err == nil {
				progress(fmt.Sprintf("%s: %d files, sha256 %s", a.Path, a.Files, a.SHA256))
			}
			return err
		},
		Verify: func(context.Context) error {
			d, err := dest()
			if err != nil {
				return err
			}
			return b.here.VerifyBackup(d)
		},
	}
}

// retentionStep removes the verified backups beyond the newest --keep, and
// the unverified snapshots and .part leftovers older than the newest
// verified backup (model.PlanRetention); only files of day2's own naming
// are ever touched.
func (b *etcdBackup) retentionStep() *Step {
	retention := func() model.RetentionPlan {
		names, _ := b.names()
		return model.PlanRetention(names, b.keep)
	}
	return &Step{
		ID: "retention", Title: "Keep the newest verified backups", Skippable: true,
		Applies: func(context.Context) (bool, string) {
			if b.keep == 0 {
				return false, "--keep 0 keeps every backup"
			}
			if r := retention(); len(r.Remove) == 0 {
				why := fmt.Sprintf("no more than %d verified backups in %s, and nothing older than the newest to clear", b.keep, b.dir)
				if len(r.Keep) > 0 {
					why += fmt.Sprintf("; %d unverified file(s) newer than it kept", len(r.Keep))
				}
				return false, why
			}
			return true, ""
		},
		Plan: func(context.Context) (Plan, error) {
			r := retention()
			plan := Plan{fmt.Sprintf("keep the newest %d verified backups (with a manifest) in %s; remove:", b.keep, b.dir)}
			for _, f := range r.Remove {
				plan = append(plan, "  rm "+path.Join(b.dir, f.Name)+"   # "+f.Why)
			}
			if len(r.Keep) > 0 {
				plan = append(plan, "listed, kept:")
				for _, f := range r.Keep {
					plan = append(plan, "  "+path.Join(b.dir, f.Name)+"   # "+f.Why)
				}
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			for _, f := range retention().Remove {
				if err := os.Remove(b.file(f.Name)); err != nil {
					return err
				}
				progress("removed " + f.Name)
			}
			return nil
		},
		Verify: func(context.Context) error {
			if left := retention().Remove; len(left) > 0 {
				return fmt.Errorf("still there: %v", left)
			}
			return nil
		},
	}
}

// backupMaxAge is how old the newest verified etcd backup may be for a
// membership change to go on without taking one first.
const backupMaxAge = 24 * time.Hour

// backupParams are the parameters of the membership changes that need a
// recent etcd backup first.
var backupParams = []Param{
	{Name: "backup-dir", Help: "where a recent verified etcd backup is looked for, and taken when there is none (a host path)", Default: etcdBackupDir},
	{Name: "skip-backup", Help: "typed override: go on without a verified etcd backup newer than 24 h (journaled)", Bool: true},
}

// backupFirstStep is the backup the guide requires before a membership
// change (seed 003 §5.2.1.2, §5.4.4 prerequisites): not needed when the
// backup directory holds a verified snapshot (with its manifest) newer than
// backupMaxAge, skipped only on the typed override --skip-backup (the
// reason is journaled); otherwise etcd-backup's own snapshot, verify and
// config steps run, in one step.
func backupFirstStep(s *Session, p params, state *RunState) (*Step, error) {
	if !path.IsAbs(p["backup-dir"]) {
		return nil, fmt.Errorf("--backup-dir %q: want an absolute host path", p["backup-dir"])
	}
	// The snapshot is consistent whatever an operator rolls out; a backup
	// taken during a rollout is marked possibly dirty rather than refused,
	// as a failing member often keeps the etcd operator Progressing.
	b := &etcdBackup{s: s, here: hostfs.New(s.opts.HostRoot), dir: path.Clean(p["backup-dir"]), anyMember: true, force: true, state: state}
	parts := []*Step{b.snapshotStep(), b.verifyStep(), b.configStep()}
	recent := func() (model.SnapshotManifest, bool) {
		backups, err := s.EtcdBackups(b.dir)
		if err != nil || len(backups) == 0 || time.Since(backups[0].TakenAt) > backupMaxAge {
			return model.SnapshotManifest{}, false
		}
		return backups[0], true
	}
	applies := func(ctx context.Context, st *Step) bool {
		if st.Applies == nil {
			return true
		}
		ok, _ := st.Applies(ctx)
		return ok
	}
	return &Step{
		ID: "etcd-backup", Title: "Take a verified etcd backup first",
		Applies: func(context.Context) (bool, string) {
			if m, ok := recent(); ok {
				return false, fmt.Sprintf("verified backup %s in %s, taken %s ago", m.Snapshot, b.dir, time.Since(m.TakenAt).Round(time.Minute))
			}
			if p.bool("skip-backup") {
				return false, fmt.Sprintf("typed override --skip-backup: no verified etcd backup newer than %s in %s, none taken", backupMaxAge, b.dir)
			}
			return true, ""
		},
		Check: b.prepare,
		Plan: func(ctx context.Context) (Plan, error) {
			plan := Plan{fmt.Sprintf("no verified etcd snapshot (with its manifest) newer than %s in %s under %s: take one now, as etcd-backup does", backupMaxAge, b.dir, b.here.Root)}
			for _, st := range parts {
				if !applies(ctx, st) {
					continue
				}
				pl, err := st.Plan(ctx)
				if err != nil {
					return plan, err
				}
				plan = append(plan, pl...)
			}
			return append(plan, "to go on without one: run again with --skip-backup (typed override, journaled)"), nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			for _, st := range parts {
				// A resumed run goes on with the files its state names:
				// the parts it finished stand.
				if !applies(ctx, st) || st.Verify(ctx) == nil {
					continue
				}
				if err := st.Run(ctx, progress); err != nil {
					return fmt.Errorf("%s: %w", st.ID, err)
				}
			}
			return nil
		},
		Verify: func(context.Context) error {
			if _, ok := recent(); !ok {
				return fmt.Errorf("no verified etcd backup newer than %s in %s", backupMaxAge, b.dir)
			}
			return nil
		},
	}, nil
}

// EtcdBackups lists the verified backups (those with a manifest) in a
// backup directory (a host path), newest first.
func (s *Session) EtcdBackups(dir string) ([]model.SnapshotManifest, error) {
	fs := hostfs.New(s.opts.HostRoot)
	p, err := fs.Path(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, err
	}
	var out []model.SnapshotManifest
	for _, e := range entries {
		if set, ok := model.BackupSetOf(e.Name()); ok {
			if m, err := etcd.ReadManifest(filepath.Join(p, set.Manifest)); err == nil {
				out = append(out, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TakenAt.After(out[j].TakenAt) })
	return out, nil
}

// VerifySnapshot checks a snapshot file (a host path) the way a backup and a
// restore do: not a .part, the SHA-256 trailer matches, a read-only bbolt
// consistency check passes. The error says why a file is refused.
func (s *Session) VerifySnapshot(file string) (model.SnapshotInfo, error) {
	p, err := hostfs.New(s.opts.HostRoot).Path(file)
	if err != nil {
		return model.SnapshotInfo{}, err
	}
	return etcd.VerifySnapshot(p, false)
}

// buildVerifySnapshot is the verifier on its own: one read-only step.
func buildVerifySnapshot(s *Session, p params) (*Procedure, error) {
	var info model.SnapshotInfo
	file := p["snapshot"]
	return &Procedure{Steps: []*Step{{
		ID: "verify", Title: "Verify an etcd snapshot",
		Check: func(context.Context) error {
			var err error
			info, err = s.VerifySnapshot(file)
			return err
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{"read only: " + file + ": SHA-256 trailer, bbolt consistency check"}
			if info.SHA256 != "" {
				plan = append(plan, fmt.Sprintf("verified in %s: %s, sha256 %s, revision %d, storage version %s",
					info.Took.Round(time.Millisecond), model.HumanBytes(info.DBSize), info.SHA256, info.Revision, orNone(info.StorageVersion)))
			}
			if m, err := etcd.ReadManifest(hostPathOf(s, model.ManifestFor(file))); err == nil {
				j, _ := json.Marshal(m)
				plan = append(plan, "manifest: "+string(j))
			}
			return plan, nil
		},
	}}}, nil
}

func hostPathOf(s *Session, file string) string {
	p, _ := hostfs.New(s.opts.HostRoot).Path(file)
	return p
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
