package ops

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// buildTimeout bounds what building an etcd procedure asks the cluster.
const buildTimeout = 15 * time.Second

// memberURLs reads a comma-separated list of member URLs (--peer-url,
// --client-url): each must be an absolute http(s) URL with a host and port.
func memberURLs(flag, s string) ([]string, error) {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Port() == "" {
			return nil, fmt.Errorf("--%s %q: want a URL such as https://10.0.0.4:2380", flag, u)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: no URL", flag)
	}
	return out, nil
}

// rootOf is a host root given as a parameter, nil when not given.
func rootOf(dir string) hostfs.Host {
	if dir == "" {
		return nil
	}
	return hostfs.New(dir)
}

// buildEtcdAddMember is seed 003 §5.4.4: grow the cluster by one member,
// as a learner first, then update this host's ETCD_INITIAL_CLUSTER and the
// masters' etcd URLs.
func buildEtcdAddMember(s *Session, p params) (*Procedure, error) {
	peers, err := memberURLs("peer-url", p["peer-url"])
	if err != nil {
		return nil, err
	}
	clients, err := memberURLs("client-url", p["client-url"])
	if err != nil {
		return nil, err
	}
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	nm := NewMember{Name: p["name"], PeerURLs: peers, ClientURLs: clients, Root: rootOf(p["member-root"]), AllowSingleVoter: p.bool("allow-single-voter-add")}
	here, state := hostfs.New(s.opts.HostRoot), NewRunState()
	backup, err := backupFirstStep(s, p, state)
	if err != nil {
		return nil, err
	}
	steps := append([]*Step{backup}, AddMemberSteps(s, nm, timeout, "")...)
	steps = append(steps, etcdConfStep(s, here), etcdClientsStep(s, here, func() ([]string, []string) { return nil, clients }))
	return &Procedure{State: state, Steps: steps}, nil
}

// recordedMemberParams are filled in from the member list when a run
// starts and journaled with it, so a run resumed after the member's removal
// still knows it.
var recordedMemberParams = []Param{
	{Name: "name", Help: "recorded: the member's name"},
	{Name: "peer-urls", Help: "recorded: the member's peer URLs"},
	{Name: "client-urls", Help: "recorded: the member's client URLs"},
}

// resolveMember finds member --member in the cluster and records its name
// and URLs in the run's parameters (they are journaled), so a run resumed
// after the member's removal still knows it. An ID that is neither in the
// cluster nor recorded is a clear error listing the members there are.
func resolveMember(s *Session, p params) (*memberRef, error) {
	id, err := model.ParseMemberID(p["member"])
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	snap, err := s.pollEtcd(ctx)
	if err != nil {
		return nil, err
	}
	ref := &memberRef{id: id}
	if m, ok := ref.find(snap); ok {
		p["name"], p["peer-urls"], p["client-urls"] = m.Name, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ",")
		return ref, nil
	}
	if p["peer-urls"] == "" {
		return nil, snap.NoSuchMember(id)
	}
	ref.known = &model.EtcdMember{ID: id, Name: p["name"], PeerURLs: recorded(p["peer-urls"]), ClientURLs: recorded(p["client-urls"])}
	return ref, nil
}

// recorded reads back a URL list resolveMember joined.
func recorded(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// removedClientURLs are the client URLs the etcd-clients step drops for a
// removed member: as the member list last showed them, else as its host's
// etcd.conf says (a run resumed after the removal).
func removedClientURLs(ref *memberRef, host hostfs.Host) func() ([]string, []string) {
	return func() ([]string, []string) {
		if m, ok := ref.last(); ok {
			return m.ClientURLs, nil
		}
		if host != nil {
			if c, err := etcdHere(host); err == nil {
				return c.ClientURLs, nil
			}
		}
		return nil, nil
	}
}

// buildEtcdRemoveMember is seeds 003 §5.2.1.4 and §5.4.5: remove a member
// by its hex ID through the quorum guard, after offering to move
// leadership away from it; stop its static pod when its host's files are
// here; then update ETCD_INITIAL_CLUSTER and the masters' etcd URLs.
func buildEtcdRemoveMember(s *Session, p params) (*Procedure, error) {
	ref, err := resolveMember(s, p)
	if err != nil {
		return nil, err
	}
	here, memberRoot, state := hostfs.New(s.opts.HostRoot), rootOf(p["member-root"]), NewRunState()
	backup, err := backupFirstStep(s, p, state)
	if err != nil {
		return nil, err
	}
	steps := []*Step{backup, moveLeaderStep(s, ref), etcdRemoveStep(s, ref, p.bool("allow-two-members"))}
	if memberRoot != nil {
		steps = append(steps, moveManifestsStep(memberRoot, "etcd-disable", "Stop the removed member's etcd static pod", "etcd.yaml"))
	}
	steps = append(steps, etcdConfStep(s, here), etcdClientsStep(s, here, removedClientURLs(ref, memberRoot)))
	return &Procedure{State: state, Steps: steps}, nil
}
