package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/day2ops/day2/model"
)

// buildEtcdRecoverQuorum is seed 004 (restoring lost masters) and seed 001
// §5.3: when most members are gone and the survivors can no longer serve a
// linearizable read, rebuild a one-member cluster on this host — from a
// verified snapshot, or (typed override, with data loss) from the member's
// own database the way --force-new-cluster does — make sure the old
// members stay stopped, and grow back one member at a time.
func buildEtcdRecoverQuorum(s *Session, p params) (*Procedure, error) {
	r, err := newRebuild(s, p)
	if err != nil {
		return nil, err
	}
	if (r.snapshot == "") == !r.fromData {
		return nil, errors.New("give --snapshot PATH (a verified backup) or --from-member-data (this member's own data, with data loss), not both")
	}
	steps := []*Step{r.detectStep(p["survivor"]), r.recoverSourceStep()}
	steps = append(steps, r.restoreSteps()...)
	return &Procedure{Steps: append(steps, r.growBackSteps()...)}, nil
}

// detectStep confirms quorum is lost, shows what every member answers with
// its raft index, and recommends the survivor with the newest data.
func (r *rebuild) detectStep(survivor string) *Step {
	var probes []model.QuorumProbe
	var best model.EtcdMember
	var why string
	return &Step{
		ID: "detect", Title: "Confirm quorum is lost and choose the survivor",
		Check: func(ctx context.Context) error {
			var err error
			if probes, err = r.s.QuorumProbes(ctx); err != nil {
				return err
			}
			if err := model.QuorumLostCheck(probes); err != nil {
				return err
			}
			best, why, err = model.RecommendSurvivor(probes)
			switch {
			case err != nil && r.fromData:
				return err
			case err != nil:
				return nil // from a snapshot any master will do
			case r.fromData && best.Name != r.conf.Name && survivor != r.conf.Name:
				return fmt.Errorf("%s: recover on %s, or pass --survivor %s to rebuild here from older data", why, best.Name, r.conf.Name)
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{"read only: a serializable and a linearizable read through each member's own client URL"}
			for _, p := range probes {
				m := p.Member
				state := "does not answer"
				switch {
				case p.Linearizable:
					state = "serves linearizable reads"
				case p.Serializable:
					state = "answers serializable reads only: no quorum"
				}
				plan = append(plan, fmt.Sprintf("  %-16s %s  %s  raft index %d, applied %s  %s", m.IDHex(), m.DisplayName(), state, m.RaftIndex, m.AppliedIndexText(), p.Err))
			}
			if why != "" {
				plan = append(plan, "recommended survivor: "+why)
			}
			plan = append(plan, "this host rebuilds "+r.conf.Name)
			if best.Name != "" && best.Name != r.conf.Name && !r.fromData {
				plan = append(plan, "(from a snapshot the survivor's own data does not matter; "+best.Name+" would keep the most if the snapshot is older than its data)")
			}
			return plan, nil
		},
	}
}

// recoverSourceStep checks what the cluster is rebuilt from: the snapshot
// now, or (from the member's own data) that there is a database to take;
// that one is verified once etcd is stopped, in the restore step.
func (r *rebuild) recoverSourceStep() *Step {
	return &Step{
		ID: "preflight", Title: "Check what the cluster is rebuilt from",
		Check: func(ctx context.Context) error {
			if err := r.targetFree(); err != nil {
				return err
			}
			if r.fromData {
				if _, err := r.aside(); !r.here.Exists(r.conf.DataDir+"/member/snap/db") && err != nil {
					return fmt.Errorf("no %s/member/snap/db on this host: recover from a snapshot instead", r.conf.DataDir)
				}
				return nil
			}
			return r.verifySource()
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{r.warning()}
			if r.fromData {
				plan = append(plan,
					"WARNING: DATA LOSS, typed override --from-member-data: the cluster restarts from "+r.conf.Name+"'s own member/snap/db, "+
						"which has no checksum; writes only the lost members had are gone for good",
					"the database is checked (bbolt consistency) once etcd is stopped, before the restore")
			} else if r.info.Path != "" {
				plan = append(plan, fmt.Sprintf("read only: %s verified — SHA-256 trailer %s matches, bbolt check passed, revision %d, size stable",
					r.snapshot, r.info.SHA256, r.info.Revision))
			}
			return append(plan, r.summary()...), nil
		},
	}
}

// QuorumProbes asks every member, through its own client URL, for a
// serializable and a linearizable read — what etcd-recover-quorum's detect
// step shows; with model.QuorumLostCheck and model.RecommendSurvivor the
// etcd pane can offer a recovery and name the survivor with the newest data.
func (s *Session) QuorumProbes(ctx context.Context) ([]model.QuorumProbe, error) {
	if err := s.etcdReady(); err != nil {
		return nil, err
	}
	return s.poller.ProbeQuorum(ctx)
}
