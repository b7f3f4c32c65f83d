package ops

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/internal/registry"
	"github.com/day2ops/day2/model"
)

// Registry probe defaults.
const (
	RegistryProbeTimeout     = 5 * time.Second // per request
	RegistryProbeConcurrency = 4               // targets probed at once
)

// registryReports numbers reports, so a probe of an older one is ignored.
var registryReports atomic.Uint64

// Registries reads the Registries pane's data, without probing: the
// registry and router workloads and the registry Service (a few API reads),
// registries.conf with its drop-ins, the certs.d CAs of every target and the
// master's allowedRegistriesForImport (files under the host root). What
// cannot be read is said in the report's *Err fields; it never fails as a
// whole. Each call is a fresh report with a new ID; probe its targets with
// ProbeRegistries.
func (s *Session) Registries(ctx context.Context) model.RegistryReport {
	root := s.hostRoot()
	r := model.RegistryReport{ID: registryReports.Add(1), At: time.Now()}
	r.Workloads = kube.Workloads(ctx, s.client)
	if svc, err := kube.RegistryService(ctx, s.client); err != nil {
		r.ServiceErr = err.Error()
	} else {
		if s.opts.RegistryAddress != "" {
			svc.ProbeAddress = s.opts.RegistryAddress
		}
		r.Service = svc
	}
	if cfg, err := registry.LoadRegistriesConf(root); err != nil {
		r.ConfigErr = err.Error()
	} else {
		r.Config = cfg
	}
	if imports, err := registry.AllowedRegistriesForImport(root); err != nil {
		r.ImportErr = err.Error()
	} else {
		r.ImportPolicy = imports
	}
	r.Targets = model.ProbeTargets(r.Service, r.Config, r.ImportPolicy)
	r.Probes = make([]model.RegistryProbe, len(r.Targets))
	for i := range r.Targets {
		r.Targets[i].CAs = registry.TrustedCAs(root, r.Targets[i].HostPort)
		r.Probes[i] = model.RegistryProbe{ReportID: r.ID, Index: i}
	}
	return r
}

// RegistryProbeOptions tune ProbeRegistries; zero values take the defaults.
type RegistryProbeOptions struct {
	Timeout     time.Duration // per request (RegistryProbeTimeout)
	Concurrency int           // targets probed at once (RegistryProbeConcurrency)
}

// ProbeRegistries probes the report's targets in the background and returns
// at once. Each target's result (GET /healthz and /v2/, TLS as pulls from
// this host would have it) is sent on the channel as soon as it is done, in
// completion order, carrying the report's ID and the target's index for
// RegistryReport.WithProbe. At most Concurrency targets are probed at once,
// each request within Timeout, so a dead registry costs one Timeout. The
// channel is buffered for every result, so a reader may stop reading
// without leaking anything; it is closed when every probe has ended. When
// ctx ends, probes stop and no further result is sent.
func (s *Session) ProbeRegistries(ctx context.Context, r model.RegistryReport, o RegistryProbeOptions) <-chan model.RegistryProbe {
	if o.Timeout <= 0 {
		o.Timeout = RegistryProbeTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = RegistryProbeConcurrency
	}
	root := s.hostRoot()
	out := make(chan model.RegistryProbe, len(r.Targets))
	slots := make(chan struct{}, o.Concurrency)
	var wg sync.WaitGroup
	for i, t := range r.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slots }()
			p := registry.ProbeTarget(ctx, root, t, o.Timeout)
			p.ReportID, p.Index = r.ID, i
			if ctx.Err() == nil {
				out <- p
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()
	return out
}
