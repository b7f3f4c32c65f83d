package ops

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// The report as master-0 sees it: the Deployments of the seeded 3.11
// cluster, the v1 registries.conf merged with the local cluster's v2
// drop-in, the certs.d CAs and the master's import policy.
func TestRegistriesReport(t *testing.T) {
	ctx := context.Background()
	addr, err := cluster.RegistryAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := session(t).Registries(ctx)
	if r.ID == 0 || r.At.IsZero() || r.ServiceErr != "" || r.ConfigErr != "" || r.ImportErr != "" {
		t.Fatalf("report: %+v", r)
	}
	if len(r.Workloads) != 2 || r.Workloads[0].Role != "registry" || r.Workloads[1].Role != "router" {
		t.Fatalf("workloads: %+v", r.Workloads)
	}
	for _, w := range r.Workloads {
		d, err := cluster.Client.AppsV1().Deployments("default").Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", w.Name, err)
		}
		if w.Kind != kube.KindDeployment || w.Err != "" || w.Desired != *d.Spec.Replicas || w.Current != d.Status.Replicas || len(w.Pods) == 0 {
			t.Errorf("%s: %+v (deployment wants %d, has %d)", w.Role, w, *d.Spec.Replicas, d.Status.Replicas)
		}
		for _, n := range w.Nodes() {
			if !slices.Contains(cluster.Infra, n) {
				t.Errorf("%s pod on %s, not an infra node", w.Role, n)
			}
		}
	}
	if r.Service == nil || r.Service.HostPort() != "docker-registry.default.svc:5000" || r.Service.Address() != addr {
		t.Errorf("service: %+v", r.Service)
	}

	// Master-0 runs CRI-O: its v2 file and the drop-in, read by containers/image.
	c := r.Config
	if c.Version != 2 || c.Reading != model.ReadingContainers || !strings.Contains(c.ReadingWhy, "runs CRI-O") || c.ShortNameMode != "enforcing" || len(c.Aliases) != 2 ||
		!slices.Equal(c.Search, []string{"registry.redhat.io", "docker.io"}) ||
		!slices.Equal(c.Insecure, []string{"registry.example.com:5000"}) || !slices.Equal(c.Blocked, []string{"docker.io/library/untrusted", "quay.io", "registry.redhat.io/openshift3"}) ||
		!slices.Equal(c.Sources, []string{"/etc/containers/registries.conf", "/" + localcluster.RegistryMirrorConf}) {
		t.Errorf("registries.conf: %+v", c)
	}
	mirrored := slices.ContainsFunc(c.Registries, func(e model.RegistryEntry) bool {
		return e.Prefix == "registry.redhat.io/openshift3" && e.Blocked && len(e.Mirrors) == 2 && e.Mirrors[0].Location == addr+"/openshift3"
	})
	if !mirrored {
		t.Errorf("no mirror of the blocked registry.redhat.io/openshift3 on %s: %+v", addr, c.Registries)
	}
	// The mirror inside blocked quay.io is never contacted: quay.io is a
	// target for the import policy only.
	if q := target(t, r, "quay.io"); !slices.Equal(q.Roles, []string{model.RoleImport}) {
		t.Errorf("quay.io target: %+v", q)
	}
	if !slices.Contains(r.ImportPolicy, model.ImportRegistry{DomainName: "registry.example.com:5000", Insecure: true}) || len(r.ImportPolicy) != 4 {
		t.Errorf("import policy: %+v", r.ImportPolicy)
	}

	integrated, mirror := target(t, r, "docker-registry.default.svc:5000"), target(t, r, addr)
	if integrated.Via != addr || !slices.Equal(integrated.CAs, []string{"/etc/docker/certs.d/docker-registry.default.svc:5000/ca.crt"}) ||
		!slices.Equal(integrated.Roles, []string{model.RoleIntegrated, model.RoleImport}) {
		t.Errorf("integrated registry target: %+v", integrated)
	}
	if mirror.Via != "" || mirror.Insecure || !slices.Equal(mirror.CAs, []string{"/etc/docker/certs.d/" + addr + "/ca.crt"}) {
		t.Errorf("mirror target: %+v", mirror)
	}
	if len(r.Probes) != len(r.Targets) || r.ProbesDone() != 0 {
		t.Errorf("probes before probing: %+v", r.Probes)
	}
	findings := map[string]model.RegistryFinding{}
	for _, f := range r.Findings() {
		findings[f.Registry+" "+f.Kind] = f
	}
	for _, key := range []string{"registry.example.com:5000 " + model.FindingInsecure, "registry.example.com:5000 " + model.FindingInsecureImport} {
		if f := findings[key]; f.Level != model.FindingWarn {
			t.Errorf("%s: %+v", key, f)
		}
	}
	if f := findings["registry.redhat.io "+model.FindingUntrusted]; !strings.Contains(f.Message, "not probed yet") {
		t.Errorf("registry.redhat.io before its probe: %+v", f)
	}
	if f, ok := findings[addr+"/openshift3 "+model.FindingUntrusted]; ok {
		t.Errorf("the mirror has its CA in certs.d, yet: %+v", f)
	}
}

// Master-1 runs docker: the v1 file in quoted tables, its CIDR a range, the
// drop-in not read.
func TestRegistriesReportDockerReading(t *testing.T) {
	c := sessionAt(t, 1).Registries(context.Background()).Config
	if c.Reading != model.ReadingDocker || c.Version != 1 || !slices.Equal(c.InsecureRanges, []string{"172.30.0.0/16"}) ||
		!slices.Equal(c.Ignored, []string{"/" + localcluster.RegistryMirrorConf}) || !slices.Equal(c.Search, []string{"registry.redhat.io", "docker.io"}) {
		t.Errorf("master-1: %+v", c)
	}
}

func target(t *testing.T, r model.RegistryReport, hostport string) model.ProbeTarget {
	t.Helper()
	for _, tg := range r.Targets {
		if tg.HostPort == hostport {
			return tg
		}
	}
	t.Fatalf("no target %s in %+v", hostport, r.Targets)
	return model.ProbeTarget{}
}

// silentListener accepts connections and never answers: a registry that
// hangs.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// localReport keeps the targets served on this machine (the external
// registries of registries.conf are not the test's to call) and adds
// extra ones.
func localReport(t *testing.T, r model.RegistryReport, extra ...model.ProbeTarget) model.RegistryReport {
	addr, err := cluster.RegistryAddress(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.Targets = append([]model.ProbeTarget{target(t, r, "docker-registry.default.svc:5000"), target(t, r, addr)}, extra...)
	r.Probes = make([]model.RegistryProbe, len(r.Targets))
	for i := range r.Probes {
		r.Probes[i] = model.RegistryProbe{ReportID: r.ID, Index: i}
	}
	return r
}

// Probes of the real registry, reached through the Service's probe address
// and directly as a mirror, and of one that never answers, arrive one by
// one; merged, they clear the findings their CAs answer for.
func TestProbeRegistries(t *testing.T) {
	ctx := context.Background()
	s := session(t)
	silent := silentListener(t)
	r := localReport(t, s.Registries(ctx), model.ProbeTarget{HostPort: silent, URL: "https://" + silent, Roles: []string{model.RoleRegistry}})

	n := 0
	for p := range s.ProbeRegistries(ctx, r, RegistryProbeOptions{Timeout: 300 * time.Millisecond, Concurrency: 2}) {
		n++
		if p.ReportID != r.ID || !p.Done {
			t.Errorf("probe %+v", p)
		}
		r = r.WithProbe(p)
	}
	if n != 3 || r.ProbesDone() != 3 {
		t.Fatalf("%d probes arrived, %d done", n, r.ProbesDone())
	}
	for i, host := range []string{"docker-registry.default.svc:5000", r.Targets[1].HostPort} {
		p := r.Probes[i]
		if !p.Verified || p.Err != "" || len(p.Results) != 2 {
			t.Fatalf("%s: %+v", host, p)
		}
		h, v := p.Results[0], p.Results[1]
		if h.URL != "https://"+host+"/healthz" || h.Status != 404 || h.Meaning != "no /healthz endpoint" {
			t.Errorf("%s /healthz: %+v", host, h)
		}
		if v.URL != "https://"+host+"/v2/" || v.Status != 401 || v.Meaning != "alive, wants authentication" || v.APIVersion != "registry/2.0" || v.Latency <= 0 {
			t.Errorf("%s /v2/: %+v", host, v)
		}
		if left := time.Until(p.CertNotAfter()); left < 25*24*time.Hour || left > 26*24*time.Hour {
			t.Errorf("%s: serving certificate expires in %s, want 25 days", host, left)
		}
	}
	dead := r.Probes[2]
	if dead.Verified || len(dead.Results) != 2 || dead.Results[0].Meaning != model.ProbeTimedOut || dead.Results[0].Err != "no response within 300ms" ||
		dead.Results[1].Meaning != model.ProbeNotTried {
		t.Errorf("silent registry: %+v", dead)
	}
}

// Cancelling stops the probes: the channel closes without the hanging
// target's result.
func TestProbeRegistriesCancelled(t *testing.T) {
	s := session(t)
	silent := silentListener(t)
	r := localReport(t, s.Registries(context.Background()), model.ProbeTarget{HostPort: silent, URL: "https://" + silent})
	ctx, cancel := context.WithCancel(context.Background())
	ch := s.ProbeRegistries(ctx, r, RegistryProbeOptions{Timeout: time.Minute})
	time.AfterFunc(500*time.Millisecond, cancel)
	closed := make(chan []model.RegistryProbe)
	go func() {
		var got []model.RegistryProbe
		for p := range ch {
			got = append(got, p)
		}
		closed <- got
	}()
	select {
	case got := <-closed:
		for _, p := range got {
			if p.Index == 2 {
				t.Errorf("the hanging registry's probe was sent after the cancel: %+v", p)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the channel stayed open after the cancel")
	}
}

// A malformed registries.conf or master-config.yaml is reported with its
// path; the rest of the report is still there.
func TestRegistriesMalformedFiles(t *testing.T) {
	root := t.TempDir()
	for rel, data := range map[string]string{
		"etc/containers/registries.conf":       "[registries.search]\nregistries = ['registry.redhat.io'\n",
		"etc/origin/master/master-config.yaml": "imagePolicyConfig:\n  allowedRegistriesForImport: {domainName: [\n",
	} {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   root, Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Registries(context.Background())
	if !strings.Contains(r.ConfigErr, `"/etc/containers/registries.conf": toml: line 2`) {
		t.Errorf("ConfigErr = %q", r.ConfigErr)
	}
	if !strings.HasPrefix(r.ImportErr, "/etc/origin/master/master-config.yaml: ") {
		t.Errorf("ImportErr = %q", r.ImportErr)
	}
	if len(r.Workloads) != 2 || !r.Workloads[0].Found() || r.Service == nil || len(r.Targets) != 1 || r.Targets[0].CAs != nil {
		t.Errorf("rest of the report: %+v", r)
	}
}

// --registry-address wins over the Service's annotation: the integrated
// registry is probed where the operator says it answers.
func TestRegistryAddressOverride(t *testing.T) {
	s := session(t)
	s.opts.RegistryAddress = "registry.lb.example.com:443"
	r := s.Registries(context.Background())
	if r.Service == nil || r.Service.Address() != "registry.lb.example.com:443" {
		t.Fatalf("service: %+v (%s)", r.Service, r.ServiceErr)
	}
	if len(r.Targets) == 0 || r.Targets[0].Roles[0] != model.RoleIntegrated || r.Targets[0].Via != "registry.lb.example.com:443" {
		t.Errorf("first target: %+v", r.Targets)
	}
}
