package ops

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/logging"
	"github.com/day2ops/day2/model"
)

// How long a restore waits for the member to stop, to start and for the
// API server to serve again.
const (
	memberStopTimeout = 2 * time.Minute
	apiServeTimeout   = 3 * time.Minute
)

// rebuild is what the steps of a whole-cluster restore share (etcd-restore,
// and etcd-recover-quorum after its detection): this host's member, the
// source (a verified snapshot, or for a quorum recovery the member's own
// database), and the members to grow back afterwards.
type rebuild struct {
	s    *Session
	here hostfs.FS
	conf model.EtcdHostConf // this host's member, from its etcd.conf
	// layout is where this host's etcd static pod manifest is and waits
	// while stopped.
	layout etcdPodLayout

	snapshot     string // host path; "" when fromData
	fromData     bool   // restore the member's own member/snap/db (no trailer)
	configBackup string // host path of an etcd-config tar.gz to take etcd.conf from
	state        *RunState
	// old are the members to stop before the restore, others those to grow
	// back after it.
	old, others []NewMember

	info     model.SnapshotInfo
	manifest *model.SnapshotManifest
}

func newRebuild(s *Session, p params) (*rebuild, error) {
	here := hostfs.New(s.opts.HostRoot)
	conf, err := etcdHere(here)
	if err != nil {
		return nil, fmt.Errorf("this host's etcd member: %w (a restore runs on the master whose member it rebuilds; on OpenShift 4 use /usr/local/bin/cluster-restore.sh, seed 001 §5.3.2.2)", err)
	}
	layout, ok := etcdLayoutOf(here)
	if !ok || layout.operated {
		return nil, fmt.Errorf("no OpenShift 3.11 etcd static pod manifest (%s or %s) under %s: day2 restores static-pod members configured by etcd.conf; on OpenShift 4 use /usr/local/bin/cluster-restore.sh (seed 001 §5.3.2.2)",
			etcdLayouts[0].manifest, etcdLayouts[0].aside, here.Root)
	}
	r := &rebuild{
		s: s, here: here, conf: conf, layout: layout,
		snapshot: p["snapshot"], fromData: p.bool("from-member-data"), configBackup: p["config-backup"],
		state: NewRunState(),
	}
	if err := r.setMembers(p); err != nil {
		return nil, err
	}
	return r, nil
}

// currentMembers is the membership now, as name=URL entries of the peer
// and client URLs: the member list, or this host's ETCD_INITIAL_CLUSTER
// (peer URLs only) when no member answers.
func (r *rebuild) currentMembers() (peers, clients []model.InitialClusterEntry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if snap, err := r.s.pollEtcd(ctx); err == nil {
		for _, m := range snap.Members {
			for _, u := range m.PeerURLs {
				peers = append(peers, model.InitialClusterEntry{Name: m.Name, PeerURL: u})
			}
			for _, u := range m.ClientURLs {
				clients = append(clients, model.InitialClusterEntry{Name: m.Name, PeerURL: u})
			}
		}
	}
	if len(peers) == 0 {
		peers = model.ParseInitialCluster(r.conf.InitialCluster)
	}
	return peers, clients
}

// setMembers decides the members to stop before the restore (every member
// but this one now) and to grow back after it: the members parameter
// (ETCD_INITIAL_CLUSTER's name=peerURL form) or, when it is not given, the
// membership now. The parameters are filled in, so the journal keeps them
// and a resumed run grows back the same members even though the cluster
// then lists only this one.
func (r *rebuild) setMembers(p params) error {
	peers, clients := r.currentMembers()
	if p["members"] == "" {
		p["members"] = model.FormatInitialCluster(peers)
		if p["member-clients"] == "" {
			p["member-clients"] = model.FormatInitialCluster(clients)
		}
	}
	for _, e := range model.ParseInitialCluster(p["members"]) {
		if e.Name == "" || e.PeerURL == "" {
			return fmt.Errorf("--members %q: want name=peerURL,... (ETCD_INITIAL_CLUSTER's form)", p["members"])
		}
	}
	r.others = r.membersOf(model.ParseInitialCluster(p["members"]), model.ParseInitialCluster(p["member-clients"]))
	roots := map[string]string{}
	for _, e := range model.ParseInitialCluster(p["member-roots"]) {
		roots[e.Name] = e.PeerURL
	}
	// Each other master's files: under --member-roots, else over SSH; a
	// master reached neither way keeps its steps manual.
	hosts := map[string]hostfs.Host{}
	hostOf := func(name string) hostfs.Host {
		h, seen := hosts[name]
		if !seen {
			if root, ok := roots[name]; ok {
				h = hostfs.New(root)
			} else {
				h = r.s.openHost(hostNamed(name))
			}
			hosts[name] = h
		}
		return h
	}
	for i, m := range r.others {
		r.others[i].AllowSingleVoter = p.bool("allow-single-voter-add")
		if h := hostOf(m.Name); h != nil {
			r.others[i].Root = h
			if len(m.ClientURLs) == 0 {
				if c, err := etcdHere(h); err == nil {
					r.others[i].ClientURLs = c.ClientURLs
				}
			}
		}
	}
	r.old = r.membersOf(peers, clients)
	for i, m := range r.old {
		r.old[i].Root = hostOf(m.Name)
	}
	for _, m := range r.others {
		if !slices.ContainsFunc(r.old, func(o NewMember) bool { return o.Name == m.Name }) {
			r.old = append(r.old, m)
		}
	}
	return nil
}

// membersOf groups name=URL entries into members, leaving this one out.
func (r *rebuild) membersOf(peers, clients []model.InitialClusterEntry) []NewMember {
	var out []NewMember
	at := map[string]int{}
	for _, e := range peers {
		if e.Name == r.conf.Name {
			continue
		}
		i, ok := at[e.Name]
		if !ok {
			i, at[e.Name] = len(out), len(out)
			out = append(out, NewMember{Name: e.Name})
		}
		out[i].PeerURLs = append(out[i].PeerURLs, e.PeerURL)
	}
	for _, e := range clients {
		if i, ok := at[e.Name]; ok {
			out[i].ClientURLs = append(out[i].ClientURLs, e.PeerURL)
		}
	}
	return out
}

// A rebuild's run state: the time that names the moved-aside data dirs,
// and the new cluster's token. Both are decided once per run: the restore
// writes the token into the data dir and restore-conf into etcd.conf, and
// a resumed run must not make them differ.
var (
	rebuildStampKey = stateKey[string]("rebuild-stamp")
	rebuildTokenKey = stateKey[string]("cluster-token")
)

// stamp names the data dirs this run moves aside.
func (r *rebuild) stamp() string {
	return rebuildStampKey.Decide(r.state, func() string { return time.Now().UTC().Format("20060102T150405Z") })
}

// token is the new cluster's token.
func (r *rebuild) token() string {
	return rebuildTokenKey.Decide(r.state, func() string { return "etcd-restore-" + r.stamp() })
}

// asideDir is where this run moves this host's data dir.
func (r *rebuild) asideDir() string { return r.conf.DataDir + ".day2-" + r.stamp() }

func buildEtcdRestore(s *Session, p params) (*Procedure, error) {
	r, err := newRebuild(s, p)
	if err != nil {
		return nil, err
	}
	steps := append([]*Step{r.preflightStep()}, r.restoreSteps()...)
	return &Procedure{State: r.state, Steps: append(steps, r.growBackSteps()...)}, nil
}

// restoreSteps are the steps every whole-cluster restore takes after its
// own look at the source (seed 003 §5.4.2.2, seed 001 §5.3.2.2).
func (r *rebuild) restoreSteps() []*Step {
	return []*Step{
		r.accessStep(), r.stopOthersStep(), r.stopStep(), r.moveDataStep(), r.restoreStep(),
		r.confStep(), r.startStep(), r.verifyClusterStep(),
	}
}

// growBackSteps add the other members back one at a time, each as a
// learner first and promoted once in sync, the cluster healthy before the
// next (etcd-add-member's steps); then ETCD_INITIAL_CLUSTER lists them all
// again.
func (r *rebuild) growBackSteps() []*Step {
	var steps []*Step
	for i, m := range r.others {
		steps = append(steps, AddMemberSteps(r.s, m, 2*time.Minute, fmt.Sprint(i+1))...)
	}
	if len(r.others) > 0 {
		steps = append(steps, etcdConfStep(r.s, r.here))
	}
	return steps
}

// source is the file restored: the snapshot, or the member's own database
// in its moved-aside data dir.
func (r *rebuild) source() (string, error) {
	if !r.fromData {
		return r.here.Path(r.snapshot)
	}
	aside, err := r.aside()
	if err != nil {
		return "", err
	}
	return r.here.Path(path.Join(aside, "member/snap/db"))
}

// aside is the data dir this run moved away (a resumed run: the newest).
func (r *rebuild) aside() (string, error) {
	mine := r.asideDir()
	if r.here.Exists(mine) {
		return mine, nil
	}
	parent, err := r.here.Path(path.Dir(r.conf.DataDir))
	if err != nil {
		return "", err
	}
	entries, _ := os.ReadDir(parent)
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), path.Base(r.conf.DataDir)+".day2-") && e.IsDir() && !strings.HasSuffix(e.Name(), "-restore") && !strings.HasSuffix(e.Name(), "-partial") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no moved-aside data dir %s.day2-* on this host", r.conf.DataDir)
	}
	sort.Strings(names)
	return path.Join(path.Dir(r.conf.DataDir), names[len(names)-1]), nil
}

// verifySource checks the snapshot to restore (or, for a recovery from the
// member's own data, its database once etcd is stopped) and that its size
// did not change while it was read: a snapshot still being copied is not
// restored.
func (r *rebuild) verifySource() error {
	src, err := r.source()
	if err != nil {
		return err
	}
	before, err := os.Stat(src)
	if err != nil {
		return err
	}
	info, err := etcd.VerifySnapshot(src, r.fromData)
	if err != nil {
		return err
	}
	after, err := os.Stat(src)
	if err != nil {
		return err
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		return fmt.Errorf("%s changed while it was verified (%d → %d bytes): is it still being copied? wait until its size is stable", src, before.Size(), after.Size())
	}
	r.info = info
	if !r.fromData {
		if m, err := etcd.ReadManifest(strings.TrimSuffix(src, path.Ext(src)) + ".json"); err == nil {
			r.manifest = &m
		}
	}
	return nil
}

// pointInTime says what the cluster returns to.
func (r *rebuild) pointInTime() string {
	if r.fromData {
		return fmt.Sprintf("%s's own data (revision %d when verified)", r.conf.Name, r.info.Revision)
	}
	when := "at revision " + fmt.Sprint(r.info.Revision)
	if r.manifest != nil {
		when = fmt.Sprintf("as it was at %s (revision %d, from %s)", r.manifest.TakenAt.Format(time.RFC3339), r.info.Revision, r.manifest.MemberName)
	}
	return "the snapshot's point in time: " + when
}

func (r *rebuild) warning() string {
	return "WARNING: this returns the WHOLE cluster to " + r.pointInTime() + ". Every change made after it is lost, and every client sees a conflicting, " +
		"parallel history (seed 001 §5.3.2.1): restore only as a last resort."
}

func (r *rebuild) preflightStep() *Step {
	var versionNote string
	return &Step{
		ID: "preflight", Title: "Check the snapshot and this host",
		Check: func(ctx context.Context) error {
			if r.fromData {
				return errors.New("--from-member-data is for etcd-recover-quorum")
			}
			if r.snapshot == "" {
				return errors.New("no --snapshot given")
			}
			if err := r.verifySource(); err != nil {
				return err
			}
			versionNote = ""
			if r.manifest != nil && r.manifest.KubernetesVersion != "" {
				if v, err := r.s.client.Discovery().ServerVersion(); err == nil && v.GitVersion != r.manifest.KubernetesVersion {
					versionNote = fmt.Sprintf("WARNING: the snapshot is from Kubernetes %s, the API server runs %s: restore a backup of the same z-stream release (seed 001 §5.3.2.2)",
						r.manifest.KubernetesVersion, v.GitVersion)
				}
			}
			return r.targetFree()
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{r.warning()}
			if r.info.Path != "" {
				plan = append(plan, fmt.Sprintf("read only: %s verified in %s — SHA-256 trailer %s matches, bbolt check passed, %s, size stable",
					r.snapshot, r.info.Took.Round(time.Millisecond), r.info.SHA256, model.HumanBytes(r.info.DBSize)))
			}
			if r.manifest != nil && r.manifest.PossiblyDirty {
				plan = append(plan, "WARNING: the backup is marked "+model.DirtyMarker+": "+r.manifest.DirtyReason)
			}
			if versionNote != "" {
				plan = append(plan, versionNote)
			}
			return append(plan, r.summary()...), nil
		},
	}
}

// targetFree checks the data dir can be moved aside and restored into.
func (r *rebuild) targetFree() error {
	if aside := r.asideDir(); r.here.Exists(aside) {
		return fmt.Errorf("%s exists: the data dir cannot be moved aside there", aside)
	}
	return nil
}

func (r *rebuild) summary() Plan {
	plan := Plan{
		fmt.Sprintf("this host: member %s, peer %s, data dir %s (moved aside to %s.day2-%s, never deleted)",
			r.conf.Name, strings.Join(r.conf.PeerURLs, ","), r.conf.DataDir, r.conf.DataDir, r.stamp()),
		fmt.Sprintf("the new cluster: %s alone, new cluster token %s, revisions bumped by %d and marked compacted", r.conf.Name, r.token(), etcd.DefaultRevisionBump),
	}
	if len(r.others) > 0 {
		var names []string
		for _, m := range r.others {
			names = append(names, m.Name)
		}
		plan = append(plan, "then grown back one member at a time, each a learner first: "+strings.Join(names, ", "))
	}
	return plan
}

func (r *rebuild) accessStep() *Step {
	return &Step{
		ID: "access", Title: "Open a shell on every master", Manual: true,
		Plan: func(context.Context) (Plan, error) {
			names := []string{r.conf.Name}
			for _, m := range r.old {
				names = append(names, m.Name)
			}
			return Plan{
				"manual: open an SSH session to every master now, each in its own terminal: " + strings.Join(names, ", "),
				"from the next step on the API server cannot answer until the restore is done; without these sessions the recovery cannot be finished (seed 001 §5.3.2.2)",
			}, nil
		},
	}
}

// stopOthersStep stops every other member for good before this one is
// rebuilt: an old member left running would try to reach the new cluster
// (seed 004: "request cluster ID mismatch"). The outage starts here, so it
// asks for the same typed word as the restore itself. day2 does it on every
// master it reaches (--member-roots or SSH); if one is out of reach the
// step is manual for all, with the commands per master.
func (r *rebuild) stopOthersStep() *Step {
	reached := !slices.ContainsFunc(r.old, func(m NewMember) bool { return m.Root == nil })
	return &Step{
		ID: "stop-others", Title: "Stop etcd on every other master", Manual: !reached, Destructive: true, Confirm: r.conf.Name,
		Applies: func(context.Context) (bool, string) {
			if len(r.old) == 0 {
				return false, r.conf.Name + " is the only member"
			}
			return true, ""
		},
		Plan: func(context.Context) (Plan, error) {
			var plan Plan
			for _, m := range r.old {
				if reached {
					plan = append(plan, r.stopOtherPlan(m)...)
					continue
				}
				plan = append(plan,
					"manual, on "+m.Name+":",
					"  sudo mkdir -p "+path.Dir(etcdLayouts[0].aside)+" && sudo mv "+etcdLayouts[0].manifest+" "+path.Dir(etcdLayouts[0].aside)+"/",
					"  sudo mv /var/lib/etcd /var/lib/etcd.day2-"+r.stamp()+"   # keep its old data, never delete it; it rejoins later with an empty data dir",
					"  check: sudo crictl ps | grep etcd shows nothing; "+first(m.PeerURLs)+" refuses connections")
			}
			return append(plan,
				"WARNING: every old member must stay stopped: one that comes back tries to reach the new cluster and logs "+
					"\"rafthttp: request cluster ID mismatch\" (seed 004)",
				"day2 then checks that none of them answers on its peer or client URLs"), nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if !reached {
				return nil // the operator's, on the hosts day2 does not reach
			}
			for _, m := range r.old {
				if err := r.stopOther(ctx, m, progress); err != nil {
					return fmt.Errorf("stop %s: %w", m.Name, err)
				}
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			var up []string
			for _, m := range r.old {
				for _, u := range append(append([]string{}, m.PeerURLs...), m.ClientURLs...) {
					if etcd.Answers(ctx, u) {
						up = append(up, m.Name+" at "+u)
						break
					}
				}
			}
			if len(up) > 0 {
				return fmt.Errorf("still answering: %s", strings.Join(up, ", "))
			}
			return nil
		},
	}
}

// otherDataDir is an old member's data dir, from its etcd.conf.
func otherDataDir(m NewMember) string {
	if c, err := etcdHere(m.Root); err == nil && c.DataDir != "" {
		return c.DataDir
	}
	return "/var/lib/etcd"
}

func (r *rebuild) stopOtherPlan(m NewMember) Plan {
	l, _ := etcdLayoutOf(m.Root)
	if l.manifest == "" {
		l = etcdLayouts[0]
	}
	dir := otherDataDir(m)
	head := m.Root.Where()
	if head != "on "+m.Name {
		head = m.Name + ", " + head
	}
	return Plan{
		head + ":",
		fmt.Sprintf("  mv %s %s   # the kubelet stops the etcd static pod", l.manifest, l.aside),
		fmt.Sprintf("  wait until nothing answers on %s", first(m.PeerURLs)),
		"  " + hostfs.DescribeMoveDirOn(m.Root, dir, dir+".day2-"+r.stamp()) + "   # its old data, kept; it rejoins later with an empty data dir",
	}
}

// stopOther stops one old member on its host: the static pod first, then
// its data dir aside once nothing answers. Done parts are left as they are,
// so a resumed run goes on.
func (r *rebuild) stopOther(ctx context.Context, m NewMember, progress func(string)) error {
	l, ok := etcdLayoutOf(m.Root)
	if !ok {
		return fmt.Errorf("no etcd static pod manifest (%s or %s) %s", etcdLayouts[0].manifest, etcdLayouts[0].aside, m.Root.Where())
	}
	if hostfs.Exists(m.Root, l.manifest) {
		if err := hostfs.Move(m.Root, l.manifest, l.aside); err != nil {
			return err
		}
		progress(fmt.Sprintf("%s: moved %s to %s", m.Name, l.manifest, l.aside))
	}
	if u := first(m.PeerURLs); u != "" {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := etcd.WaitDown(wctx, u, 3*time.Second)
		cancel()
		if err != nil {
			return err
		}
	}
	dir := otherDataDir(m)
	if hostfs.Exists(m.Root, path.Join(dir, "member")) {
		if err := hostfs.MoveDirOn(ctx, m.Root, dir, dir+".day2-"+r.stamp()); err != nil {
			return err
		}
		progress(fmt.Sprintf("%s: moved %s to %s.day2-%s", m.Name, dir, dir, r.stamp()))
	}
	return nil
}

// urls are this member's addresses; all refuse connections once it stopped.
func (r *rebuild) urls() []string {
	return append(append([]string{}, r.conf.PeerURLs...), r.conf.ClientURLs...)
}

// stopStep stops this host's member: typed, like stop-others (which does not
// apply to a one-member cluster).
func (r *rebuild) stopStep() *Step {
	l := r.layout
	return &Step{
		ID: "stop-etcd", Title: "Stop etcd on this host", Destructive: true, Confirm: r.conf.Name,
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				fmt.Sprintf("mkdir -p %s; mv %s %s   # under %s: the kubelet stops the etcd static pod (seed 003 §5.4.2.2)", path.Dir(l.aside), l.manifest, l.aside, r.here.Root),
				fmt.Sprintf("wait (up to %s) until %s refuse connections", memberStopTimeout, strings.Join(r.urls(), ", ")),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if r.here.Exists(l.manifest) {
				if err := r.here.Move(l.manifest, l.aside); err != nil {
					return err
				}
				progress("moved " + l.manifest + " to " + l.aside)
			}
			wctx, cancel := context.WithTimeout(ctx, memberStopTimeout)
			defer cancel()
			for _, u := range r.urls() {
				if err := etcd.WaitDown(wctx, u, 2*time.Second); err != nil {
					return err
				}
			}
			progress(r.conf.Name + " stopped")
			return nil
		},
		Verify: func(ctx context.Context) error {
			if r.here.Exists(l.manifest) {
				return fmt.Errorf("%s is still in place", l.manifest)
			}
			for _, u := range r.urls() {
				if etcd.Answers(ctx, u) {
					return fmt.Errorf("%s still answers at %s", r.conf.Name, u)
				}
			}
			return nil
		},
	}
}

func (r *rebuild) moveDataStep() *Step {
	return &Step{
		ID: "move-data", Title: "Move the data dir aside",
		Applies: func(context.Context) (bool, string) {
			if !r.here.Exists(r.conf.DataDir) {
				return false, "no " + r.conf.DataDir + " on this host"
			}
			return true, ""
		},
		Plan: func(context.Context) (Plan, error) {
			return Plan{fmt.Sprintf("%s   # under %s: kept, never deleted (seed 003 §5.4.2.2: mv /var/lib/etcd /var/lib/etcd.old)", r.here.DescribeMoveDir(r.conf.DataDir, r.asideDir()), r.here.Root)}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			return r.here.MoveDir(r.conf.DataDir, r.asideDir())
		},
		Verify: func(context.Context) error {
			if r.here.Exists(path.Join(r.conf.DataDir, "member")) { // a mount point stays, emptied
				return fmt.Errorf("%s still holds the member's data", r.conf.DataDir)
			}
			if !r.here.Exists(r.asideDir()) {
				return fmt.Errorf("%s was not moved to %s", r.conf.DataDir, r.asideDir())
			}
			return nil
		},
	}
}

func (r *rebuild) restoreOptions(src, dir string) etcd.RestoreOptions {
	return etcd.RestoreOptions{
		Snapshot: src, DataDir: dir, Name: r.conf.Name, PeerURLs: r.conf.PeerURLs,
		InitialCluster: r.conf.SoloInitialCluster(), Token: r.token(), SkipHashCheck: r.fromData, RevisionBump: etcd.DefaultRevisionBump,
	}
}

func (r *rebuild) restoreStep() *Step {
	scratch := r.conf.DataDir + ".day2-restore"
	return &Step{
		ID: "restore", Title: "Restore " + r.conf.Name + " as a one-member cluster", Destructive: true, Confirm: r.conf.Name,
		Check: func(context.Context) error {
			if r.here.Exists(path.Join(r.conf.DataDir, "member")) {
				return fmt.Errorf("%s holds data: move it aside first", r.conf.DataDir)
			}
			if r.info.Path == "" || r.fromData {
				return r.verifySource()
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) {
			src := r.snapshot
			if r.fromData {
				aside, _ := r.aside()
				src = path.Join(aside, "member/snap/db")
			}
			skip := ""
			if r.fromData {
				skip = " --skip-hash-check"
			}
			plan := Plan{
				r.warning(),
				fmt.Sprintf("etcdutl snapshot restore %s --data-dir %s --name %s --initial-cluster %s --initial-cluster-token %s --initial-advertise-peer-urls %s --bump-revision %d --mark-compacted%s",
					src, scratch, r.conf.Name, r.conf.SoloInitialCluster(), r.token(), strings.Join(r.conf.PeerURLs, ","), etcd.DefaultRevisionBump, skip),
				fmt.Sprintf("then %s   (under %s)", r.here.DescribeMoveDir(scratch, r.conf.DataDir), r.here.Root),
			}
			if r.fromData {
				plan = append(plan, "WARNING: DATA LOSS: the member's own database has no checksum, and whatever the other members had and it had not is gone for good (the way --force-new-cluster starts from one member's data)")
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			src, err := r.source()
			if err != nil {
				return err
			}
			tmp, err := r.here.Path(scratch)
			if err != nil {
				return err
			}
			// Only an earlier attempt of this step leaves it: day2's own scratch.
			if err := os.RemoveAll(tmp); err != nil {
				return err
			}
			if err := etcd.Restore(r.restoreOptions(src, tmp), logging.Zap()); err != nil {
				return err
			}
			progress(fmt.Sprintf("restored revision %d into %s", r.info.Revision, scratch))
			return r.here.MoveDir(scratch, r.conf.DataDir)
		},
		Verify: func(context.Context) error {
			for _, sub := range []string{"member/snap/db", "member/wal"} {
				if !r.here.Exists(path.Join(r.conf.DataDir, sub)) {
					return fmt.Errorf("no %s/%s", r.conf.DataDir, sub)
				}
			}
			return nil
		},
	}
}

// confStep sets etcd.conf up for the one-member cluster, first taking it
// from the configuration backup when one is given (seed 003 §5.4.2.1).
func (r *rebuild) confStep() *Step {
	var edit hostfs.Edit
	return &Step{
		ID: "restore-conf", Title: "Set etcd.conf to the one-member cluster",
		Check: func(context.Context) error {
			var err error
			edit, err = r.here.PlanEdit(etcdConfPath, func(cur []byte) ([]byte, error) {
				if r.configBackup != "" {
					if cur, err = r.confFromBackup(); err != nil {
						return nil, err
					}
				}
				return model.RestoredEtcdConf(cur, r.conf.SoloInitialCluster(), r.token())
			})
			return err
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{fmt.Sprintf("edit %s under %s (backup beside it):", etcdConfPath, r.here.Root)}
			if r.configBackup != "" {
				plan[0] = fmt.Sprintf("take %s from %s (checksum verified), then set it up, under %s (backup beside it):", etcdConfPath, r.configBackup, r.here.Root)
			}
			if !edit.Changes() {
				plan = Plan{etcdConfPath + " already names " + r.conf.Name + " alone"}
			}
			return append(plan, diffLines(edit)...), nil
		},
		Run: func(ctx context.Context, progress func(string)) error { return applyEdit(r.here, edit, progress) },
		Verify: func(context.Context) error {
			data, err := r.here.ReadFile(etcdConfPath)
			if err != nil {
				return err
			}
			env, err := model.ParseEnvFile(data)
			if err != nil {
				return err
			}
			if got := env["ETCD_INITIAL_CLUSTER"]; got != r.conf.SoloInitialCluster() || env["ETCD_INITIAL_CLUSTER_STATE"] != "new" {
				return fmt.Errorf("ETCD_INITIAL_CLUSTER=%s, ETCD_INITIAL_CLUSTER_STATE=%s", got, env["ETCD_INITIAL_CLUSTER_STATE"])
			}
			if got := env["ETCD_INITIAL_CLUSTER_TOKEN"]; got != r.token() {
				return fmt.Errorf("ETCD_INITIAL_CLUSTER_TOKEN=%s, the restore used %s", got, r.token())
			}
			return nil
		},
	}
}

// confFromBackup reads etcd.conf out of an etcd-config tar.gz, after its
// checksum verified.
func (r *rebuild) confFromBackup() ([]byte, error) {
	if err := r.here.VerifyBackup(r.configBackup); err != nil {
		return nil, err
	}
	p, err := r.here.Path(r.configBackup)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.configBackup, err)
	}
	tr := tar.NewReader(gz)
	want := strings.TrimPrefix(etcdConfPath, "/")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s holds no %s", r.configBackup, etcdConfPath)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.configBackup, err)
		}
		if h.Name == want {
			return io.ReadAll(tr)
		}
	}
}

// soloHealthy checks the cluster is this member alone, serving
// linearizable reads.
func (r *rebuild) soloHealthy(ctx context.Context) (bool, string) {
	snap, err := r.s.pollEtcd(ctx)
	if err != nil {
		return false, err.Error()
	}
	m, ok := snap.Member(r.conf.Name)
	switch {
	case !ok:
		return false, r.conf.Name + " is not listed"
	case snap.Voters() != 1:
		return false, fmt.Sprintf("%d voting members, want %s alone", snap.Voters(), r.conf.Name)
	case !m.Healthy:
		return false, r.conf.Name + " is not healthy: " + m.Err
	}
	return true, ""
}

func (r *rebuild) startStep() *Step {
	l := r.layout
	return &Step{
		ID: "start-etcd", Title: "Start etcd on this host",
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				fmt.Sprintf("mv %s %s   # under %s: the kubelet starts %s on the restored data", l.aside, l.manifest, r.here.Root, r.conf.Name),
				fmt.Sprintf("wait (up to %s) until it serves linearizable reads as the only member", memberStartTimeout),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if !r.here.Exists(l.manifest) {
				if err := r.here.Move(l.aside, l.manifest); err != nil {
					return err
				}
				progress("moved " + l.aside + " to " + l.manifest)
			}
			return waitFor(ctx, memberStartTimeout, 500*time.Millisecond, func() (bool, string) { return r.soloHealthy(ctx) })
		},
		Verify: func(ctx context.Context) error {
			if ok, why := r.soloHealthy(ctx); !ok {
				return errors.New(why)
			}
			return nil
		},
	}
}

// apiServing checks the API server answers ready and reads from etcd.
func (r *rebuild) apiServing(ctx context.Context) (bool, string) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	body, err := r.s.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(cctx)
	if err != nil {
		return false, "API /readyz: " + err.Error()
	}
	if string(body) != "ok" {
		return false, "API /readyz: " + string(body)
	}
	if _, err := r.s.client.CoreV1().Namespaces().List(cctx, metav1.ListOptions{Limit: 1}); err != nil {
		return false, "API list namespaces: " + err.Error()
	}
	return true, ""
}

func (r *rebuild) verifyClusterStep() *Step {
	check := func(ctx context.Context) (bool, string) {
		if ok, why := r.soloHealthy(ctx); !ok {
			return false, why
		}
		return r.apiServing(ctx)
	}
	return &Step{
		ID: "verify-cluster", Title: "Check the one-member cluster and the API server",
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				"read only: etcd member list and health; GET /readyz; GET /api/v1/namespaces?limit=1",
				fmt.Sprintf("waits up to %s: the API server reconnects to etcd and relists (the bumped, compacted revisions make every watch start over)", apiServeTimeout),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if err := waitFor(ctx, apiServeTimeout, time.Second, func() (bool, string) { return check(ctx) }); err != nil {
				return err
			}
			if snap, err := r.s.pollEtcd(ctx); err == nil {
				progress(fmt.Sprintf("etcd cluster %s: %s alone, %s; the API server serves", model.FormatMemberID(snap.ClusterID), r.conf.Name, snap.Badge()))
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			if ok, why := check(ctx); !ok {
				return errors.New(why)
			}
			return nil
		},
	}
}
