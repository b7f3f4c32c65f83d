package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/day2ops/day2/model"
)

// DBStatus is what a member says about its database.
type DBStatus struct {
	Size, InUse, Quota int64
}

// MemberDB asks member m, through its own client URL, for its database
// size, the part in use and its quota (etcd 3.6 reports its default quota
// when none is configured; before 3.4 InUse and before 3.6 Quota are 0:
// not reported).
func (p *Poller) MemberDB(ctx context.Context, m model.EtcdMember) (DBStatus, error) {
	if len(m.ClientURLs) == 0 {
		return DBStatus{}, fmt.Errorf("%s has no client URL", m.DisplayName())
	}
	c, err := p.client(m.ClientURLs[0])
	if err != nil {
		return DBStatus{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, memberCallTimeout)
	defer cancel()
	st, err := c.Status(cctx, m.ClientURLs[0])
	if err != nil {
		return DBStatus{}, fmt.Errorf("status of %s: %w", m.DisplayName(), err)
	}
	return DBStatus{Size: st.DbSize, InUse: st.DbSizeInUse, Quota: st.DbSizeQuota}, nil
}

// Compact discards the key history older than the current revision,
// through a healthy voting member, and waits until that member has removed
// the old revisions from its database (so a defragmentation that follows
// frees the space). It returns the revision. A keyspace already compacted
// at that revision is no error.
func (p *Poller) Compact(ctx context.Context, timeout time.Duration) (int64, error) {
	snap := p.Poll(ctx)
	if snap.Err != "" {
		return 0, fmt.Errorf("compact: %s", snap.Err)
	}
	var rev int64
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := p.viaHealthy(ctx, snap, 0, func(cctx context.Context, c *clientv3.Client) error {
		resp, err := c.Get(cctx, "day2-compact-revision", clientv3.WithCountOnly())
		if err != nil {
			return err
		}
		rev = resp.Header.Revision
		// The compaction itself may take longer than one membership call.
		_, err = c.Compact(ctx, rev, clientv3.WithCompactPhysical())
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil
		}
		return err
	})
	if err != nil {
		return rev, fmt.Errorf("compact to revision %d: %w", rev, err)
	}
	return rev, nil
}

// Defragment defragments member m through its own client URL (the call
// blocks that member while it rewrites its database) and returns its
// database before and after.
func (p *Poller) Defragment(ctx context.Context, m model.EtcdMember, timeout time.Duration) (before, after DBStatus, err error) {
	if before, err = p.MemberDB(ctx, m); err != nil {
		return before, after, err
	}
	c, err := p.client(m.ClientURLs[0])
	if err != nil {
		return before, after, err
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	_, err = c.Defragment(cctx, m.ClientURLs[0])
	cancel()
	if err != nil {
		return before, after, fmt.Errorf("defragment %s: %w", m.DisplayName(), err)
	}
	after, err = p.MemberDB(ctx, m)
	return before, after, err
}

// DisarmNoSpace clears the NOSPACE alarm of member m alone — never every
// alarm, never another kind — once model.DisarmNoSpaceCheck agrees that its
// database is under quota now. quotaOf turns the quota the member reported
// (0 before etcd 3.6) into the one that holds (model.QuotaOf).
func (p *Poller) DisarmNoSpace(ctx context.Context, m model.EtcdMember, quotaOf func(reported int64) model.BackendQuota) error {
	db, err := p.MemberDB(ctx, m)
	if err != nil {
		return err
	}
	if err := model.DisarmNoSpaceCheck(m.DisplayName(), db.Size, quotaOf(db.Quota).Bytes); err != nil {
		return fmt.Errorf("disarm NOSPACE: refused: %w", err)
	}
	c, err := p.client(m.ClientURLs[0])
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, memberCallTimeout)
	defer cancel()
	if _, err := c.AlarmDisarm(cctx, &clientv3.AlarmMember{MemberID: m.ID, Alarm: pb.AlarmType_NOSPACE}); err != nil {
		return fmt.Errorf("disarm NOSPACE of %s: %w", m.DisplayName(), err)
	}
	return nil
}
