package model

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RegistryProbeAddressAnnotation, on the integrated registry's Service, is
// the host:port day2 connects to when probing it instead of the Service's
// ClusterIP, which only the cluster's hosts can route to. The local cluster
// sets it to its registry on 127.0.0.1; an operator may set it to a NodePort
// or a load balancer in front of the registry.
const RegistryProbeAddressAnnotation = "day2ops.io/probe-address"

// RegistryService is the Service in front of the integrated registry:
// default/docker-registry on OpenShift 3.11,
// openshift-image-registry/image-registry on OpenShift 4.
type RegistryService struct {
	Namespace, Name string
	ClusterIP       string
	Port            int32
	// ProbeAddress is the RegistryProbeAddressAnnotation, if set.
	ProbeAddress string
}

// HostPort is the name nodes pull from the registry by
// (docker-registry.default.svc:5000), and so the name of its certs.d
// directory and the name its serving certificate is checked against.
func (s RegistryService) HostPort() string {
	return fmt.Sprintf("%s.%s.svc:%d", s.Name, s.Namespace, s.Port)
}

// Address is where a probe connects: the annotation's address, else the
// ClusterIP and port; "" for a headless Service without one.
func (s RegistryService) Address() string {
	if s.ProbeAddress != "" {
		return s.ProbeAddress
	}
	if s.ClusterIP == "" || s.ClusterIP == "None" {
		return ""
	}
	return net.JoinHostPort(s.ClusterIP, strconv.Itoa(int(s.Port)))
}

// Roles of a ProbeTarget: why it is probed.
const (
	RoleIntegrated = "integrated registry"
	RoleSearch     = "search"
	RoleRegistry   = "registry"
	RoleImport     = "import"
	// Mirrors have the role "mirror of <prefix>".
)

// ProbeTarget is one registry host the Registries pane probes.
type ProbeTarget struct {
	// HostPort is the registry as configured, without a namespace
	// ("registry.redhat.io", "docker-registry.default.svc:5000"): the name of
	// its certs.d directory.
	HostPort string
	// Roles say why it is probed, in the order found: RoleIntegrated,
	// RoleSearch, RoleRegistry, "mirror of <prefix>", RoleImport.
	Roles []string
	// URL is the base URL probed: https://HostPort, except docker.io whose
	// registry is https://registry-1.docker.io.
	URL string
	// Via is the host:port connected to instead of the URL's host (the
	// registry Service's ClusterIP or probe address); "" resolves the host.
	Via string
	// Insecure is set when every entry naming the host marks it insecure:
	// the probe then skips verification and tries plain HTTP when the
	// registry does not speak TLS, as pulls would.
	Insecure bool
	// CAs are the CA files installed for HostPort under certs.d, as host
	// paths (filled from the host by the caller).
	CAs []string
}

// ProbeTargets lists what to probe, one target per host[:port]: the
// integrated registry (when its Service is known), then every host pulls may
// go to (search registries, registries not blocked and their mirrors), then
// the registries `oc import-image` may import from. Wildcard names
// ("*.example.com") name no single host and are skipped.
func ProbeTargets(svc *RegistryService, cfg RegistriesConfig, imports []ImportRegistry) []ProbeTarget {
	var targets []ProbeTarget
	index := map[string]int{}
	add := func(hp, role string, insecure bool, via string) {
		if hp == "" || strings.HasPrefix(hp, "*") {
			return
		}
		i, ok := index[hp]
		if !ok {
			index[hp] = len(targets)
			targets = append(targets, ProbeTarget{HostPort: hp, URL: "https://" + endpointHost(hp), Via: via, Insecure: insecure})
			i = len(targets) - 1
		}
		t := &targets[i]
		t.Insecure = t.Insecure && insecure
		if !slices.Contains(t.Roles, role) {
			t.Roles = append(t.Roles, role)
		}
	}
	if svc != nil {
		add(svc.HostPort(), RoleIntegrated, false, svc.Address())
	}
	for _, ep := range cfg.pullEndpoints() {
		role := ep.role
		if role == RoleRegistry && slices.Contains(cfg.Search, ep.location) {
			role = RoleSearch
		}
		add(hostPort(ep.location), role, ep.insecure, "")
	}
	for _, ir := range imports {
		add(hostPort(ir.DomainName), RoleImport, ir.Insecure, "")
	}
	return targets
}

// endpointHost is where a registry name is served: Docker Hub's name is not
// its registry's host.
func endpointHost(hp string) string {
	if hp == "docker.io" || hp == "index.docker.io" {
		return "registry-1.docker.io"
	}
	return hp
}

// What a ProbeResult's Meaning says when no response came.
const (
	ProbeTimedOut    = "timed out"
	ProbeUnreachable = "unreachable"
	ProbeCertBad     = "certificate rejected"
	ProbePlainHTTP   = "speaks plain HTTP, not TLS"
	ProbeNotTried    = "not tried"
)

// RegistryProbe is the outcome of probing one target of a RegistryReport.
type RegistryProbe struct {
	// ReportID and Index say which report's target this is.
	ReportID uint64
	Index    int
	// Done is false until the probe has ended.
	Done bool
	// Results are GET /healthz, then GET /v2/ (the second "not tried" when
	// the first got no response at all).
	Results []ProbeResult
	// Verified is set when a response came over TLS verified against the
	// system roots plus the target's certs.d CAs.
	Verified bool
	// Err is why the probe could not be made (an unreadable CA file).
	Err string
}

// CertNotAfter is the serving certificate's expiry seen by any result, zero
// if none was seen.
func (p RegistryProbe) CertNotAfter() time.Time {
	for _, r := range p.Results {
		if !r.CertNotAfter.IsZero() {
			return r.CertNotAfter
		}
	}
	return time.Time{}
}

// RegistryReport is the Registries pane's data (seed 003 §3.4, §7.2, §7.3):
// the registry and router workloads, this host's registries.conf and trust,
// the master's import policy, and the probe targets with their results.
// Registries returns it without probe results; they arrive one at a time
// and are merged with WithProbe.
type RegistryReport struct {
	// ID tells reports apart: a probe of an older report is ignored.
	ID uint64
	At time.Time
	// Workloads are the registry, then the router.
	Workloads []Workload
	// Service is the integrated registry's Service, nil when not found
	// (ServiceErr says why).
	Service    *RegistryService
	ServiceErr string
	// Config is registries.conf with its drop-ins; ConfigErr says why it
	// could not be read (the message names the file and line).
	Config    RegistriesConfig
	ConfigErr string
	// ImportPolicy is master-config.yaml's allowedRegistriesForImport
	// (empty when not a master); ImportErr says why it could not be read.
	ImportPolicy []ImportRegistry
	ImportErr    string
	// Targets are what is probed; Probes has one entry per target, in the
	// same order, not Done until its result has been merged.
	Targets []ProbeTarget
	Probes  []RegistryProbe
}

// WithProbe returns the report with p merged. A probe of another report or
// of an unknown target changes nothing.
func (r RegistryReport) WithProbe(p RegistryProbe) RegistryReport {
	if p.ReportID != r.ID || p.Index < 0 || p.Index >= len(r.Probes) {
		return r
	}
	r.Probes = slices.Clone(r.Probes)
	r.Probes[p.Index] = p
	return r
}

// ProbesDone counts the targets whose probe has ended.
func (r RegistryReport) ProbesDone() int {
	n := 0
	for _, p := range r.Probes {
		if p.Done {
			n++
		}
	}
	return n
}

// Findings are the configuration's findings (insecure registries and
// mirrors, secure ones without a CA in certs.d) judged with what the probes
// found, plus insecure import registries. A secure registry without a
// certs.d CA is trusted once its probe verified TLS against the system
// roots; until then it is a warning, and a failure once its certificate was
// rejected or it answered in plain HTTP.
func (r RegistryReport) Findings() []RegistryFinding {
	byHost := map[string]int{}
	for i, t := range r.Targets {
		byHost[t.HostPort] = i
	}
	probe := func(hp string) (ProbeTarget, RegistryProbe, bool) {
		i, ok := byHost[hp]
		if !ok {
			return ProbeTarget{}, RegistryProbe{}, false
		}
		var p RegistryProbe
		if i < len(r.Probes) {
			p = r.Probes[i]
		}
		return r.Targets[i], p, true
	}
	out := r.Config.Findings(func(hp string) bool {
		t, p, ok := probe(hp)
		return ok && (len(t.CAs) > 0 || p.Verified)
	})
	for i, f := range out {
		if f.Kind == FindingUntrusted {
			_, p, _ := probe(hostPort(f.Registry))
			out[i] = untrustedFinding(f, p)
		}
	}
	for _, ir := range r.ImportPolicy {
		if ir.Insecure {
			out = append(out, RegistryFinding{ir.DomainName, FindingWarn, FindingInsecureImport,
				"oc import-image from it skips TLS verification (seed 003 §7.3.7: not recommended)"})
		}
	}
	return out
}

// untrustedFinding words a finding about a secure registry without a
// certs.d CA by what its probe saw.
func untrustedFinding(f RegistryFinding, p RegistryProbe) RegistryFinding {
	hp := hostPort(f.Registry)
	noCA := fmt.Sprintf("no CA in /etc/docker/certs.d/%s/ nor /etc/containers/certs.d/%s/", hp, hp)
	fix := fmt.Sprintf("pulls fail until its CA is in /etc/docker/certs.d/%s/ca.crt", hp)
	var first ProbeResult
	if len(p.Results) > 0 {
		first = p.Results[0]
	}
	switch {
	case !p.Done:
		f.Level, f.Message = FindingWarn, noCA+"; trusted only if the system roots are (not probed yet)"
	case first.Meaning == ProbeCertBad:
		f.Level, f.Message = FindingFail, "its certificate is not trusted ("+first.Err+"): "+fix
	case first.Meaning == ProbePlainHTTP:
		f.Level, f.Message = FindingFail, "it speaks plain HTTP but is not marked insecure: pulls from it fail"
	default:
		reason := first.Meaning
		if p.Err != "" {
			reason = p.Err
		}
		f.Level, f.Message = FindingWarn, noCA+"; whether the system roots trust it is unknown ("+reason+")"
	}
	return f
}
