package ops

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/model"
)

// OpenShift 4 objects of seed 001 §5.2.
const (
	etcdOperatorPath = "/apis/operator.openshift.io/v1/etcds/cluster"
	machinesPath     = "/apis/machine.openshift.io/v1beta1/namespaces/openshift-machine-api/machines"
	etcdNamespace    = "openshift-etcd"
	// dataAside is where a failed member's data directory is moved (seed
	// 001 §5.2.4.2 moves it out of /var/lib/etcd; never deleted).
	dataAside = "/var/lib/etcd-backup"
	// asideStamp dates a moved-aside data dir.
	asideStamp = "20060102T150405Z"
	// apiReadTimeout bounds the API reads of the diagnosis.
	apiReadTimeout = 5 * time.Second
)

// etcdOperator reports whether the cluster runs OpenShift 4's etcd
// operator: its etcd.operator.openshift.io "cluster" object is served.
func (s *Session) etcdOperator(ctx context.Context) (bool, error) {
	_, err := s.client.Discovery().RESTClient().Get().AbsPath(etcdOperatorPath).DoRaw(ctx)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("GET %s: %w", etcdOperatorPath, err)
	}
	return true, nil
}

// memberHost gathers what seed 001 §5.2.3 checks about a member's host:
// its Machine's state (Machine API), its node (unreachable taint, Ready),
// its etcd pod (openshift-etcd) and, with its files here, whether its etcd
// static pod manifest is in place. What cannot be read stays unknown.
func (s *Session) memberHost(ctx context.Context, name string, root hostfs.Host) model.MemberHost {
	var h model.MemberHost
	// Without etcd quorum the API server cannot answer: each read gets a
	// short time of its own, and what it cannot tell stays unknown.
	ctx, cancel := context.WithTimeout(ctx, apiReadTimeout)
	defer cancel()
	if n, err := s.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); err == nil {
		h.NodeFound = true
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				h.NodeReady = c.Status == corev1.ConditionTrue
			}
		}
		h.Unreachable = slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeUnreachable })
	}
	h.MachineState, _ = s.machineOf(ctx, name)
	if pod, err := s.client.CoreV1().Pods(etcdNamespace).Get(ctx, "etcd-"+name, metav1.GetOptions{}); err == nil {
		h.PodStatus = podStatus(pod)
	}
	if root != nil {
		l, ok := etcdLayoutOf(root)
		present := ok && hostfs.Exists(root, l.manifest)
		h.ManifestPresent = &present
	}
	return h
}

// machineOf is the instance state and name of the Machine whose node is
// node (empty without the Machine API).
func (s *Session) machineOf(ctx context.Context, node string) (state, machine string) {
	raw, err := s.client.Discovery().RESTClient().Get().AbsPath(machinesPath).DoRaw(ctx)
	if err != nil {
		return "", ""
	}
	var list struct {
		Items []struct {
			Metadata struct{ Name string } `json:"metadata"`
			Status   struct {
				NodeRef        struct{ Name string } `json:"nodeRef"`
				ProviderStatus struct {
					InstanceState string `json:"instanceState"`
				} `json:"providerStatus"`
			} `json:"status"`
		} `json:"items"`
	}
	if json.Unmarshal(raw, &list) != nil {
		return "", ""
	}
	for _, m := range list.Items {
		if m.Status.NodeRef.Name == node {
			return m.Status.ProviderStatus.InstanceState, m.Metadata.Name
		}
	}
	return "", ""
}

// podStatus is a pod's status as `oc get pods` prints it, as far as seed
// 001 §5.2.3 needs it: CrashLoopBackOff, Error, or the phase.
func podStatus(p *corev1.Pod) string {
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			return w.Reason
		}
		if t := c.State.Terminated; t != nil && t.Reason == "Error" {
			return t.Reason
		}
	}
	return string(p.Status.Phase)
}

// diagnose runs the decision tree on the member as it is now; found is
// false once the member is no longer listed (removed by this run earlier).
func (s *Session) diagnose(ctx context.Context, ref *memberRef, root hostfs.Host) (d model.MemberDiagnosis, snap model.EtcdCluster, found bool, err error) {
	if snap, err = s.pollEtcd(ctx); err != nil {
		return d, snap, false, err
	}
	m, ok := ref.find(snap)
	if !ok {
		return d, snap, false, nil
	}
	d, err = snap.DiagnoseMember(m.ID, s.memberHost(ctx, m.Name, root))
	return d, snap, true, err
}

// DiagnoseEtcdMember runs etcd-replace-member's decision tree (seed 001
// §5.2.3) on member id as it is now, for the etcd pane: why it is unhealthy
// and which way it would be replaced.
func (s *Session) DiagnoseEtcdMember(ctx context.Context, id uint64) (model.MemberDiagnosis, error) {
	d, snap, found, err := s.diagnose(ctx, &memberRef{id: id}, nil)
	if err == nil && !found {
		err = snap.NoSuchMember(id)
	}
	return d, err
}

// buildEtcdReplaceMember is seed 003 §5.4.3 and seed 001 §5.2: find out why
// the member is unhealthy and whether quorum holds (without quorum: stop,
// etcd-recover-quorum is the way); retire a healthy member add-first (new
// learner, promote, then remove the old one); replace a failed one
// remove-first (stop a crashlooping pod and move its manifest and data
// aside, remove it, on OpenShift 4 delete its secrets and force a
// redeployment, then add the replacement as a learner and promote it).
// The diagnosis is recorded with the run, so a resumed run follows the same
// path.
func buildEtcdReplaceMember(s *Session, p params) (*Procedure, error) {
	ref, err := resolveMember(s, p)
	if err != nil {
		return nil, err
	}
	old, memberRoot := *ref.known, rootOf(p["member-root"])
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if p["path"] == "" {
		d, snap, found, err := s.diagnose(ctx, ref, memberRoot)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("member %s is gone", old.IDHex())
		}
		p["path"], p["fault"] = string(d.Path), d.Fault.String()
		p["voters"] = fmt.Sprint(snap.Voters())
	}
	nm, err := replacement(p, old, memberRoot)
	if err != nil {
		return nil, err
	}
	timeout, err := p.duration("timeout")
	if err != nil {
		return nil, err
	}
	here, state := hostfs.New(s.opts.HostRoot), NewRunState()
	clients := etcdClientsStep(s, here, func() ([]string, []string) {
		return without(old.ClientURLs, nm.ClientURLs), without(nm.ClientURLs, old.ClientURLs)
	})
	path := model.ReplacePath(p["path"])
	backup, err := backupFirstStep(s, p, state)
	if err != nil {
		return nil, err
	}
	steps := []*Step{diagnoseStep(s, ref, memberRoot, path, p["fault"]), backup}
	switch path {
	case model.PathRetire:
		if slices.Equal(nm.PeerURLs, old.PeerURLs) {
			return nil, fmt.Errorf("%s is healthy: it is retired by adding its replacement first, so give the new host's --new-name, --new-peer-url and --new-client-url", old.Name)
		}
		steps = append(steps, AddMemberSteps(s, nm, timeout, "")...)
		steps = append(steps, moveLeaderStep(s, ref), etcdRemoveStep(s, ref, false))
		if memberRoot != nil {
			steps = append(steps, moveManifestsStep(memberRoot, "etcd-disable", "Stop the removed member's etcd static pod", "etcd.yaml"))
		}
	case model.PathReplaceFailed:
		openshift4, err := s.etcdOperator(ctx)
		if err != nil {
			return nil, err
		}
		// Removing the failed member first leaves one member less until
		// its replacement is promoted; the diagnosis step says so.
		steps = append(steps, stopMemberStep(old, memberRoot, p["fault"], openshift4, state), etcdRemoveStep(s, ref, true))
		if openshift4 {
			if p["redeploy-reason"] == "" {
				p["redeploy-reason"] = redeployReason(p["fault"], time.Now())
			}
			voters, err := strconv.Atoi(p["voters"])
			if err != nil {
				return nil, fmt.Errorf("recorded voters %q: %w", p["voters"], err)
			}
			steps = append(steps, etcdSecretsStep(s, old.Name), machineStep(s, old.Name, p["fault"]), etcdRedeployStep(s, p["redeploy-reason"]),
				awaitOperatorStep(s, old, voters, timeout))
		} else {
			steps = append(steps, AddMemberSteps(s, nm, timeout, "")...)
		}
	default:
		return &Procedure{State: state, Steps: steps}, nil // the diagnosis blocks: quorum is lost
	}
	steps = append(steps, etcdConfStep(s, here), clients)
	return &Procedure{State: state, Steps: steps}, nil
}

// replacement is the member that takes old's place: the --new-* flags,
// else old itself rebuilt on the same host (its name and URLs, its host
// root).
func replacement(p params, old model.EtcdMember, memberRoot hostfs.Host) (NewMember, error) {
	nm := NewMember{Name: old.Name, PeerURLs: old.PeerURLs, ClientURLs: old.ClientURLs, Root: memberRoot}
	if v := p["new-name"]; v != "" && v != old.Name {
		nm.Name, nm.Root = v, nil
	}
	var err error
	if v := p["new-peer-url"]; v != "" {
		if nm.PeerURLs, err = memberURLs("new-peer-url", v); err != nil {
			return nm, err
		}
	}
	if v := p["new-client-url"]; v != "" {
		if nm.ClientURLs, err = memberURLs("new-client-url", v); err != nil {
			return nm, err
		}
	}
	if v := p["new-root"]; v != "" {
		nm.Root = rootOf(v)
	}
	if slices.Equal(nm.PeerURLs, old.PeerURLs) {
		nm.Replaces = old.ID
	}
	if len(nm.ClientURLs) == 0 {
		return nm, fmt.Errorf("%s never published a client URL: give --new-client-url", old.DisplayName())
	}
	return nm, nil
}

// without is a minus b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// dataAsideDest is where a member's data dir is moved aside, stamped.
func dataAsideDest(dataDir, stamp string) string {
	return path.Join(dataAside, path.Base(dataDir)+"-"+stamp)
}

// dataAsideCommand is the operator's command for the same move the
// automated steps make: kept under /var/lib/etcd-backup, never deleted.
func dataAsideCommand(dataDir string) string {
	return "mkdir -p " + dataAside + " && mv " + dataDir + " " + dataAsideDest(dataDir, "$(date -u +%Y%m%dT%H%M%SZ)")
}

// redeployReason is the unique forceRedeploymentReason of seed 001 §5.2.4
// ("the value must be unique, which is why a timestamp is appended").
func redeployReason(fault string, now time.Time) string {
	prefix := "recovery-"
	if fault == model.FaultCrashlooping.String() {
		prefix = "single-master-recovery-"
	}
	return prefix + now.UTC().Format(time.RFC3339Nano)
}

func diagnoseStep(s *Session, ref *memberRef, root hostfs.Host, path model.ReplacePath, fault string) *Step {
	var plan Plan
	return &Step{
		ID: "diagnose", Title: "Find out why the member is unhealthy and whether quorum holds",
		Check: func(ctx context.Context) error {
			plan = Plan{"prerequisite (seed 003 §5.4.3, seed 001 §5.2.1): a fresh etcd backup — the next step takes one unless a verified one newer than 24 h is there"}
			d, snap, found, err := s.diagnose(ctx, ref, root)
			switch {
			case err != nil:
				return err
			case !found:
				plan = append(plan, ref.String()+" is no longer a member (removed by this run): the replacement goes on")
				return nil
			}
			plan = append(plan, "read only: member list and health, Machine, Node, etcd pod:")
			for _, r := range d.Reasons {
				plan = append(plan, "  "+r)
			}
			switch d.Path {
			case model.PathRecoverQuorum:
				return fmt.Errorf("quorum is lost (%d of %d voting members healthy, %d needed): no member can be removed or added — recover the cluster with etcd-recover-quorum", snap.HealthyVoters(), snap.Voters(), snap.Quorum())
			case model.PathRetire:
				plan = append(plan, "path: add the replacement as a learner, promote it, then remove "+d.Member.Name+" (the fault tolerance never drops)")
			case model.PathReplaceFailed:
				v := snap.Voters() - 1
				plan = append(plan, "path: remove "+d.Member.Name+" first, then add its replacement as a learner and promote it",
					fmt.Sprintf("WARNING: until the replacement is promoted the cluster has %d voting members (quorum %d): it tolerates %d failure(s)", v, model.QuorumSize(v), v-model.QuorumSize(v)))
			}
			if d.Path != path || d.Fault.String() != fault {
				return fmt.Errorf("the member is now %s (%s), the run was started for %s (%s): start etcd-replace-member again", d.Fault, d.Path, fault, path)
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) { return plan, nil },
	}
}

// stopMemberStep stops a crashlooping member for good and moves its
// manifest and data aside, never deleting them (seed 001 §5.2.4.2: "move
// the existing etcd pod file out of the kubelet manifest directory", "move
// the etcd data directory to a different location"), so that it restarts
// as a fresh member later.
// stopDataDestKey is where stop-member moves the member's data, decided
// once per run.
var stopDataDestKey = stateKey[string]("stopped-data-dir")

func stopMemberStep(old model.EtcdMember, root hostfs.Host, fault string, openshift4 bool, state *RunState) *Step {
	var layout etcdPodLayout
	var dataDir, dataDest string
	look := func() error {
		var ok bool
		if layout, ok = etcdLayoutOf(root); !ok {
			return fmt.Errorf("no etcd static pod manifest %s", root.Where())
		}
		dataDir = "/var/lib/etcd"
		if !layout.operated {
			host, err := etcdHere(root)
			if err != nil {
				return err
			}
			dataDir = host.DataDir
		}
		dataDest = stopDataDestKey.Decide(state, func() string {
			return dataAsideDest(dataDir, time.Now().UTC().Format(asideStamp))
		})
		return nil
	}
	st := &Step{
		ID: "stop-member", Title: "Stop the crashlooping etcd pod on " + old.Name + " and move its manifest and data aside", Manual: root == nil,
		Applies: func(context.Context) (bool, string) {
			if fault != model.FaultCrashlooping.String() {
				return false, "the member is " + fault + ": no etcd pod runs there to stop"
			}
			return true, ""
		},
	}
	if root == nil {
		st.Plan = func(context.Context) (Plan, error) {
			if openshift4 {
				return Plan{
					"manual: oc debug node/" + old.Name + ", then chroot /host and:",
					"  mkdir -p /var/lib/etcd-backup && mv /etc/kubernetes/manifests/etcd-pod.yaml /var/lib/etcd-backup/",
					"  " + dataAsideCommand("/var/lib/etcd") + "   # the member's data, kept",
				}, nil
			}
			return Plan{
				"manual, on " + old.Name + ":",
				"  mkdir -p /etc/origin/node/pods-stopped && mv /etc/origin/node/pods/etcd.yaml /etc/origin/node/pods-stopped/",
				"  " + dataAsideCommand("/var/lib/etcd") + "   # the member's data, kept",
			}, nil
		}
		return st
	}
	st.Check = func(context.Context) error { return look() }
	st.Plan = func(context.Context) (Plan, error) {
		return Plan{
			fmt.Sprintf("mv %s %s   # %s: the kubelet stops the pod", layout.manifest, layout.aside, root.Where()),
			fmt.Sprintf("wait until nothing answers on %s for 3 s", first(old.ClientURLs)),
			hostfs.DescribeMoveDirOn(root, dataDir, dataDest) + "   # the member's data, kept",
		}, nil
	}
	st.Run = func(ctx context.Context, progress func(string)) error {
		if hostfs.Exists(root, layout.manifest) {
			if err := hostfs.Move(root, layout.manifest, layout.aside); err != nil {
				return err
			}
			progress("moved " + layout.manifest + " to " + layout.aside)
		}
		if len(old.ClientURLs) > 0 {
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := etcd.WaitDown(wctx, old.ClientURLs[0], 3*time.Second)
			cancel()
			if err != nil {
				return err
			}
		}
		if hostfs.Exists(root, dataDir) {
			if err := hostfs.MoveDirOn(ctx, root, dataDir, dataDest); err != nil {
				return err
			}
			progress("moved " + dataDir + " to " + dataDest)
		}
		return nil
	}
	st.Verify = func(context.Context) error {
		if err := look(); err != nil {
			return err
		}
		if hostfs.Exists(root, layout.manifest) {
			return fmt.Errorf("%s is still in place", layout.manifest)
		}
		if hostfs.Exists(root, path.Join(dataDir, "member")) {
			return fmt.Errorf("%s still holds the member's data", dataDir)
		}
		return nil
	}
	return st
}

// awaitOperatorStep is OpenShift 4's way back once the failed member is
// removed and the redeployment forced (seed 001 §5.2.4): cluster-etcd-operator
// adds the new machine's member as a learner, starts and promotes it. day2
// adds none of its own — one with the old machine's URLs would take the single
// learner slot the operator needs — it waits until the cluster has its voting
// members back (voters, as diagnosed), no learner, all healthy.
func awaitOperatorStep(s *Session, old model.EtcdMember, voters int, timeout time.Duration) *Step {
	back := func(ctx context.Context) (bool, string) {
		snap, err := s.pollEtcd(ctx)
		if err != nil {
			return false, err.Error()
		}
		if _, ok := snap.MemberByID(old.ID); ok {
			return false, fmt.Sprintf("the failed member %s is still listed", old.IDHex())
		}
		for _, m := range snap.Members {
			if m.Learner {
				return false, fmt.Sprintf("learner %s (%s) added by the operator, not promoted yet", m.IDHex(), m.DisplayName())
			}
		}
		if snap.Voters() < voters {
			return false, fmt.Sprintf("%d of %d voting members: the operator has not added the new member yet", snap.Voters(), voters)
		}
		if snap.State() != model.QuorumHealthy {
			return false, "the cluster is " + snap.Badge()
		}
		return true, ""
	}
	return &Step{
		ID: "await-operator", Title: "Wait for the etcd operator to add and promote the new member",
		Plan: func(context.Context) (Plan, error) {
			return Plan{
				fmt.Sprintf("read only: wait (up to %s) until cluster-etcd-operator has added the new machine's member as a learner, started and promoted it: %d healthy voting members, no learner", timeout, voters),
				"day2 adds no member itself on OpenShift 4: etcd allows one learner at a time, and the operator needs that slot",
				"while it waits: oc get etcd cluster -o yaml (status conditions), oc get pods -n " + etcdNamespace,
			}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			last := ""
			return waitFor(ctx, timeout, time.Second, func() (bool, string) {
				ok, why := back(ctx)
				if why != last && why != "" {
					progress(why)
					last = why
				}
				return ok, why
			})
		},
		Verify: func(ctx context.Context) error {
			return waitFor(ctx, settleTimeout, 500*time.Millisecond, func() (bool, string) { return back(ctx) })
		},
	}
}

// etcdSecretNames are the removed member's certificates OpenShift 4 keeps
// (seed 001 §5.2.4: peer, serving and metrics secrets).
func etcdSecretNames(node string) []string {
	return []string{"etcd-peer-" + node, "etcd-serving-" + node, "etcd-serving-metrics-" + node}
}

func etcdSecretsStep(s *Session, node string) *Step {
	left := func(ctx context.Context) ([]string, error) {
		var out []string
		for _, n := range etcdSecretNames(node) {
			_, err := s.client.CoreV1().Secrets(etcdNamespace).Get(ctx, n, metav1.GetOptions{})
			switch {
			case err == nil:
				out = append(out, n)
			case !apierrors.IsNotFound(err):
				return nil, fmt.Errorf("secret %s/%s: %w", etcdNamespace, n, err)
			}
		}
		return out, nil
	}
	return &Step{
		ID: "etcd-secrets", Title: "Delete the removed member's etcd secrets",
		Plan: func(ctx context.Context) (Plan, error) {
			plan := Plan{}
			for _, n := range etcdSecretNames(node) {
				plan = append(plan, fmt.Sprintf("DELETE /api/v1/namespaces/%s/secrets/%s   # oc delete secret -n %s %s", etcdNamespace, n, etcdNamespace, n))
			}
			return plan, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			for _, n := range etcdSecretNames(node) {
				err := s.client.CoreV1().Secrets(etcdNamespace).Delete(ctx, n, metav1.DeleteOptions{})
				switch {
				case err == nil:
					progress("deleted " + n)
				case !apierrors.IsNotFound(err):
					return fmt.Errorf("delete secret %s/%s: %w", etcdNamespace, n, err)
				}
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			l, err := left(ctx)
			if err == nil && len(l) > 0 {
				err = fmt.Errorf("still there: %v", l)
			}
			return err
		},
	}
}

// machineStep is seed 001 §5.2.4.1 for a member whose machine stopped or
// whose node is NotReady: delete and recreate its control plane Machine
// (installer-provisioned infrastructure or the Machine API); done with oc,
// confirmed here.
func machineStep(s *Session, node, fault string) *Step {
	var machine string
	return &Step{
		ID: "machine", Title: "Recreate the control plane machine of " + node, Manual: true, Skippable: true,
		Applies: func(context.Context) (bool, string) {
			if fault != model.FaultMachineStopped.String() && fault != model.FaultNodeNotReady.String() {
				return false, "the member is " + fault + ": its machine runs"
			}
			return true, ""
		},
		Check: func(ctx context.Context) error {
			if _, machine = s.machineOf(ctx, node); machine == "" {
				machine = "<machine of " + node + ">"
			}
			return nil
		},
		Plan: func(context.Context) (Plan, error) {
			ns := " -n openshift-machine-api"
			return Plan{
				"manual (skip it when the master is not a Machine; create it the way the masters were created):",
				"  oc get machine " + machine + ns + " -o yaml > new-master-machine.yaml",
				"  edit it: remove status, spec.providerID, metadata.annotations, metadata.generation, metadata.resourceVersion, metadata.uid; give metadata.name the next free number",
				"  oc delete machine " + machine + ns,
				"  oc apply -f new-master-machine.yaml; oc get machines" + ns + " -o wide   # until Running",
			}, nil
		},
	}
}

func etcdRedeployStep(s *Session, reason string) *Step {
	patch := fmt.Sprintf(`{"spec":{"forceRedeploymentReason":%q}}`, reason)
	return &Step{
		ID: "etcd-redeploy", Title: "Force the etcd operator to redeploy",
		Plan: func(context.Context) (Plan, error) {
			return Plan{fmt.Sprintf("PATCH %s (merge) %s   # oc patch etcd cluster -p='%s' --type=merge", etcdOperatorPath, patch, patch)}, nil
		},
		Run: func(ctx context.Context, progress func(string)) error {
			_, err := s.client.Discovery().RESTClient().Patch(types.MergePatchType).AbsPath(etcdOperatorPath).Body([]byte(patch)).DoRaw(ctx)
			if err != nil {
				return fmt.Errorf("PATCH %s: %w", etcdOperatorPath, err)
			}
			return nil
		},
		Verify: func(ctx context.Context) error {
			raw, err := s.client.Discovery().RESTClient().Get().AbsPath(etcdOperatorPath).DoRaw(ctx)
			if err != nil {
				return fmt.Errorf("GET %s: %w", etcdOperatorPath, err)
			}
			var obj struct {
				Spec struct {
					ForceRedeploymentReason string `json:"forceRedeploymentReason"`
				} `json:"spec"`
			}
			if err := json.Unmarshal(raw, &obj); err != nil {
				return err
			}
			if got := obj.Spec.ForceRedeploymentReason; got != reason {
				return fmt.Errorf("forceRedeploymentReason is %q, want %q", got, reason)
			}
			return nil
		},
	}
}
