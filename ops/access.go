package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// accessReviewTimeout bounds one round of access reviews.
const accessReviewTimeout = 10 * time.Second

// granted remembers the rights the API server granted this session, so each
// is reviewed once; a denied right is asked again every time (an admin may
// grant it while the operator waits, and Retry should see that).
type granted struct {
	mu     sync.Mutex
	rights map[model.Right]bool
}

// missingRights is which of rights the operator lacks, reviewing those not
// granted yet.
func (s *Session) missingRights(ctx context.Context, rights []model.Right) ([]model.Right, error) {
	s.granted.mu.Lock()
	var ask []model.Right
	for _, r := range rights {
		if !s.granted.rights[r] {
			ask = append(ask, r)
		}
	}
	s.granted.mu.Unlock()
	if len(ask) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, accessReviewTimeout)
	defer cancel()
	missing, err := kube.MissingRights(ctx, s.client, ask)
	if err != nil {
		return nil, err
	}
	lacking := map[model.Right]bool{}
	for _, r := range missing {
		lacking[r] = true
	}
	s.granted.mu.Lock()
	defer s.granted.mu.Unlock()
	if s.granted.rights == nil {
		s.granted.rights = map[model.Right]bool{}
	}
	for _, r := range ask {
		if !lacking[r] {
			s.granted.rights[r] = true
		}
	}
	return missing, nil
}

// ProcedureAccess reviews the rights of every procedure at once (each right
// once) and says which procedures the operator cannot run. Session.Run
// sends it to the console, which marks those actions.
func (s *Session) ProcedureAccess(ctx context.Context) model.ProcedureAccess {
	var all [][]model.Right
	for _, sp := range catalog {
		all = append(all, sp.rights)
	}
	missing, err := s.missingRights(ctx, model.UniqueRights(all...))
	if err != nil {
		slog.Warn("access reviews failed; every procedure is offered", "err", err)
		return model.ProcedureAccess{Err: err.Error()}
	}
	lacking := map[model.Right]bool{}
	for _, r := range missing {
		lacking[r] = true
	}
	a := model.ProcedureAccess{Missing: map[string][]model.Right{}}
	for name, sp := range catalog {
		for _, r := range sp.rights {
			if lacking[r] {
				a.Missing[name] = append(a.Missing[name], r)
			}
		}
	}
	return a
}

// precheck is the procedure's Precheck: the Kubernetes rights its steps
// use and, for the etcd procedures that write, a read with day2's etcd
// client certificate. Reviews that cannot be made do not block (the steps'
// own checks meet an API server that does not answer); a denial does.
func (s *Session) precheck(name string, sp spec) func(context.Context) error {
	if len(sp.rights) == 0 && !sp.etcdAccess {
		return nil
	}
	return func(ctx context.Context) error {
		if len(sp.rights) > 0 {
			missing, err := s.missingRights(ctx, sp.rights)
			switch {
			case err != nil:
				slog.Warn("access reviews failed; the steps' checks will tell", "procedure", name, "err", err)
			case len(missing) > 0:
				return errors.New(model.MissingRightsText(missing))
			}
		}
		if !sp.etcdAccess {
			return nil
		}
		if s.poller == nil {
			return fmt.Errorf("etcd: %w", s.etcdErr)
		}
		return s.poller.CheckAccess(ctx)
	}
}
