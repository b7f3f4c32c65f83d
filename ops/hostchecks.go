package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/day2ops/day2/internal/hostcheck"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// Host check fan-out defaults: eight hosts at a time keeps a 2-core master
// and the SSH agent responsive while a 100-host cluster is checked in a
// few rounds; 15 s covers an SSH handshake over a slow link plus the
// checks' commands, each bounded by hostcheck.CommandTimeout.
const (
	HostCheckParallel = 8
	HostCheckTimeout  = 15 * time.Second
)

// OpenHost opens one host for the checks (HostAccess.Open, or this host's
// root).
type OpenHost func(context.Context, model.Host) (hostfs.Host, error)

// HostCheckOptions bound a run of the host checks; zero values are the
// defaults.
type HostCheckOptions struct {
	// Parallel is how many hosts are checked at once.
	Parallel int
	// Timeout bounds each host, opening it included.
	Timeout time.Duration
	// Now is this host's clock (time.Now when nil).
	Now func() time.Time
}

// CheckHosts runs the host checks on every host, o.Parallel at a time,
// each within o.Timeout, and hands each host's report to deliver as soon
// as that host is done (never two calls at once). A host that cannot be
// opened, or does not finish in time, is a report that says why; it never
// holds the others up. CheckHosts returns when every host has reported.
func CheckHosts(ctx context.Context, hosts []model.Host, open OpenHost, o HostCheckOptions, deliver func(model.HostReport)) {
	if o.Parallel <= 0 {
		o.Parallel = HostCheckParallel
	}
	if o.Timeout <= 0 {
		o.Timeout = HostCheckTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, o.Parallel)
	for _, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				r := model.Unreached(h, "not checked: "+ctx.Err().Error(), o.Now())
				mu.Lock()
				defer mu.Unlock()
				deliver(r)
				return
			}
			r := checkHost(ctx, h, open, o)
			mu.Lock()
			defer mu.Unlock()
			deliver(r)
		}()
	}
	wg.Wait()
}

// checkHost opens and checks one host within o.Timeout. It stops waiting
// when the time is up even if the host's reads ignore their context (a
// hung SFTP read, a statfs of a dead NFS mount); their late result is
// dropped.
func checkHost(ctx context.Context, h model.Host, open OpenHost, o HostCheckOptions) model.HostReport {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	done := make(chan model.HostReport, 1)
	go func() {
		start := time.Now()
		host, err := open(ctx, h)
		if err != nil {
			done <- model.Unreached(h, err.Error(), o.Now())
			return
		}
		latency := time.Since(start)
		f := hostcheck.Gather(ctx, host, hostcheck.Options{Now: o.Now, CommandTimeout: min(hostcheck.CommandTimeout, o.Timeout)})
		// The inventory's word counts as much as the host's files.
		f.Master = f.Master || h.Role() == "master"
		if len(h.Groups) == 0 {
			h.Groups = rolesFromFiles(f)
		}
		done <- model.NewHostReport(h, host.Where(), latency, f, o.Now())
	}()
	select {
	case r := <-done:
		return r
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return model.Unreached(h, fmt.Sprintf("no answer within %s", o.Timeout), o.Now())
		}
		return model.Unreached(h, "not checked: "+ctx.Err().Error(), o.Now())
	}
}

// rolesFromFiles gives a host without inventory groups (this host under
// --no-ssh) the role its files show.
func rolesFromFiles(f model.HostFacts) []string {
	switch {
	case f.Master:
		return []string{"masters"}
	case f.NodeConfig:
		return []string{"nodes"}
	}
	return nil
}

// HostChecks starts the host checks on every host day2 reaches: the
// inventory's or the nodes' hosts (Hosts) over host access, or with none
// (--no-ssh) this host alone, read under the host root. It returns the
// hosts at once, and a channel of their reports as they arrive, closed when
// all have reported or ctx ends. err says what went wrong listing the
// hosts: with hosts, a partial listing (not tied to their nodes); with
// none, why there are none.
func (s *Session) HostChecks(ctx context.Context, o HostCheckOptions) (hosts []model.Host, reports <-chan model.HostReport, err error) {
	hosts, open, err := s.checkedHosts(ctx)
	ch := make(chan model.HostReport, len(hosts))
	go func() {
		defer close(ch)
		CheckHosts(ctx, hosts, open, o, func(r model.HostReport) { ch <- r })
	}()
	return hosts, ch, err
}

// checkedHosts is the host list and how to open each host.
func (s *Session) checkedHosts(ctx context.Context) ([]model.Host, OpenHost, error) {
	if s.opts.HostAccess != nil {
		hosts, err := s.Hosts(ctx)
		return hosts, s.opts.HostAccess.Open, err
	}
	root := s.hostRoot()
	name := s.opts.Host
	if name == "" {
		name = "localhost"
	}
	this := model.Host{Name: name, Address: "localhost", Source: "this host, files under " + root + " (no SSH)"}
	return []model.Host{this}, func(context.Context, model.Host) (hostfs.Host, error) { return hostfs.New(root), nil }, nil
}
