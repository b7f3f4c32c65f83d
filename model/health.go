package model

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// HealthLevel is the outcome of one health check.
type HealthLevel int

const (
	// HealthUnknown: the check could not be made (forbidden, timed out, not
	// loaded yet); Detail says why.
	HealthUnknown HealthLevel = iota
	HealthPass
	HealthWarn
	HealthFail
)

func (l HealthLevel) String() string {
	switch l {
	case HealthPass:
		return "pass"
	case HealthWarn:
		return "warn"
	case HealthFail:
		return "fail"
	default:
		return "unknown"
	}
}

// HealthScope tells cluster-wide checks from those of the host day2 runs on
// (read under --host-root).
type HealthScope string

const (
	ScopeCluster HealthScope = "cluster"
	ScopeHost    HealthScope = "host"
)

// HealthCheck is one line of the Health pane.
type HealthCheck struct {
	// ID is stable across runs ("nodes-ready", "ntp", ...).
	ID    string
	Title string
	// Seed cites the guide section the check comes from, e.g. "003 §2.2".
	Seed   string
	Scope  HealthScope
	Level  HealthLevel
	Detail string
	// Hint is what the guide says to do when the check does not pass.
	Hint string
}

// HealthReport is one run of every check, in a fixed order.
type HealthReport struct {
	Checks []HealthCheck
	At     time.Time
	// HostRoot is where the host checks (ScopeHost) read this host's files.
	HostRoot string
}

// Count tallies the checks by level.
func (r HealthReport) Count() map[HealthLevel]int {
	out := map[HealthLevel]int{}
	for _, c := range r.Checks {
		out[c.Level]++
	}
	return out
}

// Worst is the most serious level in the report: fail, then warn, then
// unknown, then pass.
func (r HealthReport) Worst() HealthLevel {
	rank := map[HealthLevel]int{HealthPass: 0, HealthUnknown: 1, HealthWarn: 2, HealthFail: 3}
	worst := HealthPass
	for _, c := range r.Checks {
		if rank[c.Level] > rank[worst] {
			worst = c.Level
		}
	}
	return worst
}

// HealthSnapshots are the live snapshots the console already holds; the
// zero value of each means "not known yet" and makes its check unknown.
type HealthSnapshots struct {
	Nodes Nodes       // Synced false: not listed yet
	Etcd  EtcdCluster // PolledAt zero and no Err: not polled yet
	// Workloads are the router and registry; nil: not read yet.
	Workloads []Workload
	Certs     CertReport // At zero: not scanned yet
	// Hosts are the Hosts pane's rows; nil: not checked yet.
	Hosts []HostReport
}

// HealthProbes are what a health run reads for itself.
type HealthProbes struct {
	API              []APIProbe
	Leaders          []LeaderRecord
	StorageClasses   StorageClasses
	ClusterOperators ClusterOperators
	CSRs             CSRs
	// Hosts are the host checks of every host (the Hosts pane's rows);
	// HostRoot is where this host's files are read.
	Hosts    []HostReport
	HostRoot string
}

// APIProbe is one GET of an API server health endpoint.
type APIProbe struct {
	Path string // "/healthz", "/readyz"
	// Status is the HTTP status (0 when there was no answer).
	Status int
	Body   string
	Err    string
}

// LeaderRecord is a leader-election record: OpenShift 3.11's
// control-plane.alpha.kubernetes.io/leader annotation or a coordination
// Lease.
type LeaderRecord struct {
	// Component is "controllers" or "scheduler".
	Component string
	// Source names the object read, e.g. "lease kube-system/kube-scheduler".
	Source        string
	Found         bool
	Holder        string
	Renewed       time.Time
	LeaseDuration time.Duration
	Transitions   int32
	Err           string
}

// LeaderAnnotation holds 3.11's controller leader record (seed 003 §3.9).
const LeaderAnnotation = "control-plane.alpha.kubernetes.io/leader"

// ParseLeaderAnnotation reads the JSON of LeaderAnnotation.
func ParseLeaderAnnotation(v string) (LeaderRecord, error) {
	var rec struct {
		HolderIdentity       string    `json:"holderIdentity"`
		LeaseDurationSeconds int       `json:"leaseDurationSeconds"`
		RenewTime            time.Time `json:"renewTime"`
		LeaderTransitions    int32     `json:"leaderTransitions"`
	}
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return LeaderRecord{}, fmt.Errorf("annotation %s: %w", LeaderAnnotation, err)
	}
	return LeaderRecord{
		Found: true, Holder: rec.HolderIdentity, Renewed: rec.RenewTime,
		LeaseDuration: time.Duration(rec.LeaseDurationSeconds) * time.Second, Transitions: rec.LeaderTransitions,
	}, nil
}

// masterHolder is 3.11's holderIdentity: master-<hostname>-<ip>-<8 random>
// (seed 003 §3.9's jq match).
var masterHolder = regexp.MustCompile(`^master-(.*)-[0-9.]*-[0-9a-z]{8}$`)

// LeaderHost is the host name inside a holder identity: 3.11's
// master-<hostname>-<ip>-<random>, or a lease's <hostname>_<uuid>.
func LeaderHost(holder string) string {
	if m := masterHolder.FindStringSubmatch(holder); m != nil {
		return m[1]
	}
	if host, _, ok := strings.Cut(holder, "_"); ok {
		return host
	}
	return holder
}

// StorageClass is one StorageClass as the storage check sees it.
type StorageClass struct {
	Name, Provisioner string
	Default           bool
}

// StorageClasses is the result of listing them.
type StorageClasses struct {
	Items []StorageClass
	Err   string
}

// Annotations that make a StorageClass the default: the GA one and the
// beta one OpenShift 3.11 installs.
var defaultClassAnnotations = []string{
	"storageclass.kubernetes.io/is-default-class",
	"storageclass.beta.kubernetes.io/is-default-class",
}

// IsDefaultStorageClass reads the default-class annotations.
func IsDefaultStorageClass(annotations map[string]string) bool {
	for _, k := range defaultClassAnnotations {
		if annotations[k] == "true" {
			return true
		}
	}
	return false
}

// ClusterOperator is an OpenShift 4 ClusterOperator's conditions
// ("True", "False", "Unknown", or "" when absent).
type ClusterOperator struct {
	Name                             string
	Available, Progressing, Degraded string
	// Message is the Degraded (or else Available=False) condition's message.
	Message string
}

// ClusterOperators is the result of listing them; Served is false when the
// config.openshift.io API does not exist (not OpenShift 4), and then the
// check is left out.
type ClusterOperators struct {
	Served bool
	Items  []ClusterOperator
	Err    string
}

// EvaluateHealth runs every check over what was gathered, in the pane's
// order: cluster checks, then this host's.
func EvaluateHealth(s HealthSnapshots, p HealthProbes, now time.Time) HealthReport {
	r := HealthReport{At: now, HostRoot: p.HostRoot}
	add := func(cs ...HealthCheck) { r.Checks = append(r.Checks, cs...) }
	add(nodesCheck(s.Nodes), etcdCheck(s.Etcd))
	add(workloadChecks(s.Workloads, s.Nodes)...)
	add(apiChecks(p.API)...)
	add(leaderChecks(p.Leaders, now)...)
	add(storageClassCheck(p.StorageClasses))
	if p.ClusterOperators.Served || p.ClusterOperators.Err != "" {
		add(clusterOperatorsCheck(p.ClusterOperators))
	}
	add(csrCheck(p.CSRs), certCheck(s.Certs, now))
	add(hostChecks(p.Hosts)...)
	for i := range r.Checks {
		if r.Checks[i].Scope == "" {
			r.Checks[i].Scope = ScopeCluster
		}
		if r.Checks[i].Level == HealthPass {
			r.Checks[i].Hint = ""
		}
	}
	return r
}

func nodesCheck(ns Nodes) HealthCheck {
	c := HealthCheck{ID: "nodes-ready", Title: "Nodes Ready", Seed: "003 §3.3",
		Hint: "oc describe node <name>: a NotReady node's kubelet cannot reach the masters (port 10250), or is stopped; on OpenShift 4 look for pending CSRs"}
	switch {
	case !ns.Synced && ns.Err != "":
		c.Detail = "nodes: " + ns.Err
	case !ns.Synced:
		c.Detail = "nodes not listed yet"
	case len(ns.Items) == 0:
		c.Level, c.Detail = HealthFail, "no nodes"
	default:
		var bad []string
		for _, n := range ns.Items {
			if n.Readiness != NodeReady {
				bad = append(bad, n.Name+" "+string(orUnknownReadiness(n.Readiness)))
			}
		}
		total := len(ns.Items)
		if len(bad) == 0 {
			c.Level, c.Detail = HealthPass, fmt.Sprintf("%d/%d Ready", total, total)
		} else {
			c.Level, c.Detail = HealthFail, fmt.Sprintf("%d/%d Ready; %s", total-len(bad), total, listSome(bad, 5))
		}
	}
	return c
}

func orUnknownReadiness(r Readiness) Readiness {
	if r == "" {
		return NodeUnknown
	}
	return r
}

func etcdCheck(e EtcdCluster) HealthCheck {
	c := HealthCheck{ID: "etcd", Title: "etcd healthy and quorate", Seed: "003 §3.3",
		Hint: "etcdctl cluster-health / endpoint health from a master; see the etcd pane for the member that fails"}
	switch e.State() {
	case QuorumHealthy:
		c.Level = HealthPass
	case QuorumDegraded:
		c.Level = HealthWarn
	case QuorumLost:
		c.Level = HealthFail
	default:
		switch {
		case e.Err != "":
			c.Detail = "etcd: " + e.Err
		case e.PolledAt.IsZero():
			c.Detail = "etcd not polled yet"
		default:
			c.Detail = "no voting members listed"
		}
		return c
	}
	c.Detail = strings.TrimPrefix(e.Badge(), "etcd ")
	if l, ok := e.Leader(); ok {
		c.Detail += ", leader " + l.DisplayName()
	}
	var down []string
	for _, m := range e.Members {
		if !m.Learner && !m.Healthy {
			down = append(down, m.DisplayName())
		}
	}
	if len(down) > 0 {
		c.Detail += "; unhealthy: " + strings.Join(down, ", ")
	}
	return c
}

// workloadChecks apply seed 003 §3.4: the router's and the registry's
// DESIRED and CURRENT match, and the router runs one replica per infra node.
// A registry may run a single replica (storage without multiple writers),
// and need not run at all with an external registry.
func workloadChecks(ws []Workload, nodes Nodes) []HealthCheck {
	infra := 0
	for _, n := range nodes.Items {
		if slices.Contains(n.Roles, "infra") {
			infra++
		}
	}
	var out []HealthCheck
	for _, role := range []struct{ role, title string }{{"router", "Router DESIRED = CURRENT"}, {"registry", "Registry DESIRED = CURRENT"}} {
		c := HealthCheck{ID: role.role, Title: role.title, Seed: "003 §3.4",
			Hint: "oc -n default get dc/" + map[string]string{"router": "router", "registry": "docker-registry"}[role.role] +
				" and oc -n default get pods -o wide: see why replicas are missing (scheduling, image pulls, node down)"}
		var found []Workload
		for _, w := range ws {
			if w.Role == role.role {
				found = append(found, w)
			}
		}
		switch {
		case ws == nil:
			c.Detail = "router and registry not read yet"
		case len(found) == 0 || !found[0].Found() && (found[0].Err == "" || strings.HasPrefix(found[0].Err, WorkloadNotFound)):
			c.Level, c.Detail = HealthWarn, "no "+role.role+" found"
			if len(found) > 0 && found[0].Err != "" {
				c.Detail = found[0].Err
			}
			if role.role == "registry" {
				c.Detail += " (fine when the cluster uses an external registry)"
			}
		case found[0].Err != "":
			c.Detail = found[0].Err
		default:
			c.Level, c.Detail = workloadLevel(found[0], role.role == "router", infra)
		}
		out = append(out, c)
	}
	return out
}

// WorkloadNotFound begins a Workload's Err when it was looked for
// everywhere and is nowhere (kube.Workloads); any other Err is a read that
// failed.
const WorkloadNotFound = "not found"

func workloadLevel(w Workload, perInfraNode bool, infra int) (HealthLevel, string) {
	d := fmt.Sprintf("%s %s/%s: desired %d, current %d, ready %d", w.Kind, w.Namespace, w.Name, w.Desired, w.Current, w.Ready)
	switch {
	case w.Desired == 0:
		return HealthWarn, d + " (scaled to zero)"
	case w.Desired != w.Current:
		return HealthFail, d
	case w.Ready < w.Current:
		return HealthWarn, d + fmt.Sprintf(" (%d not ready)", w.Current-w.Ready)
	case perInfraNode && infra > 0 && int(w.Desired) != infra:
		return HealthWarn, d + fmt.Sprintf(" on %d infra nodes: the guide runs one per infra node", infra)
	default:
		return HealthPass, d
	}
}

// apiChecks read /healthz and /readyz (seed 003 §3.8). An API server that
// does not serve /readyz (Kubernetes before 1.16, so OpenShift 3.11) gets no
// /readyz line.
func apiChecks(probes []APIProbe) []HealthCheck {
	var out []HealthCheck
	for _, p := range probes {
		if p.Status == 404 {
			continue
		}
		c := HealthCheck{ID: "api-" + strings.TrimPrefix(p.Path, "/"), Title: "API " + p.Path, Seed: "003 §3.8",
			Hint: "oc get pod -n kube-system -l openshift.io/component=api; the failing checks name the part that is down"}
		body := strings.TrimSpace(p.Body)
		switch {
		case p.Status == 0:
			c.Detail = p.Err
		case p.Status == 401 || p.Status == 403:
			c.Detail = fmt.Sprintf("HTTP %d: not allowed to read %s", p.Status, p.Path)
		case p.Status == 200:
			c.Level, c.Detail = HealthPass, "ok"
			if n := strings.Count(body, "[+]"); n > 0 {
				c.Detail = fmt.Sprintf("ok: %d checks pass", n)
			}
		default:
			c.Level, c.Detail = HealthFail, fmt.Sprintf("HTTP %d", p.Status)
			if failed := failedChecks(body); len(failed) > 0 {
				c.Detail += ": " + strings.Join(failed, "; ")
			}
		}
		out = append(out, c)
	}
	return out
}

// failedChecks picks the "[-]etcd failed: reason withheld" lines of a
// verbose health answer.
func failedChecks(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if after, ok := strings.CutPrefix(strings.TrimSpace(l), "[-]"); ok {
			out = append(out, after)
		}
	}
	return out
}

// leaderChecks: exactly one controller (and scheduler) instance leads, and
// keeps renewing its record (seed 003 §3.9). A record not renewed within
// its lease duration means the leader may be gone without a successor.
func leaderChecks(recs []LeaderRecord, now time.Time) []HealthCheck {
	var out []HealthCheck
	for _, r := range recs {
		c := HealthCheck{ID: r.Component + "-leader", Title: strings.ToUpper(r.Component[:1]) + r.Component[1:] + " leader", Seed: "003 §3.9",
			Hint: "oc get -n kube-system cm openshift-master-controllers -o yaml (3.11) or the lease; check the controllers on the masters: master-logs controllers controllers"}
		switch {
		case r.Err != "":
			c.Detail = r.Err
		case !r.Found:
			c.Level, c.Detail = HealthWarn, "no leader record ("+r.Source+"): no instance has been elected"
		case r.Holder == "":
			c.Level, c.Detail = HealthFail, r.Source+": no holder"
		default:
			age := now.Sub(r.Renewed)
			c.Detail = fmt.Sprintf("%s, renewed %s ago (lease %s, %d transitions; %s)",
				LeaderHost(r.Holder), HumanAge(age), r.LeaseDuration, r.Transitions, r.Source)
			c.Level = HealthPass
			if r.LeaseDuration > 0 && age > r.LeaseDuration {
				c.Level = HealthWarn
				c.Detail = "stale: " + c.Detail + "; the holder may be down"
			}
		}
		out = append(out, c)
	}
	return out
}

func storageClassCheck(sc StorageClasses) HealthCheck {
	c := HealthCheck{ID: "default-storageclass", Title: "Default StorageClass", Seed: "003 §2.3",
		Hint: "oc get storageclass; mark one default: oc annotate storageclass <name> storageclass.kubernetes.io/is-default-class=true"}
	var defaults, names []string
	for _, s := range sc.Items {
		names = append(names, s.Name)
		if s.Default {
			defaults = append(defaults, s.Name)
		}
	}
	switch {
	case sc.Err != "":
		c.Detail = sc.Err
	case len(sc.Items) == 0:
		c.Level, c.Detail = HealthWarn, "no StorageClass defined: claims without a class are never provisioned"
	case len(defaults) == 0:
		c.Level, c.Detail = HealthWarn, fmt.Sprintf("none of %s is the default", strings.Join(names, ", "))
	case len(defaults) > 1:
		c.Level, c.Detail = HealthWarn, fmt.Sprintf("%d defaults (%s): keep one", len(defaults), strings.Join(defaults, ", "))
	default:
		c.Level, c.Detail = HealthPass, defaults[0]+" (default)"
	}
	return c
}

// clusterOperatorsCheck: no ClusterOperator Degraded (seed 001 §3.2); one
// that is not Available is as bad.
func clusterOperatorsCheck(co ClusterOperators) HealthCheck {
	c := HealthCheck{ID: "cluster-operators", Title: "ClusterOperators not Degraded", Seed: "001 §3.2",
		Hint: "oc get clusteroperators; oc describe clusteroperator <name>"}
	if co.Err != "" {
		c.Detail = co.Err
		return c
	}
	var bad []string
	progressing := 0
	for _, o := range co.Items {
		switch {
		case o.Degraded == "True":
			bad = append(bad, o.Name+" Degraded"+colonMessage(o.Message))
		case o.Available == "False":
			bad = append(bad, o.Name+" not Available"+colonMessage(o.Message))
		case o.Progressing == "True":
			progressing++
		}
	}
	switch {
	case len(co.Items) == 0:
		c.Level, c.Detail = HealthWarn, "no ClusterOperators listed"
	case len(bad) > 0:
		c.Level, c.Detail = HealthFail, fmt.Sprintf("%d of %d: %s", len(bad), len(co.Items), listSome(bad, 3))
	default:
		c.Level, c.Detail = HealthPass, fmt.Sprintf("%d operators Available, none Degraded", len(co.Items))
		if progressing > 0 {
			c.Detail += fmt.Sprintf(" (%d progressing)", progressing)
		}
	}
	return c
}

func colonMessage(m string) string {
	if m == "" {
		return ""
	}
	return " (" + m + ")"
}

// csrCheck: pending requests hold kubelets back (seed 001 §3.2: approve
// each valid one); an invalid pending one must not be approved.
func csrCheck(cs CSRs) HealthCheck {
	c := HealthCheck{ID: "pending-csrs", Title: "Pending CSRs", Seed: "001 §3.2",
		Hint: "approve the valid ones: day2 run csr-approve --all-valid (or a on the CSR table); deny the invalid ones: day2 run csr-deny --csr <name>"}
	switch {
	case !cs.Synced && cs.Err != "":
		c.Detail = cs.Err
		return c
	case !cs.Synced:
		c.Detail = "requests not listed yet"
		return c
	}
	var invalid, others []string
	for _, r := range cs.Items {
		if !r.Pending() {
			continue
		}
		if r.Verdict.Kind == CSRInvalid {
			invalid = append(invalid, r.Name+" ("+firstOf(r.Verdict.Reasons)+")")
		} else {
			others = append(others, r.Name)
		}
	}
	switch {
	case len(invalid) > 0:
		c.Level = HealthFail
		c.Detail = fmt.Sprintf("%d pending, %d invalid: do not approve %s", len(others)+len(invalid), len(invalid), listSome(invalid, 2))
	case len(others) > 0:
		c.Level, c.Detail = HealthWarn, fmt.Sprintf("%d pending: %s", len(others), listSome(others, 5))
	default:
		c.Level, c.Detail = HealthPass, "none pending"
	}
	return c
}

func firstOf(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[0]
}

// certCheck summarises a certificate scan with the default thresholds:
// expired or critical fail, warning warns (seed 003 ch. 8; seed 001 §2.2's
// kube-apiserver-to-kubelet-signer is among the secrets scanned).
func certCheck(r CertReport, now time.Time) HealthCheck {
	c := HealthCheck{ID: "cert-expiry", Title: "Certificates expiring", Seed: "003 ch. 8, 001 §2.2",
		Hint: "redeploy the certificates before they expire (3.11: the redeploy-certificates playbooks); the Certificates pane lists each one"}
	if r.At.IsZero() {
		c.Detail = "certificates not scanned yet"
		return c
	}
	if len(r.Certs) == 0 {
		c.Detail = "no certificates found"
		if len(r.Problems) > 0 {
			c.Detail += "; " + r.Problems[0]
		}
		return c
	}
	t := DefaultCertThresholds
	tally := r.Tally(t, now)
	soonest := r.Certs[0]
	for _, cert := range r.Certs {
		if cert.NotAfter.Before(soonest.NotAfter) {
			soonest = cert
		}
	}
	c.Detail = fmt.Sprintf("%d certificates: %d expired, %d ≤ 7 d, %d ≤ 30 d; soonest %s (%s, %d d)",
		len(r.Certs), tally[CertExpired], tally[CertCritical], tally[CertWarning], soonest.Source, orUnknown(soonest.SubjectCN), soonest.DaysLeft(now))
	switch {
	case tally[CertExpired] > 0 || tally[CertCritical] > 0:
		c.Level = HealthFail
	case tally[CertWarning] > 0:
		c.Level = HealthWarn
	default:
		c.Level = HealthPass
	}
	return c
}

// listSome joins the first n items and says how many more there are.
func listSome(xs []string, n int) string {
	if len(xs) <= n {
		return strings.Join(xs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(xs[:n], ", "), len(xs)-n)
}
