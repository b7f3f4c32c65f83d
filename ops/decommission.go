package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

// The load balancer of seed 003 §5.2.1.3 and §5.3.1.
const haproxyCfg = "/etc/haproxy/haproxy.cfg"

// buildDecommission is seed 003 §5.3.1, deprecating a node host: the
// drain's steps, then for an infra node the scale-down and the load
// balancer, then the checks and the deletion of the Node object.
func buildDecommission(s *Session, p params) (*Procedure, error) {
	drain, err := buildDrain(s, p)
	if err != nil {
		return nil, err
	}
	node := p["node"]
	lb := s.loadBalancer()
	// A master is not a node host: decommissioning it would leave its etcd
	// member voting and its API in the load balancer (seed 003 §5.2.1).
	look := drain.Steps[0].Check
	drain.Steps[0].Check = func(ctx context.Context) error {
		n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err == nil && model.IsControlPlane(model.RolesFromLabels(n.Labels)) {
			return fmt.Errorf("%s is a master: decommission is for node hosts; use deprecate-master, which also removes its etcd member safely (seed 003 §5.2.1)", node)
		}
		return look(ctx)
	}
	infra := func(ctx context.Context) (bool, string) {
		n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return true, "" // let the step's check report it
		}
		for _, r := range model.RolesFromLabels(n.Labels) {
			if r == "infra" {
				return true, ""
			}
		}
		return false, node + " is not an infra node"
	}
	steps := append(drain.Steps, scaleInfraStep(s, node, infra), haproxyStep(s, lb, node, "haproxy", model.HAProxyRouterPorts, infra),
		haproxyRestartStep(lb, infra), verifyEmptyStep(s, node), deleteNodeStep(s, node))
	return &Procedure{Steps: steps}, nil
}

// scaleInfraStep scales router and docker-registry to one replica per
// remaining schedulable infra node, the seed's "every infrastructure node is
// running only one kind of each pod". Derived from the nodes, not from the
// current count, it is idempotent: a resumed run never scales twice.
func scaleInfraStep(s *Session, node string, infra func(context.Context) (bool, string)) *Step {
	var target int32
	remaining := func(ctx context.Context) (int32, error) {
		nodes, err := s.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: model.RolePrefix + "infra"})
		if err != nil {
			return 0, fmt.Errorf("infra nodes: %w", err)
		}
		var n int32
		for _, x := range nodes.Items {
			if x.Name != node && !x.Spec.Unschedulable {
				n++
			}
		}
		return n, nil
	}
	// The seed's services, wherever they run: 3.11 DeploymentConfigs or
	// Deployments in default. OpenShift 4's operators own their replicas.
	infraWorkloads := func(ctx context.Context) ([]model.Workload, error) {
		var out []model.Workload
		for _, w := range kube.Workloads(ctx, s.client) {
			switch {
			case !w.Found():
				return nil, fmt.Errorf("%s: %s", w.Role, w.Err)
			case w.Namespace == "default":
				out = append(out, w)
			}
		}
		return out, nil
	}
	var workloads []model.Workload
	return &Step{
		ID: "scale-infra", Title: "Scale router and docker-registry to the remaining infra nodes", Skippable: true, Applies: infra,
		Check: func(ctx context.Context) error {
			var err error
			if target, err = remaining(ctx); err == nil && target < 1 {
				return errors.New("no other schedulable infra node: not scaling the router and registry to zero")
			}
			if err == nil {
				workloads, err = infraWorkloads(ctx)
			}
			return err
		},
		Plan: func(context.Context) (Plan, error) {
			var plan Plan
			for _, w := range workloads {
				plan = append(plan, fmt.Sprintf("PATCH %s {\"spec\":{\"replicas\":%d}} (%d now; no change if already at or below)", kube.WorkloadPath(w), target, w.Desired))
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			for _, w := range workloads {
				if w.Desired <= target {
					continue
				}
				if err := kube.ScaleWorkload(ctx, s.client, w, target); err != nil {
					return err
				}
				progress(fmt.Sprintf("%s %s/%s scaled to %d", w.Kind, w.Namespace, w.Name, target))
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			want, err := remaining(ctx)
			if err != nil {
				return err
			}
			ws, err := infraWorkloads(ctx)
			if err != nil {
				return err
			}
			for _, w := range ws {
				if w.Desired > want {
					return fmt.Errorf("%s %s/%s wants %d replicas for %d infra nodes", w.Kind, w.Namespace, w.Name, w.Desired, want)
				}
			}
			return nil
		},
	}
}

// haproxyStep removes node's servers from the load balancer host's
// haproxy.cfg (loadBalancer): every server line of a backend or listen
// section that points at one of the node's addresses (InternalIP,
// hostname, FQDN, short name; server names are labels, openshift-ansible
// names them master0…) on ports. When that haproxy.cfg has none, the step
// is manual and says why: the operator edits the load balancer where it
// runs.
func haproxyStep(s *Session, fs hostfs.Host, node, id string, ports []string, applies func(context.Context) (bool, string)) *Step {
	var (
		edit    hostfs.Edit
		removed []model.HAProxyServer
		addrs   []string
		why     string // why nothing is edited here
	)
	step := &Step{ID: id, Title: "Remove " + node + "'s servers (ports " + strings.Join(ports, "/") + ") from the load balancer", Applies: applies}
	step.Check = func(ctx context.Context) error {
		removed, why = nil, ""
		var err error
		if addrs, err = haproxyNodeAddresses(ctx, s, node); err != nil {
			return err
		}
		if !hostfs.Exists(fs, haproxyCfg) {
			why = fmt.Sprintf("there is no %s %s", haproxyCfg, fs.Where())
		} else if edit, err = hostfs.PlanEdit(fs, haproxyCfg, func(b []byte) ([]byte, error) {
			out, gone := model.RemoveHAProxyServers(string(b), addrs, ports)
			removed = gone
			return []byte(out), nil
		}); err != nil {
			return err
		} else if len(removed) == 0 {
			why = fmt.Sprintf("%s %s has no server at %s on ports %s", haproxyCfg, fs.Where(), strings.Join(addrs, ", "), strings.Join(ports, "/"))
		}
		step.Manual = why != ""
		return nil
	}
	step.Plan = func(context.Context) (Plan, error) {
		if why == "" && len(removed) > 0 {
			plan := Plan{fmt.Sprintf("edit %s %s (backup beside it), removing %d server line(s):", haproxyCfg, fs.Where(), len(removed))}
			return append(plan, strings.Split(strings.TrimRight(edit.Diff, "\n"), "\n")...), nil
		}
		return Plan{
			"MANUAL: nothing is removed here: " + why,
			fmt.Sprintf("on the load balancer host, edit %s: delete every `server` line of a backend or listen section that points at %s on ports %s, then confirm",
				haproxyCfg, strings.Join(addrs, ", "), strings.Join(ports, "/")),
		}, nil
	}
	step.Run = func(ctx context.Context, progress func(string)) error {
		if why != "" {
			progress("manual: done by the operator on the load balancer host (" + why + ")")
			return nil
		}
		backup, err := hostfs.Apply(fs, edit, time.Now())
		if err != nil {
			return err
		}
		progress("backup " + backup)
		return nil
	}
	step.Verify = func(ctx context.Context) error {
		if !hostfs.Exists(fs, haproxyCfg) {
			return nil
		}
		a, err := haproxyNodeAddresses(ctx, s, node)
		if err != nil {
			return err
		}
		data, err := fs.ReadFile(haproxyCfg)
		if err != nil {
			return err
		}
		if left := model.HAProxyServersAt(string(data), a, ports); len(left) > 0 {
			return fmt.Errorf("%s still sends to %s: line %d %q (%s)", haproxyCfg, node, left[0].Line, strings.TrimSpace(left[0].Text), left[0].Section)
		}
		return nil
	}
	return step
}

// haproxyNodeAddresses is every name node may have in a server line, read
// from its Node object; a node already deleted is known by its name alone.
func haproxyNodeAddresses(ctx context.Context, s *Session, node string) ([]string, error) {
	n, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return model.HAProxyNodeAddresses(node, nil), nil
	case err != nil:
		return nil, fmt.Errorf("node %s addresses: %w", node, err)
	}
	var addrs []string
	for _, a := range n.Status.Addresses {
		addrs = append(addrs, a.Address)
	}
	return model.HAProxyNodeAddresses(node, addrs), nil
}

func verifyEmptyStep(s *Session, node string) *Step {
	d := newDrainer(s)
	return &Step{
		ID: "verify-empty", Title: "Check that no pods remain on " + node,
		Check: func(ctx context.Context) error { return nodeEmpty(ctx, d, node) },
		Plan: func(context.Context) (Plan, error) {
			return Plan{"read only: list the pods on " + node + " (DaemonSet pods and mirrors may stay)"}, nil
		},
	}
}

func deleteNodeStep(s *Session, node string) *Step {
	return &Step{
		ID: "delete-node", Title: "Delete the Node object " + node, Destructive: true, Confirm: node,
		Check: func(ctx context.Context) error {
			_, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			return err
		},
		Plan: func(context.Context) (Plan, error) { return Plan{"DELETE /api/v1/nodes/" + node}, nil },
		Run: func(ctx context.Context, _ func(string)) error {
			err := s.client.CoreV1().Nodes().Delete(ctx, node, metav1.DeleteOptions{})
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		},
		Verify: func(ctx context.Context) error {
			_, err := s.client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return nil
			case err == nil:
				return errors.New("node " + node + " still exists")
			}
			return err
		},
	}
}
