package ops

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// liveSnapshots runs the session until its node snapshot has synced and
// takes etcd's state once it is healthy, as the console holds them.
func liveSnapshots(t *testing.T, s *Session) model.HealthSnapshots {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodes := make(chan model.Nodes, 1)
	s.Run(ctx, func(v any) {
		if n, ok := v.(model.Nodes); ok && n.Synced {
			select {
			case nodes <- n:
			default:
			}
		}
	})
	var snaps model.HealthSnapshots
	select {
	case snaps.Nodes = <-nodes:
	case <-time.After(30 * time.Second):
		t.Fatal("nodes never synced")
	}
	snaps.Etcd = waitHealthy(t, s)
	return snaps
}

func checks(r model.HealthReport) map[string]model.HealthCheck {
	out := map[string]model.HealthCheck{}
	for _, c := range r.Checks {
		out[c.ID] = c
	}
	return out
}

// expect asserts a check's level and that its detail names want.
func expect(t *testing.T, cs map[string]model.HealthCheck, id string, level model.HealthLevel, want string) {
	t.Helper()
	c, ok := cs[id]
	if !ok {
		t.Errorf("no %s check", id)
		return
	}
	if c.Level != level || !strings.Contains(c.Detail, want) {
		t.Errorf("%s: %s %q, want %s with %q", id, c.Level, c.Detail, level, want)
	}
}

// On master-0 of the local cluster (the demo's host): the API answers, the
// controller manager and scheduler lead, there is no StorageClass, the
// seeded wrong-CN CSR is pending, a seeded certificate has expired, and
// the host has low entropy and no sign of NTP.
func TestHealthOnMaster(t *testing.T) {
	s := session(t)
	ctx := context.Background()
	snaps := liveSnapshots(t, s)
	snaps.Certs = s.Certificates(ctx)
	r := s.Health(ctx, snaps)
	cs := checks(r)

	expect(t, cs, "nodes-ready", model.HealthPass, "Ready")
	expect(t, cs, "etcd", model.HealthPass, "healthy")
	expect(t, cs, "api-healthz", model.HealthPass, "ok")
	expect(t, cs, "api-readyz", model.HealthPass, "ok")
	expect(t, cs, "controllers-leader", model.HealthPass, "lease kube-system/kube-controller-manager")
	expect(t, cs, "scheduler-leader", model.HealthPass, "lease kube-system/kube-scheduler")
	expect(t, cs, "default-storageclass", model.HealthWarn, "no StorageClass defined")
	expect(t, cs, "pending-csrs", model.HealthFail, "do not approve "+localcluster.WrongCNCSR)
	expect(t, cs, "cert-expiry", model.HealthFail, "soonest /etc/origin/master/openshift-router.crt")
	// master-0 has no NTP: its (simulated) timedatectl says so.
	expect(t, cs, "ntp", model.HealthFail, "timedatectl: NTP synchronized: no")
	expect(t, cs, "entropy", model.HealthWarn, "912 available")
	if c := cs["var-space"]; c.Level == model.HealthUnknown || !strings.Contains(c.Detail, "on /var; a master needs 40.0 GiB") {
		t.Errorf("var-space: %s %q", c.Level, c.Detail)
	}
	// Not passed in, so read: the local cluster's Deployments in default
	// (earlier tests may have moved replicas, so only that they were read).
	for _, id := range []string{"router", "registry"} {
		if c := cs[id]; c.Level == model.HealthUnknown || !strings.Contains(c.Detail, "Deployment default/") {
			t.Errorf("%s: %s %q", id, c.Level, c.Detail)
		}
	}
	// OpenShift 4's operators, where the cluster serves them: read, not unknown.
	if c, ok := cs["cluster-operators"]; ok && c.Level == model.HealthUnknown {
		t.Errorf("cluster-operators: %q", c.Detail)
	}
	for _, c := range r.Checks {
		if c.Seed == "" || c.Title == "" || c.Scope == "" {
			t.Errorf("check without seed, title or scope: %+v", c)
		}
	}
	if cs["ntp"].Scope != model.ScopeHost || cs["etcd"].Scope != model.ScopeCluster {
		t.Error("scopes")
	}
}

// The host checks read each master's own files.
func TestHealthHostChecksPerMaster(t *testing.T) {
	for i, want := range []struct {
		ntp, entropy model.HealthLevel
	}{{model.HealthFail, model.HealthWarn}, {model.HealthPass, model.HealthPass}, {model.HealthPass, model.HealthFail}} {
		s, err := NewSession(SessionOptions{
			Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
			HostRoot:   cluster.HostRoot(i), Getenv: func(string) string { return "" },
		})
		if err != nil {
			t.Fatal(err)
		}
		r := s.Health(context.Background(), model.HealthSnapshots{})
		cs := checks(r)
		expect(t, cs, "ntp", want.ntp, "")
		expect(t, cs, "entropy", want.entropy, strconv.Itoa(localcluster.DemoEntropy[i]))
		if r.HostRoot != cluster.HostRoot(i) {
			t.Errorf("report's host root %q", r.HostRoot)
		}
		// Nothing passed in: those checks say so.
		expect(t, cs, "nodes-ready", model.HealthUnknown, "not listed yet")
		expect(t, cs, "etcd", model.HealthUnknown, "not polled yet")
		expect(t, cs, "cert-expiry", model.HealthUnknown, "not scanned yet")
	}
}

// kubeconfigAs writes master-0's admin kubeconfig impersonating user.
func kubeconfigAs(t *testing.T, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cfg.AuthInfos {
		a.Impersonate = user
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A user without rights: the public health endpoints pass, every check
// that needs a read is unknown with the reason; nothing is guessed.
func TestHealthForbidden(t *testing.T) {
	s, err := NewSession(SessionOptions{Kubeconfig: kubeconfigAs(t, "day2-nobody"), HostRoot: cluster.HostRoot(1), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cs := checks(s.Health(context.Background(), model.HealthSnapshots{}))
	expect(t, cs, "api-healthz", model.HealthPass, "ok")
	expect(t, cs, "controllers-leader", model.HealthUnknown, "forbidden")
	expect(t, cs, "default-storageclass", model.HealthUnknown, "forbidden")
	expect(t, cs, "pending-csrs", model.HealthUnknown, "forbidden")
	expect(t, cs, "router", model.HealthUnknown, "forbidden")
	expect(t, cs, "entropy", model.HealthPass, "2683")
}

// blackHole accepts connections and never answers, like an API server
// behind a dead load balancer.
func blackHole(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// An API server that never answers makes its checks unknown, each with its
// reason, and the run ends instead of hanging.
func TestHealthNeverHangs(t *testing.T) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["dead"] = &clientcmdapi.Cluster{Server: "https://" + blackHole(t), InsecureSkipTLSVerify: true}
	cfg.AuthInfos["dead"] = &clientcmdapi.AuthInfo{Token: "x"}
	cfg.Contexts["dead"] = &clientcmdapi.Context{Cluster: "dead", AuthInfo: "dead"}
	cfg.CurrentContext = "dead"
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, kc); err != nil {
		t.Fatal(err)
	}
	s, err := NewSession(SessionOptions{Kubeconfig: kc, HostRoot: t.TempDir(), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan model.HealthReport, 1)
	go func() { done <- s.Health(context.Background(), model.HealthSnapshots{}) }()
	var r model.HealthReport
	select {
	case r = <-done:
	case <-time.After(4 * HealthProbeTimeout):
		t.Fatal("Health hung on an API server that does not answer")
	}
	cs := checks(r)
	for _, id := range []string{"api-healthz", "api-readyz", "controllers-leader", "default-storageclass", "pending-csrs", "cluster-operators", "router", "registry"} {
		c, ok := cs[id]
		if !ok || c.Level != model.HealthUnknown || c.Detail == "" {
			t.Errorf("%s: %+v", id, c)
		}
	}
	// An empty host root: nothing to read, said so.
	expect(t, cs, "entropy", model.HealthUnknown, "entropy_avail")
	expect(t, cs, "var-space", model.HealthUnknown, "statfs")
	expect(t, cs, "ntp", model.HealthWarn, "no /run/systemd/timesync/synchronized")
}
