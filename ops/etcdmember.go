package ops

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/day2ops/day2/assets"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Host files the etcd membership procedures touch besides etcd.conf.
const (
	masterConfigPath = "/etc/origin/master/master-config.yaml"
	flanneldPath     = "/etc/sysconfig/flanneld"
)

// etcdPodLayout is where a host keeps its etcd static pod manifest and
// where a stopped one waits: OpenShift 3.11 (seed 003 §5.4.2: pods-stopped)
// or OpenShift 4 (seed 001 §5.2.4.2: /var/lib/etcd-backup).
type etcdPodLayout struct {
	manifest, aside string
	// operated: the etcd operator writes the manifest and the member's
	// configuration (OpenShift 4); day2 does not start such a member itself.
	operated bool
}

var etcdLayouts = []etcdPodLayout{
	{manifest: staticPods + "/etcd.yaml", aside: "/etc/origin/node/pods-stopped/etcd.yaml"},
	{manifest: "/etc/kubernetes/manifests/etcd-pod.yaml", aside: "/var/lib/etcd-backup/etcd-pod.yaml", operated: true},
}

// etcdLayoutOf finds the layout of a host by the manifest it has, in place
// or aside.
func etcdLayoutOf(h hostfs.Host) (etcdPodLayout, bool) {
	for _, l := range etcdLayouts {
		if hostfs.Exists(h, l.manifest) || hostfs.Exists(h, l.aside) {
			return l, true
		}
	}
	return etcdPodLayout{}, false
}

// memberRef is the member a step acts on: by ID (etcd-remove-member) or by
// its host (a master's member, deprecate-master: ETCD_NAME, peer URL, node
// name or address, model.HostMember). known is the member as last seen, so
// steps after its removal still know its name and URLs. With a state, the
// member a host resolved to is run state: recorded when first found, so a
// run resumed after its removal still knows it.
type memberRef struct {
	id    uint64
	host  model.HostIdentity
	known *model.EtcdMember
	state *RunState
}

// refMemberKey is the member a memberRef resolved to (identity and URLs
// only: what later steps need, and stable from poll to poll).
var refMemberKey = stateKey[model.EtcdMember]("etcd-member")

func (r *memberRef) find(c model.EtcdCluster) (model.EtcdMember, bool) {
	var m model.EtcdMember
	var ok bool
	if r.id != 0 {
		m, ok = c.MemberByID(r.id)
	} else {
		m, _, ok = c.HostMember(r.host)
	}
	if ok {
		r.known = &m
		if r.state != nil {
			refMemberKey.Set(r.state, model.EtcdMember{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs})
		}
	}
	return m, ok
}

// last is the member as last seen, by this session or (from the run
// state) an earlier one.
func (r *memberRef) last() (model.EtcdMember, bool) {
	if r.known != nil {
		return *r.known, true
	}
	if r.state != nil {
		return refMemberKey.Get(r.state)
	}
	return model.EtcdMember{}, false
}

func (r *memberRef) String() string {
	m, ok := r.last()
	switch {
	case ok:
		return m.IDHex() + " (" + m.DisplayName() + ")"
	case r.id != 0:
		return model.FormatMemberID(r.id)
	default:
		return "of " + r.host.Node
	}
}

// notFound says how a host's member was looked for.
func (r *memberRef) notFound() string {
	how := "named " + r.host.Node
	if r.host.EtcdName != "" {
		how += " or " + r.host.EtcdName + " (ETCD_NAME)"
	}
	if len(r.host.PeerURLs) > 0 {
		how += ", with peer URL " + strings.Join(r.host.PeerURLs, ",")
	}
	if len(r.host.Addresses) > 0 {
		how += ", nor alone on " + strings.Join(r.host.Addresses, ",")
	}
	return "no etcd member is " + how
}

// settleTimeout is how long a verify waits for a membership change to show:
// the member list is a serializable read, and a member that applies the
// change a moment later may still answer with the old membership.
const settleTimeout = 10 * time.Second

// waitFor polls cond every interval until it holds or timeout passes; the
// error then carries cond's last reason.
func waitFor(ctx context.Context, timeout, interval time.Duration, cond func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %s", timeout, why)
		case <-time.After(interval):
		}
	}
}

// pollEtcd is a fresh snapshot, or why there is none.
func (s *Session) pollEtcd(ctx context.Context) (model.EtcdCluster, error) {
	if err := s.etcdReady(); err != nil {
		return model.EtcdCluster{}, err
	}
	snap := s.poller.Poll(ctx)
	if snap.Err != "" {
		return snap, errors.New(snap.Err)
	}
	return snap, nil
}

// etcdRemoveStep removes a member through the quorum guard (seed 003
// §5.2.1.4, §5.4.5): destructive, confirmed with the member's hex ID; the
// guard (model.RemovalCheck) is checked again right before MemberRemove.
func etcdRemoveStep(s *Session, ref *memberRef, allowTwo bool) *Step {
	var warnings []string
	st := &Step{ID: "etcd-remove", Title: "Remove the etcd member " + ref.String(), Destructive: true}
	if ref.id != 0 {
		st.Confirm = model.FormatMemberID(ref.id)
	}
	st.Applies = func(ctx context.Context) (bool, string) {
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return true, "" // the check says why
		}
		m, ok := ref.find(snap)
		switch {
		case !ok && ref.id == 0:
			return false, ref.notFound()
		case !ok:
			return false, "member " + ref.String() + " is not in the cluster (removed already)"
		}
		st.Confirm = m.IDHex()
		return true, ""
	}
	st.Check = func(ctx context.Context) error {
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return err
		}
		m, ok := ref.find(snap)
		switch {
		case !ok && ref.id != 0:
			return snap.NoSuchMember(ref.id)
		case !ok:
			return errors.New(ref.notFound())
		}
		st.Confirm = m.IDHex() // where the member is found, whichever look finds it
		warnings, err = snap.RemovalCheck(m.ID, allowTwo)
		return err
	}
	st.Plan = func(context.Context) (Plan, error) {
		if ref.known == nil {
			return Plan{"etcdctl member remove " + ref.String()}, nil
		}
		m := *ref.known
		plan := Plan{fmt.Sprintf("etcdctl member remove %s   # %s, peer %s, client %s", m.IDHex(), m.DisplayName(), first(m.PeerURLs), first(m.ClientURLs))}
		for _, w := range warnings {
			plan = append(plan, "WARNING: "+w)
		}
		if m.Healthy {
			plan = append(plan, "the removed member's etcd stops itself; keep it from restarting on its host (move its etcd static pod manifest out)")
		}
		return plan, nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		if ref.known == nil {
			return errors.New("no member to remove")
		}
		w, err := s.poller.RemoveMember(ctx, ref.known.ID, allowTwo)
		for _, x := range w {
			progress(x)
		}
		return err
	}
	st.Verify = func(ctx context.Context) error {
		return waitFor(ctx, settleTimeout, 300*time.Millisecond, func() (bool, string) {
			snap, err := s.pollEtcd(ctx)
			if err != nil {
				return false, err.Error()
			}
			if m, ok := ref.find(snap); ok {
				return false, fmt.Sprintf("member %s (%s) is still listed", m.IDHex(), m.DisplayName())
			}
			return true, ""
		})
	}
	return st
}

// etcdConfStep makes ETCD_INITIAL_CLUSTER in etcd.conf list the cluster's
// members as they are now, on this host and on every other etcd host day2
// reaches over SSH, and gives the exact line for the ones it does not (seed
// 003 §5.2.1.4: "modify the /etc/etcd/etcd.conf file on all remaining etcd
// hosts"). It stands after the membership change.
func etcdConfStep(s *Session, here hostfs.FS) *Step {
	hosts, missed := s.groupHosts(here, "etcd")
	conf := editsOn(hosts, etcdConfPath)
	var value string
	sync := func(ctx context.Context) error {
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return err
		}
		entries, err := model.InitialCluster(snap.Members, 0, "")
		if err != nil {
			return err
		}
		return conf.plan(func(b []byte) ([]byte, error) {
			out, v, err := model.SyncInitialCluster(b, entries)
			value = v
			return out, err
		})
	}
	return &Step{
		ID: "etcd-conf", Title: "Make ETCD_INITIAL_CLUSTER list the members as they are now",
		Applies: conf[0].exists,
		Check:   sync,
		Plan: func(context.Context) (Plan, error) {
			plan := conf.lines("ETCD_INITIAL_CLUSTER lists the members already")
			if missed != "" {
				plan = append(plan, "manual, on "+missed+": set ETCD_INITIAL_CLUSTER="+value+" in "+etcdConfPath)
			}
			return append(plan, "(etcd reads it only when a member first starts: restarting etcd is not required)"), nil
		},
		Run:    func(ctx context.Context, progress func(string)) error { return conf.apply(progress) },
		Verify: func(ctx context.Context) error { return conf.verify(func() error { return sync(ctx) }) },
	}
}

// hostEdits is one file edit on several hosts (this one first): planned,
// shown, applied and verified host by host. Hosts without the file are
// left out (not every master is an etcd host).
type hostEdits []*hostEdit

func editsOn(hosts []hostfs.Host, path string) hostEdits {
	out := make(hostEdits, len(hosts))
	for i, h := range hosts {
		out[i] = &hostEdit{fs: h, path: path}
	}
	return out
}

// present are the edits whose host has the file.
func (e hostEdits) present() hostEdits {
	var out hostEdits
	for _, h := range e {
		if ok, _ := h.exists(context.Background()); ok {
			out = append(out, h)
		}
	}
	return out
}

// plan plans every host's edit with transform, this host's last: what
// transform records is then this host's.
func (e hostEdits) plan(transform func([]byte) ([]byte, error)) error {
	p := e.present()
	for i := len(p) - 1; i >= 0; i-- {
		if err := p[i].plan(transform); err != nil {
			return fmt.Errorf("%s %s: %w", p[i].path, p[i].fs.Where(), err)
		}
	}
	return nil
}

func (e hostEdits) lines(done string) Plan {
	var plan Plan
	for _, h := range e.present() {
		plan = append(plan, h.lines(done)...)
	}
	return plan
}

func (e hostEdits) apply(progress func(string)) error {
	for _, h := range e.present() {
		if err := h.apply(progress); err != nil {
			return fmt.Errorf("%s %s: %w", h.path, h.fs.Where(), err)
		}
	}
	return nil
}

func (e hostEdits) verify(replan func() error) error {
	if err := replan(); err != nil {
		return err
	}
	for _, h := range e.present() {
		if h.edit.Changes() {
			return fmt.Errorf("%s %s is not as planned; still to change:\n%s", h.path, h.fs.Where(), h.edit.Diff)
		}
	}
	return nil
}

// hostEdit is one host file edit a step plans in its Check (its Plan shows
// the diff), applies in Run, and verifies by planning it again: nothing may
// be left to change.
type hostEdit struct {
	fs   hostfs.Host
	path string
	edit hostfs.Edit
}

// exists is an Applies: the file is on this host.
func (h *hostEdit) exists(context.Context) (bool, string) {
	if !hostfs.Exists(h.fs, h.path) {
		return false, "no " + h.path + " on this host"
	}
	return true, ""
}

func (h *hostEdit) plan(transform func([]byte) ([]byte, error)) error {
	var err error
	h.edit, err = hostfs.PlanEdit(h.fs, h.path, transform)
	return err
}

// lines is the plan of the edit: the diff, or done when nothing changes.
func (h *hostEdit) lines(done string) Plan {
	if !h.edit.Changes() {
		return Plan{fmt.Sprintf("%s %s: %s", h.path, h.fs.Where(), done)}
	}
	return append(Plan{fmt.Sprintf("edit %s %s (backup beside it):", h.path, h.fs.Where())}, diffLines(h.edit)...)
}

func (h *hostEdit) apply(progress func(string)) error { return applyEdit(h.fs, h.edit, progress) }

func (h *hostEdit) verify(replan func() error) error {
	if err := replan(); err != nil {
		return err
	}
	if h.edit.Changes() {
		return fmt.Errorf("%s is not as planned; still to change:\n%s", h.path, h.edit.Diff)
	}
	return nil
}

func diffLines(e hostfs.Edit) []string {
	if !e.Changes() {
		return nil
	}
	return strings.Split(strings.TrimRight(e.Diff, "\n"), "\n")
}

func applyEdit(h hostfs.Host, e hostfs.Edit, progress func(string)) error {
	if !e.Changes() {
		return nil
	}
	backup, err := hostfs.Apply(h, e, time.Now())
	if err == nil {
		progress("backup " + backup)
	}
	return err
}

// etcdClientsStep updates the etcd URLs the rest of the cluster uses: the
// etcdClientInfo.urls list of this master's master-config.yaml (seed 003
// §5.4.4.2: "add the new etcd host ... and remove any failed etcd hosts"),
// with the line for the other masters, the API restart, and what to set
// in flanneld's FLANNEL_ETCD_ENDPOINTS. urls says which client URLs go and
// come; it is asked when the step runs (a removed member is known by then).
func etcdClientsStep(s *Session, here hostfs.FS, urls func() (remove, add []string)) *Step {
	hosts, missed := s.groupHosts(here, "masters")
	cfg := editsOn(hosts, masterConfigPath)
	var list []string
	plan := func() error {
		remove, add := urls()
		return cfg.plan(func(b []byte) ([]byte, error) {
			out, l, err := model.EditEtcdClientURLs(b, remove, add)
			list = l
			return out, err
		})
	}
	return &Step{
		ID: "etcd-clients", Title: "Point the masters (and flanneld) at the etcd members as they are now",
		Applies: func(ctx context.Context) (bool, string) {
			if ok, why := cfg[0].exists(ctx); !ok {
				return false, why
			}
			if remove, add := urls(); len(remove)+len(add) == 0 {
				return false, "no etcd client URL to add or remove"
			}
			return true, ""
		},
		Check: func(context.Context) error { return plan() },
		Plan: func(context.Context) (Plan, error) {
			remove, add := urls()
			p := cfg.lines("etcdClientInfo.urls is up to date")
			if missed != "" {
				p = append(p, "manual, on "+missed+": etcdClientInfo.urls in "+masterConfigPath+": "+strings.Join(list, ", "))
			}
			p = append(p, "manual, on every master: master-restart api && master-restart controllers")
			if data, err := here.ReadFile(flanneldPath); err == nil {
				if env, err := model.ParseEnvFile(data); err == nil && env["FLANNEL_ETCD_ENDPOINTS"] != "" {
					p = append(p, "if flannel is used, on every host: FLANNEL_ETCD_ENDPOINTS="+model.EditURLList(env["FLANNEL_ETCD_ENDPOINTS"], remove, add)+
						" in "+flanneldPath+", then systemctl restart flanneld.service")
				}
			} else {
				p = append(p, fmt.Sprintf("if flannel is used, on every host: in %s remove %v from and add %v to FLANNEL_ETCD_ENDPOINTS, then systemctl restart flanneld.service", flanneldPath, remove, add))
			}
			return p, nil
		},
		Run:    func(ctx context.Context, progress func(string)) error { return cfg.apply(progress) },
		Verify: func(context.Context) error { return cfg.verify(plan) },
	}
}

// moveLeaderStep offers to hand leadership away from a member about to be
// removed; it applies only while that member leads.
func moveLeaderStep(s *Session, ref *memberRef) *Step {
	var to model.EtcdMember
	leads := func(ctx context.Context) (bool, error) {
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return false, err
		}
		m, ok := ref.find(snap)
		l, lok := snap.Leader()
		if !ok || !lok || l.ID != m.ID {
			return false, nil
		}
		var found bool
		if to, found = snap.LeaderTransferee(m.ID); !found {
			return true, errors.New("no other healthy voting member to hand leadership to")
		}
		return true, nil
	}
	return &Step{
		ID: "etcd-move-leader", Title: "Move leadership away from the member first", Skippable: true,
		Applies: func(ctx context.Context) (bool, string) {
			if ok, err := leads(ctx); err == nil && !ok {
				return false, ref.String() + " is not the leader"
			}
			return true, ""
		},
		Check: func(ctx context.Context) error { _, err := leads(ctx); return err },
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				fmt.Sprintf("WARNING: %s is the leader: removing it makes the others elect a new one, with writes paused meanwhile", ref),
				fmt.Sprintf("etcdctl move-leader %s   # to %s, the healthy voter with the newest applied index (%s)", to.IDHex(), to.DisplayName(), to.AppliedIndexText()),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			return s.poller.MoveLeader(ctx, to.ID)
		},
		Verify: func(ctx context.Context) error {
			return waitFor(ctx, 15*time.Second, 300*time.Millisecond, func() (bool, string) {
				ok, err := leads(ctx)
				if err != nil && !ok {
					return false, err.Error()
				}
				return !ok, ref.String() + " still leads"
			})
		},
	}
}

// NewMember is a member to add: the name of its host, its URLs, and its
// host root when that host's files are reachable from here (the demo, the
// tests, a mounted root); without one, starting it is a manual step.
type NewMember struct {
	Name       string
	PeerURLs   []string
	ClientURLs []string
	// Root is the new member's host (--member-root, or reached over SSH);
	// nil when day2 cannot reach it, and its steps are manual.
	Root hostfs.Host
	// Replaces is the member this one takes the place of with the same
	// peer URLs (rebuilt on its host); the steps do not mistake it for the
	// new member while it is still listed.
	Replaces uint64
	// AllowSingleVoter is the typed override that lets a one-member cluster
	// older than etcd 3.4 grow to two voters (model.VoterAddCheck).
	AllowSingleVoter bool
}

// How long the add-member steps wait for a new member to start and to
// become healthy.
const (
	memberStartTimeout  = 2 * time.Minute
	memberHealthTimeout = time.Minute
)

// AddMemberSteps are the steps that grow the cluster by one member the
// safe way (seed 003 §5.4.4, issue 5): add-learner (checks every voting
// member is healthy and no other learner waits, then MemberAddAsLearner:
// quorum does not change), start-member (the new host's etcd.conf —
// ETCD_NAME, ETCD_INITIAL_CLUSTER, ETCD_INITIAL_CLUSTER_STATE=existing and
// its URLs — and its static pod: done here when nm.Root is set and the
// host has the 3.11 layout, manual otherwise; waits until it has started),
// promote (retried with backoff while etcd says the learner is not in sync,
// showing its raft index against the leader's, for up to promoteTimeout),
// verify-member (healthy voting member, whole cluster healthy; warns when
// the count is even).
//
// Before etcd 3.4 there are no learners (etcd 3.3 takes `member add
// --learner` as a voter add), so the steps follow the guide's own order
// there (seed 003 §5.4.4.2), decided from the version the members report
// when each step looks: prepare-member (the new host's etcd.conf with
// ETCD_INITIAL_CLUSTER_STATE=existing and the membership including itself,
// an empty data dir, its certificates), then add-voter (destructive,
// typed: the quorum grows at once; refused should the cluster lose quorum
// if the new member failed to start) which starts the member right after
// the add; add-learner and promote skip themselves. A version no member
// reports is refused, never guessed.
//
// Procedures that grow the cluster by several members (a quorum recovery
// growing back) call it once per member with a distinct suffix: the step
// IDs become add-learner-<suffix> and so on, so the journal and resume
// tell them apart; the explanations are the etcd-add-member ones either way.
// Every step finds the member by its peer URLs, so a resumed run picks up
// a learner an earlier session added.
func AddMemberSteps(s *Session, nm NewMember, promoteTimeout time.Duration, suffix string) []*Step {
	a := &adder{s: s, nm: nm}
	steps := []*Step{a.prepareStep(), a.addVoterStep(), a.addStep(), a.startStep(), a.promoteStep(promoteTimeout), a.verifyStep()}
	for _, st := range steps {
		// The explanation is looked up by the plain ID, whatever the suffix.
		text, err := assets.StepText("etcd-add-member", st.ID)
		if err != nil {
			text = err.Error()
		}
		st.Explain = text
		if suffix != "" {
			st.ID += "-" + suffix
			st.Title += " (" + nm.Name + ")"
		}
	}
	return steps
}

// adder carries what the add-member steps of one member learn.
type adder struct {
	s        *Session
	nm       NewMember
	warnings []string
	initial  string // ETCD_INITIAL_CLUSTER for the new member
	conf     *hostEdit
	layout   etcdPodLayout
	// voterAdd is the quorum arithmetic of add-voter (etcd before 3.4).
	voterAdd model.VoterAdd
}

// learnerMode says from the cluster's version whether the new member joins
// as a learner (3.4+) or as a voter (older); known is false when no member
// reported a version, and then neither way is taken.
func learnerMode(snap model.EtcdCluster) (learners, known bool) {
	return model.SupportsLearners(snap.Version), snap.Version != ""
}

// find is the new member, by its peer URLs.
func (a *adder) find(ctx context.Context) (model.EtcdCluster, model.EtcdMember, bool, error) {
	snap, err := a.s.pollEtcd(ctx)
	if err != nil {
		return snap, model.EtcdMember{}, false, err
	}
	for _, m := range snap.Members {
		if m.ID != a.nm.Replaces && slices.ContainsFunc(m.PeerURLs, func(u string) bool { return slices.Contains(a.nm.PeerURLs, u) }) {
			return snap, m, true, nil
		}
	}
	return snap, model.EtcdMember{}, false, nil
}

// member is the new member now, or why it cannot be looked at.
func (a *adder) member(ctx context.Context) (model.EtcdCluster, model.EtcdMember, string) {
	snap, m, ok, err := a.find(ctx)
	switch {
	case err != nil:
		return snap, m, err.Error()
	case !ok:
		return snap, m, a.nm.Name + " is not a member"
	}
	return snap, m, ""
}

func (a *adder) addStep() *Step {
	return &Step{
		ID: "add-learner", Title: "Add " + a.nm.Name + " as a learner",
		Applies: func(ctx context.Context) (bool, string) {
			snap, m, ok, err := a.find(ctx)
			if err == nil && ok {
				return false, fmt.Sprintf("%s is a member already (%s, peer %s)", a.nm.Name, m.IDHex(), first(m.PeerURLs))
			}
			if learners, known := learnerMode(snap); err == nil && known && !learners {
				return false, fmt.Sprintf("etcd %s has no learners: %s joins as a voter (add-voter)", snap.Version, a.nm.Name)
			}
			return true, ""
		},
		Check: func(ctx context.Context) error {
			snap, err := a.s.pollEtcd(ctx)
			if err != nil {
				return err
			}
			a.warnings, err = snap.AddCheck(a.nm.Name, a.nm.PeerURLs)
			return err
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{
				fmt.Sprintf("etcdctl member add %s --learner --peer-urls=%s", a.nm.Name, strings.Join(a.nm.PeerURLs, ",")),
				"a learner does not vote: the quorum stays as it is until the promotion",
			}
			for _, w := range a.warnings {
				plan = append(plan, "WARNING: "+w)
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			id, _, warnings, err := a.s.poller.AddLearner(ctx, a.nm.Name, a.nm.PeerURLs)
			for _, w := range warnings {
				progress("WARNING: " + w)
			}
			if err == nil {
				progress(fmt.Sprintf("added %s as learner %s", a.nm.Name, model.FormatMemberID(id)))
			}
			return err
		},
		Verify: func(ctx context.Context) error {
			var voter error
			err := waitFor(ctx, settleTimeout, 300*time.Millisecond, func() (bool, string) {
				_, m, ok, err := a.find(ctx)
				if err != nil || !ok {
					return false, errors.Join(err, fmt.Errorf("no member has the peer URL %s", first(a.nm.PeerURLs))).Error()
				}
				if !m.Learner {
					// Not the learner this step adds: a voter with its URL
					// changes the quorum, and waiting does not make it one.
					voter = fmt.Errorf("member %s (%s) has the peer URL %s but is a voting member, not the learner this step adds", m.IDHex(), m.DisplayName(), first(m.PeerURLs))
				}
				return true, ""
			})
			return errors.Join(err, voter)
		},
	}
}

// local reports whether day2 starts the member itself: its host's files
// are here and etcd there is configured by etcd.conf, not by an operator.
func (a *adder) local() bool {
	if a.nm.Root == nil {
		return false
	}
	l, ok := etcdLayoutOf(a.nm.Root)
	return ok && !l.operated && hostfs.Exists(a.nm.Root, etcdConfPath)
}

// settings are the new member's etcd.conf settings, with the membership
// it joins (as `member add` prints them). Before the add, the membership
// is the one the add will make.
func (a *adder) settings(ctx context.Context) ([]model.EnvVar, error) {
	snap, m, ok, err := a.find(ctx)
	if err != nil {
		return nil, err
	}
	members := slices.DeleteFunc(slices.Clone(snap.Members), func(x model.EtcdMember) bool { return x.ID == a.nm.Replaces })
	if !ok {
		m = model.EtcdMember{ID: math.MaxUint64, PeerURLs: a.nm.PeerURLs}
		members = append(members, m)
	}
	entries, err := model.InitialCluster(members, m.ID, a.nm.Name)
	if err != nil {
		return nil, err
	}
	a.initial = model.FormatInitialCluster(entries)
	return model.NewMemberConf(a.nm.Name, a.nm.PeerURLs, a.nm.ClientURLs, a.initial), nil
}

// prepareLocal plans the new host's etcd.conf edit (when its files are
// here) and lists what keeps the host from joining: data of an earlier
// member in its data dir, missing certificates.
func (a *adder) prepareLocal(ctx context.Context) (problems []string, err error) {
	vars, err := a.settings(ctx)
	if err != nil || !a.local() {
		return nil, err
	}
	root := a.nm.Root
	a.layout, _ = etcdLayoutOf(root)
	if a.conf == nil {
		// One edit planned again and again: a Verify replans the edit its
		// Run applied, and must look at that same one.
		a.conf = &hostEdit{fs: root, path: etcdConfPath}
	}
	if err := a.conf.plan(func(b []byte) ([]byte, error) { return model.SetEnvFileValues(b, vars...), nil }); err != nil {
		return nil, err
	}
	host, err := etcdHere(root)
	if err != nil {
		return nil, err
	}
	if hostfs.Exists(root, path.Join(host.DataDir, "member")) {
		problems = append(problems, fmt.Sprintf("%s %s holds an earlier member's data: move it aside first (seed 003 §5.4.4.2: the new host's data dir must be empty)", host.DataDir, root.Where()))
	}
	data, err := root.ReadFile(etcdConfPath)
	if err != nil {
		return nil, err
	}
	env, err := model.ParseEnvFile(data)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_TRUSTED_CA_FILE", "ETCD_PEER_CERT_FILE", "ETCD_PEER_KEY_FILE", "ETCD_PEER_TRUSTED_CA_FILE"} {
		if f := env[k]; f != "" && !hostfs.Exists(root, f) {
			problems = append(problems, fmt.Sprintf("%s=%s is not on %s: create its certificates first (seed 003 §5.4.4.2)", k, f, a.nm.Name))
		}
	}
	return problems, nil
}

// prepareStep is the guide's first step before etcd 3.4 (seed 003
// §5.4.4.2): the new host is set up completely before the voter add, so
// that it can start the moment the quorum grows.
func (a *adder) prepareStep() *Step {
	return &Step{
		ID: "prepare-member", Title: "Prepare " + a.nm.Name + " to join as a voter (etcd before 3.4)",
		Manual: !a.local(),
		Applies: func(ctx context.Context) (bool, string) {
			snap, m, ok, err := a.find(ctx)
			switch learners, known := learnerMode(snap); {
			case err == nil && ok:
				return false, fmt.Sprintf("%s is a member already (%s)", a.nm.Name, m.IDHex())
			case err == nil && known && learners:
				return false, fmt.Sprintf("etcd %s has learners: %s is set up after it joins as a learner (start-member)", snap.Version, a.nm.Name)
			}
			return true, ""
		},
		Check: func(ctx context.Context) error {
			snap, err := a.s.pollEtcd(ctx)
			if err != nil {
				return err
			}
			if _, known := learnerMode(snap); !known {
				return errors.New("no member reported its etcd version: whether learners exist (3.4+) decides how a member joins, and day2 does not guess")
			}
			problems, err := a.prepareLocal(ctx)
			if err == nil && len(problems) > 0 {
				err = errors.New(strings.Join(problems, "; "))
			}
			return err
		},
		Plan: func(ctx context.Context) (Plan, error) {
			if a.local() && a.conf != nil {
				return append(a.conf.lines("set for the new member already"),
					"etcd is NOT started yet: it starts right after the voter add (add-voter)"), nil
			}
			vars, err := a.settings(ctx)
			if err != nil {
				return nil, err
			}
			plan := Plan{"manual, on " + a.nm.Name + ": in " + etcdConfPath + " (a copy of another member's, with this host's own peer and server certificates in place — seed 003 §5.4.4.2) set:"}
			for _, v := range vars {
				plan = append(plan, "  "+v.Key+"="+v.Value)
			}
			return append(plan,
				"  the data dir must be empty: if it holds an earlier member's data, move it aside (kept, never deleted): "+dataAsideCommand("/var/lib/etcd"),
				"  do NOT start etcd yet: start it right after the voter add, at once"), nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if !a.local() {
				return nil
			}
			return a.conf.apply(progress)
		},
		Verify: func(ctx context.Context) error {
			if !a.local() {
				return nil // nothing of the other host to look at from here
			}
			return a.conf.verify(func() error { _, err := a.prepareLocal(ctx); return err })
		},
	}
}

// addVoterStep adds the member as a voter and starts it at once (etcd
// before 3.4, seed 003 §5.4.4.2). It is destructive: the quorum grows the
// moment etcd accepts the add.
func (a *adder) addVoterStep() *Step {
	st := &Step{
		ID: "add-voter", Title: "Add " + a.nm.Name + " as a voting member and start it at once (etcd before 3.4)",
		Destructive: true, Confirm: a.nm.Name,
	}
	st.Applies = func(ctx context.Context) (bool, string) {
		snap, m, ok, err := a.find(ctx)
		switch learners, known := learnerMode(snap); {
		case err == nil && ok:
			return false, fmt.Sprintf("%s is a member already (%s, peer %s)", a.nm.Name, m.IDHex(), first(m.PeerURLs))
		case err == nil && known && learners:
			return false, fmt.Sprintf("etcd %s has learners: %s joins as a learner (add-learner)", snap.Version, a.nm.Name)
		}
		return true, ""
	}
	st.Check = func(ctx context.Context) error {
		snap, err := a.s.pollEtcd(ctx)
		if err != nil {
			return err
		}
		a.voterAdd, err = snap.VoterAddCheck(a.nm.Name, a.nm.PeerURLs, a.local(), a.nm.AllowSingleVoter)
		if err != nil {
			return err
		}
		if a.local() {
			// The host must be ready to start the moment the add is accepted.
			problems, err := a.prepareLocal(ctx)
			if err != nil {
				return err
			}
			if a.conf.edit.Changes() {
				problems = append(problems, etcdConfPath+" of "+a.nm.Name+" is not set up yet (prepare-member)")
			}
			if len(problems) > 0 {
				return errors.New(strings.Join(problems, "; "))
			}
		}
		return nil
	}
	st.Plan = func(context.Context) (Plan, error) {
		plan := Plan{fmt.Sprintf("etcdctl member add %s --peer-urls=%s   # a VOTER: etcd before 3.4 has no learners, and no learner is requested", a.nm.Name, strings.Join(a.nm.PeerURLs, ","))}
		if a.voterAdd.QuorumAfter > 0 {
			plan = append(plan, a.voterAdd.Words(a.nm.Name)...)
		}
		if a.local() {
			return append(plan, fmt.Sprintf("then at once: mv %s %s   # %s: the kubelet starts etcd", etcdLayouts[0].aside, etcdLayouts[0].manifest, a.nm.Root.Where())), nil
		}
		return append(plan, "then at once, manual, on "+a.nm.Name+": start etcd (mv /etc/origin/node/pods-stopped/etcd.yaml /etc/origin/node/pods/, or systemctl start etcd)"), nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		id, add, err := a.s.poller.AddVoter(ctx, a.nm.Name, a.nm.PeerURLs, a.local(), a.nm.AllowSingleVoter)
		if err != nil {
			return err
		}
		progress(fmt.Sprintf("added %s as voting member %s: quorum now %d of %d", a.nm.Name, model.FormatMemberID(id), add.QuorumAfter, add.Voters+1))
		if !a.local() {
			return nil
		}
		root := a.nm.Root
		if l, _ := etcdLayoutOf(root); !hostfs.Exists(root, l.manifest) {
			if err := hostfs.Move(root, l.aside, l.manifest); err != nil {
				return fmt.Errorf("start %s right after the add: %w", a.nm.Name, err)
			}
			progress("moved " + l.aside + " to " + l.manifest)
		}
		return nil
	}
	// Verify: a voter, and — when day2 started it — running, so that
	// start-member finds it started rather than its data dir in use.
	st.Verify = func(ctx context.Context) error {
		timeout := settleTimeout
		if a.local() {
			timeout = memberStartTimeout
		}
		return waitFor(ctx, timeout, 300*time.Millisecond, func() (bool, string) {
			_, m, why := a.member(ctx)
			switch {
			case why != "":
				return false, why
			case m.Learner:
				return false, a.nm.Name + " is a learner, not a voter"
			case a.local() && (!m.Started() || !m.Reached):
				return false, a.nm.Name + " has not started: " + m.Err
			}
			return true, ""
		})
	}
	return st
}

func (a *adder) startStep() *Step {
	// check plans the new host's etcd.conf edit first (the plan shows it
	// even while the member is not added yet), then checks the rest.
	check := func(ctx context.Context) error {
		problems, err := a.prepareLocal(ctx)
		if err != nil {
			return err
		}
		if _, _, ok, _ := a.find(ctx); !ok {
			problems = append(problems, a.nm.Name+" is not a member yet: add it as a learner first")
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
	started := func(ctx context.Context) (bool, string) {
		_, m, why := a.member(ctx)
		switch {
		case why != "":
			return false, why
		case !m.Started():
			return false, a.nm.Name + " has not started (the member list shows it unstarted)"
		case !m.Reached:
			return false, a.nm.Name + " does not answer on " + first(m.ClientURLs) + ": " + m.Err
		}
		return true, ""
	}
	return &Step{
		ID: "start-member", Title: "Start etcd on " + a.nm.Name + " as a member of the existing cluster",
		Manual: !a.local(),
		// A voter added before etcd 3.4 was started with its add.
		Applies: func(ctx context.Context) (bool, string) {
			if ok, _ := started(ctx); ok {
				return false, a.nm.Name + " has started already"
			}
			return true, ""
		},
		Check: check,
		Plan: func(ctx context.Context) (Plan, error) {
			vars, err := a.settings(ctx)
			if err != nil {
				return nil, err
			}
			if a.local() {
				plan := Plan{}
				if a.conf != nil {
					plan = a.conf.lines("set for the new member already")
				}
				if !hostfs.Exists(a.nm.Root, a.layout.manifest) {
					plan = append(plan, fmt.Sprintf("mv %s %s   # %s: the kubelet starts etcd", a.layout.aside, a.layout.manifest, a.nm.Root.Where()))
				}
				return append(plan, fmt.Sprintf("then wait until %s has started (up to %s)", a.nm.Name, memberStartTimeout)), nil
			}
			plan := Plan{"manual, on " + a.nm.Name + ": in " + etcdConfPath + " (a copy of another member's, with its own certificates — seed 003 §5.4.4.2) set:"}
			for _, v := range vars {
				plan = append(plan, "  "+v.Key+"="+v.Value)
			}
			return append(plan,
				"  the data dir must be empty: if it holds an earlier member's data, move it aside (kept, never deleted): "+dataAsideCommand("/var/lib/etcd"),
				"  start etcd: mv /etc/origin/node/pods-stopped/etcd.yaml /etc/origin/node/pods/ (static pod) or systemctl enable etcd --now",
				"  (OpenShift 4: the etcd operator's redeployment starts it)",
				fmt.Sprintf("day2 then waits until %s has started (up to %s)", a.nm.Name, memberStartTimeout)), nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if !a.local() {
				return nil
			}
			root := a.nm.Root
			if err := a.conf.apply(progress); err != nil {
				return err
			}
			if !hostfs.Exists(root, a.layout.manifest) {
				if err := hostfs.Move(root, a.layout.aside, a.layout.manifest); err != nil {
					return err
				}
				progress("moved " + a.layout.aside + " to " + a.layout.manifest)
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			return waitFor(ctx, memberStartTimeout, 500*time.Millisecond, func() (bool, string) { return started(ctx) })
		},
	}
}

func (a *adder) promoteStep(timeout time.Duration) *Step {
	var id uint64
	var progress string
	return &Step{
		ID: "promote", Title: "Promote " + a.nm.Name + " to a voting member",
		Applies: func(ctx context.Context) (bool, string) {
			snap, m, ok, err := a.find(ctx)
			if learners, known := learnerMode(snap); err == nil && known && !learners {
				return false, fmt.Sprintf("etcd %s has no learners: %s joined as a voter", snap.Version, a.nm.Name)
			}
			if err == nil && ok && !m.Learner {
				return false, a.nm.Name + " is a voting member already"
			}
			return true, ""
		},
		Check: func(ctx context.Context) error {
			snap, m, why := a.member(ctx)
			switch {
			case why != "":
				return errors.New(why)
			case !m.Started():
				return fmt.Errorf("%s has not started", a.nm.Name)
			}
			id, progress = m.ID, snap.LearnerProgress(m.ID)
			return nil
		},
		Plan: func(context.Context) (Plan, error) {
			which, now := model.FormatMemberID(id), a.nm.Name+" now: "+progress
			if id == 0 {
				which, now = "<ID of "+a.nm.Name+">", a.nm.Name+" is not added yet"
			}
			return Plan{fmt.Sprintf("etcdctl member promote %s   # retried with a growing pause (up to %s) while etcd answers that the learner is not in sync", which, timeout), now}, nil
		},
		Run: func(ctx context.Context, report func(string)) error {
			return a.s.poller.PromoteLearner(ctx, id, timeout, report)
		},
		Verify: func(ctx context.Context) error {
			return waitFor(ctx, settleTimeout, 300*time.Millisecond, func() (bool, string) {
				_, m, why := a.member(ctx)
				switch {
				case why != "":
					return false, why
				case m.Learner:
					return false, a.nm.Name + " is still a learner"
				}
				return true, ""
			})
		},
	}
}

func (a *adder) verifyStep() *Step {
	var plan Plan
	return &Step{
		ID: "verify-member", Title: "Check " + a.nm.Name + " and the whole cluster are healthy",
		Check: func(ctx context.Context) error {
			snap, err := a.s.pollEtcd(ctx)
			if err != nil {
				return err
			}
			plan = Plan{fmt.Sprintf("read only: endpoint health of every member (now %s)", snap.Badge())}
			if v := snap.Voters(); v%2 == 0 {
				plan = append(plan, fmt.Sprintf("WARNING: %d voting members (quorum %d) tolerate no more failures than %d: add or remove one — seed 003 §5.4.4: keep an odd number", v, model.QuorumSize(v), v-1))
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
		Verify: func(ctx context.Context) error {
			return waitFor(ctx, memberHealthTimeout, 500*time.Millisecond, func() (bool, string) {
				snap, m, why := a.member(ctx)
				switch {
				case why != "":
					return false, why
				case m.Learner || !m.Healthy:
					return false, fmt.Sprintf("%s is not a healthy voting member (%s)", a.nm.Name, m.Err)
				case snap.State() != model.QuorumHealthy:
					return false, "the cluster is " + snap.Badge()
				}
				return true, ""
			})
		},
	}
}
