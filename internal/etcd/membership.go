package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/day2ops/day2/model"
)

// RemoveMember removes member id, after model.RemovalCheck agrees on a
// snapshot polled just now (the guard every procedure that removes a member
// goes through), asking the other members in turn. It returns the check's
// warnings.
func (p *Poller) RemoveMember(ctx context.Context, id uint64, allowTwo bool) ([]string, error) {
	snap := p.Poll(ctx)
	if snap.Err != "" {
		return nil, fmt.Errorf("remove member %s: %s", model.FormatMemberID(id), snap.Err)
	}
	warnings, err := snap.RemovalCheck(id, allowTwo)
	if err != nil {
		return nil, fmt.Errorf("remove member %s: refused: %w", model.FormatMemberID(id), err)
	}
	var errs []error
	for _, m := range snap.Members {
		if m.ID == id || !m.Healthy || len(m.ClientURLs) == 0 {
			continue
		}
		c, err := p.client(m.ClientURLs[0])
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = c.MemberRemove(cctx, id)
			cancel()
		}
		if err == nil {
			return warnings, nil
		}
		if errors.Is(err, rpctypes.ErrUnhealthy) {
			// etcd's strict reconfiguration check: it wants every member it
			// keeps connected for the last 5 s.
			return warnings, fmt.Errorf("remove member %s: etcd refused (%v): a member restarted or lost contact within the last 5 s; retry shortly", model.FormatMemberID(id), err)
		}
		errs = append(errs, fmt.Errorf("via %s: %w", m.DisplayName(), err))
	}
	return warnings, fmt.Errorf("remove member %s: %w", model.FormatMemberID(id), errors.Join(errs...))
}
