package model

import (
	"sort"
	"strings"
)

// Right is one thing a procedure asks the Kubernetes API to do, in RBAC's
// terms: a verb on a resource (and subresource) of an API group ("" is the
// core group), in one namespace or, when Namespace is empty, in every
// namespace (for a namespaced resource) or cluster-wide.
type Right struct {
	Verb, Group, Resource, Subresource, Namespace string
}

// clusterScoped are the resources day2's procedures touch that live outside
// namespaces, so "in all namespaces" would be wrong about them.
var clusterScoped = map[string]bool{
	"nodes": true, "namespaces": true, "certificatesigningrequests": true,
	"clusteroperators": true, "etcds": true, "signers": true,
}

// String says the right as an operator reads it and as `oc auth can-i`
// takes it: "create pods/eviction in myapp", "patch nodes",
// "patch deploymentconfigs.apps.openshift.io in default",
// "list pods in all namespaces".
func (r Right) String() string {
	res := r.Resource
	if r.Group != "" {
		res += "." + r.Group
	}
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	s := r.Verb + " " + res
	switch {
	case r.Namespace != "":
		s += " in " + r.Namespace
	case !clusterScoped[r.Resource]:
		s += " in all namespaces"
	}
	return s
}

// Rights builds a procedure's rights: each verb on one resource, e.g.
// Rights("", "nodes", "", "", "get", "list", "patch").
func Rights(group, resource, subresource, namespace string, verbs ...string) []Right {
	out := make([]Right, len(verbs))
	for i, v := range verbs {
		out[i] = Right{Verb: v, Group: group, Resource: resource, Subresource: subresource, Namespace: namespace}
	}
	return out
}

// UniqueRights is rights without repeats, sorted by their String, so each
// is reviewed once and named in a stable order.
func UniqueRights(rights ...[]Right) []Right {
	seen := map[Right]bool{}
	var out []Right
	for _, rs := range rights {
		for _, r := range rs {
			if !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// MissingRightsText is what a blocked pre-check says: every right the
// operator lacks, so one request to the cluster admin covers them all.
func MissingRightsText(missing []Right) string {
	names := make([]string, len(missing))
	for i, r := range missing {
		names[i] = r.String()
	}
	return "your credentials may not " + strings.Join(names, "; ") + " (ask a cluster admin for these rights, or use another kubeconfig)"
}

// ProcedureAccess says which procedures the operator's credentials cannot
// run, as the API server's access reviews answered before any is offered.
type ProcedureAccess struct {
	// Missing lists, by procedure, the rights the operator lacks; a
	// procedure absent from it may run.
	Missing map[string][]Right
	// Err is why the reviews could not be made (the procedures are then
	// offered and their pre-checks ask again).
	Err string
}

// Refusal is why procedure cannot run, or "" when it may (or when that is
// not known: its pre-check will tell).
func (a ProcedureAccess) Refusal(procedure string) string {
	if m := a.Missing[procedure]; len(m) > 0 {
		return procedure + ": " + MissingRightsText(m)
	}
	return ""
}
