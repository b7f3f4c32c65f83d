package model

import (
	"path"
	"slices"
	"strings"
)

// registryCertsDir is docker's per-registry CA directory (seed 003 §4.3,
// §7.2.1), backed up on every host.
const registryCertsDir = "/etc/docker/certs.d"

// MasterBackupPaths is the master host backup of seed 003 §4.1: all of
// /etc/origin and /etc/sysconfig (the masters are nodes too), the etcd
// configuration and CA the first master holds, the other files it lists,
// and §4.3's registry certificates.
var MasterBackupPaths = []string{
	"/etc/origin", "/etc/sysconfig", "/etc/etcd", "/etc/cni", "/etc/dnsmasq.conf", "/etc/dnsmasq.d",
	"/etc/pki/ca-trust/source/anchors", registryCertsDir,
}

// NodeBackupPaths is the node host backup of seed 003 §4.2 (its `cp -aR`
// lines: /etc/origin, the node's and docker's sysconfig files —
// `docker-*` is a pattern —, flannel, CNI, dnsmasq, the CA anchors) and
// §4.3's registry certificates.
var NodeBackupPaths = []string{
	"/etc/origin", "/etc/sysconfig/atomic-openshift-node", "/etc/sysconfig/iptables", "/etc/sysconfig/docker",
	"/etc/sysconfig/docker-*", "/etc/sysconfig/flanneld", "/etc/cni", "/etc/dnsmasq.conf", "/etc/dnsmasq.d",
	"/etc/pki/ca-trust/source/anchors", registryCertsDir,
}

// HostBackupPaths is the file set of a host: a master's or a node's.
func HostBackupPaths(master bool) []string {
	if master {
		return MasterBackupPaths
	}
	return NodeBackupPaths
}

// HostBackupRequired is the path without which a host is not an OpenShift
// host at all; every other path of the sets is optional ("if used").
const HostBackupRequired = "/etc/origin"

// PackagesFile is the `rpm -qa | sort` list in a host backup (seed 003
// §4.1, §4.2), and ManifestFile what the backup says of itself.
const (
	PackagesFile = "packages.txt"
	ManifestFile = "day2-host-backup.json"
)

// HostBackupManifest is what a host backup records of itself, beside the
// files: whose it is, which file set, what was missing and whether the
// package list could be made.
type HostBackupManifest struct {
	Host    string   `json:"host"`
	Role    string   `json:"role"` // "master" or "node"
	Created string   `json:"created"`
	Paths   []string `json:"paths"`
	Missing []string `json:"missing,omitempty"`
	// Packages is PackagesFile, or why there is none ("rpm is not
	// installed on node-1", the error of rpm -qa).
	Packages string `json:"packages"`
}

// RestoreAction is what restoring a file needs afterwards, as seed 003
// §5.2.3 and §5.3.3 name it: a command day2 runs on the host, or, Manual,
// one the operator runs (a reboot).
type RestoreAction struct {
	Command string
	// Unit is the systemd unit a `systemctl restart` acts on, checked
	// with `systemctl is-active` afterwards.
	Unit   string
	Why    string
	Manual bool
}

// restoreRules map restored paths to the services that read them.
var restoreRules = []struct {
	match   func(p string) bool
	actions []RestoreAction
}{
	{prefix("/etc/origin/master/"), []RestoreAction{
		{Command: "master-restart api", Why: "seed 003 §5.2.3: the master configuration is read by the API"},
		{Command: "master-restart controllers", Why: "seed 003 §5.2.3: and by the controllers"},
	}},
	{exact("/etc/origin/node/node-config.yaml", "/etc/sysconfig/iptables"), []RestoreAction{
		{Command: "reboot", Manual: true, Why: "seed 003 §5.3.3: node-config.yaml, and the iptables rules, take a full reboot of the host"},
	}},
	{func(p string) bool {
		return strings.HasPrefix(p, "/etc/origin/node/") || p == "/etc/sysconfig/atomic-openshift-node"
	}, []RestoreAction{
		{Command: "systemctl restart atomic-openshift-node", Unit: "atomic-openshift-node", Why: "the node service reads its files at start (seed 003 §5.3.3: restart the affected services)"},
	}},
	{prefix("/etc/etcd/"), []RestoreAction{
		{Command: "master-restart etcd", Why: "seed 003 §5.4.2.1: etcd reads etcd.conf at start"},
	}},
	{prefix("/etc/pki/ca-trust/source/anchors/"), []RestoreAction{
		{Command: "update-ca-trust", Why: "seed 003 §5.2.3: a restored system certificate takes update-ca-trust"},
	}},
	{func(p string) bool {
		return strings.HasPrefix(p, "/etc/sysconfig/docker") || strings.HasPrefix(p, registryCertsDir+"/")
	}, []RestoreAction{
		{Command: "systemctl restart docker", Unit: "docker", Why: "seed 003 §7.2.1, §7.2.3: docker reads its configuration and certificates at start"},
	}},
	{prefix("/etc/dnsmasq"), []RestoreAction{
		{Command: "systemctl restart dnsmasq", Unit: "dnsmasq", Why: "dnsmasq reads its configuration at start"},
	}},
	{exact("/etc/sysconfig/flanneld"), []RestoreAction{
		{Command: "systemctl restart flanneld", Unit: "flanneld", Why: "flanneld reads its configuration at start"},
	}},
}

func prefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}

func exact(ps ...string) func(string) bool {
	return func(s string) bool { return slices.Contains(ps, s) }
}

// RestoreActions lists, once each and in the guide's order, what restoring
// paths needs afterwards; the first rule matching a path decides (a
// node-config.yaml takes the reboot, not a restart of the node service).
// unhandled are the restored paths no service is named for.
func RestoreActions(paths []string) (actions []RestoreAction, unhandled []string) {
	seen := map[string]bool{}
	for _, p := range paths {
		p = path.Clean(p)
		matched := false
		for _, r := range restoreRules {
			if !r.match(p) {
				continue
			}
			matched = true
			for _, a := range r.actions {
				if !seen[a.Command] {
					seen[a.Command] = true
					actions = append(actions, a)
				}
			}
			break
		}
		if !matched {
			unhandled = append(unhandled, p)
		}
	}
	return actions, unhandled
}
