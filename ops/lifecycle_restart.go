package ops

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// Graceful cluster restart (seed 001 ch. 3): the operator powers the hosts
// on; then the masters Ready, approving the valid pending CSRs of those that
// are not; then the other nodes likewise; uncordon what cluster-shutdown
// cordoned (from its journal); verify etcd, the API, the ClusterOperators
// and the router and registry.

// cluster-restart's run state: the shutdown run it follows (so a later
// restart does not uncordon the same nodes again), what it uncordons and
// what stays cordoned (the CSR approvals keep theirs under "masters-" and
// "workers-").
var (
	shutdownRunKey     = stateKey[string]("shutdown-run")
	uncordonKey        = stateKey[[]string]("uncordon")
	stayCordonedKey    = stateKey[[]string]("stay-cordoned")
	shutdownProcedure  = "cluster-shutdown"
	restartProcedure   = "cluster-restart"
	restartVerifyParts = "etcd members healthy, GET /readyz 200, every node Ready, ClusterOperators neither Degraded nor Progressing (OpenShift 4), router and registry DESIRED = CURRENT = READY"
)

var restartParams = []Param{
	{Name: "timeout", Help: "how long to wait for each wave of nodes to turn Ready", Default: "10m"},
	csrWatchParam,
}

// restartRights: the lifecycle's, the CSRs and their approval, and the
// router and registry (kube.Workloads).
var restartRights = model.UniqueRights(lifecycleRights, csrRights,
	model.Rights("apps", "deployments", "", "default", "get"),
	model.Rights("apps.openshift.io", "deploymentconfigs", "", "default", "get"),
	model.Rights("", "pods", "", "default", "list"),
)

func buildClusterRestart(s *Session, p params) (*Procedure, error) {
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	watch, err := watchParam(p)
	if err != nil {
		return nil, err
	}
	l := &lifecycle{s: s, state: NewRunState(), timeout: timeout}
	masters, err := l.waveSteps(model.ShutdownMasters, "masters-", watch)
	if err != nil {
		return nil, err
	}
	others, err := l.waveSteps(model.ShutdownWorkers, "workers-", watch)
	if err != nil {
		return nil, err
	}
	steps := slices.Concat([]*Step{l.powerOnStep()}, masters, others, []*Step{l.uncordonStep(), l.restartVerifyStep()})
	return &Procedure{State: l.state, Steps: steps}, nil
}

// findShutdown picks the cluster-shutdown run this restart follows: the
// newest real run that got to its cordon step and that no finished restart
// has followed yet. It need not have finished: day2 run on a master stops
// with the masters. Its cordon records are copied into this run's state
// once.
func (l *lifecycle) findShutdown() error {
	if _, ok := shutdownRunKey.Get(l.state); ok {
		return nil
	}
	runs, err := l.s.Runs()
	if len(runs) == 0 && err != nil {
		return fmt.Errorf("read the journal for the cluster-shutdown run: %w", err)
	}
	followed := map[string]bool{}
	for _, r := range runs {
		if r.Procedure == restartProcedure && r.Finished && r.Outcome == model.OutcomeOK {
			st := NewRunState()
			st.restore(r.State)
			if id, ok := shutdownRunKey.Get(st); ok {
				followed[id] = true
			}
		}
	}
	for _, r := range runs { // newest first
		if r.Procedure != shutdownProcedure || r.DryRun || followed[r.RunID] {
			continue
		}
		if st, ok := r.Step("cordon"); !ok || !st.Started && !st.Done() {
			continue
		}
		was := NewRunState()
		was.restore(r.State)
		cordoned, _ := cordonedKey.Get(was)
		already, _ := alreadyCordonedKey.Get(was)
		order, _ := shutdownOrderKey.Get(was)
		uncordonKey.Set(l.state, cordoned)
		stayCordonedKey.Set(l.state, already)
		shutdownOrderKey.Set(l.state, order)
		shutdownRunKey.Set(l.state, r.RunID)
		return nil
	}
	return nil
}

func (l *lifecycle) shutdownRun() string {
	id, _ := shutdownRunKey.Get(l.state)
	return id
}

// powerOnStep is the operator's: start the machines (seed 001 §3.2 step 1-2).
// It is done once the API answers /readyz.
func (l *lifecycle) powerOnStep() *Step {
	return &Step{
		ID: "power-on", Title: "Power on every host", Manual: true,
		Check: func(context.Context) error { return l.findShutdown() },
		Plan: func(ctx context.Context) (Plan, error) {
			plan := Plan{"first start what the cluster depends on (external storage, LDAP)"}
			if id := l.shutdownRun(); id != "" {
				plan = append(plan, "the hosts cluster-shutdown run "+id+" shut down:")
				for _, g := range l.order() {
					plan = append(plan, fmt.Sprintf("  %s: %s", g.Role, strings.Join(g.Nodes, ", ")))
				}
			} else {
				plan = append(plan, "no cluster-shutdown run in the journal: power on every host of the cluster")
			}
			return append(plan,
				"power them on the way your platform does (the cloud console, IPMI, the hypervisor)",
				"then wait about 10 minutes: day2 goes on once the API answers GET /readyz"), nil
		},
		Verify: func(ctx context.Context) error { return apiReady(ctx, l.s) },
	}
}

func apiReady(ctx context.Context, s *Session) error {
	p := kube.ProbeAPI(ctx, s.client, "/readyz")
	switch {
	case p.Err != "":
		return errors.New(p.Err)
	case p.Status != http.StatusOK:
		return fmt.Errorf("GET /readyz: %d %s", p.Status, firstLine(p.Body))
	}
	return nil
}

// waveOf picks the nodes of one restart wave: the masters, or every other
// node (role workers).
func waveOf(nodes []model.Node, role string) []model.Node {
	var out []model.Node
	for _, n := range nodes {
		if (model.ShutdownRole(n.Roles) == model.ShutdownMasters) == (role == model.ShutdownMasters) {
			out = append(out, n)
		}
	}
	return out
}

func waveTitle(role string) string {
	if role == model.ShutdownMasters {
		return "masters"
	}
	return "other nodes (infra and workers)"
}

// notReadyOf lists the nodes of one wave that are not Ready.
func (l *lifecycle) notReadyOf(ctx context.Context, role string) ([]string, error) {
	nodes, err := kube.ListNodes(ctx, l.s.client)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range waveOf(nodes, role) {
		if n.Readiness != model.NodeReady {
			out = append(out, n.Name)
		}
	}
	return out, nil
}

// waveSteps are one wave of the restart (seed 001 §3.2): approve the valid
// pending CSRs of its nodes that are not Ready — csr-approve's own steps,
// with the follow-up watch for the requests that come after (a node's
// serving CSR follows its client one) — then wait until every node of the
// wave is Ready. Which nodes were not Ready is decided once, when the
// approval first looks, and journaled: the follow-ups keep watching for
// those nodes' requests after they turn Ready. A wave all Ready skips the
// approvals.
func (l *lifecycle) waveSteps(role, prefix string, watch time.Duration) ([]*Step, error) {
	downKey := stateKey[[]string](prefix + "not-ready")
	down := func() []string { d, _ := downKey.Get(l.state); return d }
	approval, err := l.s.ApproveValidCSRSteps(l.state, CSRApproval{
		Prefix: prefix, What: "the pending CSRs of the " + waveTitle(role) + " that were not Ready", Watch: watch,
		Select: func(c model.CSR) bool { return slices.Contains(down(), c.NodeName()) },
	})
	if err != nil {
		return nil, err
	}
	for i, st := range approval {
		own := st.Applies
		st.Applies = func(ctx context.Context) (bool, string) {
			if _, decided := downKey.Get(l.state); i == 0 && !decided {
				d, err := l.notReadyOf(ctx, role)
				if err != nil {
					return true, "" // the check says why
				}
				downKey.Set(l.state, d)
			}
			if len(down()) == 0 {
				return false, "every one of the " + waveTitle(role) + " was Ready"
			}
			if own != nil {
				return own(ctx)
			}
			return true, ""
		}
	}
	ready := &Step{
		ID: "ready-" + role, Title: "Wait for the " + waveTitle(role) + " to be Ready",
		Plan: func(ctx context.Context) (Plan, error) {
			down, err := l.notReadyOf(ctx, role)
			if err != nil {
				return nil, err
			}
			if len(down) == 0 {
				return Plan{"read only: every one is Ready"}, nil
			}
			return Plan{fmt.Sprintf("read only: wait, at most %s, until %s turn Ready", l.timeout, strings.Join(down, ", "))}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			return l.waitFor(ctx, progress, func(ctx context.Context) error { return l.waveReady(ctx, role) })
		},
		Verify: func(ctx context.Context) error { return l.waveReady(ctx, role) },
	}
	return append(approval, ready), nil
}

func (l *lifecycle) waveReady(ctx context.Context, role string) error {
	down, err := l.notReadyOf(ctx, role)
	if err == nil && len(down) > 0 {
		err = fmt.Errorf("not Ready: %s (a pending CSR not approved here? see the CSRs pane, csr-approve, csr-deny)", strings.Join(down, ", "))
	}
	return err
}

// uncordonStep makes schedulable again exactly what the shutdown cordoned.
func (l *lifecycle) uncordonStep() *Step {
	d := newDrainer(l.s)
	uncordon := func() []string { u, _ := uncordonKey.Get(l.state); return u }
	return &Step{
		ID: "uncordon", Title: "Uncordon what cluster-shutdown cordoned",
		Applies: func(context.Context) (bool, string) {
			if err := l.findShutdown(); err != nil {
				return true, ""
			}
			if l.shutdownRun() == "" {
				return false, "no cluster-shutdown run in the journal: nothing day2 cordoned"
			}
			return true, ""
		},
		Check: func(context.Context) error { return l.findShutdown() },
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{"from cluster-shutdown run " + l.shutdownRun() + "'s journal:"}
			for _, n := range uncordon() {
				plan = append(plan, fmt.Sprintf("PATCH /api/v1/nodes/%s {\"spec\":{\"unschedulable\":false}}", n))
			}
			if stay, _ := stayCordonedKey.Get(l.state); len(stay) > 0 {
				plan = append(plan, "left cordoned, as they were before the shutdown: "+strings.Join(stay, ", "))
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			for _, n := range uncordon() {
				if err := d.Cordon(ctx, n, false); err != nil {
					return err
				}
				progress("uncordoned " + n)
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			var closed []string
			for _, n := range uncordon() {
				u, err := d.Unschedulable(ctx, n)
				if err != nil {
					return err
				}
				if u {
					closed = append(closed, n)
				}
			}
			if len(closed) > 0 {
				return fmt.Errorf("still cordoned: %s", strings.Join(closed, ", "))
			}
			return nil
		},
	}
}

// restartVerifyStep checks the cluster came back (seed 001 §3.2's last
// steps; seed 003 ch. 3's environment health checks for 3.11).
func (l *lifecycle) restartVerifyStep() *Step {
	return &Step{
		ID: "verify", Title: "Verify the cluster came back",
		Plan: func(context.Context) (Plan, error) {
			return Plan{"read only: " + restartVerifyParts}, nil
		},
		Verify: func(ctx context.Context) error { return errors.Join(l.clusterBack(ctx)...) },
	}
}

// clusterBack lists what is not back yet.
func (l *lifecycle) clusterBack(ctx context.Context) []error {
	var errs []error
	if snap, err := l.s.pollEtcd(ctx); err != nil {
		errs = append(errs, fmt.Errorf("etcd: %w", err))
	} else {
		for _, m := range snap.Members {
			if !m.Reached || !m.Healthy {
				errs = append(errs, fmt.Errorf("etcd member %s not healthy: %s", m.Name, m.Err))
			}
		}
	}
	if err := apiReady(ctx, l.s); err != nil {
		errs = append(errs, err)
	}
	nodes, err := kube.ListNodes(ctx, l.s.client)
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range nodes {
		if n.Readiness != model.NodeReady {
			errs = append(errs, fmt.Errorf("node %s %s", n.Name, n.Readiness))
		}
	}
	cos := kube.ClusterOperators(ctx, l.s.client)
	if cos.Err != "" {
		errs = append(errs, errors.New(cos.Err))
	}
	for _, bad := range model.OperatorsNotSettled(cos, true) {
		errs = append(errs, errors.New("ClusterOperator "+bad))
	}
	for _, w := range kube.Workloads(ctx, l.s.client) {
		if w.Found() && !w.Settled() {
			errs = append(errs, fmt.Errorf("%s %s/%s: DESIRED %d CURRENT %d READY %d", w.Kind, w.Namespace, w.Name, w.Desired, w.Current, w.Ready))
		}
	}
	return errs
}
