package etcd

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/day2ops/day2/model"
)

// ProbeQuorum asks every member of a fresh poll, each through its own
// client URL, for a serializable read (answered from the member's own data)
// and a linearizable read (which needs a quorum and times out without one),
// the test that tells a lost quorum from members that are merely down.
func (p *Poller) ProbeQuorum(ctx context.Context) ([]model.QuorumProbe, error) {
	snap := p.Poll(ctx)
	if snap.Err != "" {
		return nil, errors.New(snap.Err)
	}
	probes := make([]model.QuorumProbe, len(snap.Members))
	var wg sync.WaitGroup
	for i, m := range snap.Members {
		probes[i].Member = m
		if len(m.ClientURLs) == 0 {
			probes[i].Err = "unstarted"
			continue
		}
		wg.Add(1)
		go func(pr *model.QuorumProbe) {
			defer wg.Done()
			p.probeReads(ctx, pr)
		}(&probes[i])
	}
	wg.Wait()
	return probes, nil
}

func (p *Poller) probeReads(ctx context.Context, pr *model.QuorumProbe) {
	c, err := p.client(pr.Member.ClientURLs[0])
	if err != nil {
		pr.Err = err.Error()
		return
	}
	read := func(timeout time.Duration, opts ...clientv3.OpOption) error {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		_, err := c.Get(cctx, "health", opts...)
		if errors.Is(err, rpctypes.ErrPermissionDenied) {
			return nil // still a round trip
		}
		return err
	}
	if err := read(p.Timeout, clientv3.WithSerializable()); err != nil {
		pr.Err = "serializable read: " + describe(err)
		return
	}
	pr.Serializable = true
	// An election takes about a second: give the linearizable read longer
	// than that so a cluster between leaders is not called lost.
	if err := read(3 * time.Second); err != nil {
		pr.Err = "linearizable read: " + describe(err)
		return
	}
	pr.Linearizable = true
}

// Answers reports whether anything accepts connections at an etcd URL's
// address (a stopped member's ports refuse them). It only dials.
func Answers(ctx context.Context, rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return false
	}
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}
