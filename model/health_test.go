package model

import (
	"strings"
	"testing"
	"time"
)

var healthNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// checkOf runs EvaluateHealth and returns the check with id (failing when
// it is absent).
func checkOf(t *testing.T, s HealthSnapshots, p HealthProbes, id string) HealthCheck {
	t.Helper()
	for _, c := range EvaluateHealth(s, p, healthNow).Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q", id)
	return HealthCheck{}
}

func hasCheck(s HealthSnapshots, p HealthProbes, id string) bool {
	for _, c := range EvaluateHealth(s, p, healthNow).Checks {
		if c.ID == id {
			return true
		}
	}
	return false
}

type healthCase struct {
	name   string
	s      HealthSnapshots
	p      HealthProbes
	want   HealthLevel
	detail string // substring of Detail
}

func runHealthCases(t *testing.T, id string, cases []healthCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(id+"/"+tc.name, func(t *testing.T) {
			c := checkOf(t, tc.s, tc.p, id)
			if c.Level != tc.want || !strings.Contains(c.Detail, tc.detail) {
				t.Fatalf("%s %q, want %s containing %q", c.Level, c.Detail, tc.want, tc.detail)
			}
			if c.Seed == "" || c.Title == "" {
				t.Fatalf("check without title or seed: %+v", c)
			}
			if (c.Level == HealthPass) != (c.Hint == "") {
				t.Fatalf("hint %q on a %s check", c.Hint, c.Level)
			}
		})
	}
}

func TestHealthNodes(t *testing.T) {
	ready := Node{Name: "a", Readiness: NodeReady}
	runHealthCases(t, "nodes-ready", []healthCase{
		{"not listed", HealthSnapshots{}, HealthProbes{}, HealthUnknown, "not listed yet"},
		{"forbidden", HealthSnapshots{Nodes: Nodes{Err: "watch nodes: forbidden"}}, HealthProbes{}, HealthUnknown, "forbidden"},
		{"none", HealthSnapshots{Nodes: Nodes{Synced: true}}, HealthProbes{}, HealthFail, "no nodes"},
		{"all ready", HealthSnapshots{Nodes: Nodes{Synced: true, Items: []Node{ready, ready}}}, HealthProbes{}, HealthPass, "2/2 Ready"},
		{"one not ready", HealthSnapshots{Nodes: Nodes{Synced: true, Items: []Node{ready, {Name: "b", Readiness: NodeNotReady}, {Name: "c"}}}}, HealthProbes{},
			HealthFail, "1/3 Ready; b NotReady, c Unknown"},
	})
}

func TestHealthEtcd(t *testing.T) {
	m := func(id uint64, healthy bool) EtcdMember {
		return EtcdMember{ID: id, Name: string(rune('a' + id)), Reached: healthy, Healthy: healthy, LeaderID: 1}
	}
	polled := healthNow
	runHealthCases(t, "etcd", []healthCase{
		{"not polled", HealthSnapshots{}, HealthProbes{}, HealthUnknown, "not polled yet"},
		{"not configured", HealthSnapshots{Etcd: EtcdCluster{Err: "no etcd endpoints"}}, HealthProbes{}, HealthUnknown, "no etcd endpoints"},
		{"healthy", HealthSnapshots{Etcd: EtcdCluster{PolledAt: polled, Members: []EtcdMember{m(1, true), m(2, true), m(3, true)}}}, HealthProbes{},
			HealthPass, "3/3 healthy · ft 1, leader b"},
		{"degraded", HealthSnapshots{Etcd: EtcdCluster{PolledAt: polled, Members: []EtcdMember{m(1, true), m(2, true), m(3, false)}}}, HealthProbes{},
			HealthWarn, "unhealthy: d"},
		{"no quorum", HealthSnapshots{Etcd: EtcdCluster{PolledAt: polled, Members: []EtcdMember{m(1, true), m(2, false), m(3, false)}}}, HealthProbes{},
			HealthFail, "NO QUORUM 1/3"},
	})
}

func TestHealthWorkloads(t *testing.T) {
	infra := Nodes{Synced: true}
	for _, n := range []string{"i1", "i2", "i3"} {
		infra.Items = append(infra.Items, Node{Name: n, Readiness: NodeReady, Roles: []string{"infra"}})
	}
	w := func(role string, desired, current, ready int32) Workload {
		return Workload{Role: role, Kind: "Deployment", Namespace: "default", Name: role, Desired: desired, Current: current, Ready: ready}
	}
	runHealthCases(t, "router", []healthCase{
		{"not read", HealthSnapshots{}, HealthProbes{}, HealthUnknown, "not read yet"},
		{"settled on every infra node", HealthSnapshots{Nodes: infra, Workloads: []Workload{w("router", 3, 3, 3)}}, HealthProbes{}, HealthPass, "desired 3, current 3, ready 3"},
		{"desired differs from current", HealthSnapshots{Nodes: infra, Workloads: []Workload{w("router", 3, 2, 2)}}, HealthProbes{}, HealthFail, "desired 3, current 2"},
		{"current not ready", HealthSnapshots{Nodes: infra, Workloads: []Workload{w("router", 3, 3, 2)}}, HealthProbes{}, HealthWarn, "1 not ready"},
		{"fewer replicas than infra nodes", HealthSnapshots{Nodes: infra, Workloads: []Workload{w("router", 2, 2, 2)}}, HealthProbes{}, HealthWarn, "on 3 infra nodes"},
		{"no infra nodes: any count", HealthSnapshots{Workloads: []Workload{w("router", 2, 2, 2)}}, HealthProbes{}, HealthPass, "desired 2"},
		{"scaled to zero", HealthSnapshots{Workloads: []Workload{w("router", 0, 0, 0)}}, HealthProbes{}, HealthWarn, "scaled to zero"},
		{"missing", HealthSnapshots{Workloads: []Workload{w("registry", 1, 1, 1)}}, HealthProbes{}, HealthWarn, "no router found"},
		{"forbidden", HealthSnapshots{Workloads: []Workload{{Role: "router", Err: "deployments forbidden"}}}, HealthProbes{}, HealthUnknown, "forbidden"},
	})
	runHealthCases(t, "registry", []healthCase{
		{"single replica is fine", HealthSnapshots{Nodes: infra, Workloads: []Workload{w("registry", 1, 1, 1)}}, HealthProbes{}, HealthPass, "desired 1"},
		{"absent: maybe external", HealthSnapshots{Workloads: []Workload{{Role: "registry"}}}, HealthProbes{}, HealthWarn, "external registry"},
		{"looked for everywhere", HealthSnapshots{Workloads: []Workload{{Role: "registry", Err: "not found: no Deployment default/docker-registry"}}}, HealthProbes{},
			HealthWarn, "not found: no Deployment default/docker-registry (fine when"},
		{"unreadable", HealthSnapshots{Workloads: []Workload{{Role: "registry", Err: "Deployment default/docker-registry: forbidden"}}}, HealthProbes{}, HealthUnknown, "forbidden"},
	})
}

func TestHealthAPI(t *testing.T) {
	p := func(probes ...APIProbe) HealthProbes { return HealthProbes{API: probes} }
	runHealthCases(t, "api-healthz", []healthCase{
		{"ok", HealthSnapshots{}, p(APIProbe{Path: "/healthz", Status: 200, Body: "ok"}), HealthPass, "ok"},
		{"ok verbose", HealthSnapshots{}, p(APIProbe{Path: "/healthz", Status: 200, Body: "[+]ping ok\n[+]etcd ok\nhealthz check passed"}), HealthPass, "ok: 2 checks pass"},
		{"timeout", HealthSnapshots{}, p(APIProbe{Path: "/healthz", Err: "context deadline exceeded"}), HealthUnknown, "deadline"},
		{"forbidden", HealthSnapshots{}, p(APIProbe{Path: "/healthz", Status: 403}), HealthUnknown, "not allowed"},
		{"failing", HealthSnapshots{}, p(APIProbe{Path: "/healthz", Status: 500, Body: "[+]ping ok\n[-]etcd failed: reason withheld\nhealthz check failed"}),
			HealthFail, "HTTP 500: etcd failed: reason withheld"},
	})
	runHealthCases(t, "api-readyz", []healthCase{
		{"ok", HealthSnapshots{}, p(APIProbe{Path: "/readyz", Status: 200, Body: "ok"}), HealthPass, "ok"},
	})
	if hasCheck(HealthSnapshots{}, p(APIProbe{Path: "/readyz", Status: 404}), "api-readyz") {
		t.Fatal("a /readyz the server does not serve (3.11) still got a check")
	}
}

func TestHealthLeaders(t *testing.T) {
	rec := func(mod func(*LeaderRecord)) HealthProbes {
		r := LeaderRecord{Component: "controllers", Source: "lease kube-system/kube-controller-manager", Found: true,
			Holder: "master-0_7c1f", Renewed: healthNow.Add(-3 * time.Second), LeaseDuration: 15 * time.Second, Transitions: 2}
		mod(&r)
		return HealthProbes{Leaders: []LeaderRecord{r}}
	}
	runHealthCases(t, "controllers-leader", []healthCase{
		{"fresh", HealthSnapshots{}, rec(func(*LeaderRecord) {}), HealthPass, "master-0, renewed 3s ago (lease 15s, 2 transitions"},
		{"stale", HealthSnapshots{}, rec(func(r *LeaderRecord) { r.Renewed = healthNow.Add(-2 * time.Minute) }), HealthWarn, "stale: master-0, renewed 2m ago"},
		{"released", HealthSnapshots{}, rec(func(r *LeaderRecord) { r.Holder = "" }), HealthFail, "no holder"},
		{"absent", HealthSnapshots{}, rec(func(r *LeaderRecord) { r.Found = false }), HealthWarn, "no leader record"},
		{"forbidden", HealthSnapshots{}, rec(func(r *LeaderRecord) { r.Err = "leases forbidden" }), HealthUnknown, "forbidden"},
	})
}

func TestLeaderAnnotation(t *testing.T) {
	// The example of seed 003 §3.9.
	r, err := ParseLeaderAnnotation(`{"holderIdentity":"master-ose-master-0.example.com-10.19.115.212-dnwrtcl4","leaseDurationSeconds":15,"acquireTime":"2018-02-17T18:16:54Z","renewTime":"2018-02-19T13:50:33Z","leaderTransitions":16}`)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Found || r.LeaseDuration != 15*time.Second || r.Transitions != 16 || !r.Renewed.Equal(time.Date(2018, 2, 19, 13, 50, 33, 0, time.UTC)) {
		t.Fatalf("parsed %+v", r)
	}
	if h := LeaderHost(r.Holder); h != "ose-master-0.example.com" {
		t.Fatalf("host %q", h)
	}
	if h := LeaderHost("master-1.example.com_3f2a-11"); h != "master-1.example.com" {
		t.Fatalf("lease holder host %q", h)
	}
	if h := LeaderHost("plain"); h != "plain" {
		t.Fatalf("plain holder %q", h)
	}
	if _, err := ParseLeaderAnnotation("{"); err == nil {
		t.Fatal("broken annotation parsed")
	}
}

func TestHealthStorageClass(t *testing.T) {
	sc := func(items ...StorageClass) HealthProbes {
		return HealthProbes{StorageClasses: StorageClasses{Items: items}}
	}
	runHealthCases(t, "default-storageclass", []healthCase{
		{"none defined", HealthSnapshots{}, sc(), HealthWarn, "no StorageClass defined"},
		{"none default", HealthSnapshots{}, sc(StorageClass{Name: "ssd"}, StorageClass{Name: "standard"}), HealthWarn, "none of ssd, standard is the default"},
		{"one default", HealthSnapshots{}, sc(StorageClass{Name: "ssd"}, StorageClass{Name: "standard", Default: true}), HealthPass, "standard (default)"},
		{"two defaults", HealthSnapshots{}, sc(StorageClass{Name: "a", Default: true}, StorageClass{Name: "b", Default: true}), HealthWarn, "2 defaults"},
		{"forbidden", HealthSnapshots{}, HealthProbes{StorageClasses: StorageClasses{Err: "forbidden"}}, HealthUnknown, "forbidden"},
	})
	for annotations, want := range map[string]bool{
		"storageclass.kubernetes.io/is-default-class=true":       true,
		"storageclass.beta.kubernetes.io/is-default-class=true":  true,
		"storageclass.kubernetes.io/is-default-class=false":      false,
		"storageclass.beta.kubernetes.io/is-default-class=false": false,
	} {
		k, v, _ := strings.Cut(annotations, "=")
		if got := IsDefaultStorageClass(map[string]string{k: v}); got != want {
			t.Errorf("%s: default %v", annotations, got)
		}
	}
}

func TestHealthClusterOperators(t *testing.T) {
	co := func(items ...ClusterOperator) HealthProbes {
		return HealthProbes{ClusterOperators: ClusterOperators{Served: true, Items: items}}
	}
	ok := ClusterOperator{Name: "dns", Available: "True", Progressing: "False", Degraded: "False"}
	runHealthCases(t, "cluster-operators", []healthCase{
		{"all fine", HealthSnapshots{}, co(ok, ok), HealthPass, "2 operators Available, none Degraded"},
		{"progressing", HealthSnapshots{}, co(ok, ClusterOperator{Name: "etcd", Available: "True", Progressing: "True"}), HealthPass, "(1 progressing)"},
		{"degraded", HealthSnapshots{}, co(ok, ClusterOperator{Name: "etcd", Available: "True", Degraded: "True", Message: "member down"}), HealthFail, "etcd Degraded (member down)"},
		{"unavailable", HealthSnapshots{}, co(ClusterOperator{Name: "console", Available: "False"}), HealthFail, "console not Available"},
		{"empty", HealthSnapshots{}, co(), HealthWarn, "no ClusterOperators"},
		{"forbidden", HealthSnapshots{}, HealthProbes{ClusterOperators: ClusterOperators{Served: true, Err: "forbidden"}}, HealthUnknown, "forbidden"},
	})
	if hasCheck(HealthSnapshots{}, HealthProbes{}, "cluster-operators") {
		t.Fatal("a cluster without config.openshift.io got a ClusterOperators check")
	}
}

func TestHealthCSRs(t *testing.T) {
	csr := func(name string, kind CSRVerdictKind, approved bool) CSR {
		return CSR{Name: name, Approved: approved, Verdict: CSRVerdict{Kind: kind, Reasons: []string{"CN wrong"}}}
	}
	p := func(items ...CSR) HealthProbes { return HealthProbes{CSRs: CSRs{Synced: true, Items: items}} }
	runHealthCases(t, "pending-csrs", []healthCase{
		{"not listed", HealthSnapshots{}, HealthProbes{}, HealthUnknown, "not listed yet"},
		{"forbidden", HealthSnapshots{}, HealthProbes{CSRs: CSRs{Err: "forbidden"}}, HealthUnknown, "forbidden"},
		{"a node unreadable: still judged", HealthSnapshots{}, HealthProbes{CSRs: CSRs{Synced: true, Err: "get node x: forbidden", Items: []CSR{csr("a", CSRUnchecked, false)}}}, HealthWarn, "1 pending: a"},
		{"none pending", HealthSnapshots{}, p(csr("a", CSRValid, true), csr("b", CSRInvalid, true)), HealthPass, "none pending"},
		{"valid pending", HealthSnapshots{}, p(csr("a", CSRValid, false), csr("n", CSRNewNode, false)), HealthWarn, "2 pending: a, n"},
		{"invalid pending", HealthSnapshots{}, p(csr("a", CSRValid, false), csr("b", CSRInvalid, false)), HealthFail, "2 pending, 1 invalid: do not approve b (CN wrong)"},
	})
}

func TestHealthCerts(t *testing.T) {
	cert := func(days int) Certificate {
		return Certificate{Source: "/etc/x.crt", SubjectCN: "x", NotAfter: healthNow.Add(time.Duration(days)*24*time.Hour + time.Hour)}
	}
	rep := func(cs ...Certificate) HealthSnapshots {
		return HealthSnapshots{Certs: CertReport{At: healthNow, Certs: cs}}
	}
	runHealthCases(t, "cert-expiry", []healthCase{
		{"not scanned", HealthSnapshots{}, HealthProbes{}, HealthUnknown, "not scanned yet"},
		{"none found", HealthSnapshots{Certs: CertReport{At: healthNow, Problems: []string{"open /etc/origin: permission denied"}}}, HealthProbes{}, HealthUnknown, "permission denied"},
		{"all fine", rep(cert(300), cert(100)), HealthProbes{}, HealthPass, "2 certificates: 0 expired, 0 ≤ 7 d, 0 ≤ 30 d; soonest /etc/x.crt (x, 100 d)"},
		{"warning", rep(cert(300), cert(25)), HealthProbes{}, HealthWarn, "1 ≤ 30 d"},
		{"critical", rep(cert(5), cert(25)), HealthProbes{}, HealthFail, "1 ≤ 7 d"},
		{"expired", rep(cert(-3)), HealthProbes{}, HealthFail, "1 expired"},
	})
}

func TestHealthHost(t *testing.T) {
	host := func(mod func(*HostFacts)) HealthProbes {
		h := HostFacts{Root: "/", Entropy: 2683, Kernel: "3.10.0-957.el7.x86_64",
			TimeSync: TimeSync{State: TimeSynced, Source: "kernel (adjtimex)"},
			Var:      DiskSpace{Path: "/var", Size: 45 << 30, Free: 43 << 30}}
		mod(&h)
		return HealthProbes{Hosts: []HostReport{NewHostReport(Host{Name: "localhost"}, "under /", 0, h, healthNow)}, HostRoot: h.Root}
	}
	runHealthCases(t, "ntp", []healthCase{
		{"synced", HealthSnapshots{}, host(func(*HostFacts) {}), HealthPass, "adjtimex"},
		{"not synced", HealthSnapshots{}, host(func(h *HostFacts) { h.TimeSync = TimeSync{State: TimeNotSynced, Source: "kernel"} }), HealthFail, "not synchronised"},
		{"no evidence", HealthSnapshots{}, host(func(h *HostFacts) { h.TimeSync = TimeSync{State: TimeNoEvidence, Source: "no marker"} }), HealthWarn, "no sign"},
		{"unreadable", HealthSnapshots{}, host(func(h *HostFacts) { h.TimeSync = TimeSync{Err: "adjtimex: operation not permitted"} }), HealthUnknown, "not permitted"},
	})
	runHealthCases(t, "entropy", []healthCase{
		{"seed example 2683", HealthSnapshots{}, host(func(*HostFacts) {}), HealthPass, "2683 available"},
		{"exactly 1000", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy = 1000 }), HealthPass, "1000"},
		{"999 warns", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy = 999 }), HealthWarn, "should be above 1000"},
		{"exactly 800 warns", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy = 800 }), HealthWarn, "800"},
		{"799 fails", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy = 799 }), HealthFail, "alert under 800"},
		{"modern kernel's fixed 256", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy, h.Kernel = 256, "6.18.44-fc" }), HealthPass, "since 5.18"},
		{"5.18 itself", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy, h.Kernel = 256, "5.18.0" }), HealthPass, "since 5.18"},
		{"5.17 still counts", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy, h.Kernel = 256, "5.17.3" }), HealthFail, "256 available"},
		{"unknown kernel counts", HealthSnapshots{}, host(func(h *HostFacts) { h.Entropy, h.Kernel = 256, "" }), HealthFail, "256 available"},
		{"unreadable", HealthSnapshots{}, host(func(h *HostFacts) { h.EntropyErr = "no such file" }), HealthUnknown, "no such file"},
	})
	runHealthCases(t, "var-space", []healthCase{
		{"master 43 of 45 GiB", HealthSnapshots{}, host(func(h *HostFacts) { h.Master = true }), HealthPass, "43.0 GiB free of 45.0 GiB on /var; a master needs 40.0 GiB"},
		{"master at exactly 40 GiB", HealthSnapshots{}, host(func(h *HostFacts) { h.Master, h.Var.Size, h.Var.Free = true, 40<<30, 40<<30 }), HealthPass, "40.0 GiB free"},
		{"master filling up", HealthSnapshots{}, host(func(h *HostFacts) { h.Master, h.Var.Free = true, 30<<30 }), HealthWarn, "30.0 GiB free"},
		{"master too small", HealthSnapshots{}, host(func(h *HostFacts) { h.Master, h.Var.Size, h.Var.Free = true, 25<<30, 23<<30 }), HealthFail, "a master needs 40.0 GiB"},
		{"node 23 of 25 GiB", HealthSnapshots{}, host(func(h *HostFacts) { h.Var.Size, h.Var.Free = 25<<30, 23<<30 }), HealthPass, "a node needs 15.0 GiB"},
		{"node filling up", HealthSnapshots{}, host(func(h *HostFacts) { h.Var.Size, h.Var.Free = 25<<30, 14<<30 }), HealthWarn, "14.0 GiB free"},
		{"node too small", HealthSnapshots{}, host(func(h *HostFacts) { h.Var.Size, h.Var.Free = 10<<30, 9<<30 }), HealthFail, "a node needs"},
		{"unreadable", HealthSnapshots{}, host(func(h *HostFacts) { h.Var.Err = "statfs /var: no such file" }), HealthUnknown, "statfs"},
	})
}

func TestHealthReportSummary(t *testing.T) {
	r := EvaluateHealth(HealthSnapshots{}, HealthProbes{}, healthNow)
	if r.Worst() != HealthWarn { // nothing known, and no StorageClass: warn outranks unknown
		t.Fatalf("worst %s", r.Worst())
	}
	for _, c := range r.Checks {
		if c.Scope != ScopeCluster && c.Scope != ScopeHost {
			t.Fatalf("check %s without scope", c.ID)
		}
	}
	if r.HostRoot != "" || EvaluateHealth(HealthSnapshots{}, HealthProbes{HostRoot: "/host"}, healthNow).HostRoot != "/host" {
		t.Fatal("the report does not carry the host root")
	}
	r = HealthReport{Checks: []HealthCheck{{Level: HealthPass}, {Level: HealthUnknown}, {Level: HealthFail}, {Level: HealthPass}}}
	if r.Worst() != HealthFail || r.Count()[HealthPass] != 2 || r.Count()[HealthUnknown] != 1 {
		t.Fatalf("worst %s counts %v", r.Worst(), r.Count())
	}
	if (HealthReport{}).Worst() != HealthPass {
		t.Fatal("an empty report is not pass")
	}
}
