package kube

import (
	"context"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/client-go/kubernetes"
	policyv1client "k8s.io/client-go/kubernetes/typed/policy/v1"

	"github.com/day2ops/day2/model"
)

// reportingClient is the clientset the drain library gets: evictions the
// API server accepts are reported as they happen, the moment kubectl's
// drain has no callback for (between "evicting" and "gone").
type reportingClient struct {
	kubernetes.Interface
	report func(model.DrainEvent)
}

func (c reportingClient) PolicyV1() policyv1client.PolicyV1Interface {
	return reportingPolicy{c.Interface.PolicyV1(), c.report}
}

type reportingPolicy struct {
	policyv1client.PolicyV1Interface
	report func(model.DrainEvent)
}

func (p reportingPolicy) Evictions(namespace string) policyv1client.EvictionInterface {
	return reportingEvictions{p.PolicyV1Interface.Evictions(namespace), p.report}
}

type reportingEvictions struct {
	policyv1client.EvictionInterface
	report func(model.DrainEvent)
}

func (e reportingEvictions) Evict(ctx context.Context, ev *policyv1.Eviction) error {
	err := e.EvictionInterface.Evict(ctx, ev)
	if err == nil {
		e.report(model.DrainEvent{Pod: ev.Namespace + "/" + ev.Name, Kind: model.DrainEvicted})
	}
	return err
}
