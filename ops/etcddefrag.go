package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// memberHealthyTimeout is how long etcd-defrag waits for every voting
// member to be healthy again before the next member.
const memberHealthyTimeout = time.Minute

// preflightHealthWait is how long the preflight gives a member that missed a
// health read before it refuses the defragmentation.
const preflightHealthWait = 10 * time.Second

// buildEtcdDefrag compacts the keyspace, defragments the members one at a
// time (followers first, the leader last, learners skipped, every voting
// member healthy before each and between), then disarms NOSPACE alarms —
// only those, and only where the database is back under its quota.
func buildEtcdDefrag(s *Session, p params) (*Procedure, error) {
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	return &Procedure{Steps: []*Step{
		defragPreflightStep(s),
		compactStep(s, timeout),
		defragmentStep(s, timeout),
		disarmNoSpaceStep(s),
	}}, nil
}

// dbLine describes one member's database for a plan; what its version
// does not report is "—" (in use before 3.4), the quota before 3.6 is its
// host's configured one, with where it was read.
func (s *Session) dbLine(ctx context.Context, m model.EtcdMember) string {
	db, err := s.poller.MemberDB(ctx, m)
	if err != nil {
		return fmt.Sprintf("%s: %v", m.DisplayName(), err)
	}
	inUse, q := "—", s.quotaOf(db.Quota)
	if model.ReportsDBSizeInUse(m.Version) {
		inUse = model.HumanBytes(db.InUse)
	}
	return fmt.Sprintf("%s: database %s, %s in use, quota %s (%s)", m.DisplayName(), model.HumanBytes(db.Size), inUse, model.HumanBytes(q.Bytes), q.Source)
}

// quotaOf is the backend quota that holds for a member that reported
// reported (0: etcd before 3.6 does not say): this host's etcd.conf, its
// etcd static pod, or etcd's default. The members of one cluster are set
// up alike (openshift-ansible, the etcd operator).
func (s *Session) quotaOf(reported int64) model.BackendQuota {
	here := hostfs.New(s.opts.HostRoot)
	var env map[string]string
	if data, err := here.ReadFile(etcdConfPath); err == nil {
		env, _ = model.ParseEnvFile(data)
	}
	var manifest []byte
	if l, ok := etcdLayoutOf(here); ok {
		if manifest, _ = here.ReadFile(l.manifest); manifest == nil {
			manifest, _ = here.ReadFile(l.aside)
		}
	}
	return model.QuotaOf(reported, env, manifest)
}

func defragPreflightStep(s *Session) *Step {
	var plan Plan
	return &Step{
		ID: "preflight", Title: "Check every voting member is healthy and look at the databases and alarms",
		Check: func(ctx context.Context) error {
			plan = Plan{"read only: member list, status and health of every member, alarms"}
			// A member busy for one health read is not a sick one: the
			// check waits a little before it refuses.
			snap, err := s.healthyVoters(ctx, preflightHealthWait)
			for _, a := range snap.Alarms() {
				plan = append(plan, fmt.Sprintf("alarm %s on %s: %s", a.Alarm, a.Member, a.Advice()))
			}
			if err != nil {
				return err
			}
			order, skipped, err := snap.DefragOrder()
			if err != nil {
				return err
			}
			for _, m := range order {
				plan = append(plan, s.dbLine(ctx, m))
			}
			for _, sk := range skipped {
				plan = append(plan, sk)
			}
			if snap.Voters() < 3 {
				plan = append(plan, fmt.Sprintf("WARNING: %d voting member(s): while one is defragmented the cluster cannot make progress", snap.Voters()))
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

func compactStep(s *Session, timeout time.Duration) *Step {
	return &Step{
		ID: "compact", Title: "Compact the keyspace to the current revision",
		Check: func(ctx context.Context) error { _, err := s.pollEtcd(ctx); return err },
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				"etcdctl compact <current revision> --physical   # the revision is read right before",
				"history before it is discarded: a watch that needs an older revision is told so and its client lists again",
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			rev, err := s.poller.Compact(ctx, timeout)
			if err == nil {
				progress(fmt.Sprintf("compacted to revision %d", rev))
			}
			return err
		},
	}
}

// healthyVoters waits up to within until every voting member is healthy;
// defragmenting while one is not could cost quorum.
func (s *Session) healthyVoters(ctx context.Context, within time.Duration) (model.EtcdCluster, error) {
	var snap model.EtcdCluster
	err := waitFor(ctx, within, 300*time.Millisecond, func() (bool, string) {
		var err error
		if snap, err = s.pollEtcd(ctx); err != nil {
			return false, err.Error()
		}
		_, _, err = snap.DefragOrder()
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	return snap, err
}

func defragmentStep(s *Session, timeout time.Duration) *Step {
	var plan Plan
	return &Step{
		ID: "defragment", Title: "Defragment the members one at a time, the leader last",
		Check: func(ctx context.Context) error {
			snap, err := s.pollEtcd(ctx)
			if err != nil {
				return err
			}
			order, skipped, err := snap.DefragOrder()
			if err != nil {
				return err
			}
			plan = Plan{}
			for i, m := range order {
				plan = append(plan, fmt.Sprintf("%d. etcdctl --endpoints %s defrag --command-timeout=%s   # %s (%s)", i+1, first(m.ClientURLs), timeout, m.DisplayName(), role(snap, m)))
			}
			plan = append(plan, skipped...)
			plan = append(plan, "before each member: every voting member healthy (waits up to "+memberHealthyTimeout.String()+")")
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
		Run: func(ctx context.Context, progress func(string)) error {
			snap, err := s.healthyVoters(ctx, memberHealthyTimeout)
			if err != nil {
				return err
			}
			order, skipped, err := snap.DefragOrder()
			if err != nil {
				return err
			}
			for _, sk := range skipped {
				progress(sk)
			}
			for i, m := range order {
				if i > 0 {
					if _, err := s.healthyVoters(ctx, memberHealthyTimeout); err != nil {
						return fmt.Errorf("before %s: %w", m.DisplayName(), err)
					}
				}
				progress(fmt.Sprintf("defragmenting %s (%s)", m.DisplayName(), role(snap, m)))
				start := time.Now()
				before, after, err := s.poller.Defragment(ctx, m, timeout)
				if err != nil {
					return err
				}
				progress(fmt.Sprintf("%s: %s → %s in %s", m.DisplayName(), model.HumanBytes(before.Size), model.HumanBytes(after.Size), time.Since(start).Round(time.Millisecond)))
			}
			return nil
		},
		Verify: func(ctx context.Context) error { _, err := s.healthyVoters(ctx, memberHealthyTimeout); return err },
	}
}

func role(snap model.EtcdCluster, m model.EtcdMember) string {
	if l, ok := snap.Leader(); ok && l.ID == m.ID {
		return "leader"
	}
	return "follower"
}

func disarmNoSpaceStep(s *Session) *Step {
	var noSpace []model.EtcdMember
	var plan Plan
	look := func(ctx context.Context) (model.EtcdCluster, error) {
		noSpace = nil
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return snap, err
		}
		for _, a := range snap.Alarms() {
			if a.Alarm == model.AlarmNoSpace {
				m, _ := snap.MemberByID(a.MemberID)
				noSpace = append(noSpace, m)
			}
		}
		return snap, nil
	}
	return &Step{
		ID: "disarm-nospace", Title: "Disarm NOSPACE alarms once the databases are under quota",
		Applies: func(ctx context.Context) (bool, string) {
			if _, err := look(ctx); err == nil && len(noSpace) == 0 {
				return false, "no NOSPACE alarm"
			}
			return true, ""
		},
		Check: func(ctx context.Context) error {
			snap, err := look(ctx)
			if err != nil {
				return err
			}
			plan = Plan{}
			var errs []error
			for _, m := range noSpace {
				db, err := s.poller.MemberDB(ctx, m)
				if err == nil {
					err = model.DisarmNoSpaceCheck(m.DisplayName(), db.Size, s.quotaOf(db.Quota).Bytes)
				}
				errs = append(errs, err)
				plan = append(plan, fmt.Sprintf("etcdctl alarm disarm   # NOSPACE of %s (%s) only: %s", m.DisplayName(), m.IDHex(), s.dbLine(ctx, m)))
			}
			for _, a := range snap.Alarms() {
				if a.Alarm != model.AlarmNoSpace {
					plan = append(plan, fmt.Sprintf("left alone: %s on %s — %s", a.Alarm, a.Member, a.Advice()))
				}
			}
			return errors.Join(errs...)
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
		Run: func(ctx context.Context, progress func(string)) error {
			for _, m := range noSpace {
				if err := s.poller.DisarmNoSpace(ctx, m, s.quotaOf); err != nil {
					return err
				}
				progress("disarmed NOSPACE of " + m.DisplayName())
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			if _, err := look(ctx); err != nil {
				return err
			}
			var left []string
			for _, m := range noSpace {
				left = append(left, m.DisplayName())
			}
			if len(left) > 0 {
				return fmt.Errorf("NOSPACE still raised on %s", strings.Join(left, ", "))
			}
			return nil
		},
	}
}
