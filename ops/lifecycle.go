package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/certs"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// Graceful cluster shutdown (seed 001 ch. 2, with the OpenShift 3.11
// equivalents): know by when the cluster must run again, take a fresh etcd
// backup, cordon every node, then shut the hosts down wave by wave —
// workers, infra, masters last — each wave down before the next.

// The kube-apiserver-to-kubelet signer: the cluster must be restarted
// before it expires (seed 001 §2.2).
const (
	kubeletSignerNamespace = "openshift-kube-apiserver-operator"
	kubeletSignerName      = "kube-apiserver-to-kubelet-signer"
)

// shutdownCommand is what every host runs (seed 001 §2.2): one minute's
// grace, so the pods stop cleanly.
const shutdownCommand = "shutdown -h 1"

// cluster-shutdown's run state: the deadline and the waves decided by the
// first look, and which nodes this run cordoned — recorded before each
// cordon, so cluster-restart uncordons exactly those (never a node an
// administrator had cordoned for reasons of their own).
var (
	restartDeadlineKey = stateKey[model.RestartDeadline]("restart-deadline")
	shutdownOrderKey   = stateKey[[]model.ShutdownGroup]("shutdown-order")
	cordonedKey        = stateKey[[]string]("cordoned")
	alreadyCordonedKey = stateKey[[]string]("already-cordoned")
)

var shutdownParams = []Param{
	{Name: "expected-downtime", Help: "how long the cluster will stay down (e.g. 72h): a shutdown that would outlast the certificates' expiry is refused"},
	{Name: "backup-dir", Help: "where the fresh etcd backup goes (a host path)", Default: etcdBackupDir},
	{Name: "timeout", Help: "how long to wait for each wave of hosts to go down", Default: "10m"},
}

// lifecycleRights are the rights shutdown and restart share: read every
// node, cordon or uncordon it, read the ClusterOperators.
var lifecycleRights = model.UniqueRights(
	model.Rights("", "nodes", "", "", "get", "list", "patch"),
	backupRights,
)

// shutdownRights add the signer's secret (OpenShift 4).
var shutdownRights = model.UniqueRights(lifecycleRights,
	model.Rights("", "secrets", "", kubeletSignerNamespace, "get"))

// lifecycle is what the steps of one shutdown or restart share.
type lifecycle struct {
	s       *Session
	state   *RunState
	timeout time.Duration
}

func buildClusterShutdown(s *Session, p params) (*Procedure, error) {
	var expected time.Duration
	if p["expected-downtime"] != "" {
		var err error
		if expected, err = p.duration("expected-downtime"); err != nil {
			return nil, err
		}
	}
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	l := &lifecycle{s: s, state: NewRunState(), timeout: timeout}
	backup, err := backupFirstStep(s, p, l.state, true)
	if err != nil {
		return nil, err
	}
	steps := []*Step{l.shutdownPreflightStep(expected), backup, l.cordonAllStep()}
	for _, role := range model.ShutdownRoles {
		steps = append(steps, l.shutdownWaveStep(role))
	}
	return &Procedure{State: l.state, Steps: steps}, nil
}

// restartDeadline reads when the cluster must run again: on OpenShift 4 the
// kube-apiserver-to-kubelet signer's certificate-not-after annotation; on
// 3.11 (no such secret, no ClusterOperators) or kubeadm the soonest expiry
// of the control-plane, node and etcd certificates of every host day2
// reaches. notes name the hosts whose certificates were not read.
func (s *Session) restartDeadline(ctx context.Context) (d model.RestartDeadline, notes []string, err error) {
	secret, err := s.client.CoreV1().Secrets(kubeletSignerNamespace).Get(ctx, kubeletSignerName, metav1.GetOptions{})
	src := "secret " + kubeletSignerNamespace + "/" + kubeletSignerName
	switch {
	case err == nil:
		at, ok, err := model.NotAfterAnnotation(secret.Annotations)
		if err != nil {
			return d, nil, fmt.Errorf("%s: %w", src, err)
		}
		if !ok {
			return d, nil, fmt.Errorf("%s has no %s annotation", src, model.CertNotAfterAnnotation)
		}
		return model.RestartDeadline{NotAfter: at, Source: src}, nil, nil
	case !apierrors.IsNotFound(err):
		return d, nil, fmt.Errorf("get %s: %w", src, err)
	}
	ocp, err := s.openShift(ctx)
	if err != nil {
		return d, nil, err
	}
	if ocp.present {
		return d, nil, fmt.Errorf("OpenShift 4 without %s: cannot tell when the kubelets' certificates expire", src)
	}
	return s.hostsRestartDeadline(ctx)
}

// hostsRestartDeadline is an OpenShift 3.11 (or kubeadm) cluster's: the
// soonest expiry among the certificates its hosts start with, read on every
// host over the host access (a node's kubelet certificate stops that node
// as surely as a master's stops the API), else on this host alone.
func (s *Session) hostsRestartDeadline(ctx context.Context) (model.RestartDeadline, []string, error) {
	if s.opts.HostAccess == nil {
		d, err := hostRestartDeadline(s.here())
		return d, []string{"other hosts' certificates are not read (no host access): their expiry may come sooner"}, err
	}
	hosts, err := s.Hosts(ctx)
	if hosts == nil {
		return model.RestartDeadline{}, nil, fmt.Errorf("the hosts whose certificates say when the cluster must run again: %w", err)
	}
	var mu sync.Mutex
	var found []model.RestartDeadline
	errs := eachHost(ctx, hosts, func(ctx context.Context, h model.Host, _ func(string)) error {
		fs, err := s.accessHost(ctx, h)
		if err != nil {
			return whyUnreached(err)
		}
		d, err := hostRestartDeadline(fs)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		found = append(found, d)
		return nil
	}, nil)
	var notes []string
	for _, h := range hosts {
		if err := errs[h.Name]; err != nil {
			notes = append(notes, fmt.Sprintf("%s: certificates not read: %v", h.Name, err))
		}
	}
	if len(found) == 0 {
		return model.RestartDeadline{}, notes, fmt.Errorf("no host's certificates could be read to tell when the cluster must run again: %s", strings.Join(notes, "; "))
	}
	earliest := found[0]
	for _, d := range found[1:] {
		if d.NotAfter.Before(earliest.NotAfter) {
			earliest = d
		}
	}
	return earliest, notes, nil
}

// hostRestartDeadline is one host's: the soonest expiry of the
// certificates on it that the cluster starts with.
func hostRestartDeadline(h hostfs.Host) (model.RestartDeadline, error) {
	found, _ := certs.Scan(h)
	d, ok := model.EarliestRestartDeadline(found)
	if !ok {
		return d, fmt.Errorf("no master, node or etcd certificate found %s", h.Where())
	}
	if _, local := h.(hostfs.FS); local {
		d.Source = "this host's " + d.Source
	} else {
		d.Source = h.Name() + "'s " + d.Source
	}
	return d, nil
}

// shutdownPreflightStep shows the date the cluster must run again by and
// refuses a shutdown expected to outlast it; it refuses while a
// ClusterOperator is Progressing (a half-done rollout is what the restart
// would come back to); it fixes the waves.
func (l *lifecycle) shutdownPreflightStep(expected time.Duration) *Step {
	var deadlineErr, settleErr error
	var deadlineNotes []string
	var nodes []model.Node
	return &Step{
		ID: "preflight", Title: "Check when the cluster must run again, and that nothing rolls out",
		Check: func(ctx context.Context) error {
			var err error
			if nodes, err = kube.ListNodes(ctx, l.s.client); err != nil {
				return err
			}
			shutdownOrderKey.Decide(l.state, func() []model.ShutdownGroup { return model.ShutdownOrder(nodes) })
			d, notes, err := l.s.restartDeadline(ctx)
			deadlineNotes = notes
			if err != nil {
				deadlineErr = err
				return err
			}
			restartDeadlineKey.Set(l.state, d)
			deadlineErr = d.CheckDowntime(time.Now(), expected)
			cos := kube.ClusterOperators(ctx, l.s.client)
			settleErr = nil
			if cos.Err != "" {
				settleErr = errors.New("ClusterOperators: " + cos.Err)
			} else if bad := model.OperatorsNotSettled(cos, false); len(bad) > 0 {
				settleErr = fmt.Errorf("refused while a ClusterOperator is Progressing: %s; shut down once it settles", strings.Join(bad, "; "))
			}
			return errors.Join(deadlineErr, settleErr)
		},
		Plan: func(context.Context) (Plan, error) {
			plan := Plan{"read only: the nodes, the ClusterOperators, and the certificates' expiry"}
			if d, ok := restartDeadlineKey.Get(l.state); ok {
				plan = append(plan, fmt.Sprintf("restart the cluster before %s, %s from now: after it the kubelets' certificates cannot be renewed without manual CSR approval or recovery",
					d, time.Until(d.NotAfter).Round(time.Minute)))
			}
			plan = append(plan, deadlineNotes...)
			switch {
			case expected > 0 && deadlineErr == nil:
				plan = append(plan, fmt.Sprintf("expected downtime %s: back by %s", expected, time.Now().Add(expected).UTC().Format(time.RFC3339)))
			case expected == 0:
				plan = append(plan, "no --expected-downtime given: plan the restart before that date")
			}
			for _, g := range l.order() {
				plan = append(plan, fmt.Sprintf("%s, in this order after the backup and the cordon: %s", g.Role, strings.Join(g.Nodes, ", ")))
			}
			return plan, nil
		},
	}
}

func (l *lifecycle) order() []model.ShutdownGroup {
	o, _ := shutdownOrderKey.Get(l.state)
	return o
}

// allNodes are the nodes of every wave, in shutdown order.
func (l *lifecycle) allNodes() []string {
	var out []string
	for _, g := range l.order() {
		out = append(out, g.Nodes...)
	}
	return out
}

// cordonAllStep cordons every node, recording each one before its cordon
// (so a crash in between still lets the restart uncordon it) and the ones
// that were cordoned already (they stay cordoned after the restart).
func (l *lifecycle) cordonAllStep() *Step {
	d := newDrainer(l.s)
	notDecided := errors.New("the nodes are not known yet: the preflight has not run")
	return &Step{
		ID: "cordon", Title: "Cordon every node",
		Check: func(context.Context) error {
			if len(l.order()) == 0 {
				return notDecided
			}
			return nil
		},
		Plan: func(ctx context.Context) (Plan, error) {
			var plan, already Plan
			for _, n := range l.allNodes() {
				u, err := d.Unschedulable(ctx, n)
				switch {
				case err != nil:
					plan = append(plan, fmt.Sprintf("node %s: %v", n, err))
				case u && !slices.Contains(l.cordoned(), n):
					already = append(already, n)
				default:
					plan = append(plan, fmt.Sprintf("PATCH /api/v1/nodes/%s {\"spec\":{\"unschedulable\":true}} (recorded: cluster-restart uncordons it)", n))
				}
			}
			if len(already) > 0 {
				plan = append(plan, "already cordoned, left as they are and recorded: cluster-restart leaves them cordoned: "+strings.Join(already, ", "))
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			for _, n := range l.allNodes() {
				mine := slices.Contains(l.cordoned(), n)
				u, err := d.Unschedulable(ctx, n)
				if err != nil {
					return err
				}
				if u && !mine {
					if already, _ := alreadyCordonedKey.Get(l.state); !slices.Contains(already, n) {
						alreadyCordonedKey.Set(l.state, append(already, n))
					}
					progress(n + " was cordoned already: it stays cordoned after the restart")
					continue
				}
				if !mine {
					cordonedKey.Set(l.state, append(l.cordoned(), n))
				}
				if err := d.Cordon(ctx, n, true); err != nil {
					return err
				}
				progress("cordoned " + n)
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			if len(l.order()) == 0 {
				return notDecided
			}
			var open []string
			for _, n := range l.allNodes() {
				u, err := d.Unschedulable(ctx, n)
				if err != nil {
					return err
				}
				if !u {
					open = append(open, n)
				}
			}
			if len(open) > 0 {
				return fmt.Errorf("still schedulable: %s", strings.Join(open, ", "))
			}
			return nil
		},
	}
}

func (l *lifecycle) cordoned() []string {
	c, _ := cordonedKey.Get(l.state)
	return c
}

func (l *lifecycle) wave(role string) model.ShutdownGroup {
	for _, g := range l.order() {
		if g.Role == role {
			return g
		}
	}
	return model.ShutdownGroup{Role: role}
}

// shutdownWaveStep shuts one wave's hosts down with `shutdown -h 1` and
// waits until each of their nodes is NotReady. Through the session's host
// access it runs the command on each node's host itself (the hosts as
// Session.Hosts ties them to their nodes; a typed confirmation: the wave's
// name); without it the step is manual, with the exact command per host.
func (l *lifecycle) shutdownWaveStep(role string) *Step {
	var hosts []model.Host
	st := &Step{
		ID: "shutdown-" + role, Title: "Shut down the " + role,
		Applies: func(context.Context) (bool, string) {
			if len(l.wave(role).Nodes) == 0 {
				return false, "the cluster has no " + role
			}
			return true, ""
		},
		Plan: func(ctx context.Context) (Plan, error) {
			var plan Plan
			if l.s.opts.HostAccess != nil {
				for _, h := range hosts {
					plan = append(plan, fmt.Sprintf("on %s (node %s, ssh %s): %s", h.Name, h.Node, hostAddress(h), shutdownCommand))
				}
			} else {
				nodes := l.nodesByName(ctx)
				for _, n := range l.wave(role).Nodes {
					addr := n
					if ip := nodes[n].InternalIP; ip != "" {
						addr = ip
					}
					plan = append(plan, fmt.Sprintf("on %s: %s    (e.g. ssh root@%s %s; OpenShift 4: oc debug node/%s -- chroot /host %s)",
						n, shutdownCommand, addr, shutdownCommand, n, shutdownCommand))
				}
			}
			plan = append(plan, fmt.Sprintf("then wait, at most %s, until every node of the %s is NotReady", l.timeout, role))
			if role == model.ShutdownMasters {
				plan = append(plan,
					"the API goes down with the masters: once it stops answering they count as down",
					"if day2 runs on one of these masters it stops with it; the journal already holds what cluster-restart needs",
					"afterwards shut down what the cluster depends on (external storage, LDAP), as their vendors document")
			}
			return plan, nil
		},
		Verify: func(ctx context.Context) error { return l.waveDown(ctx, role) },
	}
	if l.s.opts.HostAccess == nil {
		st.Manual = true
		return st
	}
	st.Destructive, st.Confirm = true, role
	st.Check = func(ctx context.Context) error {
		var err error
		hosts, err = l.waveHosts(ctx, role)
		return err
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		var failed []error
		for _, h := range hosts {
			res, err := l.runOn(ctx, h, shutdownCommand)
			if err != nil {
				// A host already down does not answer: the wait tells.
				progress(err.Error())
				failed = append(failed, err)
				continue
			}
			progress(fmt.Sprintf("%s: %s", h.Name, firstLine(res.Stdout+res.Stderr)))
		}
		err := l.waitFor(ctx, progress, func(ctx context.Context) error { return l.waveDown(ctx, role) })
		if err != nil {
			return errors.Join(append([]error{err}, failed...)...)
		}
		return nil
	}
	return st
}

// waveHosts are the hosts of one wave's nodes, as Session.Hosts ties them
// (the inventory's, else one per node).
func (l *lifecycle) waveHosts(ctx context.Context, role string) ([]model.Host, error) {
	all, err := l.s.Hosts(ctx)
	if len(all) == 0 && err != nil {
		return nil, err
	}
	var out []model.Host
	var missing []string
	for _, n := range l.wave(role).Nodes {
		i := slices.IndexFunc(all, func(h model.Host) bool { return h.Node == n })
		if i < 0 {
			missing = append(missing, n)
			continue
		}
		out = append(out, all[i])
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("no host known for node %s: name it in the inventory, or run with --no-ssh to shut the hosts down by hand", strings.Join(missing, ", "))
	}
	return out, nil
}

func hostAddress(h model.Host) string {
	addr := h.Address
	if addr == "" {
		addr = h.Name
	}
	if h.Port != 0 {
		addr = fmt.Sprintf("%s:%d", addr, h.Port)
	}
	return addr
}

// nodesByName reads the nodes now (empty when the API does not answer).
func (l *lifecycle) nodesByName(ctx context.Context) map[string]model.Node {
	out := map[string]model.Node{}
	nodes, _ := kube.ListNodes(ctx, l.s.client)
	for _, n := range nodes {
		out[n.Name] = n
	}
	return out
}

// runOn runs a command on a host through the session's host access.
func (l *lifecycle) runOn(ctx context.Context, h model.Host, line string) (hostfs.Result, error) {
	host, err := l.s.accessHost(ctx, h)
	if err != nil {
		return hostfs.Result{}, err
	}
	res, err := host.Run(ctx, hostfs.Command{Line: line})
	if err == nil {
		err = res.Err()
	}
	return res, err
}

// apiProbeTimeout bounds one look at the nodes while the control plane
// goes down: with etcd stopped a list hangs until the API server gives up.
const apiProbeTimeout = 5 * time.Second

// waveDown passes once every node of the wave is NotReady; for the masters
// an API that no longer answers counts too (it runs on them).
func (l *lifecycle) waveDown(ctx context.Context, role string) error {
	g := l.wave(role)
	ctx, cancel := context.WithTimeout(ctx, apiProbeTimeout)
	defer cancel()
	nodes, err := kube.ListNodes(ctx, l.s.client)
	if err != nil {
		if role == model.ShutdownMasters {
			return nil
		}
		return err
	}
	var up []string
	for _, n := range nodes {
		if slices.Contains(g.Nodes, n.Name) && n.Readiness == model.NodeReady {
			up = append(up, n.Name)
		}
	}
	if len(up) > 0 {
		return fmt.Errorf("still Ready: %s", strings.Join(up, ", "))
	}
	return nil
}

// waitFor polls cond every 2 s until it passes or the timeout ends,
// reporting what it waits for whenever that changes.
func (l *lifecycle) waitFor(ctx context.Context, progress func(string), cond func(context.Context) error) error {
	last := ""
	return waitFor(ctx, l.timeout, 2*time.Second, func() (bool, string) {
		err := cond(ctx)
		if err == nil {
			return true, ""
		}
		if err.Error() != last {
			last = err.Error()
			progress("waiting: " + last)
		}
		return false, last
	})
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "done"
	}
	return s
}
