package model

import (
	"strings"
	"testing"
	"time"
)

// goodHost is a healthy OpenShift 3.11 compute node as seed 003 lays it
// out: NTP synced, the guide's entropy 2683, 25 GB /var and /var/lib/docker
// (§3.6's df), overlay2 on xfs ftype=1 (§3.7), eth0 1500 with
// networkConfig.mtu 1450 (§3.10).
func goodHost() HostFacts {
	return HostFacts{Root: "/", Entropy: 2683, Kernel: "3.10.0-957.el7.x86_64", NodeConfig: true,
		TimeSync: TimeSync{State: TimeSynced, Source: "timedatectl"},
		Skew:     ClockSkew{Offset: 20 * time.Millisecond, Uncertainty: 2 * time.Millisecond},
		Var:      DiskSpace{Path: "/var", Size: 25 << 30, Free: 23 << 30},
		Storage: ContainerStorage{Runtime: "docker", Driver: "overlay2", Source: "/etc/sysconfig/docker-storage",
			Space: DiskSpace{Path: "/var/lib/docker", Size: 25 << 30, Free: 23 << 30}, BackingFS: "xfs", FType: 1},
		MTU:      MTUFacts{Config: 1450, DefaultIf: "eth0", Default: 1500, Tun0: 1450},
		Services: []UnitState{{"atomic-openshift-node", "active"}, {"origin-node", "inactive"}, {"kubelet", "inactive"}, {"docker", "active"}, {"crio", "inactive"}},
		Uptime:   3 * 24 * time.Hour,
	}
}

var computeHost = Host{Name: "node-1", Groups: []string{"nodes"}, NodeGroup: "node-config-compute", Node: "node-1"}

func TestEvaluateHost(t *testing.T) {
	cases := []struct {
		name  string
		check string
		mod   func(*HostFacts)
		level HealthLevel
		fig   string
		why   string
	}{
		{"ntp synced", CheckNTP, func(*HostFacts) {}, HealthPass, "yes", "timedatectl"},
		{"ntp not synced", CheckNTP, func(f *HostFacts) {
			f.TimeSync = TimeSync{State: TimeNotSynced, Source: "timedatectl: NTP synchronized: no"}
		}, HealthFail, "no", "not synchronised"},
		{"ntp no evidence", CheckNTP, func(f *HostFacts) { f.TimeSync = TimeSync{State: TimeNoEvidence, Source: "no marker"} }, HealthWarn, "?", "no sign"},
		{"ntp unreadable", CheckNTP, func(f *HostFacts) { f.TimeSync = TimeSync{Err: "timedatectl: not found"} }, HealthUnknown, "?", "not found"},

		{"skew small", CheckSkew, func(*HostFacts) {}, HealthPass, "+20ms", "against this host"},
		{"skew 1.5s behind", CheckSkew, func(f *HostFacts) { f.Skew.Offset = -1500 * time.Millisecond }, HealthWarn, "-1.5s", "clock drift"},
		{"skew within doubt", CheckSkew, func(f *HostFacts) {
			f.Skew = ClockSkew{Offset: 1200 * time.Millisecond, Uncertainty: 400 * time.Millisecond}
		}, HealthPass, "+1.2s", "± 400ms"},
		{"skew 6m ahead", CheckSkew, func(f *HostFacts) { f.Skew.Offset = 6 * time.Minute }, HealthFail, "+6m", "backdate"},
		{"skew of this machine", CheckSkew, func(f *HostFacts) { f.Skew = ClockSkew{Same: true} }, HealthPass, "0", "this host's"},
		{"skew unmeasured", CheckSkew, func(f *HostFacts) { f.Skew.Err = "date: command not found" }, HealthUnknown, "?", "not found"},

		{"entropy 600", CheckEntropy, func(f *HostFacts) { f.Entropy = 600 }, HealthFail, "600", "alert under 800"},
		{"entropy 999", CheckEntropy, func(f *HostFacts) { f.Entropy = 999 }, HealthWarn, "999", "should be above 1000"},
		{"entropy 1000", CheckEntropy, func(f *HostFacts) { f.Entropy = 1000 }, HealthPass, "1000", "1000 available"},

		{"var node ok", CheckVar, func(*HostFacts) {}, HealthPass, "23G", "a node needs 15.0 GiB"},
		{"var node small", CheckVar, func(f *HostFacts) { f.Var = DiskSpace{Path: "/var", Size: 10 << 30, Free: 9 << 30} }, HealthFail, "9.0G", "a node needs"},
		{"var master 25G", CheckVar, func(f *HostFacts) { f.Master = true }, HealthFail, "23G", "a master needs 40.0 GiB"},

		{"storage ok", CheckStorage, func(*HostFacts) {}, HealthPass, "23G", "on /var/lib/docker"},
		{"storage small", CheckStorage, func(f *HostFacts) { f.Storage.Space.Size, f.Storage.Space.Free = 8<<30, 7<<30 }, HealthFail, "7.0G", "needs 15.0 GiB"},
		{"storage filling", CheckStorage, func(f *HostFacts) { f.Storage.Space.Free = 500 << 20 }, HealthWarn, "500M", "500.0 MiB free"},
		{"storage absent", CheckStorage, func(f *HostFacts) { f.Storage.Space = DiskSpace{} }, HealthUnknown, "?", "neither"},

		{"overlay2 xfs ftype1", CheckDriver, func(*HostFacts) {}, HealthPass, "overlay2/xfs", "ftype=1"},
		{"overlay2 xfs ftype0", CheckDriver, func(f *HostFacts) { f.Storage.FType = 0 }, HealthFail, "overlay2/xfs0", "ftype=0"},
		{"overlay2 ftype unknown", CheckDriver, func(f *HostFacts) { f.Storage.FType, f.Storage.FTypeErr = -1, "xfs_info: command not found" }, HealthUnknown, "overlay2/xfs", "not found"},
		{"overlay2 on ext4", CheckDriver, func(f *HostFacts) { f.Storage.BackingFS = "ext4" }, HealthWarn, "overlay2/ext4", "formats container storage with xfs"},
		{"overlay2 old kernel", CheckDriver, func(f *HostFacts) { f.Kernel = "3.10.0-514.el7.x86_64" }, HealthFail, "overlay2", "RHEL 7.4"},
		{"crio overlay", CheckDriver, func(f *HostFacts) {
			f.Storage.Runtime, f.Storage.Driver, f.Storage.Source = "crio", "overlay", "/etc/containers/storage.conf"
		}, HealthPass, "overlay/xfs", "storage.conf"},
		{"docker overlay v1", CheckDriver, func(f *HostFacts) { f.Storage.Driver = "overlay" }, HealthWarn, "overlay", "overlay (v1)"},
		{"devicemapper loop", CheckDriver, func(f *HostFacts) { f.Storage.Driver = "devicemapper" }, HealthWarn, "devmapper", "loop-lvm"},
		{"devicemapper pool 45%", CheckDriver, func(f *HostFacts) {
			f.Storage.Driver, f.Storage.ThinPoolDev = "devicemapper", "/dev/mapper/docker--vg-docker--pool"
			f.Storage.Pool = &ThinPool{VG: "docker-vg", LV: "docker-pool", Data: 45.2, Metadata: 3.1}
		}, HealthPass, "dm 45%", "data 45.2%, metadata 3.1% used"},
		{"devicemapper metadata 92%", CheckDriver, func(f *HostFacts) {
			f.Storage.Driver, f.Storage.ThinPoolDev = "devicemapper", "/dev/mapper/docker--vg-docker--pool"
			f.Storage.Pool = &ThinPool{Data: 30, Metadata: 92}
		}, HealthFail, "dm 92%", "refuses new containers"},
		{"devicemapper pool unread", CheckDriver, func(f *HostFacts) {
			f.Storage.Driver, f.Storage.ThinPoolDev, f.Storage.PoolErr = "devicemapper", "/dev/mapper/docker--vg-docker--pool", "lvs: command not found"
		}, HealthUnknown, "devmapper", "cannot be read: lvs: command not found"},
		{"no driver config", CheckDriver, func(f *HostFacts) { f.Storage = ContainerStorage{Err: "no /etc/sysconfig/docker-storage"} }, HealthUnknown, "?", "no /etc/sysconfig"},

		{"mtu seed's 1450 on 1500", CheckMTU, func(*HostFacts) {}, HealthPass, "1450", "eth0's 1500 less 50"},
		{"mtu too big", CheckMTU, func(f *HostFacts) { f.MTU.Config, f.MTU.Tun0 = 1500, 1500 }, HealthFail, "1500", "dropped"},
		{"mtu smaller is allowed", CheckMTU, func(f *HostFacts) { f.MTU.Config, f.MTU.Tun0 = 1400, 1400 }, HealthPass, "1400", "steps of 50"},
		{"tun0 not restarted", CheckMTU, func(f *HostFacts) { f.MTU.Config = 1400 }, HealthWarn, "1400/1450", "not been restarted"},
		{"no node-config", CheckMTU, func(f *HostFacts) { f.MTU.ConfigErr, f.MTU.Tun0 = "no /etc/origin/node/node-config.yaml", 0 }, HealthUnknown, "?", "no tun0"},
		{"no default route", CheckMTU, func(f *HostFacts) { f.MTU.DefaultErr = "/proc/net/route has no default route" }, HealthUnknown, "1450", "cannot compare"},

		{"services up", CheckServices, func(*HostFacts) {}, HealthPass, "up", "active: atomic-openshift-node, docker"},
		{"docker down", CheckServices, func(f *HostFacts) { f.Services[3].State = "failed" }, HealthFail, "down", "docker failed"},
		{"systemctl missing", CheckServices, func(f *HostFacts) { f.ServicesErr = "systemctl: command not found" }, HealthUnknown, "?", "not found"},

		{"kernel", CheckKernel, func(*HostFacts) {}, HealthPass, "3.10.0-957 3d", "up 3d"},
		{"kernel no uptime", CheckKernel, func(f *HostFacts) { f.UptimeErr = "no /proc/uptime" }, HealthPass, "3.10.0-957", "uptime unknown"},
		{"kernel unread", CheckKernel, func(f *HostFacts) { f.Kernel, f.KernelErr = "", "no osrelease" }, HealthUnknown, "?", "no osrelease"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := goodHost()
			c.mod(&f)
			checks := EvaluateHost(computeHost, f)
			if len(checks) != len(HostCheckIDs) {
				t.Fatalf("%d checks", len(checks))
			}
			var got HostCheck
			for _, hc := range checks {
				if hc.Title == "" || hc.Seed == "" {
					t.Errorf("check %s without title or seed", hc.ID)
				}
				if hc.ID == c.check {
					got = hc
				}
			}
			if got.Level != c.level || got.Figure != c.fig || !strings.Contains(got.Why, c.why) {
				t.Fatalf("%s: got %s %q %q, want %s %q …%q…", c.check, got.Level, got.Figure, got.Why, c.level, c.fig, c.why)
			}
			if got.Level != HealthPass && got.Hint == "" {
				t.Errorf("no hint on %s", got.Level)
			}
		})
	}
}

// A load balancer runs no node service: nothing active is fine there.
func TestServicesOnLoadBalancer(t *testing.T) {
	f := goodHost()
	f.NodeConfig = false
	f.Storage = ContainerStorage{Err: "no container runtime configured"}
	f.Services = []UnitState{{"atomic-openshift-node", "inactive"}, {"origin-node", "inactive"}, {"kubelet", "inactive"}, {"docker", "inactive"}, {"crio", "inactive"}}
	lb := Host{Name: "lb-0", Groups: []string{"lb"}}
	for _, c := range EvaluateHost(lb, f) {
		if c.ID == CheckServices && (c.Level != HealthPass || !strings.Contains(c.Why, "none needed on a lb")) {
			t.Fatalf("%+v", c)
		}
	}
	f.NodeConfig = true
	for _, c := range EvaluateHost(Host{Name: "node-1"}, f) {
		if c.ID == CheckServices && (c.Level != HealthFail || !strings.Contains(c.Why, "no node service active")) {
			t.Fatalf("%+v", c)
		}
	}
}

func TestApplyClusterRulesMTU(t *testing.T) {
	var reports []HostReport
	for i, mtu := range []int{1450, 1450, 1400, 1450} {
		f := goodHost()
		f.MTU.Config, f.MTU.Tun0 = mtu, mtu
		reports = append(reports, NewHostReport(Host{Name: string(rune('a' + i))}, "", 0, f, time.Time{}))
	}
	reports = append(reports, Unreached(Host{Name: "e"}, "ssh: connect refused", time.Time{}))
	out := ApplyClusterRules(reports)
	for i, r := range out {
		c, _ := r.Check(CheckMTU)
		switch i {
		case 2:
			if c.Level != HealthFail || !strings.Contains(c.Why, "networkConfig.mtu 1400 differs from 1450 on 3 other host(s)") || !strings.Contains(c.Why, "tun0 MTU 1400 differs") {
				t.Fatalf("odd one out: %+v", c)
			}
		case 4:
			if c.Level != HealthUnknown {
				t.Fatalf("unreached: %+v", c)
			}
		default:
			if c.Level != HealthPass {
				t.Fatalf("host %d: %+v", i, c)
			}
		}
	}
	if c, _ := reports[2].Check(CheckMTU); c.Level != HealthPass {
		t.Fatal("the input was changed")
	}
	if r := out[4]; r.Worst() != HealthFail || r.Err == "" {
		t.Fatalf("unreached row %+v", r)
	}
}

func TestHealthSummarisesHosts(t *testing.T) {
	var reports []HostReport
	for i, e := range []int{2683, 600, 912} {
		f := goodHost()
		f.Entropy = e
		reports = append(reports, NewHostReport(Host{Name: []string{"master-0", "node-1", "node-2"}[i]}, "", 0, f, healthNow))
	}
	reports = append(reports, Unreached(Host{Name: "node-3"}, "dial tcp 127.0.0.1:2222: connection refused", healthNow))
	r := EvaluateHealth(HealthSnapshots{}, HealthProbes{Hosts: reports}, healthNow)
	cs := map[string]HealthCheck{}
	for _, c := range r.Checks {
		cs[c.ID] = c
	}
	if c := cs[CheckEntropy]; c.Level != HealthFail || !strings.HasPrefix(c.Detail, "1 fail, 1 warn of 3 hosts: node-1: 600 available") || !strings.Contains(c.Detail, "node-2: 912") {
		t.Fatalf("entropy %+v", c)
	}
	if c := cs[CheckNTP]; c.Level != HealthPass || c.Detail != "all 3 hosts pass" {
		t.Fatalf("ntp %+v", c)
	}
	if c := cs["hosts-reached"]; c.Level != HealthFail || !strings.Contains(c.Detail, "1 of 4 unreachable: node-3: dial tcp") {
		t.Fatalf("reach %+v", c)
	}
	if c := EvaluateHealth(HealthSnapshots{}, HealthProbes{}, healthNow); c.Checks[len(c.Checks)-1].Detail != "hosts not checked yet" {
		t.Fatalf("no hosts: %+v", c.Checks[len(c.Checks)-1])
	}
}

func TestHostRole(t *testing.T) {
	for _, c := range []struct {
		h    Host
		role string
		node bool
	}{
		{Host{Groups: []string{"masters", "etcd", "nodes"}, NodeGroup: "node-config-master"}, "master", true},
		{Host{Groups: []string{"nodes"}, NodeGroup: "node-config-infra"}, "infra", true},
		{Host{Groups: []string{"nodes"}, NodeGroup: "node-config-compute"}, "compute", true},
		{Host{Groups: []string{"lb"}}, "lb", false},
		{Host{Node: "worker-1"}, "compute", true},
		{Host{}, "host", false},
	} {
		if c.h.Role() != c.role || c.h.RunsNode() != c.node {
			t.Errorf("%+v: %s %v", c.h, c.h.Role(), c.h.RunsNode())
		}
	}
}
