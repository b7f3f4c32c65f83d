package ops

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/day2ops/day2/internal/etcd"
	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/hostssh"
	"github.com/day2ops/day2/internal/journal"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// kwokManaged is the annotation kwok plays a node by: without it nothing
// renews the node's status, as with a host that is powered off.
const kwokManaged = "kwok.x-k8s.io/node"

// setPower imitates a host going down (its Node NotReady: Ready Unknown,
// nobody posting status) or coming up (kwok plays it again and marks it
// Ready), and waits until the Node shows it.
func setPower(t *testing.T, name string, on bool) {
	t.Helper()
	if err := power(name, on); err != nil {
		t.Fatal(err)
	}
}

func power(name string, on bool) error {
	ctx := context.Background()
	nodes := cluster.Client.CoreV1().Nodes()
	err := waitFor(ctx, 30*time.Second, 300*time.Millisecond, func() (bool, string) {
		n, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		_, played := n.Annotations[kwokManaged]
		switch {
		case on && played:
			return ready, "not Ready yet"
		case on:
			n.Annotations[kwokManaged] = "fake"
			_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
			return false, fmt.Sprint("power on: ", err)
		case played:
			delete(n.Annotations, kwokManaged)
			_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
			return false, fmt.Sprint("power off: ", err)
		case ready:
			// kwok may have marked it Ready once more before it let go.
			for i := range n.Status.Conditions {
				if n.Status.Conditions[i].Type == corev1.NodeReady {
					n.Status.Conditions[i].Status, n.Status.Conditions[i].Reason = corev1.ConditionUnknown, "NodeStatusUnknown"
					n.Status.Conditions[i].Message = "Kubelet stopped posting node status."
				}
			}
			_, err = nodes.UpdateStatus(ctx, n, metav1.UpdateOptions{})
			return false, fmt.Sprint("still Ready: ", err)
		}
		return true, ""
	})
	if err != nil {
		return fmt.Errorf("power %s on=%v: %w", name, on, err)
	}
	return nil
}

func allNodeNames() []string {
	out := slices.Concat(cluster.Infra, cluster.Workers)
	for _, m := range cluster.Masters {
		out = append(out, m.Name)
	}
	return out
}

// signer creates the OpenShift 4 kube-apiserver-to-kubelet signer secret
// the way the kube-apiserver operator writes it, expiring at notAfter.
func signer(t *testing.T, notAfter time.Time) {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: kubeletSignerNamespace}}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: kubeletSignerNamespace, Name: kubeletSignerName, Annotations: map[string]string{
			model.CertNotAfterAnnotation:               notAfter.UTC().Format(time.RFC3339),
			"auth.openshift.io/certificate-not-before": notAfter.Add(-365 * 24 * time.Hour).UTC().Format(time.RFC3339),
			"auth.openshift.io/certificate-issuer":     "kube-apiserver-to-kubelet-signer",
		}},
		Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: nil, corev1.TLSPrivateKeyKey: nil},
	}
	if _, err := cluster.Client.CoreV1().Secrets(kubeletSignerNamespace).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Secrets(kubeletSignerNamespace).Delete(ctx, kubeletSignerName, metav1.DeleteOptions{})
	})
}

// journaledSession is a console on master-0 with a journal of its own, so
// cluster-restart finds the shutdown's run in it; access and inventory
// reach the other hosts (nil and "": this host only, --no-ssh).
func journaledSession(t *testing.T, access HostAccess, inventory string) (*Session, *journal.Journal) {
	t.Helper()
	dir := t.TempDir()
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(0), Getenv: func(string) string { return "" }, JournalDir: dir, User: "lifecycle-test",
		HostAccess: access, Inventory: inventory,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.poller.Close)
	j, err := journal.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, j
}

// lifecycleOp proceeds at every prompt, calling the step's hook first (the
// operator's hands for manual steps); a step that waits for the cluster to
// settle is retried a few times, any other problem aborts.
type lifecycleOp struct {
	scripted
	hooks   map[string]func(Prompt)
	retries int
}

func (o *lifecycleOp) Ask(ctx context.Context, p Prompt) (Answer, error) {
	o.prompts = append(o.prompts, p)
	if p.Problem != "" {
		if (p.Step.ID == "verify" || strings.HasPrefix(p.Step.ID, "ready-")) && o.retries < 10 {
			o.retries++
			time.Sleep(2 * time.Second)
			return Answer{Decision: Retry}, nil
		}
		return Answer{Decision: Abort}, nil
	}
	if h := o.hooks[p.Step.ID]; h != nil {
		h(p)
	}
	return Answer{Decision: Proceed, Typed: p.Step.Confirm}, nil
}

// The signer expires in two days: a shutdown expected to last three is
// refused before anything happens, with the date in the plan; so is one
// while a ClusterOperator is Progressing.
func TestClusterShutdownRefusedPastTheSigner(t *testing.T) {
	notAfter := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	signer(t, notAfter)
	s, j := journaledSession(t, nil, "")
	p, err := s.Procedure("cluster-shutdown", map[string]string{"expected-downtime": "72h", "backup-dir": "/backup/etcd-refused"})
	if err != nil {
		t.Fatal(err)
	}
	op := &lifecycleOp{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: j}); err == nil {
		t.Fatal("a shutdown outlasting the signer ran")
	}
	step, problem := lastProblem(op.prompts)
	if step != "preflight" || !strings.Contains(problem, "refused: an expected downtime of 72h0m0s outlasts "+notAfter.UTC().Format(time.RFC3339)+" (secret openshift-kube-apiserver-operator/kube-apiserver-to-kubelet-signer)") {
		t.Fatalf("want the preflight refused for the signer: %s: %s", step, problem)
	}
	if !strings.Contains(problem, "kube-apiserver Progressing") {
		t.Errorf("the seeded kube-apiserver rollout must refuse it too: %s", problem)
	}
	plan := strings.Join(op.prompts[len(op.prompts)-1].Plan, "\n")
	if !strings.Contains(plan, "restart the cluster before "+notAfter.UTC().Format(time.RFC3339)) {
		t.Errorf("the plan must show the date:\n%s", plan)
	}
	for _, n := range allNodeNames() {
		if slices.Contains(cluster.Workers, n) && unschedulable(t, n) {
			t.Errorf("%s cordoned by a refused shutdown", n)
		}
	}
	if backups, _ := s.EtcdBackups("/backup/etcd-refused"); len(backups) > 0 {
		t.Errorf("a refused shutdown took a backup: %v", backups)
	}
}

// A dry run shows every step's plan — the date, each cordon, each host's
// command, wave by wave — and changes nothing: no node cordoned, no backup.
func TestClusterShutdownDryRun(t *testing.T) {
	settle(t, cluster)
	notAfter := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	signer(t, notAfter)
	s, j := journaledSession(t, nil, "")
	p, err := s.Procedure("cluster-shutdown", map[string]string{"expected-downtime": "24h", "backup-dir": "/backup/etcd-dry"})
	if err != nil {
		t.Fatal(err)
	}
	op := &lifecycleOp{}
	if err := Run(context.Background(), p, op, RunOptions{Journal: j, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	plans := map[string]string{}
	for _, e := range op.events {
		if e.State == StatePlanned {
			if e.Message != "" {
				t.Errorf("%s blocked in the dry run: %s", e.Step, e.Message)
			}
			plans[e.Step] = strings.Join(e.Plan, "\n")
		}
	}
	for step, want := range map[string][]string{
		"preflight":        {"restart the cluster before " + notAfter.UTC().Format(time.RFC3339), "expected downtime 24h0m0s: back by"},
		"etcd-backup":      {"take a fresh etcd backup in /backup/etcd-dry"},
		"cordon":           {"PATCH /api/v1/nodes/" + cluster.Workers[0] + " {\"spec\":{\"unschedulable\":true}}", "already cordoned, left as they are"},
		"shutdown-workers": {"on " + cluster.Workers[0] + ": shutdown -h 1"},
		"shutdown-infra":   {"on " + cluster.Infra[0] + ": shutdown -h 1"},
		"shutdown-masters": {"on " + cluster.Masters[0].Name + ": shutdown -h 1", "the API goes down with the masters"},
	} {
		for _, w := range want {
			if !strings.Contains(plans[step], w) {
				t.Errorf("%s plan lacks %q:\n%s", step, w, plans[step])
			}
		}
	}
	for _, n := range slices.Concat(cluster.Workers, cluster.Infra) {
		if unschedulable(t, n) {
			t.Errorf("the dry run cordoned %s", n)
		}
	}
	if backups, _ := s.EtcdBackups("/backup/etcd-dry"); len(backups) > 0 {
		t.Errorf("the dry run took a backup: %v", backups)
	}
}

// lifecycleRun is one shutdown-and-restart test's cluster set-up: the
// ClusterOperators settled, a signer 30 days out, infra-2 cordoned by an
// administrator beforehand; all undone at the end.
type lifecycleRun struct {
	begin    time.Time
	s        *Session
	j        *journal.Journal
	masters  []string
	setAside string
}

func newLifecycleRun(t *testing.T, s *Session, j *journal.Journal) *lifecycleRun {
	t.Helper()
	ctx := context.Background()
	r := &lifecycleRun{begin: time.Now(), s: s, j: j, setAside: cluster.Infra[2]}
	for _, m := range cluster.Masters {
		r.masters = append(r.masters, m.Name)
	}
	settle(t, cluster)
	if err := cluster.SetOperatorCondition(ctx, "ingress", "Degraded", false, "", ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cluster.SetOperatorCondition(ctx, "ingress", "Degraded", true, "IngressControllersDegraded",
			"The \"default\" ingress controller reports Degraded=True: DeploymentReplicasNotAvailable: 1/2 of replicas are available"); err != nil {
			t.Error(err)
		}
	})
	signer(t, time.Now().Add(30*24*time.Hour))
	if err := newDrainer(s).Cordon(ctx, r.setAside, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, h := range cluster.SSHHosts() {
			if err := cluster.PowerOn(ctx, h.Name); err != nil {
				t.Error(err)
			}
		}
		for _, n := range allNodeNames() {
			if err := power(n, true); err != nil {
				t.Error(err)
			}
		}
		for _, n := range slices.Concat(cluster.Infra, cluster.Workers) {
			_ = newDrainer(s).Cordon(ctx, n, false)
		}
	})
	return r
}

// shutdown runs cluster-shutdown with op and checks what it did: a fresh
// verified backup; every node cordoned, the ones cordoned before (the
// masters, the node set aside) recorded as such; its steps journaled in
// the guide's order.
func (r *lifecycleRun) shutdown(t *testing.T, op *lifecycleOp) {
	t.Helper()
	p, err := r.s.Procedure("cluster-shutdown", map[string]string{"expected-downtime": "24h", "backup-dir": "/backup/etcd-shutdown", "timeout": "90s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), p, op, RunOptions{Journal: r.j}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("shutdown: %v (%s: %s)", err, step, problem)
	}
	t.Logf("shutdown done in %s", time.Since(r.begin).Round(time.Second))
	runs, err := r.j.Runs()
	if err != nil || len(runs) != 1 || !runs[0].Finished || runs[0].Outcome != model.OutcomeOK {
		t.Fatalf("journal: %+v %v", runs, err)
	}
	recs, err := journal.ReadRun(runs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	var started []string
	for _, rec := range recs {
		if rec.Event == model.EventStepStart {
			started = append(started, rec.Step)
		}
	}
	if want := []string{"preflight", "etcd-backup", "cordon", "shutdown-workers", "shutdown-infra", "shutdown-masters"}; !slices.Equal(started, want) {
		t.Errorf("journal order %v, want %v", started, want)
	}
	state := NewRunState()
	state.restore(runs[0].State)
	cordoned, _ := cordonedKey.Get(state)
	already, _ := alreadyCordonedKey.Get(state)
	wantCordoned := slices.Concat(cluster.Workers, []string{cluster.Infra[0], cluster.Infra[1]})
	slices.Sort(wantCordoned)
	slices.Sort(cordoned)
	if !slices.Equal(cordoned, wantCordoned) {
		t.Errorf("cordoned by the shutdown: %v, want %v", cordoned, wantCordoned)
	}
	slices.Sort(already)
	if want := append([]string{r.setAside}, r.masters...); !slices.Equal(already, want) {
		t.Errorf("cordoned already: %v, want %v", already, want)
	}
	backup, _ := backupSetKey.Get(state)
	m, err := etcdManifest(cluster.HostRoot(0), "/backup/etcd-shutdown", backup)
	if err != nil || m.TakenAt.Before(r.begin.Add(-time.Second)) || len(m.SHA256) != 64 {
		t.Errorf("the shutdown's fresh backup %+v: %+v %v", backup, m, err)
	}
}

// Shut the cluster down and start it again (seed 001 ch. 2, 3), the host
// steps manual: the test's operator powers each wave off when asked, and
// the step goes on only once its nodes are NotReady; then the restart
// (lifecycleRun.restart).
func TestClusterShutdownAndRestartManual(t *testing.T) {
	s, j := journaledSession(t, nil, "")
	r := newLifecycleRun(t, s, j)
	var waves []string
	down := func(role string, nodes []string) func(Prompt) {
		return func(p Prompt) {
			if !p.Step.Manual {
				t.Errorf("%s: without host access the step is manual", p.Step.ID)
			}
			plan := strings.Join(p.Plan, "\n")
			for _, n := range nodes {
				if !strings.Contains(plan, "on "+n+": shutdown -h 1") {
					t.Errorf("%s: no command for %s:\n%s", p.Step.ID, n, plan)
				}
			}
			waves = append(waves, role)
			for _, n := range nodes {
				setPower(t, n, false)
			}
		}
	}
	r.shutdown(t, &lifecycleOp{hooks: map[string]func(Prompt){
		"shutdown-workers": down("workers", cluster.Workers),
		"shutdown-infra":   down("infra", cluster.Infra),
		"shutdown-masters": down("masters", r.masters),
	}})
	if !slices.Equal(waves, []string{"workers", "infra", "masters"}) {
		t.Errorf("waves %v", waves)
	}
	for _, n := range allNodeNames() {
		if !unschedulable(t, n) {
			t.Errorf("%s schedulable after the shutdown", n)
		}
	}
	r.restart(t, func() {
		for _, n := range allNodeNames() {
			setPower(t, n, true)
		}
	})
}

// The same over SSH: day2 runs `shutdown -h 1` on each host through the
// local cluster's sshd (its simulated systemd records the request; the
// test lets the minute pass at once), workers, infra, then masters — whose
// etcd members stop with them, taking the API down, which counts as down.
// The operator powers the hosts on for the restart.
func TestClusterShutdownAndRestartOverSSH(t *testing.T) {
	pool, err := hostssh.New(hostssh.Config{KeyFiles: []string{cluster.SSHKeyPath()}, ConfigFile: cluster.SSHConfigPath(),
		KnownHosts: []string{cluster.SSHKnownHostsPath()}, AgentSocket: "none", Home: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	s, j := journaledSession(t, pool, cluster.InventoryPath())
	r := newLifecycleRun(t, s, j)

	// The machines: each carries out its shutdown as soon as it is asked
	// (the test does not wait the minute), recording who asked when.
	ctx, cancel := context.WithCancel(context.Background())
	var order []string
	requests := map[string]localcluster.ShutdownRequest{}
	machines := make(chan error, 1)
	go func() {
		defer close(machines)
		for ctx.Err() == nil {
			for _, h := range cluster.SSHHosts() {
				req, ok := cluster.ShutdownRequested(h.Name)
				if !ok || cluster.PoweredOff(h.Name) {
					continue
				}
				order, requests[h.Name] = append(order, h.Name), req
				// Once etcd has lost its quorum the Node cannot be marked
				// any more: the machine is off all the same.
				pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
				err := cluster.PowerOff(pctx, h.Name)
				pcancel()
				if err != nil && !cluster.PoweredOff(h.Name) {
					machines <- err
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	var plans []string
	keep := func(p Prompt) {
		if p.Step.Manual || p.Step.Confirm == "" {
			t.Errorf("%s: with host access day2 runs the command, on the wave's typed name", p.Step.ID)
		}
		plans = append(plans, strings.Join(p.Plan, "\n"))
	}
	r.shutdown(t, &lifecycleOp{hooks: map[string]func(Prompt){"shutdown-workers": keep, "shutdown-infra": keep, "shutdown-masters": keep}})
	cancel()
	if err := <-machines; err != nil {
		t.Fatal(err)
	}
	want := slices.Concat(cluster.Workers, cluster.Infra, r.masters)
	if len(order) != len(want) {
		t.Fatalf("hosts shut down: %v, want %v", order, want)
	}
	for i, n := range order {
		if wave := func(n string) int { return slices.Index(want, n) / 3 }; wave(n) != wave(want[i]) {
			t.Errorf("hosts shut down in the order %v, want the waves of %v", order, want)
			break
		}
		if req := requests[n]; req.Action != "poweroff" || time.Until(req.Due) > time.Minute || time.Until(req.Due) < 30*time.Second {
			t.Errorf("%s: want a poweroff a minute out (shutdown -h 1): %+v", n, req)
		}
	}
	if len(plans) != 3 || !strings.Contains(plans[0], "on "+cluster.Workers[0]+" (node "+cluster.Workers[0]+", ssh ") || !strings.Contains(plans[2], "shutdown -h 1") {
		t.Errorf("plans of the waves:\n%s", strings.Join(plans, "\n--\n"))
	}
	r.restart(t, func() {
		// The masters first, together: etcd needs two members for quorum
		// before the API answers.
		var wg sync.WaitGroup
		for _, m := range r.masters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := cluster.PowerOn(context.Background(), m); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for _, n := range slices.Concat(cluster.Infra, cluster.Workers) {
			if err := cluster.PowerOn(context.Background(), n); err != nil {
				t.Error(err)
			}
		}
	})
}

// On an OpenShift 3.11 master the deadline is the soonest expiry among the
// certificates the cluster starts with: the local master's proxy client
// certificate (25 days), not the router's expired serving certificate
// beside it nor the registry's (5 days).
func TestHostRestartDeadline(t *testing.T) {
	d, err := hostRestartDeadline(hostfs.New(cluster.HostRoot(0)))
	if err != nil {
		t.Fatal(err)
	}
	left := time.Until(d.NotAfter)
	if !strings.Contains(d.Source, "/etc/origin/master/master.proxy-client.crt") || left < 24*24*time.Hour || left > 26*24*time.Hour {
		t.Fatalf("deadline %s, %s left", d, left)
	}
	if err := d.CheckDowntime(time.Now(), 30*24*time.Hour); err == nil || !strings.Contains(err.Error(), "master.proxy-client.crt") {
		t.Errorf("30 days down must be refused: %v", err)
	}
	if err := d.CheckDowntime(time.Now(), 7*24*time.Hour); err != nil {
		t.Errorf("a week down is fine: %v", err)
	}
}

// restart runs cluster-restart after the shutdown in the run's journal,
// powerOn being the operator's hands at the power-on step: master-1 stays
// NotReady until its client CSR is approved — shown with an INVALID one
// beside it, only the valid one approved, then its serving CSR that follows
// — and the restart uncordons exactly what the shutdown cordoned, and
// verifies.
func (r *lifecycleRun) restart(t *testing.T, powerOn func()) {
	t.Helper()
	ctx := context.Background()
	s, j, begin, masters, setAside := r.s, r.j, r.begin, r.masters, r.setAside
	master := cluster.Masters[1].Name
	client, serving, bad := "csr-restart-client-"+master, "csr-restart-serving-"+master, "csr-restart-bad-"+master
	t.Cleanup(func() {
		for _, n := range []string{client, serving, bad} {
			_ = cluster.Client.CertificatesV1().CertificateSigningRequests().Delete(ctx, n, metav1.DeleteOptions{})
		}
	})
	ips := []string{cluster.Masters[1].IP}
	kctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	// master-1's kubelet: Ready once its client certificate is approved,
	// then asks for its serving one.
	kubelet := make(chan error, 1)
	go func() {
		for kctx.Err() == nil {
			if c, err := cluster.Client.CertificatesV1().CertificateSigningRequests().Get(kctx, client, metav1.GetOptions{}); err == nil && len(c.Status.Certificate) > 0 {
				err := cluster.CreateNodeCSR(kctx, localcluster.NodeCSR{Name: serving, Node: master, Serving: true, IPs: ips, DNSNames: []string{master}})
				if err == nil {
					err = power(master, true)
				}
				kubelet <- err
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		kubelet <- kctx.Err()
	}()
	var approvePlan, followPlan string
	op := &lifecycleOp{hooks: map[string]func(Prompt){
		"power-on": func(Prompt) {
			powerOn()
			// master-1's host runs, but its kubelet posts no status
			// until its client certificate is approved.
			setPower(t, master, false)
			for _, req := range []localcluster.NodeCSR{
				{Name: client, Node: master},
				{Name: bad, Node: master, Serving: true, IPs: []string{"198.51.100.7"}, DNSNames: []string{master}},
			} {
				if err := cluster.CreateNodeCSR(ctx, req); err != nil {
					t.Fatal(err)
				}
			}
		},
		"masters-approve-valid-csrs": func(p Prompt) { approvePlan = strings.Join(p.Plan, "\n") },
		"masters-csr-follow-ups-1":   func(p Prompt) { followPlan = strings.Join(p.Plan, "\n") },
	}}
	p, err := s.Procedure("cluster-restart", map[string]string{"timeout": "60s", "watch": "10s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := Run(ctx, p, op, RunOptions{Journal: j}); err != nil {
		step, problem := lastProblem(op.prompts)
		t.Fatalf("restart: %v (%s: %s)", err, step, problem)
	}
	if err := <-kubelet; err != nil {
		t.Fatal(err)
	}
	t.Logf("shutdown and restart done in %s", time.Since(begin).Round(time.Second))
	if !strings.Contains(approvePlan, "csr "+client+": ") || !strings.Contains(approvePlan, "csr "+bad+": ") ||
		!strings.Contains(approvePlan, "verdict INVALID") || !strings.Contains(approvePlan, "not approved: INVALID requests never are") {
		t.Errorf("the masters' approval plan:\n%s", approvePlan)
	}
	if strings.Contains(approvePlan, localcluster.ValidCSR) {
		t.Errorf("a Ready worker's request is not the masters' business:\n%s", approvePlan)
	}
	if !strings.Contains(followPlan, "csr "+serving+": ") {
		t.Errorf("the serving request that followed was not shown:\n%s", followPlan)
	}
	for _, n := range []string{client, serving} {
		if c := getCSR(t, n); len(c.Status.Certificate) == 0 {
			t.Errorf("csr %s not approved and issued: %+v", n, c.Status.Conditions)
		}
	}
	wantPending(t, bad)
	for _, n := range allNodeNames() {
		want := n == setAside || slices.Contains(masters, n)
		if got := unschedulable(t, n); got != want {
			t.Errorf("%s unschedulable=%v after the restart, want %v", n, got, want)
		}
	}
	runs, err := j.Runs()
	if err != nil || len(runs) != 2 || runs[0].Procedure != "cluster-restart" {
		t.Fatalf("journal: %+v %v", runs, err)
	}
	for id, want := range map[string]model.Outcome{
		"power-on": model.OutcomeOK, "masters-approve-valid-csrs": model.OutcomeOK, "masters-csr-follow-ups-1": model.OutcomeOK,
		"ready-masters": model.OutcomeOK, "workers-approve-valid-csrs": model.OutcomeSkipped, "uncordon": model.OutcomeOK, "verify": model.OutcomeOK,
	} {
		if got := stepOutcome(t, runs[0], id); got != want {
			t.Errorf("restart step %s: %s, want %s", id, got, want)
		}
	}
}

// etcdManifest reads the manifest of a backup set in dir under root.
func etcdManifest(root, dir string, set model.BackupSet) (model.SnapshotManifest, error) {
	return etcd.ReadManifest(filepath.Join(root, dir, set.Manifest))
}

// On 3.11 the restart deadline is the soonest among every host's
// certificates, read over SSH: a node whose kubelet client certificate
// expires in 10 days sets it, ahead of the masters' 25 days; a host whose
// sshd is down is named as not read; without host access the plan says the
// other hosts were not read.
func TestRestartDeadlineReadsEveryHost(t *testing.T) {
	node, down := cluster.Workers[1], cluster.Workers[2]
	dir := filepath.Join(sshRoot(t, node), "etc/origin/node/certificates")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(dir, "kubelet-client-current.pem")
	if err := os.WriteFile(cert, kubeletClientPEM(t, node, time.Now().Add(10*24*time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(cert) })
	if err := cluster.StopSSHD(down); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cluster.StartSSHD(down) })
	ctx := context.Background()

	// The 3.11 reading itself: the shared cluster serves ClusterOperators,
	// which restartDeadline takes for OpenShift 4.
	d, notes, err := sshSession(t).hostsRestartDeadline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	left := time.Until(d.NotAfter)
	if d.Source != node+"'s /etc/origin/node/certificates/kubelet-client-current.pem (system:node:"+node+")" || left < 9*24*time.Hour || left > 10*24*time.Hour {
		t.Errorf("deadline %s, %s left", d, left)
	}
	if len(notes) != 1 || !strings.HasPrefix(notes[0], down+": certificates not read: ") {
		t.Errorf("notes: %q", notes)
	}

	d, notes, err = session(t).hostsRestartDeadline(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Source, "this host's /etc/origin/master/master.proxy-client.crt") || len(notes) != 1 || !strings.Contains(notes[0], "not read (no host access)") {
		t.Errorf("without host access: %s %q", d, notes)
	}
}
