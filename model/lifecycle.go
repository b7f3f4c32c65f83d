package model

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Whole-cluster shutdown and restart (seed 001 ch. 2 and 3): the rules that
// need no cluster.

// ShutdownGroup is one wave of a cluster shutdown: its hosts go down together,
// and the next wave waits until they are down.
type ShutdownGroup struct {
	// Role is "workers", "infra" or "masters".
	Role  string   `json:"role"`
	Nodes []string `json:"nodes"`
}

// Shutdown roles, in the order the hosts go down.
const (
	ShutdownWorkers = "workers"
	ShutdownInfra   = "infra"
	ShutdownMasters = "masters"
)

// ShutdownRoles are the waves in order: the masters last, so the control
// plane sees every other node go (and day2, often run on a master, keeps its
// API and journal until the end).
var ShutdownRoles = []string{ShutdownWorkers, ShutdownInfra, ShutdownMasters}

// ShutdownRole is the wave a node goes down in: masters (and control-plane
// nodes), then infra, everything else a worker.
func ShutdownRole(roles []string) string {
	switch {
	case IsControlPlane(roles):
		return ShutdownMasters
	case slices.Contains(roles, "infra"):
		return ShutdownInfra
	}
	return ShutdownWorkers
}

// ShutdownOrder groups nodes into the waves of ShutdownRoles, each sorted by
// name; a wave without nodes is left out.
func ShutdownOrder(nodes []Node) []ShutdownGroup {
	var out []ShutdownGroup
	for _, role := range ShutdownRoles {
		g := ShutdownGroup{Role: role}
		for _, n := range nodes {
			if ShutdownRole(n.Roles) == role {
				g.Nodes = append(g.Nodes, n.Name)
			}
		}
		if len(g.Nodes) > 0 {
			slices.Sort(g.Nodes)
			out = append(out, g)
		}
	}
	return out
}

// RestartDeadline is the date by which a shut-down cluster must run again:
// past it the certificates its kubelets and masters need to come back have
// expired (seed 001 §2.2).
type RestartDeadline struct {
	NotAfter time.Time `json:"notAfter"`
	// Source names what expires: "secret openshift-kube-apiserver-operator/
	// kube-apiserver-to-kubelet-signer" or a host certificate's path.
	Source string `json:"source"`
}

// String is the deadline as a plan shows it.
func (d RestartDeadline) String() string {
	return fmt.Sprintf("%s (%s)", d.NotAfter.UTC().Format(time.RFC3339), d.Source)
}

// CheckDowntime refuses a shutdown that starts at now and lasts expected
// (zero: not said) when the cluster would come back after the deadline.
func (d RestartDeadline) CheckDowntime(now time.Time, expected time.Duration) error {
	left := d.NotAfter.Sub(now)
	switch {
	case left <= 0:
		return fmt.Errorf("refused: %s expired %s ago; a cluster shut down now may not come back (recover the certificates first, seed 001 §5.3.3)",
			d, (-left).Round(time.Minute))
	case expected > 0 && expected >= left:
		return fmt.Errorf("refused: an expected downtime of %s outlasts %s, %s from now: restart the cluster before then or renew the certificates first",
			expected, d, left.Round(time.Minute))
	}
	return nil
}

// restartCertDirs hold the certificates a cluster starts with: OpenShift
// 3.11's masters', nodes' and etcd's, and kubeadm's.
var restartCertDirs = []string{"/etc/origin/master/", "/etc/origin/node/", "/etc/etcd/", "/etc/kubernetes/pki/"}

// RestartCertificate reports whether a certificate found on a host is one
// the cluster needs to start again (under restartCertDirs). The router and
// registry serving certificates kept beside them are the applications' way
// in, not what the control plane or the kubelets start with.
func RestartCertificate(c Certificate) bool {
	src, _, _ := strings.Cut(c.Source, " ") // "path (user ...)" for kubeconfigs
	if !slices.ContainsFunc(restartCertDirs, func(dir string) bool { return strings.HasPrefix(src, dir) }) {
		return false
	}
	switch path.Base(src) {
	case "openshift-router.crt", "registry.crt":
		return false
	}
	return true
}

// EarliestRestartDeadline is the soonest NotAfter of the restart
// certificates among certs (RestartCertificate); ok is false when there are
// none.
func EarliestRestartDeadline(certs []Certificate) (d RestartDeadline, ok bool) {
	for _, c := range certs {
		if !RestartCertificate(c) {
			continue
		}
		if !ok || c.NotAfter.Before(d.NotAfter) {
			d, ok = RestartDeadline{NotAfter: c.NotAfter, Source: fmt.Sprintf("%s (%s)", c.Source, orUnknown(c.SubjectCN))}, true
		}
	}
	return d, ok
}

// OperatorsNotSettled lists the ClusterOperators that are Progressing and,
// when degraded is set, those Degraded too, each with its message.
func OperatorsNotSettled(cos ClusterOperators, degraded bool) []string {
	var out []string
	for _, o := range cos.Items {
		var bad []string
		if o.Progressing == "True" {
			bad = append(bad, "Progressing")
		}
		if degraded && o.Degraded == "True" {
			bad = append(bad, "Degraded")
		}
		if len(bad) == 0 {
			continue
		}
		line := o.Name + " " + strings.Join(bad, ",")
		if o.Message != "" {
			line += ": " + o.Message
		}
		out = append(out, line)
	}
	return out
}
