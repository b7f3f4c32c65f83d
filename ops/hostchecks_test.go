package ops

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/day2ops/day2/internal/hostfs"
	"github.com/day2ops/day2/internal/localcluster"
	"github.com/day2ops/day2/model"
)

// The fan-out over the local cluster's master roots plus a host that
// refuses and one that never answers: bounded parallelism, every host
// reported, the refused one at once, the silent one at the timeout, and
// neither holds the masters' rows up.
func TestCheckHostsFanOut(t *testing.T) {
	var hosts []model.Host
	for _, m := range cluster.Masters {
		hosts = append(hosts, model.Host{Name: m.Name, Groups: []string{"masters", "nodes"}, Node: m.Name})
	}
	hosts = append(hosts, model.Host{Name: "refused.example.com", Groups: []string{"nodes"}}, model.Host{Name: "silent.example.com", Groups: []string{"nodes"}})
	roots := map[string]string{}
	for i, m := range cluster.Masters {
		roots[m.Name] = cluster.HostRoot(i)
	}
	var running, most atomic.Int32
	release := make(chan struct{})
	open := func(ctx context.Context, h model.Host) (hostfs.Host, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		switch h.Name {
		case "refused.example.com":
			return nil, errors.New("ssh: dial tcp 127.0.0.1:2222: connect: connection refused")
		case "silent.example.com":
			<-release // ignores ctx, as a hung handshake can
			return nil, errors.New("released")
		}
		time.Sleep(50 * time.Millisecond) // let the others overlap
		return hostfs.New(roots[h.Name]), nil
	}
	defer close(release)
	const timeout = 2 * time.Second
	start := time.Now()
	var mu sync.Mutex
	var order []string
	at := map[string]time.Duration{}
	got := map[string]model.HostReport{}
	CheckHosts(context.Background(), hosts, open, HostCheckOptions{Parallel: 2, Timeout: timeout}, func(r model.HostReport) {
		mu.Lock()
		defer mu.Unlock()
		order = append(order, r.Host.Name)
		at[r.Host.Name] = time.Since(start)
		got[r.Host.Name] = r
	})
	if len(got) != len(hosts) {
		t.Fatalf("%d reports for %d hosts: %v", len(got), len(hosts), order)
	}
	if most.Load() > 2 {
		t.Errorf("%d hosts opened at once, at most 2 allowed", most.Load())
	}
	if order[len(order)-1] != "silent.example.com" {
		t.Errorf("the silent host held others up: order %v", order)
	}
	if r := got["refused.example.com"]; r.Reached || !strings.Contains(r.Err, "connection refused") || r.Worst() != model.HealthFail {
		t.Errorf("refused host %+v", r)
	}
	if r := got["silent.example.com"]; r.Reached || r.Err != "no answer within 2s" || at[r.Host.Name] < timeout || at[r.Host.Name] > timeout+time.Second {
		t.Errorf("silent host %+v after %s", r, at[r.Host.Name])
	}
	for i, m := range cluster.Masters {
		r := got[m.Name]
		if !r.Reached || r.Err != "" || r.Where != "under "+cluster.HostRoot(i) {
			t.Fatalf("%s: %+v", m.Name, r)
		}
		c, _ := r.Check(model.CheckEntropy)
		if c.Figure != []string{"912", "2683", "640"}[i] {
			t.Errorf("%s entropy %+v", m.Name, c)
		}
		if c, _ := r.Check(model.CheckVar); c.Level == model.HealthUnknown || !strings.Contains(c.Why, "a master needs") {
			t.Errorf("%s /var %+v", m.Name, c)
		}
	}
}

// A cancelled run reports the hosts still waiting for a slot as not
// checked, and returns.
func TestCheckHostsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	hosts := []model.Host{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	open := func(ctx context.Context, h model.Host) (hostfs.Host, error) {
		cancel()
		<-ctx.Done()
		return nil, ctx.Err()
	}
	var got []model.HostReport
	CheckHosts(ctx, hosts, open, HostCheckOptions{Parallel: 1, Timeout: time.Minute}, func(r model.HostReport) { got = append(got, r) })
	if len(got) != 3 {
		t.Fatalf("%d reports", len(got))
	}
	for _, r := range got {
		if r.Reached || !strings.Contains(r.Err, "context canceled") {
			t.Errorf("%+v", r)
		}
	}
}

// Without host access the Hosts pane checks this host under the host root.
func TestSessionHostChecksNoSSH(t *testing.T) {
	s, err := NewSession(SessionOptions{
		Kubeconfig: filepath.Join(cluster.HostRoot(0), localcluster.AdminKubeconfig),
		HostRoot:   cluster.HostRoot(1), Host: cluster.Masters[1].Name, Getenv: func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	hosts, ch, err := s.HostChecks(context.Background(), HostCheckOptions{})
	if err != nil || len(hosts) != 1 || hosts[0].Name != "master-1.example.com" {
		t.Fatalf("hosts %+v", hosts)
	}
	var reports []model.HostReport
	for r := range ch {
		reports = append(reports, r)
	}
	if len(reports) != 1 || !reports[0].Reached || reports[0].Host.Role() != "master" {
		t.Fatalf("%+v", reports)
	}
	if c, _ := reports[0].Check(model.CheckEntropy); c.Level != model.HealthPass || c.Figure != "2683" {
		t.Fatalf("entropy %+v", c)
	}
}
