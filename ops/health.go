package ops

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// HealthProbeTimeout bounds each probe of a health run; probes run in
// parallel, so a run takes at most about this long.
const HealthProbeTimeout = 5 * time.Second

// Health runs the Health pane's checks. snaps are the snapshots the caller
// already holds (nodes, etcd, the last certificate scan; a zero value makes
// its check unknown; the router and registry are read here when
// snaps.Workloads is nil); the API endpoints, leader records,
// StorageClasses, ClusterOperators, CSRs and, unless snaps.Hosts has them
// (the Hosts pane's rows), every host's checks are read now, each within
// HealthProbeTimeout. It
// never blocks longer than that: a probe that does not answer in time
// makes its check unknown, with the reason.
func (s *Session) Health(ctx context.Context, snaps model.HealthSnapshots) model.HealthReport {
	var p model.HealthProbes
	p.API = make([]model.APIProbe, 2)
	var wg sync.WaitGroup
	// Each probe writes only its own field of p.
	probe := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	for i, path := range []string{"/healthz", "/readyz"} {
		probe(func(ctx context.Context) {
			p.API[i] = within(ctx, "GET "+path, func(ctx context.Context) model.APIProbe { return kube.ProbeAPI(ctx, s.client, path) },
				func(reason string) model.APIProbe { return model.APIProbe{Path: path, Err: reason} })
		})
	}
	probe(func(ctx context.Context) {
		p.Leaders = within(ctx, "leader records", func(ctx context.Context) []model.LeaderRecord { return kube.Leaders(ctx, s.client) },
			func(reason string) []model.LeaderRecord {
				return []model.LeaderRecord{{Component: "controllers", Err: reason}}
			})
	})
	probe(func(ctx context.Context) {
		p.StorageClasses = within(ctx, "list storageclasses", func(ctx context.Context) model.StorageClasses { return kube.StorageClasses(ctx, s.client) },
			func(reason string) model.StorageClasses { return model.StorageClasses{Err: reason} })
	})
	probe(func(ctx context.Context) {
		p.ClusterOperators = within(ctx, "list clusteroperators", func(ctx context.Context) model.ClusterOperators { return kube.ClusterOperators(ctx, s.client) },
			func(reason string) model.ClusterOperators { return model.ClusterOperators{Served: true, Err: reason} })
	})
	probe(func(ctx context.Context) {
		p.CSRs = within(ctx, "list certificatesigningrequests", func(ctx context.Context) model.CSRs { return kube.ListCSRs(ctx, s.client) },
			func(reason string) model.CSRs { return model.CSRs{Err: reason} })
	})
	if snaps.Workloads == nil {
		probe(func(ctx context.Context) {
			snaps.Workloads = within(ctx, "read the router and registry", func(ctx context.Context) []model.Workload { return kube.Workloads(ctx, s.client) },
				func(reason string) []model.Workload {
					return []model.Workload{{Role: "registry", Err: reason}, {Role: "router", Err: reason}}
				})
		})
	}
	p.HostRoot, p.Hosts = s.hostRoot(), snaps.Hosts
	if p.Hosts == nil {
		probe(func(ctx context.Context) {
			hosts, reports, _ := s.HostChecks(ctx, HostCheckOptions{Timeout: HealthProbeTimeout})
			got := make([]model.HostReport, len(hosts))
			for r := range reports {
				got[slices.IndexFunc(hosts, func(h model.Host) bool { return h.Name == r.Host.Name })] = r
			}
			p.Hosts = model.ApplyClusterRules(got)
		})
	}
	wg.Wait()
	return model.EvaluateHealth(snaps, p, time.Now())
}

func (s *Session) hostRoot() string {
	if s.opts.HostRoot == "" {
		return "/"
	}
	return s.opts.HostRoot
}

// within runs fn with HealthProbeTimeout and stops waiting for it when the
// time is up, even if fn ignores its context (a statfs of a hung NFS /var
// does), returning late(reason) instead; fn's late result is dropped.
func within[T any](ctx context.Context, what string, fn func(context.Context) T, late func(reason string) T) T {
	ctx, cancel := context.WithTimeout(ctx, HealthProbeTimeout)
	defer cancel()
	done := make(chan T, 1)
	go func() { done <- fn(ctx) }()
	select {
	case v := <-done:
		return v
	case <-ctx.Done():
		return late(fmt.Sprintf("%s: no answer within %s", what, HealthProbeTimeout))
	}
}
