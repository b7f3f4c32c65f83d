package localcluster

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/day2ops/day2/model"
)

var cluster *Cluster

func TestMain(m *testing.M) {
	os.Exit(Main(m, Options{}, func(c *Cluster) { cluster = c }))
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestSeededLikeSeedExample(t *testing.T) {
	ctx := ctxT(t, 30*time.Second)
	nodes, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]int{}
	for _, n := range nodes.Items {
		r := model.RolesFromLabels(n.Labels)
		if len(r) != 1 {
			t.Errorf("node %s roles %v, want exactly one", n.Name, r)
			continue
		}
		roles[r[0]]++
		if n.Spec.Unschedulable != (r[0] == "master") {
			t.Errorf("node %s unschedulable=%v", n.Name, n.Spec.Unschedulable)
		}
	}
	if roles["master"] != 3 || roles["infra"] != 3 || roles["compute"] != 3 {
		t.Errorf("roles = %v, want 3 master, 3 infra, 3 compute", roles)
	}
	pods, err := cluster.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	infraNodes := map[string]map[string]bool{}
	for _, p := range pods.Items {
		app := p.Labels["app"]
		if infraNodes[app] == nil {
			infraNodes[app] = map[string]bool{}
		}
		infraNodes[app][p.Spec.NodeName] = true
		if !strings.HasPrefix(p.Spec.NodeName, "infra-") {
			t.Errorf("%s runs on %s, want an infra node", p.Name, p.Spec.NodeName)
		}
	}
	for _, app := range []string{"router", "docker-registry"} {
		if len(infraNodes[app]) != 3 {
			t.Errorf("%s spread over %d infra nodes, want 3", app, len(infraNodes[app]))
		}
	}
}

func TestMasterHostRoots(t *testing.T) {
	for i, m := range cluster.Masters {
		data, err := os.ReadFile(filepath.Join(m.Root, EtcdConfPath))
		if err != nil {
			t.Fatal(err)
		}
		env, err := model.ParseEnvFile(data)
		if err != nil {
			t.Fatalf("%s etcd.conf: %v", m.Name, err)
		}
		if env["ETCD_NAME"] != m.Name || env["ETCD_LISTEN_CLIENT_URLS"] != m.ClientURL {
			t.Errorf("%s etcd.conf does not match the running member: %v", m.Name, env)
		}
		if got := strings.Count(env["ETCD_INITIAL_CLUSTER"], "="); got != 3 {
			t.Errorf("ETCD_INITIAL_CLUSTER names %d members, want 3", got)
		}
		_, err = os.Stat(filepath.Join(m.Root, "etc/origin/master/ca.serial.txt"))
		if (err == nil) != (i == 0) {
			t.Errorf("%s: ca.serial.txt present=%v, want only on the first master", m.Name, err == nil)
		}
		if fi, err := os.Stat(filepath.Join(m.Root, "etc/etcd/peer.key")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s peer.key mode: %v %v", m.Name, fi, err)
		}
	}
	// The expiry spread the certificates pane relies on.
	now := time.Now()
	for file, check := range map[string]func(time.Duration) bool{
		"openshift-router.crt":    func(d time.Duration) bool { return d < 0 },
		"registry.crt":            func(d time.Duration) bool { return d > 4*24*time.Hour && d < 7*24*time.Hour },
		"master.proxy-client.crt": func(d time.Duration) bool { return d > 24*24*time.Hour && d < 30*24*time.Hour },
		"master.server.crt":       func(d time.Duration) bool { return d > 300*24*time.Hour },
		"ca.crt":                  func(d time.Duration) bool { return d > 4*365*24*time.Hour },
	} {
		left := certFile(t, filepath.Join(cluster.HostRoot(0), "etc/origin/master", file)).NotAfter.Sub(now)
		if !check(left) {
			t.Errorf("%s expires in %v: outside its intended band", file, left)
		}
	}
}

func certFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func etcdHealth(t *testing.T, i int) error {
	hc, err := tlsClient(tlsFiles{ca: cluster.EtcdCA, cert: cluster.EtcdCert, key: cluster.EtcdKey})
	if err != nil {
		t.Fatal(err)
	}
	defer hc.CloseIdleConnections()
	return etcdHealthy(hc, cluster.Masters[i].ClientURL)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	if err := poll(context.Background(), what, timeout, 100*time.Millisecond, func() (bool, error) { return cond(), nil }); err != nil {
		t.Fatal(err)
	}
}

func TestKilledMemberKeepsAPIServing(t *testing.T) {
	ctx := ctxT(t, 60*time.Second)
	cluster.StopMember(1)
	t.Cleanup(func() { cluster.StartMember(1) })
	if cluster.MemberRunning(1) {
		t.Fatal("member still running after StopMember")
	}
	if etcdHealth(t, 1) == nil {
		t.Fatal("a killed member answered its health check")
	}
	// Held down: the kubelet imitation must not bring it back on its own.
	time.Sleep(5 * kubeletSync)
	if cluster.MemberRunning(1) {
		t.Fatal("kubelet restarted a member the harness holds down")
	}
	// If the killed member was the leader, writes fail until the other two
	// elect a new one (election timeout 1 s); after that they must succeed.
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "quorum-probe", Namespace: "default"}}
	err := poll(ctx, "write with 2 of 3 members", 20*time.Second, 250*time.Millisecond, func() (bool, error) {
		_, err := cluster.Client.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("API must keep serving writes with 2 of 3 members: %v", err)
	}
	cluster.StartMember(1)
	waitFor(t, "member 1 healthy again", 30*time.Second, func() bool { return etcdHealth(t, 1) == nil })
}

func TestStaticPodManifestControlsMember(t *testing.T) {
	root := cluster.HostRoot(2)
	in := filepath.Join(root, EtcdManifest)
	disabled := filepath.Join(root, StaticPodsDir, "disabled")
	if err := os.MkdirAll(disabled, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(disabled, "etcd.yaml")
	if err := os.Rename(in, out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Rename(out, in) })
	waitFor(t, "member 2 stopped after its manifest moved out", 15*time.Second, func() bool { return !cluster.MemberRunning(2) })
	if etcdHealth(t, 2) == nil {
		t.Fatal("member answers with its manifest moved out")
	}
	if err := os.Rename(out, in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member 2 healthy after its manifest came back", 30*time.Second, func() bool { return etcdHealth(t, 2) == nil })
}

func TestEvictedPodIsRecreatedElsewhere(t *testing.T) {
	ctx := ctxT(t, 90*time.Second)
	pods, err := cluster.Client.CoreV1().Pods(AppNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=frontend"})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("frontend pods: %v (%d)", err, len(pods.Items))
	}
	victim := pods.Items[0]
	nodeName := victim.Spec.NodeName
	before := map[string]bool{}
	for _, p := range pods.Items {
		before[p.Name] = true
	}
	// Cordon first, as a drain does, so the replacement must land elsewhere.
	setUnschedulable(t, ctx, nodeName, true)
	t.Cleanup(func() { setUnschedulable(t, context.Background(), nodeName, false) })
	err = cluster.Client.CoreV1().Pods(AppNamespace).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: victim.Name, Namespace: AppNamespace}})
	if err != nil {
		t.Fatalf("evict %s: %v", victim.Name, err)
	}
	waitFor(t, "evicted pod gone", 30*time.Second, func() bool {
		_, err := cluster.Client.CoreV1().Pods(AppNamespace).Get(ctx, victim.Name, metav1.GetOptions{})
		return err != nil
	})
	waitFor(t, "replacement Running on another node", 60*time.Second, func() bool {
		pods, err := cluster.Client.CoreV1().Pods(AppNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=frontend"})
		if err != nil {
			return false
		}
		running, replaced := 0, false
		for _, p := range pods.Items {
			if p.Name == victim.Name {
				return false
			}
			if p.Status.Phase == corev1.PodRunning {
				running++
				if !before[p.Name] {
					if p.Spec.NodeName == nodeName {
						t.Fatalf("replacement %s scheduled on cordoned node %s", p.Name, nodeName)
					}
					replaced = true
				}
			}
		}
		return replaced && running == 3
	})
}

func setUnschedulable(t *testing.T, ctx context.Context, node string, v bool) {
	patch := []byte(`{"spec":{"unschedulable":` + map[bool]string{true: "true", false: "false"}[v] + `}}`)
	if _, err := cluster.Client.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Errorf("cordon %s=%v: %v", node, v, err)
	}
}

func TestWipeMember(t *testing.T) {
	if err := cluster.WipeMember(2); err == nil {
		t.Fatal("wiping a running member must be refused")
	}
	dataDir := filepath.Join(cluster.HostRoot(2), EtcdDataDir)
	saved := dataDir + ".saved"
	cluster.StopMember(2)
	// Keep a copy so the shared cluster gets its member back afterwards.
	if err := os.Rename(dataDir, saved); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dataDir, "member"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := cluster.WipeMember(2); err != nil {
		t.Fatalf("wipe a stopped member: %v", err)
	}
	if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
		t.Fatalf("data dir still there after wipe: %v", err)
	}
	if err := os.Rename(saved, dataDir); err != nil {
		t.Fatal(err)
	}
	cluster.StartMember(2)
	waitFor(t, "member 2 healthy on its restored data", 30*time.Second, func() bool { return etcdHealth(t, 2) == nil })
}

// The kubernetes Service lists the masters whose API server static pod is in
// place, as the API servers' endpoint reconciler would.
func TestAPIEndpointsFollowStaticPods(t *testing.T) {
	ips := func() []string {
		ep, err := cluster.Client.CoreV1().Endpoints("default").Get(context.Background(), "kubernetes", metav1.GetOptions{})
		if err != nil || len(ep.Subsets) == 0 {
			return nil
		}
		var out []string
		for _, a := range ep.Subsets[0].Addresses {
			out = append(out, a.IP)
		}
		return out
	}
	waitFor(t, "three masters listed", 10*time.Second, func() bool { return len(ips()) == 3 })
	in := filepath.Join(cluster.HostRoot(1), APIServerManifest)
	out := in + ".off"
	if err := os.Rename(in, out); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Rename(out, in) })
	waitFor(t, "master-1 dropped", 10*time.Second, func() bool {
		got := ips()
		return len(got) == 2 && !strings.Contains(strings.Join(got, ","), cluster.Masters[1].IP)
	})
	if err := os.Rename(out, in); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "master-1 back", 10*time.Second, func() bool { return len(ips()) == 3 })
}
