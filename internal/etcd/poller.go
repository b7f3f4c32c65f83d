package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/day2ops/day2/model"
)

// Poller asks every member, each through its own client URL and with its own
// short timeout, for its status and health, so one dead member never stalls
// the snapshot; the member list is a serializable read that any live member
// answers, so the pane still lists members when quorum is lost.
type Poller struct {
	cfg    Config
	tls    *tls.Config
	logger *zap.Logger

	// Interval between polls and Timeout for each call to one member.
	Interval time.Duration
	Timeout  time.Duration

	mu      sync.Mutex
	clients map[string]*clientv3.Client // by client URL
	known   []string                    // client URLs learned from the last member list
	// leader is the last leader seen, changes how often it changed.
	leader  uint64
	changes int

	// http reads the members' /metrics; seen caches each member's
	// leader-change counter between reads (every metricsEvery polls).
	http  *http.Client
	polls int
	seen  map[uint64]int64
}

// NewPoller prepares a poller; Run starts it. logger receives the etcd
// client's own logging (it must not reach the terminal).
func NewPoller(cfg Config, logger *zap.Logger) (*Poller, error) {
	var tlsCfg *tls.Config
	if cfg.CACert != "" || cfg.Cert != "" {
		info := transport.TLSInfo{CertFile: cfg.Cert, KeyFile: cfg.Key, TrustedCAFile: cfg.CACert}
		var err error
		if tlsCfg, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("etcd TLS from %s: %w", cfg.Source, err)
		}
	}
	p := &Poller{
		cfg: cfg, tls: tlsCfg, logger: logger,
		Interval: time.Second, Timeout: 800 * time.Millisecond, clients: map[string]*clientv3.Client{},
		seen: map[uint64]int64{},
	}
	p.http = &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	return p, nil
}

// Run hands a snapshot to publish every Interval until ctx ends, then
// closes its clients.
func (p *Poller) Run(ctx context.Context, publish func(model.EtcdCluster)) {
	defer p.Close()
	t := time.NewTicker(p.Interval)
	defer t.Stop()
	for {
		publish(p.Poll(ctx))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close closes every member client.
func (p *Poller) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for url, c := range p.clients {
		c.Close()
		delete(p.clients, url)
	}
	p.http.CloseIdleConnections()
}

func (p *Poller) client(url string) (*clientv3.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.clients[url]; ok {
		return c, nil
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints: []string{url}, TLS: p.tls, DialTimeout: p.Timeout, Logger: p.logger,
		DialKeepAliveTime: 5 * time.Second, DialKeepAliveTimeout: p.Timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client for %s: %w", url, err)
	}
	p.clients[url] = c
	return c, nil
}

// Poll takes one snapshot.
func (p *Poller) Poll(ctx context.Context) model.EtcdCluster {
	snap := model.EtcdCluster{Source: p.cfg.Source, Endpoints: p.cfg.Endpoints, PolledAt: time.Now()}
	list, err := p.memberList(ctx)
	if err != nil {
		snap.Err = err.Error()
		return snap
	}
	snap.ClusterID = list.Header.ClusterId
	alarms := p.alarms(ctx, list.Members)
	p.mu.Lock()
	readMetrics := p.polls%metricsEvery == 0
	p.polls++
	p.mu.Unlock()
	members := make([]model.EtcdMember, len(list.Members))
	var wg sync.WaitGroup
	for i, m := range list.Members {
		members[i] = model.EtcdMember{ID: m.ID, Name: m.Name, PeerURLs: m.PeerURLs, ClientURLs: m.ClientURLs, Learner: m.IsLearner, Alarms: alarms[m.ID]}
		wg.Add(1)
		go func(em *model.EtcdMember) {
			defer wg.Done()
			p.probe(ctx, em)
			p.noteLeaderChanges(ctx, em, readMetrics)
		}(&members[i])
	}
	wg.Wait()
	model.SortMembers(members)
	snap.Members = members
	snap.Version = model.LowestVersion(members)
	p.remember(members)
	snap.LeaderChanges = p.countLeaderChange(snap)
	return snap
}

// noteLeaderChanges fills in the member's leader-change counter: read now
// when due (or never read yet) and the member answered, else the last value
// read.
func (p *Poller) noteLeaderChanges(ctx context.Context, m *model.EtcdMember, due bool) {
	p.mu.Lock()
	_, known := p.seen[m.ID]
	p.mu.Unlock()
	if (due || !known) && m.Reached {
		if n, err := p.leaderChanges(ctx, m.ClientURLs[0]); err == nil {
			p.mu.Lock()
			p.seen[m.ID] = n
			p.mu.Unlock()
		} else {
			p.logger.Debug("leader changes", zap.Error(err))
		}
	}
	p.mu.Lock()
	n, ok := p.seen[m.ID]
	p.mu.Unlock()
	m.LeaderChanges = -1
	if ok {
		m.LeaderChanges = n
	}
}

// countLeaderChange notes the leader of this snapshot and returns the
// changes seen so far; a poll without a leader (quorum lost) changes nothing.
func (p *Poller) countLeaderChange(snap model.EtcdCluster) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l, ok := snap.Leader(); ok {
		if p.leader != 0 && p.leader != l.ID {
			p.changes++
		}
		p.leader = l.ID
	}
	return p.changes
}

// memberList asks every known endpoint at once for a serializable member
// list and keeps the answer from the highest raft term, so a member cut off
// from the others does not speak for the cluster while a current one answers.
func (p *Poller) memberList(ctx context.Context) (*clientv3.MemberListResponse, error) {
	urls := p.endpoints()
	type answer struct {
		resp *clientv3.MemberListResponse
		err  error
	}
	answers := make([]answer, len(urls))
	var wg sync.WaitGroup
	for i, url := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.client(url)
			if err == nil {
				cctx, cancel := context.WithTimeout(ctx, p.Timeout)
				answers[i].resp, err = c.MemberList(cctx, clientv3.WithSerializable())
				cancel()
			}
			answers[i].err = err
		}()
	}
	wg.Wait()
	var best *clientv3.MemberListResponse
	var errs []error
	for i, a := range answers {
		if a.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", urls[i], a.err))
			continue
		}
		if best == nil || a.resp.Header.RaftTerm > best.Header.RaftTerm {
			best = a.resp
		}
	}
	if best == nil {
		return nil, fmt.Errorf("member list: no endpoint answered: %w", errors.Join(errs...))
	}
	return best, nil
}

// endpoints is the configured endpoints plus every client URL the last
// member list named, so members added later are asked too.
func (p *Poller) endpoints() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	seen := map[string]bool{}
	var out []string
	for _, u := range append(append([]string{}, p.cfg.Endpoints...), p.known...) {
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

func (p *Poller) remember(ms []model.EtcdMember) {
	var urls []string
	for _, m := range ms {
		urls = append(urls, m.ClientURLs...)
	}
	sort.Strings(urls)
	p.mu.Lock()
	p.known = urls
	p.mu.Unlock()
}

// alarms lists active alarms (NOSPACE, CORRUPT) by member, from any member
// that answers.
func (p *Poller) alarms(ctx context.Context, members []*pb.Member) map[uint64][]string {
	out := map[uint64][]string{}
	for _, m := range members {
		for _, url := range m.ClientURLs {
			c, err := p.client(url)
			if err != nil {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, p.Timeout)
			resp, err := c.AlarmList(cctx)
			cancel()
			if err != nil {
				continue
			}
			for _, a := range resp.Alarms {
				out[a.MemberID] = append(out[a.MemberID], a.Alarm.String())
			}
			return out
		}
	}
	return out
}

// probe fills in what the member's own endpoint says: status (reached,
// version, sizes, raft indexes, leader) and health, a linearizable read as
// `etcdctl endpoint health` does, which fails without quorum.
func (p *Poller) probe(ctx context.Context, m *model.EtcdMember) {
	if len(m.ClientURLs) == 0 {
		m.Err = "unstarted: added but never joined"
		return
	}
	url := m.ClientURLs[0]
	c, err := p.client(url)
	if err != nil {
		m.Err = err.Error()
		return
	}
	cctx, cancel := context.WithTimeout(ctx, p.Timeout)
	st, err := pb.NewMaintenanceClient(c.ActiveConnection()).Status(cctx, &pb.StatusRequest{})
	cancel()
	if err != nil {
		m.Err = "status: " + describe(err)
		return
	}
	m.Reached = true
	m.Version, m.DBSize, m.DBSizeInUse = st.Version, st.DbSize, st.DbSizeInUse
	m.RaftTerm, m.RaftIndex, m.RaftAppliedIndex, m.LeaderID = st.RaftTerm, st.RaftIndex, st.RaftAppliedIndex, st.Leader
	if len(st.Errors) > 0 {
		m.Err = fmt.Sprint(st.Errors)
	}

	cctx, cancel = context.WithTimeout(ctx, p.Timeout)
	start := time.Now()
	_, err = c.Get(cctx, "health")
	m.Latency = time.Since(start)
	cancel()
	// Permission denied still proves a linearizable round trip (etcdctl
	// counts it healthy too).
	if err != nil && !errors.Is(err, rpctypes.ErrPermissionDenied) {
		m.Err = "health: " + describe(err)
		return
	}
	if len(m.Alarms) > 0 {
		m.Err = fmt.Sprintf("alarm: %v", m.Alarms)
		return
	}
	m.Healthy = true
}

// describe turns a client error into the short reason an operator reads:
// "connection refused", "timed out", or etcd's own error text.
func describe(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	s, ok := status.FromError(err)
	if !ok {
		return rpctypes.ErrorDesc(err)
	}
	switch msg := s.Message(); {
	case s.Code() == codes.DeadlineExceeded:
		return "timed out"
	case strings.Contains(msg, "connection refused"):
		return "connection refused"
	case strings.Contains(msg, "certificate"):
		return "TLS: " + msg
	default:
		return msg
	}
}
