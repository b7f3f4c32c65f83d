package etcd

import (
	"context"
	"fmt"
)

// CheckAccess proves the client certificate is accepted before a procedure
// plans writes: one serializable member list (answered by any member from
// its own data, quorum or not), the cheapest read etcd authenticates.
func (p *Poller) CheckAccess(ctx context.Context) error {
	if _, err := p.memberList(ctx); err != nil {
		return fmt.Errorf("etcd does not accept day2's client certificate %s (or no member answers): %w", p.cfg.Cert, err)
	}
	return nil
}
