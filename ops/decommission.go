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
const (
	haproxyCfg = "/etc/haproxy/haproxy.cfg"
)

var routerBackends = []string{"router80", "router443"}

// buildDecommission is seed 003 §5.3.1, deprecating a node host: the
// drain's steps, then for an infra node the scale-down and the load
// balancer, then the checks and the deletion of the Node object.
func buildDecommission(s *Session, p params) (*Procedure, error) {
	drain, err := buildDrain(s, p)
	if err != nil {
		return nil, err
	}
	node := p["node"]
	fs := hostfs.New(s.opts.HostRoot)
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
	steps := append(drain.Steps, scaleInfraStep(s, node, infra), haproxyStep(fs, node, "haproxy", routerBackends, infra),
		haproxyRestartStep(infra), verifyEmptyStep(s, node), deleteNodeStep(s, node))
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

// haproxyStep removes node from the backends of the load balancer on this
// host when it is here, and otherwise says exactly what to remove where it is.
func haproxyStep(fs hostfs.FS, node, id string, backends []string, applies func(context.Context) (bool, string)) *Step {
	var edit hostfs.Edit
	local := false
	look := func(context.Context) error {
		local = false
		if !fs.Exists(haproxyCfg) {
			return nil
		}
		var err error
		edit, err = fs.PlanEdit(haproxyCfg, func(b []byte) ([]byte, error) {
			out, _ := model.RemoveHAProxyServer(string(b), backends, node)
			return []byte(out), nil
		})
		local = err == nil && edit.Changes()
		return err
	}
	return &Step{
		ID: id, Title: "Remove " + node + " from the " + strings.Join(backends, "/") + " backends", Applies: applies,
		Check: look,
		Plan: func(context.Context) (Plan, error) {
			if local {
				return append(Plan{fmt.Sprintf("edit %s under %s (backup beside it):", haproxyCfg, fs.Root)}, strings.Split(strings.TrimRight(edit.Diff, "\n"), "\n")...), nil
			}
			return Plan{
				fmt.Sprintf("manual: %s on this host does not list %s; on the load balancer host edit %s", haproxyCfg, node, haproxyCfg),
				fmt.Sprintf("and delete the `server %s …` lines of the backends %s", node, strings.Join(backends, " and ")),
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			if !local {
				return nil // done by the operator on the load balancer host
			}
			backup, err := fs.Apply(edit, time.Now())
			if err != nil {
				return err
			}
			progress("backup " + backup)
			return nil
		},
		Verify: func(context.Context) error {
			if !fs.Exists(haproxyCfg) {
				return nil
			}
			data, err := fs.ReadFile(haproxyCfg)
			if err != nil {
				return err
			}
			for _, b := range backends {
				for _, srv := range model.HAProxyServers(string(data), b) {
					if srv == node {
						return fmt.Errorf("%s still lists %s in backend %s", haproxyCfg, node, b)
					}
				}
			}
			return nil
		},
	}
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
