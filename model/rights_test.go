package model

import (
	"strings"
	"testing"
)

func TestRightString(t *testing.T) {
	for _, tc := range []struct {
		r    Right
		want string
	}{
		{Right{Verb: "create", Resource: "pods", Subresource: "eviction", Namespace: "myapp"}, "create pods/eviction in myapp"},
		{Right{Verb: "create", Resource: "pods", Subresource: "eviction"}, "create pods/eviction in all namespaces"},
		{Right{Verb: "patch", Resource: "nodes"}, "patch nodes"},
		{Right{Verb: "list", Resource: "namespaces"}, "list namespaces"},
		{Right{Verb: "get", Group: "policy", Resource: "poddisruptionbudgets"}, "get poddisruptionbudgets.policy in all namespaces"},
		{Right{Verb: "patch", Group: "apps.openshift.io", Resource: "deploymentconfigs", Namespace: "default"}, "patch deploymentconfigs.apps.openshift.io in default"},
		{Right{Verb: "update", Group: "certificates.k8s.io", Resource: "certificatesigningrequests", Subresource: "approval"}, "update certificatesigningrequests.certificates.k8s.io/approval"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestRightsAndUniqueRights(t *testing.T) {
	nodes := Rights("", "nodes", "", "", "patch", "get")
	if len(nodes) != 2 || nodes[0] != (Right{Verb: "patch", Resource: "nodes"}) || nodes[1].Verb != "get" {
		t.Fatalf("Rights: %+v", nodes)
	}
	u := UniqueRights(nodes, Rights("", "nodes", "", "", "get"), Rights("", "pods", "eviction", "", "create"))
	var got []string
	for _, r := range u {
		got = append(got, r.String())
	}
	if want := "create pods/eviction in all namespaces|get nodes|patch nodes"; strings.Join(got, "|") != want {
		t.Errorf("UniqueRights: %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestProcedureAccessRefusal(t *testing.T) {
	a := ProcedureAccess{Missing: map[string][]Right{
		"drain": {{Verb: "create", Resource: "pods", Subresource: "eviction"}, {Verb: "list", Resource: "pods"}},
	}}
	why := a.Refusal("drain")
	for _, want := range []string{"drain: ", "may not create pods/eviction in all namespaces; list pods in all namespaces", "cluster admin"} {
		if !strings.Contains(why, want) {
			t.Errorf("refusal %q lacks %q", why, want)
		}
	}
	if a.Refusal("cordon") != "" {
		t.Error("a procedure with no missing right is refused")
	}
	// Unknown (the reviews failed): offered; the pre-check will tell.
	if (ProcedureAccess{Err: "timeout"}).Refusal("drain") != "" {
		t.Error("refused without a review's answer")
	}
}
