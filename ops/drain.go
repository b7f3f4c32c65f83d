package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/day2ops/day2/internal/kube"
	"github.com/day2ops/day2/model"
)

func buildDrain(s *Session, p params) (*Procedure, error) {
	node := p["node"]
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	opts := kube.DrainOptions{DeleteEmptyDirData: p.bool("delete-emptydir-data"), Force: p.bool("force"), Timeout: timeout}
	d := newDrainer(s)
	var pre model.DrainPreflight
	look := func(ctx context.Context) error {
		var err error
		if pre, err = d.Preflight(ctx, node); err != nil {
			return err
		}
		if c := pre.Consents(opts.DeleteEmptyDirData, opts.Force); len(c) > 0 {
			return errors.New(strings.Join(c, "; "))
		}
		return nil
	}
	return &Procedure{Steps: []*Step{
		{
			ID: "preflight", Title: "Look at what the drain will do to " + node,
			Check: look,
			Plan:  func(context.Context) (Plan, error) { return preflightPlan(pre), nil },
		},
		cordonStep(d, node, true),
		{
			ID: "evict", Title: "Evict the pods of " + node, Destructive: true, Confirm: node,
			Check: look,
			Plan:  func(context.Context) (Plan, error) { return evictPlan(pre, opts), nil },
			Run: func(ctx context.Context, progress func(string)) error {
				err := d.Drain(ctx, node, opts, func(e model.DrainEvent) { progress(e.String()) })
				if err != nil {
					return fmt.Errorf("%w; %s stays cordoned", err, node)
				}
				return nil
			},
			Verify: func(ctx context.Context) error { return nodeEmpty(ctx, d, node) },
		},
	}}, nil
}

func buildCordon(s *Session, p params) (*Procedure, error) {
	return &Procedure{Steps: []*Step{cordonStep(newDrainer(s), p["node"], true)}}, nil
}

func buildUncordon(s *Session, p params) (*Procedure, error) {
	return &Procedure{Steps: []*Step{cordonStep(newDrainer(s), p["node"], false)}}, nil
}

// cordonStep cordons (or uncordons) a node, verified by reading it back.
func cordonStep(d *kube.Drainer, node string, cordon bool) *Step {
	id, title := "cordon", "Cordon "+node
	if !cordon {
		id, title = "uncordon", "Uncordon "+node
	}
	exists := func(ctx context.Context) error { _, err := d.Unschedulable(ctx, node); return err }
	return &Step{
		ID: id, Title: title, Check: exists,
		Plan: func(context.Context) (Plan, error) {
			return Plan{fmt.Sprintf("PATCH /api/v1/nodes/%s {\"spec\":{\"unschedulable\":%v}}", node, cordon)}, nil
		},
		Run: func(ctx context.Context, _ func(string)) error { return d.Cordon(ctx, node, cordon) },
		Verify: func(ctx context.Context) error {
			u, err := d.Unschedulable(ctx, node)
			if err == nil && u != cordon {
				err = fmt.Errorf("node %s unschedulable=%v, want %v", node, u, cordon)
			}
			return err
		},
	}
}

func preflightPlan(pre model.DrainPreflight) Plan {
	leaving := pre.Leaving()
	plan := Plan{fmt.Sprintf("read only: node %s (%s): %d pods leave, %d stay; %d other schedulable nodes of the same role",
		pre.Node, strings.Join(pre.Roles, ","), len(leaving), len(pre.Pods)-len(leaving), pre.Peers)}
	for _, p := range pre.Pods {
		line := fmt.Sprintf("%s: %s", p.Ref(), p.Classify())
		if p.OwnerKind != "" {
			line += fmt.Sprintf(" [%s %s]", p.OwnerKind, p.OwnerName)
		}
		if p.PDB != "" {
			line += " [PDB " + p.PDB + "]"
		}
		plan = append(plan, line)
	}
	for _, w := range pre.Warnings() {
		plan = append(plan, "WARNING: "+w)
	}
	return plan
}

func evictPlan(pre model.DrainPreflight, o kube.DrainOptions) Plan {
	var plan Plan
	for _, p := range pre.Leaving() {
		switch p.Classify() {
		case model.ClassBare, model.ClassFinished:
			plan = append(plan, fmt.Sprintf("DELETE /api/v1/namespaces/%s/pods/%s (%s)", p.Namespace, p.Name, p.Classify()))
		default:
			plan = append(plan, fmt.Sprintf("POST /api/v1/namespaces/%s/pods/%s/eviction (%s)", p.Namespace, p.Name, p.Classify()))
		}
	}
	plan = append(plan, fmt.Sprintf("then wait until they are gone, for at most %s; a PodDisruptionBudget refusal is retried every 5s", o.Timeout))
	return plan
}

func newDrainer(s *Session) *kube.Drainer { return kube.NewDrainer(s.client) }

// nodeEmpty fails while pods the drain must remove are still on the node.
func nodeEmpty(ctx context.Context, d *kube.Drainer, node string) error {
	left, err := d.Remaining(ctx, node)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		refs := make([]string, len(left))
		for i, p := range left {
			refs[i] = p.Ref()
		}
		return fmt.Errorf("%d pods still on %s: %s", len(left), node, strings.Join(refs, ", "))
	}
	return nil
}
