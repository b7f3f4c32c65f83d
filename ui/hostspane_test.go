package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/day2ops/day2/model"
)

// hostFacts is a healthy 3.11 node as seed 003 shows one.
func hostFacts(entropy, mtu int) model.HostFacts {
	return model.HostFacts{Root: "/", Entropy: entropy, Kernel: "3.10.0-957.el7.x86_64", NodeConfig: true,
		TimeSync: model.TimeSync{State: model.TimeSynced, Source: "timedatectl"},
		Skew:     model.ClockSkew{Offset: 3 * time.Millisecond, Uncertainty: time.Millisecond},
		Var:      model.DiskSpace{Path: "/var", Size: 45 << 30, Free: 43 << 30},
		Storage: model.ContainerStorage{Runtime: "docker", Driver: "overlay2", Source: "/etc/sysconfig/docker-storage",
			Space: model.DiskSpace{Path: "/var/lib/docker", Size: 25 << 30, Free: 23 << 30}, BackingFS: "xfs", FType: 1},
		MTU:      model.MTUFacts{Config: mtu, DefaultIf: "eth0", Default: 1500, Tun0: mtu},
		Services: []model.UnitState{{Unit: "atomic-openshift-node", State: "active"}, {Unit: "origin-node", State: "inactive"}, {Unit: "kubelet", State: "inactive"}, {Unit: "docker", State: "active"}, {Unit: "crio", State: "inactive"}},
		Uptime:   50 * time.Hour,
	}
}

// The pane fills in as hosts answer, marks verdicts without colour, names
// why a host is unreachable, opens one host's every check, re-runs, and
// hands the Health pane the finished rows.
func TestHostsPaneRowsArriveAndDetail(t *testing.T) {
	m := sized(80, 24)
	hosts := []model.Host{
		{Name: "master-0.example.com", Groups: []string{"masters", "nodes"}, NodeGroup: "node-config-master", Source: "inventory /etc/ansible/hosts"},
		{Name: "node-0.example.com", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
		{Name: "node-1.example.com", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
		{Name: "node-2.example.com", Groups: []string{"nodes"}, NodeGroup: "node-config-compute"},
	}
	runs := 0
	var ch chan model.HostReport
	m.checkHosts = func(context.Context) ([]model.Host, <-chan model.HostReport, error) {
		runs++
		ch = make(chan model.HostReport, len(hosts))
		return hosts, ch, nil
	}
	var health model.HealthSnapshots
	m.checkHealth = func(_ context.Context, s model.HealthSnapshots) model.HealthReport {
		health = s
		return model.HealthReport{}
	}
	press(m, ":")
	for _, r := range "hosts" {
		press(m, string(r))
	}
	_, cmd := m.Update(keyMsg("enter"))
	if cmd == nil || runs != 0 {
		t.Fatal(":hosts should start the checks in a command")
	}
	_, next := m.Update(cmd())
	if s := screen(m); !strings.Contains(s, "checking 0/4") || strings.Count(s, "…") < 4*9 {
		t.Fatalf("hosts listed, nothing checked yet:\n%s", s)
	}
	ch <- model.NewHostReport(hosts[1], "on node-0.example.com", 12*time.Millisecond, hostFacts(600, 1450), fixedNow)
	_, next = m.Update(next())
	ch <- model.Unreached(hosts[3], "ssh: dial tcp 127.0.0.1:2203: connect: connection refused", fixedNow)
	_, next = m.Update(next())
	ch <- model.NewHostReport(hosts[0], "on master-0.example.com", 8*time.Millisecond, hostFacts(2683, 1450), fixedNow)
	_, next = m.Update(next())
	ch <- model.NewHostReport(hosts[2], "on node-1.example.com", 9*time.Millisecond, hostFacts(2683, 1400), fixedNow)
	_, next = m.Update(next())
	if health.Hosts != nil || m.hosts.complete() != nil {
		t.Fatal("rows handed on before the run finished")
	}
	close(ch)
	m.Update(next())
	s := screen(m)
	checkShape(t, s, 80, 24)
	for _, want := range []string{"4 hosts · 1 ok · 0 warn · 3 fail (1 unreachable)", "✗600", "✗refused", "12ms", "✗1400", "HOST", "SSH", "NTP", "ENTROPY", "/VAR"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	// The cross-host rule: node-1's MTU differs from the others'.
	if !hostRow(s, "node-1.example.com", "✗1400") || !hostRow(s, "master-0.example.com", " 1450 ") {
		t.Errorf("MTU across hosts:\n%s", s)
	}
	press(m, "G") // the unreachable host: its reason below the table
	if s := screen(m); !strings.Contains(s, "unreachable ssh: dial tcp 127.0.0.1:2203: connect: connection refused") {
		t.Errorf("reason not shown:\n%s", s)
	}
	press(m, "g", "j", "enter")
	s = screen(m)
	for _, want := range []string{"node-0.example.com  compute", "on node-0.example.com (opened in 12ms)", "fail    Entropy available  (seed 003 §2.2)",
		"found 600: 600 available (alert under 800)", "do    yum install rng-tools", "host node-0.example.com · j/k scroll"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q:\n%s", want, s)
		}
	}
	checkShape(t, s, 80, 24)
	press(m, "G")
	if s := screen(m); !strings.Contains(s, "Kernel and uptime") || !strings.Contains(s, "3.10.0-957 2d2h") {
		t.Errorf("detail's end:\n%s", s)
	}
	press(m, "esc")
	if m.hosts.detail != "" || !strings.Contains(screen(m), "ENTROPY") {
		t.Fatal("esc goes back to the table")
	}
	m.show(paneHealth)
	if m.recheckHealth(); len(health.Hosts) != 0 {
		t.Fatal("health ran synchronously?")
	}
	if rows := m.hosts.complete(); len(rows) != 4 {
		t.Fatalf("finished rows %d", len(rows))
	}
	press(m, "7", "r")
	if m.hosts.seq != 2 {
		t.Fatalf("r did not re-run (seq %d)", m.hosts.seq)
	}
	press(m, "?")
	if s := screen(m); !strings.Contains(s, "hosts: every host's checks") {
		t.Errorf("help lacks the Hosts pane:\n%s", s)
	}
}

// A late report of a cancelled run is dropped.
func TestHostsPaneDropsStaleRun(t *testing.T) {
	m := sized(120, 40)
	m.checkHosts = func(context.Context) ([]model.Host, <-chan model.HostReport, error) {
		return []model.Host{{Name: "a"}}, make(chan model.HostReport), nil
	}
	cmd := m.show(paneHosts)
	m.Update(cmd())
	m.recheckHosts()
	m.Update(hostChecked{seq: 1, report: model.Unreached(model.Host{Name: "a"}, "old", fixedNow)})
	if len(m.hosts.rows) != 0 {
		t.Fatal("a cancelled run's report was shown")
	}
}

// hostRow reports whether the row of host (its first cell) contains text.
func hostRow(screen, host, text string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, host+" ") && strings.Contains(l, text) {
			return true
		}
	}
	return false
}
