package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// errNoHostAccess: day2 runs with --no-ssh (or without host access), so
// steps on other hosts are manual.
var errNoHostAccess = errors.New("no host access (--no-ssh)")

// hostNamed matches the host of a node or etcd member by name: the
// inventory name, the node it is tied to, its etcd member, or the short
// form of any of them.
func hostNamed(name string) func(model.Host) bool {
	short := func(s string) string { s, _, _ = strings.Cut(s, "."); return s }
	return func(h model.Host) bool {
		for _, n := range []string{h.Name, h.Node, h.EtcdMember} {
			if n != "" && (n == name || short(n) == short(name)) {
				return true
			}
		}
		return false
	}
}

// inGroup matches the hosts of an inventory group (or node role).
func inGroup(group string) func(model.Host) bool {
	return func(h model.Host) bool { return h.In(group) }
}

// findHosts lists the cluster's hosts match accepts.
func (s *Session) findHosts(ctx context.Context, match func(model.Host) bool) ([]model.Host, error) {
	if s.opts.HostAccess == nil {
		return nil, errNoHostAccess
	}
	all, err := s.Hosts(ctx)
	if all == nil && err != nil {
		return nil, err
	}
	var out []model.Host
	for _, h := range all {
		if match(h) {
			out = append(out, h)
		}
	}
	return out, nil
}

// openHost opens the first host match accepts over the session's host
// access, within the build timeout. A host that cannot be reached is nil
// with the reason logged: the steps on it are then manual, with their
// commands, as without host access.
func (s *Session) openHost(match func(model.Host) bool) hostfs.Host {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	h, err := s.reachHost(ctx, match)
	if err != nil {
		slog.Info("host steps stay manual", "err", err)
		return nil
	}
	return h
}

func (s *Session) reachHost(ctx context.Context, match func(model.Host) bool) (hostfs.Host, error) {
	hosts, err := s.findHosts(ctx, match)
	if err != nil {
		return nil, err
	}
	if len(hosts) == 0 {
		return nil, errors.New("no such host in the inventory or among the nodes")
	}
	h, err := s.opts.HostAccess.Open(ctx, hosts[0])
	if err != nil {
		return nil, fmt.Errorf("reach %s: %w", hosts[0].Name, err)
	}
	return h, nil
}

// loadBalancer is the host whose haproxy.cfg the load balancer steps edit:
// the inventory's [lb] host over SSH when it answers, else this host's
// files (where openshift-ansible's single-master layouts keep it, and
// where the steps say so and turn manual when it is not there).
func (s *Session) loadBalancer() hostfs.Host {
	if h := s.openHost(inGroup("lb")); h != nil {
		return h
	}
	return hostfs.New(s.opts.HostRoot)
}

// groupHosts is this host's files followed by the other hosts of an
// inventory group that day2 reaches over SSH; missed names, for a manual
// line, the ones it does not reach and why ("" when none).
func (s *Session) groupHosts(here hostfs.FS, group string) (hosts []hostfs.Host, missed string) {
	hosts = []hostfs.Host{here}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	all, err := s.findHosts(ctx, inGroup(group))
	if err != nil {
		return hosts, fmt.Sprintf("every other %s host (%v)", group, err)
	}
	var out []string
	for _, h := range all {
		if isHere(here, h) {
			continue
		}
		fh, err := s.opts.HostAccess.Open(ctx, h)
		if err != nil {
			out = append(out, fmt.Sprintf("%s (%v)", h.Name, err))
			continue
		}
		hosts = append(hosts, fh)
	}
	return hosts, strings.Join(out, ", ")
}

// isHere tells whether h is the host day2 runs on (its files are here
// already): by this host's ETCD_NAME or its /etc/hostname.
func isHere(here hostfs.FS, h model.Host) bool {
	var names []string
	if c, err := etcdHere(here); err == nil {
		names = append(names, c.Name)
	}
	if b, err := here.ReadFile("/etc/hostname"); err == nil {
		names = append(names, strings.TrimSpace(string(b)))
	}
	for _, n := range names {
		if n != "" && hostNamed(n)(h) {
			return true
		}
	}
	return false
}
