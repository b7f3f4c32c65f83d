package ops

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/day2ops/day2/assets"
	"github.com/day2ops/day2/model"
)

// Param describes one parameter of a procedure.
type Param struct {
	Name     string
	Help     string
	Bool     bool
	Required bool
	Default  string
}

// spec is a procedure day2 knows how to build.
type spec struct {
	title  string
	params []Param
	build  func(s *Session, p params) (*Procedure, error)
	// rights are the Kubernetes rights its steps use, reviewed before the
	// procedure is offered and again before its first step (access.go).
	rights []model.Right
	// rightsIf are rights only a run with that (boolean) parameter set
	// uses: reviewed before its first step, not held against the procedure
	// when it is offered (registries-edit without --drain evicts nothing).
	rightsIf map[string][]model.Right
	// etcdAccess: its steps write through the etcd API, so the client
	// certificate must be accepted (a read) before anything is planned.
	etcdAccess bool
}

// The rights each procedure's steps use, verb by verb (the tests run a
// drain as a user granted exactly drainRights). Rights on nodes and pods
// are asked for in all namespaces: which namespaces a node's pods live in
// is known only once its pods are listed, and changes while it drains.
var (
	cordonRights = model.Rights("", "nodes", "", "", "get", "patch")
	drainRights  = model.UniqueRights(
		model.Rights("", "nodes", "", "", "get", "list", "patch"),
		model.Rights("", "pods", "", "", "get", "list"),
		model.Rights("", "pods", "eviction", "", "create"),
		model.Rights("policy", "poddisruptionbudgets", "", "", "get", "list"),
		// kubectl's drain reads each DaemonSet pod's owner.
		model.Rights("apps", "daemonsets", "", "", "get"),
	)
	// The router's and registry's DeploymentConfigs (3.11) or Deployments
	// in default, scaled by decommission's scale-infra.
	infraScaleRights = model.UniqueRights(
		model.Rights("apps", "deployments", "", "default", "get", "patch"),
		model.Rights("apps.openshift.io", "deploymentconfigs", "", "default", "get", "patch"),
	)
	deleteNodeRights = model.Rights("", "nodes", "", "", "delete")
	// etcd-backup (and the backup membership changes take first) reads the
	// ClusterOperators on OpenShift 4: a rollout under way marks it dirty.
	backupRights = model.Rights("config.openshift.io", "clusteroperators", "", "", "list")
	// The etcd rebuilds prove the API serves again by listing namespaces.
	rebuildRights = model.Rights("", "namespaces", "", "", "list")
	// etcd-replace-member's diagnosis reads the member's Node and etcd pod;
	// on OpenShift 4 (groups served only there) its Machine and the etcd
	// operator's object, which it patches to redeploy.
	replaceRights = model.UniqueRights(
		model.Rights("", "nodes", "", "", "get"),
		model.Rights("", "pods", "", etcdNamespace, "get"),
		model.Rights("machine.openshift.io", "machines", "", "openshift-machine-api", "list"),
		model.Rights("operator.openshift.io", "etcds", "", "", "get", "patch"),
	)
)

var catalog = map[string]spec{
	"drain": {
		title:  "Drain a node: cordon it and evict its pods (seed 003 §5.3.1, §7.1.1)",
		params: drainParams("the node to drain"),
		build:  buildDrain,
		rights: drainRights,
	},
	"decommission": {
		title:  "Deprecate a node host: drain, take it out of the load balancer, delete the Node (seed 003 §5.3.1)",
		params: drainParams("the node to decommission"),
		build:  buildDecommission,
		rights: model.UniqueRights(drainRights, infraScaleRights, deleteNodeRights),
	},
	"deprecate-master": {
		title: "Deprecate a master host: back up, take it out of the load balancer, remove its etcd member safely, delete the Node (seed 003 §5.2.1)",
		params: slices.Concat(drainParams("the master to deprecate"), []Param{
			{Name: "master-root", Help: "the deprecated master's files (its host root) when reachable from here; otherwise those steps are manual"},
			{Name: "allow-two-members", Help: "override: allow shrinking etcd to or from two members", Bool: true},
		}, backupParams),
		build:      buildDeprecateMaster,
		rights:     model.UniqueRights(drainRights, deleteNodeRights, backupRights, model.Rights("", "endpoints", "", "default", "get")),
		etcdAccess: true,
	},
	"etcd-add-member": {
		title: "Add an etcd member: as a learner, started on its host, promoted once in sync; before etcd 3.4 prepared, added as a voter and started at once (seed 003 §5.4.4)",
		params: append([]Param{
			{Name: "name", Help: "the new member's name (its host name)", Required: true},
			{Name: "peer-url", Help: "its peer URL(s), comma-separated, e.g. https://10.0.0.4:2380", Required: true},
			{Name: "client-url", Help: "its client URL(s), comma-separated, e.g. https://10.0.0.4:2379", Required: true},
			{Name: "member-root", Help: "the new host's files (its host root) when reachable from here; otherwise starting it is manual"},
			{Name: "timeout", Help: "give up promoting the learner after this long", Default: "5m"},
			allowSingleVoterParam,
		}, backupParams...),
		build:      buildEtcdAddMember,
		rights:     backupRights,
		etcdAccess: true,
	},
	"etcd-remove-member": {
		title: "Remove an etcd member by its hex ID, guarded by quorum (seed 003 §5.2.1.4, §5.4.5)",
		params: append([]Param{
			{Name: "member", Help: "the member's hex ID, as the etcd pane and etcdctl member list show it", Required: true},
			{Name: "allow-two-members", Help: "override: allow shrinking etcd to or from two members", Bool: true},
			{Name: "member-root", Help: "the member's host files (its host root) when reachable from here: its etcd static pod is stopped"},
		}, slices.Concat(backupParams, recordedMemberParams)...),
		build:      buildEtcdRemoveMember,
		rights:     backupRights,
		etcdAccess: true,
	},
	"etcd-replace-member": {
		title: "Replace an etcd member: find out why it is unhealthy, then retire it add-first or replace it remove-first (seed 003 §5.4.3, seed 001 §5.2)",
		params: append([]Param{
			{Name: "member", Help: "the member's hex ID, as the etcd pane and etcdctl member list show it", Required: true},
			{Name: "member-root", Help: "the member's host files (its host root) when reachable from here"},
			{Name: "new-name", Help: "the replacement's name (default: the member's own, rebuilt on the same host)"},
			{Name: "new-peer-url", Help: "the replacement's peer URL(s) (default: the member's)"},
			{Name: "new-client-url", Help: "the replacement's client URL(s) (default: the member's)"},
			{Name: "new-root", Help: "the replacement host's files when reachable from here (default: --member-root for the same host); otherwise starting it is manual"},
			{Name: "timeout", Help: "give up promoting the replacement after this long", Default: "5m"},
			{Name: "path", Help: "recorded: the diagnosis' path (retire-healthy, replace-failed)"},
			{Name: "fault", Help: "recorded: why the member is unhealthy"},
			{Name: "redeploy-reason", Help: "recorded: the forceRedeploymentReason set on OpenShift 4"},
			{Name: "voters", Help: "recorded: the voting members when diagnosed, which the etcd operator brings back on OpenShift 4"},
		}, slices.Concat(backupParams, recordedMemberParams)...),
		build:      buildEtcdReplaceMember,
		rights:     model.UniqueRights(replaceRights, backupRights),
		etcdAccess: true,
	},
	"etcd-defrag": {
		title:      "Compact and defragment etcd one member at a time, the leader last; then disarm NOSPACE once under quota",
		params:     []Param{{Name: "timeout", Help: "give up defragmenting one member after this long", Default: "5m"}},
		build:      buildEtcdDefrag,
		etcdAccess: true,
	},
	"project-backup": {
		title: "Back up a project: every namespaced object the API serves, stripped for a re-create, into a verified tar.gz (seed 003 §4.7, §6.1)",
		params: []Param{
			{Name: "namespace", Help: "project-backup: the namespace (project) to back up", Required: true},
			{Name: "backup-dir", Help: "where the archive goes (a host path)", Default: projectBackupDir},
		},
		build:  buildProjectBackup,
		rights: projectRights,
	},
	"project-restore": {
		title: "Restore a project from its backup: verified, dry run first, created in dependency order (seed 003 §6.2)",
		params: []Param{
			{Name: "backup", Help: "the project backup archive (a host path)", Required: true},
			{Name: "namespace", Help: "project-restore: restore into this namespace instead of the backup's"},
			{Name: "replace", Help: "replace objects that exist (as oc replace) instead of skipping them", Bool: true},
		},
		build:  buildProjectRestore,
		rights: projectRights,
	},
	"cluster-shutdown": {
		title:      "Shut the whole cluster down gracefully: check when it must run again, a fresh etcd backup, cordon every node, then the hosts — workers, infra, masters last (seed 001 ch. 2)",
		params:     shutdownParams,
		build:      buildClusterShutdown,
		rights:     shutdownRights,
		etcdAccess: true,
	},
	"cluster-restart": {
		title:  "Restart the cluster after a graceful shutdown: hosts powered on, masters then the other nodes Ready (approving their valid CSRs), uncordon what the shutdown cordoned, verify (seed 001 ch. 3)",
		params: restartParams,
		build:  buildClusterRestart,
		rights: restartRights,
	},
	"cordon": {
		title:  "Mark a node unschedulable, leaving its pods (seed 003 §7.1.1)",
		params: []Param{{Name: "node", Help: "the node to cordon", Required: true}},
		build:  buildCordon,
		rights: cordonRights,
	},
	"uncordon": {
		title:  "Make a node schedulable again (seed 003 §5.3.4)",
		params: []Param{{Name: "node", Help: "the node to uncordon", Required: true}},
		build:  buildUncordon,
		rights: cordonRights,
	},
	"csr-approve": {
		title: "Approve CSRs, each guarded by its verdict; then watch for the CSRs that follow (seed 001 §3.2, §5.3.3, seed 004 step 2)",
		params: []Param{
			{Name: "csr", Help: "the CSR(s), comma-separated, as the CSRs table names them"},
			{Name: "all-valid", Help: "csr-approve: every pending CSR day2 finds valid, listed and asked once", Bool: true},
			csrWatchParam,
		},
		build:  buildCSRApprove,
		rights: csrRights,
	},
	"csr-deny": {
		title:  "Deny CSRs: the answer to an INVALID request",
		params: []Param{{Name: "csr", Help: "the CSR(s), comma-separated, as the CSRs table names them", Required: true}},
		build:  buildCSRDeny,
		rights: csrRights,
	},
	"recover-expired-certs": {
		title: "Recover after expired control-plane certificates: find NotReady nodes and pending kubelet CSRs, approve the valid node-bootstrapper CSRs, then the serving ones as they arrive (seed 001 §5.3.3)",
		params: []Param{
			csrWatchParam,
			{Name: "timeout", Help: "recover-expired-certs: give up waiting for the nodes to be Ready after this long", Default: "5m"},
		},
		build:  buildRecoverExpiredCerts,
		rights: recoverRights,
	},
	"etcd-backup": {
		title: "Back up etcd: a verified snapshot of one member with its manifest, this host's /etc/etcd, OpenShift 4 static pod resources (seed 003 §5.4.1, seed 001 §5.1)",
		params: []Param{
			{Name: "backup-dir", Help: "where the backup files go (a host path)", Default: etcdBackupDir},
			{Name: "member", Help: "etcd-backup: the member to snapshot, by name or hex ID (default: this host's, from /etc/etcd/etcd.conf)"},
			{Name: "keep", Help: "etcd-backup: keep the newest N verified backups in --backup-dir, removing older ones day2 wrote and unverified leftovers older than the newest verified (0 keeps all)", Default: "0"},
			{Name: "force", Help: "etcd-backup: back up even while a control-plane ClusterOperator is Progressing; the files are marked " + model.DirtyMarker, Bool: true},
		},
		build:  buildEtcdBackup,
		rights: backupRights,
	},
	"etcd-verify-snapshot": {
		title:  "Verify an etcd snapshot: SHA-256 trailer and a read-only bbolt consistency check",
		params: []Param{{Name: "snapshot", Help: "the snapshot file (a host path)", Required: true}},
		build:  buildVerifySnapshot,
	},
	"etcd-restore": {
		title:  "Restore etcd from a snapshot: the WHOLE cluster returns to the snapshot's point in time, then grows back member by member (seed 003 §5.4.2, seed 001 §5.3.2)",
		params: append([]Param{{Name: "snapshot", Help: "the snapshot file (a host path)", Required: true}}, rebuildParams...),
		build:  buildEtcdRestore,
		rights: rebuildRights,
	},
	"host-backup": {
		title: "Back up hosts' files: the master or node file set, /etc/docker/certs.d and the rpm -qa list, into this host's backup directory (seed 003 §4.1, §4.2, §4.3)",
		params: append([]Param{
			{Name: "host", Help: "the host to back up (node or inventory name)"},
			{Name: "backup-dir", Help: "host-backup: where the archives go on this host (a host path)", Default: hostBackupDir},
		}, hostParams...),
		build:  buildHostBackup,
		rights: hostListRights,
	},
	"host-restore": {
		title: "Restore files of a host from its host-backup archive: the diff first, only the files selected, restorecon, the restarts the guide names (seed 003 §5.2.3, §5.3.3)",
		params: []Param{
			{Name: "host", Help: "the host to restore files on", Required: true},
			{Name: "backup", Help: "the host-backup archive on this host (a host path)", Required: true},
			{Name: "files", Help: "host-restore: the files to restore, comma-separated host paths, or \"changed\" for every file that differs (none: the plan lists them and the run waits)"},
		},
		build:  buildHostRestore,
		rights: hostListRights,
	},
	"registry-trust": {
		title: "Trust a registry's CA on hosts: certs.d/<registry>/ca.crt for docker and containers, the system anchor, then a TLS probe from each host (seed 003 §7.2.1, §7.3.3)",
		params: append([]Param{
			{Name: "registry", Help: "the registry as host[:port]", Required: true},
			{Name: "ca", Help: "its CA certificate file on this host (a host path)", Required: true},
		}, hostParams...),
		build:  buildRegistryTrust,
		rights: hostListRights,
	},
	"registries-edit": {
		title: "Edit registries.conf on hosts, one at a time, in the form each is written in: search, insecure and blocked registries, then restart docker or CRI-O (seed 003 §7.3)",
		params: slices.Concat([]Param{
			{Name: "add-search", Help: "registries to add to the search list, comma-separated"},
			{Name: "add-insecure", Help: "registries to add to the insecure list (add them to the search list too, seed 003 §7.3.4)"},
			{Name: "add-block", Help: "registries to block (\"all\" blocks every one not searched, seed 003 §7.3.2)"},
			{Name: "remove", Help: "registries to take out of every list"},
			{Name: "drain", Help: "registries-edit: drain each node before its runtime restarts, uncordon it after", Bool: true},
		}, hostParams, drainParams("")[1:]),
		build:    buildRegistriesEdit,
		rights:   hostListRights,
		rightsIf: map[string][]model.Right{"drain": drainRights},
	},
	"etcd-recover-quorum": {
		title: "Recover etcd after quorum loss: rebuild a one-member cluster on this survivor, then grow back member by member (seed 004, seed 001 §5.3)",
		params: append([]Param{
			{Name: "snapshot", Help: "the snapshot file (a host path)"},
			{Name: "from-member-data", Help: "typed override, DATA LOSS: rebuild from this member's own database (no checksum) instead of a snapshot", Bool: true},
			{Name: "survivor", Help: "etcd-recover-quorum: this host's member name, to rebuild here although another member has newer data"},
		}, rebuildParams...),
		build:  buildEtcdRecoverQuorum,
		rights: rebuildRights,
	},
}

// rebuildParams are the parameters of the procedures that rebuild etcd as a
// one-member cluster and grow it back.
var rebuildParams = []Param{
	{Name: "config-backup", Help: "an etcd-config_<time>.tar.gz (a host path) to take etcd.conf from first (seed 003 §5.4.2.1)"},
	{Name: "members", Help: "the members to grow back afterwards, name=peerURL,... (default: the member list now)"},
	{Name: "member-clients", Help: "their client URLs, name=clientURL,... (default: the member list now)"},
	{Name: "member-roots", Help: "their host roots when reachable from here, name=dir,...; without one, starting a member there is a manual step"},
	allowSingleVoterParam,
}

// allowSingleVoterParam is the override for etcd before 3.4, which has no
// learners: growing one member to two voters leaves no quorum until the
// second runs (model.VoterAddCheck).
var allowSingleVoterParam = Param{Name: "allow-single-voter-add", Help: "override, etcd before 3.4: add a voter to a one-member cluster (no quorum until it runs; day2 must start it itself)", Bool: true}

// drainParams are the parameters of every procedure that drains a node.
func drainParams(node string) []Param {
	return []Param{
		{Name: "node", Help: node, Required: true},
		{Name: "delete-emptydir-data", Help: "consent: pods with emptyDir volumes lose that data", Bool: true},
		{Name: "force", Help: "consent: pods without a controller are deleted for good", Bool: true},
		{Name: "timeout", Help: "give up the eviction after this long (the node stays cordoned)", Default: "5m"},
	}
}

// ProcedureNames lists the procedures, sorted.
func ProcedureNames() []string {
	names := make([]string, 0, len(catalog))
	for n := range catalog {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ProcedureTitle is a procedure's one-line description.
func ProcedureTitle(name string) string { return catalog[name].title }

// ProcedureParams lists a procedure's parameters.
func ProcedureParams(name string) []Param { return catalog[name].params }

// ProcedureRights lists the Kubernetes rights a procedure's steps use.
func ProcedureRights(name string) []model.Right { return catalog[name].rights }

// forRun is the spec with the rights this run's parameters add.
func (sp spec) forRun(p params) spec {
	for name, rights := range sp.rightsIf {
		if p.bool(name) {
			sp.rights = model.UniqueRights(sp.rights, rights)
		}
	}
	return sp
}

// params are a procedure's validated parameters.
type params map[string]string

func (p params) bool(name string) bool { v, _ := strconv.ParseBool(p[name]); return v }

func (p params) duration(name string) (time.Duration, error) {
	d, err := time.ParseDuration(p[name])
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--%s %q: want a positive duration such as 5m", name, p[name])
	}
	return d, nil
}

// Procedure builds the named procedure on this session's cluster.
func (s *Session) Procedure(name string, given map[string]string) (*Procedure, error) {
	sp, ok := catalog[name]
	if !ok {
		return nil, fmt.Errorf("no procedure %q (have %v)", name, ProcedureNames())
	}
	p := params{}
	for _, prm := range sp.params {
		v, set := given[prm.Name]
		switch {
		case set && v != "":
			p[prm.Name] = v
		case prm.Required:
			return nil, fmt.Errorf("%s needs --%s (%s)", name, prm.Name, prm.Help)
		case prm.Default != "":
			p[prm.Name] = prm.Default
		}
	}
	proc, err := sp.build(s, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	proc.Name, proc.Title, proc.Params = name, sp.title, p
	if proc.State == nil {
		proc.State = NewRunState()
	}
	proc.Precheck = s.precheck(name, sp.forRun(p))
	for _, st := range proc.Steps {
		if st.Explain != "" {
			continue // a shared step constructor chose it (AddMemberSteps)
		}
		if st.Explain, err = assets.StepText(name, st.ID); err != nil {
			return nil, err
		}
	}
	return proc, nil
}
