package etcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/day2ops/day2/model"
)

// memberCallTimeout bounds one membership call to one member.
const memberCallTimeout = 10 * time.Second

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
	err = p.viaHealthy(ctx, snap, id, func(ctx context.Context, c *clientv3.Client) error {
		_, err := c.MemberRemove(ctx, id)
		return err
	})
	if err != nil {
		return warnings, fmt.Errorf("remove member %s: %w", model.FormatMemberID(id), err)
	}
	return warnings, nil
}

// AddLearner adds a member named name with peerURLs as a learner (a
// non-voting member that catches up before it counts toward quorum), after
// model.AddCheck agrees on a snapshot polled just now — which refuses a
// cluster older than 3.4 or of unknown version: etcd 3.3 takes a learner add
// as a voter add and can lose quorum at once. It returns the new
// member's ID, the membership after the add (for ETCD_INITIAL_CLUSTER) and
// the check's warnings.
func (p *Poller) AddLearner(ctx context.Context, name string, peerURLs []string) (uint64, []model.EtcdMember, []string, error) {
	snap := p.Poll(ctx)
	if snap.Err != "" {
		return 0, nil, nil, fmt.Errorf("add learner %s: %s", name, snap.Err)
	}
	warnings, err := snap.AddCheck(name, peerURLs)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("add learner %s: refused: %w", name, err)
	}
	var resp *clientv3.MemberAddResponse
	err = p.viaHealthy(ctx, snap, 0, func(ctx context.Context, c *clientv3.Client) error {
		var err error
		resp, err = c.MemberAddAsLearner(ctx, peerURLs)
		return err
	})
	if err != nil {
		return 0, nil, warnings, fmt.Errorf("add learner %s: %w", name, err)
	}
	return resp.Member.ID, membersOf(resp.Members), warnings, nil
}

// AddVoter adds a member named name with peerURLs as a voting member, the
// only way before etcd 3.4 (seed 003 §5.4.4.2), after model.VoterAddCheck
// agrees on a snapshot polled just now: the quorum grows at once, so the
// caller starts the member right after. It returns the new member's ID and
// the quorum arithmetic of the add.
func (p *Poller) AddVoter(ctx context.Context, name string, peerURLs []string, startsItself, allowOne bool) (uint64, model.VoterAdd, error) {
	snap := p.Poll(ctx)
	if snap.Err != "" {
		return 0, model.VoterAdd{}, fmt.Errorf("add voter %s: %s", name, snap.Err)
	}
	add, err := snap.VoterAddCheck(name, peerURLs, startsItself, allowOne)
	if err != nil {
		return 0, add, fmt.Errorf("add voter %s: refused: %w", name, err)
	}
	var resp *clientv3.MemberAddResponse
	err = p.viaHealthy(ctx, snap, 0, func(ctx context.Context, c *clientv3.Client) error {
		var err error
		resp, err = c.MemberAdd(ctx, peerURLs)
		return err
	})
	if err != nil {
		return 0, add, fmt.Errorf("add voter %s: %w", name, err)
	}
	return resp.Member.ID, add, nil
}

// PromoteLearner makes learner id a voting member. etcd refuses while the
// learner's log is behind the leader's (ErrMemberLearnerNotReady), so it
// retries with a growing pause, reporting the learner's raft index against
// the leader's before each retry, until timeout. A member that is already a
// voter is left as it is.
func (p *Poller) PromoteLearner(ctx context.Context, id uint64, timeout time.Duration, report func(string)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pause := 500 * time.Millisecond
	for {
		snap := p.Poll(ctx)
		m, ok := snap.MemberByID(id)
		switch {
		case snap.Err != "":
			return fmt.Errorf("promote %s: %s", model.FormatMemberID(id), snap.Err)
		case !ok:
			return fmt.Errorf("promote %s: %w", model.FormatMemberID(id), snap.NoSuchMember(id))
		case !m.Learner:
			return nil
		}
		err := p.viaHealthy(ctx, snap, id, func(ctx context.Context, c *clientv3.Client) error {
			_, err := c.MemberPromote(ctx, id)
			return err
		})
		switch {
		case err == nil, errors.Is(err, rpctypes.ErrMemberNotLearner):
			return nil
		case !errors.Is(err, rpctypes.ErrMemberLearnerNotReady):
			return fmt.Errorf("promote %s: %w", model.FormatMemberID(id), err)
		}
		report(fmt.Sprintf("%s not in sync yet: %s; retrying in %s", m.DisplayName(), snap.LearnerProgress(id), pause))
		select {
		case <-ctx.Done():
			return fmt.Errorf("promote %s: still not in sync with the leader after %s (%s)", model.FormatMemberID(id), timeout, snap.LearnerProgress(id))
		case <-time.After(pause):
		}
		pause = min(2*pause, 10*time.Second)
	}
}

// MoveLeader hands leadership to member to (seed: the leader should not be
// removed while it leads). The request must reach the current leader.
func (p *Poller) MoveLeader(ctx context.Context, to uint64) error {
	snap := p.Poll(ctx)
	leader, ok := snap.Leader()
	switch {
	case !ok:
		return fmt.Errorf("move leader: no leader known")
	case leader.ID == to:
		return nil
	case len(leader.ClientURLs) == 0:
		return fmt.Errorf("move leader: leader %s has no client URL", leader.IDHex())
	}
	c, err := p.client(leader.ClientURLs[0])
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, memberCallTimeout)
	defer cancel()
	if _, err := c.MoveLeader(cctx, to); err != nil {
		return fmt.Errorf("move leader from %s to %s: %w", leader.DisplayName(), model.FormatMemberID(to), err)
	}
	return nil
}

// viaHealthy makes a call through each serving voting member (healthy, or
// raising nothing but NOSPACE) other than exclude in turn, until one
// answers. etcd's own refusals end the
// search (another member would refuse too), only transport errors move on.
func (p *Poller) viaHealthy(ctx context.Context, snap model.EtcdCluster, exclude uint64, call func(context.Context, *clientv3.Client) error) error {
	var errs []error
	for _, m := range snap.Members {
		if m.ID == exclude || !m.Serving() || m.Learner || len(m.ClientURLs) == 0 {
			continue
		}
		c, err := p.client(m.ClientURLs[0])
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, memberCallTimeout)
			err = call(cctx, c)
			cancel()
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, rpctypes.ErrUnhealthy) {
			// etcd's strict reconfiguration check: it wants every member it
			// keeps connected for the last 5 s.
			return fmt.Errorf("etcd refused (%v): a member restarted or lost contact within the last 5 s; retry shortly", err)
		}
		var ee rpctypes.EtcdError
		if errors.As(err, &ee) {
			return err
		}
		errs = append(errs, fmt.Errorf("via %s: %w", m.DisplayName(), err))
	}
	if len(errs) == 0 {
		return errors.New("no healthy voting member to ask")
	}
	return errors.Join(errs...)
}

func membersOf(ms []*pb.Member) []model.EtcdMember {
	out := make([]model.EtcdMember, len(ms))
	for i, m := range ms {
		out[i] = model.EtcdMember{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, Learner: m.IsLearner}
	}
	return out
}

// WaitDown waits until nothing has accepted a connection on clientURL for
// quiet in a row: a static pod whose manifest was moved out is really
// stopped (a crashlooping one may come up for a moment between crashes).
func WaitDown(ctx context.Context, clientURL string, quiet time.Duration) error {
	u, err := url.Parse(clientURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("wait for %s to stop: not a URL", clientURL)
	}
	since := time.Now()
	for {
		conn, err := (&net.Dialer{Timeout: 300 * time.Millisecond}).DialContext(ctx, "tcp", u.Host)
		if err == nil {
			conn.Close()
			since = time.Now()
		} else if time.Since(since) >= quiet {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to stop: %w", clientURL, context.Cause(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
}
