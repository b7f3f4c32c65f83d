package model

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The guides' host checks (seed 003 ch. 2 and 3) as the Hosts pane runs
// them on every host, and the Health pane sums them up.

// HostCheck is one check's verdict on one host: the figure found and why
// it is judged so.
type HostCheck struct {
	ID    string
	Title string
	// Seed cites the guide section ("003 §2.2").
	Seed  string
	Level HealthLevel
	// Figure is the value, short enough for a table cell ("912", "1450").
	Figure string
	// Why is the figure in full with the rule that judged it.
	Why string
	// Hint is what the guide says to do when the check does not pass.
	Hint string
}

// Host check IDs, in the Hosts pane's column order. ntp, entropy and
// var-space keep the Health pane's IDs of old.
const (
	CheckNTP      = "ntp"
	CheckSkew     = "clock-skew"
	CheckEntropy  = "entropy"
	CheckVar      = "var-space"
	CheckStorage  = "storage-space"
	CheckDriver   = "storage-driver"
	CheckMTU      = "mtu"
	CheckServices = "services"
	CheckKernel   = "kernel"
)

// HostCheckIDs is every host check, in order.
var HostCheckIDs = []string{CheckNTP, CheckSkew, CheckEntropy, CheckVar, CheckStorage, CheckDriver, CheckMTU, CheckServices, CheckKernel}

// ClockSkew is a host's clock against this host's: the host's `date`
// minus the midpoint of the round trip that asked for it, give or take
// half that round trip.
type ClockSkew struct {
	Offset, Uncertainty time.Duration
	// Same: the host is this machine (its files under a host root), so
	// its clock is this host's.
	Same bool
	Err  string
}

// Clock skew thresholds. Warn from 1 s: etcd's peer prober logs "prober
// found high clock drift" above 1 s, and time-stamped logs and events of
// two hosts stop lining up. Fail from 5 min: the cluster's certificate
// signers backdate NotBefore by 5 minutes, so a host further behind than
// that refuses certificates the masters have just issued as not yet valid
// (and one ahead sees short-lived tokens expire early); it is also the
// clock tolerance Kerberos and most TLS deployments assume.
const (
	SkewWarn = time.Second
	SkewFail = 5 * time.Minute
)

// ContainerStorage is what the storage checks read (seed 003 §3.6, §3.7).
type ContainerStorage struct {
	// Runtime is "docker" or "crio" (which configuration was found);
	// Driver the storage driver it configures; Source the file that said so.
	Runtime, Driver, Source string
	// ThinPoolDev is devicemapper's dm.thinpooldev ("" is loop-lvm).
	ThinPoolDev string
	Err         string
	// Space is the container storage directory (/var/lib/docker or
	// /var/lib/containers).
	Space DiskSpace
	// BackingFS is the filesystem type under the storage directory
	// (/proc/mounts); FType is xfs's ftype (-1 unknown, FTypeErr says why).
	BackingFS, BackingErr string
	FType                 int
	FTypeErr              string
	// Pool is the devicemapper thin pool's use (PoolErr says why not).
	Pool    *ThinPool
	PoolErr string
}

// MTUFacts are the MTU check's inputs (seed 003 §3.10).
type MTUFacts struct {
	// Config is networkConfig.mtu of /etc/origin/node/node-config.yaml (0:
	// not set or not read, ConfigErr says which).
	Config    int
	ConfigErr string
	// DefaultIf is the interface of the default route and Default its MTU.
	DefaultIf  string
	Default    int
	DefaultErr string
	// Tun0 is the SDN's tun0 MTU (0 with no Tun0Err: no tun0 on the host).
	Tun0    int
	Tun0Err string
}

// UnitState is one systemd unit's `systemctl is-active` state.
type UnitState struct{ Unit, State string }

// HostReport is one host's row of the Hosts pane.
type HostReport struct {
	Host Host
	// Where says how it was read: "under /srv/root", "on master-1".
	Where string
	// Reached: the host was opened; Latency is how long that took. Err
	// says why it was not (or why the checks were cut short).
	Reached bool
	Latency time.Duration
	Err     string
	Checks  []HostCheck
	// MTU is kept for the rule across hosts (ApplyClusterRules).
	MTU MTUFacts
	At  time.Time
}

// NewHostReport judges a reached host's facts.
func NewHostReport(h Host, where string, latency time.Duration, f HostFacts, at time.Time) HostReport {
	return HostReport{Host: h, Where: where, Reached: true, Latency: latency, Checks: EvaluateHost(h, f), MTU: f.MTU, At: at}
}

// Check is the report's check with that ID.
func (r HostReport) Check(id string) (HostCheck, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return HostCheck{}, false
}

// Worst is the most serious verdict of the row; an unreachable host fails.
func (r HostReport) Worst() HealthLevel {
	if !r.Reached {
		return HealthFail
	}
	worst := HealthPass
	for _, c := range r.Checks {
		if levelRank(c.Level) > levelRank(worst) {
			worst = c.Level
		}
	}
	return worst
}

func levelRank(l HealthLevel) int {
	return map[HealthLevel]int{HealthPass: 0, HealthUnknown: 1, HealthWarn: 2, HealthFail: 3}[l]
}

// Role is the host's role for display: master, infra, compute, lb, etcd.
func (h Host) Role() string {
	switch {
	case h.In("masters") || h.In("new_masters") || h.In("master"):
		return "master"
	case strings.Contains(h.NodeGroup, "infra") || h.In("infra"):
		return "infra"
	case h.In("nodes") || h.In("new_nodes") || h.In("compute") || h.In("worker") || h.Node != "":
		return "compute"
	case h.In("lb"):
		return "lb"
	case h.In("etcd"):
		return "etcd"
	}
	return "host"
}

// RunsNode reports whether the host should run a node service: masters
// and nodes do, a load balancer or a stand-alone etcd host does not.
func (h Host) RunsNode() bool {
	return h.Node != "" || slices.ContainsFunc(h.Groups, func(g string) bool {
		return g == "masters" || g == "nodes" || g == "new_masters" || g == "new_nodes" || g == "master" || g == "infra" || g == "compute" || g == "worker"
	})
}

// Unreached is the row of a host that could not be opened or checked.
func Unreached(h Host, why string, at time.Time) HostReport {
	r := HostReport{Host: h, Err: why, At: at}
	for _, id := range HostCheckIDs {
		r.Checks = append(r.Checks, HostCheck{ID: id, Title: hostCheckTitles[id], Seed: hostCheckSeeds[id], Figure: "-", Why: "not checked: " + why})
	}
	return r
}

var hostCheckTitles = map[string]string{
	CheckNTP: "NTP synchronised", CheckSkew: "Clock skew against this host", CheckEntropy: "Entropy available",
	CheckVar: "Space on /var", CheckStorage: "Space for container storage", CheckDriver: "Container storage driver",
	CheckMTU: "MTU", CheckServices: "Node service and runtime active", CheckKernel: "Kernel and uptime",
}

var hostCheckSeeds = map[string]string{
	CheckNTP: "003 §2.1", CheckSkew: "003 §2.1", CheckEntropy: "003 §2.2", CheckVar: "003 §3.6", CheckStorage: "003 §3.6",
	CheckDriver: "003 §3.7", CheckMTU: "003 §3.10", CheckServices: "003 §3.3", CheckKernel: "003 §3.7",
}

var hostCheckHints = map[string]string{
	CheckNTP:      "timedatectl: NTP enabled and synchronized must be yes; timedatectl set-ntp true, or yum install chrony && systemctl enable chronyd --now",
	CheckSkew:     "enable NTP on every host (seed 003 §2.1) so their clocks agree",
	CheckEntropy:  "yum install rng-tools && systemctl enable --now rngd",
	CheckVar:      "df -hT /var; free space or grow the filesystem (nodes: another 15 GB for /var/lib/docker)",
	CheckStorage:  "give container storage a disk of its own of 15 GB or more, mounted at /var/lib/docker (seed 003 §3.6)",
	CheckDriver:   "seed 003 §3.7: overlay2 on an xfs filesystem made with ftype=1 (mkfs.xfs -n ftype=1), set in /etc/sysconfig/docker-storage",
	CheckMTU:      "set networkConfig.mtu in the node configuration map to the interface's MTU less 50 on every host, then restart the nodes (seed 003 §3.10)",
	CheckServices: "systemctl status <unit> and journalctl -u <unit> on the host; systemctl start it",
	CheckKernel:   "read /proc/sys/kernel/osrelease and /proc/uptime on the host",
}

// HostCheckTitle is a check's title.
func HostCheckTitle(id string) string { return hostCheckTitles[id] }

// EvaluateHost applies every host check to one host's facts.
func EvaluateHost(h Host, f HostFacts) []HostCheck {
	checks := []HostCheck{ntpCheck(f), skewCheck(f), entropyCheck(f), varCheck(f), storageSpaceCheck(f), driverCheck(f), mtuCheck(f),
		servicesCheck(h, f), kernelCheck(f)}
	for i := range checks {
		checks[i].Title, checks[i].Seed = hostCheckTitles[checks[i].ID], hostCheckSeeds[checks[i].ID]
		if checks[i].Hint == "" {
			checks[i].Hint = hostCheckHints[checks[i].ID]
		}
		if checks[i].Level == HealthPass {
			checks[i].Hint = ""
		}
	}
	return checks
}

func unknownCheck(id, why string) HostCheck {
	return HostCheck{ID: id, Level: HealthUnknown, Figure: "?", Why: why}
}

func ntpCheck(f HostFacts) HostCheck {
	c := HostCheck{ID: CheckNTP}
	switch f.TimeSync.State {
	case TimeSynced:
		c.Level, c.Figure, c.Why = HealthPass, "yes", f.TimeSync.Source
	case TimeNotSynced:
		c.Level, c.Figure, c.Why = HealthFail, "no", "not synchronised: "+f.TimeSync.Source
	case TimeNoEvidence:
		c.Level, c.Figure, c.Why = HealthWarn, "?", "no sign of synchronisation: "+f.TimeSync.Source
	default:
		c.Level, c.Figure, c.Why = HealthUnknown, "?", f.TimeSync.Err
	}
	return c
}

func skewCheck(f HostFacts) HostCheck {
	s := f.Skew
	if s.Err != "" {
		return unknownCheck(CheckSkew, s.Err)
	}
	if s.Same {
		return HostCheck{ID: CheckSkew, Level: HealthPass, Figure: "0", Why: "read on this machine: its clock is this host's"}
	}
	c := HostCheck{ID: CheckSkew, Figure: fmtSkew(s.Offset)}
	// Judge what is surely there: the offset less the measurement's doubt.
	sure := abs(s.Offset) - s.Uncertainty
	c.Why = fmt.Sprintf("%s against this host (± %s, half the round trip)", signedDuration(s.Offset), HumanLatency(s.Uncertainty))
	switch {
	case sure >= SkewFail:
		c.Level, c.Why = HealthFail, c.Why+fmt.Sprintf("; %s or more breaks certificates just issued (signers backdate them by 5 min)", SkewFail)
	case sure >= SkewWarn:
		c.Level, c.Why = HealthWarn, c.Why+fmt.Sprintf("; over %s etcd reports clock drift between members", SkewWarn)
	default:
		c.Level = HealthPass
	}
	return c
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func signedDuration(d time.Duration) string {
	if d < 0 {
		return "-" + HumanLatency(-d)
	}
	return "+" + HumanLatency(d)
}

// fmtSkew is the skew's table cell: "+0.3s", "-12ms", "+2m".
func fmtSkew(d time.Duration) string {
	if abs(d) >= time.Minute {
		sign := "+"
		if d < 0 {
			sign = "-"
		}
		return sign + HumanAge(abs(d))
	}
	return signedDuration(d)
}

func entropyCheck(f HostFacts) HostCheck {
	if f.EntropyErr != "" {
		return unknownCheck(CheckEntropy, f.EntropyErr)
	}
	c := HostCheck{ID: CheckEntropy, Figure: strconv.Itoa(f.Entropy)}
	c.Level, c.Why = EntropyLevel(f.Entropy, f.Kernel)
	return c
}

func varCheck(f HostFacts) HostCheck {
	if f.Var.Err != "" {
		return unknownCheck(CheckVar, f.Var.Err)
	}
	c := HostCheck{ID: CheckVar, Figure: shortBytes(f.Var.Free)}
	c.Level, c.Why = VarLevel(f.Var, f.Master)
	return c
}

// shortBytes is a size for a table cell: "43G", "512M".
func shortBytes(n uint64) string {
	g := float64(n) / (1 << 30)
	switch {
	case g >= 9.95: // what one decimal would round to 10.0
		return fmt.Sprintf("%.0fG", math.Floor(g+0.05))
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", g)
	default:
		return fmt.Sprintf("%dM", n>>20)
	}
}

// StorageMin is the space seed 003 §3.6 asks for Docker storage: "at
// least another 15 GB".
const StorageMin uint64 = 15 << 30

func storageSpaceCheck(f HostFacts) HostCheck {
	s := f.Storage.Space
	if s.Path == "" {
		return unknownCheck(CheckStorage, "neither /var/lib/docker nor /var/lib/containers exists")
	}
	if s.Err != "" {
		return unknownCheck(CheckStorage, s.Err)
	}
	c := HostCheck{ID: CheckStorage, Figure: shortBytes(s.Free),
		Hint: "give container storage a disk of its own of 15 GB or more, mounted at " + s.Path + " (seed 003 §3.6)"}
	c.Why = fmt.Sprintf("%s free of %s on %s; container storage needs %s", HumanBytes(int64(s.Free)), HumanBytes(int64(s.Size)), s.Path, HumanBytes(int64(StorageMin)))
	switch {
	case f.Storage.Driver == "devicemapper" && f.Storage.ThinPoolDev != "":
		c.Level, c.Why = HealthPass, c.Why+"; images and containers live in the thin pool (see the driver check)"
	case s.Size < StorageMin:
		c.Level = HealthFail
	case s.Free < StorageMin:
		c.Level = HealthWarn
	default:
		c.Level = HealthPass
	}
	return c
}

// Thin pool use: Docker's dm.min_free_space defaults to 10%, so above 90%
// of data or metadata used it refuses to create containers (fail); from
// 80% the pool is nearly there (warn).
const (
	ThinPoolWarn = 80.0
	ThinPoolFail = 90.0
)

func driverCheck(f HostFacts) HostCheck {
	s := f.Storage
	if s.Err != "" {
		return unknownCheck(CheckDriver, s.Err)
	}
	c := HostCheck{ID: CheckDriver, Figure: s.Driver}
	from := fmt.Sprintf("%s (%s)", s.Driver, s.Source)
	switch s.Driver {
	case "overlay2", "overlay":
		if s.Runtime == "docker" && s.Driver == "overlay" {
			c.Level, c.Why = HealthWarn, from+": docker's overlay (v1) driver; the guide uses overlay2"
			return c
		}
		if s.Driver == "overlay2" && f.Kernel != "" && !overlay2Kernel(f.Kernel) {
			c.Level, c.Why = HealthFail, from+" on kernel "+f.Kernel+": overlay2 needs RHEL 7.4 (3.10.0-693) or later"
			return c
		}
		return backingFSCheck(c, s, from)
	case "devicemapper":
		c.Figure = "devmapper"
		if s.ThinPoolDev == "" {
			c.Level, c.Why = HealthWarn, from+" without dm.thinpooldev: loop-lvm, which is not for production; use a thin pool logical volume or overlay2"
			return c
		}
		c.Why = from + ", thin pool " + s.ThinPoolDev
		c.Hint = "lvs on the host; lvextend the thin pool (seed 003 §7.1.2), or move to overlay2 (§7.1.3)"
		if s.Pool == nil {
			c.Level, c.Why = HealthUnknown, c.Why+": its use cannot be read: "+s.PoolErr
			return c
		}
		use := max(s.Pool.Data, s.Pool.Metadata)
		c.Figure = fmt.Sprintf("dm %.0f%%", use)
		c.Why += fmt.Sprintf(": data %.1f%%, metadata %.1f%% used", s.Pool.Data, s.Pool.Metadata)
		switch {
		case use >= ThinPoolFail:
			c.Level, c.Why = HealthFail, c.Why+fmt.Sprintf(" (docker refuses new containers above %.0f%%: dm.min_free_space 10%%)", ThinPoolFail)
		case use >= ThinPoolWarn:
			c.Level, c.Why = HealthWarn, c.Why+fmt.Sprintf(" (%.0f%% or more: extend the pool)", ThinPoolWarn)
		default:
			c.Level = HealthPass
		}
		return c
	case "":
		c.Level, c.Figure, c.Why = HealthUnknown, "?", "no storage driver set in "+s.Source
		return c
	default:
		c.Level, c.Why = HealthWarn, from+": the guide uses overlay2 on xfs, or a devicemapper thin pool"
		return c
	}
}

// backingFSCheck judges overlay's filesystem: xfs needs ftype=1 (d_type),
// without which overlay misbehaves and docker refuses overlay2.
func backingFSCheck(c HostCheck, s ContainerStorage, from string) HostCheck {
	switch {
	case s.BackingFS == "":
		c.Level, c.Why = HealthUnknown, from+"; backing filesystem of "+s.Space.Path+" unknown: "+s.BackingErr
	case s.BackingFS != "xfs":
		c.Figure = s.Driver + "/" + s.BackingFS
		c.Level, c.Why = HealthWarn, fmt.Sprintf("%s on %s: the guide formats container storage with xfs", from, s.BackingFS)
	case s.FType < 0:
		c.Figure = s.Driver + "/xfs"
		c.Level, c.Why = HealthUnknown, from+" on xfs, ftype unknown: "+s.FTypeErr
	case s.FType == 0:
		c.Figure = s.Driver + "/xfs0"
		c.Level, c.Why = HealthFail, from+" on xfs with ftype=0: overlay needs ftype=1 (mkfs.xfs -n ftype=1)"
	default:
		c.Figure = s.Driver + "/xfs"
		c.Level, c.Why = HealthPass, from+" on xfs with ftype=1"
	}
	return c
}

// overlay2Kernel: RHEL 7 kernels (3.10.0-N) carry overlay2 from 7.4's
// 3.10.0-693; any later upstream kernel has it.
func overlay2Kernel(release string) bool {
	v, ok := kernelVersion(release)
	if !ok {
		return true
	}
	if v != [2]int{3, 10} {
		return v[0] > 3 || v[0] == 3 && v[1] > 18
	}
	rest := strings.TrimPrefix(release, "3.10.0-")
	n, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0])
	return err == nil && n >= 693
}

// SDNOverhead is what the SDN's VXLAN header takes: networkConfig.mtu is
// "50 bytes smaller than the MTU size that the OpenShift SDN Ethernet
// device uses" (seed 003 §3.10).
const SDNOverhead = 50

func mtuCheck(f HostFacts) HostCheck {
	m := f.MTU
	c := HostCheck{ID: CheckMTU}
	var parts []string
	if m.DefaultErr != "" {
		parts = append(parts, "default interface: "+m.DefaultErr)
	} else {
		parts = append(parts, fmt.Sprintf("%s %d", m.DefaultIf, m.Default))
	}
	switch {
	case m.Tun0Err != "":
		parts = append(parts, "tun0: "+m.Tun0Err)
	case m.Tun0 > 0:
		parts = append(parts, fmt.Sprintf("tun0 %d", m.Tun0))
	default:
		parts = append(parts, "no tun0")
	}
	if m.ConfigErr != "" {
		parts = append(parts, m.ConfigErr)
		c.Level, c.Figure, c.Why = HealthUnknown, "?", strings.Join(parts, ", ")
		if m.Tun0 > 0 {
			c.Figure = strconv.Itoa(m.Tun0)
		}
		return c
	}
	parts = append(parts, fmt.Sprintf("networkConfig.mtu %d", m.Config))
	found := strings.Join(parts, ", ")
	c.Figure = strconv.Itoa(m.Config)
	if m.Tun0 > 0 && m.Tun0 != m.Config {
		c.Figure += "/" + strconv.Itoa(m.Tun0) // node-config's, then tun0's
	}
	switch {
	case m.DefaultErr != "":
		c.Level, c.Why = HealthUnknown, found+": cannot compare with the interface"
	case m.Config > m.Default-SDNOverhead:
		c.Level, c.Why = HealthFail, fmt.Sprintf("%s: more than %s's %d less %d; packets that large are dropped (TLS hangs)", found, m.DefaultIf, m.Default, SDNOverhead)
	case m.Tun0 > 0 && m.Tun0 != m.Config:
		c.Level, c.Why = HealthWarn, found+": tun0 differs from node-config: the node has not been restarted since the change"
	case m.Config < m.Default-SDNOverhead:
		c.Level, c.Why = HealthPass, fmt.Sprintf("%s: below %s's %d less %d (the guide lowers it in steps of 50 while TLS still hangs)", found, m.DefaultIf, m.Default, SDNOverhead)
	default:
		c.Level, c.Why = HealthPass, fmt.Sprintf("%s: %s's %d less %d", found, m.DefaultIf, m.Default, SDNOverhead)
	}
	return c
}

func servicesCheck(h Host, f HostFacts) HostCheck {
	if f.ServicesErr != "" {
		return unknownCheck(CheckServices, f.ServicesErr)
	}
	c := HostCheck{ID: CheckServices}
	state := map[string]string{}
	for _, u := range f.Services {
		state[u.Unit] = u.State
	}
	activeOf := func(units []string) string {
		for _, u := range units {
			if state[u] == "active" {
				return u
			}
		}
		return ""
	}
	node, runtime := activeOf(NodeUnits), activeOf(RuntimeUnits)
	describe := func(units []string) string {
		var s []string
		for _, u := range units {
			s = append(s, u+" "+orStr(state[u], "?"))
		}
		return strings.Join(s, ", ")
	}
	wantNode := h.RunsNode() || f.Master || f.NodeConfig
	var missing []string
	if runtime == "" && (wantNode || f.Storage.Runtime != "") {
		missing = append(missing, "no container runtime active ("+describe(RuntimeUnits)+")")
	}
	if node == "" && wantNode {
		missing = append(missing, "no node service active ("+describe(NodeUnits)+")")
	}
	var active []string
	for _, u := range []string{node, runtime} {
		if u != "" {
			active = append(active, u)
		}
	}
	if len(missing) > 0 {
		c.Level, c.Figure, c.Why = HealthFail, "down", strings.Join(missing, "; ")
		return c
	}
	c.Level, c.Figure = HealthPass, "up"
	c.Why = "active: " + orStr(strings.Join(active, ", "), "none needed on a "+h.Role())
	return c
}

func orStr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func kernelCheck(f HostFacts) HostCheck {
	if f.Kernel == "" {
		return unknownCheck(CheckKernel, orStr(f.KernelErr, "kernel release not read"))
	}
	c := HostCheck{ID: CheckKernel, Level: HealthPass, Figure: shortKernel(f.Kernel)}
	c.Why = "kernel " + f.Kernel
	if f.UptimeErr != "" {
		c.Why += "; uptime unknown: " + f.UptimeErr
	} else {
		c.Figure += " " + HumanAge(f.Uptime)
		c.Why += ", up " + HumanAge(f.Uptime)
	}
	return c
}

// shortKernel drops the distribution and architecture suffix of a release
// ("3.10.0-957.el7.x86_64" → "3.10.0-957").
func shortKernel(r string) string {
	for _, sep := range []string{".el", "+", ".fc", ".x86_64", ".aarch64"} {
		if i := strings.Index(r, sep); i > 0 {
			r = r[:i]
		}
	}
	return r
}

// ApplyClusterRules adds the rules that compare hosts (seed 003 §3.10: "the
// MTU size of the tun0 interface must be the same across all nodes", and
// networkConfig.mtu is changed "on all masters and nodes"): a host whose
// value differs from the one most hosts have fails its MTU check. It
// returns new reports; the input is not changed.
func ApplyClusterRules(reports []HostReport) []HostReport {
	out := make([]HostReport, len(reports))
	copy(out, reports)
	for _, field := range []struct {
		name string
		get  func(HostReport) int
	}{{"networkConfig.mtu", func(r HostReport) int { return r.MTU.Config }}, {"tun0 MTU", func(r HostReport) int { return r.MTU.Tun0 }}} {
		counts := map[int]int{}
		for _, r := range out {
			if v := field.get(r); v > 0 {
				counts[v]++
			}
		}
		if len(counts) < 2 {
			continue
		}
		common, n := 0, 0
		for v, k := range counts {
			if k > n || k == n && v < common {
				common, n = v, k
			}
		}
		for i := range out {
			v := field.get(out[i])
			if v <= 0 || v == common {
				continue
			}
			out[i].Checks = slices.Clone(out[i].Checks)
			for j := range out[i].Checks {
				c := &out[i].Checks[j]
				if c.ID != CheckMTU {
					continue
				}
				c.Level = HealthFail
				c.Why += fmt.Sprintf("; %s %d differs from %d on %d other host(s): it must be the same on every host", field.name, v, common, n)
				c.Hint = "set the same networkConfig.mtu on every host and restart the nodes (seed 003 §3.10)"
			}
		}
	}
	return out
}
